/**
 * dial.js: "Call a phone" in the operator's console. The operator types a
 * number in any format; the server checks it against the dialplan's dial-out
 * policy and calls it into the open conference (docs/protocol.md: `dial`,
 * `dial_status`, `dial_cancel`). Each call is one row showing its state, with
 * Cancel while it rings and Hang up once answered. A refused number shows the
 * policy's reason; nothing was dialled.
 */
import { el } from './ui.js';

const WORDS = {
  calling: 'Calling…', ringing: 'Ringing…', answered: 'Answered: in the room',
  busy: 'Busy', no_answer: 'No answer', cancelled: 'Cancelled', failed: 'Failed',
  ended: 'Call ended', refused: 'Not allowed',
};
const LIVE = new Set(['calling', 'ringing', 'answered']);
const MAX_ROWS = 10;

/**
 * Wires the form (with its number input) and the list of calls to the
 * operator's RoomClient. Calls are kept in window.dialroomDial for tests.
 */
export function initDial(client, form, input, list) {
  const calls = new Map(); // row key → {id, number, state, status, reason, history}
  let refusals = 0;
  window.dialroomDial = { calls };

  const enable = () => {
    const live = client.state === 'in';
    for (const e of form.elements) e.disabled = !live;
  };

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const number = input.value.trim();
    if (!number) {
      input.focus();
      return;
    }
    if (!client.send({ type: 'dial', number })) {
      update({ number, state: 'refused', reason: 'Not connected to the conference.' });
      return;
    }
    input.value = '';
  });

  client.addEventListener('message', (e) => {
    if (e.detail.type === 'dial_status') update(e.detail);
  });
  client.addEventListener('change', (e) => {
    if (e.detail.what === 'state') enable();
  });
  list.addEventListener('click', (e) => {
    const button = e.target.closest('button.hangup');
    if (button) {
      button.disabled = true;
      client.send({ type: 'dial_cancel', id: button.dataset.dialId });
    }
  });
  enable();

  function update(msg) {
    const key = msg.id || `refused-${++refusals}`;
    const c = calls.get(key) || { id: msg.id || '', history: [] };
    calls.delete(key); // re-insert: newest change last
    Object.assign(c, { number: msg.number || '', state: msg.state, status: msg.status || 0, reason: msg.reason || '' });
    c.history.push(msg.state);
    calls.set(key, c);
    while (calls.size > MAX_ROWS) {
      const oldest = [...calls.entries()].find(([, v]) => !LIVE.has(v.state));
      if (!oldest) break;
      calls.delete(oldest[0]);
    }
    render();
  }

  function render() {
    const rows = [...calls.entries()].reverse().map(([key, c]) => {
      let detail = '';
      if (c.state === 'failed' || c.state === 'busy') detail = [c.status || '', c.reason].join(' ').trim();
      else if (c.state === 'refused' || c.state === 'ended') detail = c.reason;
      const li = el('li', { class: `dial dial-${c.state}`, 'data-dial-id': key, 'data-state': c.state },
        el('span', { class: 'dial-number', text: c.number }), ' ',
        el('span', { class: 'dial-state', text: WORDS[c.state] || c.state }),
        detail ? el('span', { class: 'dial-detail subtle', text: ` (${detail})` }) : null);
      if (c.id && LIVE.has(c.state)) {
        li.append(' ', el('button', { type: 'button', class: 'hangup danger', 'data-dial-id': c.id,
          text: c.state === 'answered' ? 'Hang up' : 'Cancel' }));
      }
      return li;
    });
    list.replaceChildren(...rows);
  }
}
