package bridge_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dialroom/dialroom"
	"github.com/dialroom/dialroom/bridge"
)

// TestCardShareAndLateJoiner checks that a shared card reaches everyone in,
// the sharer included, and that a late joiner receives it right after its
// Admitted and the room's tracks, in order with the other room events.
func TestCardShareAndLateJoiner(t *testing.T) {
	clk := newClock()
	e := newEngine(t, bridge.Config{Now: clk.Now})
	n := testNumber("06011116666")
	op, opEP := host(t, e, n)
	bob, bobEP := admitted(t, e, n, op, "Bob", "192.0.2.10")

	card := dialroom.Card{Name: "Bob Example", Organization: "Example; Inc.", Email: "bob@example.com",
		Logo: []byte{1, 2, 3}, LogoType: dialroom.LogoPNG}
	mark, bobMark := opEP.Len(), bobEP.Len()
	if err := bob.ShareCard(card); err != nil {
		t.Fatal(err)
	}
	card.Logo[0] = 9 // the room kept its own copy
	for who, evs := range map[string][]bridge.Event{"operator": opEP.Since(mark), "bob": bobEP.Since(bobMark)} {
		got := one[bridge.CardShared](t, who, evs)
		if got.MemberID != bob.ID() || got.Card.Name != "Bob Example" || got.Card.Logo[0] != 1 {
			t.Errorf("%s: CardShared = %+v", who, got)
		}
	}

	// Sharing again at once is throttled; a second later it replaces the
	// card (one card per member).
	if err := bob.ShareCard(dialroom.Card{Name: "Robert Example"}); dialroom.ErrorCode(err) != dialroom.ETHROTTLED {
		t.Fatalf("sharing again at once = %v, want %s", err, dialroom.ETHROTTLED)
	}
	clk.Advance(time.Second)
	if err := bob.ShareCard(dialroom.Card{Name: "Robert Example"}); err != nil {
		t.Fatal(err)
	}
	r := e.Lookup(n.Digits)
	if cards := r.Cards(); len(cards) != 1 || cards[bob.ID()].Name != "Robert Example" {
		t.Fatalf("Cards() = %+v, want Bob's replaced card only", cards)
	}

	// The operator (first in the room) shares after Bob.
	if err := op.ShareCard(dialroom.Card{Name: "Alice"}); err != nil {
		t.Fatal(err)
	}

	// A late joiner: Admitted first, then the cards in the order they were
	// shared (Bob's, then the operator's), as everyone else saw them.
	carol, carolEP := admitted(t, e, n, op, "Carol", "192.0.2.11")
	evs := carolEP.Events()
	got := types(evs)
	ai, ci := slices.Index(got, "bridge.Admitted"), slices.Index(got, "bridge.CardShared")
	if ai < 0 || ci < ai {
		t.Fatalf("late joiner events = %v, want Admitted then CardShared", got)
	}
	cs := only[bridge.CardShared](evs)
	if len(cs) != 2 || cs[0].MemberID != bob.ID() || cs[0].Card.Name != "Robert Example" || cs[1].MemberID != op.ID() {
		t.Errorf("late joiner's CardShared = %+v, want Bob's then the operator's", cs)
	}
	if _, ok := carol.Card(); ok {
		t.Errorf("Carol has a card without sharing one")
	}

	// The operator reconnecting (Host again) also gets the cards after Hosting.
	_, op2EP := host(t, e, n)
	got = types(op2EP.Events())
	if hi, ci := slices.Index(got, "bridge.Hosting"), slices.Index(got, "bridge.CardShared"); hi != 0 || ci < hi {
		t.Errorf("reconnected operator events = %v, want Hosting then CardShared", got)
	}
}

