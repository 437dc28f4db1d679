package webclient

import (
	"sync"

	"github.com/dialroom/dialroom/bridge"
)

// eventQueue holds the room's events for a session's run goroutine: bounded
// like a channel, but its memory grows with what is queued instead of being
// reserved up front. A buffered channel of eventQueue events was 16 KiB per
// session whether or not anything ever piled up, about 5 KiB per phone leg in
// rooms of 8 phones and 2 browsers (docs/benchmarks.md).
//
// push is called by the room (under its lock, from any goroutine); take and
// len by the session's run goroutine only.
type eventQueue struct {
	// ready has a token whenever items may be non-empty; the run goroutine
	// selects on it.
	ready chan struct{}
	limit int

	mu    sync.Mutex
	items []bridge.Event
	spare []bridge.Event // the slice take returned last time, reused by push
}

func newEventQueue(limit int) *eventQueue {
	return &eventQueue{ready: make(chan struct{}, 1), limit: limit}
}

// push queues ev, or reports false when limit events are already waiting.
func (q *eventQueue) push(ev bridge.Event) bool {
	q.mu.Lock()
	if len(q.items) >= q.limit {
		q.mu.Unlock()
		return false
	}
	q.items = append(q.items, ev)
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default: // a token is already there
	}
	return true
}

// take removes and returns every queued event, oldest first. The slice is
// valid until the next take.
func (q *eventQueue) take() []bridge.Event {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := q.items
	clear(q.spare) // drop references the last batch held
	q.items = q.spare[:0]
	q.spare = out
	if cap(q.items) > 4*initialEventBatch {
		q.items = nil // a burst's backing array is not kept for good
	}
	return out
}

// len reports how many events are waiting.
func (q *eventQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)
}

// initialEventBatch is the batch size a quiet session's slices settle at.
const initialEventBatch = 16
