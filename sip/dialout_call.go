package sip

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dialroom/dialroom"
	"github.com/dialroom/dialroom/bridge"
	"github.com/dialroom/dialroom/dialplan"
	"github.com/dialroom/dialroom/media"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/pion/rtp"
)

// Why a call we placed ended: its context's cause (context.WithCancelCause),
// for the operator, the logs and the call record.
var (
	errOperatorCancelled = errors.New("the operator cancelled the call")
	errSetupAbandoned    = errors.New("the operator's console went away before the answer")
	errNoAnswer          = errors.New("no answer")
	errOperatorHungUp    = errors.New("the operator hung up")
	errCalleeHungUp      = errors.New("the callee hung up")
	errBadAnswer         = errors.New("the callee's answer had no usable audio")
)

// callState is what a placed call's goroutine owns: the dialog, the media and
// the room membership.
type callState struct {
	dlg    *sipgo.DialogClientSession
	ep     *media.Endpoint
	legp   atomic.Pointer[leg] // set once on answer; the RTP reader loads it
	sdpMu  sync.Mutex          // guards sdp: a re-INVITE is answered on its handler goroutine
	sdp    sdpSession
	offer  []byte
	member *bridge.Member
	record dialroom.CallRecord
	state  DialState
	// lastKey is the previous DTMF key, for two-key commands (*6, *#).
	lastKey byte
}

// Deliver implements bridge.Endpoint: room events are queued for the call's
// goroutine; it never blocks.
func (c *OutboundCall) Deliver(ev bridge.Event) { c.post(ev) }

// prepare opens the RTP endpoint and builds our offer; on error nothing is
// left open. Called by Dial before the goroutine starts.
func (c *OutboundCall) prepare() error {
	s := c.srv
	ep, err := s.listenRTP(func(p *rtp.Packet, at time.Time) {
		// Early media before the answer is dropped: the leg exists only
		// once the codec is agreed.
		if l := c.legp.Load(); l != nil {
			l.onPacket(p, at)
		}
	}, func() { c.post(rtpTimedOut{}) })
	if err != nil {
		return err
	}
	var id [8]byte
	_, _ = rand.Read(id[:])
	c.ep = ep
	c.sdp = sdpSession{id: binary.BigEndian.Uint64(id[:]) >> 1, local: netip.AddrPortFrom(s.cfg.MediaIP, uint16(ep.Port()))}
	c.offer, err = c.sdp.offer(trunkCodecs(c.decision.Trunk), dialoutDTMF) // before the goroutine: no lock needed yet
	if err != nil {
		_ = ep.Close()
		return err
	}
	c.record = dialroom.CallRecord{Number: c.req.Room.Digits, Operator: c.req.Operator, Kind: dialroom.MemberKindPhone,
		Role: dialroom.RoleGuest, Party: dialroom.MaskPhone(c.decision.Matched), Started: s.cfg.Now()}
	if c.decision.Rule != nil {
		c.record.Rule = c.decision.Rule.Name
	}
	return nil
}

// run is the call's goroutine: INVITE, wait for the answer (or cancel), ACK,
// join the room, supervise, release. setup bounds the time before the answer.
func (c *OutboundCall) run(setup context.Context) {
	s := c.srv
	defer close(c.done)
	defer s.removeDialout(c)
	defer c.ep.Close()
	defer c.cancel(nil)

	c.status(DialCalling, 0, "")
	if !c.invite(setup) {
		return
	}
	if !c.join() {
		return
	}
	c.supervise()
}

// status reports a change of state to the requester.
func (c *OutboundCall) status(st DialState, code int, reason string) {
	if st == c.state && !st.Final() {
		return
	}
	c.state = st
	if c.req.OnStatus != nil {
		c.req.OnStatus(DialStatus{ID: c.id, Number: c.decision.Matched, State: st, Status: code, Reason: reason})
	}
}

// finish records a call that was not answered and reports its final state.
func (c *OutboundCall) finish(st DialState, code int, reason string) {
	rec := c.record
	rec.Outcome, rec.Reason = string(st), reason
	if code != 0 {
		rec.Reason = fmt.Sprintf("%d %s", code, reason)
	}
	c.srv.recordCall(rec)
	c.log.Info("sip: dial-out "+string(st), "status", code, "reason", reason)
	c.status(st, code, reason)
}

// newInvite builds the INVITE for the trunk (trunkInvite).
func (c *OutboundCall) newInvite() *sip.Request {
	return c.srv.trunkInvite(c.decision.Trunk, c.decision.Number, c.callerID, c.offer)
}

// dialogUA returns the dialog layer for the trunk's transport.
func (c *OutboundCall) dialogUA() *sipgo.DialogUA { return c.srv.trunkDialogUA(c.decision.Trunk) }

