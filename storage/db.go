// Package storage keeps dialroom's durable state in one SQLite file: operators,
// issued numbers, operator sessions and call records. A *DB implements the root
// package's dialroom.OperatorStore, NumberStore, SessionStore and
// CallRecordStore, and owns the schema and its migrations (embedded, numbered
// .sql files under migrations/).
//
// It owns no policy: it does not hash passwords, pick digits, decide how long
// numbers or sessions live, or end the conference of a revoked number. Callers
// do that and hand it the results. It knows nothing of HTTP, SIP or media, and
// nothing outside it knows that the store is SQLite.
//
// Errors a user can cause come back as *dialroom.Error with code ENOTFOUND,
// ECONFLICT or EINVALID; anything else (a full disk, a corrupt file) is a
// wrapped driver error, which dialroom.ErrorCode reports as EINTERNAL.
package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/dialroom/dialroom"
	"github.com/mattn/go-sqlite3"
)

// busyTimeout is how long a connection waits for another connection's write
// lock before failing with SQLITE_BUSY. Our write transactions last
// milliseconds, so 5 s rides out a burst of them (or a WAL checkpoint) without
// error, yet a database wedged by another process still surfaces as an error on
// the HTTP request or SIP transaction instead of hanging it.
const busyTimeout = 5 * time.Second

// maxConns caps the connection pool. In WAL mode SQLite runs any number of
// readers beside one writer, and writers queue on the file lock (see
// busyTimeout), so a few connections let number lookups from SIP and HTTP go on
// while a write commits. More would buy little: the work is CPU-bound in the
// driver, each connection carries its own page cache, and extra writers only
// queue on the same lock.
const maxConns = 4

// DB is dialroom's SQLite database. It is safe for concurrent use by multiple
// goroutines. Open returns it; the caller owns it and must Close it.
type DB struct {
	// Now returns the current time wherever the store needs "now" itself:
	// creation times it sets, the 30-day window of ListNumbers, the expiry
	// cut-off of PurgeExpiredSessions. Open sets it to time.Now; tests may
	// replace it before the DB is used, not concurrently with use.
	Now func() time.Time

	db   *sql.DB
	path string
}

// The store interfaces *DB implements.
var (
	_ dialroom.OperatorStore   = (*DB)(nil)
	_ dialroom.NumberStore     = (*DB)(nil)
	_ dialroom.SessionStore    = (*DB)(nil)
	_ dialroom.CallRecordStore = (*DB)(nil)
)

// Open opens the SQLite database file at path, creating it and its parent
// directory if missing, and brings its schema up to date by running the
// embedded migrations it has not seen yet. It refuses a file that records a
// migration this build does not know, i.e. one written by a newer dialroom.
// path names a file; ":memory:" and URIs are not supported.
//
// On success the caller owns the *DB and must Close it. On error nothing is
// left open.
func Open(path string) (*DB, error) {
	if path == "" {
		return nil, errors.New("storage: empty database path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	// 0700: the file holds password hashes and session token hashes; nobody
	// but dialroom's own user needs to list or read the directory.
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return nil, fmt.Errorf("storage: create database directory: %w", err)
	}
	sqlDB, err := sql.Open("sqlite3", dsn(abs))
	if err != nil {
		return nil, fmt.Errorf("storage: open %s: %w", abs, err)
	}
	sqlDB.SetMaxOpenConns(maxConns)
	// Keep every connection, forever: reopening one re-runs the pragmas and
	// starts with a cold page cache, and there is no server to drop it.
	sqlDB.SetMaxIdleConns(maxConns)
	sqlDB.SetConnMaxLifetime(0)
	sqlDB.SetConnMaxIdleTime(0)

	db := &DB{Now: time.Now, db: sqlDB, path: abs}
	if err := db.init(context.Background()); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("storage: open %s: %w", abs, err)
	}
	return db, nil
}

