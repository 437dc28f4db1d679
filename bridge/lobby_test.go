package bridge_test

import (
	"slices"
	"testing"
	"time"

	"github.com/dialroom/dialroom"
	"github.com/dialroom/dialroom/bridge"
)

// TestClaimsFlow follows the patent's sequence: the request reaches the
// operator with the guest's identification (claim 2), the approval reaches the
// guest with the operator's identification (claim 3), and a second admission is
// announced to the first guest and the operator (claim 4).
func TestClaimsFlow(t *testing.T) {
	e := newEngine(t, bridge.Config{})
	n := testNumber("06011112222")
	op, opEP := host(t, e, n)

	hosting := one[bridge.Hosting](t, "operator", opEP.Events())
	if hosting.Self.ID != op.ID() || hosting.Self.Identity.Role != dialroom.RoleOperator || len(hosting.Members) != 0 || len(hosting.Lobby) != 0 {
		t.Fatalf("Hosting = %+v", hosting)
	}

	// Claim 2: the request, with the guest's identification, reaches the operator.
	opMark := opEP.Len()
	q1, g1EP := request(t, e, n, "Bob", "192.0.2.10")
	if got := types(g1EP.Events()); !slices.Equal(got, []string{"bridge.Waiting"}) {
		t.Fatalf("guest 1 events after RequestJoin = %v, want [Waiting]", got)
	}
	w := g1EP.Events()[0].(bridge.Waiting)
	if w.RequestID != q1.ID() || w.OperatorName != operatorName {
		t.Errorf("Waiting = %+v, want request %s, operator %q", w, q1.ID(), operatorName)
	}
	jr := one[bridge.JoinRequested](t, "operator", opEP.Since(opMark))
	wantID := dialroom.Identity{Role: dialroom.RoleGuest, Kind: dialroom.MemberKindBrowser, Name: "Bob", Address: "192.0.2.10"}
	if jr.Request.ID != q1.ID() || jr.Request.Identity != wantID {
		t.Errorf("JoinRequested = %+v, want request %s with %+v", jr, q1.ID(), wantID)
	}
	if lobby := e.Lookup(n.Digits).Lobby(); len(lobby) != 1 || lobby[0].ID != q1.ID() {
		t.Errorf("Lobby() = %+v", lobby)
	}

	// Claim 3: admission reaches the guest with the operator's identification
	// and the members already in; those members hear of the guest.
	opMark = opEP.Len()
	g1Mark := g1EP.Len()
	m1, err := op.Admit(q1.ID())
	if err != nil {
		t.Fatalf("Admit: %v", err)
	}
	ad := one[bridge.Admitted](t, "guest 1", g1EP.Since(g1Mark))
	if ad.Member != m1 || ad.Self.ID != m1.ID() || ad.Self.Identity != wantID {
		t.Errorf("Admitted.Self = %+v (member %v), want %s", ad.Self, ad.Member, m1.ID())
	}
	if ad.Operator.ID != op.ID() || ad.Operator.Identity.Name != operatorName || ad.Operator.Identity.Role != dialroom.RoleOperator {
		t.Errorf("Admitted.Operator = %+v, want the operator %s", ad.Operator, op.ID())
	}
	if len(ad.Members) != 1 || ad.Members[0].ID != op.ID() {
		t.Errorf("Admitted.Members = %+v, want just the operator", ad.Members)
	}
	opEvents := opEP.Since(opMark)
	if gone := one[bridge.RequestGone](t, "operator", opEvents); gone.RequestID != q1.ID() || gone.Reason != "admitted" {
		t.Errorf("RequestGone = %+v", gone)
	}
	if mj := one[bridge.MemberJoined](t, "operator", opEvents); mj.Member.ID != m1.ID() || mj.Member.Identity != wantID {
		t.Errorf("operator MemberJoined = %+v", mj)
	}
	if lobby := e.Lookup(n.Digits).Lobby(); len(lobby) != 0 {
		t.Errorf("Lobby() after admission = %+v", lobby)
	}

	// Claim 4: a second admission is announced to the first guest and the
	// operator, and the second guest learns both of them.
	opMark, g1Mark = opEP.Len(), g1EP.Len()
	m2, g2EP := admitted(t, e, n, op, "Carol", "192.0.2.11")
	ad2 := one[bridge.Admitted](t, "guest 2", g2EP.Events())
	if ad2.Operator.ID != op.ID() {
		t.Errorf("guest 2 Admitted.Operator = %+v", ad2.Operator)
	}
	var ids []string
	for _, mi := range ad2.Members {
		ids = append(ids, mi.ID)
	}
	if !slices.Equal(ids, []string{op.ID(), m1.ID()}) {
		t.Errorf("guest 2 Admitted.Members = %v, want [%s %s]", ids, op.ID(), m1.ID())
	}
	for who, ep := range map[string]*recorder{"operator": opEP, "guest 1": g1EP} {
		from := map[string]int{"operator": opMark, "guest 1": g1Mark}[who]
		mj := one[bridge.MemberJoined](t, who, ep.Since(from))
		if mj.Member.ID != m2.ID() || mj.Member.Identity.Name != "Carol" || mj.Member.Identity.Address != "192.0.2.11" {
			t.Errorf("%s: MemberJoined = %+v, want Carol (%s)", who, mj, m2.ID())
		}
	}
	if got := len(only[bridge.MemberJoined](g2EP.Events())); got != 0 {
		t.Errorf("guest 2 got %d MemberJoined about others; the Admitted list is enough", got)
	}

	// Claim 5: everyone is one conference.
	members := e.Lookup(n.Digits).Members()
	if len(members) != 3 {
		t.Errorf("Members() = %+v, want 3", members)
	}
}

