package sip

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"github.com/dialroom/dialroom"
	"github.com/dialroom/dialroom/bridge"
	"github.com/dialroom/dialroom/dialplan"
	"github.com/dialroom/dialroom/media"
	"github.com/emiago/sipgo/sip"
	"github.com/pion/rtp"
)

// lookupTimeout bounds the number and operator lookups of call setup: the
// caller hears nothing but ringing meanwhile.
const lookupTimeout = 5 * time.Second

// onInvite handles an INVITE. A new call is checked, routed and refused or
// answered here, and then this handler goroutine becomes the call's
// goroutine until it ends (sipgo runs each request's handler on its own
// goroutine, and keeps the INVITE transaction until the handler returns).
// An INVITE inside a dialog (a To tag) is a re-INVITE.
func (s *Server) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	if s.refuseUnsupported(req, tx) {
		return
	}
	if to := req.To(); to != nil && to.Params.Has("tag") {
		s.onReinvite(req, tx)
		return
	}
	started := s.cfg.Now()
	if err := checkInvite(req); err != nil {
		s.respondErr(req, tx, err)
		return
	}
	// Trunks are recognised by their source address before anything else
	// happens.
	plan := s.cfg.Plan()
	trunk := trunkOf(plan, req.Source())
	if trunk == nil {
		// Not a carrier's address: an operator's softphone or a trunk with
		// inbound_auth, either of which proves itself with digest
		// credentials (softphone.go). Without them the request gets a
		// challenge and nothing is kept.
		s.onSoftphoneInvite(req, tx, plan, started)
		return
	}
	s.onTrunkInvite(req, tx, plan, trunk, started)
}

// onTrunkInvite handles a new call from a trunk (by its source address or
// its credentials): route it by the dialplan, then refuse or answer it.
// The handler goroutine becomes the call's goroutine.
func (s *Server) onTrunkInvite(req *sip.Request, tx sip.ServerTransaction, plan *dialplan.Plan, trunk *dialplan.Trunk, started time.Time) {
	// RFC 3261 §17.2.1: 100 Trying at once, so the carrier stops
	// retransmitting while we look things up.
	s.respond(req, tx, 100, "Trying")

	from := callerNumber(req)
	rec := dialroom.CallRecord{Kind: dialroom.MemberKindPhone, Role: dialroom.RoleGuest, Party: maskCaller(from), Started: started}
	route := dialplan.Call{To: dialledNumber(req, trunk), From: from, Trunk: trunk.Name}
	d := plan.Route(route)
	rec.Number = d.Number
	if d.Rule != nil {
		rec.Rule = d.Rule.Name
	}
	log := s.log.With("call_id", callID(req), "trunk", trunk.Name, "from", maskCaller(from), "decision", d.String())
	if d.Action == dialplan.ActionExtension {
		// G.722 if the trunk lists it (Opus stays for conference calls: the relay has no clock to re-time it).
		s.ringExtension(req, tx, d, presentedNumber(req), "", trunk.Name, codecChoice{g722: trunkCodecChoice(trunk).g722}, rec, log) // extension.go
		return
	}

	num, opName, o, err := s.prepare(d, req, trunkCodecChoice(trunk))
	var timer sessionTimer
	if err == nil {
		timer, err = parseSessionTimer(req, time.Duration(s.minSE.Load()))
	}
	if err != nil {
		code, reason := statusOf(err)
		log.Info("sip: call refused", "status", code, "err", err)
		rec.Outcome, rec.Reason = "rejected", fmt.Sprintf("%d %s", code, reason)
		if num != nil {
			rec.Operator = num.Operator
		}
		if p := refusalPrompt(d, err); p != nil && s.announceRefusal(req, tx, p, err, log) {
			s.recordCall(rec)
			return
		}
		s.respond(req, tx, code, reason, statusHeaders(err)...)
		s.recordCall(rec)
		return
	}
	if num != nil {
		rec.Operator = num.Operator
	}

	c := s.acceptCall(req, tx, o, log, rec)
	if c == nil {
		return
	}
	c.number, c.opName, c.rule, c.record, c.timer = num, opName, d.Rule, rec, timer
	c.collect, c.route, c.prompt = d.Collect, route, d.Prompt
	c.ident = dialroom.Identity{Role: dialroom.RoleGuest, Kind: dialroom.MemberKindPhone, Address: maskCaller(from), Trunk: trunk.Name,
		HD: c.leg.Wideband()}
	c.run()
}

