package sip

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dialroom/dialroom"
	"github.com/dialroom/dialroom/dialplan"
	"github.com/dialroom/dialroom/media"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/pion/rtp"
)

// Extension calls (docs/phone.md, "Ringing an operator's extension"): a
// dialplan `extension` route rings every registered softphone of one
// operator. dialroom acts as a back-to-back user agent: the caller's INVITE
// ends here (we are its UAS) and a new INVITE goes to each of the operator's
// bindings (we are their UAC); the first to answer is bridged to the caller
// by relaying RTP between two media endpoints. This file holds the call and
// its lifecycle, extension_fork.go the forks, extension_media.go the relay,
// extension_sdp.go late offers and early media, extension_dialog.go the
// in-dialog requests (ACK, BYE, re-INVITE) of either leg.

// DefaultExtensionRingTimeout is how long an extension rings before the
// caller gets 480, unless the route says otherwise (ring_timeout). Thirty
// seconds is what desk phones and voicemail systems usually allow, and well
// under carriers' own no-answer timers (typically 60–180 s), so the caller
// hears our answer, not the carrier's.
const DefaultExtensionRingTimeout = 30 * time.Second

// Why an extension call ended: its context's cause, for logs and records.
var (
	errExtensionNoAnswer = errors.New("the extension did not answer")
	errExtensionBusy     = errors.New("the extension is busy")
	errExtensionFailed   = errors.New("no softphone of the extension could take the call")
	errCalleeBye         = errors.New("the extension hung up")
	errCalleeRTPTimeout  = errors.New("no RTP from the extension")
	errGiveUp            = errors.New("ringing stopped")
	errSelfCall          = errors.New("the operator called their own extension")
)

// selfCallWarning is the Warning (RFC 3261 §20.43) of the 486 an operator's
// softphone gets for calling its own extension: "busy" alone would read as
// if another call held the line.
const selfCallWarning = `399 dialroom "you called your own extension"`

// notRegisteredWarning is the Warning (RFC 3261 §20.43; 399: miscellaneous)
// of the 480 for an extension without a registered softphone: the status
// alone cannot tell "not registered" from "did not answer".
const notRegisteredWarning = `399 dialroom "the extension is not registered"`

// extensionCalls is the server's index of extension calls for in-dialog
// requests: by the caller's dialog ID (we are its UAS) and by the answering
// softphone's (we are its UAC). Safe for concurrent use.
type extensionCalls struct {
	mu    sync.Mutex
	byUAS map[string]*extensionCall
	byUAC map[string]*extensionCall
	ended map[string]uint64 // by call record outcome, for /metrics
	// outsideEnded and outsideActive are the softphones' calls to outside
	// numbers (outside.go), which run on the same machinery.
	outsideEnded  map[string]uint64
	outsideActive int
}

// countEnded counts one extension call (or, with outside, a softphone's
// call to an outside number) that ended or was refused as outcome.
func (x *extensionCalls) countEnded(outcome string, outside bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	m := &x.ended
	if outside {
		m = &x.outsideEnded
	}
	if *m == nil {
		*m = map[string]uint64{}
	}
	(*m)[outcome]++
}

// ExtensionCalls reports the calls to extensions ringing or bridged now, and
// those that ended since the server started by their call record outcome
// (answered, rejected, busy, no_answer, abandoned, failed).
func (s *Server) ExtensionCalls() (active int, ended map[string]uint64) {
	s.exts.mu.Lock()
	defer s.exts.mu.Unlock()
	return len(s.exts.byUAS) - s.exts.outsideActive, maps.Clone(s.exts.ended)
}

// OutsideCalls reports operators' softphone calls to outside numbers
// (through a trunk) ringing or connected now, and those that ended by
// outcome, as ExtensionCalls.
func (s *Server) OutsideCalls() (active int, ended map[string]uint64) {
	s.exts.mu.Lock()
	defer s.exts.mu.Unlock()
	return s.exts.outsideActive, maps.Clone(s.exts.outsideEnded)
}

func (x *extensionCalls) count() int {
	x.mu.Lock()
	defer x.mu.Unlock()
	return len(x.byUAS)
}