// TestDecline checks that a declined guest gets Declined and then nothing
// about the room, ever, while the room carries on around them.
func TestDecline(t *testing.T) {
	clk := newClock()
	e := newEngine(t, bridge.Config{Now: clk.Now, TickInterval: time.Millisecond})
	n := testNumber("06011113333")
	op, opEP := host(t, e, n)
	member, memberEP := admitted(t, e, n, op, "Bob", "192.0.2.10")

	q, declinedEP := request(t, e, n, "Mallory", "203.0.113.9")
	opMark, memberMark := opEP.Len(), memberEP.Len()
	if err := op.Decline(q.ID()); err != nil {
		t.Fatalf("Decline: %v", err)
	}
	if gone := one[bridge.RequestGone](t, "operator", opEP.Since(opMark)); gone.RequestID != q.ID() || gone.Reason != "declined" {
		t.Errorf("RequestGone = %+v, want %s declined", gone, q.ID())
	}
	if evs := memberEP.Since(memberMark); len(evs) != 0 {
		t.Errorf("member heard of the declined guest: %s", describe(evs))
	}
	if err := op.Decline(q.ID()); dialroom.ErrorCode(err) != dialroom.ENOTFOUND {
		t.Errorf("second Decline = %v, want %s", err, dialroom.ENOTFOUND)
	}
	if _, err := op.Admit(q.ID()); dialroom.ErrorCode(err) != dialroom.ENOTFOUND {
		t.Errorf("Admit after Decline = %v, want %s", err, dialroom.ENOTFOUND)
	}
	q.Withdraw() // a late hang-up changes nothing

	// The room carries on: a newcomer, a track, talking, an update, the end.
	third, _ := admitted(t, e, n, op, "Carol", "192.0.2.11")
	tr := member.Publish(bridge.TrackSpec{Kind: bridge.KindAudio, AudioLevelExtID: 1})
	tr.WriteRTP(audioPacket(t, 1, 20))
	opEP.waitFor(t, 0, "Talking", func(ev bridge.Event) bool { _, ok := ev.(bridge.Talking); return ok })
	third.SetCamera(true)
	if err := op.EndRoom(); err != nil {
		t.Fatalf("EndRoom: %v", err)
	}

	if got := types(declinedEP.Events()); !slices.Equal(got, []string{"bridge.Waiting", "bridge.Declined"}) {
		t.Errorf("declined guest events = %v, want [Waiting Declined]", got)
	}
	if d := declinedEP.Events()[1].(bridge.Declined); d.Message == "" {
		t.Error("Declined carries no message")
	}
}