// prepare decides whether the call can be answered: the route's action,
// the number being live (patent claim 2: the number is checked before the
// operator hears of the call) and a usable offer, with a codec of codecs
// (or G.711).
func (s *Server) prepare(d dialplan.Decision, req *sip.Request, codecs codecChoice) (*dialroom.Number, string, offer, error) {
	var num *dialroom.Number
	var opName string
	switch d.Action {
	case dialplan.ActionConference:
		var err error
		if num, opName, err = s.lookupLive(s.ctx, d.Number); err != nil {
			return nil, "", offer{}, err
		}
	case dialplan.ActionCollect:
		// The number comes later, by DTMF (collect.go).
	case dialplan.ActionReject:
		return nil, "", offer{}, &rejection{Status: d.Status, Reason: d.Reason}
	default:
		// extension calls do not come here (ringExtension).
		return nil, "", offer{}, fmt.Errorf("%w: %s", errNotImplemented, d.Action)
	}
	if len(req.Body()) == 0 {
		// A late offer (RFC 3261 §13.2.1): we offer in the 200 and the
		// caller answers in the ACK (latesdp.go).
		return num, opName, offer{late: true, DTMF: -1}, nil
	}
	if ct := req.ContentType(); ct != nil && !strings.EqualFold(strings.TrimSpace(ct.Value()), "application/sdp") {
		return num, "", offer{}, fmt.Errorf("%w: content type %q", errUnsupportedBody, ct.Value())
	}
	// Into a conference the call may be wideband (widecodec.go).
	o, err := parseOfferWith(req.Body(), codecs)
	if err != nil {
		return num, "", offer{}, err
	}
	return num, opName, o, nil
}

// lookupLive returns a live issued number and its operator's display name;
// a number that is unknown, revoked or expired is an ENOTFOUND error (all
// three read the same to the caller).
func (s *Server) lookupLive(ctx context.Context, digits string) (*dialroom.Number, string, error) {
	ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	now := s.cfg.Now()
	num, err := s.cfg.LiveNumber(ctx, digits, now)
	if err != nil {
		return nil, "", err
	}
	if num == nil || !num.Live(now) {
		return nil, "", dialroom.Errorf(dialroom.ENOTFOUND, "The number is not in service.")
	}
	opName := num.Operator
	if s.cfg.OperatorName != nil {
		if n, err := s.cfg.OperatorName(ctx, num.Operator); err == nil && n != "" {
			opName = n
		}
	}
	return num, opName, nil
}

// acceptCall is newCall for a call that passed its checks: on failure it
// answers the INVITE with the failure's status, records the call as failed
// and returns nil.
func (s *Server) acceptCall(req *sip.Request, tx sip.ServerTransaction, o offer, log *slog.Logger, rec dialroom.CallRecord) *call {
	c, err := s.newCall(req, tx, o, log)
	if err != nil {
		log.Warn("sip: call setup failed", "err", err)
		s.respondErr(req, tx, err)
		rec.Outcome, rec.Reason = "failed", err.Error()
		s.recordCall(rec)
		return nil
	}
	return c
}

