package sip

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dialroom/dialroom"
	"github.com/dialroom/dialroom/dialplan"
	"github.com/emiago/sipgo/sip"
)

// Dial-out (issue 4, the operator's journey): an operator calls a phone from
// the console. The dialplan's dial-out policy decides whether the number may
// be called and through which trunk (Plan.Dialout), the plan's limits bound
// how many such calls run at once, an INVITE goes to the trunk's carrier, and
// the callee joins the operator's room on answer without the lobby (an
// operator-placed call needs no approval). This file holds the API and the
// bookkeeping; dialout_call.go the call itself, dialout_sdp.go our offer.

// DefaultRingTimeout is how long a call we place may ring before we give up
// (CANCEL, "no answer"). A minute is longer than most people take to reach a
// ringing phone and shorter than carriers' own limits (typically 2–3 min),
// so the operator hears "no answer" from us rather than an obscure 408/480.
const DefaultRingTimeout = 60 * time.Second

// DialState is where a call we place stands, as DialStatus reports it.
type DialState string

// Dial states. Calling and Ringing come first, Answered once the callee is
// in the room; every call ends in exactly one of the others.
const (
	DialCalling   DialState = "calling"   // the INVITE is on its way
	DialRinging   DialState = "ringing"   // a provisional response came (100, 180, 183)
	DialAnswered  DialState = "answered"  // 200, ACKed; the callee is in the room
	DialBusy      DialState = "busy"      // 486 Busy Here or 600 Busy Everywhere
	DialNoAnswer  DialState = "no_answer" // it rang for RingTimeout; we cancelled
	DialCancelled DialState = "cancelled" // the operator cancelled before the answer
	DialFailed    DialState = "failed"    // any other final status, or a local failure
	DialEnded     DialState = "ended"     // an answered call is over (BYE, removal, timeout)
)

// Final reports whether the state is the last one a call reports.
func (s DialState) Final() bool {
	switch s {
	case DialCalling, DialRinging, DialAnswered:
		return false
	}
	return true
}

// DialStatus is one change of a placed call's state.
type DialStatus struct {
	// ID is the call's, from OutboundCall.ID.
	ID string
	// Number is the dialled number as the policy matched it, in national
	// form (0312345678, +14155550100): what the operator typed, normalised.
	Number string
	State  DialState
	// Status and Reason are the SIP response behind the state (e.g. 486
	// "Busy Here"); Status is 0 when none was involved, and Reason then
	// says what happened (e.g. "the operator hung up").
	Status int
	Reason string
}

// DialRequest asks Server.Dial to call a phone for an operator.
type DialRequest struct {
	// Operator is the login of the operator placing the call: the dial-out
	// policy and the per-operator limit apply to it. Required.
	Operator string
	// Room is the live issued number whose conference the callee joins on
	// answer; OperatorName is the operator's display name for the room
	// (as bridge.Engine.Enter takes them). Room is required.
	Room         *dialroom.Number
	OperatorName string
	// To is the number as the operator typed it (any formatting).
	To string
	// RingTimeout bounds the ringing; 0 means DefaultRingTimeout.
	RingTimeout time.Duration
	// OnStatus receives every change of state, the last one final (see
	// DialState.Final). It is called on the call's goroutine and must not
	// block; nil drops them.
	OnStatus func(DialStatus)
}

// dialouts is the server's bookkeeping of the calls it places; its maps are
// guarded by Server.mu (they are checked against Server.closed together).
type dialouts struct {
	byDialog   map[string]*OutboundCall // answered calls, by dialog ID (UAC view)
	byOperator map[string]int
	byTrunk    map[string]int
	invites    atomic.Uint64 // initial INVITEs sent, for tests and metrics
}

// OutboundInvites returns how many calls the server has placed (initial
// INVITEs sent, challenged retries not counted) since it started.
func (s *Server) OutboundInvites() uint64 { return s.dialouts.invites.Load() }

// DialingCalls returns how many calls placed by Dial are in progress.
func (s *Server) DialingCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, v := range s.dialouts.byTrunk {
		n += v
	}
	return n
}

