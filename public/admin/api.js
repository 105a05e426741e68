// The /v1 API with a bearer token held only in this module's memory: never in localStorage, sessionStorage or a
// cookie, so a reload logs out and no request ever carries an ambient credential (hence no CSRF).

let session = null;
let sessionLost = () => {};

export class ApiError extends Error {
  constructor(status, entries) {
    super(entries.map((entry) => entry.details || entry.title).join('; '));
    this.status = status;
    this.entries = entries;
    this.sessionEnded = false;
  }
}

export const currentSession = () => session;
export const onSessionLost = (callback) => { sessionLost = callback; };

function base64(text) {
  let binary = '';
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** One request; resolves { status, data, text } for 2xx (and for 404 when allowMissing), else throws ApiError. */
export async function call(method, path, { json, pem, headers = {}, auth = true, allowMissing = false } = {}) {
  const init = { method, headers: { ...headers }, credentials: 'omit', cache: 'no-store', redirect: 'error' };
  if (json !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(json);
  } else if (pem !== undefined) {
    init.headers['Content-Type'] = 'text/plain';
    init.body = pem;
  }
  if (auth) {
    if (!session) {
      const error = new ApiError(401, [{ title: 'Access denied', details: 'log in first' }]);
      error.sessionEnded = true;
      throw error;
    }
    init.headers.Authorization = `Bearer ${session.token}`;
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError(0, [{ title: 'Network error', details: 'the server could not be reached' }]);
  }
  const text = await response.text();
  let data = null;
  if ((response.headers.get('content-type') ?? '').includes('json') && text !== '') {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (response.ok || (allowMissing && response.status === 404 && text === '')) return { status: response.status, data, text };
  const entries = Array.isArray(data?.errors) ? data.errors : [{ title: `HTTP ${response.status}`, details: `the server answered ${response.status}` }];
  const error = new ApiError(response.status, entries);
  if (response.status === 401 && auth) {
    error.sessionEnded = true;
    if (session) {
      session = null;
      sessionLost(entries);
    }
  }
  throw error;
}

/** POST /v1/users/login; with newPassword it also changes the password (required on first login). */
export async function login(username, password, newPassword) {
  const { data } = await call('POST', '/v1/users/login', {
    auth: false,
    headers: { Authorization: `Basic ${base64(`${username}:${password}`)}` },
    json: newPassword === undefined ? undefined : { new_password: newPassword },
  });
  const { token, expires_after: expiresAfter } = data.users[0];
  session = { token, username, expiresAfter, role: 'ROLE_USER' };
  const me = await call('GET', `/v1/users/${encodeURIComponent(username)}`);
  session.role = me.data.users[0].ROLES;
  return session;
}

export async function logout() {
  if (!session) return;
  try {
    await call('POST', '/v1/users/logout');
  } finally {
    session = null;
  }
}
