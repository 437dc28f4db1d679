/**
 * ui.js: small DOM helpers shared by the guest page and the operator console.
 * Every piece of text goes in through textContent or text nodes, never HTML.
 */

/**
 * Creates an element. attrs: `class`, `text` (textContent), anything else is
 * an attribute (true → empty attribute; null/false → omitted). Children may be
 * nodes or strings (strings become text nodes).
 */
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  e.append(...children.filter((c) => c != null));
  return e;
}

const SEPARATORS = ' \t\u3000-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u30fc\uff0d.\uff0e/()\uff08\uff09';

/**
 * The digits of a number as a person typed it (ASCII or full-width digits,
 * common separators ignored), or null if it holds anything else. The server
 * does the real normalising; this only drives hints.
 */
export function digitsOf(typed) {
  let out = '';
  for (const ch of String(typed)) {
    const c = ch.codePointAt(0);
    if (c >= 0x30 && c <= 0x39) out += ch;
    else if (c >= 0xff10 && c <= 0xff19) out += String(c - 0xff10);
    else if (!SEPARATORS.includes(ch)) return null;
  }
  return out;
}

/** Formats 11 digits as 060-1234-5678; anything else is returned unchanged. */
export function formatNumber(s) {
  const d = digitsOf(s);
  if (!d || d.length !== 11) return String(s);
  return `${d.slice(0, 3)}-${d.slice(3, 7)}-${d.slice(7)}`;
}

