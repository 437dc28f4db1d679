package sip

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dialroom/dialroom"
	"github.com/dialroom/dialroom/dialplan"
	"github.com/emiago/sipgo/sip"
)

// Blind transfer (RFC 3515 REFER, RFC 5589 §6): the operator's softphone
// that answered an extension call presses Transfer and dials another
// extension or an outside number. dialroom, in the middle of the call,
// accepts the REFER (202), resolves the target as that operator's softphone
// would dial it (an extension route; an outside number under the dial-out
// policy, the operator's permissions and limits), reports the transfer as
// done to the softphone (NOTIFY with "SIP/2.0 200 OK", then BYE: the
// softphone's part is over, as on most PBXs), and rings the target while
// the caller hears the ringing tone; the first to answer is bridged to the
// caller. If nobody answers, the caller's call ends. A target the operator
// may not reach is reported in the NOTIFY and the call stays as it was.
//
// Not supported, each answered with a clear status: a REFER from the calling
// leg (the desk phone's own outside calls, or a carrier), attended transfer
// (Refer-To with Replaces), and REFER outside extension calls.

var (
	errTransferFailed = errors.New("nobody answered the transfer")
	errNoTransferHere = errors.New("transfer is supported from the answering softphone of an extension call")
)

// transferRequested is posted by onRefer to the call's goroutine.
type transferRequested struct{ target string }

// onRefer answers a REFER (RFC 3515 §2.4): 202 and the transfer goes to the
// call's goroutine, or a status saying why not.
func (s *Server) onRefer(req *sip.Request, tx sip.ServerTransaction) {
	if s.refuseUnsupported(req, tx) {
		return
	}
	c, fromCallee := s.extensionCallOf(req)
	if c == nil {
		if s.lookupCall(req) != nil || s.dialoutOf(req) != nil {
			s.respond(req, tx, 501, "Not Implemented", warningHeader(errNoTransferHere.Error()))
			return
		}
		s.respondErr(req, tx, errNoDialog)
		return
	}
	if err := c.readInDialog(req, tx, fromCallee); err != nil {
		s.respond(req, tx, 500, "Server Internal Error")
		return
	}
	if !fromCallee || c.outside != nil {
		s.respond(req, tx, 501, "Not Implemented", warningHeader(errNoTransferHere.Error()))
		return
	}
	target, code, why := referTarget(req)
	switch code {
	case 400:
		s.respond(req, tx, 400, "Bad Request", warningHeader(why))
		return
	case 501:
		s.respond(req, tx, 501, "Not Implemented", warningHeader(why))
		return
	}
	s.respond(req, tx, 202, "Accepted")
	c.post(transferRequested{target})
}

// referTarget reads the one Refer-To of a blind transfer: the user part of
// a SIP URI, what the softphone dialled. A status and the reason otherwise.
func referTarget(req *sip.Request) (string, int, string) {
	hs := req.GetHeaders("Refer-To")
	if len(hs) != 1 {
		return "", 400, "a REFER needs one Refer-To"
	}
	v := strings.TrimSpace(hs[0].Value())
	if strings.Contains(strings.ToLower(v), "replaces") {
		return "", 501, "attended transfer (Replaces) is not supported"
	}
	if i := strings.IndexByte(v, '<'); i >= 0 {
		v = strings.TrimSuffix(v[i+1:], ">")
		if j := strings.IndexByte(v, '>'); j >= 0 {
			v = v[:j]
		}
	}
	var uri sip.Uri
	if err := sip.ParseUri(v, &uri); err != nil || uri.User == "" {
		return "", 400, "Refer-To is not a SIP URI with a number"
	}
	return uri.User, 0, ""
}

// transfer carries out a blind transfer of the caller from old (the
// answering softphone) to target, on the call's goroutine. It returns the
// fork now bridged to the caller: old when the target was refused (the call
// goes on), the target's when it answered, nil when nobody did (the call's
// context is then cancelled).
func (c *extensionCall) transfer(target string, old *fork) *fork {
	log := c.log.With("transfer_to", dialroom.MaskPhone(target))
	bindings, via, err := c.transferTarget(target)
	if err != nil {
		code, reason := statusOf(err)
		log.Info("sip: transfer refused", "status", code, "err", err)
		c.notifyRefer(old, fmt.Sprintf("SIP/2.0 %d %s", code, reason))
		return old
	}
	c.notifyRefer(old, "SIP/2.0 200 OK")
	// The softphone's part is over: its leg ends, its dialog is forgotten
	// (a BYE of its own crossing ours gets 481).
	c.relay.stop()
	c.setCallerHeld(false)
	c.setCalleeHeld(false)
	c.unfileCallee(old)
	c.byeCallee(old)
	c.startRingback()
	defer c.stopRingback()
	c.viaTrunk, c.callerID = via, ""
	if via != nil {
		c.callerID = c.srv.callerIDFor(c.ctx, via.Trunk, c.op.Login, log)
	}
	c.forkGen.Add(1)
	c.winner.Store(nil)
	c.forks = nil
	c.startForks(bindings)
	w := c.ringTransfer()
	if w == nil {
		if c.ctx.Err() == nil {
			c.cancel(errTransferFailed)
		}
		log.Info("sip: transfer not answered", "cause", context.Cause(c.ctx))
		return nil
	}
	ans, ok := c.connectCallee(w)
	if !ok {
		return nil
	}
	log.Info("sip: transferred", "contact", w.b.Contact, "callee_codec", ans.codecName())
	return w
}

