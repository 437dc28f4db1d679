package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/dialroom/dialroom"
	"github.com/mattn/go-sqlite3"
)

// CreateOperator stores a new operator and sets op.ID and op.CreatedAt (to
// db.Now()). op.Login must not be empty (EINVALID); a login that is taken is
// ECONFLICT. Logins compare byte for byte: "Admin" and "admin" are two logins,
// so callers that want otherwise normalize first.
func (db *DB) CreateOperator(ctx context.Context, op *dialroom.Operator) error {
	if op.Login == "" {
		return dialroom.Errorf(dialroom.EINVALID, "A login ID is required.")
	}
	created := db.now()
	res, err := db.db.ExecContext(ctx, `INSERT INTO operators
		(login, display_name, password_hash, fixed_stem, sip_realm, sip_ha1_md5, sip_ha1_sha256, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		op.Login, op.DisplayName, op.PasswordHash, op.FixedStem, op.SIP.Realm, op.SIP.HA1MD5, op.SIP.HA1SHA256, nanos(created))
	if isConstraint(err, sqlite3.ErrConstraintUnique) {
		return dialroom.Errorf(dialroom.ECONFLICT, "The login ID %q is already taken.", op.Login)
	}
	if err != nil {
		return fmt.Errorf("storage: create operator: %w", err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return fmt.Errorf("storage: create operator: %w", err)
	}
	op.ID, op.CreatedAt = id, created
	return nil
}

// OperatorByLogin returns the operator with this login, or ENOTFOUND. The
// caller owns the returned value.
func (db *DB) OperatorByLogin(ctx context.Context, login string) (*dialroom.Operator, error) {
	return db.operatorWhere(ctx, "login", login, dialroom.Errorf(dialroom.ENOTFOUND, "There is no operator %q.", login))
}

// operatorWhere returns the one operator whose column (login or extension,
// both unique) equals value, or notFound.
func (db *DB) operatorWhere(ctx context.Context, column, value string, notFound error) (*dialroom.Operator, error) {
	row := db.db.QueryRowContext(ctx, `SELECT `+operatorColumns+`
		FROM operators WHERE `+column+` = ?`, value)
	op, err := scanOperator(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound
	}
	if err != nil {
		return nil, fmt.Errorf("storage: operator by %s: %w", column, err)
	}
	return op, nil
}

// ListOperators returns every operator, ordered by login; an empty, non-nil
// slice if there are none.
func (db *DB) ListOperators(ctx context.Context) ([]*dialroom.Operator, error) {
	return queryAll(ctx, db.db, "list operators", scanOperator, `SELECT `+operatorColumns+`
		FROM operators ORDER BY login`)
}

// UpdateOperator stores op's DisplayName, PasswordHash, FixedStem and SIP for the
// operator with login op.Login; ENOTFOUND if there is none. It changes
// nothing else: not the login, the ID, the extension (SetOperatorExtension),
// the caller ID (SetOperatorCallerID) or the creation time.
func (db *DB) UpdateOperator(ctx context.Context, op *dialroom.Operator) error {
	res, err := db.db.ExecContext(ctx, `UPDATE operators
		SET display_name = ?, password_hash = ?, fixed_stem = ?,
		    sip_realm = ?, sip_ha1_md5 = ?, sip_ha1_sha256 = ?
		WHERE login = ?`,
		op.DisplayName, op.PasswordHash, op.FixedStem, op.SIP.Realm, op.SIP.HA1MD5, op.SIP.HA1SHA256, op.Login)
	if err != nil {
		return fmt.Errorf("storage: update operator: %w", err)
	}
	return mustAffect(res, "update operator", dialroom.Errorf(dialroom.ENOTFOUND, "There is no operator %q.", op.Login))
}

// DeleteOperator deletes the operator with this login together with its
// numbers (so none of them stays live, and the digits may be issued again)
// and its sessions (so nobody stays logged in as it), in one transaction;
// ENOTFOUND if there is no such operator. Its call records are kept. Ending
// conferences running on its numbers is the caller's job.
func (db *DB) DeleteOperator(ctx context.Context, login string) error {
	// One statement, hence atomic: the schema's ON DELETE CASCADE removes
	// the numbers and sessions, and Open checked that foreign keys are on.
	res, err := db.db.ExecContext(ctx, "DELETE FROM operators WHERE login = ?", login)
	if err != nil {
		return fmt.Errorf("storage: delete operator: %w", err)
	}
	return mustAffect(res, "delete operator", dialroom.Errorf(dialroom.ENOTFOUND, "There is no operator %q.", login))
}

// CountOperators returns the number of operators.
func (db *DB) CountOperators(ctx context.Context) (int, error) {
	var n int
	if err := db.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM operators").Scan(&n); err != nil {
		return 0, fmt.Errorf("storage: count operators: %w", err)
	}
	return n, nil
}

// operatorColumns are the columns scanOperator reads, in its order.
const operatorColumns = "id, login, display_name, password_hash, fixed_stem, sip_realm, sip_ha1_md5, sip_ha1_sha256, extension, caller_id, created_at"

func scanOperator(s rowScanner) (*dialroom.Operator, error) {
	var (
		op      dialroom.Operator
		ext     sql.NullString
		cid     sql.NullString
		created sql.NullInt64
	)
	err := s.Scan(&op.ID, &op.Login, &op.DisplayName, &op.PasswordHash, &op.FixedStem,
		&op.SIP.Realm, &op.SIP.HA1MD5, &op.SIP.HA1SHA256, &ext, &cid, &created)
	if err != nil {
		return nil, err
	}
	op.Extension, op.CallerID = ext.String, cid.String
	op.CreatedAt = timeOf(created)
	return &op, nil
}

// mustAffect returns notFound if res changed no row, nil if it changed some.
func mustAffect(res sql.Result, what string, notFound error) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("storage: %s: %w", what, err)
	}
	if n == 0 {
		return notFound
	}
	return nil
}
