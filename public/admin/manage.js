import { call } from './api.js';
import { $, colonFingerprint, fail, fill, formatDate, h, pemInput, show } from './dom.js';

/** GET/POST/DELETE /v1/certificates/webhooks/ca. */
export function setUpWebhookCa({ changed }) {
  const current = $('webhook-ca-current');
  const form = $('webhook-ca-form');
  const result = $('webhook-ca-result');

  async function refresh() {
    try {
      const { status, text } = await call('GET', '/v1/certificates/webhooks/ca', { allowMissing: true });
      current.textContent = status === 404 ? '(none: outgoing calls use the system trust store)' : text;
    } catch (error) {
      fail(result, 'Could not read the webhook CA:', error);
    }
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const pem = await pemInput($('webhook-ca-file'), $('webhook-ca-text'));
    if (pem === '') return show(result, 'error', 'Choose a PEM file or paste certificates first.');
    try {
      await call('POST', '/v1/certificates/webhooks/ca', { pem });
      form.reset();
      show(result, 'success', 'The webhook CA was replaced.');
    } catch (error) {
      fail(result, 'The webhook CA was not changed:', error);
    }
    changed();
  });

  $('webhook-ca-delete').addEventListener('click', async () => {
    if (!confirm('Remove the webhook CA?')) return;
    try {
      await call('DELETE', '/v1/certificates/webhooks/ca');
      show(result, 'success', 'The webhook CA was removed.');
    } catch (error) {
      fail(result, 'The webhook CA was not removed:', error);
    }
    changed();
  });

  return { refresh };
}

/** Users: the API has no list, so admins create, look up, change and delete by name. */
export function setUpUsers({ changed }) {
  const result = $('users-result');
  const value = (id) => $(id).value.trim();

  $('user-create-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      const { data } = await call('POST', '/v1/users', { json: { username: value('create-username'), password: $('create-password').value } });
      event.target.reset();
      show(result, 'success', `User ${data.users[0].username} was created.`);
    } catch (error) {
      fail(result, 'The user was not created:', error);
    }
    changed();
  });

  $('user-password-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const username = value('password-username');
    const current = $('password-current').value;
    try {
      const json = { password: $('password-new').value, ...(current ? { current_password: current } : {}) };
      await call('PUT', `/v1/users/${encodeURIComponent(username)}`, { json });
      $('password-new').value = '';
      $('password-current').value = '';
      show(result, 'success', `The password of ${username} was changed.`);
    } catch (error) {
      fail(result, 'The password was not changed:', error);
    }
    changed();
  });

  $('user-lookup-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const username = value('lookup-username');
    try {
      const { data } = await call('GET', `/v1/users/${encodeURIComponent(username)}`);
      const user = data.users[0];
      show(result, 'success', `${user.username}: ${user.ROLES === 'ROLE_ADMIN' ? 'admin' : 'user'}`);
    } catch (error) {
      fail(result, 'Lookup failed:', error);
    }
  });

  $('user-delete').addEventListener('click', async () => {
    const username = value('lookup-username');
    if (!username) return show(result, 'error', 'Enter the user name to delete.');
    if (!confirm(`Delete user ${username}? Their tokens stop working.`)) return;
    try {
      await call('DELETE', `/v1/users/${encodeURIComponent(username)}`);
      show(result, 'success', `User ${username} was deleted.`);
    } catch (error) {
      fail(result, 'The user was not deleted:', error);
    }
    changed();
  });
}

/** GET /v1/audit: the latest changes. */
export function setUpAudit() {
  const body = $('audit-table').querySelector('tbody');
  const result = $('audit-result');

  async function refresh() {
    try {
      const { data } = await call('GET', '/v1/audit?limit=100');
      fill(body, data.audit.map((entry) => h('tr', {},
        h('td', {}, formatDate(entry.at)),
        h('td', {}, entry.actor),
        h('td', {}, entry.action),
        h('td', {}, entry.client_address ?? ''),
        h('td', { class: 'mono' }, entry.fingerprint_sha256 ? `${colonFingerprint(entry.fingerprint_sha256).slice(0, 23)}…` : ''),
        h('td', { class: 'mono' }, Object.keys(entry.details).length ? JSON.stringify(entry.details) : ''),
      )));
    } catch (error) {
      fail(result, 'Could not read the audit log:', error);
    }
  }

  $('audit-refresh').addEventListener('click', refresh);
  return { refresh };
}
