package bridge_test

import (
	"slices"
	"testing"
	"time"

	"github.com/dialroom/dialroom"
	"github.com/dialroom/dialroom/bridge"
)

// TestMaterialSelectAndTurn: a guest selects a material and becomes the
// presenter; everyone (the selector included) is told; only the presenter
// turns pages; a late joiner gets the material and its current page right
// after Admitted; the operator takes the presenter role back and closes it.
func TestMaterialSelectAndTurn(t *testing.T) {
	clk := newClock()
	e := newEngine(t, bridge.Config{Now: clk.Now})
	n := testNumber("06011117777")
	op, opEP := host(t, e, n)
	bob, bobEP := admitted(t, e, n, op, "Bob", "192.0.2.10")

	mark, bobMark := opEP.Len(), bobEP.Len()
	if err := bob.SelectMaterial("m1", "slides.pdf", 3); err != nil {
		t.Fatal(err)
	}
	want := bridge.MaterialView{ID: "m1", Name: "slides.pdf", Pages: 3, Page: 1, Presenter: bob.ID()}
	for who, evs := range map[string][]bridge.Event{"operator": opEP.Since(mark), "bob": bobEP.Since(bobMark)} {
		if got := one[bridge.MaterialSelected](t, who, evs); got.View != want {
			t.Errorf("%s: MaterialSelected = %+v, want %+v", who, got.View, want)
		}
	}

	// Only the presenter turns pages, and only to pages that exist.
	if err := op.TurnPage(2); dialroom.ErrorCode(err) != dialroom.EDENIED {
		t.Errorf("operator (not presenter) TurnPage = %v, want EDENIED", err)
	}
	for _, p := range []int{0, 4} {
		if err := bob.TurnPage(p); dialroom.ErrorCode(err) != dialroom.EINVALID {
			t.Errorf("TurnPage(%d) = %v, want EINVALID", p, err)
		}
	}
	mark = opEP.Len()
	if err := bob.TurnPage(3); err != nil {
		t.Fatal(err)
	}
	if got := one[bridge.MaterialPage](t, "operator", opEP.Since(mark)); got.Page != 3 || got.Presenter != bob.ID() {
		t.Errorf("MaterialPage = %+v", got)
	}
	if !bob.MayShow("m1", 3) || bob.MayShow("m1", 4) || bob.MayShow("m2", 1) {
		t.Error("MayShow does not follow the shown material")
	}

	// A late joiner: Admitted, then the material at its current page.
	carol, carolEP := admitted(t, e, n, op, "Carol", "192.0.2.11")
	evs := carolEP.Events()
	i := slices.IndexFunc(evs, func(ev bridge.Event) bool { _, ok := ev.(bridge.MaterialSelected); return ok })
	a := slices.IndexFunc(evs, func(ev bridge.Event) bool { _, ok := ev.(bridge.Admitted); return ok })
	if i < 0 || a < 0 || i < a {
		t.Fatalf("late joiner's events: %v", types(evs))
	}
	if v := evs[i].(bridge.MaterialSelected).View; v.Page != 3 || v.Presenter != bob.ID() {
		t.Errorf("late joiner's view = %+v", v)
	}

	// The operator takes the pages back; Bob no longer turns them.
	mark = carolEP.Len()
	if err := bob.TakePresenter(); dialroom.ErrorCode(err) != dialroom.EDENIED {
		t.Errorf("guest TakePresenter = %v, want EDENIED", err)
	}
	if err := op.TakePresenter(); err != nil {
		t.Fatal(err)
	}
	if got := one[bridge.MaterialPage](t, "carol", carolEP.Since(mark)); got.Presenter != op.ID() || got.Page != 3 {
		t.Errorf("after TakePresenter: %+v", got)
	}
	if err := bob.TurnPage(1); dialroom.ErrorCode(err) != dialroom.EDENIED {
		t.Errorf("former presenter TurnPage = %v, want EDENIED", err)
	}
	if err := carol.CloseMaterial(); dialroom.ErrorCode(err) != dialroom.EDENIED {
		t.Errorf("guest (not presenter) CloseMaterial = %v, want EDENIED", err)
	}

	// Closing: everyone is told, and pages are no longer showable.
	mark = carolEP.Len()
	if err := op.CloseMaterial(); err != nil {
		t.Fatal(err)
	}
	one[bridge.MaterialClosed](t, "carol", carolEP.Since(mark))
	if _, ok := e.Lookup(n.Digits).Material(); ok || carol.MayShow("m1", 1) {
		t.Error("material still shown after CloseMaterial")
	}
}

