import { currentSession, logout, onSessionLost } from './api.js';
import { setUpCertificate, setUpHistory } from './certificate.js';
import { $, formatDate, show } from './dom.js';
import { setUpLogin } from './login.js';
import { setUpAudit, setUpUsers, setUpWebhookCa } from './manage.js';
import { setUpUpload } from './upload.js';

const isAdmin = () => currentSession()?.role === 'ROLE_ADMIN';
const activeFingerprint = () => certificate.active()?.fingerprint_sha256;

/** After any change: re-read everything the page shows. */
async function refreshAll() {
  await certificate.refresh();
  await Promise.all([history.refresh(), ...(isAdmin() ? [webhookCa.refresh(), audit.refresh()] : [])]);
}
const changed = () => { void refreshAll(); };

const certificate = setUpCertificate({ isAdmin, changed });
const history = setUpHistory({ isAdmin, activeFingerprint, changed });
const upload = setUpUpload({ activeFingerprint, changed });
const webhookCa = setUpWebhookCa({ changed });
const audit = setUpAudit();
setUpUsers({ changed });

/** Nothing of the previous session stays on the page: results, tables, forms. */
function leave(message) {
  certificate.stop();
  upload.clear();
  for (const node of document.querySelectorAll('#app-view .result')) show(node, null);
  for (const node of document.querySelectorAll('#app-view tbody, #cert-details, #webhook-ca-current')) node.replaceChildren();
  for (const form of document.querySelectorAll('#app-view form')) form.reset();
  $('app-view').hidden = true;
  $('session').hidden = true;
  $('login-view').hidden = false;
  $('notice').hidden = true;
  showLogin(message);
}

const showLogin = setUpLogin((session) => {
  $('login-view').hidden = true;
  $('app-view').hidden = false;
  $('session').hidden = false;
  $('whoami').textContent = `${session.username} (${isAdmin() ? 'admin' : 'user'}, session until ${formatDate(session.expiresAfter)})`;
  for (const node of document.querySelectorAll('.admin-only')) node.hidden = !isAdmin();
  $('password-username').value = session.username;
  show($('notice'), null, 'Logged in. The session lives in this tab only: reloading the page logs out.');
  $('notice').hidden = false;
  void refreshAll();
});

onSessionLost(() => leave('Your session has ended (expired or revoked): log in again.'));

$('logout').addEventListener('click', async () => {
  try {
    await logout();
  } finally {
    leave();
  }
});

showLogin();