/** Formats a duration in ms as m:ss (or h:mm:ss). */
export function formatDuration(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

/**
 * Keeps a list's children in step with `items` without rebuilding rows that
 * stay (so focus and buttons survive updates). Each row carries its key in
 * attribute `keyAttr`; `create(item)` makes a row, `update(row, item)` fills it.
 */
export function syncList(list, items, keyAttr, keyOf, create, update) {
  const existing = new Map();
  for (const row of list.children) existing.set(row.getAttribute(keyAttr), row);
  let prev = null;
  for (const item of items) {
    const key = keyOf(item);
    let row = existing.get(key);
    if (row) existing.delete(key);
    else {
      row = create(item);
      row.setAttribute(keyAttr, key);
    }
    update(row, item);
    const want = prev ? prev.nextSibling : list.firstChild;
    if (row !== want) list.insertBefore(row, want);
    prev = row;
  }
  for (const row of existing.values()) row.remove();
}

/** Sets a toggle button's label and aria-pressed. */
export function setToggle(button, pressed, label) {
  button.setAttribute('aria-pressed', pressed ? 'true' : 'false');
  button.textContent = label;
}

/** Display name of a member or request. */
export function nameOf(x) {
  return (x && x.name) || '(no name)';
}

/** Human words for a kind and a role. */
export const KIND = { browser: 'Browser', phone: 'Phone' };
export const ROLE = { operator: 'Operator', guest: 'Guest' };

/** Creates an empty member row; `controls` adds the operator's mute/remove buttons. */
export function createMemberRow(controls) {
  const li = el('li', { class: 'member' },
    el('span', { class: 'talk-dot', 'aria-hidden': 'true' }),
    el('div', { class: 'who' },
      el('span', { class: 'name' }),
      el('span', { class: 'meta' },
        el('span', { class: 'role badge' }),
        el('span', { class: 'kind badge' }),
        el('span', { class: 'address' }))),
    el('div', { class: 'flags' },
      el('span', { class: 'talk-text' }),
      el('span', { class: 'mic-state' }),
      el('span', { class: 'camera-state' })));
  if (controls) {
    li.append(el('div', { class: 'actions' },
      el('button', { type: 'button', class: 'mute', 'aria-pressed': 'false', text: 'Mute' }),
      el('button', { type: 'button', class: 'remove danger', text: 'Remove' })));
  }
  return li;
}

/** Fills a member row. opts.isSelf marks our own row; opts.muted overrides muted. */
export function updateMemberRow(li, m, opts = {}) {
  const muted = opts.muted ?? m.muted;
  li.classList.toggle('talking', !!m.talking);
  li.classList.toggle('self', !!opts.isSelf);
  li.classList.toggle('is-muted', !!muted);
  li.querySelector('.name').textContent = nameOf(m) + (opts.isSelf ? ' (you)' : '');
  li.querySelector('.role').textContent = ROLE[m.role] || m.role || '';
  const kind = li.querySelector('.kind');
  kind.textContent = (KIND[m.kind] || m.kind || '') + (m.hd ? ' · HD' : '');
  kind.title = m.hd ? 'Wideband audio (HD voice: G.722 or Opus)' : '';
  li.querySelector('.address').textContent = m.address || '';
  li.querySelector('.talk-text').textContent = m.talking ? 'Talking' : '';
  li.querySelector('.mic-state').textContent = muted ? 'Muted' : 'Mic on';
  li.querySelector('.camera-state').textContent = m.camera ? 'Camera on' : '';
  const mute = li.querySelector('.mute');
  if (mute) {
    setToggle(mute, !!m.muted, m.muted ? 'Unmute' : 'Mute');
    mute.setAttribute('aria-label', `${m.muted ? 'Unmute' : 'Mute'} ${nameOf(m)}`);
    li.querySelector('.remove').setAttribute('aria-label', `Remove ${nameOf(m)}`);
  }
}

/**
 * Renders the people in the room into `list`: self first, then the operator,
 * then the others in joining order.
 */
export function renderMembers(list, client, controls) {
  const rows = [];
  if (client.self) rows.push({ m: client.self, isSelf: true });
  const others = client.members.slice().sort((a, b) => (b.role === 'operator') - (a.role === 'operator'));
  for (const m of others) rows.push({ m, isSelf: false });
  syncList(list, rows, 'data-member-id', (r) => r.m.id,
    (r) => createMemberRow(controls && !r.isSelf),
    (li, r) => updateMemberRow(li, r.m, r.isSelf ? { isSelf: true, muted: r.m.muted || client.micMuted } : {}));
}

/**
 * Keeps one video tile per member whose camera is on (and our own preview).
 * Each tile is a figure holding `<video autoplay playsinline muted data-member-id>`.
 */
export function syncVideos(container, client) {
  const want = [];
  if (client.cameraOn && client.localVideo && client.self) {
    want.push({ id: client.self.id, stream: client.localVideo, label: 'You', self: true });
  }
  for (const m of client.members) {
    const s = client.streams.get(m.id);
    if (m.camera && s && s.getVideoTracks().some((t) => t.readyState === 'live')) {
      want.push({ id: m.id, stream: s, label: nameOf(m), self: false });
    }
  }
  syncList(container, want, 'data-tile', (w) => w.id, (w) => {
    const video = el('video', { autoplay: true, playsinline: true, muted: true, 'data-member-id': w.id });
    video.muted = true;
    return el('figure', { class: w.self ? 'tile self' : 'tile' }, video, el('figcaption'));
  }, (fig, w) => {
    const video = fig.querySelector('video');
    if (video.srcObject !== w.stream) {
      video.srcObject = w.stream;
      video.play().catch(() => {});
    }
    fig.querySelector('figcaption').textContent = w.label;
  });
  container.hidden = want.length === 0;
}

/** Copies text to the clipboard; resolves to whether it worked. */
export async function copyText(text) {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch { /* fall back below */ }
  const ta = el('textarea', { class: 'offscreen', readonly: true, 'aria-hidden': 'true' });
  ta.value = text;
  document.body.append(ta);
  ta.select();
  let ok = false;
  try { ok = document.execCommand('copy'); } catch { ok = false; }
  ta.remove();
  return ok;
}

/** Briefly changes a button's label to confirm an action. */
export function flashLabel(button, text, ms = 1500) {
  if (!button.dataset.label) button.dataset.label = button.textContent;
  button.textContent = text;
  clearTimeout(Number(button.dataset.timer || 0));
  button.dataset.timer = String(setTimeout(() => {
    button.textContent = button.dataset.label;
    delete button.dataset.label;
    delete button.dataset.timer;
  }, ms));
}
