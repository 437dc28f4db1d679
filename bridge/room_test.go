package bridge_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/dialroom/dialroom"
	"github.com/dialroom/dialroom/bridge"
)

// TestOperatorOnly checks that guests cannot manage the room.
func TestOperatorOnly(t *testing.T) {
	e := newEngine(t, bridge.Config{})
	n := testNumber("06011114444")
	op, opEP := host(t, e, n)
	guest, _ := admitted(t, e, n, op, "Bob", "192.0.2.10")
	other, _ := admitted(t, e, n, op, "Carol", "192.0.2.11")
	q, qEP := request(t, e, n, "Dave", "192.0.2.12")

	actions := []struct {
		name string
		do   func() error
	}{
		{"Admit", func() error { _, err := guest.Admit(q.ID()); return err }},
		{"Decline", func() error { return guest.Decline(q.ID()) }},
		{"Mute", func() error { return guest.Mute(other.ID(), true) }},
		{"Remove", func() error { return guest.Remove(other.ID()) }},
		{"RemoveOperator", func() error { return guest.Remove(op.ID()) }},
		{"EndRoom", func() error { return guest.EndRoom() }},
	}
	for _, a := range actions {
		t.Run(a.name, func(t *testing.T) {
			if err := a.do(); dialroom.ErrorCode(err) != dialroom.EDENIED {
				t.Fatalf("guest %s = %v, want %s", a.name, err, dialroom.EDENIED)
			}
		})
	}
	r := e.Lookup(n.Digits)
	if r == nil || len(r.Members()) != 3 || len(r.Lobby()) != 1 || other.Muted() {
		t.Fatalf("a denied action changed the room: %+v, lobby %+v", r.Members(), r.Lobby())
	}
	if got := types(qEP.Events()); !slices.Equal(got, []string{"bridge.Waiting"}) {
		t.Errorf("waiting guest events = %v", got)
	}

	// The operator may, and the checks on targets hold.
	if err := op.Remove(op.ID()); dialroom.ErrorCode(err) != dialroom.EINVALID {
		t.Errorf("operator removing themselves = %v, want %s", err, dialroom.EINVALID)
	}
	if err := op.Mute("m999", true); dialroom.ErrorCode(err) != dialroom.ENOTFOUND {
		t.Errorf("Mute(unknown) = %v, want %s", err, dialroom.ENOTFOUND)
	}
	if _, err := op.Admit("r999"); dialroom.ErrorCode(err) != dialroom.ENOTFOUND {
		t.Errorf("Admit(unknown) = %v, want %s", err, dialroom.ENOTFOUND)
	}
	mark := opEP.Len()
	if err := op.Mute(other.ID(), true); err != nil || !other.Muted() {
		t.Fatalf("operator Mute = %v, muted %v", err, other.Muted())
	}
	if up := one[bridge.MemberUpdated](t, "operator", opEP.Since(mark)); up.Member.ID != other.ID() || !up.Member.Muted {
		t.Errorf("MemberUpdated = %+v", up)
	}
	if err := op.Remove(guest.ID()); err != nil {
		t.Fatalf("operator Remove: %v", err)
	}
	if err := op.Remove(guest.ID()); dialroom.ErrorCode(err) != dialroom.ENOTFOUND {
		t.Errorf("second Remove = %v, want %s", err, dialroom.ENOTFOUND)
	}
}

// TestRemove checks what the removed member and the others are told.
func TestRemove(t *testing.T) {
	e := newEngine(t, bridge.Config{})
	n := testNumber("06011115555")
	op, opEP := host(t, e, n)
	guest, guestEP := admitted(t, e, n, op, "Bob", "192.0.2.10")
	_, otherEP := admitted(t, e, n, op, "Carol", "192.0.2.11")
	opMark, guestMark, otherMark := opEP.Len(), guestEP.Len(), otherEP.Len()
	if err := op.Remove(guest.ID()); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if got := types(guestEP.Since(guestMark)); !slices.Equal(got, []string{"bridge.Removed"}) {
		t.Errorf("removed guest events = %v, want [Removed]", got)
	}
	for who, evs := range map[string][]bridge.Event{"operator": opEP.Since(opMark), "other": otherEP.Since(otherMark)} {
		if ml := one[bridge.MemberLeft](t, who, evs); ml.MemberID != guest.ID() || ml.Reason != "removed" {
			t.Errorf("%s: MemberLeft = %+v", who, ml)
		}
	}
	guest.Leave("left") // idempotent after removal
	if got := len(e.Lookup(n.Digits).Members()); got != 2 {
		t.Errorf("members after removal = %d, want 2", got)
	}
}

