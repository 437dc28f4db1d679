package webclient

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/coder/websocket"
	"github.com/pion/webrtc/v4"

	"github.com/dialroom/dialroom"
	"github.com/dialroom/dialroom/bridge"
)

// Limits of the signalling socket (docs/protocol.md).
const (
	// maxMessageSize bounds one client message; an SDP offer with many tracks is
	// about 10 KiB, so 64 KiB leaves room without letting a client make the
	// server buffer megabytes.
	maxMessageSize = 64 << 10
	// idleTimeout closes a socket that sent nothing (browsers ping every 20 s);
	// it is how a vanished client that left no TCP close behind is noticed.
	idleTimeout = 60 * time.Second
	// writeTimeout bounds one frame write to a slow client.
	writeTimeout = 10 * time.Second
	// outQueue and maxQueuedEvents bound what may pile up for a slow client before it
	// is disconnected rather than slowing its room down.
	outQueue        = 256
	maxQueuedEvents = 1024
	// maxNameLength bounds a guest's display name.
	maxNameLength = 64
)

// Session states.
const (
	stateNew     = "new"
	stateWaiting = "waiting"
	stateIn      = "in"
)

// session is one signalling WebSocket: a guest (lobby, then member) or an
// operator hosting a room. The run goroutine owns every field below the
// channels; the reader goroutine only decodes frames into inbox and the writer
// only writes out. The room reaches it through Deliver.
type session struct {
	srv      *Server
	conn     *websocket.Conn
	ip       string
	operator *dialroom.Operator // from the session cookie; nil for guests
	ctx      context.Context
	cancel   context.CancelCauseFunc

	inbox     chan inbound
	outMu     sync.Mutex // guards out against sends after it is closed
	out       chan any
	outClosed bool
	events    *eventQueue
	calls     chan func()

	state     string
	request   *bridge.Request
	member    *bridge.Member
	peer      *peer
	dials     dialState    // the operator's calls to phones (dial.go); has its own lock
	pageToken string       // the member's token for the shared material's pages (room_material.go)
	pointer   *pointerSlot // the presenter's latest pointer move, for the writer (room_pointer.go)
}

// closing causes that are not errors a client needs to hear about.
var (
	errLeft         = errors.New("left")
	errIdle         = errors.New("idle timeout")
	errClientClosed = errors.New("client closed the socket")
	errFinished     = errors.New("finished")
)

func (s *Server) handleWebSocket(w http.ResponseWriter, r *http.Request) {
	if !s.originAllowed(r) {
		s.writeError(w, r, dialroom.Errorf(dialroom.EDENIED, "This page may not connect from another site."))
		return
	}
	op, err := s.sessionOperator(r)
	if err != nil && dialroom.ErrorCode(err) != dialroom.EUNAUTHORIZED {
		s.writeError(w, r, err)
		return
	}
	// The Origin was checked above against our host and AllowedOrigins, which
	// the library's own host-only check would not know about.
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return // Accept has answered the client
	}
	conn.SetReadLimit(maxMessageSize)
	ctx, cancel := context.WithCancelCause(context.Background())
	sess := &session{srv: s, conn: conn, ip: s.clientIP(r), operator: op, ctx: ctx, cancel: cancel,
		inbox: make(chan inbound), out: make(chan any, outQueue), events: newEventQueue(maxQueuedEvents),
		calls: make(chan func(), 16), state: stateNew, pointer: newPointerSlot()}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		conn.Close(websocket.StatusGoingAway, "server shutting down")
		return
	}
	s.sessions[sess] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	s.cfg.Metrics.sockets.Inc()
	// The session runs on a goroutine of its own and the handler returns
	// (the connection is hijacked: net/http has let go of it). The
	// handler's goroutine is deep (net/http's connection loop, the
	// middleware, the upgrade), and one parked there for a meeting's hours
	// keeps the stack it grew: a few KiB per browser.
	go func() {
		defer func() {
			s.cfg.Metrics.sockets.Dec()
			s.mu.Lock()
			delete(s.sessions, sess)
			s.mu.Unlock()
			s.wg.Done()
		}()
		sess.run()
	}()
}

