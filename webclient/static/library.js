/**
 * library.js: the operator's document library in the console (docs/api.md
 * "Materials"). Uploads a file as the request body (XMLHttpRequest, for the
 * upload's own progress), then polls the list twice a second while anything
 * converts, drawing "page k of n" with a progress bar; lists each document
 * with the thumbnail of page 1, its page count, state or error, and Delete.
 *
 * Page images are served only to the owning operator's session, so plain
 * <img> URLs work here (the cookie goes along) and nowhere else.
 */
import { el, syncList } from './ui.js';

/** How often the list is refreshed while a document converts: 2 Hz. */
const POLL_MS = 500;

/** "1.2 MB" style size. */
export function formatBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(n < 10240 ? 1 : 0)} KB`;
  return `${(n / 1024 / 1024).toFixed(n < 10 * 1024 * 1024 ? 1 : 0)} MB`;
}

/** The words for a converting document's progress. */
export function progressText(p) {
  if (!p || p.queued) return 'Waiting to convert…';
  if (!p.total) return 'Converting…';
  return `Converting page ${p.done} of ${p.total}`;
}

/**
 * The Library panel, drawn into `root` (a section holding
 * #library-upload-button, #library-file, .library-status and .library-list).
 * opts.api is the console's JSON API function.
 */
export class Library {
  constructor(root, opts) {
    this.root = root;
    this.api = opts.api;
    this.materials = [];
    this.limits = { max_bytes: 0, max_pages: 0 };
    this.available = true;
    this.uploading = null; // {name, loaded, total} while a file uploads
    this.timer = 0;
    this.input = root.querySelector('#library-file');
    this.button = root.querySelector('#library-upload-button');
    this.note = root.querySelector('.library-note');
    this.status = root.querySelector('.library-status');
    this.bar = this.status.querySelector('progress');
    this.statusText = this.status.querySelector('.library-status-text');
    this.empty = root.querySelector('.library-empty');
    this.list = root.querySelector('.library-list');
    this.button.addEventListener('click', () => this.input.click());
    this.input.addEventListener('change', () => {
      const file = this.input.files && this.input.files[0];
      this.input.value = '';
      if (file) this.upload(file);
    });
  }

  /** Loads the list; keeps polling while anything converts. */
  async load() {
    clearTimeout(this.timer);
    try {
      const data = await this.api('GET', '/api/materials');
      this.materials = data.materials || [];
      this.limits = data.limits || this.limits;
      this.available = data.available !== false;
    } catch (err) {
      if (err.status === 401) return; // logged out: the console shows the login
      this.say(err.message);
    }
    this.render();
    if (this.materials.some((m) => m.state === 'converting')) {
      this.timer = setTimeout(() => this.load(), POLL_MS);
    }
  }

  /** Uploads one file; resolves when the server has accepted or refused it. */
  upload(file) {
    this.say('');
    if (this.limits.max_bytes && file.size > this.limits.max_bytes) {
      this.say(`“${file.name}” is larger than ${formatBytes(this.limits.max_bytes)}, the most this server accepts.`);
      return Promise.resolve(false);
    }
    if (file.size === 0) {
      this.say(`“${file.name}” is empty.`);
      return Promise.resolve(false);
    }
    this.uploading = { name: file.name, loaded: 0, total: file.size };
    this.render();
    return new Promise((resolve) => {
      const xhr = new XMLHttpRequest();
      xhr.open('POST', `/api/materials?name=${encodeURIComponent(file.name)}`);
      xhr.setRequestHeader('Accept', 'application/json');
      xhr.upload.addEventListener('progress', (e) => {
        if (!e.lengthComputable || !this.uploading) return;
        this.uploading.loaded = e.loaded;
        this.uploading.total = e.total;
        this.render();
      });
      const done = (ok, message) => {
        this.uploading = null;
        if (message) this.say(message);
        this.render();
        this.load();
        resolve(ok);
      };
      xhr.addEventListener('load', () => {
        let data = null;
        try { data = JSON.parse(xhr.responseText); } catch { data = null; }
        if (xhr.status === 202 && data && data.id) {
          // Shown at once, converting, before the next poll.
          this.materials = [data, ...this.materials.filter((m) => m.id !== data.id)];
          done(true, '');
        } else done(false, (data && data.error && data.error.message) || `The upload failed (HTTP ${xhr.status}).`);
      });
      xhr.addEventListener('error', () => done(false, 'The upload failed: cannot reach the server.'));
      xhr.send(file);
    });
  }

  /** Deletes a document after asking. */
  async remove(m) {
    if (!window.confirm(`Delete “${m.name}” from your library?`)) return;
    try {
      await this.api('DELETE', `/api/materials/${m.id}`);
      this.say('');
    } catch (err) {
      this.say(err.message);
    }
    this.load();
  }

  say(text) {
    this.note.textContent = text;
    this.note.hidden = !text;
  }

  render() {
    this.button.disabled = !this.available || !!this.uploading;
    this.button.title = this.available ? '' : 'Document conversion is not available on this server.';
    const up = this.uploading;
    this.status.hidden = !up;
    if (up) {
      this.bar.max = up.total || 1;
      this.bar.value = up.loaded;
      const pct = up.total ? Math.floor((100 * up.loaded) / up.total) : 0;
      this.statusText.textContent = `Uploading “${up.name}”: ${pct}%`;
    }
    if (!this.available && !this.note.textContent) {
      this.say('Document conversion is not available on this server (poppler-utils is not installed).');
    }
    this.empty.hidden = this.materials.length > 0;
    syncList(this.list, this.materials, 'data-material-id', (m) => m.id,
      (m) => this._createRow(m), (li, m) => this._updateRow(li, m));
  }

  _createRow(m) {
    const del = el('button', { type: 'button', class: 'material-delete danger', text: 'Delete' });
    del.addEventListener('click', () => {
      const cur = this.materials.find((x) => x.id === m.id);
      if (cur) this.remove(cur);
    });
    return el('li', { class: 'material' },
      el('img', { class: 'material-thumb', alt: '', hidden: true }),
      el('div', { class: 'who' },
        el('span', { class: 'name' }),
        el('span', { class: 'meta' },
          el('span', { class: 'badge material-state' }),
          el('span', { class: 'material-pages' }),
          el('span', { class: 'material-size' })),
        el('div', { class: 'material-progress', hidden: true },
          el('progress', { max: '1', value: '0' }),
          el('span', { class: 'material-progress-text' })),
        el('span', { class: 'material-error error-text', role: 'alert', hidden: true })),
      el('div', { class: 'actions' }, del));
  }

  _updateRow(li, m) {
    li.dataset.state = m.state;
    li.querySelector('.name').textContent = m.name;
    li.querySelector('.material-delete').setAttribute('aria-label', `Delete ${m.name}`);
    const state = li.querySelector('.material-state');
    state.textContent = { converting: 'Converting', ready: 'Ready', failed: 'Failed' }[m.state] || m.state;
    state.dataset.state = m.state;
    li.querySelector('.material-pages').textContent = m.state === 'ready' ? `${m.pages} ${m.pages === 1 ? 'page' : 'pages'}` : '';
    li.querySelector('.material-size').textContent = formatBytes(m.bytes || 0);
    const thumb = li.querySelector('.material-thumb');
    thumb.hidden = !m.thumb;
    if (m.thumb && thumb.getAttribute('src') !== m.thumb) {
      thumb.src = m.thumb;
      thumb.alt = `Page 1 of ${m.name}`;
    }
    const prog = li.querySelector('.material-progress');
    prog.hidden = m.state !== 'converting';
    if (m.state === 'converting') {
      const p = m.progress || { queued: true, done: 0, total: 0 };
      const bar = prog.querySelector('progress');
      if (p.total) {
        bar.max = p.total;
        bar.value = p.done;
      } else bar.removeAttribute('value'); // indeterminate while waiting
      prog.querySelector('.material-progress-text').textContent = progressText(p);
    }
    const error = li.querySelector('.material-error');
    error.hidden = m.state !== 'failed';
    error.textContent = m.state === 'failed' ? (m.error || 'The document could not be converted.') : '';
  }
}
