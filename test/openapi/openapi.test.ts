import { compileErrors, validate } from '@readme/openapi-parser';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { renameSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basic, type HttpsResponse } from '../helpers/https-client.js';
import { createChain, createRoot } from '../helpers/pki.js';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../helpers/start-server.js';

const API_KEY = 'monitoring-key-0123456789';
const MAX_UPLOAD_BYTES = 16_384;
const USER_PASSWORD = 'Aud1tor-Passw0rd!';
const DOC_ID = 'https://hotcert.invalid/openapi.json';
const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

/** A request of the sample table: the operation it exercises (as documented) and the status it must get. */
interface Sample {
  op: string;
  why: string;
  url?: string;
  headers?: Record<string, string>;
  body?: string;
  status: number;
  then?: (res: HttpsResponse) => void;
}

type Operation = { responses: Record<string, { content?: Record<string, { schema: unknown }>; headers?: Record<string, unknown> }> };
type Doc = { openapi: string; paths: Record<string, Record<string, Operation>>; components: { securitySchemes: Record<string, unknown> } };

const pointer = (...segments: string[]) => `#/${segments.map((s) => s.replaceAll('~', '~0').replaceAll('/', '~1')).join('/')}`;
const json = (value: unknown) => ({ headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(value) });
const toOpenApiPath = (honoPath: string) => honoPath.replace(/:(\w+)/g, '{$1}');

