package sip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"

	"github.com/dialroom/dialroom/media"
	"github.com/emiago/sipgo/sip"
)

// Offers we make to callers (RFC 3261 §13.2.1, §14.1): an INVITE without SDP
// (a "late offer", common behind some carriers' SBCs and PBXs) gets our offer
// in the 200 and the caller's answer arrives in the ACK; a re-INVITE without
// SDP asks us to offer again within the call.

// errNoSDPAnswer: the ACK of our offer carried no usable answer. RFC 3261
// §13.3.1.4 leaves the UAS nothing but to end the session with BYE.
var errNoSDPAnswer = errors.New("sip: no usable SDP answer in the ACK")

// lateOfferDTMF is the payload type of telephone-event in offers we make
// to callers (the same as dial-out's).
const lateOfferDTMF = dialoutDTMF

// lateOfferCodecs are the G.711 laws we offer, in our order: μ-law first,
// as most carriers default to it; A-law for those that only do A-law.
func lateOfferCodecs() []media.G711 { return []media.G711{media.PCMU, media.PCMA} }

// What an offer of ours is waiting for (call.offerOut, under sdpMu).
const (
	offerNone     = iota
	offerInitial  // the 200 to a late-offer INVITE
	offerReinvite // the 200 to a re-INVITE without SDP
)

// lateOfferSDP is our offer for the 200 of a late-offer INVITE.
func (c *call) lateOfferSDP() ([]byte, error) {
	c.sdpMu.Lock()
	defer c.sdpMu.Unlock()
	c.offerOut = offerInitial
	return c.sdp.offer(g711Formats(lateOfferCodecs()...), lateOfferDTMF)
}

// noteAck keeps the body of an ACK that answers an offer of ours; called
// by the ACK's handler before the dialog learns of the ACK, so the call's
// goroutine finds it once WriteResponse returns. The answer to a re-INVITE's
// offer is posted to the call's goroutine instead.
func (c *call) noteAck(body []byte) {
	c.sdpMu.Lock()
	out := c.offerOut
	c.offerOut = offerNone
	if out == offerInitial {
		c.ackSDP = append([]byte(nil), body...)
	}
	c.sdpMu.Unlock()
	if out == offerReinvite {
		// The answer to a re-offer of ours: the codec in use (the one we
		// offered; a wideband call's stays wideband).
		var choice codecChoice
		if c.leg.wide != nil {
			choice.only = &c.leg.wide.format
		}
		a, err := parseOfferWith(body, choice)
		if err != nil {
			c.log.Info("sip: re-INVITE answer in ACK unusable; keeping the media as it was", "err", err)
			return
		}
		c.post(reoffer{offer: a, timer: c.pendingTimer()})
	}
}

// takeLateAnswer takes the body the ACK of our late offer brought (left in
// *ackSDP under mu by the ACK handler) and parses it as the answer: one of
// the laws we offered (RFC 3264 §6). When there is none to use it cancels
// the call with errNoSDPAnswer, logs why and returns false. Shared by
// conference calls and extension calls.
func takeLateAnswer(mu *sync.Mutex, ackSDP *[]byte, cancel context.CancelCauseFunc, log *slog.Logger) (offer, bool) {
	mu.Lock()
	body := *ackSDP
	*ackSDP = nil
	mu.Unlock()
	a, err := parseOffer(body)
	if err == nil && !slices.Contains(lateOfferCodecs(), a.Codec) {
		err = errNoCodec
	}
	if err != nil {
		cancel(fmt.Errorf("%w: %v", errNoSDPAnswer, err))
		log.Info("sip: late offer not answered", "err", err)
		return offer{}, false
	}
	return a, true
}

// applyLateAnswer applies the answer the ACK of a late-offer call brought:
// the law it chose (one we offered), telephone-event, the address. It
// returns false (the call's context cancelled with errNoSDPAnswer) when there
// is none to use.
func (c *call) applyLateAnswer() bool {
	a, ok := takeLateAnswer(&c.sdpMu, &c.ackSDP, c.cancel, c.log)
	if !ok {
		return false
	}
	// Written before mediaOpen and the tick start, so the RTP reader and the
	// tick see the negotiated law.
	c.leg.codec = a.Codec
	if a.DTMF >= 0 {
		c.leg.dtmfPT = a.DTMF
	}
	c.offer = a
	c.applyOffer(a)
	c.startMedia()
	c.log.Info("sip: late offer answered", "remote", a.Remote, "codec", a.Codec.String())
	return true
}

// startMedia lets RTP reach the leg and starts what the caller hears before
// the room: the waiting prompt for a guest (an operator's own softphone
// goes straight into the room and hears none).
func (c *call) startMedia() {
	c.mediaOpen.Store(true)
	if c.number != nil && !c.asOperator {
		c.playWaiting()
	}
	c.startTick()
}

// offerInReinvite answers a re-INVITE without SDP (RFC 3261 §14.2) with an
// offer of the session as it is: the law in use only, since a leg does not
// change law mid-call. The ACK's answer is applied like a re-INVITE's offer.
func (s *Server) offerInReinvite(c *call, req *sip.Request, tx sip.ServerTransaction, timer sessionTimer) {
	if !c.mediaOpen.Load() {
		// Still waiting for the answer to our first offer (RFC 3261 §14.2:
		// 491 to a re-INVITE while an offer is outstanding).
		s.respond(req, tx, 491, "Request Pending")
		return
	}
	c.sdpMu.Lock()
	body, err := c.sdp.offer([]offerFormat{c.leg.format()}, lateOfferDTMF)
	if err == nil {
		c.offerOut, c.pendingTimerVal = offerReinvite, timer
	}
	c.sdpMu.Unlock()
	if err != nil {
		s.respondErr(req, tx, err)
		return
	}
	_ = tx.Respond(s.reinviteOK(req, body, timer))
}

// pendingTimer is the session timer of the re-INVITE whose offer awaits
// its ACK.
func (c *call) pendingTimer() sessionTimer {
	c.sdpMu.Lock()
	defer c.sdpMu.Unlock()
	return c.pendingTimerVal
}
