/**
 * room.js: the dialroom conference client shared by the guest page and the
 * operator console. It owns the signalling WebSocket (docs/protocol.md), the
 * RTCPeerConnection, the local microphone and camera, and the hidden <audio>
 * elements that play the other members. Pages listen for `change` events and
 * read the public fields; nothing here touches page layout.
 */

import { receivingMids, RemoteMedia, getMicrophone, getCamera } from './media.js';

const PING_MS = 20000;
/** How long an offer waits for the microphone before answering without it. */
const MIC_WAIT_MS = 1500;
const LATE = Symbol('late');

/** Calls fn every ms, from a worker where possible (see ticker.js); returns a stop function. */
function every(ms, fn) {
  try {
    const worker = new Worker(new URL('./ticker.js', import.meta.url));
    worker.onmessage = fn;
    worker.postMessage(ms);
    return () => worker.terminate();
  } catch {
    const timer = setInterval(fn, ms);
    return () => clearInterval(timer);
  }
}

/** States with no live session: a socket closing then is expected. */
const SETTLED = new Set(['declined', 'removed', 'ended', 'error', 'idle']);
/** Error codes after which the server closes the socket. */
const FATAL = new Set(['throttled', 'unauthorized']);

/**
 * A conference client. One instance per page; `join` (guest) or `host`
 * (operator) opens a new connection each time, so it also serves to retry
 * and to reconnect.
 *
 * Events: `change` (detail.what names what changed: state, members, lobby,
 * self, streams, talking, media, error), `join_request` (detail: request),
 * `message` (detail: every server message, after handling).
 */
export class RoomClient extends EventTarget {
  /** @param {{role?: 'guest'|'operator', audioContainer?: HTMLElement}} opts */
  constructor(opts = {}) {
    super();
    this.role = opts.role || 'guest';
    this._media = new RemoteMedia(opts.audioContainer || null, (what) => this._emit(what));
    /** idle, connecting, waiting, in, declined, removed, ended or error. */
    this.state = 'idle';
    this.self = null;       // own identification (once admitted / hosting)
    this.operator = null;   // the operator: {name} while waiting, identification once in
    this.members = [];      // identification objects of everyone else in the room
    this.lobby = [];        // waiting requests (operator only)
    this.talking = [];      // ids of members talking now (self included)
    this.lastError = null;  // {code, message, retryAfter?}
    this.message = '';      // server's message for declined, removed, ended
    this.endReason = '';    // 'left' or 'withdrawn' after our own leave()
    this.received = [];     // every server message type, in order
    this.pc = null;
    this.streams = this._media.streams; // member id → MediaStream
    this.iceServers = [];
    this.number = '';
    this.formatted = '';
    this.requestId = '';
    this.waitingSince = 0;  // Date.now() when `waiting` arrived
    this.micMuted = false;  // our own mute (kept across reconnects)
    this.micError = '';     // why the microphone is unavailable, if it is
    this.cameraOn = false;
    this.localStream = null;  // microphone
    this.videoTrack = null;   // camera track while on
    this.localVideo = null;   // MediaStream of the camera, for the preview tile
    this.ws = null;
    this._stopPing = () => {};
    this._lastErrorAt = 0;
    this._gen = 0;            // bumped on teardown: stale async work stops
    this._chain = Promise.resolve();
    this._sendMid = { audio: null, video: null };
    this._micPromise = null;
    this._cameraBusy = false;
    this._pendingCandidates = [];
    addEventListener('pagehide', () => {
      if (this.role === 'guest' && (this.state === 'waiting' || this.state === 'in')) this.send({ type: 'leave' });
    });
  }

  // ---- connection -------------------------------------------------------

  /** Guest: ask to join the conference of `number` (any formatting). */
  join(number, name = '') {
    this.role = 'guest';
    this.number = String(number).trim();
    const msg = { type: 'join', number: this.number };
    if (name && name.trim()) msg.name = [...name.trim()].slice(0, 64).join('');
    this._open(msg);
  }

