package webclient

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/dialroom/dialroom"
	"github.com/dialroom/dialroom/bridge"
)

func TestHelloFirst(t *testing.T) {
	h := newHarness(t)
	c, _, err := h.dialWS("guest", "", "")
	if err != nil {
		t.Fatal(err)
	}
	// Even a client that talks at once (and wrongly) hears hello first.
	c.sendRaw(websocket.MessageText, []byte("not json"))
	f := c.next()
	var hello struct {
		Type       string            `json:"type"`
		V          int               `json:"v"`
		ICEServers []json.RawMessage `json:"ice_servers"`
	}
	f.decode(t, &hello)
	if hello.Type != "hello" || hello.V != 1 || !bytes.Contains(f.raw, []byte(`"ice_servers"`)) {
		t.Fatalf("first message = %s, want hello v1 with ice_servers", f)
	}
	if e := c.expectError(); e.Code != dialroom.EINVALID {
		t.Errorf("error = %+v", e)
	}
}

func TestMalformedMessages(t *testing.T) {
	h := newHarness(t)
	c := h.connect("guest", "")
	for name, msg := range map[string][]byte{
		"not JSON":      []byte("{nope"),
		"no type":       []byte(`{"number": "06012345678"}`),
		"JSON array":    []byte(`["join"]`),
		"unknown type":  []byte(`{"type": "teleport"}`),
		"operator only": []byte(`{"type": "admit", "request": "r1"}`),
		"not in a room": []byte(`{"type": "answer", "sdp": "v=0"}`),
		"bad number":    []byte(`{"type": "join", "number": "12345"}`),
	} {
		c.sendRaw(websocket.MessageText, msg)
		e := c.expectError()
		want := dialroom.EINVALID
		if name == "operator only" {
			want = dialroom.EDENIED
		}
		if e.Code != want {
			t.Errorf("%s: error %+v, want code %s", name, e, want)
		}
		// The socket stays usable.
		c.send(map[string]string{"type": "ping"})
		c.expect("pong")
	}
	c.sendRaw(websocket.MessageBinary, []byte(`{"type": "ping"}`))
	if e := c.expectError(); e.Code != dialroom.EINVALID {
		t.Errorf("binary frame: %+v", e)
	}
	c.send(map[string]string{"type": "ping"})
	c.expect("pong")
}

func TestMessageTooBig(t *testing.T) {
	h := newHarness(t)
	c := h.connect("guest", "")
	// Exactly at the limit is accepted ...
	pad := strings.Repeat("x", 64<<10-len(`{"type":"ping","pad":""}`))
	c.sendRaw(websocket.MessageText, []byte(`{"type":"ping","pad":"`+pad+`"}`))
	c.expect("pong")
	// ... one byte more closes the socket (RFC 6455 §7.4.1: 1009).
	c.sendRaw(websocket.MessageText, []byte(`{"type":"ping","pad":"`+pad+`x"}`))
	if status := c.closed(); status != websocket.StatusMessageTooBig {
		t.Errorf("close status = %v, want %v", status, websocket.StatusMessageTooBig)
	}
}

func TestForeignOriginWebSocket(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.AllowedOrigins = []string{"https://console.example.com"} })
	_, resp, err := h.dialWS("evil", "", "https://evil.example")
	if err == nil {
		t.Fatal("a WebSocket from a foreign Origin was accepted")
	}
	if resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("handshake answer = %v, want 403", resp)
	}
	// The listed origin and our own are welcome.
	for _, origin := range []string{"https://console.example.com", h.ts.URL} {
		c, _, err := h.dialWS("ok", "", origin)
		if err != nil {
			t.Fatalf("Origin %s: %v", origin, err)
		}
		c.expect("hello")
	}
}

