package sip

import (
	"github.com/dialroom/dialroom/bridge"
	"github.com/dialroom/dialroom/dialplan"
	"github.com/dialroom/dialroom/media"
)

// ringback plays the ringing tone to an extension call's caller. A caller
// who was sent our 183 with SDP (a softphone's early media, startEarly)
// plays what arrives on that media stream instead of ringing locally (RFC
// 3960 §3), so when that softphone stops (declined, failed) while others
// still ring, the caller would hear silence until one answers: dead air
// reads as a dropped call. Instead we send the ringback prompt
// (dialplan.PromptRingback) on the caller's stream, on the shared media
// clock, in the caller's codec, until a softphone answers or the call ends.
//
// The extension call's goroutine starts and stops it; tick runs on the
// clock's workers and owns everything below sub.
type ringback struct {
	sub *media.Subscription

	ep    *media.Endpoint
	codec legCodec
	src   media.Source
	up    *media.Upsampler2  // G.722 caller: the 8 kHz tone at 16 kHz
	enc   *media.G722Encoder // G.722 caller
	ts    uint32
	first bool
	pcm   [bridge.PhoneFrameSamples]int16
	pcm16 [bridge.WidebandFrameSamples]int16
	out   [bridge.PhoneFrameSamples]byte // a 20 ms frame: 160 bytes in G.711 and in G.722
}

// startRingback plays the ringback prompt to the caller (whose codec the
// relay knows from our 183's answer) until stopRingback. Call goroutine.
func (c *extensionCall) startRingback() {
	codec := c.relay.callerCodec.Load()
	if c.ringback != nil || codec == nil {
		return
	}
	src, _ := c.srv.prompts.source(c.srv.planPrompt(dialplan.PromptRingback), dialplan.PromptRingback, true)
	r := &ringback{ep: c.inEP, codec: *codec, src: src, first: true}
	if codec.g722 {
		r.up, r.enc = media.NewUpsampler2(), media.NewG722Encoder()
	}
	r.sub = c.srv.cfg.Clock.Subscribe(r.tick)
	c.ringback = r
	c.log.Debug("sip: ringback to the caller: the early media stopped")
}

// stopRingback stops the tone and waits for a tick in progress, so that
// nothing of it is sent once the relay runs again. Call goroutine.
func (c *extensionCall) stopRingback() {
	if c.ringback == nil {
		return
	}
	c.ringback.sub.Stop()
	<-c.ringback.sub.Done()
	c.ringback = nil
}

// tick sends one 20 ms frame of the tone. A new timeline starts with the
// marker bit (RFC 3551 §4.1); the endpoint keeps the stream's SSRC and
// sequence numbers going.
func (r *ringback) tick(media.Tick) {
	if _, err := r.src.Read(r.pcm[:]); err != nil {
		return // a loop never ends
	}
	var payload []byte
	if r.codec.g722 {
		n := r.up.Upsample(r.pcm16[:], r.pcm[:])
		payload = r.out[:r.enc.Encode(r.out[:], r.pcm16[:n])]
	} else {
		payload = r.out[:r.codec.law.Encode(r.out[:], r.pcm[:])]
	}
	_ = r.ep.WriteRTP(r.codec.pt, r.first, r.ts, payload)
	r.first = false
	r.ts += bridge.PhoneFrameSamples // 8000 Hz RTP clock for every codec here
}
