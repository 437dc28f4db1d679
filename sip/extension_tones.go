package sip

import (
	"github.com/dialroom/dialroom/bridge"
	"github.com/dialroom/dialroom/dialplan"
	"github.com/dialroom/dialroom/media"
)

// Tones an extension (or outside) call's parties hear from dialroom itself
// while the relay has nothing for them, each a looped prompt sent on that
// party's stream, in its codec, from the shared media clock:
//
//   - ringback (dialplan.PromptRingback): a caller sent our 183 with SDP (a
//     softphone's early media, startEarly) plays that stream instead of
//     ringing locally (RFC 3960 §3), so when that softphone stops (declined,
//     failed) while others still ring, the caller would hear silence until
//     one answers: dead air reads as a dropped call.
//   - hold (dialplan.PromptHold): one party put the call on hold (its
//     re-INVITE offers sendonly or inactive, RFC 3264 §8.4): the other
//     hears it, like a PBX's music on hold, and what the holding phone sends
//     is not relayed meanwhile. Either side may hold: the operator's desk
//     phone is the answering leg of an extension call and the calling leg
//     of an outside call.
//
// The call's goroutine starts and stops them.

// tonePlayer plays one looped prompt to the caller. tick runs on the
// clock's workers and owns everything below sub.
type tonePlayer struct {
	sub *media.Subscription

	ep    *media.Endpoint
	codec legCodec
	src   media.Source
	up    *media.Upsampler2  // G.722 caller: the 8 kHz prompt at 16 kHz
	enc   *media.G722Encoder // G.722 caller
	ts    uint32
	first bool
	pcm   [bridge.PhoneFrameSamples]int16
	pcm16 [bridge.WidebandFrameSamples]int16
	out   [bridge.PhoneFrameSamples]byte // a 20 ms frame: 160 bytes in G.711 and in G.722
}

// playToCaller starts prompt (looped) on the caller's stream, in the codec
// the relay knows for it; nil when the caller's codec is not known yet.
// Call goroutine.
func (c *extensionCall) playToCaller(prompt string) *tonePlayer {
	return c.playTo(c.inEP, c.relay.callerCodec.Load(), prompt)
}

// playTo starts prompt (looped) on ep's stream in codec; nil when codec
// is not known yet. Call goroutine.
func (c *extensionCall) playTo(ep *media.Endpoint, codec *legCodec, prompt string) *tonePlayer {
	if codec == nil {
		return nil
	}
	src, _ := c.srv.prompts.source(c.srv.planPrompt(prompt), prompt, true)
	p := &tonePlayer{ep: ep, codec: *codec, src: src, first: true}
	if codec.g722 {
		p.up, p.enc = media.NewUpsampler2(), media.NewG722Encoder()
	}
	p.sub = c.srv.cfg.Clock.Subscribe(p.tick)
	c.log.Debug("sip: playing to the caller", "prompt", prompt)
	return p
}

// stop ends the tone and waits for a tick in progress, so that nothing of
// it is sent once the relay runs again. Safe on nil. Call goroutine.
func (p *tonePlayer) stop() {
	if p == nil {
		return
	}
	p.sub.Stop()
	<-p.sub.Done()
}

// startRingback plays the ringing tone until stopRingback. Call goroutine.
func (c *extensionCall) startRingback() {
	if c.ringback == nil {
		c.ringback = c.playToCaller(dialplan.PromptRingback)
	}
}

// stopRingback stops the ringing tone. Call goroutine.
func (c *extensionCall) stopRingback() {
	c.ringback.stop()
	c.ringback = nil
}

// setCalleeHeld follows the answering leg's hold and resume: the caller
// hears the hold prompt, and the held leg's audio is not relayed, while it
// holds. Call goroutine.
func (c *extensionCall) setCalleeHeld(held bool) {
	c.relay.calleeHeld.Store(held)
	c.holdToCaller = c.followHold(held, c.holdToCaller, c.inEP, c.relay.callerCodec.Load())
}

// setCallerHeld is setCalleeHeld for the calling leg's hold: the answering
// party hears the prompt. Call goroutine.
func (c *extensionCall) setCallerHeld(held bool) {
	c.relay.callerHeld.Store(held)
	c.holdToCallee = c.followHold(held, c.holdToCallee, c.outEP, c.relay.calleeCodec.Load())
}

// followHold starts or stops the hold prompt towards ep and returns the
// player now playing (nil for none).
func (c *extensionCall) followHold(held bool, playing *tonePlayer, ep *media.Endpoint, codec *legCodec) *tonePlayer {
	switch {
	case held && playing == nil:
		return c.playTo(ep, codec, dialplan.PromptHold)
	case !held && playing != nil:
		playing.stop()
		return nil
	}
	return playing
}

// tick sends one 20 ms frame of the prompt. A new timeline starts with the
// marker bit (RFC 3551 §4.1); the endpoint keeps the stream's SSRC and
// sequence numbers going.
func (p *tonePlayer) tick(media.Tick) {
	if _, err := p.src.Read(p.pcm[:]); err != nil {
		return // a loop never ends
	}
	var payload []byte
	if p.codec.g722 {
		n := p.up.Upsample(p.pcm16[:], p.pcm[:])
		payload = p.out[:p.enc.Encode(p.out[:], p.pcm16[:n])]
	} else {
		payload = p.out[:p.codec.law.Encode(p.out[:], p.pcm[:])]
	}
	_ = p.ep.WriteRTP(p.codec.pt, p.first, p.ts, payload)
	p.first = false
	p.ts += bridge.PhoneFrameSamples // 8000 Hz RTP clock for every codec here
}