// dsn returns the go-sqlite3 data source name for the file at abs. The
// driver applies the underscore parameters to every connection it opens, which
// matters because foreign_keys, busy_timeout and synchronous are
// per-connection settings.
func dsn(abs string) string {
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	q.Set("_foreign_keys", "on")
	q.Set("_busy_timeout", strconv.FormatInt(busyTimeout.Milliseconds(), 10))
	// Every transaction we open writes, so take the write lock at BEGIN. A
	// deferred transaction that reads and then writes can fail at once with
	// SQLITE_BUSY when another writer got in between (SQLite cannot wait
	// there without deadlocking), and the read-then-insert of CreateNumber
	// must not interleave with another one.
	q.Set("_txlock", "immediate")
	// FULL: a commit is on disk before it returns, even across a power cut.
	// Writes are rare here (logins, issued numbers, call records) and a
	// number already shown to an operator must not vanish with the last
	// un-synced WAL frames; NORMAL's saved fsync is not worth that.
	q.Set("_synchronous", "FULL")
	// A file: URI with the path escaped: in a plain file name a '?' would
	// start the driver's parameters, and '#' and '%' mean something in URIs.
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: q.Encode()}
	return u.String()
}

// init checks that the connection settings took effect and migrates.
func (db *DB) init(ctx context.Context) error {
	var mode string
	if err := db.db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return err
	}
	if mode != "wal" {
		return fmt.Errorf("journal mode is %q, not wal (is the file on a network file system?)", mode)
	}
	var fk int
	if err := db.db.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil {
		return err
	}
	if fk != 1 {
		return errors.New("foreign keys could not be enabled")
	}
	sub, err := fs.Sub(migrationFS, "migrations")
	if err != nil {
		return err
	}
	ms, err := loadMigrations(sub)
	if err != nil {
		return err
	}
	return migrate(ctx, db.db, ms, db.now)
}

// Close closes the database: it waits for queries in progress to finish, and
// calls made after it fail. Call it once, after the last use.
func (db *DB) Close() error {
	if err := db.db.Close(); err != nil {
		return fmt.Errorf("storage: close %s: %w", db.path, err)
	}
	return nil
}

// Ping reports whether the database can be read, for health checks: it runs
// a query that reads the file rather than only checking the connection.
func (db *DB) Ping(ctx context.Context) error {
	var v int
	err := db.db.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&v)
	if err != nil {
		return fmt.Errorf("storage: ping: %w", err)
	}
	return nil
}

// now returns db.Now() in UTC.
func (db *DB) now() time.Time {
	if db.Now == nil {
		return time.Now().UTC()
	}
	return db.Now().UTC()
}

// Times are stored as INTEGER nanoseconds since the Unix epoch, UTC. Integers
// compare and sort correctly in SQL (RFC 3339 text with its trimmed fraction
// does not: "…:05Z" sorts after "…:05.5Z"), turn back into the same
// time.Time to the nanosecond, skip the driver's own time conversions, and
// cover 1677–2262, which is plenty. A zero time.Time is stored as NULL. In the
// sqlite3 shell: datetime(issued_at / 1e9, 'unixepoch').

// nanos returns t as Unix nanoseconds for comparisons in queries, saturating
// outside 1677–2262 so that order is kept (the zero time is the smallest).
func nanos(t time.Time) int64 {
	switch {
	case t.Before(time.Unix(0, math.MinInt64)):
		return math.MinInt64
	case t.After(time.Unix(0, math.MaxInt64)):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// nullNanos returns t for storing in a column: NULL if t is zero, else nanos(t).
func nullNanos(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return nanos(t)
}

// timeOf returns the UTC time stored as v; the zero time for NULL.
func timeOf(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.Unix(0, v.Int64).UTC()
}

// rowScanner is what *sql.Row and *sql.Rows have in common.
type rowScanner interface {
	Scan(dest ...any) error
}

// queryAll runs a query and scans every row with scan; an empty, non-nil
// slice if there are none. what names the operation in errors
// ("storage: what: …").
func queryAll[T any](ctx context.Context, db *sql.DB, what string, scan func(rowScanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("storage: %s: %w", what, err)
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("storage: %s: %w", what, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("storage: %s: %w", what, err)
	}
	return out, nil
}

// isConstraint reports whether err is SQLite's constraint failure with the
// given extended code, e.g. sqlite3.ErrConstraintUnique.
func isConstraint(err error, code sqlite3.ErrNoExtended) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && se.ExtendedCode == code
}