// ringExtension carries out an extension decision for a new INVITE on its
// handler goroutine, which becomes the call's goroutine (like call.run):
// it refuses the call or rings the operator's softphones and, once one
// answers, bridges the two until either hangs up. from is the From user
// the softphones are shown: the caller's number as presentedNumber gives
// it, or the calling operator's extension. rec is the call's record so far
// (party, rule, number, started); it is written once, here.
//
// caller is the calling operator's login when the call comes from a
// softphone, "" for a carrier's call: an operator ringing their own
// extension is answered as busy (selfCallWarning). codecs is what the
// caller's leg may use besides G.711: G.722 from softphones, and from a
// trunk that lists it (extension_fork.go).
//
// trunk names the trunk the call came from ("" for a softphone's): the
// caller's leg's in-dialog requests present its client certificate.
func (s *Server) ringExtension(req *sip.Request, tx sip.ServerTransaction, d dialplan.Decision, from, caller, trunk string, codecs codecChoice, rec dialroom.CallRecord, log *slog.Logger) {
	refuse := func(code int, reason, outcome string, cause error, hdrs ...sip.Header) {
		log.Info("sip: extension call refused", "status", code, "err", cause)
		s.respond(req, tx, code, reason, hdrs...)
		rec.Outcome, rec.Reason = outcome, fmt.Sprintf("%d %s: %v", code, reason, cause)
		s.recordCall(rec)
		s.exts.countEnded(outcome, false)
	}
	op, err := s.resolveExtension(d.Extension)
	if err != nil {
		code, reason := statusOf(err)
		refuse(code, reason, "rejected", err)
		return
	}
	rec.Operator = op.Login
	log = log.With("extension", d.Extension, "operator", op.Login)
	if caller != "" && caller == op.Login {
		// A desk phone dialling its own extension gets a busy signal on
		// every PBX, not 482 Loop Detected (RFC 3261 §21.4.20 is for
		// requests that came back to a proxy): the phone is in use, by the
		// caller. The Warning tells the operator why.
		refuse(486, "Busy Here", "rejected", errSelfCall, sip.NewHeader("Warning", selfCallWarning))
		return
	}
	bindings := s.liveBindings(op.Login)
	if len(bindings) == 0 {
		refuse(480, "Temporarily Unavailable", "rejected", errors.New("not registered"), sip.NewHeader("Warning", notRegisteredWarning))
		return
	}
	o, timer, err := s.relayedCallerLeg(req, codecs)
	if err != nil {
		code, reason := statusOf(err)
		refuse(code, reason, "rejected", err, statusHeaders(err)...)
		return
	}
	c, err := s.newExtensionCall(req, tx, o, codecs, nil, log)
	if err != nil {
		log.Warn("sip: extension call setup failed", "err", err)
		code, reason := statusOf(err)
		refuse(code, reason, "failed", err)
		return
	}
	c.record, c.from, c.op, c.ringTimeout, c.timer, c.callerTrunk = rec, from, op, d.RingTimeout, timer, trunk
	c.run(bindings)
}

// relayedCallerLeg reads what the caller's INVITE asks of a relayed call
// (an extension or outside call): its offer, within codecs, and its session
// timer (RFC 4028 on the caller's leg, as for conference calls, session.go).
func (s *Server) relayedCallerLeg(req *sip.Request, codecs codecChoice) (offer, sessionTimer, error) {
	o, err := extensionOffer(req, codecs)
	if err != nil {
		return offer{}, sessionTimer{}, err
	}
	timer, err := parseSessionTimer(req, time.Duration(s.minSE.Load()))
	return o, timer, err
}

// resolveExtension finds the operator an extension route's target names:
// an extension number first, then an operator's login (docs/dialplan.md).
// ENOTFOUND when neither matches.
func (s *Server) resolveExtension(target string) (*dialroom.Operator, error) {
	ctx, cancel := context.WithTimeout(s.ctx, lookupTimeout)
	defer cancel()
	if s.cfg.OperatorByExtension != nil && dialroom.ValidateExtension(target) == nil {
		op, err := s.cfg.OperatorByExtension(ctx, target)
		if err == nil && op != nil {
			return op, nil
		}
		if err != nil && dialroom.ErrorCode(err) != dialroom.ENOTFOUND {
			return nil, err
		}
	}
	if s.cfg.Operator != nil && target != "" {
		op, err := s.cfg.Operator(ctx, target)
		if err == nil && op != nil {
			return op, nil
		}
		if err != nil && dialroom.ErrorCode(err) != dialroom.ENOTFOUND {
			return nil, err
		}
	}
	return nil, dialroom.Errorf(dialroom.ENOTFOUND, "No operator has extension %q.", target)
}

