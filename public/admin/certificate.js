import { call } from './api.js';
import { $, colonFingerprint, countdown, fail, fill, formatDate, h, show } from './dom.js';

const STATUS_TEXT = {
  ok: 'OK',
  expiring: 'Expiring soon',
  expired: 'Expired',
  fallback: 'Fallback',
  out_of_sync: 'Out of sync',
};

/** What this process serves (GET /v1/certificates/external) and how healthy it is (GET /v1/health). */
export function setUpCertificate({ isAdmin, changed }) {
  const status = $('cert-status');
  const reason = $('cert-status-reason');
  const details = $('cert-details');
  const result = $('certificate-result');
  let active = null;
  let countdownText = null;
  let timer = null;

  const tick = () => {
    if (active && countdownText) countdownText.textContent = countdown(active.not_after);
  };

  async function refresh() {
    try {
      const [health, current] = await Promise.all([call('GET', '/v1/health'), call('GET', '/v1/certificates/external')]);
      const certificateHealth = health.data.health.certificate;
      $('setup-warning').hidden = health.data.health.setup_required !== true;
      active = current.data.certificates[0];
      status.className = `badge ${certificateHealth.status}`;
      status.textContent = STATUS_TEXT[certificateHealth.status] ?? certificateHealth.status;
      status.dataset.status = certificateHealth.status;
      reason.textContent = certificateHealth.reason ?? '';
      countdownText = h('span', { id: 'cert-countdown' }, countdown(active.not_after));
      const row = (label, ...value) => [h('dt', {}, label), h('dd', {}, ...value)];
      fill(
        details,
        row('Subject', active.subject || '(empty)'),
        row('Names (SANs)', active.sans.length ? active.sans.join(', ') : '(none)'),
        row('Issuer', active.issuer),
        row('Valid from', formatDate(active.not_before)),
        row('Expires', formatDate(active.not_after), ' (', countdownText, ')'),
        row('Fingerprint (SHA-256)', h('span', { id: 'cert-fingerprint', class: 'mono' }, colonFingerprint(active.fingerprint_sha256))),
        row('Version', h('span', { id: 'cert-version' }, String(active.version)), ` (${active.source}, by ${active.created_by}, ${formatDate(active.created_at)})`),
        row('Key', active.key_type),
        row('Chain', active.chain.length ? h('ul', {}, active.chain.map((entry) => h('li', {}, `${entry.subject} (expires ${formatDate(entry.not_after)})`))) : '(none)'),
        active.warnings.length ? row('Warnings', h('ul', {}, active.warnings.map((w) => h('li', {}, w.message)))) : [],
      );
      clearInterval(timer);
      timer = setInterval(tick, 1000);
    } catch (error) {
      fail(result, 'Could not read the certificate:', error);
    }
  }

  $('refresh').addEventListener('click', () => {
    show(result, null);
    changed();
  });

  $('reset').addEventListener('click', async () => {
    if (!isAdmin() || !active) return;
    if (!confirm('Replace the served certificate with a new self-signed one? Clients that trust the current one will see a warning.')) return;
    try {
      await call('DELETE', '/v1/certificates/external', { headers: { 'If-Match': active.fingerprint_sha256 } });
      show(result, 'success', 'A new self-signed certificate is served.');
    } catch (error) {
      fail(result, 'Reset failed:', error);
    }
    changed();
  });

  return {
    refresh,
    active: () => active,
    stop() {
      clearInterval(timer);
      active = null;
    },
  };
}

/** Every version, newest first; admins may roll back to any non-active one (it is re-validated first). */
export function setUpHistory({ isAdmin, activeFingerprint, changed }) {
  const body = $('history-table').querySelector('tbody');
  const result = $('history-result');

  async function rollback(version) {
    if (!confirm(`Serve version ${version} again?`)) return;
    try {
      const headers = activeFingerprint() ? { 'If-Match': activeFingerprint() } : {};
      const { data } = await call('POST', '/v1/certificates/external/rollback', { json: { version }, headers });
      show(result, 'success', `Version ${version} is served again as version ${data.certificates[0].version}.`);
    } catch (error) {
      fail(result, `Rollback to version ${version} failed:`, error);
    }
    changed();
  }

  async function refresh() {
    try {
      const { data } = await call('GET', '/v1/certificates/external/history');
      fill(
        body,
        data.certificates.map((v) =>
          h('tr', { class: v.active ? 'active' : '', dataset: { version: String(v.version) } },
            h('td', {}, String(v.version), v.active ? ' (served)' : ''),
            h('td', {}, v.source),
            h('td', {}, v.subject || v.sans.join(', ')),
            h('td', {}, formatDate(v.not_after)),
            h('td', { class: 'mono' }, colonFingerprint(v.fingerprint_sha256)),
            h('td', {}, `${formatDate(v.created_at)} by ${v.created_by}`),
            h('td', {}, !v.active && isAdmin()
              ? h('button', { type: 'button', onclick: () => rollback(v.version), 'aria-label': `Roll back to version ${v.version}` }, 'Roll back')
              : ''),
          ),
        ),
      );
    } catch (error) {
      fail(result, 'Could not read the history:', error);
    }
  }

  return { refresh };
}
