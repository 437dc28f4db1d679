package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/dialroom/dialroom"
	"github.com/mattn/go-sqlite3"
)

var _ dialroom.MaterialStore = (*DB)(nil)

// errNoMaterial is the answer for a material that does not exist or is
// another operator's: the two must look the same.
func errNoMaterial() error {
	return dialroom.Errorf(dialroom.ENOTFOUND, "There is no such material.")
}

// CreateMaterial stores m in state converting and sets m.State and
// m.Created (to db.Now()). m.ID and m.Operator are required (EINVALID); an
// operator that does not exist is ENOTFOUND, an id in use ECONFLICT.
func (db *DB) CreateMaterial(ctx context.Context, m *dialroom.Material) error {
	if m.ID == "" || m.Operator == "" {
		return dialroom.Errorf(dialroom.EINVALID, "A material needs an id and an operator.")
	}
	created := db.now()
	_, err := db.db.ExecContext(ctx, `INSERT INTO materials
		(id, operator_login, name, state, bytes, created_at, room, uploader) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		m.ID, m.Operator, m.Name, dialroom.MaterialConverting, m.Bytes, nanos(created), nullString(m.Room), m.Uploader)
	switch {
	case isConstraint(err, sqlite3.ErrConstraintPrimaryKey):
		return dialroom.Errorf(dialroom.ECONFLICT, "The material id is taken.")
	case isConstraint(err, sqlite3.ErrConstraintForeignKey):
		return dialroom.Errorf(dialroom.ENOTFOUND, "There is no operator %q.", m.Operator)
	case err != nil:
		return fmt.Errorf("storage: create material: %w", err)
	}
	m.State, m.Created = dialroom.MaterialConverting, created
	return nil
}

// Material returns the operator's material id, or ENOTFOUND (also when it
// is another operator's). The caller owns the result.
func (db *DB) Material(ctx context.Context, operator, id string) (*dialroom.Material, error) {
	row := db.db.QueryRowContext(ctx, `SELECT `+materialColumns+`
		FROM materials WHERE id = ? AND operator_login = ?`, id, operator)
	m, err := scanMaterial(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNoMaterial()
	}
	if err != nil {
		return nil, fmt.Errorf("storage: material: %w", err)
	}
	return m, nil
}

// ListMaterials returns the operator's library, newest first (not the
// files dropped into conferences); an empty, non-nil slice if there are none.
func (db *DB) ListMaterials(ctx context.Context, operator string) ([]*dialroom.Material, error) {
	return queryAll(ctx, db.db, "list materials", scanMaterial, `SELECT `+materialColumns+`
		FROM materials WHERE operator_login = ? AND room IS NULL ORDER BY created_at DESC, id`, operator)
}

// FinishMaterial records the converting material id as ready, with the
// converter's document id, its type and page count. ENOTFOUND if it was
// deleted meanwhile or is not converting: the caller then removes the
// document's files.
func (db *DB) FinishMaterial(ctx context.Context, id, document, typ string, pages int) error {
	if document == "" || pages < 1 {
		return dialroom.Errorf(dialroom.EINVALID, "A ready material needs a document and pages.")
	}
	res, err := db.db.ExecContext(ctx, `UPDATE materials SET state = ?, document_id = ?, kind = ?, pages = ?
		WHERE id = ? AND state = ?`, dialroom.MaterialReady, document, typ, pages, id, dialroom.MaterialConverting)
	if err != nil {
		return fmt.Errorf("storage: finish material: %w", err)
	}
	return mustAffect(res, "finish material", errNoMaterial())
}

// FailMaterial records the converting material id as failed with message;
// ENOTFOUND if it was deleted meanwhile or is not converting.
func (db *DB) FailMaterial(ctx context.Context, id, message string) error {
	res, err := db.db.ExecContext(ctx, `UPDATE materials SET state = ?, error = ?
		WHERE id = ? AND state = ?`, dialroom.MaterialFailed, message, id, dialroom.MaterialConverting)
	if err != nil {
		return fmt.Errorf("storage: fail material: %w", err)
	}
	return mustAffect(res, "fail material", errNoMaterial())
}

// FailConvertingMaterials marks every converting material failed with
// message, for a server starting after one that stopped mid-conversion.
func (db *DB) FailConvertingMaterials(ctx context.Context, message string) (int, error) {
	res, err := db.db.ExecContext(ctx, `UPDATE materials SET state = ?, error = ? WHERE state = ?`,
		dialroom.MaterialFailed, message, dialroom.MaterialConverting)
	if err != nil {
		return 0, fmt.Errorf("storage: fail converting materials: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("storage: fail converting materials: %w", err)
	}
	return int(n), nil
}

// DeleteMaterial deletes the operator's material id and returns it as it
// was, so the caller can remove its files; ENOTFOUND if there is none (or it
// is another operator's). One statement: a concurrent FinishMaterial either
// ran before (and the returned Document names its files) or finds no row.
func (db *DB) DeleteMaterial(ctx context.Context, operator, id string) (*dialroom.Material, error) {
	row := db.db.QueryRowContext(ctx, `DELETE FROM materials WHERE id = ? AND operator_login = ?
		RETURNING `+materialColumns, id, operator)
	m, err := scanMaterial(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNoMaterial()
	}
	if err != nil {
		return nil, fmt.Errorf("storage: delete material: %w", err)
	}
	return m, nil
}

// MaterialDocuments returns the converter document ids of every ready
// material, of all operators, for a start-up sweep of files no row names
// (those of operators deleted with their rows).
func (db *DB) MaterialDocuments(ctx context.Context) (map[string]bool, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT document_id FROM materials WHERE document_id IS NOT NULL`)
	if err != nil {
		return nil, fmt.Errorf("storage: material documents: %w", err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("storage: material documents: %w", err)
		}
		out[id] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("storage: material documents: %w", err)
	}
	return out, nil
}

// materialColumns are the columns scanMaterial reads, in its order.
const materialColumns = "id, operator_login, name, state, kind, pages, error, bytes, document_id, created_at, room, uploader"

func scanMaterial(s rowScanner) (*dialroom.Material, error) {
	var (
		m       dialroom.Material
		doc     sql.NullString
		room    sql.NullString
		created sql.NullInt64
	)
	if err := s.Scan(&m.ID, &m.Operator, &m.Name, &m.State, &m.Type, &m.Pages, &m.Error, &m.Bytes, &doc, &created, &room, &m.Uploader); err != nil {
		return nil, err
	}
	m.Document, m.Room = doc.String, room.String
	m.Created = timeOf(created)
	return &m, nil
}