// softphoneExtension is what a softphone's calls come from for the
// dialplan's from_extension: the operator's extension number, else the
// login (routes may name either).
func (s *Server) softphoneExtension(login string) string {
	if s.cfg.Operator == nil {
		return login
	}
	ctx, cancel := context.WithTimeout(s.ctx, lookupTimeout)
	defer cancel()
	if op, err := s.cfg.Operator(ctx, login); err == nil && op != nil && op.Extension != "" {
		return op.Extension
	}
	return login
}

// liveBindings returns a copy of the operator's unexpired registrations.
func (s *Server) liveBindings(login string) []Binding {
	s.regs.mu.Lock()
	defer s.regs.mu.Unlock()
	if s.regs.users == nil {
		return nil
	}
	bs := s.regs.liveLocked(login, s.cfg.Now())
	return append([]Binding(nil), bs...)
}

// extensionOffer reads the caller's SDP offer. A late offer (no body, RFC
// 3261 §13.2.1) is accepted: we relay media, so each leg negotiates with us
// alone; the forks get our usual offer and the caller gets our offer in the
// 200 (lateOfferCodecs) and answers in the ACK (extension_sdp.go).
func extensionOffer(req *sip.Request, codecs codecChoice) (offer, error) {
	if len(req.Body()) == 0 {
		return offer{late: true, DTMF: -1}, nil
	}
	if ct := req.ContentType(); ct != nil && !strings.EqualFold(strings.TrimSpace(ct.Value()), "application/sdp") {
		return offer{}, fmt.Errorf("%w: content type %q", errUnsupportedBody, ct.Value())
	}
	return parseOfferWith(req.Body(), codecs)
}

// Messages posted to an extension call's goroutine.
type (
	forkRinging struct{ f *fork }
	forkEarly   struct {
		f    *fork
		body []byte // the 183's SDP
	}
	forkAnswered struct{ f *fork } // f won (extensionCall.winner); ACKed
	forkEnded    struct {
		f      *fork
		status int // the final status, 0 for none (cancelled, timeout, transport)
		err    error
	}
	calleeBye      struct{ dialog string } // the answering fork's dialog ID
	calleeReoffer  struct{ offer offer }
	calleeTimedOut struct{}
	prackTimedOut  struct{} // a reliable 180 or 183 to the caller went unacknowledged (prack.go)
)

// extensionCall is one call to an extension. Its state belongs to its
// goroutine (run, the INVITE's handler goroutine); sipgo's handlers, the
// forks' goroutines and the endpoints' readers only post to its mailbox or
// read the atomics. run closes everything it opened before it returns.
type extensionCall struct {
	srv *Server
	log *slog.Logger
	id  string // the caller's dialog ID

	ctx    context.Context // cancelled with the cause the call ended for
	cancel context.CancelCauseFunc

	in *sipgo.DialogServerSession // the caller's leg
	// callerTrunk is the trunk the caller's leg came from ("" for a
	// softphone's); our BYE to the caller presents its client certificate.
	// Set before the call is shared.
	callerTrunk string
	prov        *provisionals // our 180 and 183 to the caller, reliably with 100rel (prack.go)
	inOffer     offer
	// callerCodecs is what the caller's leg may use besides G.711 (its
	// re-INVITEs are read with it too); set before the call is shared.
	callerCodecs codecChoice
	inEP         *media.Endpoint
	sdpMu        sync.Mutex // guards inSDP and outSDP: re-INVITEs are answered on handler goroutines
	inSDP        sdpSession
	outSDP       sdpSession
	outEP        *media.Endpoint
	relay        relay

	from   string // the From user of the forks
	op     *dialroom.Operator
	record dialroom.CallRecord
	// ringTimeout is the route's ring_timeout; 0 takes the server's.
	ringTimeout time.Duration
	// timer is the caller's leg's session timer (RFC 4028, session.go);
	// zero interval: none. Set before run, then the call goroutine's. The
	// leg to the softphone requests none: the softphone is registered with
	// us, and its RTP timeout and its BYE end a call it lost.
	timer sessionTimer

	// What offers of ours await (extension_sdp.go), guarded by sdpMu:
	// inOfferOut and outOfferOut say which offer per leg (offerNone,
	// offerInitial, offerReinvite), ackSDP is the body of the caller's ACK
	// of a late offer, pendingTimerVal the session timer of the caller's
	// re-INVITE we offered in.
	inOfferOut, outOfferOut int
	ackSDP                  []byte
	pendingTimerVal         sessionTimer

	// early is the fork whose 183 with SDP the caller hears as early media
	// and earlyAnswer the SDP of our 183, reused in the 200 (RFC 3261
	// §13.2.1: the answer must not change without a new offer); the call
	// goroutine's.
	early       *fork
	earlyAnswer []byte
	// outside is set for an operator's softphone calling an outside
	// number: the call's one fork goes through the dial-out decision's
	// trunk (outside.go) instead of to the operator's softphones. Set
	// before the call is shared.
	outside *dialplan.DialoutDecision
	// viaTrunk is the dial-out decision the current round of forks goes
	// through: outside, or an outside number the call was transferred to
	// (transfer.go); nil when the forks ring softphones. Written by the
	// call goroutine before it starts a round's forks.
	viaTrunk *dialplan.DialoutDecision
	// callerID is the number forks through viaTrunk present: the calling
	// (or transferring) operator's own (callerIDFor), "" for the trunk's.
	// Written with viaTrunk.
	callerID string
	// releaseLine gives back the dial-out line a transfer to an outside
	// number took; nil otherwise. Call goroutine.
	releaseLine func()

	// ringback plays our ringing tone to the caller once early's media
	// stopped while other forks ring, holdToCaller and holdToCallee the hold
	// prompt while the other leg holds the call (extension_tones.go); nil
	// otherwise. The call goroutine's.
	ringback, holdToCaller, holdToCallee *tonePlayer

	forks    []*fork
	winner   atomic.Pointer[fork]   // the first fork to answer, or lost once ringing stopped
	forkGen  atomic.Uint32          // the current round of forks; a transfer starts the next (transfer.go)
	answered atomic.Pointer[fork]   // winner once bridged; in-dialog requests from it reach the call
	lost     fork                   // the sentinel winner when ringing stopped without an answer
	uacID    atomic.Pointer[string] // the winner's dialog ID once filed

	mailbox
}

