/**
 * drop.js: dropping a file into the conference (docs/api.md "Files dropped
 * into a conference"). A member drags a file onto the page (or picks one
 * with the file input); it is uploaded with the member's page token (from
 * hosting or admitted: guests have no cookie) with a progress bar, then
 * converted on the server like a library upload; once ready this page
 * selects it with material_select, so everyone sees it and the uploader
 * presents. The operator can keep the file shown in their library.
 *
 * Guests may drop only while the room lets guests share documents; the
 * page says so instead of uploading. Errors are the server's messages,
 * shown through textContent.
 */
import { el } from './ui.js';

/** How often the conversion's state is asked for. */
const POLL_MS = 400;

export class DropZone {
  /**
   * @param {RoomClient} client the conference client (room.js)
   * @param {HTMLElement} root the shared-material section to add to
   * @param {{material?: MaterialView}} opts the material view, for its policy
   */
  constructor(client, root, opts = {}) {
    this.client = client;
    this.view = opts.material || null;
    this.token = '';        // this member's page token
    this.shown = null;      // the material shown: {id, room_file}
    this.busy = false;      // an upload or conversion is in progress
    this.input = el('input', { type: 'file', id: 'drop-file', class: 'drop-input',
      accept: '.pdf,.png,.jpg,.jpeg,.docx,.pptx,.xlsx,.odt,.odp,.ods,application/pdf,image/png,image/jpeg' });
    this.label = el('label', { for: 'drop-file', class: 'drop-label' }, 'Drop a file onto the page, or choose one: ');
    this.bar = el('progress', { class: 'drop-progress', max: '100', value: '0', hidden: true });
    this.note = el('p', { class: 'note drop-note', role: 'status', 'aria-live': 'polite', hidden: true });
    this.keep = el('button', { type: 'button', class: 'drop-keep', text: 'Keep in my library', hidden: true });
    this.box = el('div', { class: 'drop-zone', hidden: true }, this.label, this.input, this.bar, this.note, this.keep);
    root.append(this.box);

    this.input.addEventListener('change', () => {
      const f = this.input.files && this.input.files[0];
      if (f) this.upload(f);
      this.input.value = '';
    });
    this.keep.addEventListener('click', () => this.keepShown());
    document.addEventListener('dragover', (e) => {
      if (this.client.state !== 'in' || !e.dataTransfer) return;
      e.preventDefault(); // allows the drop
      e.dataTransfer.dropEffect = 'copy';
      this.box.classList.add('drop-over');
    });
    document.addEventListener('dragleave', () => this.box.classList.remove('drop-over'));
    document.addEventListener('drop', (e) => {
      this.box.classList.remove('drop-over');
      if (this.client.state !== 'in' || !e.dataTransfer) return;
      e.preventDefault(); // never let the browser open the file instead
      const f = e.dataTransfer.files && e.dataTransfer.files[0];
      if (f) this.upload(f);
    });
    client.addEventListener('message', (e) => this._onMessage(e.detail));
    client.addEventListener('change', (e) => { if (e.detail.what === 'state') this.render(); });
    this.render();
  }

  get isOperator() { return this.client.role === 'operator'; }

  /** Whether this member may drop now (the server checks again). */
  get mayDrop() {
    if (this.client.state !== 'in' || !this.token) return false;
    return this.isOperator || !this.view || this.view.guestsMaySelect;
  }

  say(text) {
    this.note.textContent = text;
    this.note.hidden = !text;
  }

  _onMessage(msg) {
    switch (msg.type) {
      case 'hosting':
      case 'admitted':
        this.token = msg.page_token || '';
        break;
      case 'material_selected':
        this.shown = msg.material || null;
        break;
      case 'material_closed':
        this.shown = null;
        break;
      case 'material_policy':
        break;
      default:
        return;
    }
    this.render();
  }

  render() {
    this.box.hidden = this.client.state !== 'in';
    this.input.disabled = this.busy || !this.mayDrop;
    this.keep.hidden = !(this.isOperator && this.shown && this.shown.room_file);
  }

  /** The server's message in a failed response, or a generic one. */
  static _error(xhr, fallback) {
    try {
      const body = JSON.parse(xhr.responseText);
      if (body && body.error && body.error.message) return body.error.message;
    } catch { /* not JSON */ }
    return fallback;
  }

  /** Uploads file, waits for its conversion, and shows it to everyone. */
  upload(file) {
    if (this.busy) { this.say('Wait until the file being dropped is shown.'); return; }
    if (!this.mayDrop) {
      this.say(this.client.state === 'in'
        ? 'Only the operator can share documents in this conference, so you cannot drop a file here.'
        : 'Join the conference to share a file.');
      return;
    }
    this.busy = true;
    this.render();
    this.say(`Uploading ${file.name}…`);
    this.bar.hidden = false;
    this.bar.max = 100;
    this.bar.value = 0;
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `/api/room/uploads?token=${encodeURIComponent(this.token)}&name=${encodeURIComponent(file.name)}`);
    xhr.upload.addEventListener('progress', (e) => {
      if (e.lengthComputable) this.bar.value = Math.round((e.loaded / e.total) * 100);
    });
    xhr.addEventListener('load', () => {
      if (xhr.status !== 202) { this._fail(DropZone._error(xhr, `The upload failed (${xhr.status}).`)); return; }
      this.bar.value = 100;
      let m;
      try { m = JSON.parse(xhr.responseText); } catch { this._fail('The server sent a bad answer.'); return; }
      this.say(`Converting ${m.name}…`);
      this._poll(m.id);
    });
    xhr.addEventListener('error', () => this._fail('The upload failed: the connection to the server was lost.'));
    xhr.send(file);
  }

  _fail(message) {
    this.busy = false;
    this.bar.hidden = true;
    this.say(message);
    this.render();
  }

  /** Follows the conversion of dropped file id until it is ready or failed. */
  _poll(id) {
    const xhr = new XMLHttpRequest();
    xhr.open('GET', `/api/room/uploads/${encodeURIComponent(id)}?token=${encodeURIComponent(this.token)}`);
    xhr.addEventListener('load', () => {
      if (xhr.status !== 200) { this._fail(DropZone._error(xhr, 'The file is gone.')); return; }
      let m;
      try { m = JSON.parse(xhr.responseText); } catch { this._fail('The server sent a bad answer.'); return; }
      if (m.state === 'failed') { this._fail(m.error || 'The file could not be converted.'); return; }
      if (m.state === 'ready') {
        this.busy = false;
        this.bar.hidden = true;
        this.say('');
        this.render();
        this.client.send({ type: 'material_select', material: m.id });
        return;
      }
      const p = m.progress;
      if (p && p.total > 0) {
        this.bar.max = p.total;
        this.bar.value = p.done;
        this.say(`Converting ${m.name}: page ${p.done} of ${p.total}`);
      }
      setTimeout(() => this._poll(id), POLL_MS);
    });
    xhr.addEventListener('error', () => this._fail('The connection to the server was lost.'));
    xhr.send();
  }

  /** Moves the dropped file shown into the operator's library. */
  keepShown() {
    if (!this.shown || !this.shown.room_file) return;
    const shown = this.shown;
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `/api/room/uploads/${encodeURIComponent(shown.id)}/keep?token=${encodeURIComponent(this.token)}`);
    xhr.addEventListener('load', () => {
      if (xhr.status !== 200) { this.say(DropZone._error(xhr, 'The file could not be kept.')); return; }
      shown.room_file = false;
      this.say(`${shown.name} is now in your library.`);
      this.render();
    });
    xhr.send();
  }
}
