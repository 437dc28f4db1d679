/**
 * media.js: WebRTC helpers for room.js: opening the microphone and camera,
 * reading the server's SDP offer, and the hidden <audio> players that play
 * every other member.
 */

/**
 * Returns the mids of the m-sections of `kind` ("audio" or "video") in an SDP
 * offer in which the offerer (the server) can receive media: these carry our
 * microphone and camera. The others carry other members to us.
 */
export function receivingMids(sdp, kind) {
  const mids = [];
  for (const section of String(sdp).split(/\r?\n(?=m=)/).slice(1)) {
    if (!section.startsWith(`m=${kind} `)) continue;
    if (/^m=\S+ 0 /.test(section) && !/\na=bundle-only/.test(section)) continue; // rejected
    const mid = /\na=mid:(\S+)/.exec(section);
    const dir = /\na=(sendrecv|sendonly|recvonly|inactive)\b/.exec(section);
    const d = dir ? dir[1] : 'sendrecv';
    if (mid && (d === 'sendrecv' || d === 'recvonly')) mids.push(mid[1]);
  }
  return mids;
}

/** Why a device failed, in words a person can act on. */
function deviceTrouble(what, err) {
  const name = err && err.name;
  if (name === 'NotAllowedError') return `The ${what} is blocked: allow it in the browser's site settings.`;
  if (name === 'NotFoundError') return `No ${what} was found.`;
  if (name === 'NotReadableError') return `The ${what} is in use by another program.`;
  return `The ${what} is unavailable (${name || 'error'}).`;
}

/**
 * Opens the microphone. `raw` turns echo cancellation, noise suppression and
 * automatic gain off (automated tests with tone files: ?testaudio=1); people
 * get all three. Resolves to {stream, error}; never rejects.
 */
export async function getMicrophone(raw) {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    return { stream: null, error: 'This page cannot use the microphone (it needs a secure https connection). You can still listen.' };
  }
  const audio = { echoCancellation: !raw, noiseSuppression: !raw, autoGainControl: !raw };
  try {
    return { stream: await navigator.mediaDevices.getUserMedia({ audio, video: false }), error: '' };
  } catch (err) {
    return { stream: null, error: `${deviceTrouble('microphone', err)} You can still listen.` };
  }
}

/** Opens the camera. Resolves to {track, error}; never rejects. */
export async function getCamera() {
  try {
    if (!navigator.mediaDevices) throw new DOMException('no media devices', 'NotSupportedError');
    const stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 }, height: { ideal: 480 } } });
    return { track: stream.getVideoTracks()[0], error: '' };
  } catch (err) {
    return { track: null, error: deviceTrouble('camera', err) };
  }
}

/**
 * The other members' media: maps each remote MediaStream to its member (from
 * the `tracks` message) and keeps one playing `<audio autoplay
 * data-member-id="…">` per member in a hidden container (#remote-audio,
 * created if the page has none).
 */
export class RemoteMedia {
  /** @param {HTMLElement|null} container @param {(what: string) => void} onChange */
  constructor(container, onChange) {
    this.streams = new Map(); // member id → MediaStream
    this.blocked = false;     // autoplay refused until the user interacts
    this._box = container;
    this._onChange = onChange;
    this._owner = new Map();  // MediaStream id → member id
    this._remote = new Map(); // MediaStream id → MediaStream
  }

  /** Records stream id → member id pairs from a `tracks` message. */
  setOwners(map) {
    for (const [sid, owner] of Object.entries(map || {})) this._owner.set(sid, String(owner));
    this.update();
  }

  /** Takes a track from RTCPeerConnection's `track` event. */
  addTrack(e) {
    const stream = e.streams[0] || new MediaStream([e.track]);
    this._remote.set(stream.id, stream);
    e.track.addEventListener('unmute', () => this._onChange('streams'));
    e.track.addEventListener('ended', () => this._onChange('streams'));
    this.update();
  }

  /** Forgets a member who left. */
  dropMember(id) {
    this.streams.delete(id);
    for (const [sid, owner] of this._owner) {
      if (owner === id) { this._owner.delete(sid); this._remote.delete(sid); }
    }
    this.update();
  }

  /** Forgets everything (the session ended). */
  clear() {
    this.streams.clear();
    this._owner.clear();
    this._remote.clear();
    this.update();
  }

  /** Resolves streams to members and makes the audio players match. */
  update() {
    for (const [sid, stream] of this._remote) {
      const owner = this._owner.get(sid);
      if (owner) this.streams.set(owner, stream);
    }
    const box = this._container();
    const have = new Map();
    for (const a of [...box.querySelectorAll('audio')]) {
      if (this.streams.has(a.dataset.memberId)) have.set(a.dataset.memberId, a);
      else {
        a.srcObject = null;
        a.remove();
      }
    }
    for (const [id, stream] of this.streams) {
      let a = have.get(id);
      if (!a) {
        a = document.createElement('audio');
        a.autoplay = true;
        a.dataset.memberId = id;
        box.append(a);
      }
      if (a.srcObject !== stream) {
        a.srcObject = stream;
        this._play(a);
      }
    }
    this._onChange('streams');
  }

  _container() {
    if (!this._box) this._box = document.getElementById('remote-audio');
    if (!this._box) {
      this._box = document.createElement('div');
      this._box.id = 'remote-audio';
      this._box.hidden = true;
      document.body.append(this._box);
    }
    return this._box;
  }

  _play(a) {
    const p = a.play();
    if (!p) return;
    p.catch((err) => {
      if (!err || err.name !== 'NotAllowedError' || this.blocked) return;
      this.blocked = true;
      this._onChange('media');
      const retry = () => this.resume();
      document.addEventListener('click', retry, { once: true });
      document.addEventListener('keydown', retry, { once: true });
    });
  }

  /** Retries playback after autoplay was blocked (call from a user gesture). */
  resume() {
    if (!this.blocked) return;
    this.blocked = false;
    for (const a of this._container().querySelectorAll('audio')) this._play(a);
    this._onChange('media');
  }
}
