/**
 * material.js: the shared document in a conference (docs/protocol.md
 * "Shared materials"). A MaterialView lists the operator's library (guests
 * over the WebSocket, the console through /api/materials), selects a document, shows
 * the page the room shows, and turns pages while this member presents.
 *
 * Page images come from the URLs the server sent this member in
 * material_selected: they carry the member's page token, valid only while
 * the member is in the room and the document is shown, so guests need no
 * cookie and nobody else can fetch them. Text goes in through textContent.
 *
 * Over the page: the presenter's pointer (sent at most every POINTER_MS,
 * the latest position winning) and pen strokes (any member draws; points are
 * sent when the pen lifts). Positions are normalised to the page, 0..1 from
 * the left and top edges, so every member sees them at the same place.
 */
import { el } from './ui.js';

/** 25 pointer updates a second: smooth, and light on everyone's connection. */
const POINTER_MS = 40;
/** The server's limit (bridge maxPointsPerStroke): a longer stroke is split. */
const MAX_POINTS = 500;
/** Points closer than this (in page units) to the last one are skipped. */
const MIN_STEP = 0.002;
export const PEN_COLORS = ['#e53935', '#1e88e5', '#43a047', '#000000'];

/** Rounds a page coordinate to 4 decimals (0.1 px on a 1000 px page). */
const round4 = (v) => Math.round(Math.min(1, Math.max(0, v)) * 10000) / 10000;

export class MaterialView {
  /**
   * @param {RoomClient} client the conference client (room.js)
   * @param {HTMLElement} root the section to fill
   * @param {{api?: Function}} opts api: the console's JSON API function; with
   *   it the operator's picker lists the library through GET /api/materials
   *   (with thumbnails), without it (guests) over the WebSocket.
   */
  constructor(client, root, opts = {}) {
    this.client = client;
    this.api = opts.api || null;
    this.material = null;      // {id, name, pages, page_urls} while one is shown
    this.page = 0;             // the page the room shows
    this.presenter = '';       // member id of who turns the pages
    this.guestsMaySelect = true;
    this.library = [];         // the last material_list: [{id, name, pages}]
    this.loaded = 0;           // the page whose image finished loading
    this.strokes = [];         // strokes of the page shown: {id, member, color, points}
    this.pointer = null;       // the presenter's pointer: {member, x, y, visible}
    this.pen = false;          // whether pointer input draws
    this.color = PEN_COLORS[0];
    this._drawing = null;      // points of the stroke being drawn
    this._pointerTimer = 0;
    this._pointerNext = null;  // the latest position not yet sent
    this._build(root);
    client.addEventListener('message', (e) => this._onMessage(e.detail));
    client.addEventListener('change', (e) => {
      if (e.detail.what === 'state' && client.state !== 'in') this._clear();
      if (e.detail.what === 'state' || e.detail.what === 'members') this.render();
      if (e.detail.what === 'error' && client.lastError && /document|page|present|shar/i.test(client.lastError.message)) {
        this.say(client.lastError.message);
      }
    });
    this.render();
  }