// TestJoinNoOracle checks that unknown, revoked and expired numbers are
// indistinguishable, and that guessing is throttled per address.
func TestJoinNoOracle(t *testing.T) {
	h := newHarness(t)
	op := h.operator("alice", "Alice")
	revoked := h.issue(op)
	if err := h.db.RevokeNumber(t.Context(), "alice", revoked.Digits, time.Now()); err != nil {
		t.Fatal(err)
	}
	expired := &dialroom.Number{Digits: "06099990001", Operator: "alice",
		IssuedAt: time.Now().Add(-48 * time.Hour), ExpiresAt: time.Now().Add(-24 * time.Hour)}
	if err := h.db.CreateNumber(t.Context(), expired); err != nil {
		t.Fatal(err)
	}
	live := h.issue(op)

	c := h.connect("guesser", "")
	var answers []wsError
	for _, number := range []string{"060-9999-0000", revoked.Formatted(), expired.Formatted()} {
		c.send(map[string]string{"type": "join", "number": number, "name": "Mallory"})
		answers = append(answers, c.expectError())
	}
	for i, a := range answers {
		if a != answers[0] {
			t.Errorf("answer %d = %+v differs from %+v", i, a, answers[0])
		}
	}
	if answers[0].Code != dialroom.ENOTFOUND || answers[0].RetryAfter != 0 {
		t.Errorf("answer = %+v, want %s", answers[0], dialroom.ENOTFOUND)
	}
	for _, d := range []string{revoked.Digits, expired.Digits} {
		if strings.Contains(answers[0].Message, d) || strings.Contains(answers[0].Message, dialroom.FormatNumber(d)) {
			t.Errorf("the answer names the number: %q", answers[0].Message)
		}
	}

	// Two more wrong guesses (five in all) lock the address out, even on a
	// new socket and with the right number.
	c.send(map[string]string{"type": "join", "number": "060-9999-0001"})
	c.expectError()
	c.send(map[string]string{"type": "join", "number": "060-9999-0002"})
	c.expectError()
	c.send(map[string]string{"type": "join", "number": "060-9999-0003"})
	e := c.expectError()
	if e.Code != dialroom.ETHROTTLED || e.RetryAfter < 1 || e.RetryAfter > 600 {
		t.Errorf("sixth guess: %+v, want throttled with retry_after in 1..600", e)
	}
	c.closed()

	c2 := h.connect("guesser again", "")
	c2.send(map[string]string{"type": "join", "number": live.Digits})
	if e := c2.expectError(); e.Code != dialroom.ETHROTTLED || e.RetryAfter < 1 {
		t.Errorf("locked-out address with a live number: %+v, want throttled", e)
	}
	c2.closed()
	if s := h.engine.Stats(); s.Waiting != 0 {
		t.Errorf("a throttled join reached the lobby: %+v", s)
	}
}

func TestHostNeedsSession(t *testing.T) {
	h := newHarness(t)
	alice := h.operator("alice", "Alice")
	h.operator("bob", "Bob")
	n := h.issue(alice)

	anon := h.connect("anonymous", "")
	anon.send(map[string]string{"type": "host", "number": n.Digits})
	if e := anon.expectError(); e.Code != dialroom.EUNAUTHORIZED {
		t.Errorf("host without a session: %+v, want unauthorized", e)
	}
	anon.closed()

	bob := h.connect("bob", h.session("bob"))
	bob.send(map[string]string{"type": "host", "number": n.Digits})
	e := bob.expectError()
	if e.Code != dialroom.ENOTFOUND {
		t.Errorf("host of another operator's number: %+v, want not_found", e)
	}
	// The same answer as for a number that does not exist at all.
	bob.send(map[string]string{"type": "host", "number": "06099998888"})
	if e2 := bob.expectError(); e2.Code != e.Code {
		t.Errorf("unknown number: %+v, other's number: %+v", e2, e)
	}
	bob.send(map[string]string{"type": "ping"})
	bob.expect("pong")
	if s := h.engine.Stats(); s.Rooms != 0 {
		t.Errorf("a refused host opened a room: %+v", s)
	}
}