// TestCardWithdrawAndLeave checks that a card goes with a withdrawal, with its
// member, and with the conference.
func TestCardWithdrawAndLeave(t *testing.T) {
	clk := newClock()
	e := newEngine(t, bridge.Config{Now: clk.Now})
	n := testNumber("06011117777")
	op, _ := host(t, e, n)
	bob, _ := admitted(t, e, n, op, "Bob", "192.0.2.10")
	carol, carolEP := admitted(t, e, n, op, "Carol", "192.0.2.11")
	r := e.Lookup(n.Digits)

	if err := bob.ShareCard(dialroom.Card{Name: "Bob"}); err != nil {
		t.Fatal(err)
	}
	mark := carolEP.Len()
	bob.WithdrawCard()
	bob.WithdrawCard() // nothing to withdraw: no second event
	if w := one[bridge.CardWithdrawn](t, "carol", carolEP.Since(mark)); w.MemberID != bob.ID() {
		t.Errorf("CardWithdrawn = %+v", w)
	}
	if len(r.Cards()) != 0 {
		t.Errorf("Cards() after withdraw = %+v", r.Cards())
	}

	// Leaving: CardWithdrawn just before MemberLeft.
	clk.Advance(time.Second)
	if err := bob.ShareCard(dialroom.Card{Name: "Bob"}); err != nil {
		t.Fatal(err)
	}
	mark = carolEP.Len()
	bob.Leave("left")
	if got := types(carolEP.Since(mark)); !slices.Equal(got, []string{"bridge.CardWithdrawn", "bridge.MemberLeft"}) {
		t.Errorf("after Bob left, Carol got %v", got)
	}
	if len(r.Cards()) != 0 {
		t.Errorf("Cards() after leave = %+v", r.Cards())
	}
	if err := bob.ShareCard(dialroom.Card{Name: "Bob"}); dialroom.ErrorCode(err) != dialroom.EGONE {
		t.Errorf("ShareCard after leaving = %v, want EGONE", err)
	}

	// The end: members hear only Ended, and the room keeps no card.
	if err := carol.ShareCard(dialroom.Card{Name: "Carol"}); err != nil {
		t.Fatal(err)
	}
	if err := op.EndRoom(); err != nil {
		t.Fatal(err)
	}
	if got := types(carolEP.Events()[len(carolEP.Events())-1:]); !slices.Equal(got, []string{"bridge.Ended"}) {
		t.Errorf("Carol's last event = %v, want Ended", got)
	}
	if len(r.Cards()) != 0 || e.Lookup(n.Digits) != nil {
		t.Errorf("after the end: cards %+v, room still known %v", r.Cards(), e.Lookup(n.Digits) != nil)
	}
	if _, ok := carol.Card(); ok {
		t.Errorf("Carol's card survived the end of the conference")
	}
}

// TestCardLimits checks what the room refuses.
func TestCardLimits(t *testing.T) {
	e := newEngine(t, bridge.Config{})
	n := testNumber("06011118888")
	op, _ := host(t, e, n)
	phone, err := e.Enter(n, operatorName, dialroom.Identity{Role: dialroom.RoleGuest, Kind: dialroom.MemberKindPhone, Address: "090-****-1234"}, newRecorder("phone"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		m    *bridge.Member
		card dialroom.Card
		want string
	}{
		{"fine", op, dialroom.Card{Name: "Alice", Email: "a@example.com"}, ""},
		{"no name", op, dialroom.Card{Email: "a@example.com"}, dialroom.EINVALID},
		{"long title", op, dialroom.Card{Name: "A", Title: strings.Repeat("t", dialroom.MaxCardField+1)}, dialroom.EINVALID},
		{"newline", op, dialroom.Card{Name: "A\r\nEND:VCARD"}, dialroom.EINVALID},
		{"big logo", op, dialroom.Card{Name: "A", Logo: make([]byte, dialroom.MaxCardLogo+1), LogoType: dialroom.LogoJPEG}, dialroom.EINVALID},
		{"gif logo", op, dialroom.Card{Name: "A", Logo: []byte("GIF89a"), LogoType: "image/gif"}, dialroom.EINVALID},
		{"phone member", phone, dialroom.Card{Name: "A"}, dialroom.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.m.ShareCard(tt.card); dialroom.ErrorCode(err) != tt.want {
				t.Errorf("ShareCard = %v, want code %q", err, tt.want)
			}
		})
	}
}
