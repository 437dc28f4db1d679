package sip

import (
	"sync/atomic"

	"github.com/dialroom/dialroom/media"
	"github.com/pion/rtp"
)

// maxRelayPayload bounds the payloads the relay transcodes: 1,500 bytes is
// a full Ethernet datagram, more than 180 ms of G.711, more than any phone
// packs into one packet. Larger ones are dropped, not truncated.
const maxRelayPayload = 1500

// legCodec is what one leg of an extension call agreed with us: its codec
// (a G.711 law, or G.722 when g722 is set) on audio payload type pt, and the
// payload type of telephone-event/8000 (RFC 4733 §7), -1 for none. Every
// one of these codecs runs on an 8000 Hz RTP clock (G.722 too, RFC 3551
// §4.5.2), so a packet's timestamp means the same on either leg.
type legCodec struct {
	law  media.G711
	g722 bool
	pt   uint8
	dtmf int
}

// legCodecOf is the codec an offer or answer settled on.
func legCodecOf(o offer) *legCodec {
	if o.Wide.name == wideG722 {
		return &legCodec{g722: true, pt: o.Wide.pt, dtmf: o.DTMF}
	}
	return &legCodec{law: o.Codec, pt: o.Codec.PayloadType(), dtmf: o.DTMF}
}

// format is the leg's codec as a format of an offer of ours (a re-INVITE
// without SDP is offered the codec in use only: a leg does not change codec
// mid-call on our account).
func (c *legCodec) format() offerFormat {
	if c.g722 {
		return offerFormat{wide: wideFormat{name: wideG722, pt: c.pt}}
	}
	return offerFormat{law: c.law}
}

// sameAudio reports whether audio passes from c to o untouched.
func (c *legCodec) sameAudio(o *legCodec) bool {
	return c.g722 == o.g722 && (c.g722 || c.law == o.law)
}

// relay forwards RTP between the two legs of an extension call, packet by
// packet as it arrives: no jitter buffer, no mixing, no clock, so it adds
// no delay of its own and the endpoints at either end do the de-jittering
// they would do on a direct call. Audio is passed through untouched when
// both legs use the same codec and transcoded when they differ: one G.711
// law to the other through media's tables, G.722 to and from G.711 through
// the half-band resamplers (relayWide; G.722 is offered to the softphones
// only when the caller's offer chose it, extension_fork.go, so a wideband
// caller and softphone pass their packets through). RFC 4733 telephone-events
// are forwarded with the receiving leg's payload type; other payload types
// (comfort noise, codecs nobody agreed) are dropped.
//
// Each direction runs on the reader goroutine of the endpoint the packets
// arrive at (media.EndpointConfig.OnPacket), so each direction's scratch
// buffers have one user and no lock. The call's goroutine sets the codecs
// (setCaller, setCallee) and turns the relay on and off; packets before it
// is on, or after it is stopped, are dropped.
type relay struct {
	caller, callee *media.Endpoint // set before the relay is on

	callerCodec, calleeCodec atomic.Pointer[legCodec]
	on                       atomic.Bool
	// callerHeld and calleeHeld drop what a leg sends while it holds the
	// call (the other hears the hold prompt instead, extension_tones.go).
	callerHeld, calleeHeld atomic.Bool

	up, down relayScratch // caller → callee, callee → caller

	// keysUp and keysDown carry keys a leg sent as SIP INFO (info.go) to
	// the other leg as RFC 4733 events: to the softphone, to the caller.
	// The direction's audio packets pace them (relayScratch's reader
	// goroutine calls Next as each arrives: an event replaces that packet's
	// audio, RFC 4733 §2.5.1.1, on the audio's own timeline).
	keysUp, keysDown *media.DTMFSender
}

// init makes the key senders; before the relay is shared.
func (r *relay) init() error {
	var err error
	cfg := media.DTMFSenderConfig{ClockRate: media.G711Rate} // every codec here runs at 8000 (legCodec)
	if r.keysUp, err = media.NewDTMFSender(cfg); err != nil {
		return err
	}
	r.keysDown, err = media.NewDTMFSender(cfg)
	return err
}

// sendKey queues a key for the softphone (toCallee) or the caller; it is
// dropped when that leg agreed no telephone-event. Any goroutine.
func (r *relay) sendKey(toCallee bool, key byte) {
	keys, to := r.keysDown, r.callerCodec.Load()
	if toCallee {
		keys, to = r.keysUp, r.calleeCodec.Load()
	}
	if to == nil || to.dtmf < 0 {
		return
	}
	_ = keys.Send(string(key)) // a full queue drops it, as a lost INFO would
}

type relayScratch struct {
	pcm   [maxRelayPayload]int16
	out   [maxRelayPayload]byte
	event [media.DTMFPayloadSize]byte
	// wide is the G.722 ↔ G.711 state of this direction, made on first use.
	// It is never reset: G.722 is backward-adaptive, so the decoder must run
	// on with the stream its sender's encoder keeps encoding (through a
	// re-INVITE that changes the other leg's law, say), and our encoder's
	// stream likewise for the decoder at the far end.
	wide *relayWide
}

