/** The admin password every test and the benchmark set on first login (the default `secret` must be changed). */
export const ADMIN_PASSWORD = 'Adm1n-Passw0rd!';

/** Sends POST /v1/users/login with these headers and body, over whatever the caller uses (a socket, app.request, a keep-alive client). */
export type LoginPost = (headers: Record<string, string>, body?: string) => Promise<{ status: number; text: string }>;

const basic = (password: string) => `Basic ${Buffer.from(`admin:${password}`).toString('base64')}`;

/** Logs in as admin, first changing the default password to `password` on a fresh server; returns the token. */
export async function loginAsAdmin(post: LoginPost, password = ADMIN_PASSWORD): Promise<string> {
  let res = await post({ Authorization: basic(password) });
  if (res.status !== 200) {
    res = await post({ Authorization: basic('secret'), 'Content-Type': 'application/json' }, JSON.stringify({ new_password: password }));
  }
  if (res.status !== 200) throw new Error(`admin login failed: ${res.status} ${res.text}`);
  return (JSON.parse(res.text) as { users: { token: string }[] }).users[0]!.token;
}
