package sip

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/dialroom/dialroom"
	"github.com/dialroom/dialroom/dialplan"
	"github.com/emiago/sipgo/sip"
)

// Outside calls: an operator's softphone (a desk phone) dialling a number
// outside dialroom, which a PBX user expects to work. The dial-out policy
// decides exactly as for the console's "Call a phone" (dialplan.Dialout:
// who may call what, through which trunk), and the call counts against the
// same limits; then dialroom stays in the middle as for an extension call
// (a B2BUA: the softphone's leg, the trunk's leg, the relay between them),
// with one "fork" sent through the trunk with its credentials. The callee
// does not join a conference: it is a phone call.

// errOutsideLimit is why an outside call over a dial-out limit is refused.
var errOutsideLimit = fmt.Errorf("sip: dial-out limit reached")

// callOutside carries out an allowed dial-out decision d for user's
// softphone INVITE, on its handler goroutine (which becomes the call's):
// it refuses the call (a limit, a bad offer) or calls the number through
// d.Trunk and bridges the two until either hangs up. rec is the record so
// far; it is written once.
func (s *Server) callOutside(req *sip.Request, tx sip.ServerTransaction, plan *dialplan.Plan, d dialplan.DialoutDecision, user string, rec dialroom.CallRecord, log *slog.Logger) {
	rec.Operator, rec.Party = user, dialroom.MaskPhone(d.Matched)
	if d.Rule != nil {
		rec.Rule = d.Rule.Name
	}
	log = log.With("outside", dialroom.MaskPhone(d.Matched), "trunk", d.Trunk.Name)
	refuse := func(code int, reason, outcome string, cause error, hdrs ...sip.Header) {
		log.Info("sip: outside call refused", "status", code, "err", cause)
		s.respond(req, tx, code, reason, hdrs...)
		rec.Outcome, rec.Reason = outcome, fmt.Sprintf("%d %s: %v", code, reason, cause)
		s.recordCall(rec)
		s.exts.countEnded(outcome, true)
	}
	s.mu.Lock()
	err := s.dialouts.takeLineLocked(user, d.Trunk.Name, plan.DialoutLimits)
	s.mu.Unlock()
	if err != nil {
		// All lines in use: busy, with the reason for the person at the phone.
		refuse(486, "Busy Here", "busy", fmt.Errorf("%w: %v", errOutsideLimit, err), warningHeader(dialroom.ErrorMessage(err)))
		return
	}
	defer func() {
		s.mu.Lock()
		s.dialouts.releaseLineLocked(user, d.Trunk.Name)
		s.mu.Unlock()
	}()
	codecs := codecChoice{g722: true} // the softphone's leg; the trunk's follows forkFormats
	o, timer, err := s.relayedCallerLeg(req, codecs)
	if err != nil {
		code, reason := statusOf(err)
		refuse(code, reason, "rejected", err, statusHeaders(err)...)
		return
	}
	c, err := s.newExtensionCall(req, tx, o, codecs, &d, log)
	if err != nil {
		log.Warn("sip: outside call setup failed", "err", err)
		code, reason := statusOf(err)
		refuse(code, reason, "failed", err)
		return
	}
	c.record, c.from, c.ringTimeout, c.timer = rec, user, DefaultRingTimeout, timer
	c.callerID = s.callerIDFor(c.ctx, d.Trunk, user, log)
	// The one target: the binding only names it in logs (masked).
	c.run([]Binding{{Contact: "outside " + rec.Party + " via " + d.Trunk.Name}})
}

// callerIDFor returns the number a call through trunk t presents for the
// operator with this login: their own caller ID (dialroom.Operator.CallerID)
// when they have one and the trunk may present it (its DIDs,
// dialplan.Trunk.MayPresent), else "" for the trunk's caller_id. A number
// the trunk may not present, or a failed lookup, is logged: the call still
// goes out, as the trunk's.
func (s *Server) callerIDFor(ctx context.Context, t *dialplan.Trunk, login string, log *slog.Logger) string {
	if s.cfg.Operator == nil || login == "" {
		return ""
	}
	op, err := s.cfg.Operator(ctx, login)
	if err != nil {
		log.Warn("sip: the operator's caller ID could not be read; presenting the trunk's", "err", err)
		return ""
	}
	if op.CallerID == "" {
		return ""
	}
	if !t.MayPresent(op.CallerID) {
		log.Warn("sip: the operator's caller ID is none of the trunk's DIDs; presenting the trunk's",
			"caller_id", op.CallerID, "trunk", t.Name)
		return ""
	}
	return op.CallerID
}

// warningHeader is a Warning (RFC 3261 §20.43; 399: miscellaneous) carrying
// text for the person at the phone (softphones show it).
func warningHeader(text string) sip.Header {
	return sip.NewHeader("Warning", fmt.Sprintf("399 dialroom %q", text))
}