// newCall creates the dialog and the media of an accepted INVITE and
// registers the call with the server. On error nothing is left behind.
func (s *Server) newCall(req *sip.Request, tx sip.ServerTransaction, o offer, log *slog.Logger) (*call, error) {
	dlg, err := s.dialogUAFor(req).ReadInvite(req, tx)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errMalformed, err)
	}
	jb, err := media.NewJitterBuffer(o.jitterConfig())
	if err != nil {
		return nil, err
	}
	legOffer := o
	if o.late {
		// Until the ACK's answer names the law, the leg assumes the first of
		// our offer; no packet reaches it before then (mediaOpen).
		legOffer = offer{Codec: lateOfferCodecs()[0], DTMF: lateOfferDTMF}
	}
	l, err := newLeg(legOffer, jb)
	if err != nil {
		return nil, err
	}
	c := &call{srv: s, id: dlg.ID, log: log, dlg: dlg, offer: o, leg: l, mailbox: newMailbox()}
	l.onKey = func(k byte) { c.post(keyPressed{k}) }
	// With an offer in the INVITE the media is open at once; a late offer
	// opens it once the answer is applied, which is also what makes the
	// reader goroutine see the negotiated law (the atomic orders it).
	c.mediaOpen.Store(!o.late)
	ep, err := s.listenRTP(func(p *rtp.Packet, arrival time.Time) {
		if c.mediaOpen.Load() {
			l.onPacket(p, arrival)
		}
	}, func() { c.post(rtpTimedOut{}) })
	if err != nil {
		return nil, err
	}
	l.ep = ep
	var id [8]byte
	_, _ = rand.Read(id[:])
	c.sdp = sdpSession{id: binary.BigEndian.Uint64(id[:]) >> 1, local: netip.AddrPortFrom(s.cfg.MediaIP, uint16(ep.Port()))}
	c.ctx, c.cancel = context.WithCancelCause(s.ctx)
	if !s.addCall(c) {
		_ = ep.Close()
		return nil, errShuttingDown
	}
	return c, nil
}

// listenRTP opens a call's RTP endpoint: a port from the range, read by the
// server's poller at each clock tick. onPacket and onTimeout run on the
// clock's goroutine (or the endpoint's reader): they must be quick and must
// not close the endpoint (see media.EndpointConfig).
func (s *Server) listenRTP(onPacket func(*rtp.Packet, time.Time), onTimeout func()) (*media.Endpoint, error) {
	return media.Listen(media.EndpointConfig{
		Ports:     s.cfg.Ports,
		IP:        s.cfg.RTPBind,
		Poller:    s.rtp,
		Timeout:   s.rtpTimeout(),
		OnPacket:  onPacket,
		OnTimeout: onTimeout,
	})
}

func (s *Server) rtpTimeout() time.Duration {
	if s.cfg.RTPTimeout != 0 {
		return s.cfg.RTPTimeout
	}
	return media.DefaultRTPTimeout
}

// run starts the call on sipgo's handler goroutine: ring, answer, join the
// lobby (or collect the number first). The rest of its life, supervise, runs
// on a goroutine of its own started here, and the handler returns: the
// handler's stack is deep (sipgo's transaction layer, routing, SDP, the
// lobby's database lookups), and a goroutine parked for a call's minutes
// keeps the stack it grew, a few KiB per call. release runs once, on the
// goroutine the call ends on.
func (c *call) run() {
	if !c.start() {
		c.release()
		return
	}
	go func() {
		defer c.release()
		c.supervise()
	}()
}

// release frees what the call held, once it is over: its context, tick,
// RTP endpoint, dialog and its place in the server (and the server's
// WaitGroup count).
func (c *call) release() {
	c.cancel(nil)
	c.stopTick()
	c.leg.ep.Close()
	c.dlg.Close()
	c.srv.removeCall(c)
}