// trunkInvite builds an INVITE through trunk t (RFC 3261 §8.1.1): to number
// at the carrier's registrar/proxy, from callerID (the calling operator's
// own number, callerIDFor), else the trunk's caller ID, else its user name
// (which carriers authenticate), with offer as its body.
func (s *Server) trunkInvite(t *dialplan.Trunk, number, callerID string, offer []byte) *sip.Request {
	scheme := "sip"
	if strings.HasPrefix(t.Registrar, "sips:") {
		// RFC 3261 §26.2.2, RFC 5630: through a SIPS carrier the call
		// asks for TLS on every hop to the callee.
		scheme = "sips"
	}
	ruri := sip.Uri{Scheme: scheme, User: number, Host: t.Host, Port: t.Port}
	if (t.Transport == dialplan.TCP || t.Transport == dialplan.TLS) && scheme == "sip" {
		ruri.UriParams = sip.NewParams()
		ruri.UriParams.Add("transport", string(t.Transport))
	}
	req := sip.NewRequest(sip.INVITE, ruri)
	user := cmp.Or(callerID, t.CallerID, t.Username)
	if user == "" {
		user = "dialroom"
	}
	setInviteHeaders(req, sip.Uri{Scheme: scheme, User: user, Host: t.Host},
		sip.Uri{Scheme: scheme, User: number, Host: t.Host}, offer)
	switch {
	case t.Transport == dialplan.TCP:
		req.SetTransport("TCP")
	case t.Transport == dialplan.TLS:
		// RFC 3261 §26.2: over a TLS connection to the carrier, verified
		// like the registration's (trunk_tls.go); sipgo reuses the
		// registration's connection when it is still open.
		req.SetTransport("TLS")
	case len(s.udp) > 0:
		// Send from the listener the trunk registered, so the carrier sees
		// the address it knows (and a NAT keeps one mapping).
		ap := netipAddrPort(s.udp[0].LocalAddr())
		req.SetTransport("UDP")
		req.Laddr = sip.Addr{IP: net.IP(ap.Addr().AsSlice()), Port: int(ap.Port())}
	}
	return req
}

// trunkDialogUA returns the dialog layer for trunk t's transport: our
// Contact then names that listener, where the callee's in-dialog requests
// (BYE) come if the connection is gone.
func (s *Server) trunkDialogUA(t *dialplan.Trunk) *sipgo.DialogUA {
	switch t.Transport {
	case dialplan.UDP:
		return s.dialog["UDP"]
	case dialplan.TCP:
		return s.dialog["TCP"]
	case dialplan.TLS:
		return s.dialog["TLS"]
	}
	return nil
}

// invite sends the INVITE and waits for the final response: ringing on
// every provisional one, digest credentials on 401/407 (RFC 3261 §22.2, with
// sipgo's digest code as registration.go uses it), CANCEL when the operator
// cancels, the console goes away or it rings too long (RFC 3261 §9.1). It
// returns true once a 2xx was ACKed; otherwise the call is recorded and over.
func (c *OutboundCall) invite(setup context.Context) bool {
	t := c.decision.Trunk
	dua := c.dialogUA()
	if dua == nil {
		c.finish(DialFailed, 0, fmt.Sprintf("no %s listener for trunk %q", t.Transport, t.Name))
		return false
	}
	ring, stopRinging := context.WithCancelCause(c.ctx)
	timer := time.NewTimer(c.req.RingTimeout)
	defer timer.Stop()
	watched := make(chan struct{})
	go func() { // ends with ring: at the latest when invite returns
		defer close(watched)
		select {
		case <-c.hangup:
			stopRinging(errOperatorCancelled)
		case <-setup.Done():
			stopRinging(errSetupAbandoned)
		case <-timer.C:
			stopRinging(errNoAnswer)
		case <-ring.Done():
		}
	}()
	defer func() { stopRinging(nil); <-watched }()

	inviteCtx, note := withClientCertNote(c.ctx, c.decision.Trunk.TLSCert)
	dlg, err := dua.WriteInvite(inviteCtx, c.newInvite())
	if err != nil {
		c.finish(DialFailed, 0, "could not send the INVITE: "+transportReason(err, note))
		return false
	}
	c.dlg = dlg
	c.srv.dialouts.invites.Add(1)
	c.log.Info("sip: dial-out INVITE sent", "trunk", t.Name, "call_id", callID(dlg.InviteRequest))
	err = dlg.WaitAnswer(ring, sipgo.AnswerOptions{
		OnResponse: func(res *sip.Response) error {
			if res.IsProvisional() {
				c.status(DialRinging, res.StatusCode, res.Reason)
			}
			return nil
		},
		Username: t.Username, Password: t.Password.Reveal(),
	})
	if err == nil {
		return c.answered()
	}
	// An answer that crossed our CANCEL must still be ACKed, then ended
	// with BYE (RFC 3261 §9.1, §15).
	if res := dlg.InviteResponse; res != nil && res.IsSuccess() {
		ackCtx, _ := withClientCertNote(context.Background(), c.decision.Trunk.TLSCert)
		if ackErr := dlg.Ack(ackCtx); ackErr == nil {
			c.bye()
		}
	}
	cause := context.Cause(ring)
	var rejected *sipgo.ErrDialogResponse
	switch {
	case errors.Is(cause, errOperatorCancelled), errors.Is(cause, errSetupAbandoned):
		c.finish(DialCancelled, 0, cause.Error())
	case errors.Is(cause, errNoAnswer):
		c.finish(DialNoAnswer, 0, fmt.Sprintf("no answer in %v", c.req.RingTimeout))
	case errors.Is(cause, errShuttingDown):
		c.finish(DialFailed, 0, "the server is shutting down")
	case errors.As(err, &rejected):
		st := DialFailed
		switch rejected.Res.StatusCode {
		case 486, 600: // Busy Here, Busy Everywhere (RFC 3261 §21.4.24, §21.6.1)
			st = DialBusy
		}
		c.finish(st, rejected.Res.StatusCode, rejected.Res.Reason)
	default:
		// No final response (RFC 3261 §17.1.1.2 Timer B) or a transport error.
		c.finish(DialFailed, 0, "no answer from the carrier: "+err.Error())
	}
	return false
}

