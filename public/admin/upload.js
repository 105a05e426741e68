import { ApiError, call } from './api.js';
import { $, colonFingerprint, fail, formatDate, h, pemInput, show } from './dom.js';

function findingItem(kind, finding) {
  const where = finding.block ? ` (block ${finding.block})` : '';
  return h('li', { class: `finding ${kind}`, dataset: { rule: finding.rule } },
    h('span', { class: 'rule' }, finding.rule), where, ': ', finding.message);
}

function reportNodes(report) {
  const nodes = [];
  if (report.valid) {
    const c = report.certificate;
    nodes.push(h('p', {}, h('strong', {}, 'The bundle passed every check.'), ' Nothing is stored until you install it.'));
    nodes.push(h('dl', { class: 'details' },
      h('dt', {}, 'Subject'), h('dd', {}, c.subject || '(empty)'),
      h('dt', {}, 'Names (SANs)'), h('dd', {}, c.sans.join(', ') || '(none)'),
      h('dt', {}, 'Issuer'), h('dd', {}, c.issuer),
      h('dt', {}, 'Expires'), h('dd', {}, formatDate(c.not_after)),
      h('dt', {}, 'Fingerprint (SHA-256)'), h('dd', { class: 'mono', id: 'upload-fingerprint' }, colonFingerprint(c.fingerprint_sha256)),
    ));
  } else {
    nodes.push(h('p', {}, h('strong', {}, `Rejected: ${report.errors.length} problem${report.errors.length === 1 ? '' : 's'}.`), ' Nothing was stored.'));
    nodes.push(h('ul', { class: 'findings', id: 'upload-errors' }, report.errors.map((f) => findingItem('error', f))));
  }
  if (report.warnings.length) {
    nodes.push(h('p', {}, 'Warnings (they do not block the upload):'));
    nodes.push(h('ul', { class: 'findings', id: 'upload-warnings' }, report.warnings.map((f) => findingItem('warning', f))));
  }
  return nodes;
}

/** Check (dry run, nothing stored) first; the install button appears only for a bundle that passed. */
export function setUpUpload({ activeFingerprint, changed }) {
  const form = $('upload-form');
  const file = $('upload-file');
  const text = $('upload-text');
  const report = $('upload-report');
  const commit = $('upload-commit');
  let checked = null;

  const forget = () => {
    checked = null;
    commit.hidden = true;
  };
  file.addEventListener('change', forget);
  text.addEventListener('input', forget);

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    forget();
    const pem = await pemInput(file, text);
    if (pem === '') {
      show(report, 'error', 'Choose a PEM file or paste the bundle first.');
      return;
    }
    show(report, null, 'Checking…');
    try {
      const { data } = await call('POST', '/v1/certificates/external?dry_run=true', { pem });
      show(report, data.report.valid ? 'success' : 'error', ...reportNodes(data.report));
      if (data.report.valid) {
        checked = pem;
        commit.hidden = false;
      }
    } catch (error) {
      fail(report, 'The bundle could not be checked:', error);
    }
  });

  commit.addEventListener('click', async () => {
    if (checked === null) return;
    const pem = checked;
    forget();
    try {
      // Conditional on what this page showed, so a change made meanwhile by someone else is not overwritten.
      const headers = activeFingerprint() ? { 'If-Match': activeFingerprint() } : {};
      await call('POST', '/v1/certificates/external', { pem, headers });
      form.reset();
      show(report, 'success', 'Installed: the new certificate is served from the next TLS handshake.');
    } catch (error) {
      const raced = error instanceof ApiError && error.status === 412;
      fail(report, raced ? 'Another change was made meanwhile; refresh and check again.' : 'The upload was refused:', error);
    }
    changed();
  });

  return { clear: () => { form.reset(); forget(); show(report, null); } };
}
