package bridge_test

import (
	"testing"
	"time"

	"github.com/dialroom/dialroom"
	"github.com/dialroom/dialroom/bridge"
)

// TestStrokes: anyone draws on the shown page and everyone (the drawer
// included) is told; undo takes the drawer's own last stroke; strokes stay
// with their page across turns and reach a late joiner; clearing is for the
// presenter and the operator; limits hold; a new material starts clean.
func TestStrokes(t *testing.T) {
	clk := newClock()
	e := newEngine(t, bridge.Config{Now: clk.Now})
	n := testNumber("06011117722")
	op, opEP := host(t, e, n)
	bob, bobEP := admitted(t, e, n, op, "Bob", "192.0.2.10")
	line := [][2]float64{{0.1, 0.1}, {0.2, 0.2}}
	if err := bob.Draw("#ff0000", line); dialroom.ErrorCode(err) != dialroom.EINVALID {
		t.Errorf("drawing with nothing shown = %v, want EINVALID", err)
	}
	if err := op.SelectMaterial("m1", "a.pdf", 2); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []struct {
		color  string
		points [][2]float64
	}{
		{"red", line}, {"#ff00000", line}, {"#ff0000", nil},
		{"#ff0000", [][2]float64{{0.5, 1.5}}}, {"#ff0000", make([][2]float64, 501)},
	} {
		if err := bob.Draw(bad.color, bad.points); dialroom.ErrorCode(err) != dialroom.EINVALID {
			t.Errorf("Draw(%q, %d points) = %v, want EINVALID", bad.color, len(bad.points), err)
		}
	}
	mark, bobMark := opEP.Len(), bobEP.Len()
	if err := bob.Draw("#ff0000", line); err != nil {
		t.Fatal(err)
	}
	if err := op.Draw("#0000ff", line); err != nil {
		t.Fatal(err)
	}
	if err := bob.Draw("#00ff00", line); err != nil {
		t.Fatal(err)
	}
	for who, evs := range map[string][]bridge.Event{"operator": opEP.Since(mark), "bob": bobEP.Since(bobMark)} {
		got := only[bridge.StrokeAdded](evs)
		if len(got) != 3 || got[0].Stroke.MemberID != bob.ID() || got[0].Stroke.Color != "#ff0000" || got[0].Page != 1 || got[1].Stroke.MemberID != op.ID() {
			t.Errorf("%s: StrokeAdded = %+v", who, got)
		}
	}

	// Undo takes Bob's last (green), not the operator's.
	mark = opEP.Len()
	if err := bob.Undo(); err != nil {
		t.Fatal(err)
	}
	r := e.Lookup(n.Digits)
	if got := r.Strokes(1); len(got) != 2 || got[0].Color != "#ff0000" || got[1].Color != "#0000ff" {
		t.Errorf("after undo: %+v", got)
	}
	if got := one[bridge.StrokeRemoved](t, "operator", opEP.Since(mark)); got.Page != 1 {
		t.Errorf("StrokeRemoved = %+v", got)
	}

	// Page 2 is clean; back on page 1 the strokes come with the turn.
	if err := op.TurnPage(2); err != nil {
		t.Fatal(err)
	}
	mark = bobEP.Len()
	if err := op.TurnPage(1); err != nil {
		t.Fatal(err)
	}
	if got := one[bridge.MaterialPage](t, "bob", bobEP.Since(mark)); len(got.Strokes) != 2 {
		t.Errorf("turn back to page 1 carries %d strokes, want 2", len(got.Strokes))
	}

	// A late joiner gets them with the material.
	carol, carolEP := admitted(t, e, n, op, "Carol", "192.0.2.11")
	if got := one[bridge.MaterialSelected](t, "carol", carolEP.Events()); len(got.Strokes) != 2 {
		t.Errorf("late joiner got %d strokes, want 2", len(got.Strokes))
	}

	// Clearing: not for a guest who does not present; the operator may.
	if err := carol.ClearPage(); dialroom.ErrorCode(err) != dialroom.EDENIED {
		t.Errorf("guest ClearPage = %v, want EDENIED", err)
	}
	mark = carolEP.Len()
	if err := op.ClearPage(); err != nil {
		t.Fatal(err)
	}
	one[bridge.PageCleared](t, "carol", carolEP.Since(mark))
	if got := r.Strokes(1); len(got) != 0 {
		t.Errorf("after clear: %+v", got)
	}

	// Limits: strokes per page, and marks per second.
	var full, throttled bool
	for i := 0; i < 300 && !full; i++ {
		clk.Advance(100 * time.Millisecond)
		switch err := bob.Draw("#000000", line); dialroom.ErrorCode(err) {
		case "":
		case dialroom.EINVALID:
			full = true
			if got := len(r.Strokes(1)); got != 200 {
				t.Errorf("page full at %d strokes, want 200", got)
			}
		default:
			t.Fatalf("stroke %d: %v", i, err)
		}
	}
	if !full {
		t.Error("300 strokes fit on one page")
	}
	if err := op.ClearPage(); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Second)
	for range 60 {
		if err := bob.Draw("#000000", line); dialroom.ErrorCode(err) == dialroom.ETHROTTLED {
			throttled = true
		}
	}
	if !throttled {
		t.Error("60 strokes in no time were all allowed")
	}

	// Another material starts clean.
	clk.Advance(time.Second)
	if err := op.SelectMaterial("m2", "b.pdf", 1); err != nil {
		t.Fatal(err)
	}
	if got := r.Strokes(1); len(got) != 0 {
		t.Errorf("new material has %d strokes", len(got))
	}
}
