/**
 * join.js: the guest's page. A form to ask to join a conference by its number,
 * clear status while waiting for the operator, and the conference view once
 * admitted. All conference logic lives in room.js.
 */
import { RoomClient } from './room.js';
import { Cards } from './cards.js';
import { MaterialView } from './material.js';
import { DropZone } from './drop.js';
import { el, digitsOf, formatNumber, formatDuration, renderMembers, syncVideos, setToggle } from './ui.js';

const $ = (id) => document.getElementById(id);
const form = $('join-form');
const fields = $('join-fields');
const numberInput = $('number');
const nameInput = $('name');
const hint = $('number-hint');
const statusBox = $('status');
const cancelButton = $('cancel');
const room = $('room');
const cameraButton = $('camera');
const DEFAULT_HINT = hint.textContent;
const TITLE = document.title;

const client = new RoomClient({ role: 'guest', audioContainer: $('remote-audio') });
window.dialroom = client;
window.dialroomCards = new Cards(client, $('cards'));
window.dialroomMaterial = new MaterialView(client, $('material'));
window.dialroomDrop = new DropZone(client, $('material'), { material: window.dialroomMaterial });

let retryAt = 0;       // Date.now() until which the server throttles us
let wasIn = false;     // whether we were in the room just before the current state
let lastState = client.state;
let note = '';         // a passing error shown in the room (camera refused, …)
let noteTimer = 0;

const prefill = new URLSearchParams(location.search).get('n');
if (prefill) numberInput.value = formatNumber(prefill.slice(0, 64));
updateHint();

numberInput.addEventListener('input', updateHint);
form.addEventListener('submit', (e) => {
  e.preventDefault();
  join();
});
cancelButton.addEventListener('click', () => client.leave());
$('leave').addEventListener('click', () => client.leave());
$('mic').addEventListener('click', () => client.setMicMuted(!client.micMuted));
cameraButton.addEventListener('click', async () => {
  cameraButton.disabled = true;
  try {
    await client.setCamera(!client.cameraOn);
  } finally {
    cameraButton.disabled = false;
    render();
  }
});
client.addEventListener('change', (e) => onChange(e.detail.what));
setInterval(tick, 500);
render();

/** Starts a join request with what the guest typed (the server normalises it). */
function join() {
  const typed = numberInput.value.trim();
  if (!typed) {
    showStatus('error', 'Enter the number you were given, like 060-1234-5678.');
    numberInput.focus();
    return;
  }
  if (Date.now() < retryAt) return;
  client.join(typed, nameInput.value);
}

/** Friendly feedback on the number while typing; never blocks submitting. */
function updateHint() {
  const digits = digitsOf(numberInput.value);
  if (digits === null) hint.textContent = 'Use digits only, like 060-1234-5678.';
  else if (digits.length === 11) hint.textContent = `Number: ${formatNumber(digits)}`;
  else hint.textContent = DEFAULT_HINT;
}

function onChange(what) {
  if (what === 'state') {
    const s = client.state;
    wasIn = lastState === 'in';
    if (s === 'error' && client.lastError && client.lastError.code === 'throttled') {
      retryAt = Date.now() + (client.lastError.retryAfter || 60) * 1000;
    }
    if (s === 'in' && lastState !== 'in') queueMicrotask(() => $('room-title').focus());
    lastState = s;
  }
  if (what === 'error' && client.state === 'in' && client.lastError) {
    note = client.lastError.message;
    clearTimeout(noteTimer);
    noteTimer = setTimeout(() => { note = ''; render(); }, 8000);
  }
  render();
}

/** Redraws everything from the client's state. */
function render() {
  const s = client.state;
  const busy = s === 'connecting' || s === 'waiting';
  form.hidden = s === 'in';
  fields.disabled = busy || Date.now() < retryAt;
  room.hidden = s !== 'in';
  cancelButton.hidden = s !== 'waiting';
  document.title = s === 'waiting' ? `Waiting… · ${TITLE}` : s === 'in' ? `In conference · ${TITLE}` : TITLE;
  renderStatus();
  if (s === 'in') renderRoom();
  else {
    $('members').replaceChildren();
    $('videos').replaceChildren();
    $('videos').hidden = true;
  }
}

/** Shows a status message: tone is info, error or success. */
function showStatus(tone, text, detail = '') {
  // The live region stays in the page (an empty one takes no space), so
  // screen readers announce each new message.
  statusBox.className = `status ${tone}`;
  if (!text) {
    statusBox.replaceChildren();
    return;
  }
  statusBox.replaceChildren(el('p', { class: 'status-main', text }));
  if (detail) statusBox.append(el('p', { class: 'status-detail', text: detail }));
}

function renderStatus() {
  const s = client.state;
  const err = client.lastError;
  switch (s) {
    case 'idle':
      showStatus('info', '');
      break;
    case 'connecting':
      showStatus('info', 'Connecting…');
      break;
    case 'waiting': {
      const who = (client.operator && client.operator.name) || 'the operator';
      showStatus('info', `Waiting for ${who} to let you in…`,
        `Waiting for ${formatDuration(Date.now() - client.waitingSince)}. Keep this page open.`);
      break;
    }
    case 'in':
      showStatus('info', '');
      break;
    case 'declined':
      showStatus('error', client.message || 'The operator declined your request.');
      break;
    case 'removed':
      showStatus('error', client.message || 'The operator removed you from the conference.');
      break;
    case 'ended':
      if (client.endReason === 'left') showStatus('info', 'You left the conference.');
      else if (client.endReason === 'withdrawn') showStatus('info', 'You cancelled your request.');
      else showStatus('info', client.message || 'The conference has ended.');
      break;
    case 'error':
      if (err && err.code === 'throttled') {
        const left = retryAt - Date.now();
        showStatus('error', err.message,
          left > 0 ? `You can try again in ${formatDuration(left)}.` : 'You can try again now.');
      } else if (err && err.code === 'disconnected') {
        showStatus('error', wasIn ? 'The connection to the conference was lost.' : err.message,
          wasIn ? 'Press Join to ask the operator to let you in again.'
            : 'Check your internet connection, then press Join to try again.');
      } else {
        showStatus('error', (err && err.message) || 'Something went wrong.');
      }
      break;
    default:
      showStatus('info', '');
  }
}

/** The conference view: controls, notes, video tiles and the member list. */
function renderRoom() {
  const op = client.operator;
  $('room-title').textContent = op && op.name ? `Conference with ${op.name}` : 'In the conference';
  $('room-number').textContent = `Number ${formatNumber(client.number)}`;
  setToggle($('mic'), client.micMuted, client.micMuted ? 'Unmute' : 'Mute');
  setToggle(cameraButton, client.cameraOn, client.cameraOn ? 'Turn camera off' : 'Turn camera on');
  renderMembers($('members'), client, false);
  syncVideos($('videos'), client);

  const notes = [];
  if (client.micError) notes.push(client.micError);
  if (client.self && client.self.muted && !client.micMuted) notes.push('The operator has muted you.');
  if (client.audioBlocked) notes.push('Your browser blocked the sound: click anywhere on the page to hear the others.');
  if (client.pc && client.pc.connectionState === 'failed') notes.push('The audio connection failed. Try leaving and joining again.');
  if (note) notes.push(note);
  const box = $('media-note');
  box.hidden = notes.length === 0;
  box.textContent = notes.join(' ');
}

/** Twice a second: the waiting clock and the throttle countdown. */
function tick() {
  const s = client.state;
  if (s === 'waiting' || (s === 'error' && retryAt)) {
    fields.disabled = s === 'waiting' || Date.now() < retryAt;
    renderStatus();
  }
}
