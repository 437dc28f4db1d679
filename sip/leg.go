package sip

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/dialroom/dialroom/bridge"
	"github.com/dialroom/dialroom/media"
	"github.com/pion/rtp"
)

// leg is the media of one phone call: its RTP endpoint, the jitter buffer
// and concealment of what the caller says, and the G.711 encoding of what
// the caller hears. It implements bridge.PhoneAudio for the room's mixer.
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
	dtmfPT int // -1: none negotiated

	// Receive side. jb is pushed by the endpoint's reader goroutine and popped
	// by whichever tick drives the leg; conceal and the buffers belong to the
	// tick.
	jb      *media.JitterBuffer
	conceal *media.Concealer
	jbuf    []byte
	missing int   // consecutive frames without audio
	arrived int64 // the arrival of the last frame ReadFrame played (Unix ns), 0 if concealed

	// tap, when set, also gets every audio packet (bridge.PhoneVoiceTap);
	// tapPCM and tapBuf belong to the receive goroutine.
	tap    atomic.Pointer[voiceTap]
	tapPCM [480]int16
	tapBuf [480]byte

	// dtmf belongs to the endpoint's reader goroutine.
	dtmf  media.DTMFReceiver
	onKey func(key byte) // on the reader goroutine; must not block

	sendMu  sync.Mutex
	ts      uint32
	started bool // first packet sent (marker bit, RFC 3551 §4.1)
	enc     [bridge.PhoneFrameSamples]byte
	frame   [bridge.PhoneFrameSamples]int16
	cueBuf  [bridge.PhoneFrameSamples]int16

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
	conceal, err := media.NewConcealer(media.G711Rate)
	if err != nil {
		return nil, err
	}
	l := &leg{codec: o.Codec, dtmfPT: o.DTMF, jb: jb, conceal: conceal, jbuf: make([]byte, media.DefaultJitterMaxPayload)}
	l.sending.Store(true)
	return l, nil
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
	case p.PayloadType == l.codec.PayloadType():
		l.jb.Push(p, arrival)
		if tap := l.tap.Load(); tap != nil {
			l.tapVoice(*tap, p, arrival)
		}
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

// tapVoice hands packet p to the tap, A-law transcoded to μ-law (through
// PCM, two table lookups a sample). It runs on the receive goroutine.
func (l *leg) tapVoice(fn voiceTap, p *rtp.Packet, arrival time.Time) {
	payload := p.Payload
	if l.codec == media.PCMA {
		if len(payload) > len(l.tapPCM) {
			return
		}
		n := media.PCMA.Decode(l.tapPCM[:], payload)
		payload = l.tapBuf[:media.PCMU.Encode(l.tapBuf[:], l.tapPCM[:n])]
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
	switch {
	case f.Status == media.FramePlay && f.PayloadType == l.codec.PayloadType():
		l.arrived = f.Arrived
		n := l.codec.Decode(dst, f.Payload)
		clear(dst[n:])
		l.conceal.Good(dst)
		l.missing = 0
		return true
	case l.missing < 3:
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
	if silent || len(pcm) < len(l.frame) {
		clear(l.frame[:])
	} else {
		copy(l.frame[:], pcm)
	}
	if p := l.cue.Load(); p != nil {
		n, err := p.src.Read(l.cueBuf[:])
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
	clear(l.frame[:])
	if p := l.prompt.Load(); p != nil {
		_, err := p.src.Read(l.frame[:])
		if err != nil && l.prompt.CompareAndSwap(p, nil) && p.done != nil {
			p.done()
		}
	}
	l.sendLocked()
}

// sendLocked encodes l.frame and sends it. The timestamp advances by one
// frame (160 at 8 kHz) whether or not the packet goes out, as RFC 3550
// §5.1 has it follow the sampling clock; sendMu must be held.
func (l *leg) sendLocked() {
	ts := l.ts
	l.ts += bridge.PhoneFrameSamples
	if !l.sending.Load() {
		return
	}
	n := l.codec.Encode(l.enc[:], l.frame[:])
	marker := !l.started // RFC 3551 §4.1: first packet of a talkspurt
	l.started = true
	_ = l.ep.WriteRTP(l.codec.PayloadType(), marker, ts, l.enc[:n])
}

// play replaces the prompt the leg's own tick plays; nil stops it.
func (l *leg) play(src media.Source, done func()) {
	if src == nil {
		l.prompt.Store(nil)
		return
	}
	l.prompt.Store(&playback{src: src, done: done})
}

// overlay mixes src over the room's audio until it ends.
func (l *leg) overlay(src media.Source) { l.cue.Store(&playback{src: src}) }

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