  _build(root) {
    this.shareButton = el('button', { type: 'button', class: 'material-share', text: 'Share a document' });
    this.policy = el('input', { type: 'checkbox', id: 'material-guests', class: 'material-guests', checked: true });
    this.policyLabel = el('label', { for: 'material-guests', class: 'material-policy' }, this.policy, ' Guests may share documents');
    this.picker = el('ul', { class: 'material-picker', hidden: true });
    this.note = el('p', { class: 'note material-note', role: 'status', hidden: true });
    this.caption = el('p', { class: 'material-caption', 'aria-live': 'polite' });
    this.prev = el('button', { type: 'button', class: 'material-prev', text: '◀ Previous' });
    this.next = el('button', { type: 'button', class: 'material-next', text: 'Next ▶' });
    this.take = el('button', { type: 'button', class: 'material-take', text: 'Take over' });
    this.close = el('button', { type: 'button', class: 'material-close', text: 'Stop sharing' });
    this.img = el('img', { class: 'material-page', alt: '' });
    this.ink = el('canvas', { class: 'material-ink', 'aria-hidden': 'true' });
    this.dot = el('div', { class: 'material-pointer', hidden: true });
    this.stage = el('div', { class: 'material-stage' }, this.img, this.ink, this.dot);
    this.penButton = el('button', { type: 'button', class: 'material-pen', 'aria-pressed': 'false', text: 'Pen' });
    this.swatches = PEN_COLORS.map((c) => {
      const b = el('button', { type: 'button', class: 'material-color', 'data-color': c, 'aria-label': `Pen colour ${c}`, 'aria-pressed': String(c === this.color) });
      b.style.background = c;
      b.addEventListener('click', () => this.setColor(c));
      return b;
    });
    this.undoButton = el('button', { type: 'button', class: 'material-undo', text: 'Undo' });
    this.clearButton = el('button', { type: 'button', class: 'material-clear', text: 'Clear page' });
    this.viewer = el('div', { class: 'material-viewer', hidden: true },
      this.caption, el('div', { class: 'controls' }, this.prev, this.next, this.take, this.close),
      el('div', { class: 'controls material-tools' }, this.penButton, ...this.swatches, this.undoButton, this.clearButton),
      this.stage);
    root.replaceChildren(
      el('h3', { id: 'material-title', text: 'Shared document' }),
      el('div', { class: 'controls' }, this.shareButton, this.policyLabel),
      this.picker, this.note, this.viewer);

    this.shareButton.addEventListener('click', () => this.openPicker());
    this.policy.addEventListener('change', () => this.client.send({ type: 'material_policy', guests_may_select: this.policy.checked }));
    this.prev.addEventListener('click', () => this.turn(this.page - 1));
    this.next.addEventListener('click', () => this.turn(this.page + 1));
    this.take.addEventListener('click', () => this.client.send({ type: 'material_present' }));
    this.close.addEventListener('click', () => this.client.send({ type: 'material_close' }));
    this.img.addEventListener('load', () => {
      this.loaded = Number(this.img.dataset.page) || 0;
      this.stage.dataset.loaded = String(this.loaded);
      this.ink.width = this.img.naturalWidth;
      this.ink.height = this.img.naturalHeight;
      this.paint();
    });
    this.penButton.addEventListener('click', () => this.setPen(!this.pen));
    this.undoButton.addEventListener('click', () => this.client.send({ type: 'material_undo' }));
    this.clearButton.addEventListener('click', () => this.client.send({ type: 'material_clear' }));
    this.stage.addEventListener('pointermove', (e) => this._onMove(e));
    this.stage.addEventListener('pointerdown', (e) => this._onDown(e));
    this.stage.addEventListener('pointerup', () => this._onUp());
    this.stage.addEventListener('pointercancel', () => this._onUp());
    this.stage.addEventListener('pointerleave', () => { this._onUp(); this._hidePointer(); });
  }

  // ---- pointer and pen ----------------------------------------------------

  /** The page position of a pointer event, or null off the page. */
  _pos(e) {
    const r = this.img.getBoundingClientRect();
    if (!r.width || !r.height) return null;
    const x = (e.clientX - r.left) / r.width, y = (e.clientY - r.top) / r.height;
    if (x < 0 || x > 1 || y < 0 || y > 1) return null;
    return [round4(x), round4(y)];
  }

  _onMove(e) {
    const p = this._pos(e);
    if (this._drawing && p) {
      const last = this._drawing[this._drawing.length - 1];
      if (Math.hypot(p[0] - last[0], p[1] - last[1]) >= MIN_STEP) {
        this._drawing.push(p);
        if (this._drawing.length >= MAX_POINTS) { this._sendStroke(); this._drawing = [p]; }
        this.paint();
      }
    }
    if (this.presenting) {
      if (p) this.sendPointer(p[0], p[1]);
      else this._hidePointer();
    }
  }

  _onDown(e) {
    if (!this.pen || !this.material) return;
    const p = this._pos(e);
    if (!p) return;
    e.preventDefault();
    try { this.stage.setPointerCapture(e.pointerId); } catch { /* synthetic events have no capture */ }
    this._drawing = [p];
  }

  _onUp() {
    if (!this._drawing) return;
    this._sendStroke();
    this._drawing = null;
    this.paint();
  }

