package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/dialroom/dialroom"
)

// OperatorCard returns the operator's saved business card, or ENOTFOUND when
// the operator has none (or does not exist). The caller owns the result.
func (db *DB) OperatorCard(ctx context.Context, login string) (*dialroom.Card, error) {
	var (
		c    dialroom.Card
		logo []byte
	)
	err := db.db.QueryRowContext(ctx, `SELECT c.name, c.organization, c.title, c.email, c.phone, c.logo, c.logo_type
		FROM operator_cards c JOIN operators o ON o.id = c.operator_id WHERE o.login = ?`, login).
		Scan(&c.Name, &c.Organization, &c.Title, &c.Email, &c.Phone, &logo, &c.LogoType)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, dialroom.Errorf(dialroom.ENOTFOUND, "You have not saved a card yet.")
	}
	if err != nil {
		return nil, fmt.Errorf("storage: operator card: %w", err)
	}
	if len(logo) > 0 {
		c.Logo = logo
	}
	return &c, nil
}

// SaveOperatorCard stores or replaces the operator's card after checking it
// with Card.Validate (EINVALID); ENOTFOUND if there is no such operator.
func (db *DB) SaveOperatorCard(ctx context.Context, login string, c dialroom.Card) error {
	if err := c.Validate(); err != nil {
		return err
	}
	var logo any // NULL for no logo, never an empty BLOB
	if len(c.Logo) > 0 {
		logo = c.Logo
	}
	res, err := db.db.ExecContext(ctx, `INSERT INTO operator_cards
		(operator_id, name, organization, title, email, phone, logo, logo_type, updated_at)
		SELECT id, ?, ?, ?, ?, ?, ?, ?, ? FROM operators WHERE login = ?
		ON CONFLICT (operator_id) DO UPDATE SET name = excluded.name, organization = excluded.organization,
			title = excluded.title, email = excluded.email, phone = excluded.phone,
			logo = excluded.logo, logo_type = excluded.logo_type, updated_at = excluded.updated_at`,
		c.Name, c.Organization, c.Title, c.Email, c.Phone, logo, c.LogoType, nanos(db.now()), login)
	if err != nil {
		return fmt.Errorf("storage: save operator card: %w", err)
	}
	return mustAffect(res, "save operator card", dialroom.Errorf(dialroom.ENOTFOUND, "There is no operator %q.", login))
}

// DeleteOperatorCard removes the operator's card. An operator without a card,
// or no such operator, is not an error: afterwards there is no card either way.
func (db *DB) DeleteOperatorCard(ctx context.Context, login string) error {
	_, err := db.db.ExecContext(ctx, `DELETE FROM operator_cards
		WHERE operator_id = (SELECT id FROM operators WHERE login = ?)`, login)
	if err != nil {
		return fmt.Errorf("storage: delete operator card: %w", err)
	}
	return nil
}
