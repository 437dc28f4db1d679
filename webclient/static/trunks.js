/**
 * trunks.js: the carrier trunks' state (GET /api/trunks) for the console, so
 * the operator can see whether phones can reach them right now.
 */
import { el } from './ui.js';

const WORDS = {
  registered: 'connected', registering: 'connecting…', failing: 'not connected', disabled: 'not registering',
};

/**
 * Fetches the trunks with api (console.js's JSON helper) and fills list (a
 * <ul>); panel is hidden when the server has no trunks.
 */
export async function loadTrunks(api, panel, list) {
  const data = await api('GET', '/api/trunks');
  const trunks = (data && Array.isArray(data.trunks)) ? data.trunks : [];
  panel.hidden = trunks.length === 0;
  list.replaceChildren(...trunks.map((t) => {
    let detail = '';
    if (t.state === 'failing' && (t.last_status || t.last_reason)) {
      detail = ` (${[t.last_status || '', t.last_reason || ''].join(' ').trim()})`;
    }
    return el('li', { class: `trunk trunk-${t.state}`, 'data-trunk': t.name },
      el('span', { class: 'trunk-name', text: t.name }), ': ',
      el('span', { class: 'trunk-state', text: (WORDS[t.state] || t.state) + detail }));
  }));
}
