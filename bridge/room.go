package bridge

import (
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/dialroom/dialroom"
)

// Room is the conference of one issued number. It is created by Engine.Room and
// lives while anyone is in it or waiting in its lobby.
type Room struct {
	engine       *Engine
	number       string // digits
	operator     string // login of the number's operator
	operatorName string

	mu       sync.Mutex
	members  []*Member // in order of arrival
	lobby    []*Request
	nextID   int
	ended    bool
	idle     bool          // ended because it was empty (a newcomer just opens a new room)
	talking  []string      // the set last announced
	audio    *roomAudio    // the phone mix; nil while the room has no phone leg
	cardSeq  uint64        // counts card shares, to replay cards in sharing order (card.go)
	material materialState // the shared material and its policy (material.go)
}

// Request is a guest waiting in the lobby for the operator's decision. The
// guest's adapter holds it until an Admitted, Declined or Ended event arrives.
type Request struct {
	room     *Room
	id       string
	identity dialroom.Identity
	endpoint Endpoint
	since    time.Time
	done     bool // guarded by room.mu
}

// ID returns the request id, unique within the room.
func (q *Request) ID() string { return q.id }

// Withdraw takes the request out of the lobby (the guest left or hung up).
// It is idempotent and does nothing once the request was decided.
func (q *Request) Withdraw() { q.room.finishRequest(q, "left", nil) }

// Number returns the room's issued number (digits).
func (r *Room) Number() string { return r.number }

// Operator returns the login of the operator who owns the room's number.
func (r *Room) Operator() string { return r.operator }

// Hosting tells the operator the state of the room they just entered.
type Hosting struct {
	Self    MemberInfo
	Members []MemberInfo // everyone else
	Lobby   []RequestInfo
}

func (Hosting) event() {}

// maxLobby bounds the lobby of one room so that a flood of join requests cannot
// grow memory without limit; real conferences have a handful waiting.
const maxLobby = 100

func (r *Room) newIDLocked(prefix string) string {
	r.nextID++
	return fmt.Sprintf("%s%d", prefix, r.nextID)
}

func (r *Room) gone() *dialroom.Error {
	return dialroom.Errorf(dialroom.EGONE, "This conference has ended.")
}

// Host puts the number's operator in the room at once (no lobby). If the operator
// is already in the same way (another window), that member is replaced; an
// operator's leg of another kind (their softphone, see Enter) stays. The
// endpoint first receives a Hosting event.
func (r *Room) Host(id dialroom.Identity, ep Endpoint) (*Member, error) {
	id.Role = dialroom.RoleOperator
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ended {
		return nil, r.gone()
	}
	if old := r.operatorMemberLocked(); old != nil && old.identity.Kind == id.Kind {
		r.leaveLocked(old, "replaced", Removed{Message: "You opened this conference in another window."})
	}
	now := r.engine.now()
	m := r.addMemberLocked(id, ep, now, now)
	ep.Deliver(Hosting{Self: m.infoLocked(), Members: r.othersLocked(m), Lobby: r.lobbyLocked()})
	r.announceArrivalLocked(m)
	return m, nil
}

// Enter puts a participant in the room without the lobby: a call the operator
// placed, or the operator's own softphone. The endpoint receives Admitted.
func (r *Room) Enter(id dialroom.Identity, ep Endpoint) (*Member, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ended {
		return nil, r.gone()
	}
	now := r.engine.now()
	m := r.addMemberLocked(id, ep, now, now)
	r.admittedLocked(m)
	return m, nil
}

// RequestJoin puts a guest in the lobby (patent claim 1: the request, with the
// guest's identification, is forwarded to the operator). The endpoint receives
// Waiting now and later exactly one of Admitted, Declined or Ended.
func (r *Room) RequestJoin(id dialroom.Identity, ep Endpoint) (*Request, error) {
	id.Role = dialroom.RoleGuest
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ended {
		return nil, r.gone()
	}
	if len(r.lobby) >= maxLobby {
		return nil, dialroom.Errorf(dialroom.ETHROTTLED, "Too many people are waiting for this conference. Try again later.")
	}
	q := &Request{room: r, id: r.newIDLocked("r"), identity: id, endpoint: ep, since: r.engine.now()}
	r.lobby = append(r.lobby, q)
	ep.Deliver(Waiting{RequestID: q.id, OperatorName: r.operatorName})
	if op := r.operatorMemberLocked(); op != nil {
		op.endpoint.Deliver(JoinRequested{Request: q.infoLocked()})
	}
	r.engine.metrics.lobbyEntered()
	return q, nil
}