// TestMaterialPolicyAndLeave: the operator restricts selection to
// themself (guests are told, late joiners too); a presenter who leaves
// hands the pages to the operator; a member who left may show nothing.
func TestMaterialPolicyAndLeave(t *testing.T) {
	clk := newClock()
	e := newEngine(t, bridge.Config{Now: clk.Now})
	n := testNumber("06011118888")
	op, _ := host(t, e, n)
	bob, bobEP := admitted(t, e, n, op, "Bob", "192.0.2.10")

	if err := bob.SetGuestsMaySelect(false); dialroom.ErrorCode(err) != dialroom.EDENIED {
		t.Errorf("guest SetGuestsMaySelect = %v, want EDENIED", err)
	}
	mark := bobEP.Len()
	if err := op.SetGuestsMaySelect(false); err != nil {
		t.Fatal(err)
	}
	if got := one[bridge.MaterialPolicy](t, "bob", bobEP.Since(mark)); got.GuestsMaySelect {
		t.Errorf("policy = %+v", got)
	}
	if err := bob.SelectMaterial("m1", "a.pdf", 2); dialroom.ErrorCode(err) != dialroom.EDENIED {
		t.Errorf("guest SelectMaterial while restricted = %v, want EDENIED", err)
	}
	_, carolEP := admitted(t, e, n, op, "Carol", "192.0.2.11")
	if got := one[bridge.MaterialPolicy](t, "carol", carolEP.Events()); got.GuestsMaySelect {
		t.Errorf("late joiner's policy = %+v", got)
	}

	if err := op.SetGuestsMaySelect(true); err != nil {
		t.Fatal(err)
	}
	if err := bob.SelectMaterial("m1", "a.pdf", 2); err != nil {
		t.Fatal(err)
	}
	mark = carolEP.Len()
	bob.Leave("left")
	if got := one[bridge.MaterialPage](t, "carol", carolEP.Since(mark)); got.Presenter != op.ID() {
		t.Errorf("after the presenter left: %+v, want the operator presenting", got)
	}
	if bob.MayShow("m1", 1) {
		t.Error("a member who left may still show pages")
	}
	if err := bob.SelectMaterial("m1", "a.pdf", 2); dialroom.ErrorCode(err) != dialroom.EGONE {
		t.Errorf("SelectMaterial after leaving = %v, want EGONE", err)
	}
}

// TestMaterialTurnLimit: page turns beyond maxTurnsPerSecond within a
// second are refused, and allowed again a second later.
func TestMaterialTurnLimit(t *testing.T) {
	clk := newClock()
	e := newEngine(t, bridge.Config{Now: clk.Now})
	n := testNumber("06011119999")
	op, _ := host(t, e, n)
	if err := op.SelectMaterial("m1", "a.pdf", 2); err != nil {
		t.Fatal(err)
	}
	var throttled int
	for i := range 40 {
		if err := op.TurnPage(2 - i%2); dialroom.ErrorCode(err) == dialroom.ETHROTTLED {
			throttled++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if throttled == 0 {
		t.Fatal("40 turns in no time were all allowed")
	}
	clk.Advance(time.Second)
	if err := op.TurnPage(1); err != nil && dialroom.ErrorCode(err) == dialroom.ETHROTTLED {
		t.Errorf("a second later: %v", err)
	}
}
