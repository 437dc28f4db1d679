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

// legCodec is what one leg of an extension call agreed with us: its G.711
// law and the payload type of telephone-event/8000 (RFC 4733 §7), -1 for
// none.
type legCodec struct {
	law  media.G711
	dtmf int
}

// relay forwards RTP between the two legs of an extension call, packet by
// packet as it arrives: no jitter buffer, no mixing, no clock, so it adds
// no delay of its own and the endpoints at either end do the de-jittering
// they would do on a direct call. Audio is passed through untouched when
// both legs use the same law and transcoded (decode one law, encode the
// other, media's G.711 tables) when they differ. RFC 4733 telephone-events
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

	up, down relayScratch // caller → callee, callee → caller
}

type relayScratch struct {
	pcm [maxRelayPayload]int16
	out [maxRelayPayload]byte
}

// setCaller and setCallee record a leg's codec (from its offer or answer);
// the relay runs once both are known. Called on the call's goroutine.
func (r *relay) setCaller(o offer) {
	r.callerCodec.Store(&legCodec{law: o.Codec, dtmf: o.DTMF})
	r.on.Store(r.calleeCodec.Load() != nil)
}

func (r *relay) setCallee(o offer) {
	r.calleeCodec.Store(&legCodec{law: o.Codec, dtmf: o.DTMF})
	r.on.Store(r.callerCodec.Load() != nil)
}

// stop drops every packet from now on.
func (r *relay) stop() { r.on.Store(false) }

// fromCaller forwards a packet from the caller to the softphone; it runs on
// the caller endpoint's reader goroutine.
func (r *relay) fromCaller(p *rtp.Packet) {
	if r.on.Load() {
		forwardRTP(p, r.callerCodec.Load(), r.calleeCodec.Load(), r.callee, &r.up)
	}
}

// fromCallee forwards a packet from the softphone to the caller; it runs on
// the callee endpoint's reader goroutine.
func (r *relay) fromCallee(p *rtp.Packet) {
	if r.on.Load() {
		forwardRTP(p, r.calleeCodec.Load(), r.callerCodec.Load(), r.caller, &r.down)
	}
}

// forwardRTP sends one packet that arrived on the leg agreed as from to the
// leg agreed as to, through dst. The RTP timestamp and marker are the
// sender's: the packet covers the same samples whichever law carries it,
// and a telephone-event's timestamp must stay that of its event (RFC 4733
// §2.3.4); dst gives it our SSRC and sequence number (RFC 3550 §7.1 lets a
// translator rewrite both), so a sender's restart reads as a new timeline
// rather than a gap. A send error (no remote yet) drops the packet.
func forwardRTP(p *rtp.Packet, from, to *legCodec, dst *media.Endpoint, buf *relayScratch) {
	switch {
	case from.dtmf >= 0 && int(p.PayloadType) == from.dtmf:
		if to.dtmf < 0 {
			return // the other leg did not agree telephone-event: nothing to send it as
		}
		_ = dst.WriteRTP(uint8(to.dtmf), p.Marker, p.Timestamp, p.Payload)
	case p.PayloadType == from.law.PayloadType():
		payload := p.Payload
		if from.law != to.law {
			if len(payload) > maxRelayPayload {
				return
			}
			n := from.law.Decode(buf.pcm[:], payload)
			payload = buf.out[:to.law.Encode(buf.out[:], buf.pcm[:n])]
		}
		_ = dst.WriteRTP(to.law.PayloadType(), p.Marker, p.Timestamp, payload)
	}
}