// start runs the call up to its supervision; false when it ended before
// (unanswered, refused, or hung up during the number's collection).
func (c *call) start() bool {
	s := c.srv

	if !c.ring() {
		c.finishUnanswered()
		return false
	}
	var answer []byte
	var err error
	if c.offer.late {
		answer, err = c.lateOfferSDP()
	} else {
		answer, err = c.answerSDP(c.offer)
	}
	if err != nil {
		c.cancel(err)
		_ = c.dlg.Respond(500, "Server Internal Error", nil)
		c.finishUnanswered()
		return false
	}
	if !c.offer.late {
		c.applyOffer(c.offer)
		c.startMedia()
	}
	// WriteResponse retransmits the 200 until the ACK (RFC 3261 §13.3.1.4)
	// and returns once it came, or with an error after 64·T1 or a CANCEL.
	ok := sip.NewSDPResponseFromRequest(c.dlg.InviteRequest, answer)
	ok.AppendHeader(supportedHeader())
	for _, h := range c.timer.headers() {
		ok.AppendHeader(h)
	}
	if err := c.dlg.WriteResponse(ok); err != nil {
		c.cancel(fmt.Errorf("%w: %v", errNoAck, err))
		c.finishUnanswered()
		return false
	}
	if c.offer.late && !c.applyLateAnswer() {
		c.recordUnjoined()
		c.hangUp(true)
		return false
	}
	c.log.Info("sip: answered", "remote", c.offer.Remote, "codec", c.offer.codecName())
	if c.number == nil {
		if !c.collectNumber(c.collect, c.route) {
			c.recordUnjoined()
			if c.ending != nil {
				return true // the goodbye plays, then BYE
			}
			c.hangUp(true)
			return false
		}
		c.playWaiting()
	}
	id := c.ident
	if c.rule != nil {
		id.Rule = c.rule.Name // the call record says why the call went to this room
	}
	if c.asOperator {
		// The operator calling their own number: into the room without the
		// lobby (Enter delivers Admitted, which attaches the audio).
		if _, err := s.cfg.Engine.Enter(c.number, c.opName, id, c); err != nil {
			c.log.Warn("sip: operator's softphone could not enter", "err", err)
			c.startGoodbye(fmt.Errorf("%w: %v", errJoinFailed, err))
		}
	} else if req, err := s.cfg.Engine.RequestJoin(c.number, c.opName, id, c); err != nil {
		c.log.Warn("sip: lobby", "err", err)
		c.startGoodbye(fmt.Errorf("%w: %v", errJoinFailed, err))
	} else {
		c.request = req
	}
	return true
}

// ring sends 180 Ringing and waits AnswerDelay; false if the caller
// cancelled (sipgo has answered the CANCEL and sent 487, RFC 3261 §9.2) or
// the server is closing (503).
func (c *call) ring() bool {
	if c.srv.cfg.AnswerDelay <= 0 {
		return true
	}
	if err := c.dlg.Respond(180, "Ringing", nil); err != nil {
		c.cancel(errCancelled)
		return false
	}
	t := time.NewTimer(c.srv.cfg.AnswerDelay)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.dlg.Context().Done():
		c.cancel(errCancelled)
	case <-c.ctx.Done():
		code, reason := statusOf(context.Cause(c.ctx))
		_ = c.dlg.Respond(code, reason, nil)
	}
	return false
}

// recordUnjoined records an answered call that never reached a lobby (the
// caller hung up while keying, or keyed no valid number).
func (c *call) recordUnjoined() {
	rec := c.record
	rec.Outcome, rec.Reason = "abandoned", "caller hung up"
	if c.ending != nil {
		rec.Outcome, rec.Reason = "rejected", c.ending.Error()
	} else if cause := context.Cause(c.ctx); cause != nil {
		rec.Reason = cause.Error()
	}
	c.srv.recordCall(rec)
}

// finishUnanswered records a call that ended before it reached the lobby.
func (c *call) finishUnanswered() {
	cause := context.Cause(c.ctx)
	rec := c.record
	rec.Outcome, rec.Reason = "abandoned", cause.Error()
	if errors.Is(cause, errShuttingDown) {
		rec.Outcome = "failed"
	}
	c.srv.recordCall(rec)
	c.log.Info("sip: call ended before answer", "cause", cause)
}

// answerSDP builds the next answer of the call's SDP session.
func (c *call) answerSDP(o offer) ([]byte, error) {
	c.sdpMu.Lock()
	defer c.sdpMu.Unlock()
	return c.sdp.answer(o)
}

