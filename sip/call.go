package sip

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dialroom/dialroom"
	"github.com/dialroom/dialroom/bridge"
	"github.com/dialroom/dialroom/dialplan"
	"github.com/dialroom/dialroom/media"
	"github.com/emiago/sipgo"
)

// Why a call ended: the cause of its context (context.WithCancelCause), for
// logs and records.
var (
	errCallerHungUp = errors.New("caller hung up")
	errCancelled    = errors.New("caller cancelled before answer")
	errNoAck        = errors.New("no ACK for our answer")
	errRTPTimeout   = errors.New("no RTP from the caller")
	errDeclined     = errors.New("operator declined")
	errRoomEnded    = errors.New("conference ended")
	errRemoved      = errors.New("removed by the operator")
	errJoinFailed   = errors.New("could not join the lobby")
)

// goodbyeLimit bounds how long the goodbye prompt may hold up a hang-up
// beyond its own length, in case the clock stops delivering ticks (engine
// shutting down).
const goodbyeLimit = 3 * time.Second

// byeTimeout bounds our BYE's transaction: RFC 3261 §17.1.2.2 would wait
// 64·T1 (32 s) for an unresponsive peer; the call is over either way.
const byeTimeout = 4 * time.Second

// byer is a dialog we can end: sipgo's server and client dialog sessions.
type byer interface {
	Bye(ctx context.Context) error
}

// byeWithin ends dialog d with a BYE (RFC 3261 §15.1.1) bounded by
// byeTimeout; a failure is only logged (to whom: the other side) since the
// call is over either way. It blocks until the BYE's transaction ends.
// cert is the client certificate of the dialog's trunk (tls_cert), nil for
// the server's: should the connection the dialog used be gone, sipgo opens
// a new one for the BYE, and a carrier that requires mutual TLS must see
// the same certificate as for the INVITE or it refuses the BYE.
func byeWithin(d byer, cert *tls.Certificate, log *slog.Logger, to string) {
	ctx, cancel := context.WithTimeout(context.Background(), byeTimeout)
	defer cancel()
	ctx, _ = withClientCertNote(ctx, cert)
	if err := d.Bye(ctx); err != nil {
		log.Debug("sip: BYE failed", "to", to, "err", err)
	}
}

// Messages posted to a call's goroutine besides bridge events.
type (
	byeReceived struct{}
	rtpTimedOut struct{}
	keyPressed  struct{ key byte }
	promptDone  struct{}
	reoffer     struct {
		offer offer
		timer sessionTimer
	}
)

// call is one inbound phone call. Its state belongs to its goroutine: the
// INVITE's handler goroutine until it is answered and in the lobby (start),
// then the one run starts for supervise; the room (Deliver), sipgo's
// handlers and the RTP reader only post messages to it.
type call struct {
	srv *Server
	id  string // dialog ID
	log *slog.Logger

	ctx    context.Context
	cancel context.CancelCauseFunc

	dlg    *sipgo.DialogServerSession
	offer  offer
	sdp    sdpSession
	sdpMu  sync.Mutex // guards sdp: a re-INVITE is answered on its handler goroutine
	leg    *leg
	sub    *media.Subscription // the leg's own tick; nil while in a room
	record dialroom.CallRecord
	number *dialroom.Number
	opName string
	ident  dialroom.Identity
	rule   *dialplan.Rule
	// collect is the access-number dialogue to run after the answer
	// (a collect route); route is the call as first routed, for routing the
	// keyed number.
	collect *dialplan.Collect
	route   dialplan.Call
	// asOperator: the number's own operator calling from their softphone
	// (softphone.go); they enter the room without the lobby.
	asOperator bool
	// mediaOpen lets RTP reach the leg: at once for an offer in the INVITE,
	// after the ACK's answer for a late offer (latesdp.go).
	mediaOpen atomic.Bool
	// What an offer of ours awaits (latesdp.go), guarded by sdpMu:
	// offerOut says which offer, ackSDP is the late-offer ACK's body,
	// pendingTimerVal the session timer of a re-INVITE we offered in.
	offerOut        int
	ackSDP          []byte
	pendingTimerVal sessionTimer
	// prompt is the routing decision's prompt: a collect route's question
	// until a number is keyed, then the lobby's waiting prompt.
	prompt *dialplan.Prompt
	timer  sessionTimer // RFC 4028; zero interval: none

	request *bridge.Request
	member  *bridge.Member
	ending  error            // set once the goodbye tone started
	goodbye <-chan time.Time // fires goodbyeLimit after the goodbye started
	lastKey byte             // the previous DTMF key, for two-key commands

	mailbox // posted to by the room, sipgo's handlers and the RTP reader
}