// TestHostReplaces checks that the operator opening the room again (another
// window) replaces their old member.
func TestHostReplaces(t *testing.T) {
	e := newEngine(t, bridge.Config{})
	n := testNumber("06011118888")
	old, oldEP := host(t, e, n)
	guest, guestEP := admitted(t, e, n, old, "Bob", "192.0.2.10")
	tr := guest.Publish(bridge.TrackSpec{Kind: bridge.KindAudio})
	q, _ := request(t, e, n, "Carol", "192.0.2.11")

	oldMark, guestMark := oldEP.Len(), guestEP.Len()
	newEP := newRecorder("operator 2")
	op, err := e.Host(n, operatorName, operatorID(), newEP)
	if err != nil {
		t.Fatalf("second Host: %v", err)
	}
	if got := types(oldEP.Since(oldMark)); !slices.Equal(got, []string{"bridge.Removed"}) {
		t.Errorf("replaced operator events = %v, want [Removed]", got)
	}
	gevs := guestEP.Since(guestMark)
	if got := types(gevs); !slices.Equal(got, []string{"bridge.MemberLeft", "bridge.MemberJoined"}) {
		t.Fatalf("guest events = %v, want [MemberLeft MemberJoined]", got)
	}
	if ml := gevs[0].(bridge.MemberLeft); ml.MemberID != old.ID() || ml.Reason != "replaced" {
		t.Errorf("MemberLeft = %+v", ml)
	}
	if mj := gevs[1].(bridge.MemberJoined); mj.Member.ID != op.ID() || mj.Member.Identity.Role != dialroom.RoleOperator {
		t.Errorf("MemberJoined = %+v", mj)
	}
	hosting := one[bridge.Hosting](t, "operator 2", newEP.Events())
	if len(hosting.Members) != 1 || hosting.Members[0].ID != guest.ID() || len(hosting.Lobby) != 1 || hosting.Lobby[0].ID != q.ID() {
		t.Errorf("Hosting = %+v, want the guest and the waiting request", hosting)
	}
	if ta := one[bridge.TrackAdded](t, "operator 2", newEP.Events()); ta.Track != tr {
		t.Errorf("new operator TrackAdded = %v, want the guest's track", ta.Track)
	}
	if got := len(e.Lookup(n.Digits).Members()); got != 2 {
		t.Errorf("members = %d, want 2 (the guest and the new operator)", got)
	}

	// The lobby now reports to the new operator only.
	oldMark = oldEP.Len()
	q2, _ := request(t, e, n, "Dave", "192.0.2.12")
	if jr := only[bridge.JoinRequested](newEP.Events()); len(jr) != 1 || jr[0].Request.ID != q2.ID() {
		t.Errorf("new operator JoinRequested = %+v", jr)
	}
	if evs := oldEP.Since(oldMark); len(evs) != 0 {
		t.Errorf("replaced operator still hears the room: %s", describe(evs))
	}
	if _, err := op.Admit(q.ID()); err != nil {
		t.Errorf("new operator Admit: %v", err)
	}
}

