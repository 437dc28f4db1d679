package webclient

import (
	"sync"
	"testing"

	"github.com/dialroom/dialroom"
	"github.com/dialroom/dialroom/bridge"
)

// TestPointerSlotLatestWins: moves put while nobody takes them coalesce to
// the latest; a taker running alongside the putters sees x only increase.
func TestPointerSlotLatestWins(t *testing.T) {
	s := newPointerSlot()
	for i := range 1000 {
		s.put(bridge.PointerMoved{MemberID: "m1", X: float64(i) / 1000, Visible: true})
	}
	<-s.ready
	if m := s.take(); m == nil || m.X != 0.999 {
		t.Fatalf("take = %+v, want the last move", m)
	}
	if m := s.take(); m != nil {
		t.Fatalf("second take = %+v, want nil", m)
	}

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 1; i <= 10000; i++ {
			s.put(bridge.PointerMoved{X: float64(i) / 10000, Visible: true})
		}
	}()
	last := 0.0
	for last < 1 {
		<-s.ready
		m := s.take()
		if m == nil {
			continue
		}
		if m.X <= last {
			t.Fatalf("x went from %v to %v", last, m.X)
		}
		last = m.X
	}
	wg.Wait()
}

// TestPointerRelay: the presenter's moves reach the others over the
// WebSocket, in order; a slow reader never gets disconnected for them.
func TestPointerRelay(t *testing.T) {
	t.Parallel()
	h, op, n, slides := hostWithSlides(t)
	guest, _, _ := admitGuest(h, op, n, "Guest")

	guest.send(map[string]any{"type": "material_pointer", "x": 0.5, "y": 0.5})
	if e := guest.expectError(); e.Code != "invalid" {
		t.Errorf("pointer with nothing shown: %+v", e)
	}
	op.send(map[string]any{"type": "material_select", "material": slides})
	op.expect("material_selected")
	guest.expect("material_selected")
	op.send(map[string]any{"type": "material_pointer", "x": 2, "y": 0.5})
	if e := op.expectError(); e.Code != "invalid" {
		t.Errorf("pointer at x=2: %+v", e)
	}
	const moves = 500
	for i := 1; i <= moves; i++ {
		op.send(map[string]any{"type": "material_pointer", "x": float64(i) / moves, "y": 0.5})
	}
	last := 0.0
	for last < 1 {
		var p msgPointer
		guest.expect("material_pointer").decode(t, &p)
		if p.X <= last || p.Y != 0.5 || !p.Visible {
			t.Fatalf("after x=%v: %+v", last, p)
		}
		last = p.X
	}
	op.send(map[string]any{"type": "material_pointer", "visible": false})
	var p msgPointer
	guest.expect("material_pointer").decode(t, &p)
	if p.Visible {
		t.Errorf("hide arrived as %+v", p)
	}
}

// TestStrokeMessages: a stroke drawn by a guest reaches the operator with
// its id; undo and clear follow; a late joiner gets the page's strokes in
// material_selected.
func TestStrokeMessages(t *testing.T) {
	t.Parallel()
	h, op, n, slides := hostWithSlides(t)
	guest, _, guestID := admitGuest(h, op, n, "Guest")
	op.send(map[string]any{"type": "material_select", "material": slides})
	op.expect("material_selected")
	guest.expect("material_selected")

	pts := [][2]float64{{0.1, 0.2}, {0.3, 0.4}}
	guest.send(map[string]any{"type": "material_stroke", "color": "#cc0000", "points": pts})
	var s1, s2 msgStroke
	op.expect("material_stroke").decode(t, &s1)
	guest.expect("material_stroke").decode(t, &s2)
	if s1.Page != 1 || s1.Stroke.Member != guestID || s1.Stroke.Color != "#cc0000" || len(s1.Stroke.Points) != 2 ||
		s1.Stroke.Points[1] != pts[1] || s1.Stroke.ID == "" || s1.Stroke.ID != s2.Stroke.ID {
		t.Fatalf("material_stroke: %+v / %+v", s1, s2)
	}
	guest.send(map[string]any{"type": "material_stroke", "color": "javascript:", "points": pts})
	if e := guest.expectError(); e.Code != "invalid" {
		t.Errorf("bad colour: %+v", e)
	}

	late, _, _ := admitGuest(h, op, n, "Late")
	guest.expect("member_joined")
	var ls struct {
		Strokes []jsonStroke `json:"strokes"`
	}
	late.expect("material_selected").decode(t, &ls)
	if len(ls.Strokes) != 1 || ls.Strokes[0].ID != s1.Stroke.ID {
		t.Errorf("late joiner's strokes: %+v", ls.Strokes)
	}

	guest.send(map[string]any{"type": "material_undo"})
	var u msgUnstroke
	late.expect("material_unstroke").decode(t, &u)
	if u.ID != s1.Stroke.ID {
		t.Errorf("material_unstroke = %+v", u)
	}
	guest.expect("material_unstroke")
	guest.send(map[string]any{"type": "material_clear"})
	if e := guest.expectError(); e.Code != "denied" {
		t.Errorf("guest clearing: %+v", e)
	}
	op.send(map[string]any{"type": "material_clear"})
	late.expect("material_cleared")
}

// TestPointerSlowReceiver: a receiver that stops reading while the
// presenter keeps moving is not disconnected (the moves do not queue for
// it); once it reads again it gets moves in order and the last one, with
// the ones it could not take in time skipped.
func TestPointerSlowReceiver(t *testing.T) {
	t.Parallel()
	h, op, n, slides := hostWithSlides(t)
	guest, _, _ := admitGuest(h, op, n, "Guest")
	op.send(map[string]any{"type": "material_select", "material": slides})
	op.expect("material_selected")
	guest.expect("material_selected")

	// The test's reader keeps at most 1024 frames; beyond that the guest's
	// socket stops being read, its TCP buffers fill, and the server's
	// writer blocks: far more moves than the session's queues (256 + 1024)
	// could hold.
	const moves = 15000
	for i := 1; i <= moves; i++ {
		op.send(map[string]any{"type": "material_pointer", "x": float64(i) / moves, "y": 0.5})
	}
	op.send(map[string]any{"type": "ping"})
	op.expect("pong") // every move has reached the room
	last, got := 0.0, 0
	for last < 1 {
		var p msgPointer
		guest.expect("material_pointer").decode(t, &p)
		if p.X <= last {
			t.Fatalf("after x=%v: %+v", last, p)
		}
		last = p.X
		got++
	}
	t.Logf("%d moves made, %d received", moves, got)
	guest.send(map[string]any{"type": "ping"})
	guest.expect("pong") // still connected
}

// hostWithSlides starts a harness whose operator alice has a ready
// one-page material "slides" and hosts her number's room; it returns the
// harness, her socket, the number and the material's id.
func hostWithSlides(t *testing.T) (*harness, *wsClient, *dialroom.Number, string) {
	t.Helper()
	root := t.TempDir()
	h := newHarness(t, func(cfg *Config) { cfg.Converter = pageFiles{root} })
	n := h.issue(h.operator("alice", "Alice"))
	slides := readyMaterial(t, h, root, "alice", "slides", 1)
	op := h.connect("operator", h.session("alice"))
	op.send(map[string]any{"type": "host", "number": n.Digits})
	op.expect("hosting")
	return h, op, n, slides
}
