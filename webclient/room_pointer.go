package webclient

import (
	"sync"

	"github.com/dialroom/dialroom/bridge"
)

// The presenter's pointer reaches each member through a one-message slot
// instead of the session's queues: the room puts every move in the slot
// (Deliver, under the room's lock, never blocking) and the writer goroutine
// sends whatever the slot holds when the socket is free. A receiver whose
// socket keeps up gets every move; a slow one gets the latest position and
// skips the rest (latest wins), and nothing queues up for it, so a pointer
// can neither grow memory nor get a slow member disconnected for a full
// queue. Moves are sent in the order they were made: the slot only ever
// holds a newer one.

type msgPointer struct {
	Type    string  `json:"type"`
	Member  string  `json:"member"`
	X       float64 `json:"x"`
	Y       float64 `json:"y"`
	Visible bool    `json:"visible"`
}

// pointerSlot holds the latest pointer move not yet written. put may be
// called from any goroutine; take and ready belong to the writer.
type pointerSlot struct {
	mu    sync.Mutex
	msg   *msgPointer
	ready chan struct{} // capacity 1: "the slot holds a move"
}

func newPointerSlot() *pointerSlot { return &pointerSlot{ready: make(chan struct{}, 1)} }

// put replaces the move in the slot and wakes the writer.
func (p *pointerSlot) put(ev bridge.PointerMoved) {
	m := &msgPointer{Type: "material_pointer", Member: ev.MemberID, X: ev.X, Y: ev.Y, Visible: ev.Visible}
	p.mu.Lock()
	p.msg = m
	p.mu.Unlock()
	select {
	case p.ready <- struct{}{}:
	default: // already signalled; the writer will take the newest
	}
}

// take empties the slot; nil when a previous take already sent the move.
func (p *pointerSlot) take() *msgPointer {
	p.mu.Lock()
	defer p.mu.Unlock()
	m := p.msg
	p.msg = nil
	return m
}

// movePointer handles material_pointer from the presenter.
func (c *session) movePointer(msg inbound) error {
	if err := c.mustBeIn(); err != nil {
		return err
	}
	visible := msg.Visible == nil || *msg.Visible
	var x, y float64
	if visible {
		if msg.X == nil || msg.Y == nil {
			return errInvalid("material_pointer needs \"x\" and \"y\" from 0 to 1, or \"visible\": false.")
		}
		x, y = *msg.X, *msg.Y
	}
	return c.member.MovePointer(x, y, visible)
}
