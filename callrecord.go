package dialroom

import "time"

// CallRecord is what remains of one member session (a browser or a phone leg in a
// conference, or a join request that never got in) after it ends. Guests are
// masked: no display name and no full address is kept.
type CallRecord struct {
	ID       int64
	Number   string    // the issued number the session was for
	Operator string    // login of the operator who owns the number
	Kind     string    // MemberKindBrowser or MemberKindPhone
	Role     string    // RoleOperator or RoleGuest
	Party    string    // masked address or caller number, e.g. "192.0.2.x" or "090-****-5678"
	Outcome  string    // e.g. "admitted", "declined", "abandoned", "timeout"
	Reason   string    // why it ended, e.g. "left", "removed", "ended", "disconnected"
	Rule     string    // dialplan rule that routed it (phones), empty for browsers
	Started  time.Time // UTC: join request or operator arrival
	Admitted time.Time // UTC; zero if never admitted
	Ended    time.Time // UTC
}