// TestStaleOperatorHandle checks that an operator member who is no longer in
// the room (replaced by another window, or gone) cannot manage it.
func TestStaleOperatorHandle(t *testing.T) {
	e := newEngine(t, bridge.Config{})
	n := testNumber("06011119999")
	old, _ := host(t, e, n)
	guest, _ := admitted(t, e, n, old, "Bob", "192.0.2.10")
	op, _ := host(t, e, n) // replaces old
	q, qEP := request(t, e, n, "Carol", "192.0.2.11")

	actions := []struct {
		name string
		do   func() error
	}{
		{"Admit", func() error { _, err := old.Admit(q.ID()); return err }},
		{"Decline", func() error { return old.Decline(q.ID()) }},
		{"Mute", func() error { return old.Mute(guest.ID(), true) }},
		{"Remove", func() error { return old.Remove(guest.ID()) }},
		{"EndRoom", func() error { return old.EndRoom() }},
	}
	for _, a := range actions {
		t.Run(a.name, func(t *testing.T) {
			if err := a.do(); dialroom.ErrorCode(err) != dialroom.EGONE {
				t.Errorf("replaced operator %s = %v, want %s", a.name, err, dialroom.EGONE)
			}
		})
	}
	if guest.Muted() {
		t.Error("replaced operator muted a member")
	}
	if got := types(qEP.Events()); !slices.Equal(got, []string{"bridge.Waiting"}) {
		t.Errorf("waiting guest events = %v", got)
	}
	if r := e.Lookup(n.Digits); r == nil || len(r.Members()) != 2 || len(r.Lobby()) != 1 {
		t.Fatal("the room changed")
	}
	if _, err := op.Admit(q.ID()); err != nil {
		t.Errorf("current operator Admit: %v", err)
	}
}

// TestEnd checks that ending a room reaches members and the lobby, and that
// the number opens a fresh room afterwards.
func TestEnd(t *testing.T) {
	e := newEngine(t, bridge.Config{})
	n := testNumber("06022221111")
	op, opEP := host(t, e, n)
	_, g1EP := admitted(t, e, n, op, "Bob", "192.0.2.10")
	_, g2EP := admitted(t, e, n, op, "Carol", "192.0.2.11")
	_, waitingEP := request(t, e, n, "Dave", "192.0.2.12")
	op.Publish(bridge.TrackSpec{Kind: bridge.KindAudio})
	room := e.Lookup(n.Digits)

	eps := map[string]*recorder{"operator": opEP, "guest 1": g1EP, "guest 2": g2EP, "waiting": waitingEP}
	marks := map[string]int{}
	for who, ep := range eps {
		marks[who] = ep.Len()
	}
	if err := op.EndRoom(); err != nil {
		t.Fatalf("EndRoom: %v", err)
	}
	// Ended is all anyone hears: not each other leaving, nor the lobby
	// emptying, nor the tracks going, on the way out.
	for who, ep := range eps {
		evs := ep.Since(marks[who])
		if got := types(evs); !slices.Equal(got, []string{"bridge.Ended"}) {
			t.Errorf("%s: events at End = %v, want [Ended]", who, got)
		} else if msg := evs[0].(bridge.Ended).Message; msg == "" {
			t.Errorf("%s: Ended without a message", who)
		}
	}
	if got := types(waitingEP.Events()); !slices.Equal(got, []string{"bridge.Waiting", "bridge.Ended"}) {
		t.Errorf("waiting guest events = %v", got)
	}
	if e.Lookup(n.Digits) != nil {
		t.Error("ended room is still registered")
	}
	if s := e.Stats(); s != (bridge.Stats{}) {
		t.Errorf("Stats after End = %+v, want zero", s)
	}
	room.End("again") // idempotent
	if _, err := room.RequestJoin(guestID("Eve", "192.0.2.13"), newRecorder("Eve")); dialroom.ErrorCode(err) != dialroom.EGONE {
		t.Errorf("RequestJoin on the ended room = %v, want %s", err, dialroom.EGONE)
	}
	if _, err := room.Host(operatorID(), newRecorder("late operator")); dialroom.ErrorCode(err) != dialroom.EGONE {
		t.Errorf("Host on the ended room = %v, want %s", err, dialroom.EGONE)
	}

	// The number opens a new conference.
	if _, ep := request(t, e, n, "Eve", "192.0.2.13"); len(only[bridge.Waiting](ep.Events())) != 1 {
		t.Error("guest after End got no Waiting")
	}
	if r := e.Lookup(n.Digits); r == nil || r == room {
		t.Errorf("after End, Lookup = %p, want a new room (old %p)", r, room)
	}
}