func (q *Request) infoLocked() RequestInfo {
	return RequestInfo{ID: q.id, Identity: q.identity, Since: q.since}
}

// Admit lets a waiting guest in (patent claims 3–7): the guest receives Admitted
// with the operator's identification and the members already in, and every
// member already in receives MemberJoined with the guest's identification.
// Only the operator may admit.
func (m *Member) Admit(requestID string) (*Member, error) {
	if err := m.mustBeOperator(); err != nil {
		return nil, err
	}
	r := m.room
	r.mu.Lock()
	defer r.mu.Unlock()
	q, err := r.requestLocked(requestID)
	if err != nil {
		return nil, err
	}
	r.removeRequestLocked(q, "admitted")
	nm := r.addMemberLocked(q.identity, q.endpoint, r.engine.now(), q.since)
	r.admittedLocked(nm)
	r.engine.metrics.lobbyLeft("admitted", r.engine.now().Sub(q.since))
	return nm, nil
}

// Decline refuses a waiting guest: they receive Declined and nothing about the
// room, ever. Only the operator may decline.
func (m *Member) Decline(requestID string) error {
	if err := m.mustBeOperator(); err != nil {
		return err
	}
	r := m.room
	r.mu.Lock()
	q, err := r.requestLocked(requestID)
	r.mu.Unlock()
	if err != nil {
		return err
	}
	r.finishRequest(q, "declined", Declined{Message: "The operator declined your request to join."})
	return nil
}

// Mute mutes or unmutes another member. Only the operator may.
func (m *Member) Mute(memberID string, muted bool) error {
	if err := m.mustBeOperator(); err != nil {
		return err
	}
	t, err := m.room.member(memberID)
	if err != nil {
		return err
	}
	t.SetMuted(muted)
	return nil
}

// Remove takes another member out of the room; they receive Removed. Only the
// operator may.
func (m *Member) Remove(memberID string) error {
	if err := m.mustBeOperator(); err != nil {
		return err
	}
	t, err := m.room.member(memberID)
	if err != nil {
		return err
	}
	if t == m {
		return dialroom.Errorf(dialroom.EINVALID, "Use End to leave your own conference.")
	}
	m.room.leave(t, "removed", Removed{Message: "The operator removed you from the conference."})
	return nil
}

// EndRoom ends the conference for everyone. Only the operator may.
func (m *Member) EndRoom() error {
	if err := m.mustBeOperator(); err != nil {
		return err
	}
	m.room.End("The operator ended the conference.")
	return nil
}

// mustBeOperator allows operator actions only to an operator who is still in
// the room: a handle kept after Leave, removal or replacement by another
// window must not manage the conference.
func (m *Member) mustBeOperator() error {
	if m.identity.Role != dialroom.RoleOperator {
		return dialroom.Errorf(dialroom.EDENIED, "Only the operator can do that.")
	}
	m.room.mu.Lock()
	gone := m.gone
	m.room.mu.Unlock()
	if gone {
		return dialroom.Errorf(dialroom.EGONE, "You are no longer in this conference.")
	}
	return nil
}

// End ends the conference: every member and every waiting guest receives Ended
// with message. It is idempotent.
func (r *Room) End(message string) {
	r.mu.Lock()
	if r.ended {
		r.mu.Unlock()
		return
	}
	r.ended = true
	// The members are taken out of the list first, so that Ended is all anyone
	// hears: no RequestGone, MemberLeft or TrackRemoved (with a reason "ended"
	// the protocol does not have) for each one leaving on the way out.
	members := r.members
	r.members = nil
	for _, q := range slices.Clone(r.lobby) {
		r.finishRequestLocked(q, "ended", Ended{Message: message})
	}
	for _, m := range members {
		r.leaveLocked(m, "ended", Ended{Message: message})
	}
	r.mu.Unlock()
	r.engine.forget(r)
}

// Members returns the identification of everyone in the room.
func (r *Room) Members() []MemberInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.othersLocked(nil)
}

// Lobby returns the waiting requests, oldest first.
func (r *Room) Lobby() []RequestInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lobbyLocked()
}

func (r *Room) member(id string) (*Member, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range r.members {
		if m.id == id {
			return m, nil
		}
	}
	return nil, dialroom.Errorf(dialroom.ENOTFOUND, "That member is no longer in the conference.")
}

func (r *Room) requestLocked(id string) (*Request, error) {
	for _, q := range r.lobby {
		if q.id == id {
			return q, nil
		}
	}
	return nil, dialroom.Errorf(dialroom.ENOTFOUND, "That guest is no longer waiting.")
}

