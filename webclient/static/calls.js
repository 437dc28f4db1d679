/**
 * calls.js: the operator's recent call history (GET /api/calls), drawn as a
 * table. Guests appear masked, as the server stores them: an address with its
 * last part hidden, a phone number as 090-****-5678. Nothing here is kept in
 * the browser.
 */
import { el, formatNumber } from './ui.js';

const OUTCOME = {
  admitted: 'in the room', declined: 'declined', abandoned: 'left the lobby',
  timeout: 'not answered', ended: 'conference ended',
};

/** Seconds as "1 h 02 min", "3 min 05 s" or "12 s". */
function duration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s >= 3600) return `${Math.floor(s / 3600)} h ${String(Math.floor(s / 60) % 60).padStart(2, '0')} min`;
  if (s >= 60) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${s} s`;
}

/**
 * Fetches the last calls with api (console.js's JSON helper) and fills table
 * (a <tbody>); empty is shown when there are none. Errors are left to the
 * caller (a 401 means the session ended).
 */
export async function loadCalls(api, tbody, empty) {
  const data = await api('GET', '/api/calls?limit=20');
  const calls = (data && Array.isArray(data.calls)) ? data.calls : [];
  empty.hidden = calls.length > 0;
  tbody.replaceChildren(...calls.map((c) => el('tr', {},
    el('td', {}, new Date(c.started).toLocaleString()),
    el('td', {}, formatNumber(c.number)),
    el('td', {}, c.role === 'operator' ? 'you' : `${c.kind} guest`),
    el('td', {}, c.party || ''),
    el('td', {}, OUTCOME[c.outcome] || c.outcome),
    el('td', {}, c.admitted ? duration((Date.parse(c.ended) - Date.parse(c.admitted)) / 1000) : '—'),
  )));
}
