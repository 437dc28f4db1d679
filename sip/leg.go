package sip

import (
	"encoding/binary"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dialroom/dialroom/bridge"
	"github.com/dialroom/dialroom/media"
	"github.com/pion/rtp"
)

// leg is the media of one phone call: its RTP endpoint, the jitter buffer
// and concealment of what the caller says, and the G.711 encoding of what
// the caller hears (or, for a wideband call, G.722 or Opus at 16 kHz:
// widecodec.go). It implements bridge.PhoneAudio for the room's mixer, and
// bridge.PhoneWideband.
//
// Who drives it: until the caller is admitted (and again while a goodbye
// tone plays) the call subscribes the leg's tick to the shared media clock,
// which plays the current prompt; once admitted the room's mixer calls
// ReadFrame and WriteFrame on the same clock instead. Sends of both paths
// go through sendFrame under sendMu, so a hand-over tick that overlaps
// cannot interleave a packet's timestamp and sequence number.
type leg struct {
	ep     *media.Endpoint
	codec  media.G711
	wide   *wideCodec // nil: the call is G.711 (codec)
	pt     uint8      // the audio's payload type
	dtmfPT int        // -1: none negotiated

	// Receive side. jb is pushed by the endpoint's reader goroutine and popped
	// by whichever tick drives the leg; conceal and the buffers belong to the
	// tick.
	jb      *media.JitterBuffer
	conceal *media.Concealer
	jbuf    []byte
	missing int   // consecutive frames without audio
	arrived int64 // the arrival of the last frame ReadFrame played (Unix ns), 0 if concealed

	// tap, when set, also gets every audio packet (bridge.PhoneVoiceTap);
	// alaw, an A-law leg's conversion buffers for it (nil for μ-law: 1.4 KiB
	// not carried by every leg), belongs to the receive goroutine.
	tap  atomic.Pointer[voiceTap]
	alaw *alawToULaw
	// wtap is the wideband leg's tap (bridge.PhoneWidebandTap); rx, a
	// wideband leg's decoding as packets arrive (nil for G.711: its
	// buffers are not worth carrying on every leg). The receive
	// goroutine's.
	wtap atomic.Pointer[wideTap]
	rx   *wideRx

	// dtmf belongs to the endpoint's reader goroutine, and so does inband:
	// the key detector for calls without telephone-event (nil otherwise).
	dtmf   media.DTMFReceiver
	inband *inbandKeys
	onKey  func(key byte) // on the reader goroutine; must not block

	sendMu  sync.Mutex
	ts      uint32
	started bool    // first packet sent (marker bit, RFC 3551 §4.1)
	enc     []byte  // a G.711 frame, or up to an Opus packet (wideband)
	frame   []int16 // one frame at the leg's rate (l.samples())
	cueBuf  []int16 // as long as frame

	sending atomic.Bool // false while the caller holds the call (we answered recvonly/inactive)
	inRoom  atomic.Bool // the room's mixer drives the leg

	// prompt is played by the leg's own tick (instead of the room), cue is
	// mixed over the room's audio (confirmation beeps). Each is handed to the
	// tick through the pointer; the tick owns the source from then on.
	prompt atomic.Pointer[playback]
	cue    atomic.Pointer[playback]
}

// playback is a Source handed to the tick, and what to do when it ends.
type playback struct {
	src  media.Source
	done func() // called once on the tick goroutine when src ends; may be nil
}

