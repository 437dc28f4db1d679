package sip

import (
	"fmt"
	"time"

	"github.com/emiago/sipgo/sip"
)

// In-dialog requests of extension calls (extension.go): sipgo's handlers
// (server.go) find the call by either leg's dialog and answer on their own
// goroutine; the call's goroutine applies what they post.

// extensionCallOf finds the extension call an in-dialog request belongs to:
// from the caller (our tag in To, UAS view) or from the answering softphone
// (our tag in From, UAC view, RFC 3261 §12.2.2). fromCallee says which.
func (s *Server) extensionCallOf(req *sip.Request) (c *extensionCall, fromCallee bool) {
	s.exts.mu.Lock()
	defer s.exts.mu.Unlock()
	if id, err := sip.DialogIDFromRequestUAS(req); err == nil {
		if c := s.exts.byUAS[id]; c != nil {
			return c, false
		}
	}
	if id, err := sip.DialogIDFromRequestUAC(req); err == nil {
		if c := s.exts.byUAC[id]; c != nil {
			return c, true
		}
	}
	return nil, false
}

// onExtensionAck hands the caller's ACK for our 200 to its dialog (RFC 3261
// §13.3.1.4). false when it is not for an extension call.
// An ACK that answers an offer of ours (a late offer or a re-INVITE
// without SDP, on either leg) is noted first (extension_sdp.go).
func (s *Server) onExtensionAck(req *sip.Request, tx sip.ServerTransaction) bool {
	c, fromCallee := s.extensionCallOf(req)
	if c == nil {
		return false
	}
	c.noteAck(req.Body(), fromCallee)
	if !fromCallee {
		_ = c.in.ReadAck(req, tx)
	}
	return true
}

// onExtensionBye ends an extension call from either side (RFC 3261
// §15.1.2): 200 at once, then the call's goroutine ends the other leg.
// false when the BYE is not for an extension call.
func (s *Server) onExtensionBye(req *sip.Request, tx sip.ServerTransaction) bool {
	c, fromCallee := s.extensionCallOf(req)
	if c == nil {
		return false
	}
	if fromCallee {
		w := c.answered.Load()
		if err := w.dlg.ReadBye(req, tx); err != nil {
			s.respondErr(req, tx, fmt.Errorf("%w: %v", errMalformed, err))
			return true
		}
		c.post(calleeBye{dialog: w.dlg.ID})
		return true
	}
	if err := c.in.ReadBye(req, tx); err != nil {
		s.respondErr(req, tx, fmt.Errorf("%w: %v", errMalformed, err))
		return true
	}
	c.post(byeReceived{})
	return true
}

// onExtensionReinvite answers a re-INVITE from either leg (RFC 3261 §14.2)
// on this handler goroutine; the call's goroutine applies it. With an
// offer, from our side of that leg's SDP; without one, with our offer of
// the law the leg uses now (like offerInReinvite for conference calls),
// answered in the ACK (noteAck). A re-INVITE from the caller is also a
// session refresh (RFC 4028 §10); the softphone's leg has no timer. false
// when it is not for an extension call.
func (s *Server) onExtensionReinvite(req *sip.Request, tx sip.ServerTransaction) bool {
	c, fromCallee := s.extensionCallOf(req)
	if c == nil {
		return false
	}
	if err := c.readInDialog(req, tx, fromCallee); err != nil {
		// RFC 3261 §14.2: a lower CSeq than one already seen is answered 500.
		s.respond(req, tx, 500, "Server Internal Error")
		return true
	}
	var err error
	var timer sessionTimer
	if !fromCallee {
		if timer, err = parseSessionTimer(req, time.Duration(s.minSE.Load())); err != nil {
			s.respondErr(req, tx, err)
			return true
		}
	}
	sess, out, lc := &c.inSDP, &c.inOfferOut, c.relay.callerCodec.Load()
	if fromCallee {
		sess, out, lc = &c.outSDP, &c.outOfferOut, c.relay.calleeCodec.Load()
	}
	var o offer
	if len(req.Body()) > 0 {
		// A leg on G.722 keeps it if offered; one on G.711 stays narrowband
		// (G.722 now would only make the relay transcode).
		if o, err = parseOfferWith(req.Body(), codecChoice{g722: lc != nil && lc.g722}); err != nil {
			s.respondErr(req, tx, err)
			return true
		}
	}
	c.sdpMu.Lock()
	var body []byte
	switch {
	case *out != offerNone || lc == nil:
		// An offer of ours awaits its answer, or the leg has none yet
		// (RFC 3261 §14.2: 491 while an offer is outstanding).
		c.sdpMu.Unlock()
		s.respond(req, tx, 491, "Request Pending")
		return true
	case len(req.Body()) == 0:
		// The codec in use only: a leg does not change codec mid-call.
		body, err = sess.offer([]offerFormat{lc.format()}, lateOfferDTMF)
		if err == nil {
			*out = offerReinvite
			if !fromCallee {
				c.pendingTimerVal = timer
			}
		}
	default:
		body, err = sess.answer(o)
	}
	c.sdpMu.Unlock()
	if err != nil {
		s.respondErr(req, tx, err)
		return true
	}
	if err := tx.Respond(s.reinviteOK(req, body, timer)); err != nil || len(req.Body()) == 0 {
		return true
	}
	if fromCallee {
		c.post(calleeReoffer{o})
	} else {
		c.post(reoffer{offer: o, timer: timer})
	}
	return true
}

// readInDialog hands an in-dialog request to its leg's dialog, which checks
// its CSeq (RFC 3261 §12.2.2): the answering softphone's (fromCallee) or
// the caller's.
func (c *extensionCall) readInDialog(req *sip.Request, tx sip.ServerTransaction, fromCallee bool) error {
	if fromCallee {
		return c.answered.Load().dlg.ReadRequest(req, tx)
	}
	return c.in.ReadRequest(req, tx)
}