// Dial places a call for an operator and returns at once; the call runs on
// its own goroutine and reports through req.OnStatus. It refuses, with a
// *dialroom.Error whose message is meant for the operator and without
// sending anything:
//   - EDENIED: the dial-out policy denies the number (the message is the
//     policy's reason), or the operator does not own Room;
//   - ETHROTTLED: a dial-out limit (per operator, per trunk) is reached;
//   - EINVALID: the request is incomplete;
//   - EINTERNAL: the server is closing, or no RTP port is free.
//
// ctx bounds the call's setup: when it ends before the answer, the call is
// cancelled (CANCEL, RFC 3261 §9.1), as when the operator's console goes
// away. Once answered, the call belongs to the room: it ends with a BYE from
// either side, removal, the end of the room, or an RTP timeout. Safe for
// concurrent use.
func (s *Server) Dial(ctx context.Context, req DialRequest) (*OutboundCall, error) {
	if req.Operator == "" || req.Room == nil {
		return nil, dialroom.Errorf(dialroom.EINVALID, "A call needs an operator and a conference.")
	}
	if req.Room.Operator != req.Operator {
		return nil, dialroom.Errorf(dialroom.EDENIED, "You can call phones only into your own conference.")
	}
	plan := s.cfg.Plan()
	if plan == nil {
		return nil, dialroom.Errorf(dialroom.EDENIED, "No dialplan is loaded: dial-out is denied.")
	}
	d := plan.Dialout(req.Operator, req.To)
	// Logs name the rule, not the decision's text: that carries the whole
	// number, and a guest's number is kept masked everywhere but the console.
	rule := "(none)"
	if d.Rule != nil {
		rule = d.Rule.Name
	}
	log := s.log.With("dialout_operator", req.Operator, "to", dialroom.MaskPhone(d.Matched), "rule", rule, "category", d.Category)
	if !d.Allowed {
		log.Info("sip: dial-out refused")
		return nil, dialroom.Errorf(dialroom.EDENIED, "%s", d.Reason)
	}
	if req.RingTimeout <= 0 {
		req.RingTimeout = DefaultRingTimeout
	}
	c := &OutboundCall{srv: s, id: "d" + sip.GenerateTagN(12), req: req, decision: d, log: log,
		hangup: make(chan struct{}), done: make(chan struct{}), mailbox: newMailbox()}
	c.log = log.With("dialout", c.id)
	c.callerID = s.callerIDFor(ctx, d.Trunk, req.Operator, c.log)
	if err := s.addDialout(c, plan.DialoutLimits); err != nil {
		log.Info("sip: dial-out refused", "err", err)
		return nil, err
	}
	c.ctx, c.cancel = context.WithCancelCause(s.ctx)
	if err := c.prepare(); err != nil {
		c.cancel(err)
		s.removeDialout(c)
		log.Warn("sip: dial-out setup failed", "err", err)
		return nil, &dialroom.Error{Code: dialroom.EINTERNAL, Message: "The call could not be set up on this server. Try again in a moment.", Err: err}
	}
	go c.run(ctx)
	return c, nil
}

// addDialout counts a call against the limits and the server's goroutines;
// the error says which limit is reached.
func (s *Server) addDialout(c *OutboundCall, limits dialplan.DialoutLimits) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ds := &s.dialouts
	if s.closed {
		return &dialroom.Error{Code: dialroom.EINTERNAL, Message: "The server is shutting down.", Err: errShuttingDown}
	}
	if err := ds.takeLineLocked(c.req.Operator, c.decision.Trunk.Name, limits); err != nil {
		return err
	}
	s.wg.Add(1)
	return nil
}

// takeLineLocked counts one call placed by op through trunk (from the
// console or from op's softphone) against the dial-out limits; the error
// says which limit is reached. Server.mu is held.
func (ds *dialouts) takeLineLocked(op, trunk string, limits dialplan.DialoutLimits) error {
	if ds.byOperator == nil {
		ds.byOperator, ds.byTrunk, ds.byDialog = map[string]int{}, map[string]int{}, map[string]*OutboundCall{}
	}
	// dialplan.DialoutLimits: a call over a limit is refused as busy.
	if limits.PerOperator > 0 && ds.byOperator[op] >= limits.PerOperator {
		return dialroom.Errorf(dialroom.ETHROTTLED, "You already have %d calls in progress, the most the dial-out limit allows. Hang one up first.", ds.byOperator[op])
	}
	if limits.PerTrunk > 0 && ds.byTrunk[trunk] >= limits.PerTrunk {
		return dialroom.Errorf(dialroom.ETHROTTLED, "All %d lines of trunk %q are busy with calls placed from here. Try again when one is free.", limits.PerTrunk, trunk)
	}
	ds.byOperator[op]++
	ds.byTrunk[trunk]++
	return nil
}

// releaseLineLocked undoes takeLineLocked. Server.mu is held.
func (ds *dialouts) releaseLineLocked(op, trunk string) {
	if ds.byOperator[op]--; ds.byOperator[op] <= 0 {
		delete(ds.byOperator, op)
	}
	if ds.byTrunk[trunk]--; ds.byTrunk[trunk] <= 0 {
		delete(ds.byTrunk, trunk)
	}
}

// removeDialout forgets a call; called once, as its goroutine ends (or by
// Dial when setup failed).
func (s *Server) removeDialout(c *OutboundCall) {
	s.mu.Lock()
	ds := &s.dialouts
	ds.releaseLineLocked(c.req.Operator, c.decision.Trunk.Name)
	if c.dialogID != "" && ds.byDialog[c.dialogID] == c {
		delete(ds.byDialog, c.dialogID)
	}
	s.mu.Unlock()
	s.wg.Done()
}