// TestEngineCloseEndsRooms checks that Close ends every room.
func TestEngineCloseEndsRooms(t *testing.T) {
	e := bridge.NewEngine(bridge.Config{TickInterval: time.Hour})
	_, opEP := host(t, e, testNumber("06022222222"))
	_, qEP := request(t, e, testNumber("06022223333"), "Bob", "192.0.2.10")
	e.Close()
	e.Close() // idempotent
	for who, ep := range map[string]*recorder{"operator": opEP, "waiting": qEP} {
		if got := len(only[bridge.Ended](ep.Events())); got != 1 {
			t.Errorf("%s: %d Ended after Close, want 1", who, got)
		}
	}
}

// TestStats counts rooms, members and waiting guests across rooms.
func TestStats(t *testing.T) {
	e := newEngine(t, bridge.Config{})
	a, b := testNumber("06033331111"), testNumber("06033332222")
	opA, _ := host(t, e, a)
	admitted(t, e, a, opA, "Bob", "192.0.2.10")
	request(t, e, a, "Carol", "192.0.2.11")
	request(t, e, b, "Dave", "192.0.2.12")
	request(t, e, b, "Eve", "192.0.2.13")
	if got, want := e.Stats(), (bridge.Stats{Rooms: 2, Members: 2, Waiting: 3}); got != want {
		t.Errorf("Stats = %+v, want %+v", got, want)
	}
}

// TestRoomForgottenWhenEmpty checks that an empty room is dropped and that the
// number works again afterwards.
func TestRoomForgottenWhenEmpty(t *testing.T) {
	e := newEngine(t, bridge.Config{})
	n := testNumber("06044441111")

	op, _ := host(t, e, n)
	first := e.Lookup(n.Digits)
	op.Leave("left")
	if e.Lookup(n.Digits) != nil {
		t.Fatal("room is still registered after its only member left")
	}
	if _, err := first.RequestJoin(guestID("Bob", "192.0.2.10"), newRecorder("Bob")); dialroom.ErrorCode(err) != dialroom.EGONE {
		t.Errorf("RequestJoin on a forgotten room = %v, want %s", err, dialroom.EGONE)
	}

	q, ep := request(t, e, n, "Bob", "192.0.2.10")
	second := e.Lookup(n.Digits)
	if second == nil || second == first {
		t.Fatalf("RequestJoin after the room was forgotten: room %p (old %p)", second, first)
	}
	if len(only[bridge.Waiting](ep.Events())) != 1 {
		t.Errorf("guest events = %v", types(ep.Events()))
	}
	q.Withdraw()
	q.Withdraw() // idempotent
	if e.Lookup(n.Digits) != nil {
		t.Fatal("room is still registered after its only request was withdrawn")
	}

	// The operator arriving later finds a fresh room with an empty lobby.
	_, opEP := host(t, e, n)
	if h := one[bridge.Hosting](t, "operator", opEP.Events()); len(h.Lobby) != 0 || len(h.Members) != 0 {
		t.Errorf("Hosting in a fresh room = %+v", h)
	}
}

// TestEnter checks a participant entering without the lobby (a call the
// operator placed).
func TestEnter(t *testing.T) {
	e := newEngine(t, bridge.Config{})
	n := testNumber("06044442222")
	op, opEP := host(t, e, n)
	phone := dialroom.Identity{Role: dialroom.RoleGuest, Kind: dialroom.MemberKindPhone, Address: "090-****-5678", Trunk: "carrier"}
	ep := newRecorder("phone")
	m, err := e.Enter(n, operatorName, phone, ep)
	if err != nil {
		t.Fatalf("Enter: %v", err)
	}
	ad := one[bridge.Admitted](t, "phone", ep.Events())
	if ad.Member != m || ad.Operator.ID != op.ID() || len(ad.Members) != 1 {
		t.Errorf("Admitted = %+v", ad)
	}
	if mj := one[bridge.MemberJoined](t, "operator", opEP.Events()); mj.Member.Identity != phone {
		t.Errorf("MemberJoined = %+v", mj)
	}
	if len(only[bridge.JoinRequested](opEP.Events())) != 0 {
		t.Error("an operator-placed call went through the lobby")
	}
}

