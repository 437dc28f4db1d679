package bridge

// Event is a notification from a room to one endpoint. The concrete types below
// are the whole set; adapters switch on them and translate to their protocol.
type Event interface{ event() }

// JoinRequested tells the operator that a guest is waiting in the lobby.
type JoinRequested struct{ Request RequestInfo }

// RequestGone tells the operator a request left the lobby. Reason is one of
// "left", "timeout", "admitted", "declined".
type RequestGone struct {
	RequestID string
	Reason    string
}

// Waiting tells a guest their request reached the operator.
type Waiting struct {
	RequestID    string
	OperatorName string
}

// Admitted is the patent's connection notification to a newly admitted member:
// their own identification, the operator's, and everyone already in.
type Admitted struct {
	Member   *Member // the adapter's handle on the new member
	Self     MemberInfo
	Operator MemberInfo // zero ID when the operator is not connected
	Members  []MemberInfo
}

// Declined tells a guest the operator declined them. Nothing else follows.
type Declined struct{ Message string }

// MemberJoined tells every member already in about a newcomer.
type MemberJoined struct{ Member MemberInfo }

// MemberLeft tells every member that a member left. Reason is one of "left",
// "removed", "disconnected", "replaced".
type MemberLeft struct {
	MemberID string
	Reason   string
}

// MemberUpdated tells every member that a member's state (mute, camera) changed.
type MemberUpdated struct{ Member MemberInfo }

// Talking carries the ids of the members currently talking; sent on change.
type Talking struct{ MemberIDs []string }

// Removed tells a member the operator removed them. The endpoint should hang up.
type Removed struct{ Message string }

// Ended tells a member or a waiting guest the conference ended.
type Ended struct{ Message string }

// TrackAdded tells a member that another member published a track it may
// subscribe to (Track.Subscribe).
type TrackAdded struct{ Track *Track }

// TrackRemoved tells a member a track it may have subscribed to is gone; its
// subscriptions have already been dropped.
type TrackRemoved struct{ Track *Track }

func (JoinRequested) event() {}
func (RequestGone) event()   {}
func (Waiting) event()       {}
func (Admitted) event()      {}
func (Declined) event()      {}
func (MemberJoined) event()  {}
func (MemberLeft) event()    {}
func (MemberUpdated) event() {}
func (Talking) event()       {}
func (Removed) event()       {}
func (Ended) event()         {}
func (TrackAdded) event()    {}
func (TrackRemoved) event()  {}

// Endpoint is how a room reaches one participant (a browser's socket, a phone
// call). Deliver is called with the room's lock held: it must not block and must
// not call back into the room; adapters queue the event for their own goroutine.
type Endpoint interface {
	Deliver(Event)
}
