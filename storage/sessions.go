package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/dialroom/dialroom"
	"github.com/mattn/go-sqlite3"
)

// CreateSession stores a new session. s.TokenHash and s.Expires are required
// (EINVALID without them); a zero s.Created is set to db.Now(). A token hash
// that exists is ECONFLICT, an unknown s.Operator ENOTFOUND.
func (db *DB) CreateSession(ctx context.Context, s *dialroom.Session) error {
	if s.TokenHash == "" {
		return dialroom.Errorf(dialroom.EINVALID, "A session needs a token.")
	}
	if s.Expires.IsZero() {
		return dialroom.Errorf(dialroom.EINVALID, "A session needs an expiry time.")
	}
	if s.Created.IsZero() {
		s.Created = db.now()
	}
	_, err := db.db.ExecContext(ctx, `INSERT INTO sessions
		(token_hash, operator_login, created_at, expires_at)
		VALUES (?, ?, ?, ?)`,
		s.TokenHash, s.Operator, nanos(s.Created), nanos(s.Expires))
	switch {
	case isConstraint(err, sqlite3.ErrConstraintPrimaryKey):
		return dialroom.Errorf(dialroom.ECONFLICT, "The session exists already.")
	case isConstraint(err, sqlite3.ErrConstraintForeignKey):
		return dialroom.Errorf(dialroom.ENOTFOUND, "There is no operator %q.", s.Operator)
	case err != nil:
		return fmt.Errorf("storage: create session: %w", err)
	}
	return nil
}

// SessionByTokenHash returns the session with this token hash if it has not
// expired at now (now is before its Expires), or ENOTFOUND. The caller owns
// the result.
func (db *DB) SessionByTokenHash(ctx context.Context, tokenHash string, now time.Time) (*dialroom.Session, error) {
	var (
		s                dialroom.Session
		created, expires sql.NullInt64
	)
	err := db.db.QueryRowContext(ctx, `SELECT token_hash, operator_login, created_at, expires_at
		FROM sessions WHERE token_hash = ? AND expires_at > ?`, tokenHash, nanos(now)).
		Scan(&s.TokenHash, &s.Operator, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, dialroom.Errorf(dialroom.ENOTFOUND, "Your session has ended; please log in again.")
	}
	if err != nil {
		return nil, fmt.Errorf("storage: session: %w", err)
	}
	s.Created, s.Expires = timeOf(created), timeOf(expires)
	return &s, nil
}

// DeleteSession deletes the session with this token hash. Deleting a session
// that does not exist (logging out twice) is not an error.
func (db *DB) DeleteSession(ctx context.Context, tokenHash string) error {
	if _, err := db.db.ExecContext(ctx, "DELETE FROM sessions WHERE token_hash = ?", tokenHash); err != nil {
		return fmt.Errorf("storage: delete session: %w", err)
	}
	return nil
}

// DeleteOperatorSessions deletes every session of the operator (after a
// password change, say). An operator without sessions is not an error.
func (db *DB) DeleteOperatorSessions(ctx context.Context, operator string) error {
	if _, err := db.db.ExecContext(ctx, "DELETE FROM sessions WHERE operator_login = ?", operator); err != nil {
		return fmt.Errorf("storage: delete operator sessions: %w", err)
	}
	return nil
}

// PurgeExpiredSessions deletes the sessions that have expired at db.Now().
// SessionByTokenHash already ignores them; purging only keeps the table
// small, so callers run it now and then (at start-up, or hourly).
func (db *DB) PurgeExpiredSessions(ctx context.Context) error {
	if _, err := db.db.ExecContext(ctx, "DELETE FROM sessions WHERE expires_at <= ?", nanos(db.now())); err != nil {
		return fmt.Errorf("storage: purge expired sessions: %w", err)
	}
	return nil
}
