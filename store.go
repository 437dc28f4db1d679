package dialroom

import (
	"context"
	"time"
)

// OperatorStore keeps operators. Implementations are safe for concurrent use.
// Lookups of a missing operator return an ENOTFOUND *Error; creating a login that
// exists returns ECONFLICT.
type OperatorStore interface {
	CreateOperator(ctx context.Context, op *Operator) error // sets op.ID and op.CreatedAt
	OperatorByLogin(ctx context.Context, login string) (*Operator, error)
	ListOperators(ctx context.Context) ([]*Operator, error) // ordered by login
	UpdateOperator(ctx context.Context, op *Operator) error // display name, hash, stem, SIP credentials
	DeleteOperator(ctx context.Context, login string) error // also revokes its numbers
	CountOperators(ctx context.Context) (int, error)
}

// NumberStore keeps issued numbers. CreateNumber fails with ECONFLICT when the
// digits belong to a number that is live at n.IssuedAt, so callers retry with
// fresh random digits; uniqueness is enforced inside one transaction.
type NumberStore interface {
	CreateNumber(ctx context.Context, n *Number) error
	// LiveNumber returns the number with these digits that is live at now, or
	// ENOTFOUND (for unknown, revoked and expired alike: callers must not be
	// able to tell them apart).
	LiveNumber(ctx context.Context, digits string, now time.Time) (*Number, error)
	// ListNumbers returns the operator's numbers, newest first, including revoked
	// and expired ones issued within the last 30 days.
	ListNumbers(ctx context.Context, operator string) ([]*Number, error)
	// RevokeNumber revokes the operator's live number; ENOTFOUND if the operator
	// has no such live number.
	RevokeNumber(ctx context.Context, operator, digits string, at time.Time) error
}

// Session is a logged-in operator's browser session. Only a hash of the token is
// stored, so a stolen database file does not log anyone in.
type Session struct {
	TokenHash string // hex SHA-256 of the cookie token
	Operator  string // login
	Created   time.Time
	Expires   time.Time
}

// SessionStore keeps operator sessions so they survive a restart.
type SessionStore interface {
	CreateSession(ctx context.Context, s *Session) error
	// SessionByTokenHash returns a session that has not expired at now, or ENOTFOUND.
	SessionByTokenHash(ctx context.Context, tokenHash string, now time.Time) (*Session, error)
	DeleteSession(ctx context.Context, tokenHash string) error
	DeleteOperatorSessions(ctx context.Context, operator string) error
}

// CallRecordStore keeps call records.
type CallRecordStore interface {
	CreateCallRecord(ctx context.Context, r *CallRecord) error // sets r.ID
	ListCallRecords(ctx context.Context, operator string, limit int) ([]*CallRecord, error)
}