// newExtensionCall creates the caller's dialog and both media endpoints and
// files the call with the server. On error nothing is left behind.
func (s *Server) newExtensionCall(req *sip.Request, tx sip.ServerTransaction, o offer, codecs codecChoice, outside *dialplan.DialoutDecision, log *slog.Logger) (*extensionCall, error) {
	dua := s.dialogUAFor(req)
	dlg, err := dua.ReadInvite(req, tx)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errMalformed, err)
	}
	c := &extensionCall{srv: s, log: log, id: dlg.ID, in: dlg, inOffer: o, callerCodecs: codecs, outside: outside, viaTrunk: outside, mailbox: newMailbox()}
	c.prov = newProvisionals(req, tx.Respond, &dua.ContactHDR, func() { c.post(prackTimedOut{}) })
	// The relay's endpoints read with a goroutine each, not on the server's
	// poller: the poller reads at the media clock's ticks, which would delay
	// each relayed packet by up to a frame for nothing (nothing here mixes).
	c.inEP, err = media.Listen(media.EndpointConfig{
		Ports: s.cfg.Ports, IP: s.cfg.RTPBind, Timeout: s.rtpTimeout(),
		OnPacket:  func(p *rtp.Packet, _ time.Time) { c.relay.fromCaller(p) },
		OnTimeout: func() { c.post(rtpTimedOut{}) },
	})
	if err != nil {
		return nil, err
	}
	c.outEP, err = media.Listen(media.EndpointConfig{
		Ports: s.cfg.Ports, IP: s.cfg.RTPBind, Timeout: s.rtpTimeout(),
		OnPacket:  func(p *rtp.Packet, _ time.Time) { c.relay.fromCallee(p) },
		OnTimeout: func() { c.post(calleeTimedOut{}) },
	})
	if err != nil {
		_ = c.inEP.Close()
		return nil, err
	}
	c.relay.caller, c.relay.callee = c.inEP, c.outEP
	if err := c.relay.init(); err != nil {
		_ = c.inEP.Close()
		_ = c.outEP.Close()
		return nil, err
	}
	c.inSDP = newSDPSession(s.cfg.MediaIP, c.inEP)
	c.outSDP = newSDPSession(s.cfg.MediaIP, c.outEP)
	c.ctx, c.cancel = context.WithCancelCause(s.ctx)
	if !s.addExtensionCall(c) {
		c.cancel(errShuttingDown)
		_ = c.inEP.Close()
		_ = c.outEP.Close()
		return nil, errShuttingDown
	}
	return c, nil
}