// transferTarget resolves what the transferring operator dialled as their
// softphone would (onSoftphoneInvite): an extension route's operator's
// registered softphones, or an outside number the dial-out policy lets
// them call (then counted against the limits until the call ends).
func (c *extensionCall) transferTarget(target string) ([]Binding, *dialplan.DialoutDecision, error) {
	s := c.srv
	plan := s.cfg.Plan()
	if plan == nil || c.op == nil {
		return nil, nil, dialroom.Errorf(dialroom.EDENIED, "No dialplan is loaded.")
	}
	ext := s.softphoneExtension(c.op.Login)
	if d := plan.Route(dialplan.Call{To: target, Extension: ext}); d.Action == dialplan.ActionExtension {
		op, err := s.resolveExtension(d.Extension)
		if err != nil {
			return nil, nil, err
		}
		if op.Login == c.op.Login {
			return nil, nil, dialroom.Errorf(dialroom.ECONFLICT, "You cannot transfer a call to yourself.")
		}
		bindings := s.liveBindings(op.Login)
		if len(bindings) == 0 {
			return nil, nil, dialroom.Errorf(dialroom.ENOTFOUND, "The extension is not registered.")
		}
		return bindings, nil, nil
	}
	number, ok := plan.SoftphoneOutside(target)
	if !ok {
		return nil, nil, dialroom.Errorf(dialroom.EDENIED, "Dial %s before an outside number.", plan.OutsidePrefix)
	}
	d := plan.Dialout(c.op.Login, number)
	if !d.Allowed {
		return nil, nil, dialroom.Errorf(dialroom.EDENIED, "%s", d.Reason)
	}
	s.mu.Lock()
	err := s.dialouts.takeLineLocked(c.op.Login, d.Trunk.Name, plan.DialoutLimits)
	s.mu.Unlock()
	if err != nil {
		return nil, nil, err
	}
	op, trunk := c.op.Login, d.Trunk.Name
	c.releaseLine = func() {
		s.mu.Lock()
		s.dialouts.releaseLineLocked(op, trunk)
		s.mu.Unlock()
	}
	return []Binding{{Contact: "outside " + dialroom.MaskPhone(d.Matched) + " via " + trunk}}, &d, nil
}

// ringTransfer waits for the first of the new round of forks to answer,
// while the caller (already answered) hears the ringing tone: no
// provisional responses to send. nil when none answered within the ring
// timeout, all failed, or the call ended (the caller hung up).
func (c *extensionCall) ringTransfer() *fork {
	timer := time.NewTimer(c.ringFor())
	defer timer.Stop()
	ended := 0
	giveUp := func() *fork {
		if c.winner.CompareAndSwap(nil, &c.lost) {
			c.cancelForks(nil, false)
			return nil
		}
		return c.winner.Load() // one answered meanwhile
	}
	for {
		select {
		case <-c.ctx.Done():
			return giveUp()
		case <-timer.C:
			return giveUp()
		case <-c.wake:
		}
		for _, m := range c.takeInbox() {
			if handled, _ := c.onCallerLeg(m); handled {
				continue // supervise re-arms the session timer afterwards
			}
			if m, ok := m.(forkEnded); ok && m.f.gen == c.forkGen.Load() {
				ended++
			}
			// The transferred softphone's BYE, RTP timeout and re-INVITEs,
			// and the new forks' ringing: nothing to do.
		}
		if w := c.winner.Load(); w != nil && w != &c.lost {
			return w
		}
		if c.ctx.Err() != nil || ended == len(c.forks) {
			return giveUp()
		}
	}
}

// notifyRefer tells the transferring softphone how its REFER went (RFC 3515
// §2.4.5): a sipfrag of the status line, ending the implicit subscription.
// Bounded by byeTimeout; a failure is only logged.
func (c *extensionCall) notifyRefer(old *fork, statusLine string) {
	res := old.dlg.InviteResponse
	if res == nil || res.Contact() == nil {
		return
	}
	req := sip.NewRequest(sip.NOTIFY, res.Contact().Address)
	req.AppendHeader(sip.NewHeader("Event", "refer"))
	req.AppendHeader(sip.NewHeader("Subscription-State", "terminated;reason=noresource"))
	req.AppendHeader(sip.NewHeader("Content-Type", "message/sipfrag;version=2.0"))
	req.SetBody([]byte(statusLine + "\r\n"))
	ctx, cancel := context.WithTimeout(context.Background(), byeTimeout)
	defer cancel()
	if _, err := old.dlg.Do(ctx, req); err != nil {
		c.log.Debug("sip: NOTIFY of the transfer", "err", err)
	}
}

// unfileCallee forgets old's dialog for in-dialog requests. Call goroutine.
func (c *extensionCall) unfileCallee(old *fork) {
	s := c.srv
	s.exts.mu.Lock()
	if s.exts.byUAC[old.dlg.ID] == c {
		delete(s.exts.byUAC, old.dlg.ID)
	}
	s.exts.mu.Unlock()
}