describe('OpenAPI document: /v1/openapi.json', () => {
  let server: TestServer;
  let doc: Doc;
  const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
  const answered = new Map<string, number[]>();

  beforeAll(async () => {
    server = await startTestServer({ env: { API_KEY, MAX_UPLOAD_BYTES: String(MAX_UPLOAD_BYTES) } });
    const res = await server.request('GET', '/v1/openapi.json');
    expect(res.status).toBe(200);
    doc = res.json as Doc;
    ajv.addSchema({ ...(structuredClone(doc) as object), $id: DOC_ID });
  });
  afterAll(() => server.close());

  /** The answer must be documented for the operation: status, media type, headers, and a body the schema accepts. */
  function expectDocumented(sample: Sample, res: HttpsResponse): void {
    const [method, route] = sample.op.split(' ') as [string, string];
    const label = `${sample.op} (${sample.why}) answered ${res.status} ${res.text.slice(0, 300)}`;
    const operation = doc.paths[route]?.[method.toLowerCase()];
    expect(operation, `${sample.op} is not in the document`).toBeDefined();
    expect(res.status, label).toBe(sample.status);
    const documented = operation!.responses[String(res.status)];
    expect(documented, `${label}: status not documented`).toBeDefined();
    answered.set(sample.op, [...(answered.get(sample.op) ?? []), res.status]);
    for (const header of Object.keys(documented!.headers ?? {})) expect(res.headers[header.toLowerCase()], `${label}: header ${header}`).toBeDefined();
    if (!documented!.content) {
      expect(res.text, `${label}: documented without a body`).toBe('');
      return;
    }
    const media = String(res.headers['content-type']).split(';')[0]!.trim().toLowerCase();
    expect(Object.keys(documented!.content), `${label}: media type ${media}`).toContain(media);
    if (media === 'image/png') return;
    const check = ajv.compile({ $ref: DOC_ID + pointer('paths', route, method.toLowerCase(), 'responses', String(res.status), 'content', media, 'schema') });
    const body: unknown = media === 'application/json' ? JSON.parse(res.text) : res.text;
    expect(check(body), `${label}: ${JSON.stringify(check.errors)}`).toBe(true);
  }

  it('is a valid OpenAPI 3.1 document with basic, bearer and API-key security schemes', async () => {
    expect(doc.openapi).toBe('3.1.0');
    const result = await validate(structuredClone(doc) as never);
    expect(result.valid, result.valid ? '' : compileErrors(result)).toBe(true);
    expect(doc.components.securitySchemes).toMatchObject({
      basicAuth: { type: 'http', scheme: 'basic' },
      bearerAuth: { type: 'http', scheme: 'bearer' },
      apiKeyAuth: { type: 'apiKey', in: 'header', name: 'Authorization' },
    });
    expect(doc.paths['/v1/users/login']!.post).toMatchObject({ security: [{ basicAuth: [] }] });
    expect(doc.paths['/v1/metrics']!.get).toMatchObject({ security: [{ bearerAuth: [] }, { apiKeyAuth: [] }] });
  });

  it('documents the PKCS#12 upload: its media type and the X-Pkcs12-Password header, next to If-Match', () => {
    const upload = doc.paths['/v1/certificates/external']!.post as unknown as { parameters: { name: string; in: string }[]; requestBody: { content: Record<string, unknown> } };
    expect(Object.keys(upload.requestBody.content)).toEqual(expect.arrayContaining(['text/plain', 'application/x-pkcs12']));
    const headers = upload.parameters.filter((p) => p.in === 'header').map((p) => p.name.toLowerCase());
    expect(headers).toEqual(expect.arrayContaining(['x-pkcs12-password', 'if-match']));
  });

  it('documents every route the application registered, and nothing else', () => {
    // ALL entries are middleware (app.use) and method fallbacks, not operations.
    const registered = new Set(server.hotcert.app.routes.filter((route) => route.method !== 'ALL').map((route) => `${route.method} ${toOpenApiPath(route.path)}`));
    const documented = new Set(Object.entries(doc.paths).flatMap(([route, item]) => METHODS.filter((m) => item[m]).map((m) => `${m.toUpperCase()} ${route}`)));
    expect(registered.size).toBeGreaterThan(20);
    expect([...registered].filter((op) => !documented.has(op))).toEqual([]);
    expect([...documented].filter((op) => !registered.has(op))).toEqual([]);
  });

  it('answers each sample request with a documented status and a body that matches its schema', async () => {
    const chain = await createChain({ keyKind: 'ec256' });
    const webhookRoot = await createRoot();
    const state = { admin: '', user: '', spare: '' };
    const bearer = (who: 'admin' | 'user' | 'spare') => ({ Authorization: `Bearer ${state[who]}` });
    const login = (user: string, password: string) => ({ Authorization: basic(user, password) });
    const tooBig = 'x'.repeat(MAX_UPLOAD_BYTES + 1);
    let csrToDiscard = 0;
    let webhookId = '';

    const samples: (Sample | (() => Sample))[] = [
      { op: 'GET /healthz', why: 'liveness', status: 200 },
      { op: 'GET /v1/openapi.json', why: 'the document', status: 200 },
      { op: 'GET /v1/docs', why: 'the page', status: 200 },
      { op: 'GET /v1/docs/{asset}', why: 'the init script', url: '/v1/docs/init.js', status: 200 },
      { op: 'GET /v1/docs/{asset}', why: 'the bundle', url: '/v1/docs/swagger-ui-bundle.js', status: 200 },
      { op: 'GET /v1/docs/{asset}', why: 'the style sheet', url: '/v1/docs/swagger-ui.css', status: 200 },
      { op: 'GET /v1/docs/{asset}', why: 'the icon', url: '/v1/docs/favicon-32x32.png', status: 200 },
      { op: 'GET /v1/docs/{asset}', why: 'not an asset', url: '/v1/docs/..%2Fpackage.json', status: 400 },
      { op: 'GET /admin', why: 'the admin page', status: 200 },
      { op: 'GET /admin/assets/{name}', why: 'its script', url: '/admin/assets/main.js', status: 200 },
      { op: 'GET /admin/assets/{name}', why: 'its style sheet', url: '/admin/assets/admin.css', status: 200 },
      { op: 'GET /admin/assets/{name}', why: 'its icon', url: '/admin/assets/favicon.svg', status: 200 },
      { op: 'GET /admin/assets/{name}', why: 'not a file of the page', url: '/admin/assets/..%2Fpackage.json', status: 404 },

      { op: 'POST /v1/users/login', why: 'default password without new_password', headers: login('admin', 'secret'), status: 400 },
      { op: 'POST /v1/users/login', why: 'weak new_password', headers: { ...login('admin', 'secret'), ...json({ new_password: 'weak' }).headers }, body: json({ new_password: 'weak' }).body, status: 400 },
      { op: 'POST /v1/users/login', why: 'no Basic header', status: 401 },
      { op: 'POST /v1/users/login', why: 'body over MAX_UPLOAD_BYTES', headers: login('admin', 'secret'), body: tooBig, status: 413 },
      {
        op: 'POST /v1/users/login', why: 'changes the default password',
        headers: { ...login('admin', 'secret'), ...json({}).headers }, body: JSON.stringify({ new_password: ADMIN_PASSWORD }), status: 200,
        then: (res) => (state.admin = res.json.users[0].token),
      },

      () => ({ op: 'POST /v1/users', why: 'creates a user', headers: { ...bearer('admin'), ...json({}).headers }, body: JSON.stringify({ username: 'auditor', password: USER_PASSWORD }), status: 201 }),
      () => ({ op: 'POST /v1/users', why: 'exists already', headers: { ...bearer('admin'), ...json({}).headers }, body: JSON.stringify({ username: 'auditor', password: USER_PASSWORD }), status: 409 }),
      () => ({ op: 'POST /v1/users', why: 'password missing', headers: { ...bearer('admin'), ...json({}).headers }, body: JSON.stringify({ username: 'nopassword' }), status: 400 }),
      () => ({ op: 'POST /v1/users', why: 'no body', headers: bearer('admin'), status: 400 }),
      () => ({ op: 'POST /v1/users', why: 'body over MAX_UPLOAD_BYTES', headers: bearer('admin'), body: tooBig, status: 413 }),
      { op: 'POST /v1/users', why: 'no token', body: '{}', status: 401 },
      { op: 'POST /v1/users/login', why: 'the new user', headers: login('auditor', USER_PASSWORD), status: 200, then: (res) => (state.user = res.json.users[0].token) },
      { op: 'POST /v1/users/login', why: 'a second session', headers: login('auditor', USER_PASSWORD), status: 200, then: (res) => (state.spare = res.json.users[0].token) },
      { op: 'POST /v1/users/login', why: 'wrong password', headers: login('auditor', 'Wrong-Passw0rd!'), status: 401 },
      () => ({ op: 'POST /v1/users', why: 'not an admin', headers: { ...bearer('user'), ...json({}).headers }, body: JSON.stringify({ username: 'mallory', password: USER_PASSWORD }), status: 403 }),

      () => ({ op: 'GET /v1/users/{name}', why: 'admin reads a user', url: '/v1/users/auditor', headers: bearer('admin'), status: 200 }),
      () => ({ op: 'GET /v1/users/{name}', why: 'a user reads itself', url: '/v1/users/auditor', headers: bearer('user'), status: 200 }),
      () => ({ op: 'GET /v1/users/{name}', why: 'a user reads another', url: '/v1/users/admin', headers: bearer('user'), status: 403 }),
      () => ({ op: 'GET /v1/users/{name}', why: 'unknown user', url: '/v1/users/nobody', headers: bearer('admin'), status: 404 }),
      { op: 'GET /v1/users/{name}', why: 'no token', url: '/v1/users/auditor', status: 401 },
      () => ({ op: 'PUT /v1/users/{name}', why: 'weak password', url: '/v1/users/auditor', headers: { ...bearer('admin'), ...json({}).headers }, body: JSON.stringify({ password: 'weak' }), status: 400 }),
      () => ({ op: 'PUT /v1/users/{name}', why: 'unknown user', url: '/v1/users/nobody', headers: { ...bearer('admin'), ...json({}).headers }, body: JSON.stringify({ password: USER_PASSWORD }), status: 404 }),
      () => ({ op: 'PUT /v1/users/{name}', why: 'another user', url: '/v1/users/admin', headers: { ...bearer('user'), ...json({}).headers }, body: JSON.stringify({ password: USER_PASSWORD }), status: 403 }),
      () => ({ op: 'PUT /v1/users/{name}', why: 'admin changes it', url: '/v1/users/auditor', headers: { ...bearer('admin'), ...json({}).headers }, body: JSON.stringify({ password: USER_PASSWORD }), status: 200 }),
      { op: 'POST /v1/users/login', why: 'after the change', headers: login('auditor', USER_PASSWORD), status: 200, then: (res) => (state.user = res.json.users[0].token) },

      () => ({ op: 'GET /v1/certificates/external/ca', why: 'self-signed default: empty 404', headers: bearer('user'), status: 404 }),
      () => ({ op: 'GET /v1/certificates/external', why: 'the default', headers: bearer('user'), status: 200 }),
      { op: 'GET /v1/certificates/external', why: 'no token', status: 401 },
      () => ({ op: 'POST /v1/certificates/external', why: 'dry run of garbage', url: '/v1/certificates/external?dry_run=true', headers: { ...bearer('admin'), 'Content-Type': 'text/plain' }, body: 'not a bundle', status: 200 }),
      () => ({ op: 'POST /v1/certificates/external', why: 'dry run of a good bundle', url: '/v1/certificates/external?dry_run=true', headers: { ...bearer('admin'), 'Content-Type': 'text/plain' }, body: chain.bundle, status: 200 }),
      () => ({ op: 'POST /v1/certificates/external', why: 'dry_run not a boolean', url: '/v1/certificates/external?dry_run=yes', headers: { ...bearer('admin'), 'Content-Type': 'text/plain' }, body: chain.bundle, status: 400 }),
      () => ({ op: 'POST /v1/certificates/external', why: 'garbage', headers: { ...bearer('admin'), 'Content-Type': 'text/plain' }, body: 'not a bundle', status: 400 }),
      () => ({ op: 'POST /v1/certificates/external', why: 'PKCS#12 that is not a PFX', headers: { ...bearer('admin'), 'Content-Type': 'application/x-pkcs12', 'X-Pkcs12-Password': 'x' }, body: 'not a pfx', status: 400 }),
      () => ({ op: 'POST /v1/certificates/external', why: 'JSON content type', headers: { ...bearer('admin'), 'Content-Type': 'application/json' }, body: chain.bundle, status: 415 }),
      () => ({ op: 'POST /v1/certificates/external', why: 'not an admin', headers: { ...bearer('user'), 'Content-Type': 'text/plain' }, body: chain.bundle, status: 403 }),
      () => ({ op: 'POST /v1/certificates/external', why: 'stale If-Match', headers: { ...bearer('admin'), 'Content-Type': 'text/plain', 'If-Match': 'ab'.repeat(32) }, body: chain.bundle, status: 412 }),
      () => ({ op: 'POST /v1/certificates/external', why: 'over MAX_UPLOAD_BYTES', headers: { ...bearer('admin'), 'Content-Type': 'text/plain' }, body: tooBig, status: 413 }),
      () => ({ op: 'POST /v1/certificates/external', why: 'stores and serves', headers: { ...bearer('admin'), 'Content-Type': 'text/plain' }, body: chain.bundle, status: 201 }),
      () => ({ op: 'GET /v1/certificates/external/ca', why: 'the intermediates', headers: bearer('user'), status: 200 }),
      () => ({ op: 'GET /v1/certificates/external/history', why: 'two versions', headers: bearer('user'), status: 200 }),
      { op: 'GET /v1/certificates/external/history', why: 'no token', status: 401 },
      { op: 'GET /v1/certificates/external/ca', why: 'no token', status: 401 },
      () => ({ op: 'POST /v1/certificates/external/rollback', why: 'version not a number', headers: bearer('admin'), body: JSON.stringify({ version: 'one' }), status: 400 }),
      () => ({ op: 'POST /v1/certificates/external/rollback', why: 'no such version', headers: bearer('admin'), body: JSON.stringify({ version: 999 }), status: 404 }),
      () => ({ op: 'POST /v1/certificates/external/rollback', why: 'stale If-Match', headers: { ...bearer('admin'), 'If-Match': 'ab'.repeat(32) }, body: '{}', status: 412 }),
      () => ({ op: 'POST /v1/certificates/external/rollback', why: 'not an admin', headers: bearer('user'), body: '{}', status: 403 }),
      () => ({ op: 'POST /v1/certificates/external/rollback', why: 'to the previous version', headers: bearer('admin'), body: '{}', status: 200 }),
      () => ({ op: 'DELETE /v1/certificates/external', why: 'stale If-Match', headers: { ...bearer('admin'), 'If-Match': 'ab'.repeat(32) }, status: 412 }),
      () => ({ op: 'DELETE /v1/certificates/external', why: 'resets', headers: bearer('admin'), status: 200 }),

      () => ({ op: 'POST /v1/certificates/external/csr', why: 'an EC P-256 CSR', headers: { ...bearer('admin'), ...json({}).headers }, body: JSON.stringify({ names: ['example.com', 'www.example.com'] }), status: 201 }),
      () => ({ op: 'POST /v1/certificates/external/csr', why: 'one to discard', headers: { ...bearer('admin'), ...json({}).headers }, body: JSON.stringify({ names: ['old.example.com'], key_type: 'rsa-2048' }), status: 201, then: (res) => (csrToDiscard = res.json.csrs[0].id) }),
      () => ({ op: 'DELETE /v1/certificates/external/csr/{id}', why: 'not an admin', url: `/v1/certificates/external/csr/${csrToDiscard}`, headers: bearer('user'), status: 403 }),
      () => ({ op: 'DELETE /v1/certificates/external/csr/{id}', why: 'discards it', url: `/v1/certificates/external/csr/${csrToDiscard}`, headers: bearer('admin'), status: 200 }),
      () => ({ op: 'GET /v1/certificates/acme', why: 'ACME off', headers: bearer('admin'), status: 200 }),
      () => ({ op: 'GET /v1/certificates/acme', why: 'not an admin', headers: bearer('user'), status: 403 }),
      () => ({ op: 'POST /v1/certificates/acme/renew', why: 'ACME is not configured', headers: bearer('admin'), status: 400 }),
      () => ({ op: 'PUT /v1/certificates/acme', why: 'no domains', headers: { ...bearer('admin'), ...json({}).headers }, body: JSON.stringify({ directory_url: 'https://127.0.0.1:9/dir' }), status: 400 }),
      () => ({ op: 'PATCH /v1/certificates/acme', why: 'unknown key type', headers: { ...bearer('admin'), ...json({}).headers }, body: JSON.stringify({ key_type: 'dsa' }), status: 400 }),
      () => ({ op: 'PUT /v1/certificates/acme', why: 'configures ACME', headers: { ...bearer('admin'), ...json({}).headers }, body: JSON.stringify({ directory_url: 'https://127.0.0.1:9/dir', domains: ['example.com'] }), status: 200 }),
      () => ({ op: 'POST /v1/certificates/acme/renew', why: 'an attempt that fails (nothing listens at the directory URL): 200 with the error', headers: bearer('admin'), status: 200 }),
      () => ({ op: 'PATCH /v1/certificates/acme', why: 'changes the e-mail', headers: { ...bearer('admin'), ...json({}).headers }, body: JSON.stringify({ email: 'ops@example.com' }), status: 200 }),
      () => ({ op: 'DELETE /v1/certificates/acme', why: 'not an admin', headers: bearer('user'), status: 403 }),
      () => ({ op: 'DELETE /v1/certificates/acme', why: 'back to the environment (off)', headers: bearer('admin'), status: 200 }),
      () => ({ op: 'DELETE /v1/certificates/external/csr/{id}', why: 'already gone', url: `/v1/certificates/external/csr/${csrToDiscard}`, headers: bearer('admin'), status: 404 }),
      () => ({ op: 'DELETE /v1/certificates/external/csr/{id}', why: 'not a number', url: '/v1/certificates/external/csr/first', headers: bearer('admin'), status: 400 }),
      () => ({ op: 'POST /v1/certificates/external/csr', why: 'a bad name', headers: { ...bearer('admin'), ...json({}).headers }, body: JSON.stringify({ names: ['not a name'] }), status: 400 }),
      () => ({ op: 'POST /v1/certificates/external/csr', why: 'not an admin', headers: { ...bearer('user'), ...json({}).headers }, body: JSON.stringify({ names: ['example.com'] }), status: 403 }),
      () => ({ op: 'GET /v1/certificates/external/csr', why: 'the pending CSR', headers: bearer('admin'), status: 200, then: (res) => expect(res.json.csrs).toHaveLength(1) }),
      () => ({ op: 'GET /v1/certificates/external/csr', why: 'not an admin', headers: bearer('user'), status: 403 }),

      () => ({ op: 'GET /v1/certificates/webhooks/ca', why: 'nothing yet: empty 404', headers: bearer('admin'), status: 404 }),
      () => ({ op: 'POST /v1/certificates/webhooks/ca', why: 'a root', headers: { ...bearer('admin'), 'Content-Type': 'text/plain' }, body: webhookRoot.certPem, status: 201 }),
      () => ({ op: 'POST /v1/certificates/webhooks/ca', why: 'garbage', headers: { ...bearer('admin'), 'Content-Type': 'text/plain' }, body: 'not a certificate', status: 400 }),
      () => ({ op: 'POST /v1/certificates/webhooks/ca', why: 'JSON content type', headers: { ...bearer('admin'), 'Content-Type': 'application/json' }, body: webhookRoot.certPem, status: 415 }),
      () => ({ op: 'GET /v1/certificates/webhooks/ca', why: 'the bundle', headers: bearer('admin'), status: 200 }),
      () => ({ op: 'GET /v1/certificates/webhooks/ca', why: 'not an admin', headers: bearer('user'), status: 403 }),
      () => ({ op: 'DELETE /v1/certificates/webhooks/ca', why: 'not an admin', headers: bearer('user'), status: 403 }),
      () => ({ op: 'DELETE /v1/certificates/webhooks/ca', why: 'removes', headers: bearer('admin'), status: 200 }),

      () => ({ op: 'POST /v1/settings/webhooks', why: 'registers', headers: { ...bearer('admin'), ...json({}).headers }, body: JSON.stringify({ url: 'https://hooks.example.test/hotcert' }), status: 201, then: (res) => (webhookId = res.json.webhooks[0].id) }),
      () => ({ op: 'POST /v1/settings/webhooks', why: 'http:// URL', headers: { ...bearer('admin'), ...json({}).headers }, body: JSON.stringify({ url: 'http://hooks.example.test/' }), status: 400 }),
      () => ({ op: 'POST /v1/settings/webhooks', why: 'not an admin', headers: { ...bearer('user'), ...json({}).headers }, body: JSON.stringify({ url: 'https://hooks.example.test/' }), status: 403 }),
      () => ({ op: 'GET /v1/settings/webhooks', why: 'the list', headers: bearer('admin'), status: 200 }),
      () => ({ op: 'GET /v1/settings/webhooks', why: 'not an admin', headers: bearer('user'), status: 403 }),
      () => ({ op: 'GET /v1/settings/webhooks/{id}', why: 'one', url: `/v1/settings/webhooks/${webhookId}`, headers: bearer('admin'), status: 200 }),
      () => ({ op: 'GET /v1/settings/webhooks/{id}', why: 'unknown', url: '/v1/settings/webhooks/nope', headers: bearer('admin'), status: 404 }),
      () => ({ op: 'PATCH /v1/settings/webhooks/{id}', why: 'disables', url: `/v1/settings/webhooks/${webhookId}`, headers: { ...bearer('admin'), ...json({}).headers }, body: JSON.stringify({ enabled: false }), status: 200 }),
      () => ({ op: 'PATCH /v1/settings/webhooks/{id}', why: 'nothing to change', url: `/v1/settings/webhooks/${webhookId}`, headers: { ...bearer('admin'), ...json({}).headers }, body: '{}', status: 400 }),
      () => ({ op: 'GET /v1/settings/webhooks/{id}/deliveries', why: 'the log', url: `/v1/settings/webhooks/${webhookId}/deliveries?limit=10`, headers: bearer('admin'), status: 200 }),
      () => ({ op: 'GET /v1/settings/webhooks/{id}/deliveries', why: 'limit out of range', url: `/v1/settings/webhooks/${webhookId}/deliveries?limit=0`, headers: bearer('admin'), status: 400 }),
      () => ({ op: 'DELETE /v1/settings/webhooks/{id}', why: 'deletes', url: `/v1/settings/webhooks/${webhookId}`, headers: bearer('admin'), status: 200 }),
      () => ({ op: 'DELETE /v1/settings/webhooks/{id}', why: 'already gone', url: `/v1/settings/webhooks/${webhookId}`, headers: bearer('admin'), status: 404 }),

      () => ({ op: 'GET /v1/health', why: 'a user', headers: bearer('user'), status: 200 }),
      { op: 'GET /v1/health', why: 'the API key', headers: { Authorization: `Apikey ${API_KEY}` }, status: 200 },
      { op: 'GET /v1/health', why: 'a wrong API key', headers: { Authorization: 'Apikey wrong-key-0123456789' }, status: 401 },
      () => ({ op: 'GET /v1/metrics', why: 'JSON', headers: bearer('admin'), status: 200 }),
      () => ({ op: 'GET /v1/metrics', why: 'Prometheus text', url: '/v1/metrics?format=prometheus', headers: bearer('admin'), status: 200 }),
      { op: 'GET /v1/metrics', why: 'the API key', url: '/v1/metrics?format=prometheus', headers: { Authorization: `Apikey ${API_KEY}` }, status: 200 },
      () => ({ op: 'GET /v1/metrics', why: 'unknown format', url: '/v1/metrics?format=xml', headers: bearer('admin'), status: 400 }),
      () => ({ op: 'GET /v1/metrics', why: 'not an admin', headers: bearer('user'), status: 403 }),
      () => ({ op: 'GET /v1/audit', why: 'the newest five', url: '/v1/audit?limit=5', headers: bearer('admin'), status: 200 }),
      () => ({ op: 'GET /v1/audit', why: 'limit out of range', url: '/v1/audit?limit=0', headers: bearer('admin'), status: 400 }),
      () => ({ op: 'GET /v1/audit', why: 'not an admin', headers: bearer('user'), status: 403 }),

      () => ({ op: 'DELETE /v1/users/{name}', why: 'the admin', url: '/v1/users/admin', headers: bearer('admin'), status: 400 }),
      () => ({ op: 'DELETE /v1/users/{name}', why: 'not an admin', url: '/v1/users/auditor', headers: bearer('user'), status: 403 }),
      () => ({ op: 'DELETE /v1/users/{name}', why: 'unknown user', url: '/v1/users/nobody', headers: bearer('admin'), status: 404 }),
      () => ({ op: 'POST /v1/users/logout', why: 'the spare token (revoked by the password change)', headers: bearer('spare'), status: 401 }),
      () => ({ op: 'POST /v1/users/logout', why: 'revokes', headers: bearer('user'), status: 200 }),
      () => ({ op: 'DELETE /v1/users/{name}', why: 'deletes', url: '/v1/users/auditor', headers: bearer('admin'), status: 200 }),
    ];

    for (const entry of samples) {
      const sample = typeof entry === 'function' ? entry() : entry;
      const [method, route] = sample.op.split(' ') as [string, string];
      const res = await server.request(method, sample.url ?? route, { headers: sample.headers, body: sample.body });
      expectDocumented(sample, res);
      sample.then?.(res);
    }

    // Failed logins for one name until the throttle answers 429 with Retry-After (bounded).
    for (let attempt = 0; attempt < 12 && !answered.get('POST /v1/users/login')?.includes(429); attempt += 1) {
      const res = await server.request('POST', '/v1/users/login', { headers: login('throttled', 'Wrong-Passw0rd!') });
      expectDocumented({ op: 'POST /v1/users/login', why: `failed login ${attempt + 1}`, status: res.status === 429 ? 429 : 401 }, res);
    }
    expect(answered.get('POST /v1/users/login')).toContain(429);

    // A write while the data directory's database is gone: 507 with Retry-After, then back to normal.
    const database = path.join(server.dataDir, 'hotcert.db');
    renameSync(database, `${database}.away`);
    try {
      const res = await server.request('POST', '/v1/users/logout', { headers: bearer('admin') });
      expectDocumented({ op: 'POST /v1/users/logout', why: 'database gone', status: 507 }, res);
    } finally {
      renameSync(`${database}.away`, database);
    }
    expectDocumented({ op: 'POST /v1/users/logout', why: 'storage back', status: 200 }, await server.request('POST', '/v1/users/logout', { headers: bearer('admin') }));

    // Every documented operation got a success and an error, except where only a bug (500) can fail it.
    for (const [route, item] of Object.entries(doc.paths)) {
      for (const method of METHODS.filter((m) => item[m])) {
        const op = `${method.toUpperCase()} ${route}`;
        const statuses = answered.get(op) ?? [];
        expect(statuses.some((status) => status < 300), `${op}: no successful sample`).toBe(true);
        const reachableErrors = Object.keys(item[method]!.responses).filter((status) => Number(status) >= 400 && status !== '500');
        if (reachableErrors.length > 0) expect(statuses.some((status) => status >= 400), `${op}: no error sample`).toBe(true);
      }
    }
  });

  it('renders schema failures in the WhatsApp envelope: 1008 when absent, 1009 when wrong, one entry per problem', async () => {
    const token = await server.adminToken();
    const headers = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' };
    const empty = await server.request('POST', '/v1/users', { headers, body: '{}' });
    expect(empty.status).toBe(400);
    expect(empty.json.errors).toEqual([
      { code: 1008, title: 'Required parameter is missing', details: 'username is required' },
      { code: 1008, title: 'Required parameter is missing', details: 'password is required' },
    ]);
    const wrong = await server.request('POST', '/v1/users', { headers, body: JSON.stringify({ username: 'ab', password: 12345678 }) });
    expect(wrong.status).toBe(400);
    expect(wrong.json.errors).toEqual([
      { code: 1009, title: 'Parameter value is not valid', details: 'username must be a string of 4 to 32 characters' },
      { code: 1009, title: 'Parameter value is not valid', details: 'password must be a string' },
    ]);
    const limit = await server.request('GET', '/v1/audit?limit=1e2', { headers });
    expect(limit.json.errors).toEqual([{ code: 1009, title: 'Parameter value is not valid', details: 'limit must be a whole number from 1 to 1000' }]);
    // Nothing was created by the rejected requests.
    expect((await server.request('GET', '/v1/users/ab', { headers })).status).toBe(404);
  });
});
