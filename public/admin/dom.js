// DOM built from nodes and text only: no HTML strings anywhere (the CSP enforces it with Trusted Types).

/** h('li', { class: 'x' }, 'text', child) */
export function h(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
}

export const $ = (id) => {
  const node = document.getElementById(id);
  if (!node) throw new Error(`#${id} is missing from the page`);
  return node;
};

export function fill(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

/** A result area: plain text or nodes, with a tone (error, success or none). */
export function show(node, tone, ...children) {
  node.classList.remove('error', 'success');
  if (tone) node.classList.add(tone);
  fill(node, ...children);
}

/** The error entries of the API's envelope, one list item each. */
export function errorList(error) {
  const entries = error?.entries ?? [{ title: 'Error', details: String(error?.message ?? error) }];
  return h('ul', { class: 'findings' }, entries.map((entry) => h('li', { class: 'finding error' }, entry.details || entry.title)));
}

/** An API failure in a result area; none when the session ended (the login form says so instead). */
export function fail(node, prefix, error) {
  if (error?.sessionEnded) return;
  show(node, 'error', prefix, errorList(error));
}

/** "ab12…" → "AB:12:…", the form openssl and browsers print. */
export function colonFingerprint(hex) {
  return (hex ?? '').toUpperCase().match(/.{1,2}/g)?.join(':') ?? '';
}

export function formatDate(iso) {
  if (!iso) return '';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

/** "expires in 89 d 23:59:59" / "expired 2 d 03:04:05 ago". */
export function countdown(notAfterIso, now = Date.now()) {
  const left = new Date(notAfterIso).getTime() - now;
  if (Number.isNaN(left)) return '';
  const abs = Math.abs(left);
  const days = Math.floor(abs / 86_400_000);
  const clock = new Date(abs % 86_400_000).toISOString().slice(11, 19);
  const span = `${days} d ${clock}`;
  return left >= 0 ? `expires in ${span}` : `expired ${span} ago`;
}

/** The text of a file input's file, or of the textarea when no file is chosen; '' when both are empty. */
export async function pemInput(fileInput, textarea) {
  const file = fileInput.files?.[0];
  if (file) return new Uint8Array(await file.arrayBuffer());
  return textarea.value.trim() === '' ? '' : textarea.value;
}
