package sip

import (
	"github.com/emiago/sipgo/sip"
)

// Offer and answer on an extension call's two legs beyond the plain case
// (extension.go): a caller's late offer, re-INVITEs with and without SDP on
// either leg (answered in extension_dialog.go), and a softphone's early
// media. Each leg negotiates with us alone (we relay and transcode), so
// nothing here crosses from one leg's SDP to the other's.

// lateOfferSDP is our offer for the 200 to a caller's INVITE without SDP
// (RFC 3261 §13.2.1): the same as a conference call's (latesdp.go).
func (c *extensionCall) lateOfferSDP() ([]byte, error) {
	c.sdpMu.Lock()
	defer c.sdpMu.Unlock()
	c.inOfferOut = offerInitial
	return c.inSDP.offer(g711Formats(lateOfferCodecs()...), lateOfferDTMF)
}

// noteAck takes an ACK's body that answers an offer of ours on the leg it
// came from: kept for applyLateAnswer (the initial late offer), or posted
// to the call's goroutine (a re-INVITE we offered in). It is called before
// the caller's dialog learns of the ACK, so bridge finds the body once
// WriteResponse returns. Safe from any goroutine.
func (c *extensionCall) noteAck(body []byte, fromCallee bool) {
	c.sdpMu.Lock()
	out := &c.inOfferOut
	if fromCallee {
		out = &c.outOfferOut
	}
	kind := *out
	*out = offerNone
	if kind == offerInitial {
		c.ackSDP = append([]byte(nil), body...)
	}
	timer := c.pendingTimerVal
	c.sdpMu.Unlock()
	if kind != offerReinvite {
		return
	}
	a, err := parseOfferWith(body, codecChoice{g722: true}) // we offered the leg's codec alone (onExtensionReinvite)
	if err != nil {
		// RFC 3261 §14.1 leaves the session as it was.
		c.log.Info("sip: re-INVITE answer in ACK unusable; keeping the media as it was", "err", err, "callee", fromCallee)
		return
	}
	if fromCallee {
		c.post(calleeReoffer{a})
	} else {
		c.post(reoffer{offer: a, timer: timer})
	}
}

// applyLateAnswer applies the caller's answer from the ACK of our late
// offer: its law (one we offered), telephone-event and address go to the
// relay. It returns false, with the call's context cancelled with
// errNoSDPAnswer, when there is none to use. Call goroutine only.
func (c *extensionCall) applyLateAnswer() bool {
	a, ok := takeLateAnswer(&c.sdpMu, &c.ackSDP, c.cancel, c.log)
	if !ok {
		return false
	}
	c.inOffer = a
	c.relay.setCaller(a)
	applyRemote(c.inEP, a, c.srv.rtpTimeout())
	return true
}

// startEarly lets the caller hear a ringing softphone's early media (RFC
// 3960): f's 183 carried SDP, so the caller gets our 183 with our answer
// and the relay runs between the two before anyone answers. Only the first
// such fork is heard; the others' 183s read as ringing. false (nothing
// changed, the caller hears 180) when the softphone's SDP is unusable or
// the 183 cannot be sent. Call goroutine only, while ringing.
func (c *extensionCall) startEarly(f *fork, body []byte) bool {
	a, err := parseOfferWith(body, calleeCodecs())
	if err == nil && !a.Remote.Addr().IsValid() {
		err = errBadAnswer
	}
	if err != nil {
		c.log.Debug("sip: early media SDP unusable", "contact", f.b.Contact, "err", err)
		return false
	}
	c.matchCaller(a)
	c.sdpMu.Lock()
	answer, err := c.inSDP.answer(c.inOffer)
	c.sdpMu.Unlock()
	if err != nil {
		return false
	}
	c.relay.setCallee(a)
	if !a.Remote.Addr().IsUnspecified() {
		c.outEP.SetRemote(a.Remote)
	}
	c.relay.setCaller(c.inOffer)
	if !c.inOffer.Remote.Addr().IsUnspecified() {
		c.inEP.SetRemote(c.inOffer.Remote)
	}
	res := sip.NewSDPResponseFromRequest(c.in.InviteRequest, answer)
	res.StatusCode, res.Reason = 183, "Session Progress"
	res.AppendHeader(supportedHeader())
	if err := c.prov.send(res); err != nil {
		c.relay.stop()
		c.log.Debug("sip: 183 to the caller", "err", err)
		return false
	}
	c.early, c.earlyAnswer = f, answer
	c.log.Info("sip: early media from the extension", "contact", f.b.Contact)
	return true
}

// calleeCodecs is what a softphone's leg may use besides G.711: G.722 when
// our offer had it (forkFormats), which an answer can only pick if so.
func calleeCodecs() codecChoice { return codecChoice{g722: true} }

// matchCaller answers a caller who offered G.722 with G.711 after all when
// the softphone that answers (or plays early media) took G.711, if the
// caller offered a G.711 law too: the relay then passes packets through
// instead of transcoding G.722 to G.711 for no better sound. Call
// goroutine, before the caller's answer is built.
func (c *extensionCall) matchCaller(callee offer) {
	if c.inOffer.late || c.inOffer.Wide.name == "" || callee.Wide.name != "" {
		return
	}
	narrow, err := parseOffer(c.in.InviteRequest.Body())
	if err != nil {
		return // G.722 alone: the relay transcodes
	}
	c.inOffer = narrow
}