func newLeg(o offer, jb *media.JitterBuffer) (*leg, error) {
	l := &leg{codec: o.Codec, pt: o.Codec.PayloadType(), dtmfPT: o.DTMF, jb: jb, jbuf: make([]byte, jb.MaxPayload()),
		enc: make([]byte, bridge.PhoneFrameSamples)}
	rate := media.G711Rate
	if o.Wide.name != "" {
		w, err := newWideEncoder(o.Wide)
		if err != nil {
			return nil, err
		}
		dec, err := newWideDecoder(o.Wide)
		if err != nil {
			return nil, err
		}
		l.rx = &wideRx{dec: dec}
		l.wide, l.pt, l.enc, rate = w, o.Wide.pt, make([]byte, media.OpusMaxPayload), 16000
	}
	if l.codec == media.PCMA {
		l.alaw = new(alawToULaw)
	}
	bufs := make([]int16, 2*l.samples()) // frame and cueBuf in one allocation
	l.frame, l.cueBuf = bufs[:l.samples():l.samples()], bufs[l.samples():]
	conceal, err := media.NewConcealer(rate)
	if err != nil {
		return nil, err
	}
	l.conceal = conceal
	if o.DTMF < 0 {
		if l.inband, err = newInbandKeys(rate); err != nil {
			return nil, err
		}
	}
	l.sending.Store(true)
	return l, nil
}

// format is the leg's codec as an offer format (a re-offer keeps it).
func (l *leg) format() offerFormat {
	if l.wide != nil {
		return offerFormat{wide: l.wide.format}
	}
	return offerFormat{law: l.codec}
}

// Wideband is bridge.PhoneWideband's: the call's codec carries 16 kHz.
func (l *leg) Wideband() bool { return l.wide != nil }

// samples is the leg's frame: 160 samples (8 kHz) or 320 (16 kHz).
func (l *leg) samples() int {
	if l.wide != nil {
		return bridge.WidebandFrameSamples
	}
	return bridge.PhoneFrameSamples
}

// ticksPerFrame is the RTP timestamp advance of one frame.
func (l *leg) ticksPerFrame() uint32 {
	if l.wide != nil {
		return l.wide.format.ticksPerFrame()
	}
	return bridge.PhoneFrameSamples
}

// onPacket is the endpoint's OnPacket: audio to the jitter buffer, RFC 4733
// telephone-events to the DTMF receiver (RFC 4733 §2.5.1: events share the
// stream's SSRC and sequence numbers; the jitter buffer conceals the gap).
func (l *leg) onPacket(p *rtp.Packet, arrival time.Time) {
	switch {
	case l.dtmfPT >= 0 && int(p.PayloadType) == l.dtmfPT:
		rep, ok, err := l.dtmf.Receive(p.Timestamp, p.Marker, p.Payload)
		if err != nil || !ok || !rep.Start {
			return
		}
		if key, ok := media.DTMFDigit(rep.Event); ok && l.onKey != nil {
			l.onKey(key)
		}
	case p.PayloadType == l.pt && l.rx != nil:
		l.wideband(p, arrival)
	case p.PayloadType == l.pt:
		l.jb.Push(p, arrival)
		if tap := l.tap.Load(); tap != nil {
			l.tapVoice(*tap, p, arrival)
		}
		if l.inband != nil {
			l.inband.g711(l.codec, p.Payload, l.onKey)
		}
	}
}

// wideband takes a wideband leg's audio packet: decoded once, here, in
// arrival order (a reordered packet is decoded late; G.722's ADPCM state
// hardly notices, Opus's not at all), the PCM pushed into the jitter buffer
// for the mix (20 ms packets: the packet time we answer) and handed to the
// voice tap for the browsers, with the packet itself when it is Opus (the
// browsers get it as it is). It runs on the receive goroutine.
func (l *leg) wideband(p *rtp.Packet, arrival time.Time) {
	rx := l.rx
	n := rx.dec.decodeAll(rx.pcm[:], p.Payload)
	if n == 0 {
		return // undecodable: the jitter buffer sees a loss and conceals it
	}
	if n <= bridge.WidebandFrameSamples {
		for i, v := range rx.pcm[:n] {
			binary.LittleEndian.PutUint16(rx.pcmBuf[2*i:], uint16(v))
		}
		rx.pkt.Header = p.Header
		rx.pkt.Payload = rx.pcmBuf[:2*n]
		l.jb.Push(&rx.pkt, arrival) // it copies the payload
	}
	if l.inband != nil {
		l.inband.feed(rx.pcm[:n], l.onKey)
	}
	if tap := l.wtap.Load(); tap != nil {
		var opus []byte
		if l.wide.format.name == wideOpus {
			opus = p.Payload
		}
		(*tap)(rx.pcm[:n], opus, p.SSRC, l.wide.format.ts16(p.Timestamp), arrival.UnixNano())
	}
}