// Deliver implements bridge.Endpoint: it queues the event for the run
// goroutine, or disconnects a client too slow to keep up.
func (c *session) Deliver(ev bridge.Event) {
	if p, ok := ev.(bridge.PointerMoved); ok {
		if c.pointer != nil { // nil only in tests that drive a session by hand
			c.pointer.put(p) // coalesced, never queued (room_pointer.go)
		}
		return
	}
	if !c.events.push(ev) {
		c.cancel(errors.New("event queue full"))
		if a, ok := ev.(bridge.Admitted); ok {
			// The session will never handle this admission, so the member it
			// created must leave, or it would stay in the room for good. Deliver
			// runs under the room's lock, hence the goroutine.
			go a.Member.Leave("disconnected")
		}
	}
}

// send queues a message for the writer; a full queue disconnects the client.
// Safe from any goroutine.
func (c *session) send(msg any) {
	c.outMu.Lock()
	defer c.outMu.Unlock()
	if c.outClosed {
		return
	}
	select {
	case c.out <- msg:
	default:
		c.cancel(errors.New("send queue full"))
	}
}

// post runs f on the run goroutine (for pion callbacks).
func (c *session) post(f func()) {
	select {
	case c.calls <- f:
	case <-c.ctx.Done():
	}
}

func (c *session) run() {
	log := c.srv.log.With("client", c.ip)
	writerDone := make(chan struct{})
	go c.write(writerDone)
	// The reader has its own context: cancelling a Read's context closes the
	// connection at once, and the writer must first flush the last messages
	// (declined, ended, an error) when the session ends.
	readCtx, stopReading := context.WithCancel(context.Background())
	defer stopReading()
	// hello is queued before the reader starts: the reader queues its own
	// error answers, and hello must be the first message (docs/protocol.md).
	c.send(msgHello{Type: "hello", V: protocolVersion, ICEServers: c.srv.cfg.WebRTC.ICEServers})
	go c.read(readCtx)

	idle := time.NewTimer(idleTimeout)
	defer idle.Stop()
loop:
	for {
		select {
		case <-c.ctx.Done():
			break loop
		case msg := <-c.inbox:
			idle.Reset(idleTimeout)
			c.handleMessage(msg)
		case <-c.events.ready:
			for _, ev := range c.events.take() {
				c.handleEvent(ev)
			}
		case f := <-c.calls:
			f()
		case <-idle.C:
			c.cancel(errIdle)
		}
		if c.peer != nil && c.events.len() == 0 {
			c.peer.flush() // one offer for a burst of track changes
		}
	}
	cause := context.Cause(c.ctx)
	log.Debug("signalling closed", "cause", cause)
	c.cleanup(cause)
	c.outMu.Lock()
	c.outClosed = true
	close(c.out)
	c.outMu.Unlock()
	select {
	case <-writerDone:
	case <-time.After(writeTimeout):
	}
	c.conn.Close(websocket.StatusNormalClosure, "")
}

// cleanup takes the session out of its room.
func (c *session) cleanup(cause error) {
	c.revokePageToken()
	if c.peer != nil {
		c.peer.close()
		c.peer = nil
		c.srv.cfg.Metrics.peers.Dec()
	}
	if c.request != nil {
		c.request.Withdraw()
		c.request = nil
	}
	reason := "disconnected"
	if errors.Is(cause, errLeft) {
		reason = "left"
	}
	if c.member != nil {
		c.member.Leave(reason)
		c.member = nil
	}
	// Drain events the room queued meanwhile; nothing reads them after this.
	// An admission that raced with the end of the session (queued before the
	// Withdraw above could take the room's lock, so Withdraw did nothing) made
	// a member nobody would ever take out: it leaves now.
	for _, ev := range c.events.take() {
		if ev, ok := ev.(bridge.Admitted); ok {
			ev.Member.Leave(reason)
		}
	}
}

// read decodes client frames into inbox until the socket fails.
func (c *session) read(ctx context.Context) {
	for {
		typ, data, err := c.conn.Read(ctx)
		if err != nil {
			if websocket.CloseStatus(err) != -1 {
				c.cancel(errClientClosed)
			} else {
				c.cancel(err)
			}
			return
		}
		var msg inbound
		if typ != websocket.MessageText || json.Unmarshal(data, &msg) != nil || msg.Type == "" {
			c.send(errorMessage(errInvalid("Messages are JSON objects with a \"type\" field.")))
			continue
		}
		select {
		case c.inbox <- msg:
		case <-c.ctx.Done():
			return
		}
	}
}