// TestCallRecords checks one record per member session and per lobby request
// that did not get in, with guests masked.
func TestCallRecords(t *testing.T) {
	clk := newClock()
	recs := &records{}
	e := newEngine(t, bridge.Config{Now: clk.Now, Record: recs.Record})
	n := testNumber("06055551111")
	start := clk.Now()

	op, _ := host(t, e, n)
	qBob, _ := request(t, e, n, "Bob", "192.0.2.10")
	clk.Advance(10 * time.Second)
	bob, err := op.Admit(qBob.ID())
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute)
	bob.Leave("left")

	qCarol, _ := request(t, e, n, "Carol", "192.0.2.11")
	if err := op.Decline(qCarol.ID()); err != nil {
		t.Fatal(err)
	}
	qDave, _ := request(t, e, n, "Dave", "2001:db8:1:2::5")
	qDave.Withdraw()
	eve, _ := admitted(t, e, n, op, "Eve", "192.0.2.13")
	if err := op.Remove(eve.ID()); err != nil {
		t.Fatal(err)
	}
	phone := dialroom.Identity{Role: dialroom.RoleGuest, Kind: dialroom.MemberKindPhone, Name: "Frank", Address: "090-****-5678"}
	if _, err := e.RequestJoin(n, operatorName, phone, newRecorder("phone")); err != nil {
		t.Fatal(err)
	}
	if err := op.EndRoom(); err != nil {
		t.Fatal(err)
	}

	type rec struct{ Kind, Role, Party, Outcome, Reason string }
	want := []rec{
		{dialroom.MemberKindBrowser, dialroom.RoleGuest, "192.0.2.x", "admitted", "left"},
		{dialroom.MemberKindBrowser, dialroom.RoleGuest, "192.0.2.x", "declined", "declined"},
		{dialroom.MemberKindBrowser, dialroom.RoleGuest, "2001:db8:1::/48", "abandoned", "left"},
		{dialroom.MemberKindBrowser, dialroom.RoleGuest, "192.0.2.x", "admitted", "removed"},
		{dialroom.MemberKindPhone, dialroom.RoleGuest, "090-****-5678", "ended", "ended"},
		{dialroom.MemberKindBrowser, dialroom.RoleOperator, operatorName, "admitted", "ended"},
	}
	all := recs.All()
	var got []rec
	for _, r := range all {
		got = append(got, rec{r.Kind, r.Role, r.Party, r.Outcome, r.Reason})
		if r.Number != n.Digits || r.Operator != "alice" {
			t.Errorf("record %+v: number/operator wrong", r)
		}
		for _, name := range []string{"Bob", "Carol", "Dave", "Eve", "Frank"} {
			if r.Party == name {
				t.Errorf("record keeps a guest's name: %+v", r)
			}
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("records:\n got %+v\nwant %+v", got, want)
	}
	if b := all[0]; !b.Started.Equal(start) || !b.Admitted.Equal(start.Add(10*time.Second)) || !b.Ended.Equal(start.Add(70*time.Second)) {
		t.Errorf("admitted guest times: started %v admitted %v ended %v", b.Started, b.Admitted, b.Ended)
	}
	if !all[1].Admitted.IsZero() {
		t.Errorf("declined request has an admission time: %+v", all[1])
	}
}

