package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/dialroom/dialroom"
	"github.com/mattn/go-sqlite3"
)

// SetOperatorExtension gives the operator with this login the extension
// number ext (dialroom.ValidateExtension), or takes it away when ext is "".
// Errors: EINVALID for a malformed number, ENOTFOUND when there is no such
// operator, ECONFLICT (naming the operator who has it) when another operator
// has the number. Setting an operator's own number again changes nothing.
func (db *DB) SetOperatorExtension(ctx context.Context, login, ext string) error {
	var value any // NULL clears
	if ext != "" {
		if err := dialroom.ValidateExtension(ext); err != nil {
			return err
		}
		value = ext
	}
	// BeginTx is BEGIN IMMEDIATE (see dsn): the check and the update see
	// the same table.
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("storage: set extension: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if ext != "" {
		var holder string
		err := tx.QueryRowContext(ctx, "SELECT login FROM operators WHERE extension = ? AND login <> ?", ext, login).Scan(&holder)
		switch {
		case err == nil:
			return dialroom.Errorf(dialroom.ECONFLICT, "Extension %s is already operator %q's; clear it there first.", ext, holder)
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("storage: set extension: %w", err)
		}
	}
	res, err := tx.ExecContext(ctx, "UPDATE operators SET extension = ? WHERE login = ?", value, login)
	if isConstraint(err, sqlite3.ErrConstraintUnique) {
		// Only another writer between the check and the update gets here.
		return dialroom.Errorf(dialroom.ECONFLICT, "Extension %s is already another operator's.", ext)
	}
	if err != nil {
		return fmt.Errorf("storage: set extension: %w", err)
	}
	if err := mustAffect(res, "set extension", dialroom.Errorf(dialroom.ENOTFOUND, "There is no operator %q.", login)); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("storage: set extension: %w", err)
	}
	return nil
}

// OperatorByExtension returns the operator whose extension number is ext,
// or ENOTFOUND. The caller owns the returned value.
func (db *DB) OperatorByExtension(ctx context.Context, ext string) (*dialroom.Operator, error) {
	return db.operatorWhere(ctx, "extension", ext, dialroom.Errorf(dialroom.ENOTFOUND, "No operator has extension %q.", ext))
}

// SetOperatorCallerID sets the number presented on the calls the operator
// with this login places through trunks (dialroom.Operator.CallerID), or
// clears it when number is "". The number is cleaned by
// dialroom.CleanCallerID and returned as stored. Errors: EINVALID for a
// malformed number, ENOTFOUND when there is no such operator. Operators may
// share a number (a team's main line).
func (db *DB) SetOperatorCallerID(ctx context.Context, login, number string) (string, error) {
	var value any // NULL clears
	if number != "" {
		clean, err := dialroom.CleanCallerID(number)
		if err != nil {
			return "", err
		}
		number, value = clean, clean
	}
	res, err := db.db.ExecContext(ctx, "UPDATE operators SET caller_id = ? WHERE login = ?", value, login)
	if err != nil {
		return "", fmt.Errorf("storage: set caller ID: %w", err)
	}
	if err := mustAffect(res, "set caller ID", dialroom.Errorf(dialroom.ENOTFOUND, "There is no operator %q.", login)); err != nil {
		return "", err
	}
	return number, nil
}
