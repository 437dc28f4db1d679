package storage

import (
	"database/sql"
	"io/fs"
	"path/filepath"
	"slices"
	"testing"
	"testing/fstest"
	"time"
)

func TestLoadMigrations(t *testing.T) {
	t.Parallel()
	file := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	tests := []struct {
		name     string
		fsys     fstest.MapFS
		versions []int // nil: want an error
	}{
		{"empty", fstest.MapFS{}, []int{}},
		{"sorted by number, not name", fstest.MapFS{
			"10_c.sql": file("c"), "0002_b.sql": file("b"), "1_a.sql": file("a"), "README": file("x"),
		}, []int{1, 2, 10}},
		{"no number", fstest.MapFS{"initial.sql": file("")}, nil},
		{"no underscore", fstest.MapFS{"0001.sql": file("")}, nil},
		{"zero", fstest.MapFS{"0000_a.sql": file("")}, nil},
		{"duplicate number", fstest.MapFS{"1_a.sql": file(""), "0001_b.sql": file("")}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms, err := loadMigrations(tt.fsys)
			if tt.versions == nil {
				if err == nil {
					t.Fatalf("loadMigrations succeeded: %+v", ms)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := []int{}
			for _, m := range ms {
				got = append(got, m.version)
			}
			if !slices.Equal(got, tt.versions) {
				t.Errorf("versions = %v, want %v", got, tt.versions)
			}
		})
	}
}

// TestEmbeddedMigrations keeps the shipped migrations numbered 1, 2, 3, …
// so that a gap (a lost file) cannot ship.
func TestEmbeddedMigrations(t *testing.T) {
	t.Parallel()
	sub, err := fs.Sub(migrationFS, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	ms, err := loadMigrations(sub)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 {
		t.Fatal("no embedded migrations")
	}
	for i, m := range ms {
		if m.version != i+1 {
			t.Errorf("migration %s has number %d, want %d", m.name, m.version, i+1)
		}
	}
}

func TestMigrate(t *testing.T) {
	t.Parallel()
	m1 := migration{1, "0001_a.sql", "CREATE TABLE a (x INTEGER);"}
	m2 := migration{2, "0002_b.sql", "CREATE TABLE b (x INTEGER); INSERT INTO b VALUES (1);"}
	bad2 := migration{2, "0002_b.sql", "CREATE TABLE b (x INTEGER); INSERT INTO nowhere VALUES (1);"}
	now := func() time.Time { return time.Unix(1, 0) }

	db, err := sql.Open("sqlite3", dsn(filepath.Join(t.TempDir(), "m.db")))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := t.Context()
	versions := func() []int {
		t.Helper()
		vs, err := appliedVersions(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		return vs
	}
	tableExists := func(name string) bool {
		t.Helper()
		var n int
		if err := db.QueryRow("SELECT COUNT(*) FROM sqlite_schema WHERE name = ?", name).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n > 0
	}

	// A fresh file gets the first migration.
	if err := migrate(ctx, db, []migration{m1}, now); err != nil {
		t.Fatalf("fresh: %v", err)
	}
	if got := versions(); !slices.Equal(got, []int{1}) {
		t.Fatalf("after fresh migrate: versions %v", got)
	}

	// A migration that fails leaves neither its changes nor its record.
	if err := migrate(ctx, db, []migration{m1, bad2}, now); err == nil {
		t.Fatal("failing migration reported success")
	}
	if tableExists("b") {
		t.Error("failed migration left table b behind")
	}
	if got := versions(); !slices.Equal(got, []int{1}) {
		t.Fatalf("after failed migrate: versions %v", got)
	}

	// An upgrade applies only what is new; running again changes nothing.
	for range 2 {
		if err := migrate(ctx, db, []migration{m1, m2}, now); err != nil {
			t.Fatalf("upgrade: %v", err)
		}
	}
	if got := versions(); !slices.Equal(got, []int{1, 2}) {
		t.Fatalf("after upgrade: versions %v", got)
	}
	var rows int
	if err := db.QueryRow("SELECT COUNT(*) FROM b").Scan(&rows); err != nil || rows != 1 {
		t.Fatalf("migration 2 ran %d times (%v), want once", rows, err)
	}

	// An older build refuses the upgraded file.
	if err := migrate(ctx, db, []migration{m1}, now); err == nil {
		t.Fatal("older migrations accepted a newer database")
	}
}

func TestNanos(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		t    time.Time
		want int64
	}{
		{"epoch", time.Unix(0, 0), 0},
		{"nanosecond", time.Date(2026, 11, 26, 1, 2, 3, 4, time.UTC), time.Date(2026, 11, 26, 1, 2, 3, 4, time.UTC).UnixNano()},
		{"zero time is the smallest", time.Time{}, -1 << 63},
		{"far future saturates", time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), 1<<63 - 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := nanos(tt.t); got != tt.want {
				t.Errorf("nanos(%v) = %d, want %d", tt.t, got, tt.want)
			}
		})
	}
}
