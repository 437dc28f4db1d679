package storage

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/dialroom/dialroom"
)

// CreateCallRecord stores r and sets r.ID. r.Started and r.Ended are required
// (EINVALID without them); a zero r.Admitted means never admitted and reads
// back as zero. The record does not depend on the operator or the number
// still existing: call records are history and outlive both.
func (db *DB) CreateCallRecord(ctx context.Context, r *dialroom.CallRecord) error {
	if r.Started.IsZero() || r.Ended.IsZero() {
		return dialroom.Errorf(dialroom.EINVALID, "A call record needs its start and end times.")
	}
	res, err := db.db.ExecContext(ctx, `INSERT INTO call_records
		(number, operator_login, kind, role, party, outcome, reason, rule, started_at, admitted_at, ended_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.Number, r.Operator, r.Kind, r.Role, r.Party, r.Outcome, r.Reason, r.Rule,
		nanos(r.Started), nullNanos(r.Admitted), nanos(r.Ended))
	if err != nil {
		return fmt.Errorf("storage: create call record: %w", err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return fmt.Errorf("storage: create call record: %w", err)
	}
	r.ID = id
	return nil
}

// ListCallRecords returns the operator's call records, newest (latest
// Started) first, at most limit of them; limit <= 0 means no limit. The
// result is empty and non-nil when there are none.
func (db *DB) ListCallRecords(ctx context.Context, operator string, limit int) ([]*dialroom.CallRecord, error) {
	if limit <= 0 {
		limit = -1 // SQLite: a negative LIMIT is no limit
	}
	rows, err := db.db.QueryContext(ctx, `SELECT id, number, operator_login, kind, role, party, outcome, reason, rule,
		started_at, admitted_at, ended_at
		FROM call_records WHERE operator_login = ?
		ORDER BY started_at DESC, id DESC LIMIT ?`, operator, limit)
	if err != nil {
		return nil, fmt.Errorf("storage: list call records: %w", err)
	}
	defer rows.Close()
	rs := []*dialroom.CallRecord{}
	for rows.Next() {
		var (
			r                        dialroom.CallRecord
			started, admitted, ended sql.NullInt64
		)
		err := rows.Scan(&r.ID, &r.Number, &r.Operator, &r.Kind, &r.Role, &r.Party, &r.Outcome, &r.Reason, &r.Rule,
			&started, &admitted, &ended)
		if err != nil {
			return nil, fmt.Errorf("storage: list call records: %w", err)
		}
		r.Started, r.Admitted, r.Ended = timeOf(started), timeOf(admitted), timeOf(ended)
		rs = append(rs, &r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("storage: list call records: %w", err)
	}
	return rs, nil
}