// TestLobbyTimeout drives the lobby timeout with an injected clock.
func TestLobbyTimeout(t *testing.T) {
	clk := newClock()
	recs := &records{}
	e := newEngine(t, bridge.Config{Now: clk.Now, TickInterval: time.Millisecond, LobbyTimeout: time.Minute, Record: recs.Record})
	n := testNumber("06011116666")
	_, opEP := host(t, e, n)

	early, earlyEP := request(t, e, n, "Bob", "192.0.2.10")
	clk.Advance(30 * time.Second)
	late, lateEP := request(t, e, n, "Carol", "192.0.2.11")
	clk.Advance(31 * time.Second) // Bob has waited 61 s, Carol 31 s

	earlyEP.waitFor(t, 0, "Ended", func(ev bridge.Event) bool { _, ok := ev.(bridge.Ended); return ok })
	opEP.waitFor(t, 0, "RequestGone(timeout)", func(ev bridge.Event) bool {
		g, ok := ev.(bridge.RequestGone)
		return ok && g.RequestID == early.ID() && g.Reason == "timeout"
	})
	if got := types(earlyEP.Events()); !slices.Equal(got, []string{"bridge.Waiting", "bridge.Ended"}) {
		t.Errorf("timed-out guest events = %v", got)
	}
	// The tick that timed Bob out saw Carol at the same instant, and the clock
	// has not moved since: she must still be waiting.
	lobby := e.Lookup(n.Digits).Lobby()
	if len(lobby) != 1 || lobby[0].ID != late.ID() {
		t.Errorf("lobby = %+v, want only %s", lobby, late.ID())
	}
	if got := types(lateEP.Events()); !slices.Equal(got, []string{"bridge.Waiting"}) {
		t.Errorf("still-waiting guest events = %v", got)
	}
	var timeouts []dialroom.CallRecord
	for _, r := range recs.All() {
		if r.Outcome == "timeout" {
			timeouts = append(timeouts, r)
		}
	}
	if len(timeouts) != 1 || timeouts[0].Reason != "timeout" || timeouts[0].Ended.Sub(timeouts[0].Started) != 61*time.Second {
		t.Errorf("timeout records = %+v", timeouts)
	}

	clk.Advance(30 * time.Second)
	lateEP.waitFor(t, 0, "Ended", func(ev bridge.Event) bool { _, ok := ev.(bridge.Ended); return ok })
}

// TestLobbyTimeoutForgetsRoom: a guest who times out with no operator present
// leaves no room behind.
func TestLobbyTimeoutForgetsRoom(t *testing.T) {
	clk := newClock()
	e := newEngine(t, bridge.Config{Now: clk.Now, TickInterval: time.Millisecond, LobbyTimeout: time.Minute})
	n := testNumber("06011117777")
	_, ep := request(t, e, n, "Bob", "192.0.2.10")
	clk.Advance(time.Minute)
	ep.waitFor(t, 0, "Ended", func(ev bridge.Event) bool { _, ok := ev.(bridge.Ended); return ok })
	deadline := time.Now().Add(waitTimeout)
	for e.Lookup(n.Digits) != nil { // forgotten by the same housekeeping pass, after the event
		if time.Now().After(deadline) {
			t.Fatal("room of a timed-out lone guest was never forgotten")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestLobbyBeforeOperator: a guest may wait before the operator opens the
// room; the operator then finds them in Hosting.
func TestLobbyBeforeOperator(t *testing.T) {
	e := newEngine(t, bridge.Config{})
	n := testNumber("06055552222")
	q, gEP := request(t, e, n, "Bob", "192.0.2.10")
	op, opEP := host(t, e, n)
	h := one[bridge.Hosting](t, "operator", opEP.Events())
	if len(h.Lobby) != 1 || h.Lobby[0].ID != q.ID() || h.Lobby[0].Identity.Name != "Bob" {
		t.Fatalf("Hosting.Lobby = %+v", h.Lobby)
	}
	if _, err := op.Admit(q.ID()); err != nil {
		t.Fatal(err)
	}
	if ad := one[bridge.Admitted](t, "guest", gEP.Events()); ad.Operator.ID != op.ID() {
		t.Errorf("Admitted.Operator = %+v", ad.Operator)
	}
}

// TestLobbyLimit checks that a flood of requests is bounded.
func TestLobbyLimit(t *testing.T) {
	e := newEngine(t, bridge.Config{})
	n := testNumber("06055553333")
	var err error
	for i := 0; err == nil; i++ {
		if i > 1000 {
			t.Fatal("lobby never filled up")
		}
		_, err = e.RequestJoin(n, operatorName, guestID("guest", "192.0.2.10"), newRecorder("guest"))
	}
	if dialroom.ErrorCode(err) != dialroom.ETHROTTLED {
		t.Errorf("RequestJoin on a full lobby = %v, want %s", err, dialroom.ETHROTTLED)
	}
	if s := e.Stats(); s.Waiting != 100 {
		t.Errorf("waiting = %d, want the limit of 100", s.Waiting)
	}
}