// Deliver implements bridge.Endpoint: it queues the event for the call's
// goroutine and never blocks.
func (c *call) Deliver(ev bridge.Event) { c.post(ev) }

// startTick subscribes the leg's own tick (prompts outside a room).
func (c *call) startTick() {
	if c.sub == nil {
		c.sub = c.srv.cfg.Clock.Subscribe(c.leg.tick)
	}
}

func (c *call) stopTick() {
	if c.sub != nil {
		c.sub.Stop()
		c.sub = nil
	}
}

// newExpiryTimer returns a session's expiry timer (RFC 4028 §10) and the
// function that re-arms it from *st as it is now: stopped while no timer is
// agreed, else due when the session expires without a refresh. The caller
// stops the timer.
func newExpiryTimer(st *sessionTimer) (*time.Timer, func()) {
	expiry := time.NewTimer(time.Hour)
	arm := func() {
		expiry.Stop()
		if st.interval > 0 {
			expiry.Reset(st.byeAfter())
		}
	}
	arm()
	return expiry, arm
}

// supervise runs an answered call until it ends: room events, signalling and
// media timeouts, all on this goroutine.
func (c *call) supervise() {
	// The session timer (RFC 4028 §10): stopped while no timer was agreed.
	expiry, armExpiry := newExpiryTimer(&c.timer)
	defer expiry.Stop()
	for {
		select {
		case <-c.ctx.Done():
			c.hangUp(true)
			return
		case <-c.goodbye:
			c.cancel(c.ending)
			c.hangUp(true)
			return
		case <-expiry.C:
			c.cancel(errSessionExpired)
			continue
		case <-c.wake:
		}
		for _, m := range c.takeInbox() {
			switch m := m.(type) {
			case byeReceived:
				c.cancel(errCallerHungUp)
			case rtpTimedOut:
				c.cancel(errRTPTimeout)
			case promptDone:
				if c.ending != nil {
					c.cancel(c.ending)
				}
			case keyPressed:
				c.onKey(m.key)
			case reoffer:
				c.applyOffer(m.offer)
				c.timer = m.timer
				armExpiry()
			case bridge.Event:
				if cause := c.onEvent(m); cause != nil && c.ending == nil {
					c.startGoodbye(cause)
				}
			}
		}
	}
}

// onEvent handles a room event; it returns the reason to hang up, or nil.
func (c *call) onEvent(ev bridge.Event) error {
	switch ev := ev.(type) {
	case bridge.Waiting:
		c.log.Debug("sip: waiting in the lobby", "request", ev.RequestID)
	case bridge.Admitted:
		if c.ending != nil {
			ev.Member.Leave("left")
			return nil
		}
		c.member = ev.Member
		c.record.Admitted = c.srv.cfg.Now()
		c.leg.play(nil, nil)
		c.leg.inRoom.Store(true)
		c.stopTick()
		if err := c.member.AttachPhoneAudio(c.leg); err != nil {
			c.log.Warn("sip: attach phone audio", "err", err)
			return err
		}
		c.log.Info("sip: admitted", "member", c.member.ID())
	case bridge.Declined:
		return errDeclined
	case bridge.Ended:
		return errRoomEnded
	case bridge.Removed:
		return errRemoved
	}
	return nil
}

