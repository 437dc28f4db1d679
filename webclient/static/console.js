/**
 * console.js: the operator's page. Login, the issued numbers (issue, copy,
 * revoke, open), and the open conference: the lobby with admit/decline, the
 * members with mute/remove, the operator's own mic and camera, end.
 * All conference logic lives in room.js; this file only draws and wires it.
 */
import { RoomClient } from './room.js';
import { loadCalls } from './calls.js';
import { loadTrunks } from './trunks.js';
import { loadSoftphone } from './softphone.js';
import { initDial } from './dial.js';
import { Cards } from './cards.js';
import { Library } from './library.js';
import { MaterialView } from './material.js';
import { DropZone } from './drop.js';
import {
  el, formatNumber, formatDuration, syncList, renderMembers, syncVideos, setToggle,
  copyText, flashLabel, nameOf, KIND,
} from './ui.js';

const $ = (id) => document.getElementById(id);
const TITLE = document.title;
const NUMBERS_REFRESH_MS = 30000;

const client = new RoomClient({ role: 'operator', audioContainer: $('remote-audio') });
window.dialroom = client;

let numbers = [];          // number objects from GET /api/numbers, newest first
let hosted = '';           // the number whose conference the panel shows
let refreshTimer = 0;
let audioCtx = null;       // for the lobby chime; made on a user gesture
let note = '';             // a passing message in the conference panel
let noteTimer = 0;
const firstSeen = new Map(); // request id → Date.now() when first shown
const pending = new Set();   // request ids with an admit/decline on the way

// ---- HTTP API -------------------------------------------------------------

/** An API failure with the server's status, code and message. */
class ApiError extends Error {
  constructor(status, code, message, retryAfter) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

/** Calls the JSON API; resolves to the parsed body (null for 204). */
async function api(method, path, body) {
  const opts = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
  if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, opts);
  } catch {
    throw new ApiError(0, 'network', 'Cannot reach the server. Check your connection.', 0);
  }
  if (res.status === 204) return null;
  let data = null;
  try { data = await res.json(); } catch { data = null; }
  if (!res.ok) {
    const e = (data && data.error) || {};
    throw new ApiError(res.status, e.code || '', e.message || `The request failed (HTTP ${res.status}).`,
      Number(res.headers.get('Retry-After')) || 0);
  }
  return data;
}

/** "2 minutes" style wording for a wait in seconds. */
function waitWords(seconds) {
  if (seconds < 90) return `${seconds} seconds`;
  return `${Math.ceil(seconds / 60)} minutes`;
}

// ---- login ------------------------------------------------------------------

function showLogin(message) {
  clearInterval(refreshTimer);
  $('loading').hidden = true;
  $('app').hidden = true;
  $('account').hidden = true;
  $('banner').hidden = true;
  $('login-form').hidden = false;
  loginError(message || '');
  $('login').focus();
}

function loginError(text) {
  $('login-error').textContent = text;
  $('login-error').hidden = !text;
}

function showApp(me) {
  $('loading').hidden = true;
  $('login-form').hidden = true;
  $('operator-name').textContent = (me && (me.name || me.login)) || '';
  $('account').hidden = false;
  $('app').hidden = false;
  loadNumbers();
  cards.loadProfile(); // the saved card, for "Share my saved card"
  library.load();
  clearInterval(refreshTimer);
  refreshTimer = setInterval(loadNumbers, NUMBERS_REFRESH_MS);
}

/** The session cookie is no longer valid: back to the login form. */
function sessionEnded() {
  client.close();
  hosted = '';
  renderConference();
  showLogin('Your session has ended. Please log in again.');
}