// setDialog files an answered call under its dialog ID, for the callee's
// in-dialog requests (BYE).
func (s *Server) setDialog(c *OutboundCall, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c.dialogID = id
	s.dialouts.byDialog[id] = c
}

// dialoutOf finds the call we placed that an in-dialog request from the
// callee belongs to (RFC 3261 §12.2.2; we are the UAC: our tag is in To).
func (s *Server) dialoutOf(req *sip.Request) *OutboundCall {
	id, err := sip.DialogIDFromRequestUAC(req)
	if err != nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dialouts.byDialog[id]
}

// onDialoutBye handles a BYE from a callee (RFC 3261 §15.1.2): 200, then the
// call's goroutine tears it down. false when the BYE is not for a call we
// placed.
func (s *Server) onDialoutBye(req *sip.Request, tx sip.ServerTransaction) bool {
	c := s.dialoutOf(req)
	if c == nil {
		return false
	}
	if err := c.dlg.ReadBye(req, tx); err != nil {
		s.respondErr(req, tx, fmt.Errorf("%w: %v", errMalformed, err))
		return true
	}
	c.post(byeReceived{})
	return true
}

// onDialoutReinvite answers a re-INVITE from a callee (RFC 3261 §14.2):
// hold, resume, a new address, or a carrier's session refresh (RFC 4028
// §10), answered from this handler goroutine and applied by the call's.
// false when it is not for a call we placed.
func (s *Server) onDialoutReinvite(req *sip.Request, tx sip.ServerTransaction) bool {
	c := s.dialoutOf(req)
	if c == nil {
		return false
	}
	if err := c.dlg.ReadRequest(req, tx); err != nil {
		// RFC 3261 §14.2: a lower CSeq than one already seen is answered 500.
		s.respond(req, tx, 500, "Server Internal Error")
		return true
	}
	var choice codecChoice // the call's codec: G.711, or its wideband one
	if l := c.legp.Load(); l != nil && l.wide != nil {
		choice.only = &l.wide.format
	}
	o, err := parseOfferWith(req.Body(), choice)
	if err != nil {
		// An empty body is a re-INVITE without offer (RFC 3261 §14.2), not
		// supported yet: 488 leaves the session as it was.
		s.respondErr(req, tx, err)
		return true
	}
	timer, err := parseSessionTimer(req, time.Duration(s.minSE.Load()))
	if err != nil {
		s.respondErr(req, tx, err)
		return true
	}
	c.sdpMu.Lock()
	body, err := c.sdp.answer(o)
	c.sdpMu.Unlock()
	if err != nil {
		s.respondErr(req, tx, err)
		return true
	}
	res := sip.NewSDPResponseFromRequest(req, body)
	for _, h := range timer.headers() {
		res.AppendHeader(h)
	}
	if dua := s.dialog[req.Transport()]; dua != nil {
		res.AppendHeader(sip.HeaderClone(&dua.ContactHDR))
	}
	if err := tx.Respond(res); err == nil {
		c.post(reoffer{o, timer})
	}
	return true
}

// OutboundCall is a call placed by Server.Dial. Its state belongs to its
// goroutine; its methods are safe from any goroutine.
type OutboundCall struct {
	srv      *Server
	id       string
	req      DialRequest
	decision dialplan.DialoutDecision
	log      *slog.Logger
	// callerID is the number the INVITE presents: the operator's own
	// (callerIDFor), or "" for the trunk's. Set before the goroutine starts.
	callerID string

	ctx    context.Context // the call's; cancelled with the cause it ended for
	cancel context.CancelCauseFunc

	hangupOnce sync.Once
	hangup     chan struct{} // closed by Hangup
	done       chan struct{} // closed when the goroutine has released everything

	dialogID string // set by setDialog under Server.mu

	callState // owned by the call's goroutine (dialout_call.go)

	mailbox // posted to by the room, sipgo's handlers and the RTP reader
}

// ID returns the call's id, unique on this server ("d…").
func (c *OutboundCall) ID() string { return c.id }

// Number returns the dialled number in national form.
func (c *OutboundCall) Number() string { return c.decision.Matched }

// Hangup ends the call: a CANCEL while it rings (RFC 3261 §9.1), a BYE once
// answered. It returns at once and is idempotent; Done tells when the call
// is over.
func (c *OutboundCall) Hangup() {
	c.hangupOnce.Do(func() { close(c.hangup) })
}

// Done is closed once the call has ended and released its RTP port and
// goroutines, after its final DialStatus.
func (c *OutboundCall) Done() <-chan struct{} { return c.done }
