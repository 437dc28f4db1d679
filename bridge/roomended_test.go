package bridge_test

import (
	"slices"
	"sync"
	"testing"

	"github.com/dialroom/dialroom/bridge"
)

// TestRoomEnded: Config.RoomEnded is called once per conference, whether the
// operator ends it or everyone leaves, and never while it still runs.
func TestRoomEnded(t *testing.T) {
	var (
		mu    sync.Mutex
		ended []string
	)
	e := newEngine(t, bridge.Config{RoomEnded: func(number string) {
		mu.Lock()
		ended = append(ended, number)
		mu.Unlock()
	}})
	calls := func() []string { mu.Lock(); defer mu.Unlock(); return slices.Clone(ended) }

	a, b := testNumber("06044442221"), testNumber("06044442222")
	opA, _ := host(t, e, a)
	opB, _ := host(t, e, b)
	guest, _ := admitted(t, e, b, opB, "Bob", "192.0.2.10")
	if got := calls(); len(got) != 0 {
		t.Fatalf("RoomEnded before any end: %v", got)
	}

	if err := opA.EndRoom(); err != nil {
		t.Fatal(err)
	}
	opA.Leave("left") // after the end: nothing more
	if got := calls(); !slices.Equal(got, []string{a.Digits}) {
		t.Fatalf("after End: %v", got)
	}

	guest.Leave("left")
	if got := calls(); len(got) != 1 {
		t.Fatalf("a member left, the room runs on: %v", got)
	}
	opB.Leave("left")
	if got := calls(); !slices.Equal(got, []string{a.Digits, b.Digits}) {
		t.Fatalf("after everyone left: %v", got)
	}
}