$('login-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const login = $('login').value.trim();
  const password = $('password').value;
  if (!login || !password) {
    loginError('Enter your login ID and password.');
    return;
  }
  const button = $('login-button');
  button.disabled = true;
  try {
    const me = await api('POST', '/api/login', { login, password });
    $('password').value = '';
    showApp(me);
  } catch (err) {
    let text = err.message;
    if (err.status === 429 && err.retryAfter) text += ` You can try again in ${waitWords(err.retryAfter)}.`;
    loginError(text);
    $('password').focus();
  } finally {
    button.disabled = false;
  }
});

$('logout').addEventListener('click', async () => {
  client.close();
  hosted = '';
  renderConference();
  try { await api('POST', '/api/logout'); } catch { /* the cookie is cleared or already invalid */ }
  $('password').value = '';
  showLogin('');
});

// ---- numbers ----------------------------------------------------------------

async function loadNumbers() {
  try {
    const data = await api('GET', '/api/numbers');
    numbers = (data && Array.isArray(data.numbers)) ? data.numbers : [];
    renderNumbers();
    await loadCalls(api, $('calls'), $('calls-empty'));
    await loadTrunks(api, $('trunks-panel'), $('trunks'));
    await loadSoftphone(api, $('softphone-panel'));
  } catch (err) {
    if (err.status === 401) sessionEnded();
    else numbersNote(err.message);
  }
}

function numbersNote(text) {
  $('numbers-note').textContent = text;
  $('numbers-note').hidden = !text;
}

function renderNumbers() {
  $('numbers-empty').hidden = numbers.length > 0;
  syncList($('numbers'), numbers, 'data-number', (n) => n.number, createNumberRow, updateNumberRow);
}

function createNumberRow() {
  return el('li', { class: 'number-item' },
    el('div', { class: 'number-head' },
      el('span', { class: 'number-display' }),
      el('span', { class: 'state badge' }),
      el('span', { class: 'live badge', text: 'Conference open' })),
    el('p', { class: 'expiry subtle' }),
    el('div', { class: 'number-link' },
      el('a', { class: 'join-link', target: '_blank', rel: 'noopener' }),
      el('button', { type: 'button', class: 'copy-link', text: 'Copy link' })),
    el('div', { class: 'number-actions' },
      el('button', { type: 'button', class: 'copy', text: 'Copy number' }),
      el('button', { type: 'button', class: 'host primary', text: 'Open conference' }),
      el('button', { type: 'button', class: 'revoke danger', text: 'Revoke' })));
}

function updateNumberRow(li, n) {
  const active = n.state === 'active';
  const formatted = n.formatted || formatNumber(n.number);
  li.classList.toggle('inactive', !active);
  li.querySelector('.number-display').textContent = formatted;
  const state = li.querySelector('.state');
  state.textContent = { active: 'Active', revoked: 'Revoked', expired: 'Expired' }[n.state] || n.state;
  state.dataset.state = n.state;
  li.querySelector('.live').hidden = !(n.live_room || (hosted === n.number && client.state === 'in'));
  li.querySelector('.expiry').textContent = expiryText(n);
  const link = li.querySelector('.join-link');
  const url = /^https?:\/\//i.test(n.join_url || '') ? n.join_url : `${location.origin}/join?n=${encodeURIComponent(n.number)}`;
  link.href = url;
  link.textContent = url;
  li.querySelector('.copy').setAttribute('aria-label', `Copy number ${formatted}`);
  li.querySelector('.copy-link').setAttribute('aria-label', `Copy join link for ${formatted}`);
  li.querySelector('.host').disabled = !active;
  li.querySelector('.host').setAttribute('aria-label', `Open conference on ${formatted}`);
  li.querySelector('.revoke').hidden = !active;
  li.querySelector('.revoke').setAttribute('aria-label', `Revoke ${formatted}`);
}

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

