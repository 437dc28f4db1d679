/**
 * cards.js: business cards in a conference (docs/protocol.md "Business
 * cards"). A Cards panel fills in and shares the member's own card, lists the
 * cards shared in the room and downloads them as vCard 4.0 files (RFC 6350).
 *
 * The .vcf files are built here, in the browser, from the cards the server
 * sent over the WebSocket, which it sends only to members of the room: there
 * is no download URL a non-member could fetch, and guests need no cookie.
 * Every card text goes into the page through textContent, never as HTML.
 */
import { el, syncList } from './ui.js';

/** Same limits as the server (dialroom.Card); the server checks them again. */
export const MAX_FIELD = 128;
export const MAX_LOGO_BYTES = 32 * 1024;
const LOGO_TYPES = ['image/png', 'image/jpeg'];
const LOGO_URI = /^data:image\/(png|jpeg);base64,[A-Za-z0-9+/]+={0,2}$/;
const LINE_OCTETS = 75; // RFC 6350 §3.2: lines SHOULD NOT be longer than 75 octets
const utf8 = new TextEncoder();

/**
 * Escapes a TEXT value (RFC 6350 §3.4): backslash, comma and semicolon get a
 * backslash, and every line break becomes \n.
 */
export function escapeText(s) {
  return String(s ?? '')
    .replace(/\\/g, '\\\\')
    .replace(/,/g, '\\,')
    .replace(/;/g, '\\;')
    .replace(/\r\n|\r|\n/g, '\\n');
}

/**
 * Folds one content line (RFC 6350 §3.2): at most 75 octets of UTF-8 per
 * physical line, continuation lines starting with one space, never splitting
 * a character's bytes. Returns the physical lines joined by CRLF.
 */
export function foldLine(line) {
  const out = [];
  let cur = '';
  let octets = 0;
  let limit = LINE_OCTETS;
  for (const ch of line) {
    const n = utf8.encode(ch).length;
    if (octets + n > limit) {
      out.push(cur);
      cur = ' ';
      octets = 1;
    }
    cur += ch;
    octets += n;
  }
  out.push(cur);
  return out.join('\r\n');
}

/**
 * N (family;given;additional;prefixes;suffixes, RFC 6350 §6.2.2) from a
 * card that has one name field: the whole name as the family name. Guessing
 * a split ("the last word is the family name") is wrong for Japanese names
 * written family-first and for suffixes like "Jr."; the address book then
 * shows FN, which is exactly what the person typed.
 */
function structuredName(name) {
  return `${escapeText(String(name).trim())};;;;`;
}

/** A TEL property: a tel: URI for international numbers, free text otherwise (§6.4.1). */
function telLine(phone) {
  const p = String(phone).trim();
  if (/^\+[0-9 ().-]+$/.test(p)) return `TEL;VALUE=uri;TYPE=work:tel:${p.replace(/ +/g, '-')}`;
  return `TEL;TYPE=work:${escapeText(p)}`;
}

/**
 * Builds one vCard 4.0 from a card object of docs/protocol.md
 * ({name, org, title, email, phone, logo}): CRLF line ends (the last line
 * included), folded lines, escaped text, the logo as a data: URI PHOTO.
 */
export function vcard(card) {
  const lines = ['BEGIN:VCARD', 'VERSION:4.0', `FN:${escapeText(card.name)}`, `N:${structuredName(card.name)}`];
  if (card.org) lines.push(`ORG:${escapeText(card.org)}`);
  if (card.title) lines.push(`TITLE:${escapeText(card.title)}`);
  if (card.email) lines.push(`EMAIL;TYPE=work:${escapeText(card.email)}`);
  if (card.phone) lines.push(telLine(card.phone));
  if (card.logo && LOGO_URI.test(card.logo)) lines.push(`PHOTO:${card.logo}`); // a URI: not escaped
  lines.push('END:VCARD');
  return lines.map(foldLine).join('\r\n') + '\r\n';
}