// TestAdmit follows the patent's sequence over the wire.
func TestAdmit(t *testing.T) {
	h := newHarness(t)
	alice := h.operator("alice", "Alice Operator")
	n := h.issue(alice)
	op, hosting := h.hostRoom("operator", h.session("alice"), n)
	if hosting.Number != n.Digits || hosting.Formatted != n.Formatted() || hosting.Self.Role != dialroom.RoleOperator ||
		hosting.Self.Name != "Alice Operator" || len(hosting.Members) != 0 || len(hosting.Lobby) != 0 {
		t.Fatalf("hosting = %+v", hosting)
	}

	guest, reqID := h.joinLobby("Bob", n)
	var jr struct {
		Request wsRequest `json:"request"`
	}
	op.expect("join_request").decode(t, &jr)
	if jr.Request.ID != reqID || jr.Request.Name != "Bob" || jr.Request.Address != "127.0.0.1" || jr.Request.Kind != dialroom.MemberKindBrowser || jr.Request.Since.IsZero() {
		t.Errorf("join_request = %+v, want %s from Bob at 127.0.0.1", jr.Request, reqID)
	}

	op.send(map[string]string{"type": "admit", "request": reqID})
	var ad wsAdmitted
	guest.expect("admitted").decode(t, &ad)
	if ad.Self.Name != "Bob" || ad.Self.Role != dialroom.RoleGuest || ad.Self.ID == "" {
		t.Errorf("admitted.self = %+v", ad.Self)
	}
	if ad.Operator == nil || ad.Operator.ID != hosting.Self.ID || ad.Operator.Name != "Alice Operator" || ad.Operator.Role != dialroom.RoleOperator {
		t.Errorf("admitted.operator = %+v, want %+v", ad.Operator, hosting.Self)
	}
	if len(ad.Members) != 1 || ad.Members[0].ID != hosting.Self.ID {
		t.Errorf("admitted.members = %+v, want the operator", ad.Members)
	}
	var offer struct {
		SDP string `json:"sdp"`
	}
	guest.expect("offer").decode(t, &offer)
	if !strings.HasPrefix(offer.SDP, "v=0") || !strings.Contains(offer.SDP, "m=audio") {
		t.Errorf("offer is not an SDP offer with audio: %.80q", offer.SDP)
	}

	var gone struct{ Request, Reason string }
	op.expect("request_gone").decode(t, &gone)
	if gone.Request != reqID || gone.Reason != "admitted" {
		t.Errorf("request_gone = %+v", gone)
	}
	var mj struct {
		Member wsMember `json:"member"`
	}
	op.expect("member_joined").decode(t, &mj)
	if mj.Member.ID != ad.Self.ID || mj.Member.Name != "Bob" || mj.Member.Address != "127.0.0.1" {
		t.Errorf("operator member_joined = %+v", mj.Member)
	}

	// A second guest: the first guest and the operator each hear of her.
	second, req2 := h.joinLobby("Carol", n)
	op.expect("join_request")
	op.send(map[string]string{"type": "admit", "request": req2})
	var ad2 wsAdmitted
	second.expect("admitted").decode(t, &ad2)
	if len(ad2.Members) != 2 {
		t.Errorf("second guest's members = %+v, want the operator and Bob", ad2.Members)
	}
	for _, c := range []*wsClient{op, guest} {
		var mj struct {
			Member wsMember `json:"member"`
		}
		if c == op {
			c.expect("request_gone")
		}
		c.expect("member_joined").decode(t, &mj)
		if mj.Member.ID != ad2.Self.ID || mj.Member.Name != "Carol" {
			t.Errorf("%s: member_joined = %+v, want Carol", c.name, mj.Member)
		}
	}

	// The operator mutes Bob; everyone is told.
	op.send(map[string]any{"type": "mute", "member": ad.Self.ID, "muted": true})
	for _, c := range []*wsClient{op, guest, second} {
		var up struct {
			Member wsMember `json:"member"`
		}
		c.expect("member_updated").decode(t, &up)
		if up.Member.ID != ad.Self.ID || !up.Member.Muted {
			t.Errorf("%s: member_updated = %+v", c.name, up.Member)
		}
	}
	// A guest may not.
	guest.send(map[string]any{"type": "mute", "member": ad2.Self.ID, "muted": true})
	if e := guest.expectError(); e.Code != dialroom.EDENIED {
		t.Errorf("guest mute: %+v, want denied", e)
	}

	// Bob leaves; the others are told.
	guest.send(map[string]string{"type": "leave"})
	guest.closed()
	for _, c := range []*wsClient{op, second} {
		var ml struct{ Member, Reason string }
		c.expect("member_left").decode(t, &ml)
		if ml.Member != ad.Self.ID || ml.Reason != "left" {
			t.Errorf("%s: member_left = %+v", c.name, ml)
		}
	}
}