  _sendStroke() {
    if (this._drawing && this._drawing.length) this.draw(this.color, this._drawing);
  }

  /** Sends a stroke (points in page units) for the page shown. */
  draw(color, points) {
    return this.client.send({ type: 'material_stroke', color, points: points.map(([x, y]) => [round4(x), round4(y)]) });
  }

  /**
   * Sends the presenter's pointer: at once when POINTER_MS passed since the
   * last send, else the latest position when it has (never a queue).
   */
  sendPointer(x, y) {
    this._pointerNext = { x, y };
    if (this._pointerTimer) return;
    this._flushPointer();
  }

  _flushPointer() {
    const p = this._pointerNext;
    this._pointerNext = null;
    if (!p) { this._pointerTimer = 0; return; }
    this.client.send({ type: 'material_pointer', x: p.x, y: p.y });
    this._pointerTimer = setTimeout(() => this._flushPointer(), POINTER_MS);
  }

  _hidePointer() {
    if (!this.presenting) return;
    this._pointerNext = null;
    this.client.send({ type: 'material_pointer', visible: false });
  }

  setPen(on) {
    this.pen = !!on;
    this.penButton.setAttribute('aria-pressed', String(this.pen));
    this.stage.classList.toggle('pen', this.pen);
  }

  setColor(c) {
    if (!PEN_COLORS.includes(c)) return;
    this.color = c;
    for (const b of this.swatches) b.setAttribute('aria-pressed', String(b.dataset.color === c));
    this.setPen(true);
  }

  /** Draws the page's strokes and the one being drawn on the canvas. */
  paint() {
    const ctx = this.ink.getContext('2d');
    const w = this.ink.width, h = this.ink.height;
    ctx.clearRect(0, 0, w, h);
    if (!w || !h) return;
    ctx.lineCap = ctx.lineJoin = 'round';
    ctx.lineWidth = Math.max(2, w / 250);
    const line = (color, pts) => {
      if (!pts || !pts.length) return;
      ctx.strokeStyle = color;
      ctx.beginPath();
      ctx.moveTo(pts[0][0] * w, pts[0][1] * h);
      for (const [x, y] of pts.length === 1 ? [pts[0], pts[0]] : pts.slice(1)) ctx.lineTo(x * w, y * h);
      ctx.stroke();
    };
    for (const s of this.strokes) line(s.color, s.points);
    if (this._drawing) line(this.color, this._drawing);
  }

  _showPointer() {
    const p = this.pointer;
    this.dot.hidden = !(p && p.visible && this.material);
    if (this.dot.hidden) return;
    this.dot.style.left = `${p.x * 100}%`;
    this.dot.style.top = `${p.y * 100}%`;
  }

  /** True while this member turns the pages. */
  get presenting() {
    return !!this.material && !!this.client.self && this.presenter === this.client.self.id;
  }

  get isOperator() {
    return this.client.role === 'operator';
  }

  /** Asks the server for the operator's ready documents. */
  async openPicker() {
    this.picker.hidden = false;
    this.picker.replaceChildren(el('li', { class: 'subtle', text: 'Loading…' }));
    if (!this.api) {
      this.client.send({ type: 'material_list' });
      return;
    }
    try {
      const data = await this.api('GET', '/api/materials');
      this.library = (data.materials || []).filter((m) => m.state === 'ready' && m.pages > 0);
      this._renderPicker();
    } catch (err) {
      this.picker.hidden = true;
      this.say(err.message);
    }
  }

  /** Shows a document of the library to everyone. */
  select(id) {
    this.picker.hidden = true;
    this.client.send({ type: 'material_select', material: id });
  }

  /** Turns to page n (1-based) if this member presents. */
  turn(n) {
    if (!this.presenting || n < 1 || n > this.material.pages || n === this.page) return false;
    return this.client.send({ type: 'material_page', page: n });
  }

  say(text) {
    this.note.textContent = text;
    this.note.hidden = !text;
  }

