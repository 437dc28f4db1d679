/**
 * softphone.js: the operator's softphone setup in the console
 * (GET/PUT/DELETE /api/softphone, docs/api.md): what to enter in a SIP
 * softphone, whether one is registered now, and a form to set or remove the
 * softphone password (the console password is asked for again).
 */
import { el } from './ui.js';

/** How often the panel refreshes the registration state. */
const REFRESH_MS = 5000;

/**
 * Loads the operator's softphone setup with api (console.js's JSON helper)
 * into panel (a <section>); the panel stays hidden when the server has no
 * telephone side. Safe to call again to refresh.
 */
export async function loadSoftphone(api, panel) {
  if (!panel.dataset.polling) {
    // A softphone registers on its own schedule: refresh the state now and
    // then so the operator sees it arrive without reloading the page.
    panel.dataset.polling = '1';
    setInterval(() => { if (!panel.hidden) loadSoftphone(api, panel).catch(() => {}); }, REFRESH_MS);
  }
  let data;
  try {
    data = await api('GET', '/api/softphone');
  } catch (err) {
    if (err.status === 404) { panel.hidden = true; return; }
    throw err;
  }
  panel.hidden = false;
  render(api, panel, data);
}

function render(api, panel, data) {
  const regs = Array.isArray(data.registrations) ? data.registrations : [];
  const state = regs.length > 0
    ? `registered (${regs.map((r) => r.user_agent || r.source).join(', ')})`
    : (data.password_set ? 'not registered' : 'no softphone password yet');
  panel.querySelector('.softphone-state').textContent = state;
  panel.querySelector('.softphone-state').dataset.registered = String(regs.length > 0);
  const facts = panel.querySelector('.softphone-facts');
  facts.replaceChildren(
    el('dt', { text: 'User name' }), el('dd', { class: 'softphone-user', text: data.user }),
    el('dt', { text: 'Realm' }), el('dd', { text: data.realm }),
    el('dt', { text: 'Server' }), el('dd', {}, ...(data.servers || []).map((s) => el('code', { class: 'softphone-server', text: s }))),
  );
  panel.querySelector('.softphone-remove').hidden = !data.password_set;
  const form = panel.querySelector('form');
  if (!form.dataset.wired) {
    form.dataset.wired = '1';
    form.addEventListener('submit', (ev) => { ev.preventDefault(); save(api, panel, 'PUT'); });
    panel.querySelector('.softphone-remove').addEventListener('click', () => save(api, panel, 'DELETE'));
  }
}

async function save(api, panel, method) {
  const form = panel.querySelector('form');
  const note = panel.querySelector('.softphone-note');
  const body = { current_password: form.querySelector('[name=current_password]').value };
  if (method === 'PUT') body.password = form.querySelector('[name=softphone_password]').value;
  note.hidden = true;
  try {
    const data = await api(method, '/api/softphone', body);
    form.reset();
    note.textContent = method === 'PUT'
      ? 'Softphone password saved. Enter it in your softphone with the user name and server above.'
      : 'Softphone password removed: your softphone can no longer register.';
    note.classList.remove('error-text');
    render(api, panel, data);
  } catch (err) {
    note.textContent = err.message;
    note.classList.add('error-text');
  }
  note.hidden = false;
}