// startGoodbye leaves the room (or the lobby), plays the declined prompt
// (the operator declined, or nobody admitted the caller in time) or the
// goodbye prompt (any other cause) once, and hangs up when it ends
// (promptDone) or goodbyeLimit after it should have.
func (c *call) startGoodbye(cause error) {
	c.ending = cause
	name := dialplan.PromptGoodbye
	if errors.Is(cause, errDeclined) {
		name = dialplan.PromptDeclined
	}
	src, dur := c.srv.prompts.source(c.srv.planPrompt(name), name, false)
	c.goodbye = time.After(dur + goodbyeLimit)
	c.leaveRoom("left")
	c.leg.inRoom.Store(false)
	c.leg.play(src, func() { c.post(promptDone{}) })
	c.startTick()
}

// leaveRoom takes the call out of its room or lobby; idempotent.
func (c *call) leaveRoom(reason string) {
	if c.member != nil {
		c.member.Leave(reason)
		c.member = nil
	}
	if c.request != nil {
		c.request.Withdraw()
		c.request = nil
	}
}

// hangUp ends the call: out of the room, BYE unless the caller hung up,
// media closed. The cause is the call context's.
func (c *call) hangUp(sendBye bool) {
	cause := context.Cause(c.ctx)
	reason := "disconnected"
	if errors.Is(cause, errCallerHungUp) || errors.Is(cause, errDeclined) || errors.Is(cause, errRemoved) || errors.Is(cause, errRoomEnded) {
		reason = "left"
	}
	c.leaveRoom(reason)
	c.stopTick()
	if sendBye && !errors.Is(cause, errCallerHungUp) {
		byeWithin(c.dlg, c.srv.trunkCert(c.route.Trunk), c.log, "caller")
	}
	c.log.Info("sip: call ended", "cause", cause)
}

// onKey acts on a key the caller pressed in the room (docs/phone.md):
// *6 toggles self-mute, *# counts the members in beeps.
func (c *call) onKey(key byte) {
	if c.member == nil {
		return
	}
	prev := c.lastKey
	c.lastKey = key
	roomKey(c.member, c.leg, prev, key)
}

// roomKey carries out a two-key command in the room (docs/phone.md) for a
// phone member m with leg l, given the key pressed before (prev): *6
// toggles self-mute with a confirmation tone, *# counts the members in
// beeps. Inbound and placed calls share it; it runs on the call's goroutine.
func roomKey(m *bridge.Member, l *leg, prev, key byte) {
	if prev != '*' || m == nil || l == nil {
		return
	}
	switch key {
	case '6':
		muted := !m.Muted()
		m.SetMuted(muted)
		l.overlay(muteTone(muted))
	case '#':
		l.overlay(countTone(len(m.Room().Members())))
	}
}

// applyOffer takes a new offer from a re-INVITE (already answered):
// hold or resume (RFC 3264 §8.4), a new address (RFC 3264 §8.3.1).
func (c *call) applyOffer(o offer) {
	c.offer = o
	hold := o.onHold()
	// We send unless the caller will not receive (RFC 3264 §6.1: an offer
	// of sendonly or inactive is answered recvonly or inactive).
	c.leg.sending.Store((o.Direction == dirSendRecv || o.Direction == dirRecvOnly) && o.Remote.Addr().IsValid() && !o.Remote.Addr().IsUnspecified())
	if o.Remote.Addr().IsValid() && !o.Remote.Addr().IsUnspecified() {
		c.leg.ep.SetRemote(o.Remote)
	}
	if hold {
		// A held caller may send nothing for as long as the hold lasts.
		c.leg.ep.SetTimeout(-1)
	} else {
		c.leg.ep.SetTimeout(c.srv.rtpTimeout())
	}
	c.log.Debug("sip: offer applied", "remote", o.Remote, "direction", o.Direction)
}