// TestHostKeepsOperatorSoftphone: an operator talking on their softphone
// (entered as an operator of kind phone) who then opens the console keeps the
// phone leg; only another console window is replaced.
func TestHostKeepsOperatorSoftphone(t *testing.T) {
	e := newEngine(t, bridge.Config{})
	n := testNumber("06044443333")
	softphone := dialroom.Identity{Role: dialroom.RoleOperator, Kind: dialroom.MemberKindPhone, Name: operatorName, Trunk: "ext-100"}
	phoneEP := newRecorder("softphone")
	phone, err := e.Enter(n, operatorName, softphone, phoneEP)
	if err != nil {
		t.Fatal(err)
	}
	q, _ := request(t, e, n, "Bob", "192.0.2.10")
	if jr := only[bridge.JoinRequested](phoneEP.Events()); len(jr) != 1 {
		t.Errorf("without a console, the softphone operator gets the request: %+v", jr)
	}

	op, opEP := host(t, e, n)
	if evs := only[bridge.Removed](phoneEP.Events()); len(evs) != 0 {
		t.Fatalf("opening the console removed the operator's softphone: %+v", evs)
	}
	h := one[bridge.Hosting](t, "console", opEP.Events())
	if len(h.Members) != 1 || h.Members[0].ID != phone.ID() || len(h.Lobby) != 1 {
		t.Errorf("Hosting = %+v, want the softphone as a member and Bob waiting", h)
	}
	mark := phoneEP.Len()
	q2, _ := request(t, e, n, "Carol", "192.0.2.11")
	if jr := only[bridge.JoinRequested](opEP.Events()); len(jr) != 1 || jr[0].Request.ID != q2.ID() {
		t.Errorf("console JoinRequested = %+v, want Carol's", jr)
	}
	if jr := only[bridge.JoinRequested](phoneEP.Since(mark)); len(jr) != 0 {
		t.Errorf("the softphone also got the request once the console is open: %+v", jr)
	}
	if _, err := op.Admit(q.ID()); err != nil {
		t.Fatal(err)
	}

	// A second console window replaces the first, not the softphone.
	op2, _ := host(t, e, n)
	if len(only[bridge.Removed](opEP.Events())) != 1 || len(only[bridge.Removed](phoneEP.Events())) != 0 {
		t.Error("second console window: wrong member replaced")
	}
	if got := len(e.Lookup(n.Digits).Members()); got != 3 {
		t.Errorf("members = %d, want softphone, Bob and the new console", got)
	}
	if _, err := op2.Admit(q2.ID()); err != nil {
		t.Error(err)
	}
}

// countingMetrics is a fake bridge.Metrics.
type countingMetrics struct {
	mu                    sync.Mutex
	joined, left, entered int
	outcomes              map[string]int
	voiceSent             []time.Duration
}

func (m *countingMetrics) MemberJoined() { m.mu.Lock(); m.joined++; m.mu.Unlock() }
func (m *countingMetrics) MemberLeft()   { m.mu.Lock(); m.left++; m.mu.Unlock() }
func (m *countingMetrics) LobbyEntered() { m.mu.Lock(); m.entered++; m.mu.Unlock() }
func (m *countingMetrics) PhoneVoiceSent(added time.Duration) {
	m.mu.Lock()
	m.voiceSent = append(m.voiceSent, added)
	m.mu.Unlock()
}
func (m *countingMetrics) LobbyLeft(outcome string, waited time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.outcomes == nil {
		m.outcomes = map[string]int{}
	}
	m.outcomes[outcome]++
}

// TestMetrics checks the engine's counters and Engine.EndRoom.
func TestMetrics(t *testing.T) {
	m := &countingMetrics{}
	e := newEngine(t, bridge.Config{Metrics: m})
	n := testNumber("06055554444")
	op, opEP := host(t, e, n)
	admitted(t, e, n, op, "Bob", "192.0.2.10")
	q, _ := request(t, e, n, "Carol", "192.0.2.11")
	if err := op.Decline(q.ID()); err != nil {
		t.Fatal(err)
	}
	q, _ = request(t, e, n, "Dave", "192.0.2.12")
	q.Withdraw()
	request(t, e, n, "Eve", "192.0.2.13")
	e.EndRoom(n.Digits, "The operator closed this number.")
	e.EndRoom(n.Digits, "again") // no room any more: nothing happens
	if ended := one[bridge.Ended](t, "operator", opEP.Events()); ended.Message != "The operator closed this number." {
		t.Errorf("Ended = %+v", ended)
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	if m.joined != 2 || m.left != 2 || m.entered != 4 {
		t.Errorf("joined %d, left %d, lobby entered %d; want 2, 2, 4", m.joined, m.left, m.entered)
	}
	want := map[string]int{"admitted": 1, "declined": 1, "abandoned": 1, "ended": 1}
	if fmt.Sprint(m.outcomes) != fmt.Sprint(want) {
		t.Errorf("lobby outcomes = %v, want %v", m.outcomes, want)
	}
}