func newSDPSession(ip netip.Addr, ep *media.Endpoint) sdpSession {
	var id [8]byte
	_, _ = rand.Read(id[:])
	return sdpSession{id: binary.BigEndian.Uint64(id[:]) >> 1, local: netip.AddrPortFrom(ip, uint16(ep.Port()))}
}

// addExtensionCall files a call and counts its goroutine with the server's;
// false when the server is closing.
func (s *Server) addExtensionCall(c *extensionCall) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.exts.mu.Lock()
	if s.exts.byUAS == nil {
		s.exts.byUAS, s.exts.byUAC = map[string]*extensionCall{}, map[string]*extensionCall{}
	}
	s.exts.byUAS[c.id] = c
	if c.outside != nil {
		s.exts.outsideActive++
	}
	s.exts.mu.Unlock()
	s.wg.Add(1)
	return true
}

// removeExtensionCall forgets a call; called once by its goroutine as it ends.
func (s *Server) removeExtensionCall(c *extensionCall) {
	s.exts.mu.Lock()
	delete(s.exts.byUAS, c.id)
	if c.outside != nil {
		s.exts.outsideActive--
	}
	if id := c.uacID.Load(); id != nil && s.exts.byUAC[*id] == c {
		delete(s.exts.byUAC, *id)
	}
	s.exts.mu.Unlock()
	s.wg.Done()
}

// run is the call's goroutine: ring the forks, bridge the first answer,
// supervise, release. It returns when the call is over, with its dialog
// and endpoints closed (their ports back in the allocator), the call
// unfiled and its record written. A cancelled fork's goroutine may still be
// waiting for the softphone's 487 (RFC 3261 §9.1); Server.Close waits for
// those too.
func (c *extensionCall) run(bindings []Binding) {
	s := c.srv
	defer s.trackProvisionals(c.id, c.prov)()
	defer func() {
		c.prov.finish()
		c.cancel(nil)
		c.relay.stop()
		_ = c.in.Close()
		_ = c.inEP.Close()
		_ = c.outEP.Close()
		// Releases every fork's context (the winner's is done with). A
		// cancelled fork's goroutine may outlive the call, waiting for
		// its 487 (RFC 3261 §9.1); the server's WaitGroup counts it.
		c.cancelForks(nil, false)
		if c.releaseLine != nil {
			c.releaseLine()
		}
		s.removeExtensionCall(c)
	}()

	c.startForks(bindings)
	w := c.ring()
	if w == nil {
		return
	}
	if !c.bridge(w) {
		return
	}
	c.supervise(w)
}

// ring waits for the first fork to answer (RFC 3261 §13.2.2.4: the first
// 2xx wins) while relaying ringing to the caller as 180, and the first
// fork's 183 with SDP as our 183 with early media (startEarly). It returns the winner, or nil once the
// caller has its final response and the call is recorded: the caller
// cancelled (sipgo already answered 487, RFC 3261 §9.2), every fork failed
// (486 when all were busy, else 480), the ring timeout passed (480), or the
// server is closing (503).
func (c *extensionCall) ring() *fork {
	// Stopped before the relay runs again (bridge) or the call ends.
	defer c.stopRingback()
	timeout := c.ringFor()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	ringing := false
	busy, ended := 0, 0
	giveUp := func(cause error) bool {
		if !c.winner.CompareAndSwap(nil, &c.lost) {
			return false // a fork answered meanwhile: bridge it after all
		}
		c.cancel(cause)
		c.cancelForks(nil, errors.Is(cause, errShuttingDown))
		return true
	}
	for {
		select {
		case <-c.in.Context().Done():
			// RFC 3261 §9.2: the caller's CANCEL was answered 200 and the
			// INVITE 487 by sipgo's transaction layer; cancel every fork.
			if giveUp(errCancelled) {
				c.finish("abandoned", errCancelled)
				return nil
			}
		case <-timer.C:
			if giveUp(errExtensionNoAnswer) {
				c.refuse(480, "Temporarily Unavailable", "no_answer", fmt.Errorf("%w in %v", errExtensionNoAnswer, timeout))
				return nil
			}
		case <-c.srv.ctx.Done():
			if giveUp(errShuttingDown) {
				c.refuse(503, "Service Unavailable", "failed", errShuttingDown)
				return nil
			}
		case <-c.wake:
		}
		if w := c.winner.Load(); w != nil && w != &c.lost {
			return w
		}
		for _, m := range c.takeInbox() {
			switch m := m.(type) {
			case forkEarly:
				if c.early == nil && !c.inOffer.late && c.startEarly(m.f, m.body) {
					ringing = true // our 183 said it; the other forks' rings add nothing
					break
				}
				if !ringing {
					ringing = true
					c.ringing()
				}
			case forkRinging:
				if !ringing {
					ringing = true
					c.ringing()
				}
			case prackTimedOut:
				// RFC 3262 §3: a reliable provisional unacknowledged for
				// 64·T1 ends the INVITE with a 5xx.
				if giveUp(errNoPrack) {
					c.refuse(504, "Server Time-out", "failed", errNoPrack)
					return nil
				}
			case forkEnded:
				ended++
				if m.f == c.early {
					// Its early media is over: the caller hears our
					// ringing tone until another fork answers or ringing
					// ends (extension_ringback.go).
					c.relay.stop()
					if ended < len(c.forks) {
						c.startRingback()
					}
				}
				// RFC 3261 §21.4.24, §21.6.1: Busy Here, Busy Everywhere.
				if m.status == 486 || m.status == 600 {
					busy++
				}
				c.log.Debug("sip: fork ended", "contact", m.f.b.Contact, "status", m.status, "err", m.err)
			}
		}
		if w := c.winner.Load(); w != nil && w != &c.lost {
			return w
		}
		if ended == len(c.forks) && c.winner.CompareAndSwap(nil, &c.lost) {
			// Every fork has its final answer and none answered (RFC 3261
			// §16.7 step 6 would pick the best response; for one user's
			// phones "all busy" is the one worth telling apart).
			if busy == ended {
				c.cancel(errExtensionBusy)
				c.refuse(486, "Busy Here", "busy", errExtensionBusy)
			} else {
				c.cancel(errExtensionFailed)
				c.refuse(480, "Temporarily Unavailable", "failed", errExtensionFailed)
			}
			return nil
		}
	}
}