function expiryText(n) {
  if (n.state === 'revoked') return 'Revoked.';
  if (!n.expires_at) return 'Never expires.';
  const at = new Date(n.expires_at);
  if (Number.isNaN(at.getTime())) return '';
  const left = at.getTime() - Date.now();
  if (left <= 0) return `Expired ${dateFormat.format(at)}.`;
  const hours = Math.floor(left / 3600000);
  const rel = hours >= 48 ? `${Math.floor(hours / 24)} days` : hours >= 1 ? `${hours} h` : `${Math.max(1, Math.floor(left / 60000))} min`;
  return `Expires ${dateFormat.format(at)} (in ${rel}).`;
}

$('issue-number').addEventListener('click', async (e) => {
  const button = e.currentTarget;
  button.disabled = true;
  try {
    const n = await api('POST', '/api/numbers', {});
    await loadNumbers();
    if (n && !numbers.some((x) => x.number === n.number)) {
      numbers.unshift(n);
      renderNumbers();
    }
    numbersNote(n ? `New number ${n.formatted || formatNumber(n.number)} issued.` : '');
    const row = n && [...$('numbers').children].find((li) => li.dataset.number === n.number);
    if (row) {
      row.classList.add('fresh');
      row.querySelector('.copy').focus();
    }
  } catch (err) {
    if (err.status === 401) sessionEnded();
    else numbersNote(err.message);
  } finally {
    button.disabled = false;
  }
});

$('numbers').addEventListener('click', async (e) => {
  const button = e.target.closest('button');
  const li = button && button.closest('li[data-number]');
  const n = li && numbers.find((x) => x.number === li.dataset.number);
  if (!n) return;
  if (button.classList.contains('copy')) {
    copyOrSelect(button, n.formatted || formatNumber(n.number), li.querySelector('.number-display'));
  } else if (button.classList.contains('copy-link')) {
    const link = li.querySelector('.join-link');
    copyOrSelect(button, link.href, link);
  } else if (button.classList.contains('host')) {
    openConference(n.number);
  } else if (button.classList.contains('revoke')) {
    revoke(n);
  }
});

/** Copies text; where the browser refuses, selects `node` so it can be copied by hand. */
async function copyOrSelect(button, text, node) {
  if (await copyText(text)) {
    flashLabel(button, 'Copied');
    return;
  }
  const range = document.createRange();
  range.selectNodeContents(node);
  const sel = getSelection();
  sel.removeAllRanges();
  sel.addRange(range);
  flashLabel(button, 'Selected: copy it', 3000);
}

async function revoke(n) {
  const formatted = n.formatted || formatNumber(n.number);
  const live = n.live_room || hosted === n.number;
  if (!confirm(`Revoke ${formatted}? Guests will no longer reach you on it${live ? ', and its conference ends for everyone' : ''}.`)) return;
  try {
    await api('DELETE', `/api/numbers/${encodeURIComponent(n.number)}`);
    numbersNote(`${formatted} revoked.`);
  } catch (err) {
    if (err.status === 401) { sessionEnded(); return; }
    numbersNote(err.message);
  }
  loadNumbers();
}

// ---- conference -------------------------------------------------------------

/** Opens (or returns to) the conference of a number. */
function openConference(number) {
  primeSound();
  const same = hosted === number && (client.state === 'in' || client.state === 'connecting');
  if (!same) {
    hosted = number;
    firstSeen.clear();
    pending.clear();
    client.host(number); // closes any other conference's socket first
  }
  renderConference();
  $('conference').scrollIntoView({ block: 'start', behavior: 'smooth' });
  $('conf-title').focus({ preventScroll: true });
}

