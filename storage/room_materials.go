package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/dialroom/dialroom"
)

// Files dropped into a conference (claims 11-12) are materials rows with a
// room: they stay out of the operator's library and are deleted when the
// conference ends, unless the operator keeps one.

// nullString stores "" as NULL.
func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// RoomMaterial returns material id if it belongs to the conference on
// number room, or ENOTFOUND. The caller owns the result.
func (db *DB) RoomMaterial(ctx context.Context, room, id string) (*dialroom.Material, error) {
	if room == "" {
		return nil, errNoMaterial()
	}
	row := db.db.QueryRowContext(ctx, `SELECT `+materialColumns+`
		FROM materials WHERE id = ? AND room = ?`, id, room)
	m, err := scanMaterial(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNoMaterial()
	}
	if err != nil {
		return nil, fmt.Errorf("storage: room material: %w", err)
	}
	return m, nil
}

// CountRoomMaterials returns how many files the conference on number room
// holds, in any state.
func (db *DB) CountRoomMaterials(ctx context.Context, room string) (int, error) {
	var n int
	if err := db.db.QueryRowContext(ctx, `SELECT count(*) FROM materials WHERE room = ?`, room).Scan(&n); err != nil {
		return 0, fmt.Errorf("storage: count room materials: %w", err)
	}
	return n, nil
}

// DeleteRoomMaterials deletes the files of the conference on number room
// (every conference's when room is empty) in one statement and returns
// them as they were; an empty, non-nil slice if there were none.
func (db *DB) DeleteRoomMaterials(ctx context.Context, room string) ([]*dialroom.Material, error) {
	q, args := `DELETE FROM materials WHERE room IS NOT NULL RETURNING `+materialColumns, []any{}
	if room != "" {
		q, args = `DELETE FROM materials WHERE room = ? RETURNING `+materialColumns, []any{room}
	}
	return queryAll(ctx, db.db, "delete room materials", scanMaterial, q, args...)
}

// KeepMaterial moves the ready file id of the conference on number room,
// whose operator is operator, into that operator's library and returns it;
// ENOTFOUND if there is no such ready file there.
func (db *DB) KeepMaterial(ctx context.Context, operator, room, id string) (*dialroom.Material, error) {
	if room == "" {
		return nil, errNoMaterial()
	}
	row := db.db.QueryRowContext(ctx, `UPDATE materials SET room = NULL
		WHERE id = ? AND room = ? AND operator_login = ? AND state = ?
		RETURNING `+materialColumns, id, room, operator, dialroom.MaterialReady)
	m, err := scanMaterial(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNoMaterial()
	}
	if err != nil {
		return nil, fmt.Errorf("storage: keep material: %w", err)
	}
	return m, nil
}