// ringing tells the caller that a softphone rings: 180, reliably when the
// caller supports 100rel.
func (c *extensionCall) ringing() {
	res := sip.NewResponseFromRequest(c.in.InviteRequest, 180, "Ringing", nil)
	res.AppendHeader(supportedHeader())
	if err := c.prov.send(res); err != nil {
		c.log.Debug("sip: 180 to the caller", "err", err)
	}
}

// refuse answers the caller's INVITE with a final status and records the
// call as outcome.
func (c *extensionCall) refuse(code int, reason, outcome string, cause error) {
	c.prov.finish()
	if err := c.in.Respond(code, reason, nil); err != nil {
		c.log.Debug("sip: extension final response", "status", code, "err", err)
	}
	c.log.Info("sip: extension call not answered", "status", code, "cause", cause)
	rec := c.record
	rec.Outcome, rec.Reason = outcome, fmt.Sprintf("%d %s: %v", code, reason, cause)
	c.srv.recordCall(rec)
	c.srv.exts.countEnded(outcome, c.outside != nil)
}

// finish records the call as outcome with cause.
func (c *extensionCall) finish(outcome string, cause error) {
	rec := c.record
	rec.Outcome, rec.Reason = outcome, cause.Error()
	c.srv.recordCall(rec)
	c.srv.exts.countEnded(outcome, c.outside != nil)
	c.log.Info("sip: extension call ended", "outcome", outcome, "cause", cause)
}