function renderConference() {
  const s = client.state;
  const live = s === 'in';
  $('conference').hidden = !hosted;
  const lost = hosted && s === 'error' && client.lastError && client.lastError.code === 'disconnected';
  $('banner').hidden = !lost;
  renderTitle();
  if (!hosted) return;
  $('conf-title').textContent = `Conference on ${client.formatted || formatNumber(hosted)}`;
  $('conf-status').textContent = statusText();
  $('close-conference').hidden = live || s === 'connecting';
  for (const id of ['mic', 'camera', 'end']) $(id).disabled = !live;
  setToggle($('mic'), client.micMuted, client.micMuted ? 'Unmute' : 'Mute');
  setToggle($('camera'), client.cameraOn, client.cameraOn ? 'Turn camera off' : 'Turn camera on');
  renderLobby();
  if (live) renderMembers($('members'), client, true);
  else $('members').replaceChildren();
  syncVideos($('videos'), client);
  const notes = [];
  if (live && client.micError) notes.push(client.micError);
  if (live && client.self && client.self.muted && !client.micMuted) notes.push('Your microphone is muted in the room.');
  if (live && client.audioBlocked) notes.push('The browser blocked the sound: click anywhere on the page to hear the room.');
  if (live && client.pc && client.pc.connectionState === 'failed') notes.push('The media connection failed. Use Reconnect or reload the page.');
  if (note) notes.push(note);
  $('conf-note').textContent = notes.join(' ');
  $('conf-note').hidden = notes.length === 0;
}

function statusText() {
  const err = client.lastError;
  switch (client.state) {
    case 'connecting': return 'Opening the conference…';
    case 'in': {
      const n = client.members.length + 1;
      return `Open · ${n} ${n === 1 ? 'person' : 'people'} in the room · guests with this number wait in the lobby.`;
    }
    case 'ended': return client.message || 'The conference has ended.';
    case 'removed': return client.message || 'You were removed from the conference.';
    case 'error': return (err && err.message) || 'The conference could not be opened.';
    default: return 'Closed.';
  }
}

/** The title bar counts waiting guests, so a background tab still tells. */
function renderTitle() {
  const waiting = client.state === 'in' ? client.lobby.length : 0;
  document.title = waiting ? `(${waiting}) waiting · ${TITLE}` : TITLE;
}

function renderLobby() {
  const items = client.state === 'in' ? client.lobby : [];
  $('lobby-count').textContent = String(items.length);
  $('lobby-empty').hidden = items.length > 0;
  syncList($('lobby-list'), items, 'data-request-id', (r) => r.id, createRequestRow, updateRequestRow);
}

function createRequestRow() {
  return el('li', { class: 'request' },
    el('div', { class: 'who' },
      el('span', { class: 'name' }),
      el('span', { class: 'meta' },
        el('span', { class: 'kind badge' }),
        el('span', { class: 'address' }))),
    el('span', { class: 'waited' }),
    el('div', { class: 'actions' },
      el('button', { type: 'button', class: 'admit primary', text: 'Admit' }),
      el('button', { type: 'button', class: 'decline', text: 'Decline' })));
}

function updateRequestRow(li, r) {
  if (!firstSeen.has(r.id)) firstSeen.set(r.id, Date.now());
  const since = Date.parse(r.since);
  const start = Number.isNaN(since) ? firstSeen.get(r.id) : Math.min(since, firstSeen.get(r.id));
  li.querySelector('.name').textContent = nameOf(r);
  li.querySelector('.kind').textContent = KIND[r.kind] || r.kind || '';
  li.querySelector('.address').textContent = r.address || '';
  li.querySelector('.waited').textContent = `Waiting ${formatDuration(Date.now() - start)}`;
  const busy = pending.has(r.id);
  for (const b of li.querySelectorAll('button')) b.disabled = busy;
  li.querySelector('.admit').setAttribute('aria-label', `Admit ${nameOf(r)}`);
  li.querySelector('.decline').setAttribute('aria-label', `Decline ${nameOf(r)}`);
}

$('lobby-list').addEventListener('click', (e) => {
  const button = e.target.closest('button');
  const li = button && button.closest('li[data-request-id]');
  if (!li) return;
  const id = li.dataset.requestId;
  const sent = button.classList.contains('admit') ? client.admit(id)
    : button.classList.contains('decline') ? client.decline(id) : false;
  if (sent) {
    pending.add(id);
    renderLobby();
  }
});

