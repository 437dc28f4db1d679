package sip

import (
	"errors"
	"log/slog"
	"time"

	"github.com/dialroom/dialroom"
	"github.com/dialroom/dialroom/dialplan"
	"github.com/emiago/sipgo/sip"
)

// Announcements before a refusal (RFC 3960 early media): a reject route
// with a prompt, or a conference route's not_live_prompt for a number that
// is not live, is played in a 183 Session Progress with our SDP answer, and
// the final status follows when it ends. The call is never answered, so the
// caller is not billed, and a carrier that ignores early media still gets
// the status, just a few seconds later.

// announceLimit bounds an announcement: a long recording must not hold a
// refused call (and its RTP port) for minutes.
const announceLimit = 20 * time.Second

// refusalPrompt is the prompt to announce before refusing a call with err
// under decision d, or nil to refuse at once.
func refusalPrompt(d dialplan.Decision, err error) *dialplan.Prompt {
	var rej *rejection
	switch {
	case d.Action == dialplan.ActionReject && errors.As(err, &rej):
		return d.Prompt
	case d.Action == dialplan.ActionConference && dialroom.ErrorCode(err) == dialroom.ENOTFOUND:
		return d.NotLivePrompt
	}
	return nil
}

// announceRefusal plays p as early media and then refuses the INVITE with
// err's status. It returns false, having sent nothing, when the INVITE has no
// offer we can answer (the caller then gets the status at once). It runs on
// the INVITE's handler goroutine until the status is sent.
func (s *Server) announceRefusal(req *sip.Request, tx sip.ServerTransaction, p *dialplan.Prompt, cause error, log *slog.Logger) bool {
	if len(req.Body()) == 0 {
		return false
	}
	o, err := parseOffer(req.Body())
	if err != nil {
		return false
	}
	c, err := s.newCall(req, tx, o, log)
	if err != nil {
		log.Info("sip: no early media for the refusal", "err", err)
		return false
	}
	defer s.removeCall(c)
	defer c.dlg.Close()
	defer c.leg.ep.Close()
	defer c.stopTick()
	defer c.cancel(nil)

	code, reason := statusOf(cause)
	// With 100rel the 183 goes reliably (prack.go); the refusal, not being
	// a 2xx, need not wait for its PRACK (RFC 3262 §3), and it ends the
	// retransmissions.
	prov := newProvisionals(req, tx.Respond, s.contactFor(req), nil)
	defer s.trackProvisionals(c.dlg.ID, prov)()
	defer prov.finish()
	body, err := c.answerSDP(o)
	if err == nil {
		res := sip.NewSDPResponseFromRequest(c.dlg.InviteRequest, body)
		res.StatusCode, res.Reason = 183, "Session Progress"
		res.AppendHeader(supportedHeader())
		err = prov.send(res)
	}
	if err == nil {
		c.applyOffer(o)
		c.mediaOpen.Store(true)
		done := make(chan struct{})
		// A recording that cannot be played falls back to the built-in
		// not-in-service tone, never to silence.
		src, _ := s.prompts.source(p, dialplan.PromptNotInService, false)
		c.leg.play(src, func() { close(done) })
		c.startTick()
		t := time.NewTimer(announceLimit)
		select {
		case <-done:
		case <-t.C:
		case <-c.dlg.Context().Done(): // CANCEL: sipgo answered 487 already
			t.Stop()
			return true
		case <-c.ctx.Done():
		}
		t.Stop()
	}
	prov.finish()
	if err := c.dlg.Respond(code, reason, nil, statusHeaders(cause)...); err != nil {
		log.Debug("sip: final response after the announcement", "err", err)
	}
	log.Info("sip: refused after an announcement", "status", code, "prompt", p.Name)
	return true
}