// write sends queued messages in order until out is closed.
func (c *session) write(done chan<- struct{}) {
	defer close(done)
	for {
		var msg any
		select {
		case m, ok := <-c.out:
			if !ok {
				return
			}
			msg = m
		case <-c.pointer.ready:
			p := c.pointer.take()
			if p == nil {
				continue
			}
			msg = p
		}
		data, err := json.Marshal(msg)
		if err != nil {
			c.srv.log.Error("cannot encode message", "err", err)
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
		err = c.conn.Write(ctx, websocket.MessageText, data)
		cancel()
		if err != nil {
			c.cancel(err)
			for range c.out { // drain so senders never block
			}
			return
		}
	}
}

// shutdown ends the session because the server is stopping. It runs on the run
// goroutine and first handles events already queued, so a member whose room the
// engine just ended hears "ended" with its reason rather than a bare close.
func (c *session) shutdown() {
	for _, ev := range c.events.take() {
		if c.ctx.Err() == nil {
			c.handleEvent(ev)
		} else if a, ok := ev.(bridge.Admitted); ok {
			a.Member.Leave("disconnected") // as cleanup does with what it finds queued
		}
	}
	if c.ctx.Err() == nil {
		c.fail(errServerClosing)
	}
}

// fail tells the client why the session ends and ends it.
func (c *session) fail(err error) {
	c.send(errorMessage(err))
	c.cancel(errFinished)
}

func (c *session) handleMessage(msg inbound) {
	var err error
	switch msg.Type {
	case "ping":
		c.send(msgType{Type: "pong"})
	case "join":
		err = c.join(msg)
	case "host":
		err = c.host(msg)
	case "leave":
		c.cancel(errLeft)
	case "admit", "decline", "mute", "remove", "end":
		err = c.operatorAction(msg)
	case "dial":
		err = c.dial(msg)
	case "dial_cancel":
		err = c.dialCancel(msg)
	case "card_share":
		err = c.shareCard(msg)
	case "card_withdraw":
		err = c.withdrawCard()
	case "material_list", "material_select", "material_page", "material_present", "material_close", "material_policy":
		err = c.materialAction(msg)
	case "material_pointer":
		err = c.movePointer(msg)
	case "material_stroke", "material_undo", "material_clear":
		err = c.strokeAction(msg)
	case "self_mute":
		if err = c.mustBeIn(); err == nil && msg.Muted != nil {
			c.member.SetMuted(*msg.Muted)
		}
	case "camera":
		if err = c.mustBeIn(); err == nil && msg.On != nil {
			c.member.SetCamera(*msg.On)
		}
	case "renegotiate":
		if err = c.mustHavePeer(); err == nil {
			c.peer.renegotiate()
		}
	case "answer":
		if err = c.mustHavePeer(); err == nil {
			err = c.peer.answer(msg.SDP)
		}
	case "candidate":
		if err = c.mustHavePeer(); err == nil && msg.Candidate != nil && msg.Candidate.Candidate != "" {
			err = c.peer.candidate(*msg.Candidate)
		}
	default:
		err = errInvalid("Unknown message type %q.", msg.Type)
	}
	if err != nil {
		switch dialroom.ErrorCode(err) {
		case dialroom.ETHROTTLED, dialroom.EUNAUTHORIZED:
			c.fail(err)
		default:
			c.send(errorMessage(err))
		}
	}
}

func (c *session) mustBeIn() error {
	if c.member == nil {
		return errState("You are not in a conference.")
	}
	return nil
}

func (c *session) mustHavePeer() error {
	if c.peer == nil {
		return errState("Media is negotiated only after you are admitted.")
	}
	return nil
}

// notValidNumber is the one answer for unknown, revoked and expired numbers, so
// the answer does not tell a guesser which numbers exist.
func notValidNumber() error {
	return dialroom.Errorf(dialroom.ENOTFOUND, "That number is not valid. Check the number you were given and try again.")
}

// join handles a guest's join request (patent claim 2: the number is checked
// before anything reaches the operator).
func (c *session) join(msg inbound) error {
	if c.state != stateNew {
		return errState("You have already joined or asked to join.")
	}
	if err := c.srv.cfg.JoinLimiter.Check(c.ip, "Too many wrong numbers from your address. Wait a while before trying again."); err != nil {
		c.srv.cfg.Metrics.joinFailed("throttled")
		c.srv.log.Warn("join throttled", "client", c.ip)
		return err
	}
	digits, err := dialroom.NormalizeNumber(msg.Number)
	if err != nil {
		c.srv.cfg.Metrics.joinFailed("malformed")
		return err
	}
	n, err := c.srv.cfg.Store.LiveNumber(c.ctx, digits, c.srv.cfg.Now())
	if err != nil {
		if dialroom.ErrorCode(err) == dialroom.ENOTFOUND {
			c.srv.cfg.JoinLimiter.Fail(c.ip)
			c.srv.cfg.Metrics.joinFailed("not_found")
			// fail2ban-friendly: fixed words, the address as a field.
			c.srv.log.Warn("join failed: number not valid", "client", c.ip)
			return notValidNumber()
		}
		return err
	}
	opName := n.Operator
	if op, err := c.srv.cfg.Store.OperatorByLogin(c.ctx, n.Operator); err == nil {
		opName = op.Name()
	}
	id := dialroom.Identity{Role: dialroom.RoleGuest, Kind: dialroom.MemberKindBrowser,
		Name: cleanName(msg.Name), Address: c.ip}
	q, err := c.srv.cfg.Engine.RequestJoin(n, opName, id, c)
	if err != nil {
		return err
	}
	c.request = q
	c.state = stateWaiting
	c.srv.log.Info("join requested", "client", c.ip, "number", n.Formatted(), "request", q.ID())
	return nil
}

// cleanName trims a display name, drops control and formatting characters (so
// a name cannot fake lines or reorder text in the console) and caps its length.
func cleanName(name string) string {
	var b strings.Builder
	n := 0
	for _, r := range strings.TrimSpace(name) {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			continue
		}
		if n == maxNameLength {
			break
		}
		b.WriteRune(r)
		n++
	}
	return strings.TrimSpace(b.String())
}