  _onMessage(msg) {
    switch (msg.type) {
      case 'material_list':
        this.library = Array.isArray(msg.materials) ? msg.materials : [];
        this._renderPicker();
        break;
      case 'material_selected':
        this.material = msg.material;
        this.page = msg.page;
        this.presenter = msg.presenter || '';
        this.strokes = Array.isArray(msg.strokes) ? msg.strokes : [];
        this.pointer = null;
        this.say('');
        this.render();
        break;
      case 'material_page':
        if (!this.material) return;
        if (msg.page !== this.page) this._drawing = null;
        if ((msg.presenter || '') !== this.presenter) this.pointer = null; // the old presenter's pointer goes
        this.page = msg.page;
        this.presenter = msg.presenter || '';
        this.strokes = Array.isArray(msg.strokes) ? msg.strokes : [];
        this.render();
        break;
      case 'material_closed':
        this.material = null;
        this.strokes = [];
        this.pointer = null;
        this.render();
        break;
      case 'material_pointer':
        // May come before material_selected (it skips the queues): ignored then.
        if (!this.material || msg.member !== this.presenter) return;
        this.pointer = { member: msg.member, x: msg.x, y: msg.y, visible: !!msg.visible };
        this._showPointer();
        break;
      case 'material_stroke':
        if (!this.material || msg.page !== this.page || !msg.stroke) return;
        this.strokes.push(msg.stroke);
        this.paint();
        break;
      case 'material_unstroke':
        if (msg.page !== this.page) return;
        this.strokes = this.strokes.filter((s) => s.id !== msg.id);
        this.paint();
        break;
      case 'material_cleared':
        if (msg.page !== this.page) return;
        this.strokes = [];
        this.paint();
        break;
      case 'material_policy':
        this.guestsMaySelect = !!msg.guests_may_select;
        this.render();
        break;
    }
  }

  _renderPicker() {
    if (this.library.length === 0) {
      this.picker.replaceChildren(el('li', { class: 'subtle', text: 'The library has no documents ready to show.' }));
      return;
    }
    this.picker.replaceChildren(...this.library.map((m) => {
      const thumb = m.thumb ? el('img', { class: 'material-pick-thumb', src: m.thumb, alt: '' }) : null;
      const b = el('button', { type: 'button', class: 'material-pick', 'data-material-id': m.id },
        thumb, m.name, el('span', { class: 'subtle', text: ` (${m.pages} ${m.pages === 1 ? 'page' : 'pages'})` }));
      b.addEventListener('click', () => this.select(m.id));
      return el('li', {}, b);
    }));
  }

  _clear() {
    this.material = null;
    this.strokes = [];
    this.pointer = null;
    this._drawing = null;
    this.page = 0;
    this.presenter = '';
    this.guestsMaySelect = true;
    this.library = [];
    this.picker.hidden = true;
    this.say('');
  }

  render() {
    const mayShare = this.client.state === 'in' && (this.isOperator || this.guestsMaySelect);
    this.shareButton.hidden = !mayShare;
    if (!mayShare) this.picker.hidden = true;
    this.policyLabel.hidden = !this.isOperator || this.client.state !== 'in';
    this.policy.checked = this.guestsMaySelect;
    const m = this.material;
    this.viewer.hidden = !m;
    if (!m) {
      this.img.removeAttribute('src');
      this.img.dataset.page = '';
      this.stage.dataset.loaded = '';
      this.loaded = 0;
      return;
    }
    const url = m.page_urls[this.page - 1];
    if (this.img.dataset.url !== url) {
      this.img.dataset.url = url;
      this.img.dataset.page = String(this.page);
      this.img.alt = `${m.name}, page ${this.page}`;
      this.img.src = url;
    }
    this.paint();
    this._showPointer();
    const who = this.presenting ? 'you' : this._name(this.presenter);
    this.caption.textContent = `${m.name} · page ${this.page} of ${m.pages}` + (who ? ` · presented by ${who}` : '');
    this.prev.hidden = this.next.hidden = !this.presenting;
    this.prev.disabled = this.page <= 1;
    this.next.disabled = this.page >= m.pages;
    this.take.hidden = !this.isOperator || this.presenting;
    this.close.hidden = !(this.isOperator || this.presenting);
    this.clearButton.hidden = !(this.isOperator || this.presenting);
  }

  _name(id) {
    if (!id) return '';
    const m = this.client.member(id);
    return m ? (m.name || (m.role === 'operator' ? 'the operator' : 'a guest')) : '';
  }
}