func (r *Room) operatorMemberLocked() *Member {
	for _, m := range r.members {
		if m.identity.Role == dialroom.RoleOperator && m.identity.Kind == dialroom.MemberKindBrowser {
			return m
		}
	}
	for _, m := range r.members {
		if m.identity.Role == dialroom.RoleOperator {
			return m
		}
	}
	return nil
}

func (r *Room) othersLocked(except *Member) []MemberInfo {
	out := make([]MemberInfo, 0, len(r.members))
	for _, m := range r.members {
		if m != except {
			out = append(out, m.infoLocked())
		}
	}
	return out
}

func (r *Room) lobbyLocked() []RequestInfo {
	out := make([]RequestInfo, 0, len(r.lobby))
	for _, q := range r.lobby {
		out = append(out, q.infoLocked())
	}
	return out
}

func (r *Room) addMemberLocked(id dialroom.Identity, ep Endpoint, now, started time.Time) *Member {
	m := &Member{room: r, id: r.newIDLocked("m"), identity: id, endpoint: ep, joined: now, started: started}
	r.members = append(r.members, m)
	r.engine.metrics.memberJoined()
	return m
}

// admittedLocked sends the connection notifications for a new member: Admitted
// to the member (with the operator's and everyone's identification), then
// MemberJoined to everyone else, then the tracks the newcomer may subscribe to.
func (r *Room) admittedLocked(m *Member) {
	var op MemberInfo
	if o := r.operatorMemberLocked(); o != nil && o != m {
		op = o.infoLocked()
	}
	m.endpoint.Deliver(Admitted{Self: m.infoLocked(), Operator: op, Members: r.othersLocked(m), Member: m})
	r.announceArrivalLocked(m)
}

func (r *Room) announceArrivalLocked(m *Member) {
	info := m.infoLocked()
	for _, o := range r.members {
		if o == m {
			continue
		}
		o.endpoint.Deliver(MemberJoined{Member: info})
		for _, t := range o.tracks {
			m.endpoint.Deliver(TrackAdded{Track: t})
		}
	}
	r.sendCardsLocked(m)
	r.sendMaterialLocked(m)
}

func (r *Room) finishRequest(q *Request, reason string, ev Event) {
	r.lockedThenForgetIfEmpty(func() { r.finishRequestLocked(q, reason, ev) })
}

// lockedThenForgetIfEmpty runs f with the room's lock held and then lets the
// engine drop the room if nobody is left in it or its lobby.
func (r *Room) lockedThenForgetIfEmpty(f func()) {
	r.mu.Lock()
	f()
	empty := len(r.members) == 0 && len(r.lobby) == 0
	r.mu.Unlock()
	if empty {
		r.engine.forgetIfEmpty(r)
	}
}

// finishRequestLocked ends a request other than by admission and writes its call
// record.
func (r *Room) finishRequestLocked(q *Request, reason string, ev Event) {
	if q.done {
		return
	}
	r.removeRequestLocked(q, reason)
	if ev != nil {
		q.endpoint.Deliver(ev)
	}
	outcome := map[string]string{"left": "abandoned", "declined": "declined", "timeout": "timeout", "ended": "ended"}[reason]
	now := r.engine.now()
	r.engine.metrics.lobbyLeft(outcome, now.Sub(q.since))
	r.engine.record(dialroom.CallRecord{
		Number: r.number, Operator: r.operator, Kind: q.identity.Kind, Role: dialroom.RoleGuest,
		Party: maskParty(q.identity), Outcome: outcome, Reason: reason, Rule: q.identity.Rule, Started: q.since, Ended: now,
	})
}

func (r *Room) removeRequestLocked(q *Request, reason string) {
	q.done = true
	r.lobby = slices.DeleteFunc(r.lobby, func(o *Request) bool { return o == q })
	if op := r.operatorMemberLocked(); op != nil {
		op.endpoint.Deliver(RequestGone{RequestID: q.id, Reason: reason})
	}
}

func (r *Room) leave(m *Member, reason string, ev Event) {
	r.lockedThenForgetIfEmpty(func() { r.leaveLocked(m, reason, ev) })
}