// host puts the operator in the room of one of their live numbers.
func (c *session) host(msg inbound) error {
	if c.operator == nil {
		return dialroom.Errorf(dialroom.EUNAUTHORIZED, "Please log in to open a conference.")
	}
	if c.state != stateNew {
		return errState("You are already in a conference.")
	}
	digits, err := dialroom.NormalizeNumber(msg.Number)
	if err != nil {
		return err
	}
	n, err := c.srv.cfg.Store.LiveNumber(c.ctx, digits, c.srv.cfg.Now())
	if err != nil || n.Operator != c.operator.Login {
		if err == nil || dialroom.ErrorCode(err) == dialroom.ENOTFOUND {
			return dialroom.Errorf(dialroom.ENOTFOUND, "You have no live number %s.", dialroom.FormatNumber(digits))
		}
		return err
	}
	id := dialroom.Identity{Role: dialroom.RoleOperator, Kind: dialroom.MemberKindBrowser,
		Name: c.operator.Name(), Address: c.ip}
	m, err := c.srv.cfg.Engine.Host(n, c.operator.Name(), id, c)
	if err != nil {
		return err
	}
	c.member = m
	c.state = stateIn
	c.srv.log.Info("conference opened", "operator", c.operator.Login, "number", n.Formatted())
	return nil
}

func (c *session) operatorAction(msg inbound) error {
	if c.member == nil || c.member.Identity().Role != dialroom.RoleOperator {
		return dialroom.Errorf(dialroom.EDENIED, "Only the operator can do that.")
	}
	switch msg.Type {
	case "admit":
		_, err := c.member.Admit(msg.Request)
		return err
	case "decline":
		return c.member.Decline(msg.Request)
	case "mute":
		if msg.Muted == nil {
			return errInvalid("mute needs \"muted\": true or false.")
		}
		return c.member.Mute(msg.Member, *msg.Muted)
	case "remove":
		return c.member.Remove(msg.Member)
	default: // "end"
		return c.member.EndRoom()
	}
}

