package webclient

import (
	"testing"

	"github.com/dialroom/dialroom/bridge"
)

func TestEventQueue(t *testing.T) {
	// Boxed once: converting an event to bridge.Event allocates, the queue not.
	var declined, gone bridge.Event = bridge.Declined{Message: "no"}, bridge.RequestGone{}
	q := newEventQueue(3)
	if got := q.take(); len(got) != 0 {
		t.Fatalf("empty queue gave %v", got)
	}
	for i, want := range []bool{true, true, true, false} {
		if got := q.push(declined); got != want {
			t.Fatalf("push %d: %v, want %v", i, got, want)
		}
	}
	select {
	case <-q.ready:
	default:
		t.Fatal("no ready token after pushes")
	}
	if q.len() != 3 {
		t.Fatalf("len %d, want 3", q.len())
	}
	first := q.take()
	if len(first) != 3 || q.len() != 0 {
		t.Fatalf("took %d, %d left; want 3, 0", len(first), q.len())
	}
	// Pushing after a take must not write into the slice take returned
	// until the next take (the run goroutine may still be ranging over it).
	q.push(gone)
	if _, ok := first[0].(bridge.Declined); !ok {
		t.Fatalf("a push overwrote the batch being handled: %T", first[0])
	}
	if got := q.take(); len(got) != 1 {
		t.Fatalf("second take: %d events, want 1", len(got))
	}
	// Steady pushes and takes reuse two slices.
	allocs := testing.AllocsPerRun(100, func() {
		q.push(gone)
		q.push(gone)
		q.take()
	})
	if allocs > 0 {
		t.Errorf("%.1f allocations per push-push-take, want 0", allocs)
	}
}