$('members').addEventListener('click', (e) => {
  const button = e.target.closest('button');
  const li = button && button.closest('li[data-member-id]');
  const m = li && client.member(li.dataset.memberId);
  if (!m) return;
  if (button.classList.contains('mute')) client.mute(m.id, !m.muted);
  else if (button.classList.contains('remove')) {
    button.disabled = true;
    client.remove(m.id);
  }
});

$('mic').addEventListener('click', () => client.setMicMuted(!client.micMuted));
$('camera').addEventListener('click', async (e) => {
  const button = e.currentTarget;
  button.disabled = true;
  try {
    await client.setCamera(!client.cameraOn);
  } finally {
    button.disabled = client.state !== 'in';
    renderConference();
  }
});
$('end').addEventListener('click', () => {
  if (confirm('End the conference for everyone? Guests are disconnected and the lobby is cleared.')) client.end();
});
$('reconnect').addEventListener('click', () => {
  if (hosted) openConference(hosted);
});
$('close-conference').addEventListener('click', () => {
  client.close();
  hosted = '';
  renderConference();
  loadNumbers();
});

client.addEventListener('change', (e) => {
  const what = e.detail.what;
  if (what === 'error' && client.lastError) {
    // A refused admit/decline/mute: show why and let the operator retry.
    pending.clear();
    for (const b of $('members').querySelectorAll('.remove')) b.disabled = false;
    note = client.lastError.message;
    clearTimeout(noteTimer);
    noteTimer = setTimeout(() => { note = ''; renderConference(); }, 8000);
  }
  if (what === 'state') {
    if (client.state === 'error' && client.lastError && client.lastError.code === 'unauthorized') {
      sessionEnded();
      return;
    }
    if (client.state !== 'connecting') renderNumbers(); // the "Conference open" badge
    if (client.state === 'ended') loadNumbers();
  }
  if (what === 'lobby') {
    const ids = new Set(client.lobby.map((r) => r.id));
    for (const id of [...pending]) if (!ids.has(id)) pending.delete(id);
  }
  renderConference();
});
client.addEventListener('join_request', () => chime());
initDial(client, $('dial-form'), $('dial-number'), $('dial-calls'));
const cards = new Cards(client, $('cards'), { api });
window.dialroomCards = cards;
window.dialroomMaterial = new MaterialView(client, $('material'), { api });
window.dialroomDrop = new DropZone(client, $('material'), { material: window.dialroomMaterial });
const library = new Library($('library-panel'), { api });
window.dialroomLibrary = library;

// ---- lobby chime ------------------------------------------------------------

/** Creates the audio context during a click, so the chime may play later. */
function primeSound() {
  try {
    if (!audioCtx) audioCtx = new AudioContext();
    if (audioCtx.state === 'suspended') audioCtx.resume();
  } catch { audioCtx = null; }
}

/** Two soft tones: someone entered the lobby. */
function chime() {
  if (!audioCtx) return;
  const t0 = audioCtx.currentTime;
  [[0, 660], [0.18, 880]].forEach(([dt, freq]) => {
    const osc = audioCtx.createOscillator();
    const gain = audioCtx.createGain();
    osc.frequency.value = freq;
    gain.gain.setValueAtTime(0.0001, t0 + dt);
    gain.gain.exponentialRampToValueAtTime(0.08, t0 + dt + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, t0 + dt + 0.16);
    osc.connect(gain).connect(audioCtx.destination);
    osc.start(t0 + dt);
    osc.stop(t0 + dt + 0.17);
  });
}

// ---- start --------------------------------------------------------------------

// Half-second ticks keep the "waiting" clocks within a moment of the truth.
setInterval(() => {
  if (client.state === 'in' && client.lobby.length) renderLobby();
}, 500);

(async function start() {
  try {
    showApp(await api('GET', '/api/me'));
  } catch (err) {
    showLogin(err.status === 401 ? '' : err.message);
  }
})();