// answered ACKs the 2xx (RFC 3261 §13.2.2.4), files the dialog and sets up
// the leg from the callee's SDP answer (RFC 3264 §6).
func (c *OutboundCall) answered() bool {
	dlg := c.dlg
	c.srv.setDialog(c, dlg.ID)
	ackCtx, _ := withClientCertNote(c.ctx, c.decision.Trunk.TLSCert) // as the INVITE's, should its connection be gone
	if err := dlg.Ack(ackCtx); err != nil {
		c.cancel(err)
		c.finish(DialFailed, 0, "could not ACK the answer: "+err.Error())
		return false
	}
	c.record.Admitted = c.srv.cfg.Now()
	// The callee's answer names one of the trunk's codecs we offered
	// (wideband too when the trunk lists it: widecodec.go).
	ans, err := parseOfferWith(dlg.InviteResponse.Body(), trunkCodecChoice(c.decision.Trunk))
	if err == nil && !ans.Remote.Addr().IsValid() {
		err = errBadAnswer
	}
	if err != nil {
		c.log.Info("sip: dial-out answer unusable", "err", err)
		c.bye()
		c.finish(DialFailed, dlg.InviteResponse.StatusCode, fmt.Sprintf("%s: %v", errBadAnswer, err))
		return false
	}
	jb, err := media.NewJitterBuffer(ans.jitterConfig())
	var l *leg
	if err == nil {
		l, err = newLeg(ans, jb)
	}
	if err != nil {
		c.bye()
		c.finish(DialFailed, 0, err.Error())
		return false
	}
	l.ep = c.ep
	l.onKey = func(k byte) { c.post(keyPressed{k}) }
	// RFC 3264 §6.1: the answerer's direction is its own; we send unless it
	// will not receive.
	l.sending.Store(ans.Direction == dirSendRecv || ans.Direction == dirRecvOnly)
	c.legp.Store(l)
	if !ans.Remote.Addr().IsUnspecified() {
		c.ep.SetRemote(ans.Remote)
	}
	c.log.Info("sip: dial-out answered", "remote", ans.Remote, "codec", ans.codecName())
	return true
}

// join puts the callee in the room (bridge.Engine.Enter: no lobby) and
// attaches its audio, as an admitted inbound call's. false when the room is
// gone; the call is then over.
func (c *OutboundCall) join() bool {
	select {
	case <-c.hangup: // hung up while the answer came
		c.cancel(errOperatorHungUp)
		c.hangUp()
		return false
	default:
	}
	id := dialroom.Identity{Role: dialroom.RoleGuest, Kind: dialroom.MemberKindPhone,
		Address: dialroom.MaskPhone(c.decision.Matched), Trunk: c.decision.Trunk.Name, Rule: c.record.Rule}
	if l := c.legp.Load(); l != nil {
		id.HD = l.Wideband()
	}
	m, err := c.srv.cfg.Engine.Enter(c.req.Room, c.req.OperatorName, id, c)
	if err == nil {
		l := c.legp.Load()
		l.inRoom.Store(true)
		if err = m.AttachPhoneAudio(l); err != nil {
			m.Leave("disconnected")
		}
	}
	if err != nil {
		c.cancel(fmt.Errorf("%w: %v", errJoinFailed, err))
		c.hangUp()
		return false
	}
	c.member = m
	c.status(DialAnswered, 200, c.dlg.InviteResponse.Reason)
	return true
}

