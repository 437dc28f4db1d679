package bridge

import (
	"sync/atomic"
	"time"

	"github.com/dialroom/dialroom"
)

// MemberInfo is a member's identification as shown to the others.
type MemberInfo struct {
	ID       string
	Identity dialroom.Identity
	Muted    bool
	Camera   bool
	Joined   time.Time
}

// RequestInfo is a waiting join request as shown to the operator.
type RequestInfo struct {
	ID       string
	Identity dialroom.Identity
	Since    time.Time
}

// Member is an admitted participant. It is created by Room.Host, Room.Enter or an
// admission, and ends with Leave, Remove or the end of the room.
type Member struct {
	room     *Room
	id       string
	identity dialroom.Identity
	endpoint Endpoint
	joined   time.Time
	started  time.Time // join request or arrival, for the call record

	muted     atomic.Bool    // by the operator or themselves: audio is not forwarded
	camera    bool           // guarded by room.mu
	lastVoice atomic.Int64   // unix nanos of the last voiced audio packet
	tracks    []*Track       // guarded by room.mu
	gone      bool           // guarded by room.mu
	phone     PhoneAudio     // set once by AttachPhoneAudio; guarded by room.mu
	card      *dialroom.Card // shared business card (card.go); guarded by room.mu
	cardSeq   uint64         // when card was shared, in the room's order; guarded by room.mu
	cardAt    time.Time      // when the member last shared a card; guarded by room.mu
}

// ID returns the member's id, unique within the room.
func (m *Member) ID() string { return m.id }

// Room returns the member's room.
func (m *Member) Room() *Room { return m.room }

// Identity returns the member's identification.
func (m *Member) Identity() dialroom.Identity { return m.identity }

// Muted reports whether the member's audio is currently not forwarded.
func (m *Member) Muted() bool { return m.muted.Load() }

func (m *Member) infoLocked() MemberInfo {
	return MemberInfo{ID: m.id, Identity: m.identity, Muted: m.muted.Load(), Camera: m.camera, Joined: m.joined}
}

// Leave takes the member out of the room with the given reason ("left",
// "disconnected"). It is idempotent.
func (m *Member) Leave(reason string) { m.room.leave(m, reason, nil) }

// SetMuted mutes or unmutes the member (the member themselves or the operator);
// every member is told.
func (m *Member) SetMuted(muted bool) { m.room.setMuted(m, muted) }

// SetCamera records whether the member is sending video; every member is told.
func (m *Member) SetCamera(on bool) { m.room.setCamera(m, on) }

// Publish adds a track the member sends. Every other member is told with
// TrackAdded. The returned Track is written by the member's adapter (one reader
// goroutine) and closed by it, or by the room when the member leaves.
func (m *Member) Publish(spec TrackSpec) *Track { return m.room.publish(m, spec) }

// InRoom reports whether the member is still in its room: false once it
// left, was removed or replaced, or the conference ended. Safe from any
// goroutine.
func (m *Member) InRoom() bool {
	m.room.mu.Lock()
	defer m.room.mu.Unlock()
	return !m.gone
}