func (c *session) handleEvent(ev bridge.Event) {
	switch ev := ev.(type) {
	case bridge.Hosting:
		c.send(msgHosting{Type: "hosting", Number: c.member.Room().Number(),
			Formatted: dialroom.FormatNumber(c.member.Room().Number()), Self: toJSONMember(ev.Self),
			Members: toJSONMembers(ev.Members), Lobby: toJSONRequests(ev.Lobby), PageToken: c.issuePageToken()})
		c.startPeer()
	case bridge.Waiting:
		c.send(msgWaiting{Type: "waiting", Request: ev.RequestID, Operator: jsonOperator{Name: ev.OperatorName}})
	case bridge.JoinRequested:
		c.send(msgJoinRequest{Type: "join_request", Request: toJSONRequest(ev.Request)})
	case bridge.RequestGone:
		c.send(msgRequestGone{Type: "request_gone", Request: ev.RequestID, Reason: ev.Reason})
	case bridge.Admitted:
		c.request = nil
		c.member = ev.Member
		c.state = stateIn
		var op *jsonMember
		if ev.Operator.ID != "" {
			o := c.memberView(ev.Operator)
			op = &o
		}
		c.send(msgAdmitted{Type: "admitted", Self: toJSONMember(ev.Self), Operator: op, Members: c.membersView(ev.Members),
			PageToken: c.issuePageToken()})
		c.startPeer()
	case bridge.Declined:
		c.request = nil
		c.send(msgMessage{Type: "declined", Message: ev.Message})
		c.cancel(errFinished)
	case bridge.MemberJoined:
		c.send(msgMember{Type: "member_joined", Member: c.memberView(ev.Member)})
	case bridge.MemberLeft:
		c.send(msgMemberLeft{Type: "member_left", Member: ev.MemberID, Reason: ev.Reason})
	case bridge.MemberUpdated:
		c.send(msgMember{Type: "member_updated", Member: c.memberView(ev.Member)})
	case bridge.Talking:
		ids := ev.MemberIDs
		if ids == nil {
			ids = []string{}
		}
		c.send(msgTalking{Type: "talking", Members: ids})
	case bridge.Removed:
		c.member = nil
		c.send(msgMessage{Type: "removed", Message: ev.Message})
		c.cancel(errFinished)
	case bridge.Ended:
		c.member, c.request = nil, nil
		c.send(msgMessage{Type: "ended", Message: ev.Message})
		c.cancel(errFinished)
	case bridge.TrackAdded:
		if c.peer != nil {
			c.peer.subscribe(ev.Track)
		}
	case bridge.TrackRemoved:
		if c.peer != nil {
			c.peer.unsubscribe(ev.Track)
		}
	case bridge.CardShared, bridge.CardWithdrawn:
		c.cardEvent(ev)
	case bridge.MaterialSelected, bridge.MaterialPage, bridge.MaterialClosed, bridge.MaterialPolicy:
		c.materialEvent(ev)
	case bridge.StrokeAdded, bridge.StrokeRemoved, bridge.PageCleared:
		c.strokeEvent(ev)
	}
}

// memberView is another member's identification as this session may see it.
// The operator sees browser guests' full addresses (to decide on admission and
// to spot abuse); guests see each other's addresses masked ("192.0.2.x"):
// enough to tell members apart, not enough to target someone's connection.
// Phone members' numbers are masked for everyone already.
func (c *session) memberView(m bridge.MemberInfo) jsonMember {
	j := toJSONMember(m)
	if (c.member == nil || c.member.Identity().Role != dialroom.RoleOperator) && m.Identity.Kind == dialroom.MemberKindBrowser {
		j.Address = dialroom.MaskAddress(j.Address)
	}
	return j
}

func (c *session) membersView(ms []bridge.MemberInfo) []jsonMember {
	out := make([]jsonMember, 0, len(ms))
	for _, m := range ms {
		out = append(out, c.memberView(m))
	}
	return out
}

// startPeer creates the member's peer connection; the first offer follows once
// the pending events (the tracks already in the room) are handled.
func (c *session) startPeer() {
	if c.peer != nil {
		return
	}
	p, err := newPeer(c.srv.api, c.member, c.srv.log.With("member", c.member.ID()), c.send, c.post)
	if err != nil {
		c.srv.log.Error("cannot create peer connection", "err", err)
		c.fail(dialroom.Errorf(dialroom.EINTERNAL, "The server could not set up media for you."))
		return
	}
	p.pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		if st == webrtc.PeerConnectionStateFailed {
			c.post(func() { c.cancel(errors.New("media connection failed")) })
		}
	})
	c.peer = p
	c.srv.cfg.Metrics.peers.Inc()
}
