package bridge

import (
	"math"

	"github.com/dialroom/dialroom"
)

// The presenter's pointer over the shared page (docs/protocol.md "Shared
// materials"). Positions are normalised to the page (0..1 from the left and
// top edges), so every member draws it at the same place whatever the size
// of their window. The room relays each move to the other browser members
// in the order the presenter made them (under the room's lock); keeping only
// the latest move for a slow receiver is the adapter's job.

// PointerMoved tells a browser member where the presenter's pointer is.
// Visible false: the pointer left the page (X and Y are then zero).
type PointerMoved struct {
	MemberID string
	X, Y     float64
	Visible  bool
}

func (PointerMoved) event() {}

// MovePointer relays the presenter's pointer to every other browser
// member. Only the presenter points (EDENIED); a position outside 0..1 or
// not a number is EINVALID. Moves are not rate-limited here: what a
// receiver cannot take in time is coalesced by its adapter (latest wins),
// so a fast sender costs the server work but never memory.
func (m *Member) MovePointer(x, y float64, visible bool) error {
	if visible && !(inUnit(x) && inUnit(y)) {
		return dialroom.Errorf(dialroom.EINVALID, "A pointer position is two numbers from 0 to 1.")
	}
	if !visible {
		x, y = 0, 0
	}
	r := m.room
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, err := r.presentingLocked(m); err != nil {
		return err
	}
	ev := PointerMoved{MemberID: m.id, X: x, Y: y, Visible: visible}
	for _, o := range r.members {
		if o != m && o.identity.Kind == dialroom.MemberKindBrowser {
			o.endpoint.Deliver(ev)
		}
	}
	return nil
}

func inUnit(v float64) bool { return !math.IsNaN(v) && v >= 0 && v <= 1 }