  /** Operator: open, or reconnect to, the conference of one of our numbers. */
  host(number) {
    this.role = 'operator';
    this.number = String(number);
    this._open({ type: 'host', number: this.number });
  }

  /** Leave the conference, or withdraw a lobby request. */
  leave() {
    if (this.state !== 'waiting' && this.state !== 'in' && this.state !== 'connecting') return;
    const reason = this.state === 'in' ? 'left' : 'withdrawn';
    this.send({ type: 'leave' });
    this._finish('ended', reason, '');
  }

  /** Drop the connection without leaving (operator switching rooms, logging out). */
  close() {
    this._teardown();
    this._closeSocket();
    this._setState('idle');
  }

  /** Sends one message if the socket is open; returns whether it was sent. */
  send(msg) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(msg));
    return true;
  }

  _open(first) {
    this._teardown();
    this._closeSocket();
    this.self = null;
    this.operator = null;
    this.lastError = null;
    this.message = '';
    this.endReason = '';
    this.requestId = '';
    this.formatted = '';
    this._setState('connecting');
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(`${scheme}//${location.host}/ws`);
    this.ws = ws;
    ws.onopen = () => {
      if (ws !== this.ws) return;
      this.send(first);
      this._stopPing = every(PING_MS, () => this.send({ type: 'ping' }));
    };
    ws.onmessage = (e) => { if (ws === this.ws) this._onMessage(e.data); };
    ws.onclose = () => { if (ws === this.ws) this._onClose(); };
  }

  _closeSocket() {
    this._stopPing();
    const ws = this.ws;
    this.ws = null;
    if (ws && ws.readyState < WebSocket.CLOSING) ws.close(1000);
  }

  _onClose() {
    this._stopPing();
    this.ws = null;
    if (SETTLED.has(this.state)) return;
    // An error just before the close (e.g. "The server is shutting down.") is the reason.
    const said = this.lastError && Date.now() - this._lastErrorAt < 2000 ? this.lastError.message : '';
    this.lastError = { code: 'disconnected', message: said || 'The connection to the server was lost.' };
    this._teardown();
    this._setState('error');
  }

  /** Ends the session in a terminal state and releases media. */
  _finish(state, reason, message) {
    this.endReason = reason;
    this.message = message || '';
    this._teardown();
    this._closeSocket();
    this._setState(state);
  }

  // ---- server messages --------------------------------------------------

  _onMessage(data) {
    let msg;
    try { msg = JSON.parse(data); } catch { return; }
    if (!msg || typeof msg.type !== 'string') return;
    this.received.push(msg.type);
    const handler = this['_on_' + msg.type];
    if (typeof handler === 'function') handler.call(this, msg);
    this.dispatchEvent(new CustomEvent('message', { detail: msg }));
  }

  _on_hello(msg) {
    this.iceServers = Array.isArray(msg.ice_servers) ? msg.ice_servers : [];
    if (msg.v !== 1) console.warn('dialroom: unexpected protocol version', msg.v);
  }

  _on_pong() {}

  _on_hosting(msg) {
    this.number = msg.number || this.number;
    this.formatted = msg.formatted || '';
    this.self = { ...msg.self, talking: false };
    this.operator = this.self;
    this._setMembers(msg.members);
    this.lobby = Array.isArray(msg.lobby) ? msg.lobby.slice() : [];
    this._enterRoom();
  }

  _on_waiting(msg) {
    if (this.state !== 'connecting') return;
    this.requestId = msg.request || '';
    this.operator = { name: (msg.operator && msg.operator.name) || '' };
    this.waitingSince = Date.now();
    this._setState('waiting');
    this._startMic(); // ask for the microphone while waiting: no delay once admitted
  }

  _on_admitted(msg) {
    this.self = { ...msg.self, talking: false };
    this.operator = msg.operator ? { ...msg.operator } : this.operator;
    const list = Array.isArray(msg.members) ? msg.members.slice() : [];
    // `members` is "everyone else in the room"; add the operator if it was left out.
    if (msg.operator && !list.some((m) => m.id === msg.operator.id)) list.unshift(msg.operator);
    this._setMembers(list);
    this._enterRoom();
  }

  _enterRoom() {
    this._setState('in');
    this._startMic();
    if (this.micMuted) this.send({ type: 'self_mute', muted: true });
    this._emit('members');
  }

  _on_declined(msg) { this._finish('declined', '', msg.message || 'The operator declined your request.'); }
  _on_removed(msg) { this._finish('removed', '', msg.message || 'The operator removed you from the conference.'); }
  _on_ended(msg) { this._finish('ended', 'ended', msg.message || 'The conference has ended.'); }

  _on_join_request(msg) {
    const r = msg.request;
    if (!r || !r.id) return;
    this.lobby = this.lobby.filter((x) => x.id !== r.id).concat([r]);
    this._emit('lobby');
    this.dispatchEvent(new CustomEvent('join_request', { detail: r }));
  }

  _on_request_gone(msg) {
    this.lobby = this.lobby.filter((x) => x.id !== msg.request);
    this._emit('lobby');
  }

  _on_member_joined(msg) {
    if (this.state !== 'in') return;
    this._upsert(msg.member);
    this._media.update();
    this._emit('members');
  }

  _on_member_updated(msg) {
    if (this.state !== 'in') return;
    this._upsert(msg.member);
    this._emit('members');
  }

  _on_member_left(msg) {
    const id = msg.member;
    this.members = this.members.filter((m) => m.id !== id);
    this._media.dropMember(id);
    this._emit('members');
  }

  _on_talking(msg) {
    this.talking = Array.isArray(msg.members) ? msg.members.slice() : [];
    const on = new Set(this.talking);
    this.members = this.members.map((m) => ({ ...m, talking: on.has(m.id) }));
    if (this.self) this.self = { ...this.self, talking: on.has(this.self.id) };
    if (this.operator && this.operator.id) this.operator = { ...this.operator, talking: on.has(this.operator.id) };
    this._emit('talking');
  }

  _on_tracks(msg) {
    this._media.setOwners(msg.streams);
  }

  _on_offer(msg) {
    if (this.state !== 'in' || typeof msg.sdp !== 'string') return;
    const gen = this._gen;
    this._queue(() => this._answer(msg.sdp)).catch((err) => {
      if (gen === this._gen) this._mediaError('Could not set up audio', err); // else: session over, ignore
    });
  }

  _on_candidate(msg) {
    if (this.state !== 'in') return;
    this._queue(() => this._addCandidate(msg.candidate || null));
  }

  _on_error(msg) {
    const error = { code: msg.code || 'error', message: msg.message || 'Something went wrong.' };
    if (msg.retry_after) error.retryAfter = Number(msg.retry_after);
    // Before we are waiting or in, any error means the join or host failed.
    if (FATAL.has(error.code) || this.state === 'connecting' || (this.state === 'waiting' && error.code === 'gone')) {
      this.lastError = error;
      this._finish('error', '', '');
      return;
    }
    this.lastError = error;
    this._lastErrorAt = Date.now();
    this._emit('error');
  }

  // ---- members ----------------------------------------------------------

  _setMembers(list) {
    this.members = [];
    for (const m of Array.isArray(list) ? list : []) this._upsert(m);
  }

  /** Adds or replaces one identification object (self and operator included). */
  _upsert(m) {
    if (!m || !m.id) return;
    const member = { ...m, talking: this.talking.includes(m.id) };
    if (this.self && member.id === this.self.id) {
      this.self = member;
      if (this.role === 'operator') this.operator = member;
      return;
    }
    // A guest follows the operator, also across the operator's reconnects.
    if (this.role === 'guest' && (member.role === 'operator' || (this.operator && this.operator.id === member.id))) {
      this.operator = member;
    }
    const i = this.members.findIndex((x) => x.id === member.id);
    if (i >= 0) this.members[i] = member;
    else this.members.push(member);
  }

  /** Finds a member (or self) by id. */
  member(id) {
    if (this.self && this.self.id === id) return this.self;
    return this.members.find((m) => m.id === id) || null;
  }

  // ---- operator actions -------------------------------------------------

  admit(requestId) { return this.send({ type: 'admit', request: requestId }); }
  decline(requestId) { return this.send({ type: 'decline', request: requestId }); }
  mute(memberId, muted) { return this.send({ type: 'mute', member: memberId, muted: !!muted }); }
  remove(memberId) { return this.send({ type: 'remove', member: memberId }); }
  end() { return this.send({ type: 'end' }); }

  // ---- local media ------------------------------------------------------

  /** Starts (once per session) getting the microphone; resolves to the stream or null. */
  _startMic() {
    if (this._micPromise) return this._micPromise;
    const gen = this._gen;
    const raw = new URLSearchParams(location.search).get('testaudio') === '1';
    this._micPromise = getMicrophone(raw).then(({ stream, error }) => {
      if (gen !== this._gen) {
        if (stream) stream.getTracks().forEach((t) => t.stop());
        return null;
      }
      this.localStream = stream;
      if (stream) for (const t of stream.getAudioTracks()) t.enabled = !this.micMuted;
      this.micError = error;
      this._emit('media');
      return stream;
    });
    return this._micPromise;
  }

  /** Mutes or unmutes our microphone and tells the others. */
  setMicMuted(muted) {
    this.micMuted = !!muted;
    if (this.localStream) for (const t of this.localStream.getAudioTracks()) t.enabled = !this.micMuted;
    if (this.state === 'in') this.send({ type: 'self_mute', muted: this.micMuted });
    this._emit('self');
  }

  /** Turns the camera on or off; resolves to whether the camera is now on. */
  async setCamera(on) {
    if (this.state !== 'in' || this._cameraBusy) return this.cameraOn;
    this._cameraBusy = true;
    try {
      await this._switchCamera(on);
    } finally {
      this._cameraBusy = false;
    }
    return this.cameraOn;
  }

  async _switchCamera(on) {
    if (on && !this.videoTrack) {
      const gen = this._gen;
      const { track, error } = await getCamera();
      if (error) {
        this.lastError = { code: 'camera', message: error };
        this._emit('error');
        return;
      }
      if (gen !== this._gen || this.state !== 'in') { track.stop(); return; }
      this.videoTrack = track;
      this.localVideo = new MediaStream([track]);
      this.cameraOn = true;
      track.addEventListener('ended', () => { if (this.videoTrack === track) this.setCamera(false); });
      await this._attachSafely(track);
      this.send({ type: 'renegotiate' });
      this.send({ type: 'camera', on: true });
      this._emit('self');
    } else if (!on && this.videoTrack) {
      this.videoTrack.stop();
      this.videoTrack = null;
      this.localVideo = null;
      this.cameraOn = false;
      await this._attachSafely(null);
      this.send({ type: 'camera', on: false });
      this._emit('self');
    }
  }

  /** Puts the camera track (or nothing) on the video sender, in turn with offers. */
  async _attachSafely(track) {
    if (!this.pc) return; // the next offer picks the track up
    const gen = this._gen;
    try {
      await this._queue(() => this._attach('video', track));
    } catch (err) {
      if (gen === this._gen) this._mediaError('Could not switch the camera', err);
    }
  }

  // ---- peer connection --------------------------------------------------

  /** Runs async steps one after another (offers, candidates, track changes). */
  _queue(fn) {
    const gen = this._gen;
    const p = this._chain.then(() => (gen === this._gen ? fn() : undefined));
    this._chain = p.catch(() => {});
    return p;
  }

  _ensurePC() {
    if (this.pc) return this.pc;
    const pc = new RTCPeerConnection({ iceServers: this.iceServers });
    pc.onicecandidate = (e) => {
      if (pc !== this.pc) return;
      this.send({ type: 'candidate', candidate: e.candidate ? e.candidate.toJSON() : null });
    };
    pc.ontrack = (e) => { if (pc === this.pc) this._media.addTrack(e); };
    pc.onconnectionstatechange = () => { if (pc === this.pc) this._emit('media'); };
    this.pc = pc;
    return pc;
  }

  /** Applies the server's offer, puts our tracks on the right m-lines, answers. */
  async _answer(sdp) {
    const gen = this._gen;
    // The microphone normally is ready (asked for while waiting). If a
    // permission prompt is still open, answer anyway with a sending audio
    // line and put the track on it when it comes (no renegotiation needed).
    const micReady = this._startMic();
    const mic = await Promise.race([micReady, new Promise((r) => setTimeout(r, MIC_WAIT_MS, LATE))]);
    if (gen !== this._gen || this.state !== 'in') return;
    const pc = this._ensurePC();
    await pc.setRemoteDescription({ type: 'offer', sdp });
    this._sendMid.audio = receivingMids(sdp, 'audio')[0] ?? null;
    this._sendMid.video = receivingMids(sdp, 'video')[0] ?? null;
    if (mic === LATE) {
      await this._attach('audio', null, true);
      micReady.then((s) => { if (s) this._queue(() => this._attach('audio', s.getAudioTracks()[0] || null)); });
    } else {
      await this._attach('audio', mic ? mic.getAudioTracks()[0] || null : null);
    }
    if (this.videoTrack) await this._attach('video', this.videoTrack);
    const answer = await pc.createAnswer();
    await pc.setLocalDescription(answer);
    if (gen !== this._gen) return;
    this.send({ type: 'answer', sdp: pc.localDescription.sdp });
    const pending = this._pendingCandidates.splice(0);
    for (const c of pending) await this._addCandidate(c);
  }

  /**
   * Sends `track` (or nothing) on the transceiver the server receives `kind`
   * on; `send` makes it a sending line even without a track yet.
   */
  async _attach(kind, track, send = !!track) {
    const mid = this._sendMid[kind];
    if (!this.pc || mid == null) return false;
    const t = this.pc.getTransceivers().find((x) => x.mid === mid);
    if (!t || t.currentDirection === 'stopped') return false;
    if (t.sender.track !== track) await t.sender.replaceTrack(track);
    if (send && t.direction !== 'sendrecv') t.direction = 'sendrecv';
    return true;
  }

  async _addCandidate(c) {
    if (!this.pc || !this.pc.remoteDescription) { this._pendingCandidates.push(c); return; }
    try {
      if (c) await this.pc.addIceCandidate(c);
      else await this.pc.addIceCandidate();
    } catch (err) {
      console.warn('dialroom: ICE candidate rejected', err);
    }
  }

  /** True while the browser refuses to autoplay sound until the user interacts. */
  get audioBlocked() {
    return this._media.blocked;
  }

  /** Retries playback after autoplay was blocked (call from a user gesture). */
  resumeAudio() {
    this._media.resume();
  }

  _mediaError(what, err) {
    console.error('dialroom:', what, err);
    this.lastError = { code: 'media', message: `${what}: ${err && err.message ? err.message : err}` };
    this._emit('error');
  }

  /** Releases everything tied to the current session (not the socket). */
  _teardown() {
    this._gen++;
    this._chain = Promise.resolve();
    if (this.pc) { this.pc.close(); this.pc = null; }
    if (this.localStream) this.localStream.getTracks().forEach((t) => t.stop());
    if (this.videoTrack) this.videoTrack.stop();
    this.localStream = null;
    this.videoTrack = null;
    this.localVideo = null;
    this.cameraOn = false;
    this._micPromise = null;
    this._pendingCandidates = [];
    this._sendMid = { audio: null, video: null };
    this._media.clear();
    this.members = [];
    this.lobby = [];
    this.talking = [];
  }

  // ---- events -----------------------------------------------------------

  _setState(s) {
    this.state = s;
    this._emit('state');
  }

  _emit(what) {
    this.dispatchEvent(new CustomEvent('change', { detail: { what } }));
  }
}