// bridge connects the caller to the answering fork w: the relay learns both
// legs' codecs and addresses, the caller gets our 200 with our SDP answer
// (RFC 3264 §6) and ACKs it. false when the call ended instead (the
// callee's answer was unusable, or the caller never ACKed); everything is
// then recorded and both legs are ended.
func (c *extensionCall) bridge(w *fork) bool {
	ans, connected := c.connectCallee(w)
	if !connected {
		c.refuse(480, "Temporarily Unavailable", "failed", context.Cause(c.ctx))
		return false
	}
	if c.earlyAnswer == nil {
		c.matchCaller(ans)
	}
	var body []byte
	var err error
	if c.inOffer.late {
		// Our offer goes in the 200, the caller's answer in the ACK
		// (RFC 3261 §13.2.1); the relay waits for it (applyLateAnswer).
		body, err = c.lateOfferSDP()
	} else {
		c.relay.setCaller(c.inOffer)
		if !c.inOffer.Remote.Addr().IsUnspecified() {
			c.inEP.SetRemote(c.inOffer.Remote)
		}
		body = c.earlyAnswer
		if body == nil {
			c.sdpMu.Lock()
			body, err = c.inSDP.answer(c.inOffer)
			c.sdpMu.Unlock()
		}
	}
	if err != nil {
		c.byeCallee(w)
		c.cancel(err)
		c.refuse(500, "Server Internal Error", "failed", err)
		return false
	}
	// RFC 3262 §3: no 2xx while a reliable provisional with SDP (our 183)
	// awaits its PRACK.
	if err := c.prov.awaitSDPAck(c.in.Context().Done()); err != nil {
		c.byeCallee(w)
		c.cancel(err)
		if errors.Is(err, errCancelled) { // sipgo answered the CANCEL and the INVITE (487)
			c.finish("abandoned", err)
		} else {
			c.refuse(504, "Server Time-out", "failed", err)
		}
		return false
	}
	c.prov.finish()
	ok := sip.NewSDPResponseFromRequest(c.in.InviteRequest, body)
	ok.AppendHeader(supportedHeader())
	for _, h := range c.timer.headers() { // RFC 4028 §9
		ok.AppendHeader(h)
	}
	// WriteResponse retransmits the 200 until the ACK (RFC 3261 §13.3.1.4).
	if err := c.in.WriteResponse(ok); err != nil {
		c.byeCallee(w)
		if c.byeWaiting() {
			// The caller's BYE overtook its ACK (sipgo handles each on
			// its own goroutine): the call was answered and is over.
			c.record.Admitted = c.srv.cfg.Now()
			c.cancel(errCallerHungUp)
			c.finish("answered", errCallerHungUp)
			return false
		}
		c.cancel(fmt.Errorf("%w: %v", errNoAck, err))
		c.finish("abandoned", context.Cause(c.ctx))
		return false
	}
	if c.inOffer.late && !c.applyLateAnswer() {
		// RFC 3261 §13.3.1.4: an ACK without a usable answer leaves
		// nothing but BYE, on both legs.
		c.byeCallee(w)
		c.byeCaller()
		c.finish("failed", context.Cause(c.ctx))
		return false
	}
	c.record.Admitted = c.srv.cfg.Now()
	c.log.Info("sip: extension answered", "contact", w.b.Contact, "caller_codec", c.inOffer.codecName(), "callee_codec", ans.codecName())
	return true
}

// connectCallee points the relay and the softphone's endpoint at w's SDP
// answer. false, with w's leg ended (BYE) and the call's context cancelled
// with errBadAnswer, when the answer is unusable. Call goroutine.
func (c *extensionCall) connectCallee(w *fork) (offer, bool) {
	ans, err := parseOfferWith(w.dlg.InviteResponse.Body(), calleeCodecs())
	if err == nil && !ans.Remote.Addr().IsValid() {
		err = errBadAnswer
	}
	if err != nil {
		c.byeCallee(w)
		c.cancel(fmt.Errorf("%w: %v", errBadAnswer, err))
		return offer{}, false
	}
	c.relay.setCallee(ans)
	if !ans.Remote.Addr().IsUnspecified() {
		c.outEP.SetRemote(ans.Remote)
	}
	return ans, true
}

// byeWaiting reports whether the caller's BYE is in the mailbox; the other
// messages stay there.
func (c *extensionCall) byeWaiting() bool {
	msgs := c.takeInbox()
	defer c.requeue(msgs)
	for _, m := range msgs {
		if _, ok := m.(byeReceived); ok {
			return true
		}
	}
	return false
}

// fileCallee makes in-dialog requests from the answering softphone (BYE,
// re-INVITE) reach this call. The winning fork's goroutine calls it as it
// wins, before the softphone can send any.
func (c *extensionCall) fileCallee(w *fork) {
	id := w.dlg.ID
	c.uacID.Store(&id)
	c.answered.Store(w)
	s := c.srv
	s.exts.mu.Lock()
	s.exts.byUAC[id] = c
	s.exts.mu.Unlock()
}

// ringFor is how long the softphones ring: the route's ring_timeout, else
// the server's, else DefaultExtensionRingTimeout.
func (c *extensionCall) ringFor() time.Duration {
	switch {
	case c.ringTimeout > 0:
		return c.ringTimeout
	case c.srv.cfg.ExtensionRingTimeout > 0:
		return c.srv.cfg.ExtensionRingTimeout
	}
	return DefaultExtensionRingTimeout
}

