// A Hono application that keeps its own routes and lets hotcert own the certificate:
// hotcert's control API (/v1/…) and its zero-drop certificate swaps come with the one HTTPS listener.
import { Hono } from 'hono';
import { createHotcert } from 'hotcert';

const app = new Hono();
app.get('/hello', (c) => c.json({ hello: 'world' }));
app.post('/echo', async (c) => c.text(await c.req.text()));

const hc = await createHotcert({ dataDir: process.env.DATA_DIR ?? './data' });
const { port } = await hc.listen(app, { port: Number(process.env.PORT ?? 8443), host: process.env.HOST });
process.stderr.write(`example app on https://localhost:${port}/hello\n`);

// A clean close ends the process by itself: nothing of hotcert's is left running.
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void hc.close(5_000));
