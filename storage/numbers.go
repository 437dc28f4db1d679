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

// listWindow is how far back ListNumbers shows numbers that are no longer
// live: long enough for an operator to see what they handed out last month,
// short enough that the console list stays short.
const listWindow = 30 * 24 * time.Hour

// liveAt is the SQL condition for a number that is live at the time bound to
// its one parameter; it matches dialroom.Number.Live.
const liveAt = "revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)"

// CreateNumber stores a newly issued number. If n.IssuedAt is zero it is set
// to db.Now(). It fails with ECONFLICT, storing nothing, if a number with the
// same digits is live at n.IssuedAt, so the caller can retry with fresh
// digits; the check and the insert run in one write transaction, so of
// concurrent calls with the same digits exactly one succeeds. An unknown
// n.Operator is ENOTFOUND.
func (db *DB) CreateNumber(ctx context.Context, n *dialroom.Number) error {
	if n.IssuedAt.IsZero() {
		n.IssuedAt = db.now()
	}
	// BeginTx is BEGIN IMMEDIATE (see dsn): the write lock is held from the
	// check to the commit, so no other CreateNumber can slip in between.
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("storage: create number: %w", err)
	}
	defer tx.Rollback()

	var taken int
	err = tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM numbers WHERE digits = ? AND "+liveAt,
		n.Digits, nanos(n.IssuedAt)).Scan(&taken)
	if err != nil {
		return fmt.Errorf("storage: create number: %w", err)
	}
	if taken > 0 {
		return dialroom.Errorf(dialroom.ECONFLICT, "The number %s is already in use.", dialroom.FormatNumber(n.Digits))
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO numbers
		(digits, operator_login, issued_at, expires_at, revoked_at)
		VALUES (?, ?, ?, ?, ?)`,
		n.Digits, n.Operator, nanos(n.IssuedAt), nullNanos(n.ExpiresAt), nullNanos(n.RevokedAt))
	if isConstraint(err, sqlite3.ErrConstraintForeignKey) {
		return dialroom.Errorf(dialroom.ENOTFOUND, "There is no operator %q.", n.Operator)
	}
	if err != nil {
		return fmt.Errorf("storage: create number: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("storage: create number: %w", err)
	}
	return nil
}

// LiveNumber returns the number with these digits that is live at now. It
// returns the same ENOTFOUND error for digits never issued, revoked and
// expired, so that nobody can tell them apart. The caller owns the result.
func (db *DB) LiveNumber(ctx context.Context, digits string, now time.Time) (*dialroom.Number, error) {
	row := db.db.QueryRowContext(ctx, "SELECT "+numberColumns+" FROM numbers WHERE digits = ? AND "+liveAt+
		" ORDER BY issued_at DESC LIMIT 1", digits, nanos(now))
	n, err := scanNumber(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, dialroom.Errorf(dialroom.ENOTFOUND, "The number %s is not in service.", dialroom.FormatNumber(digits))
	}
	if err != nil {
		return nil, fmt.Errorf("storage: live number: %w", err)
	}
	return n, nil
}

// ListNumbers returns the operator's numbers, newest first: every number live
// at db.Now(), and the revoked and expired ones issued within the 30 days
// before it. An unknown operator has no numbers; the result is then empty and
// non-nil, as it is for an operator without numbers.
func (db *DB) ListNumbers(ctx context.Context, operator string) ([]*dialroom.Number, error) {
	now := db.now()
	return queryAll(ctx, db.db, "list numbers", scanNumber, "SELECT "+numberColumns+` FROM numbers
		WHERE operator_login = ? AND ((`+liveAt+`) OR issued_at >= ?)
		ORDER BY issued_at DESC, id DESC`,
		operator, nanos(now), nanos(now.Add(-listWindow)))
}

// RevokeNumber marks the operator's number with these digits revoked at at
// (db.Now() if zero), if it is live at that time; ENOTFOUND if the operator
// has no such live number (including when the number is someone else's).
func (db *DB) RevokeNumber(ctx context.Context, operator, digits string, at time.Time) error {
	if at.IsZero() {
		at = db.now()
	}
	res, err := db.db.ExecContext(ctx, "UPDATE numbers SET revoked_at = ? WHERE operator_login = ? AND digits = ? AND "+liveAt,
		nanos(at), operator, digits, nanos(at))
	if err != nil {
		return fmt.Errorf("storage: revoke number: %w", err)
	}
	return mustAffect(res, "revoke number",
		dialroom.Errorf(dialroom.ENOTFOUND, "You have no number %s in service.", dialroom.FormatNumber(digits)))
}

// numberColumns are the columns scanNumber reads, in its order.
const numberColumns = "digits, operator_login, issued_at, expires_at, revoked_at"

func scanNumber(s rowScanner) (*dialroom.Number, error) {
	var (
		n                        dialroom.Number
		issued, expires, revoked sql.NullInt64
	)
	if err := s.Scan(&n.Digits, &n.Operator, &issued, &expires, &revoked); err != nil {
		return nil, err
	}
	n.IssuedAt, n.ExpiresAt, n.RevokedAt = timeOf(issued), timeOf(expires), timeOf(revoked)
	return &n, nil
}
