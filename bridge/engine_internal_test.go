package bridge

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/dialroom/dialroom"
)

type nopEndpoint struct{}

func (nopEndpoint) Deliver(Event) {}

// TestRequestJoinRetriesIdleRoom drives Engine.RequestJoin's retry path
// deterministically: the guest's goroutine has found the room in the engine's
// map and waits for the room's lock when the room is closed for being empty.
// The guest must land in a fresh room, not get "This conference has ended".
func TestRequestJoinRetriesIdleRoom(t *testing.T) {
	e := NewEngine(Config{TickInterval: time.Hour})
	defer e.Close()
	n := &dialroom.Number{Digits: "06012340000", Operator: "alice"}
	stale := e.Room(n, "Alice")

	stale.mu.Lock()
	type result struct {
		q   *Request
		err error
	}
	done := make(chan result, 1)
	go func() {
		q, err := e.RequestJoin(n, "Alice", dialroom.Identity{Kind: dialroom.MemberKindBrowser, Address: "192.0.2.10"}, nopEndpoint{})
		done <- result{q, err}
	}()
	waitBlockedIn(t, "bridge.(*Room).RequestJoin")

	// What forgetIfEmpty does to an empty room. (Taking the engine's lock while
	// holding the room's is the reverse of the usual order; it is safe here
	// because the only other goroutine holds neither.)
	e.mu.Lock()
	delete(e.rooms, n.Digits)
	e.mu.Unlock()
	stale.ended, stale.idle = true, true
	stale.mu.Unlock()

	select {
	case res := <-done:
		if res.err != nil {
			t.Fatalf("RequestJoin = %v, want a retry in a fresh room", res.err)
		}
		if res.q.room == stale || e.Lookup(n.Digits) != res.q.room {
			t.Errorf("request is in room %p (stale %p, registered %p)", res.q.room, stale, e.Lookup(n.Digits))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("RequestJoin did not return")
	}
}

// waitBlockedIn waits until some goroutine's stack shows it inside fn (here:
// blocked on the room's mutex, the first thing fn does).
func waitBlockedIn(t *testing.T, fn string) {
	t.Helper()
	buf := make([]byte, 1<<20)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if strings.Contains(string(buf[:runtime.Stack(buf, true)]), fn+"(") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no goroutine reached %s", fn)
		}
		time.Sleep(time.Millisecond)
	}
}