// relayWide transcodes one direction between G.722 (16 kHz) and G.711
// (8 kHz) through the half-band resamplers the conference mix uses, so a
// narrowband leg hears no alias of the wideband one's 4-8 kHz.
type relayWide struct {
	dec   *media.G722Decoder
	enc   *media.G722Encoder
	down  *media.Downsampler2
	up    *media.Upsampler2
	pcm16 [2 * maxRelayPayload]int16
}

// transcode converts one packet's payload (at most maxRelayPayload bytes)
// from one leg's codec to the other's; nil when it cannot. Every codec here
// carries 8000 RTP ticks a second, so the packet keeps its duration and
// timestamp: G.711 has a byte per 8 kHz sample, G.722 a byte per two 16 kHz
// samples.
func (s *relayScratch) transcode(from, to *legCodec, payload []byte) []byte {
	if !from.g722 && !to.g722 {
		n := from.law.Decode(s.pcm[:], payload)
		return s.out[:to.law.Encode(s.out[:], s.pcm[:n])]
	}
	w := s.wideState()
	if from.g722 {
		n := w.dec.Decode(w.pcm16[:], payload)
		m := w.down.Downsample(s.pcm[:], w.pcm16[:n])
		return s.out[:to.law.Encode(s.out[:], s.pcm[:m])]
	}
	n := from.law.Decode(s.pcm[:], payload)
	m := w.up.Upsample(w.pcm16[:], s.pcm[:n])
	return s.out[:w.enc.Encode(s.out[:], w.pcm16[:m])]
}

// wideState returns the direction's G.722 state.
func (s *relayScratch) wideState() *relayWide {
	if s.wide == nil {
		s.wide = &relayWide{dec: media.NewG722Decoder(), enc: media.NewG722Encoder(),
			down: media.NewDownsampler2(), up: media.NewUpsampler2()}
	}
	return s.wide
}

// setCaller and setCallee record a leg's codec (from its offer or answer);
// the relay runs once both are known. Called on the call's goroutine.
func (r *relay) setCaller(o offer) {
	r.callerCodec.Store(legCodecOf(o))
	r.on.Store(r.calleeCodec.Load() != nil)
}

func (r *relay) setCallee(o offer) {
	r.calleeCodec.Store(legCodecOf(o))
	r.on.Store(r.callerCodec.Load() != nil)
}

// stop drops every packet from now on.
func (r *relay) stop() { r.on.Store(false) }

// fromCaller forwards a packet from the caller to the softphone; it runs on
// the caller endpoint's reader goroutine.
func (r *relay) fromCaller(p *rtp.Packet) {
	if r.on.Load() && !r.callerHeld.Load() {
		forwardRTP(p, r.callerCodec.Load(), r.calleeCodec.Load(), r.callee, &r.up, r.keysUp)
	}
}

// fromCallee forwards a packet from the softphone to the caller; it runs on
// the callee endpoint's reader goroutine.
func (r *relay) fromCallee(p *rtp.Packet) {
	if r.on.Load() && !r.calleeHeld.Load() {
		forwardRTP(p, r.calleeCodec.Load(), r.callerCodec.Load(), r.caller, &r.down, r.keysDown)
	}
}

// forwardRTP sends one packet that arrived on the leg agreed as from to the
// leg agreed as to, through dst. The RTP timestamp and marker are the
// sender's: the packet covers the same samples whichever law carries it,
// and a telephone-event's timestamp must stay that of its event (RFC 4733
// §2.3.4); dst gives it our SSRC and sequence number (RFC 3550 §7.1 lets a
// translator rewrite both), so a sender's restart reads as a new timeline
// rather than a gap. A send error (no remote yet) drops the packet.
//
// keys, when it has a key queued (SIP INFO from the other leg), replaces
// audio packets with its telephone-events for the key's duration.
func forwardRTP(p *rtp.Packet, from, to *legCodec, dst *media.Endpoint, buf *relayScratch, keys *media.DTMFSender) {
	switch {
	case from.dtmf >= 0 && int(p.PayloadType) == from.dtmf:
		if to.dtmf < 0 {
			return // the other leg did not agree telephone-event: nothing to send it as
		}
		_ = dst.WriteRTP(uint8(to.dtmf), p.Marker, p.Timestamp, p.Payload)
	case p.PayloadType == from.pt:
		if keys != nil && to.dtmf >= 0 && keys.Busy() {
			if n, marker, ts, ok := keys.Next(p.Timestamp, buf.event[:]); ok {
				_ = dst.WriteRTP(uint8(to.dtmf), marker, ts, buf.event[:n])
				return
			}
		}
		payload := p.Payload
		if !from.sameAudio(to) {
			if len(payload) > maxRelayPayload {
				return
			}
			payload = buf.transcode(from, to, payload)
		}
		_ = dst.WriteRTP(to.pt, p.Marker, p.Timestamp, payload)
	}
}