// supervise runs a bridged call until either side hangs up, a leg's RTP
// stops, the caller's session timer expires (RFC 4028 §10) or the server
// closes; then it ends the other leg (BYE, RFC 3261 §15) and records the
// call.
func (c *extensionCall) supervise(w *fork) {
	// The caller's session timer, as call.supervise's: stopped while none
	// was agreed; a re-INVITE from the caller refreshes or changes it.
	expiry, armExpiry := newExpiryTimer(&c.timer)
	defer expiry.Stop()
	for c.ctx.Err() == nil {
		select {
		case <-c.ctx.Done():
		case <-expiry.C:
			c.cancel(errSessionExpired)
		case <-c.wake:
			for _, m := range c.takeInbox() {
				if handled, reoffered := c.onCallerLeg(m); handled {
					if reoffered {
						armExpiry()
					}
					continue
				}
				switch m := m.(type) {
				case calleeBye:
					if w != nil && m.dialog == w.dlg.ID { // not a softphone transferred away
						c.cancel(errCalleeBye)
					}
				case transferRequested:
					w = c.transfer(m.target, w)
					armExpiry() // the caller may have refreshed its timer meanwhile
				case calleeTimedOut:
					c.cancel(errCalleeRTPTimeout)
				case calleeReoffer:
					c.applyCalleeOffer(m.offer)
				}
			}
		}
	}
	cause := context.Cause(c.ctx)
	c.relay.stop()
	c.setCallerHeld(false)
	c.setCalleeHeld(false)
	if w != nil && !errors.Is(cause, errCalleeBye) { // nil: a transfer that failed
		c.byeCallee(w)
	}
	if !errors.Is(cause, errCallerHungUp) {
		c.byeCaller()
	}
	c.finish("answered", cause)
}

// onCallerLeg handles a message about the caller's leg, the same while the
// call is bridged (supervise) and while a transfer rings (ringTransfer):
// its BYE, its RTP timeout, its re-INVITE (reoffered: the session timer may
// have changed). handled is false for any other message. Call goroutine.
func (c *extensionCall) onCallerLeg(m any) (handled, reoffered bool) {
	switch m := m.(type) {
	case byeReceived:
		c.cancel(errCallerHungUp)
	case rtpTimedOut:
		c.cancel(errRTPTimeout)
	case reoffer:
		c.applyCallerOffer(m.offer)
		c.timer = m.timer
		return true, true
	default:
		return false, false
	}
	return true, false
}

// byeCaller ends the caller's leg (RFC 3261 §15.1.1), bounded by byeTimeout.
func (c *extensionCall) byeCaller() {
	byeWithin(c.in, c.srv.trunkCert(c.callerTrunk), c.log, "caller")
}

// applyCallerOffer takes the caller's re-INVITE offer (already answered):
// hold, resume or a new address (RFC 3264 §8).
func (c *extensionCall) applyCallerOffer(o offer) {
	c.inOffer = o
	c.relay.setCaller(o)
	applyRemote(c.inEP, o, c.srv.rtpTimeout())
	c.setCallerHeld(o.onHold())
}

// applyCalleeOffer takes the softphone's re-INVITE offer (already answered).
func (c *extensionCall) applyCalleeOffer(o offer) {
	c.relay.setCallee(o)
	applyRemote(c.outEP, o, c.srv.rtpTimeout())
	c.setCalleeHeld(o.onHold())
}

// applyRemote points an endpoint at a (re-)offer's address; a held leg
// (RFC 3264 §8.4) may send nothing for as long as the hold lasts.
func applyRemote(ep *media.Endpoint, o offer, timeout time.Duration) {
	if o.Remote.Addr().IsValid() && !o.Remote.Addr().IsUnspecified() {
		ep.SetRemote(o.Remote)
	}
	if o.onHold() {
		ep.SetTimeout(-1)
	} else {
		ep.SetTimeout(timeout)
	}
}

// presentedNumber is the caller's number as the forks show it: From's user
// (RFC 3261 §20.20), or "anonymous" when it is withheld or the caller asked
// for privacy of its identity (RFC 3323 §4.2, Privacy: id or user).
func presentedNumber(req *sip.Request) string {
	num := callerNumber(req)
	for _, v := range strings.FieldsFunc(strings.ToLower(headerValue(req, "Privacy")), func(r rune) bool { return r == ';' || r == ',' || r == ' ' }) {
		if v == "id" || v == "user" {
			num = ""
		}
	}
	if num == "" || strings.EqualFold(num, "anonymous") {
		return "anonymous"
	}
	return num
}