/** Builds one .vcf holding several cards, one vCard after another. */
export function vcards(cards) {
  return cards.map(vcard).join('');
}

/** A file name from a person's name: letters, digits, dashes; "card" if none. */
export function fileName(name) {
  const base = String(name || '').normalize('NFKC').replace(/[^\p{L}\p{N}]+/gu, '-').replace(/^-+|-+$/g, '').slice(0, 60);
  return `${base || 'card'}.vcf`;
}

/** Starts a download of text as a vCard file. */
function download(name, text) {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/vcard;charset=utf-8' }));
  const a = el('a', { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

/** Reads a logo file as a data URI after the checks the server repeats. */
function readLogo(file) {
  return new Promise((resolve, reject) => {
    if (!LOGO_TYPES.includes(file.type)) {
      reject(new Error('The logo must be a PNG or JPEG image.'));
      return;
    }
    if (file.size > MAX_LOGO_BYTES) {
      reject(new Error(`The logo must be at most ${MAX_LOGO_BYTES / 1024} KiB.`));
      return;
    }
    const r = new FileReader();
    r.onload = () => resolve(String(r.result));
    r.onerror = () => reject(new Error('The logo could not be read.'));
    r.readAsDataURL(file);
  });
}

const FIELDS = [
  ['name', 'Name', 'text', 'name'],
  ['org', 'Organisation', 'text', 'organization'],
  ['title', 'Title', 'text', 'organization-title'],
  ['email', 'Email', 'email', 'email'],
  ['phone', 'Phone', 'tel', 'tel'],
];

/**
 * The Cards panel of one RoomClient, drawn into `root` (an empty section).
 * opts.api: the console's JSON API function (operator only) for the saved
 * profile card (GET/PUT /api/card); without it the panel has no profile
 * buttons. The shared cards are kept only while the client is in the room.
 */
export class Cards {
  constructor(client, root, opts = {}) {
    this.client = client;
    this.api = opts.api || null;
    this.cards = new Map(); // member id → card, in the order they were shared
    this.saved = null;      // the operator's profile card, if loaded
    this.logo = '';         // data URI of the logo in the form
    this._build(root);
    client.addEventListener('message', (e) => this._onMessage(e.detail));
    client.addEventListener('change', (e) => {
      if (e.detail.what === 'state' && client.state !== 'in') this._clear();
      if (e.detail.what === 'members' || e.detail.what === 'state') this.render();
    });
    this.render();
  }

  _build(root) {
    const id = (f) => `card-${f}`;
    this.form = el('form', { class: 'card-form', autocomplete: 'on', novalidate: true });
    this.inputs = {};
    for (const [f, label, type, ac] of FIELDS) {
      const input = el('input', { id: id(f), name: f, type, maxlength: MAX_FIELD, autocomplete: ac, required: f === 'name' });
      this.inputs[f] = input;
      this.form.append(el('label', { for: id(f) }, label, f === 'name' ? null : el('span', { class: 'optional', text: ' (optional)' })), input);
    }
    this.logoInput = el('input', { id: id('logo'), type: 'file', accept: LOGO_TYPES.join(',') });
    this.logoPreview = el('img', { class: 'card-logo', alt: 'Logo preview', hidden: true });
    this.clearLogo = el('button', { type: 'button', class: 'card-clear-logo', text: 'Remove logo', hidden: true });
    this.form.append(
      el('label', { for: id('logo') }, 'Logo', el('span', { class: 'optional', text: ` (optional, PNG or JPEG, at most ${MAX_LOGO_BYTES / 1024} KiB)` })),
      this.logoInput, this.logoPreview, this.clearLogo);
    this.shareButton = el('button', { type: 'submit', class: 'primary card-share', text: 'Share my card' });
    this.withdrawButton = el('button', { type: 'button', class: 'card-withdraw', text: 'Withdraw my card', hidden: true });
    const formButtons = el('div', { class: 'controls' }, this.shareButton);
    // Outside the folded form, so sharing the saved card is one click.
    const quick = el('div', { class: 'controls' }, this.withdrawButton);
    this.quick = quick;
    if (this.api) {
      this.saveButton = el('button', { type: 'button', class: 'card-save', text: 'Save to my profile' });
      this.shareSavedButton = el('button', { type: 'button', class: 'card-share-saved', text: 'Share my saved card', disabled: true });
      formButtons.append(this.saveButton);
      quick.prepend(this.shareSavedButton);
      this.saveButton.addEventListener('click', () => this.saveProfile());
      this.shareSavedButton.addEventListener('click', () => this.shareSaved());
    }
    this.form.append(formButtons);
    this.note = el('p', { class: 'note card-note', role: 'status', hidden: true });
    this.empty = el('p', { class: 'subtle cards-empty', text: 'No one has shared a card yet.' });
    this.list = el('ul', { class: 'cards-list', 'aria-live': 'polite' });
    this.allButton = el('button', { type: 'button', class: 'cards-download-all', text: 'Download all', hidden: true });
    root.replaceChildren(
      el('h3', { id: 'cards-title', text: 'Cards' }),
      quick,
      el('details', { class: 'card-editor' }, el('summary', { text: 'My card' }), this.form),
      this.note, this.empty, this.list, this.allButton);

    this.form.addEventListener('submit', (e) => { e.preventDefault(); this.share(this.formCard()); });
    this.withdrawButton.addEventListener('click', () => this.client.send({ type: 'card_withdraw' }));
    this.allButton.addEventListener('click', () => this.downloadAll());
    this.logoInput.addEventListener('change', () => this._pickLogo());
    this.clearLogo.addEventListener('click', () => this._setLogo(''));
    this.client.addEventListener('change', (e) => {
      if (e.detail.what === 'error' && this.client.lastError && /card|logo/i.test(this.client.lastError.message)) {
        this.say(this.client.lastError.message);
      }
    });
  }

  /** The card in the form. */
  formCard() {
    const c = {};
    for (const [f] of FIELDS) c[f] = this.inputs[f].value.trim();
    if (this.logo) c.logo = this.logo;
    return c;
  }

  /** Fills the form from a card. */
  fill(card) {
    for (const [f] of FIELDS) this.inputs[f].value = (card && card[f]) || '';
    this._setLogo((card && card.logo) || '');
  }

  /** Shares a card with the room; the server's card_shared confirms it. */
  share(card) {
    if (!card.name) {
      this.say('Your card needs a name.');
      this.inputs.name.focus();
      return false;
    }
    if (!this.client.send({ type: 'card_share', card })) {
      this.say('Not connected to the conference.');
      return false;
    }
    this.say('');
    return true;
  }

  /** Operator: loads the saved profile card into the form. */
  async loadProfile() {
    if (!this.api) return;
    try {
      const res = await this.api('GET', '/api/card');
      this.saved = (res && res.card) || null;
      if (this.saved) this.fill(this.saved);
    } catch (err) {
      this.say(err.message);
    }
    this.render();
  }

  /** Operator: saves the form as the profile card. */
  async saveProfile() {
    try {
      const res = await this.api('PUT', '/api/card', this.formCard());
      this.saved = res.card;
      this.fill(this.saved);
      this.say('Saved to your profile.');
    } catch (err) {
      this.say(err.message);
    }
    this.render();
  }

  /** Operator: shares the saved profile card (one click). */
  async shareSaved() {
    if (!this.saved) await this.loadProfile();
    if (this.saved) this.share(this.saved);
  }

  say(text) {
    this.note.textContent = text;
    this.note.hidden = !text;
  }

  /** The vCard text of one member's shared card, or '' if none. */
  vcardOf(memberId) {
    const c = this.cards.get(memberId);
    return c ? vcard(c) : '';
  }

  /** The .vcf text of every shared card. */
  allVcards() {
    return vcards([...this.cards.values()]);
  }

  downloadOne(memberId) {
    const c = this.cards.get(memberId);
    if (c) download(fileName(c.name), vcard(c));
  }

  downloadAll() {
    if (this.cards.size) download(`cards-${this.client.number || 'conference'}.vcf`, this.allVcards());
  }

  async _pickLogo() {
    const file = this.logoInput.files && this.logoInput.files[0];
    if (!file) return;
    try {
      this._setLogo(await readLogo(file));
      this.say('');
    } catch (err) {
      this.logoInput.value = '';
      this.say(err.message);
    }
  }

  _setLogo(uri) {
    this.logo = LOGO_URI.test(uri) ? uri : '';
    if (!this.logo) this.logoInput.value = '';
    this.logoPreview.hidden = !this.logo;
    this.clearLogo.hidden = !this.logo;
    if (this.logo) this.logoPreview.src = this.logo;
    else this.logoPreview.removeAttribute('src');
  }

  _onMessage(msg) {
    switch (msg.type) {
      case 'hosting':
      case 'admitted':
        this._clear(); // the room's cards follow these messages
        break;
      case 'card_shared':
        if (msg.member && msg.card) {
          this.cards.delete(msg.member); // a replaced card moves to the end
          this.cards.set(msg.member, msg.card);
          if (this.client.self && msg.member === this.client.self.id) this.say('Your card is shared with the room.');
        }
        break;
      case 'card_withdrawn':
      case 'member_left':
        this.cards.delete(msg.member);
        break;
      default:
        return;
    }
    this.render();
  }

  _clear() {
    this.cards.clear();
  }

  /** Who shared a card, as this page knows them. */
  _sharer(memberId) {
    const self = this.client.self;
    if (self && self.id === memberId) return 'you';
    const m = this.client.members.find((x) => x.id === memberId);
    return (m && m.name) || 'a member';
  }

  render() {
    const mine = this.client.self && this.cards.has(this.client.self.id);
    this.withdrawButton.hidden = !mine;
    this.quick.hidden = !mine && !this.shareSavedButton;
    if (this.shareSavedButton) this.shareSavedButton.disabled = !this.saved;
    this.empty.hidden = this.cards.size > 0;
    this.allButton.hidden = this.cards.size < 2;
    // Rows that stay are kept (syncList), so focus on a button survives updates.
    syncList(this.list, [...this.cards.keys()], 'data-member-id', (id) => id,
      (id) => this._createRow(id), (li, id) => this._updateRow(li, id));
  }

  _createRow(id) {
    const button = el('button', { type: 'button', class: 'card-download', text: 'Download vCard' });
    button.addEventListener('click', () => this.downloadOne(id));
    return el('li', { class: 'shared-card' },
      el('img', { class: 'card-logo', alt: '', hidden: true }),
      el('div', { class: 'who' }),
      el('div', { class: 'actions' }, button));
  }

  _updateRow(li, id) {
    const c = this.cards.get(id);
    const logo = li.querySelector('.card-logo');
    const hasLogo = !!(c.logo && LOGO_URI.test(c.logo));
    logo.hidden = !hasLogo;
    if (hasLogo) {
      if (logo.getAttribute('src') !== c.logo) logo.src = c.logo;
    } else logo.removeAttribute('src');
    const details = [c.title, c.org].filter(Boolean).join(', ');
    const contact = [c.email, c.phone].filter(Boolean).join(' · ');
    li.querySelector('.who').replaceChildren(...[
      el('span', { class: 'name', text: c.name }),
      details && el('span', { class: 'meta', text: details }),
      contact && el('span', { class: 'meta', text: contact }),
      el('span', { class: 'meta', text: `Shared by ${this._sharer(id)}` }),
    ].filter(Boolean));
  }
}
