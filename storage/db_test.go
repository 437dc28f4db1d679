package storage_test

import (
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dialroom/dialroom"
	"github.com/dialroom/dialroom/storage"
)

// t0 is the tests' "now".
var t0 = time.Date(2026, 11, 26, 1, 0, 0, 0, time.UTC)

// newDB opens a fresh database file under t.TempDir (in a directory Open must
// create) with its clock stopped at t0, and closes it when the test ends.
func newDB(t testing.TB) *storage.DB {
	t.Helper()
	db := openPath(t, filepath.Join(t.TempDir(), "data", "dialroom.db"))
	db.Now = func() time.Time { return t0 }
	return db
}

// openPath opens the file at path and closes it when the test ends.
func openPath(t testing.TB, path string) *storage.DB {
	t.Helper()
	db, err := storage.Open(path)
	if err != nil {
		t.Fatalf("Open(%q): %v", path, err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// rawDB opens the file at path with plain database/sql, to look at or tamper
// with what storage wrote.
func rawDB(t testing.TB, path string) *sql.DB {
	t.Helper()
	raw, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return raw
}

// checkCode fails the test unless err has the dialroom error code want
// ("" for a nil error).
func checkCode(t testing.TB, err error, want string) {
	t.Helper()
	if got := dialroom.ErrorCode(err); got != want {
		t.Fatalf("error %v: code %q, want %q", err, got, want)
	}
}

func addOperator(t testing.TB, db *storage.DB, login string) *dialroom.Operator {
	t.Helper()
	op := &dialroom.Operator{Login: login, DisplayName: "Operator " + login, PasswordHash: "hash-" + login}
	if err := db.CreateOperator(t.Context(), op); err != nil {
		t.Fatalf("CreateOperator(%q): %v", login, err)
	}
	return op
}

func addNumber(t testing.TB, db *storage.DB, n dialroom.Number) {
	t.Helper()
	if err := db.CreateNumber(t.Context(), &n); err != nil {
		t.Fatalf("CreateNumber(%+v): %v", n, err)
	}
}

func TestOpenFreshFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "a", "b", "dialroom.db")
	db := openPath(t, path)
	if err := db.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database file: %v", err)
	}

	raw := rawDB(t, path)
	var mode string
	if err := raw.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" {
		t.Errorf("journal_mode = %q, want wal", mode)
	}
	var versions int
	if err := raw.QueryRow("SELECT COUNT(*) FROM schema_migrations").Scan(&versions); err != nil {
		t.Fatal(err)
	}
	if versions == 0 {
		t.Error("schema_migrations is empty after Open")
	}
	for _, table := range []string{"operators", "numbers", "sessions", "call_records"} {
		var n int
		if err := raw.QueryRow("SELECT COUNT(*) FROM sqlite_schema WHERE type = 'table' AND name = ?", table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("table %s missing", table)
		}
	}
}

func TestOpenPathNeedingEscapes(t *testing.T) {
	t.Parallel()
	// The driver would take '?' for the start of its parameters and SQLite
	// '#' for a URI fragment, had Open not escaped them.
	path := filepath.Join(t.TempDir(), "odd dir #1", "dial?room %20.db")
	db := openPath(t, path)
	addOperator(t, db, "admin")
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database file not at the path given: %v", err)
	}
}

// TestReopen is a restart: operators, live numbers and sessions survive it,
// and the migrations are not applied twice.
func TestReopen(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "dialroom.db")
	db, err := storage.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	db.Now = func() time.Time { return t0 }
	addOperator(t, db, "admin")
	addNumber(t, db, dialroom.Number{Digits: "06012345678", Operator: "admin", IssuedAt: t0})
	addNumber(t, db, dialroom.Number{Digits: "06087654321", Operator: "admin", IssuedAt: t0, RevokedAt: t0})
	sess := &dialroom.Session{TokenHash: "abc", Operator: "admin", Created: t0, Expires: t0.Add(time.Hour)}
	if err := db.CreateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	db = openPath(t, path)
	op, err := db.OperatorByLogin(ctx, "admin")
	if err != nil {
		t.Fatalf("operator after reopen: %v", err)
	}
	if op.DisplayName != "Operator admin" || !op.CreatedAt.Equal(t0) {
		t.Errorf("operator after reopen = %+v", op)
	}
	if _, err := db.LiveNumber(ctx, "06012345678", t0); err != nil {
		t.Errorf("live number after reopen: %v", err)
	}
	_, err = db.LiveNumber(ctx, "06087654321", t0)
	checkCode(t, err, dialroom.ENOTFOUND)
	if _, err := db.SessionByTokenHash(ctx, "abc", t0); err != nil {
		t.Errorf("session after reopen: %v", err)
	}
	if n, err := db.CountOperators(ctx); err != nil || n != 1 {
		t.Errorf("CountOperators after reopen = %d, %v; want 1", n, err)
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "dialroom.db")
	db, err := storage.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	// What a later dialroom would leave behind.
	if _, err := rawDB(t, path).Exec("INSERT INTO schema_migrations (version, applied_at) VALUES (9999, 0)"); err != nil {
		t.Fatal(err)
	}

	db, err = storage.Open(path)
	if err == nil {
		db.Close()
		t.Fatal("Open of a database from a newer version succeeded")
	}
	if !strings.Contains(err.Error(), "9999") {
		t.Errorf("error does not name the unknown migration: %v", err)
	}
}

func TestOpenRefusesNonDatabase(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "dialroom.db")
	if err := os.WriteFile(path, []byte(strings.Repeat("not a database\n", 100)), 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := storage.Open(path)
	if err == nil {
		db.Close()
		t.Fatal("Open of a text file succeeded")
	}
}

func TestPingAfterClose(t *testing.T) {
	t.Parallel()
	db, err := storage.Open(filepath.Join(t.TempDir(), "dialroom.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Ping(t.Context()); err == nil {
		t.Error("Ping after Close succeeded")
	}
}