// TestDeclineOverWire checks that a declined guest hears nothing but the
// decline, and is disconnected.
func TestDeclineOverWire(t *testing.T) {
	h := newHarness(t)
	alice := h.operator("alice", "Alice")
	n := h.issue(alice)
	op, _ := h.hostRoom("operator", h.session("alice"), n)
	member, _, _ := admitGuest(h, op, n, "Bob")

	guest, reqID := h.joinLobby("Mallory", n)
	op.expect("join_request")
	op.send(map[string]string{"type": "decline", "request": reqID})
	var d wsMessage
	guest.expect("declined").decode(t, &d)
	if d.Message == "" {
		t.Error("declined without a message")
	}
	guest.closed()
	var gone struct{ Request, Reason string }
	op.expect("request_gone").decode(t, &gone)
	if gone.Request != reqID || gone.Reason != "declined" {
		t.Errorf("request_gone = %+v", gone)
	}

	// The room carries on; the declined guest hears none of it.
	third, req3 := h.joinLobby("Carol", n)
	op.expect("join_request")
	op.send(map[string]string{"type": "admit", "request": req3})
	third.expect("admitted")
	op.send(map[string]string{"type": "end"})
	third.expect("ended")
	member.expect("member_joined")
	member.expect("ended")

	if got := guest.received(); !slices.Equal(got, []string{"hello", "waiting", "declined"}) {
		t.Errorf("declined guest received %v, want [hello waiting declined]", got)
	}
	for _, f := range guest.all() {
		for _, leak := range []string{"Bob", "Carol", `"members"`, "sdp"} {
			if bytes.Contains(f.raw, []byte(leak)) {
				t.Errorf("declined guest was sent %q: %s", leak, f)
			}
		}
	}
}

func TestEndOverWire(t *testing.T) {
	h := newHarness(t)
	alice := h.operator("alice", "Alice")
	n := h.issue(alice)
	op, _ := h.hostRoom("operator", h.session("alice"), n)
	guest, reqID := h.joinLobby("Bob", n)
	op.expect("join_request")
	waiting, _ := h.joinLobby("Carol", n)
	op.expect("join_request")
	op.send(map[string]string{"type": "admit", "request": reqID})
	guest.expect("admitted")
	op.expect("request_gone")
	op.expect("member_joined")

	// Only the operator can end.
	guest.send(map[string]string{"type": "end"})
	if e := guest.expectError(); e.Code != dialroom.EDENIED {
		t.Errorf("guest end: %+v, want denied", e)
	}

	op.send(map[string]string{"type": "end"})
	for _, c := range []*wsClient{guest, waiting, op} {
		var m wsMessage
		c.expect("ended").decode(t, &m)
		if m.Message == "" {
			t.Errorf("%s: ended without a message", c.name)
		}
		c.closed()
	}
	h.waitEngine("no rooms", func(s bridge.Stats) bool { return s == bridge.Stats{} })
}

// TestRevokeEndsRoom checks that revoking a number over the API ends its live
// conference and stops new joins.
func TestRevokeEndsRoom(t *testing.T) {
	h := newHarness(t)
	alice := h.operator("alice", "Alice")
	n := h.issue(alice)
	cookie := h.session("alice")
	op, _ := h.hostRoom("operator", cookie, n)
	guest, _, _ := admitGuest(h, op, n, "Bob")
	waiting, _ := h.joinLobby("Carol", n)
	op.expect("join_request")

	r := h.do(request{method: "GET", path: "/api/numbers", cookie: cookie})
	if !bytes.Contains(r.body, []byte(`"live_room":true`)) {
		t.Errorf("numbers list does not show the live room: %s", r.body)
	}

	if r := h.do(request{method: "DELETE", path: "/api/numbers/" + n.Digits, cookie: cookie}); r.status != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", r.status, r.body)
	}
	for _, c := range []*wsClient{guest, waiting, op} {
		c.expect("ended")
		c.closed()
	}
	late := h.connect("late", "")
	late.send(map[string]string{"type": "join", "number": n.Digits})
	if e := late.expectError(); e.Code != dialroom.ENOTFOUND {
		t.Errorf("join after revocation: %+v, want not_found", e)
	}
}

