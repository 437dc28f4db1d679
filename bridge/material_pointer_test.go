package bridge_test

import (
	"math"
	"testing"

	"github.com/dialroom/dialroom"
	"github.com/dialroom/dialroom/bridge"
)

// TestPointer: only the presenter points; moves reach the other browser
// members (not the presenter) in order; bad positions are refused.
func TestPointer(t *testing.T) {
	e := newEngine(t, bridge.Config{Now: newClock().Now})
	n := testNumber("06011117711")
	op, opEP := host(t, e, n)
	bob, bobEP := admitted(t, e, n, op, "Bob", "192.0.2.10")
	if err := op.MovePointer(0.5, 0.5, true); dialroom.ErrorCode(err) != dialroom.EINVALID {
		t.Errorf("pointer with nothing shown = %v, want EINVALID", err)
	}
	if err := op.SelectMaterial("m1", "a.pdf", 2); err != nil {
		t.Fatal(err)
	}
	if err := bob.MovePointer(0.5, 0.5, true); dialroom.ErrorCode(err) != dialroom.EDENIED {
		t.Errorf("non-presenter pointer = %v, want EDENIED", err)
	}
	for _, p := range [][2]float64{{-0.1, 0.5}, {0.5, 1.01}, {math.NaN(), 0}, {math.Inf(1), 0}} {
		if err := op.MovePointer(p[0], p[1], true); dialroom.ErrorCode(err) != dialroom.EINVALID {
			t.Errorf("MovePointer(%v) = %v, want EINVALID", p, err)
		}
	}
	mark, opMark := bobEP.Len(), opEP.Len()
	for i := range 10 {
		if err := op.MovePointer(float64(i)/10, 0.25, true); err != nil {
			t.Fatal(err)
		}
	}
	if err := op.MovePointer(7, 7, false); err != nil { // hidden: the position does not matter
		t.Fatal(err)
	}
	got := only[bridge.PointerMoved](bobEP.Since(mark))
	if len(got) != 11 {
		t.Fatalf("bob got %d moves, want 11", len(got))
	}
	for i, p := range got[:10] {
		if p.MemberID != op.ID() || p.X != float64(i)/10 || p.Y != 0.25 || !p.Visible {
			t.Errorf("move %d = %+v", i, p)
		}
	}
	if last := got[10]; last.Visible || last.X != 0 || last.Y != 0 {
		t.Errorf("hide = %+v", last)
	}
	if mine := only[bridge.PointerMoved](opEP.Since(opMark)); len(mine) != 0 {
		t.Errorf("the presenter got their own moves back: %d", len(mine))
	}
}