// voiceTap is bridge.PhoneVoiceTap's callback.
type voiceTap = func(pcmu []byte, ssrc, ts uint32, arrived int64)

// TapVoice is bridge.PhoneVoiceTap's: from now on every audio packet also
// goes to fn as μ-law, on the receive goroutine; nil stops it.
func (l *leg) TapVoice(fn func(pcmu []byte, ssrc, ts uint32, arrived int64)) {
	if fn == nil {
		l.tap.Store(nil)
		return
	}
	l.tap.Store(&fn)
}

// wideTap is bridge.PhoneWidebandTap's callback.
type wideTap = func(pcm []int16, opus []byte, ssrc, ts uint32, arrived int64)

// TapWideband is bridge.PhoneWidebandTap's: from now on every audio packet
// of a wideband call also goes to fn decoded to 16 kHz, on the receive
// goroutine; nil stops it.
func (l *leg) TapWideband(fn func(pcm []int16, opus []byte, ssrc, ts uint32, arrived int64)) {
	if fn == nil {
		l.wtap.Store(nil)
		return
	}
	l.wtap.Store(&fn)
}

// alawToULaw holds an A-law leg's packet on its way to μ-law for the tap.
type alawToULaw struct {
	pcm [maxG711Payload]int16
	buf [maxG711Payload]byte
}

// tapVoice hands packet p to the tap, A-law transcoded to μ-law (through
// PCM, two table lookups a sample). It runs on the receive goroutine.
func (l *leg) tapVoice(fn voiceTap, p *rtp.Packet, arrival time.Time) {
	payload := p.Payload
	if a := l.alaw; a != nil {
		if len(payload) > len(a.pcm) {
			return
		}
		n := media.PCMA.Decode(a.pcm[:], payload)
		payload = a.buf[:media.PCMU.Encode(a.buf[:], a.pcm[:n])]
	}
	fn(payload, p.SSRC, p.Timestamp, arrival.UnixNano())
}

// ReadFrame is bridge.PhoneAudio's: the caller's last 20 ms, decoded, with
// losses concealed. After 60 ms without audio the concealment has faded out
// and the leg reports silence.
func (l *leg) ReadFrame(dst []int16) bool {
	// PopAt with the time of the tick: a caller whose packets arrive well
	// ahead of the tick is played a frame sooner (media.JitterBuffer.PopAt).
	f := l.jb.PopAt(l.jbuf, time.Now())
	l.arrived = 0
	if f.Status == media.FramePlay && f.PayloadType == l.pt {
		ok := true
		if l.wide != nil {
			// Decoded on arrival (wideband): 16 kHz PCM, little-endian.
			n := min(len(f.Payload)/2, len(dst))
			for i := range n {
				dst[i] = int16(binary.LittleEndian.Uint16(f.Payload[2*i:]))
			}
			clear(dst[n:])
			ok = n > 0
		} else {
			n := l.codec.Decode(dst, f.Payload)
			clear(dst[n:])
		}
		if ok {
			l.arrived = f.Arrived
			l.conceal.Good(dst)
			l.missing = 0
			return true
		}
	}
	if l.missing < 3 {
		// RFC 3550 loss, or the buffer ran dry: conceal (Concealer fades
		// to silence within 60 ms).
		l.missing++
		l.conceal.Conceal(dst)
		return true
	}
	return false
}

// FrameArrival is bridge.PhoneFrameArrival's: the kernel's arrival time of
// the packet the last ReadFrame played (0 when it concealed). Called on
// the media clock after ReadFrame.
func (l *leg) FrameArrival() int64 { return l.arrived }

