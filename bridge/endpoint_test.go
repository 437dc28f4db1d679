package bridge_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/dialroom/dialroom"
	"github.com/dialroom/dialroom/bridge"
)

// waitTimeout guards every wait on an event: tests wait for events, never
// sleep, and only fail after this long.
const waitTimeout = 5 * time.Second

// recorder is a fake bridge.Endpoint that records every event it is given. It
// never blocks and never calls back into the room, as Endpoint requires.
type recorder struct {
	name string

	mu     sync.Mutex
	events []bridge.Event
	notify chan struct{} // signalled (without blocking) on every event
}

func newRecorder(name string) *recorder {
	return &recorder{name: name, notify: make(chan struct{}, 1)}
}

func (r *recorder) Deliver(ev bridge.Event) {
	r.mu.Lock()
	r.events = append(r.events, ev)
	r.mu.Unlock()
	select {
	case r.notify <- struct{}{}:
	default:
	}
}

// Events returns a copy of everything delivered so far, in order.
func (r *recorder) Events() []bridge.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]bridge.Event(nil), r.events...)
}

// Len returns how many events were delivered so far.
func (r *recorder) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.events)
}

// Since returns the events delivered after the first n.
func (r *recorder) Since(n int) []bridge.Event { return r.Events()[n:] }

// waitFor waits until an event at index ≥ from satisfies match and returns it
// with its index; it fails the test after waitTimeout.
func (r *recorder) waitFor(t *testing.T, from int, what string, match func(bridge.Event) bool) (bridge.Event, int) {
	t.Helper()
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	for {
		for i, ev := range r.Events() {
			if i >= from && match(ev) {
				return ev, i
			}
		}
		select {
		case <-r.notify:
		case <-deadline.C:
			t.Fatalf("%s: no %s within %v; got %s", r.name, what, waitTimeout, describe(r.Events()))
			return nil, -1
		}
	}
}

// only returns the events of type T among evs, in order.
func only[T bridge.Event](evs []bridge.Event) []T {
	var out []T
	for _, ev := range evs {
		if e, ok := ev.(T); ok {
			out = append(out, e)
		}
	}
	return out
}

// one returns the single event of type T among evs, failing the test unless
// there is exactly one.
func one[T bridge.Event](t *testing.T, who string, evs []bridge.Event) T {
	t.Helper()
	got := only[T](evs)
	if len(got) != 1 {
		var zero T
		t.Fatalf("%s: want exactly one %T, got %d in %s", who, zero, len(got), describe(evs))
		return zero
	}
	return got[0]
}

// types returns the Go type names of evs ("bridge.Waiting" …), for comparing
// sequences.
func types(evs []bridge.Event) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = fmt.Sprintf("%T", ev)
	}
	return out
}

func describe(evs []bridge.Event) string {
	return fmt.Sprintf("%+v", evs)
}

// clock is an injected clock that moves only when told to.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock {
	return &clock{now: time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// records collects the engine's call records.
type records struct {
	mu   sync.Mutex
	recs []dialroom.CallRecord
}

func (r *records) Record(rec dialroom.CallRecord) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, rec)
}

func (r *records) All() []dialroom.CallRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]dialroom.CallRecord(nil), r.recs...)
}

// newEngine starts an engine closed at the end of the test. Unless the test
// sets them, housekeeping runs rarely (so it never changes a room behind a
// test's back) and the clock is a fixed one the test may advance.
func newEngine(t testing.TB, cfg bridge.Config) *bridge.Engine {
	t.Helper()
	if cfg.TickInterval == 0 {
		cfg.TickInterval = time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = newClock().Now
	}
	e := bridge.NewEngine(cfg)
	t.Cleanup(e.Close)
	return e
}

// testNumber returns a live issued number of operator "alice".
func testNumber(digits string) *dialroom.Number {
	return &dialroom.Number{Digits: digits, Operator: "alice", IssuedAt: time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)}
}

const operatorName = "Alice Operator"

func operatorID() dialroom.Identity {
	return dialroom.Identity{Role: dialroom.RoleOperator, Kind: dialroom.MemberKindBrowser, Name: operatorName, Address: "198.51.100.7"}
}

func guestID(name, addr string) dialroom.Identity {
	return dialroom.Identity{Role: dialroom.RoleGuest, Kind: dialroom.MemberKindBrowser, Name: name, Address: addr}
}

// host opens the number's room with the operator in it.
func host(t testing.TB, e *bridge.Engine, n *dialroom.Number) (*bridge.Member, *recorder) {
	t.Helper()
	ep := newRecorder("operator")
	m, err := e.Host(n, operatorName, operatorID(), ep)
	if err != nil {
		t.Fatalf("Host: %v", err)
	}
	return m, ep
}

// request puts a guest in the lobby.
func request(t testing.TB, e *bridge.Engine, n *dialroom.Number, name, addr string) (*bridge.Request, *recorder) {
	t.Helper()
	ep := newRecorder(name)
	q, err := e.RequestJoin(n, operatorName, guestID(name, addr), ep)
	if err != nil {
		t.Fatalf("RequestJoin(%s): %v", name, err)
	}
	return q, ep
}

// admitted puts a guest in the lobby and has the operator admit them.
func admitted(t testing.TB, e *bridge.Engine, n *dialroom.Number, op *bridge.Member, name, addr string) (*bridge.Member, *recorder) {
	t.Helper()
	q, ep := request(t, e, n, name, addr)
	m, err := op.Admit(q.ID())
	if err != nil {
		t.Fatalf("Admit(%s): %v", name, err)
	}
	return m, ep
}

// sink is an RTPSink that records the sequence numbers it was given.
type sink struct {
	mu   sync.Mutex
	seqs []uint16
}

func (s *sink) WriteRTP(p *rtp.Packet) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seqs = append(s.seqs, p.SequenceNumber)
	return nil
}

func (s *sink) Seqs() []uint16 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]uint16(nil), s.seqs...)
}

// audioPacket returns an RTP packet; level ≥ 0 adds an RFC 6464 audio level
// extension (one-byte header, id 1) with that level in -dBov.
func audioPacket(t testing.TB, seq uint16, level int) *rtp.Packet {
	t.Helper()
	p := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: seq, Timestamp: uint32(seq) * 960, SSRC: 0x1234},
		Payload: []byte{0xf8, 0xff, 0xfe}}
	if level >= 0 {
		p.Header.Extension = true
		p.Header.ExtensionProfile = 0xBEDE
		if err := p.Header.SetExtension(1, []byte{0x80 | byte(level)}); err != nil {
			t.Fatalf("SetExtension: %v", err)
		}
	}
	return p
}