// supervise runs an answered call until it ends: room events, signalling,
// media timeout and the operator's hang-up, all on this goroutine.
func (c *OutboundCall) supervise() {
	hangup := c.hangup
	for {
		select {
		case <-c.ctx.Done():
			c.hangUp()
			return
		case <-hangup:
			hangup = nil
			c.cancel(errOperatorHungUp)
			continue
		case <-c.wake:
		}
		for _, m := range c.takeInbox() {
			switch m := m.(type) {
			case byeReceived:
				c.cancel(errCalleeHungUp)
			case rtpTimedOut:
				c.cancel(errRTPTimeout)
			case keyPressed:
				c.onKey(m.key)
			case reoffer:
				c.applyOffer(m.offer)
			case bridge.Removed:
				c.member = nil // the room took the member out already
				c.cancel(errRemoved)
			case bridge.Ended:
				c.member = nil
				c.cancel(errRoomEnded)
			}
		}
	}
}

// hangUp ends an answered call: out of the room, BYE unless the callee hung
// up, the record written and the final state reported. The cause is the
// call context's.
func (c *OutboundCall) hangUp() {
	cause := context.Cause(c.ctx)
	if c.member != nil {
		reason := "disconnected"
		if errors.Is(cause, errCalleeHungUp) || errors.Is(cause, errOperatorHungUp) {
			reason = "left"
		}
		c.member.Leave(reason)
		c.member = nil
	}
	if l := c.legp.Load(); l != nil {
		l.inRoom.Store(false)
	}
	if !errors.Is(cause, errCalleeHungUp) {
		c.bye()
	}
	rec := c.record
	rec.Outcome, rec.Reason = "answered", cause.Error()
	c.srv.recordCall(rec)
	c.log.Info("sip: dial-out call ended", "cause", cause)
	c.status(DialEnded, 0, cause.Error())
}

// applyOffer takes a callee's new offer (re-INVITE, already answered): hold
// or resume (RFC 3264 §8.4), a new address (RFC 3264 §8.3.1). The codec
// stays the one first agreed: the leg encodes one law for the whole call.
func (c *OutboundCall) applyOffer(o offer) {
	l := c.legp.Load()
	valid := o.Remote.Addr().IsValid() && !o.Remote.Addr().IsUnspecified()
	l.sending.Store((o.Direction == dirSendRecv || o.Direction == dirRecvOnly) && valid)
	if valid {
		c.ep.SetRemote(o.Remote)
	}
	if o.onHold() {
		c.ep.SetTimeout(-1) // a held callee may send nothing for as long as the hold lasts
	} else {
		c.ep.SetTimeout(c.srv.rtpTimeout())
	}
	c.log.Debug("sip: dial-out offer applied", "remote", o.Remote, "direction", o.Direction)
}

// bye sends BYE (RFC 3261 §15.1.1), bounded by byeTimeout.
func (c *OutboundCall) bye() {
	byeWithin(c.dlg, c.decision.Trunk.TLSCert, c.log, "callee")
}

// onKey acts on the callee's keys in the room like an inbound caller's
// (docs/phone.md): *6 toggles self-mute, *# counts the members in beeps.
func (c *OutboundCall) onKey(key byte) {
	prev := c.lastKey
	c.lastKey = key
	roomKey(c.member, c.legp.Load(), prev, key)
}

var _ bridge.Endpoint = (*OutboundCall)(nil)

// setInviteHeaders gives an initial INVITE we send (RFC 3261 §8.1.1) its
// From (with a new tag), To, a new Call-ID, CSeq 1, Max-Forwards 70, Allow
// and the SDP offer as its body. Used by dial-out and by extension forks.
func setInviteHeaders(req *sip.Request, from, to sip.Uri, sdp []byte) {
	fromHdr := &sip.FromHeader{Address: from, Params: sip.NewParams()}
	fromHdr.Params.Add("tag", sip.GenerateTagN(16))
	req.AppendHeader(fromHdr)
	req.AppendHeader(&sip.ToHeader{Address: to, Params: sip.NewParams()})
	callID := sip.CallIDHeader(sip.GenerateTagN(24))
	req.AppendHeader(&callID)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: 1, MethodName: sip.INVITE})
	maxFwd := sip.MaxForwardsHeader(70)
	req.AppendHeader(&maxFwd)
	req.AppendHeader(allowHeader())
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody(sdp)
}