// WriteFrame is bridge.PhoneAudio's: what the caller hears this tick. When
// nobody talks it sends G.711 silence rather than nothing, so the far end's
// RTP timeout and NAT bindings stay alive.
func (l *leg) WriteFrame(pcm []int16, silent bool) {
	if !l.inRoom.Load() {
		return
	}
	l.sendMu.Lock()
	defer l.sendMu.Unlock()
	frame := l.frame[:l.samples()]
	if silent || len(pcm) < len(frame) {
		clear(frame)
	} else {
		copy(frame, pcm)
	}
	if p := l.cue.Load(); p != nil {
		n, err := p.src.Read(l.cueBuf[:len(frame)])
		for i := range n {
			l.frame[i] = sat16(int32(l.frame[i]) + int32(l.cueBuf[i]))
		}
		if err != nil && l.cue.CompareAndSwap(p, nil) && p.done != nil {
			p.done()
		}
	}
	l.sendLocked()
}

// tick drives the leg while it is not in a room: it drains the jitter
// buffer (what the caller says in the lobby goes nowhere) and plays the
// prompt, or silence.
func (l *leg) tick(media.Tick) {
	if l.inRoom.Load() {
		return
	}
	l.jb.Pop(l.jbuf)
	l.sendMu.Lock()
	defer l.sendMu.Unlock()
	frame := l.frame[:l.samples()]
	clear(frame)
	if p := l.prompt.Load(); p != nil {
		_, err := p.src.Read(frame)
		if err != nil && l.prompt.CompareAndSwap(p, nil) && p.done != nil {
			p.done()
		}
	}
	l.sendLocked()
}

// sendLocked encodes l.frame and sends it. The timestamp advances by one
// frame (160 at 8 kHz, 960 for Opus's 48 kHz clock) whether or not the
// packet goes out, as RFC 3550 §5.1 has it follow the sampling clock;
// sendMu must be held.
func (l *leg) sendLocked() {
	ts := l.ts
	l.ts += l.ticksPerFrame()
	if !l.sending.Load() {
		return
	}
	var n int
	if l.wide != nil {
		if n = l.wide.encode(l.enc, l.frame[:bridge.WidebandFrameSamples]); n == 0 {
			return
		}
	} else {
		n = l.codec.Encode(l.enc, l.frame[:bridge.PhoneFrameSamples])
	}
	marker := !l.started // RFC 3551 §4.1: first packet of a talkspurt
	l.started = true
	_ = l.ep.WriteRTP(l.pt, marker, ts, l.enc[:n])
}

// play replaces the prompt the leg's own tick plays; nil stops it. Prompts
// and tones are 8 kHz: a wideband leg hears them upsampled.
func (l *leg) play(src media.Source, done func()) {
	if src == nil {
		l.prompt.Store(nil)
		return
	}
	l.prompt.Store(&playback{src: l.atRate(src), done: done})
}

// overlay mixes src over the room's audio until it ends.
func (l *leg) overlay(src media.Source) { l.cue.Store(&playback{src: l.atRate(src)}) }

// atRate returns the 8 kHz source src at the leg's rate.
func (l *leg) atRate(src media.Source) media.Source {
	if l.wide != nil {
		return newUpsampled(src)
	}
	return src
}

func sat16(v int32) int16 {
	return int16(max(-32768, min(32767, v)))
}

// Confirmation tones of keypad commands, mixed over the room's audio. The
// dialplan's prompts are played from prompts.go.

// countTone plays n short beeps (the *# member count).
func countTone(n int) media.Source {
	b, _ := media.NewBeeps(media.G711Rate, 800, -16, 120*time.Millisecond, 180*time.Millisecond, max(1, n))
	return b
}

// muteTone confirms *6: one low beep for muted, two high ones for unmuted.
func muteTone(muted bool) media.Source {
	if muted {
		b, _ := media.NewBeeps(media.G711Rate, 400, -16, 250*time.Millisecond, 50*time.Millisecond, 1)
		return b
	}
	b, _ := media.NewBeeps(media.G711Rate, 1000, -16, 100*time.Millisecond, 80*time.Millisecond, 2)
	return b
}