// onReinvite answers an INVITE inside a dialog (RFC 3261 §14.2): hold,
// resume or a new address. The answer is sent from this handler goroutine;
// the call's goroutine applies it.
func (s *Server) onReinvite(req *sip.Request, tx sip.ServerTransaction) {
	c := s.lookupCall(req)
	if c == nil {
		if s.onDialoutReinvite(req, tx) || s.onExtensionReinvite(req, tx) {
			return
		}
		s.respondErr(req, tx, errNoDialog)
		return
	}
	if err := c.dlg.ReadRequest(req, tx); err != nil {
		// RFC 3261 §14.2: a lower CSeq than one already seen is answered 500.
		s.respond(req, tx, 500, "Server Internal Error")
		return
	}
	// A re-INVITE is also a session refresh (RFC 4028 §10).
	timer, err := parseSessionTimer(req, time.Duration(s.minSE.Load()))
	if err != nil {
		s.respondErr(req, tx, err)
		return
	}
	if len(req.Body()) == 0 {
		s.offerInReinvite(c, req, tx, timer) // we offer; the ACK answers
		return
	}
	var choice codecChoice // G.711
	if c.leg.wide != nil {
		choice.only = &c.leg.wide.format
	}
	o, err := parseOfferWith(req.Body(), choice)
	if err != nil {
		s.respondErr(req, tx, err)
		return
	}
	body, err := c.answerSDP(o)
	if err != nil {
		s.respondErr(req, tx, err)
		return
	}
	if err := tx.Respond(s.reinviteOK(req, body, timer)); err != nil {
		return
	}
	c.post(reoffer{o, timer})
}

// reinviteOK is the 200 to a re-INVITE with our SDP body: the agreed
// session timer (RFC 4028 §9) and our Contact (RFC 3261 §12.2.2 lets a
// target refresh change it).
func (s *Server) reinviteOK(req *sip.Request, body []byte, timer sessionTimer) *sip.Response {
	res := sip.NewSDPResponseFromRequest(req, body)
	res.AppendHeader(supportedHeader())
	for _, h := range timer.headers() {
		res.AppendHeader(h)
	}
	if dua := s.dialog[req.Transport()]; dua != nil {
		res.AppendHeader(sip.HeaderClone(&dua.ContactHDR))
	}
	return res
}

// checkInvite checks what call setup relies on (RFC 3261 §8.1.1): From, To,
// Call-ID, CSeq naming INVITE, a Contact, and a Request-URI.
func checkInvite(req *sip.Request) error {
	switch {
	case req.From() == nil, req.To() == nil, req.CallID() == nil:
		return fmt.Errorf("%w: From, To or Call-ID missing", errMalformed)
	case req.CSeq() == nil || req.CSeq().MethodName != sip.INVITE:
		return fmt.Errorf("%w: CSeq missing or not INVITE", errMalformed)
	case req.Contact() == nil:
		return fmt.Errorf("%w: Contact missing", errMalformed)
	case req.Recipient.Host == "":
		return fmt.Errorf("%w: Request-URI without host", errMalformed)
	}
	return nil
}

// trunkOf returns the enabled trunk whose sources include the request's
// source address ("ip:port" as the transport saw it), or nil.
func trunkOf(p *dialplan.Plan, source string) *dialplan.Trunk {
	ap, err := netip.ParseAddrPort(source)
	if err != nil || p == nil {
		return nil
	}
	return p.TrunkFrom(ap.Addr().Unmap())
}

// dialledNumber is the number the caller dialled. Carriers deliver it in
// one of two ways (both must work): in the Request-URI's user part, or only
// in To when the Request-URI is our registered Contact (its user is then
// the trunk's username, or empty).
func dialledNumber(req *sip.Request, trunk *dialplan.Trunk) string {
	user := req.Recipient.User
	if user == "" || (trunk != nil && trunk.Username != "" && user == trunk.Username) || user == "dialroom" {
		if to := req.To(); to != nil {
			return to.Address.User
		}
	}
	return user
}

// callerNumber is the calling number from From (RFC 3261 §20.20); ""
// when withheld. P-Asserted-Identity is not trusted yet.
func callerNumber(req *sip.Request) string {
	if f := req.From(); f != nil {
		return f.Address.User
	}
	return ""
}

func maskCaller(num string) string {
	if num == "" || strings.EqualFold(num, "anonymous") {
		return "anonymous"
	}
	return dialroom.MaskPhone(num)
}

func callID(req *sip.Request) string {
	if h := req.CallID(); h != nil {
		return h.Value()
	}
	return ""
}

func (s *Server) recordCall(rec dialroom.CallRecord) {
	if s.cfg.Record == nil {
		return
	}
	rec.Ended = s.cfg.Now()
	s.cfg.Record(rec)
}

var _ bridge.Endpoint = (*call)(nil)
var _ bridge.PhoneAudio = (*leg)(nil)
