package bridge

import (
	"cmp"
	"slices"
	"time"

	"github.com/dialroom/dialroom"
)

// Business cards (patent claims 9–12) are room state: each browser member may
// share one card, which the room keeps on the Member while they are in and
// drops when they leave or the conference ends. Nothing about a card is stored
// or written to call records.

// CardShared tells a member that a member shared (or replaced) their card.
// The room sends it to everyone in when the card is shared, and to a newcomer
// for every card already shared, right after its Admitted or Hosting and the
// other members' tracks, so a late joiner sees the same list as everyone else.
// Card is shared by every event of one sharing: adapters must not modify it.
type CardShared struct {
	MemberID string
	Card     dialroom.Card
}

// CardWithdrawn tells every member that a member's card is gone: they
// withdrew it, or they left (sent just before MemberLeft).
type CardWithdrawn struct{ MemberID string }

func (CardShared) event()    {}
func (CardWithdrawn) event() {}

// minCardInterval is the least time between two shares by one member. A card
// (up to ~44 KiB as base64) goes to every member, so a member re-sharing in a
// loop could flood everyone's connection; people share a card a few times per
// conference, and a second covers a double click.
const minCardInterval = time.Second

// ShareCard shares the member's business card with the room, replacing a card
// they shared before (one card per member). Every member, the sharer
// included, receives CardShared. The card must pass Card.Validate (EINVALID);
// only browser members share cards (a phone has no way to fill one in); a
// member who left gets EGONE, one sharing again within minCardInterval
// ETHROTTLED. The room keeps its own copy of c.
func (m *Member) ShareCard(c dialroom.Card) error {
	if m.identity.Kind != dialroom.MemberKindBrowser {
		return dialroom.Errorf(dialroom.EINVALID, "Only browser members can share a business card.")
	}
	if err := c.Validate(); err != nil {
		return err
	}
	c = c.Clone()
	r := m.room
	r.mu.Lock()
	defer r.mu.Unlock()
	if m.gone {
		return dialroom.Errorf(dialroom.EGONE, "You are no longer in this conference.")
	}
	now := r.engine.now()
	if !m.cardAt.IsZero() && now.Sub(m.cardAt) < minCardInterval {
		return dialroom.Errorf(dialroom.ETHROTTLED, "You shared your card a moment ago; wait a second before sharing it again.")
	}
	m.cardAt = now
	m.card = &c
	r.cardSeq++
	m.cardSeq = r.cardSeq
	for _, o := range r.members {
		o.endpoint.Deliver(CardShared{MemberID: m.id, Card: c})
	}
	return nil
}

// WithdrawCard takes the member's card back; every member receives
// CardWithdrawn. It does nothing when the member has no card shared.
func (m *Member) WithdrawCard() {
	r := m.room
	r.mu.Lock()
	defer r.mu.Unlock()
	r.dropCardLocked(m)
}

// Card returns the member's shared card, or false when they have none.
func (m *Member) Card() (dialroom.Card, bool) {
	m.room.mu.Lock()
	defer m.room.mu.Unlock()
	if m.card == nil {
		return dialroom.Card{}, false
	}
	return m.card.Clone(), true
}

// Cards returns a copy of the cards shared in the room by member id. An ended
// room has none.
func (r *Room) Cards() map[string]dialroom.Card {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]dialroom.Card{}
	for _, m := range r.members {
		if m.card != nil {
			out[m.id] = m.card.Clone()
		}
	}
	return out
}

// sendCardsLocked tells a newcomer about every card shared in the room, in
// the order they were shared (a replaced card counts from its replacement),
// which is the order everyone already in saw them arrive.
func (r *Room) sendCardsLocked(to *Member) {
	var sharers []*Member
	for _, o := range r.members {
		if o != to && o.card != nil {
			sharers = append(sharers, o)
		}
	}
	slices.SortFunc(sharers, func(a, b *Member) int { return cmp.Compare(a.cardSeq, b.cardSeq) })
	for _, o := range sharers {
		to.endpoint.Deliver(CardShared{MemberID: o.id, Card: *o.card})
	}
}

// dropCardLocked forgets m's card and tells the members in the room.
func (r *Room) dropCardLocked(m *Member) {
	if m.card == nil {
		return
	}
	m.card = nil
	for _, o := range r.members {
		o.endpoint.Deliver(CardWithdrawn{MemberID: m.id})
	}
}