func (r *Room) leaveLocked(m *Member, reason string, ev Event) {
	if m.gone {
		return
	}
	m.gone = true
	r.members = slices.DeleteFunc(r.members, func(o *Member) bool { return o == m })
	for _, t := range m.tracks {
		r.unpublishLocked(t)
	}
	m.tracks = nil
	r.dropCardLocked(m) // a card lives only while its member is in
	r.materialLeftLocked(m)
	if r.audio != nil && m.phone != nil {
		r.audio.removeLocked(m, nil)
		if r.audio.phoneLegsLocked() == 0 {
			r.audio.stopLocked()
			r.audio = nil
		}
	}
	if ev != nil {
		m.endpoint.Deliver(ev)
	}
	for _, o := range r.members {
		o.endpoint.Deliver(MemberLeft{MemberID: m.id, Reason: reason})
	}
	now := r.engine.now()
	r.engine.metrics.memberLeft()
	r.engine.record(dialroom.CallRecord{
		Number: r.number, Operator: r.operator, Kind: m.identity.Kind, Role: m.identity.Role,
		Party: maskParty(m.identity), Outcome: "admitted", Reason: reason, Rule: m.identity.Rule,
		Started: m.started, Admitted: m.joined, Ended: now,
	})
}

// maskParty returns what a call record may keep of a participant: the operator's
// own identity is known anyway; guests are masked.
func maskParty(id dialroom.Identity) string {
	switch {
	case id.Role == dialroom.RoleOperator:
		return id.Name
	case id.Kind == dialroom.MemberKindPhone:
		return id.Address // already masked by the sip adapter
	default:
		return dialroom.MaskAddress(id.Address)
	}
}

func (r *Room) setMuted(m *Member, muted bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if m.gone || m.muted.Load() == muted {
		return
	}
	m.muted.Store(muted)
	r.broadcastUpdateLocked(m)
}

func (r *Room) setCamera(m *Member, on bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if m.gone || m.camera == on {
		return
	}
	m.camera = on
	r.broadcastUpdateLocked(m)
}

func (r *Room) broadcastUpdateLocked(m *Member) {
	info := m.infoLocked()
	for _, o := range r.members {
		o.endpoint.Deliver(MemberUpdated{Member: info})
	}
}

func (r *Room) publish(m *Member, spec TrackSpec) *Track {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.publishLocked(m, spec)
}

func (r *Room) publishLocked(m *Member, spec TrackSpec) *Track {
	t := &Track{id: r.newIDLocked("t"), member: m, spec: spec}
	if m.gone {
		t.closed.Store(true)
		return t
	}
	m.tracks = append(m.tracks, t)
	if r.audio != nil {
		r.audio.addBrowserTrackLocked(t)
	}
	for _, o := range r.members {
		if o != m {
			o.endpoint.Deliver(TrackAdded{Track: t})
		}
	}
	return t
}

func (r *Room) unpublish(t *Track) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := t.member
	if !slices.Contains(m.tracks, t) {
		return
	}
	m.tracks = slices.DeleteFunc(m.tracks, func(o *Track) bool { return o == t })
	r.unpublishLocked(t)
}

func (r *Room) unpublishLocked(t *Track) {
	if r.audio != nil {
		r.audio.removeLocked(nil, t)
	}
	t.closeSubscribers()
	for _, o := range r.members {
		if o != t.member {
			o.endpoint.Deliver(TrackRemoved{Track: t})
		}
	}
}

// talkingWindow is how long after the last voiced packet a member still counts
// as talking; long enough to bridge the gaps between words so the indicator
// does not flicker.
const talkingWindow = 400 * time.Millisecond

// tick does the room's periodic work: lobby timeouts and the talking indicator.
// Called by the engine's housekeeping goroutine.
func (r *Room) tick(now time.Time, lobbyTimeout time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ended {
		return
	}
	if lobbyTimeout > 0 {
		for _, q := range slices.Clone(r.lobby) {
			if now.Sub(q.since) >= lobbyTimeout {
				r.finishRequestLocked(q, "timeout", Ended{Message: "Nobody admitted you in time. Please try again later."})
			}
		}
	}
	var talking []string
	for _, m := range r.members {
		if !m.muted.Load() && now.UnixNano()-m.lastVoice.Load() < int64(talkingWindow) {
			talking = append(talking, m.id)
		}
	}
	if !slices.Equal(talking, r.talking) {
		r.talking = talking
		for _, m := range r.members {
			m.endpoint.Deliver(Talking{MemberIDs: slices.Clone(talking)})
		}
	}
}

// closedIdle reports whether err came from this room having been closed for
// being empty between Engine.Room and the call: the caller should retry with a
// fresh room. The engine drops such a room from its map before it is marked, so
// the retry cannot loop.
func (r *Room) closedIdle(err error) bool {
	if err == nil {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.idle
}

func (r *Room) empty() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.members) == 0 && len(r.lobby) == 0
}