// TestGuestLeavesLobby checks a guest giving up while waiting.
func TestGuestLeavesLobby(t *testing.T) {
	h := newHarness(t)
	alice := h.operator("alice", "Alice")
	n := h.issue(alice)
	op, _ := h.hostRoom("operator", h.session("alice"), n)
	guest, reqID := h.joinLobby("Bob", n)
	op.expect("join_request")
	guest.send(map[string]string{"type": "join", "number": n.Digits})
	if e := guest.expectError(); e.Code != dialroom.EINVALID {
		t.Errorf("second join: %+v, want invalid", e)
	}
	guest.conn.CloseNow() // the browser tab closes
	var gone struct{ Request, Reason string }
	op.expect("request_gone").decode(t, &gone)
	if gone.Request != reqID || gone.Reason != "left" {
		t.Errorf("request_gone = %+v, want %s left", gone, reqID)
	}
}

// TestOperatorReconnect checks a second console window replacing the first.
func TestOperatorReconnect(t *testing.T) {
	h := newHarness(t)
	alice := h.operator("alice", "Alice")
	n := h.issue(alice)
	cookie := h.session("alice")
	first, _ := h.hostRoom("first window", cookie, n)
	_, reqID := h.joinLobby("Bob", n)
	first.expect("join_request")

	second, hosting := h.hostRoom("second window", cookie, n)
	if len(hosting.Lobby) != 1 || hosting.Lobby[0].ID != reqID {
		t.Errorf("second window's lobby = %+v, want Bob's request", hosting.Lobby)
	}
	first.expect("removed")
	first.closed()
	second.send(map[string]string{"type": "admit", "request": reqID})
	second.expect("request_gone")
	second.expect("member_joined")
}

// TestDisconnectWhileAdmitted checks that a guest whose socket goes away just
// as the operator admits them does not stay in the room as a ghost. The guest
// session is driven by hand so the race is deterministic: its socket has
// failed (the run loop is past its last event) when the Admitted event lands
// in its queue.
func TestDisconnectWhileAdmitted(t *testing.T) {
	h := newHarness(t)
	alice := h.operator("alice", "Alice")
	n := h.issue(alice)
	op, _ := h.hostRoom("operator", h.session("alice"), n)

	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	guest := &session{srv: h.srv, ip: "192.0.2.10", ctx: ctx, cancel: cancel,
		events: newEventQueue(maxQueuedEvents), state: stateNew}
	q, err := h.engine.RequestJoin(n, "Alice", dialroom.Identity{Kind: dialroom.MemberKindBrowser, Address: guest.ip}, guest)
	if err != nil {
		t.Fatal(err)
	}
	guest.request, guest.state = q, stateWaiting
	op.expect("join_request")

	cancel(errClientClosed) // the guest's socket fails ...
	op.send(map[string]string{"type": "admit", "request": q.ID()})
	// ... and the admission is delivered before the session cleans up: once
	// the operator hears request_gone, Admit has returned.
	op.expect("request_gone")
	op.expect("member_joined")
	guest.cleanup(context.Cause(ctx))

	var ml struct{ Member, Reason string }
	op.expect("member_left").decode(t, &ml)
	if ml.Reason != "disconnected" {
		t.Errorf("member_left = %+v, want reason disconnected", ml)
	}
	if s := h.engine.Stats(); s.Members != 1 {
		t.Errorf("Stats = %+v: the disconnected guest is still a member", s)
	}
}
