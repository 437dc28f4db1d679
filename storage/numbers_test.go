package storage_test

import (
	"fmt"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/dialroom/dialroom"
	"github.com/dialroom/dialroom/storage"
)

func TestCreateNumberUniqueAmongLive(t *testing.T) {
	t.Parallel()
	const digits = "06012345678"
	tests := []struct {
		name     string
		existing dialroom.Number // issued to "bob" before the new one; zero Digits: none
		operator string          // of the new number
		want     string
	}{
		{"no earlier number", dialroom.Number{}, "alice", ""},
		{"live, never expires", dialroom.Number{Digits: digits, IssuedAt: t0.Add(-time.Hour)}, "alice", dialroom.ECONFLICT},
		{"live, same operator", dialroom.Number{Digits: digits, IssuedAt: t0.Add(-time.Hour)}, "bob", dialroom.ECONFLICT},
		{"live until later", dialroom.Number{Digits: digits, IssuedAt: t0.Add(-time.Hour), ExpiresAt: t0.Add(time.Second)}, "alice", dialroom.ECONFLICT},
		{"revoked", dialroom.Number{Digits: digits, IssuedAt: t0.Add(-time.Hour), RevokedAt: t0.Add(-time.Minute)}, "alice", ""},
		{"expired before", dialroom.Number{Digits: digits, IssuedAt: t0.Add(-time.Hour), ExpiresAt: t0.Add(-time.Second)}, "alice", ""},
		{"expires exactly then", dialroom.Number{Digits: digits, IssuedAt: t0.Add(-time.Hour), ExpiresAt: t0}, "alice", ""},
		{"other digits live", dialroom.Number{Digits: "06087654321", IssuedAt: t0.Add(-time.Hour)}, "alice", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db := newDB(t)
			addOperator(t, db, "alice")
			addOperator(t, db, "bob")
			if tt.existing.Digits != "" {
				tt.existing.Operator = "bob"
				addNumber(t, db, tt.existing)
			}
			n := &dialroom.Number{Digits: digits, Operator: tt.operator, IssuedAt: t0}
			err := db.CreateNumber(t.Context(), n)
			checkCode(t, err, tt.want)

			got, lerr := db.LiveNumber(t.Context(), digits, t0)
			switch {
			case err == nil && (lerr != nil || got.Operator != n.Operator):
				t.Errorf("after success LiveNumber = %+v, %v; want %s's", got, lerr, n.Operator)
			case err != nil && lerr == nil && got.Operator != "bob":
				t.Errorf("after conflict LiveNumber = %+v; want bob's", got)
			}
		})
	}
}

func TestCreateNumber(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := newDB(t)
	addOperator(t, db, "alice")

	err := db.CreateNumber(ctx, &dialroom.Number{Digits: "06012345678", Operator: "nobody", IssuedAt: t0})
	checkCode(t, err, dialroom.ENOTFOUND)

	n := &dialroom.Number{Digits: "06012345678", Operator: "alice"}
	if err := db.CreateNumber(ctx, n); err != nil {
		t.Fatal(err)
	}
	if !n.IssuedAt.Equal(t0) {
		t.Errorf("zero IssuedAt became %v, want the clock's %v", n.IssuedAt, t0)
	}
}

// TestCreateNumberConcurrent races several goroutines issuing the same digits:
// exactly one wins each round, the others get ECONFLICT (not SQLITE_BUSY).
func TestCreateNumberConcurrent(t *testing.T) {
	t.Parallel()
	const (
		goroutines = 8
		rounds     = 5
	)
	db := newDB(t)
	addOperator(t, db, "alice")
	addOperator(t, db, "bob")

	for round := range rounds {
		digits := fmt.Sprintf("0601234%04d", round)
		var (
			wg    sync.WaitGroup
			start = make(chan struct{})
			errs  = make([]error, goroutines)
		)
		for i := range goroutines {
			wg.Go(func() {
				<-start
				n := &dialroom.Number{Digits: digits, Operator: []string{"alice", "bob"}[i%2], IssuedAt: t0}
				errs[i] = db.CreateNumber(t.Context(), n)
			})
		}
		close(start)
		wg.Wait()

		wins := 0
		for i, err := range errs {
			switch dialroom.ErrorCode(err) {
			case "":
				wins++
			case dialroom.ECONFLICT:
			default:
				t.Errorf("round %d, goroutine %d: %v", round, i, err)
			}
		}
		if wins != 1 {
			t.Errorf("round %d: %d goroutines issued %s, want exactly 1", round, wins, digits)
		}
	}
}

// TestLiveNumberHidesDeadNumbers follows one number through its life: unknown,
// live, expired, issued again, revoked. Whenever it is not live, the error is
// the same, so a guest cannot tell which case it is.
func TestLiveNumberHidesDeadNumbers(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	const digits = "06012345678"
	db := newDB(t)
	addOperator(t, db, "alice")

	_, unknown := db.LiveNumber(ctx, digits, t0)
	checkCode(t, unknown, dialroom.ENOTFOUND)

	first := dialroom.Number{Digits: digits, Operator: "alice", IssuedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	addNumber(t, db, first)
	tests := []struct {
		name string
		at   time.Time
		live bool
	}{
		{"at issue", t0, true},
		{"just before expiry", t0.Add(time.Hour - time.Nanosecond), true},
		{"at expiry", t0.Add(time.Hour), false},
		{"after expiry", t0.Add(2 * time.Hour), false},
	}
	for _, tt := range tests {
		got, err := db.LiveNumber(ctx, digits, tt.at)
		if !tt.live {
			checkCode(t, err, dialroom.ENOTFOUND)
			if err.Error() != unknown.Error() {
				t.Errorf("%s: error %q differs from unknown number's %q", tt.name, err, unknown)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if !reflect.DeepEqual(*got, first) {
			t.Errorf("%s: LiveNumber = %+v, want %+v", tt.name, *got, first)
		}
	}

	later := t0.Add(2 * time.Hour)
	second := dialroom.Number{Digits: digits, Operator: "alice", IssuedAt: later}
	addNumber(t, db, second)
	if got, err := db.LiveNumber(ctx, digits, later); err != nil || !reflect.DeepEqual(*got, second) {
		t.Fatalf("reissued: LiveNumber = %+v, %v; want %+v", got, err, second)
	}
	if err := db.RevokeNumber(ctx, "alice", digits, later.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	_, err := db.LiveNumber(ctx, digits, later.Add(time.Minute))
	checkCode(t, err, dialroom.ENOTFOUND)
	if err.Error() != unknown.Error() {
		t.Errorf("revoked: error %q differs from unknown number's %q", err, unknown)
	}
}

func TestRevokeNumber(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := newDB(t)
	addOperator(t, db, "alice")
	addOperator(t, db, "bob")
	addNumber(t, db, dialroom.Number{Digits: "06011111111", Operator: "alice", IssuedAt: t0})
	addNumber(t, db, dialroom.Number{Digits: "06022222222", Operator: "alice", IssuedAt: t0, ExpiresAt: t0.Add(time.Minute)})

	tests := []struct {
		name     string
		operator string
		digits   string
		at       time.Time
		want     string
	}{
		{"someone else's", "bob", "06011111111", t0, dialroom.ENOTFOUND},
		{"unknown", "alice", "06099999999", t0, dialroom.ENOTFOUND},
		{"expired", "alice", "06022222222", t0.Add(time.Minute), dialroom.ENOTFOUND},
		{"own live", "alice", "06011111111", t0.Add(time.Second), ""},
		{"already revoked", "alice", "06011111111", t0.Add(2 * time.Second), dialroom.ENOTFOUND},
	}
	for _, tt := range tests {
		checkCode(t, db.RevokeNumber(ctx, tt.operator, tt.digits, tt.at), tt.want)
	}

	ns, err := db.ListNumbers(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range ns {
		if n.Digits == "06011111111" && !n.RevokedAt.Equal(t0.Add(time.Second)) {
			t.Errorf("RevokedAt = %v, want %v", n.RevokedAt, t0.Add(time.Second))
		}
	}
}

func TestListNumbers(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := newDB(t)
	addOperator(t, db, "alice")
	addOperator(t, db, "bob")
	day := 24 * time.Hour
	all := []struct {
		n    dialroom.Number
		list bool // shown at t0
	}{
		{dialroom.Number{Digits: "06000000001", IssuedAt: t0.Add(-40 * day)}, true}, // old but live
		{dialroom.Number{Digits: "06000000002", IssuedAt: t0.Add(-40 * day), RevokedAt: t0.Add(-35 * day)}, false},
		{dialroom.Number{Digits: "06000000003", IssuedAt: t0.Add(-40 * day), ExpiresAt: t0.Add(-39 * day)}, false},
		{dialroom.Number{Digits: "06000000004", IssuedAt: t0.Add(-30 * day)}, true},
		{dialroom.Number{Digits: "06000000005", IssuedAt: t0.Add(-29 * day), RevokedAt: t0.Add(-day)}, true},
		{dialroom.Number{Digits: "06000000006", IssuedAt: t0.Add(-2 * day), ExpiresAt: t0.Add(-day)}, true},
		{dialroom.Number{Digits: "06000000007", IssuedAt: t0, ExpiresAt: t0.Add(day)}, true},
		{dialroom.Number{Digits: "06000000008", IssuedAt: t0.Add(-time.Hour), Operator: "bob"}, false},
	}
	for _, e := range all {
		if e.n.Operator == "" {
			e.n.Operator = "alice"
		}
		addNumber(t, db, e.n)
	}

	got, err := db.ListNumbers(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	var want []dialroom.Number
	for i := len(all) - 1; i >= 0; i-- { // newest first
		if all[i].list {
			n := all[i].n
			n.Operator = "alice"
			want = append(want, n)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("ListNumbers returned %d numbers, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if !reflect.DeepEqual(*got[i], want[i]) {
			t.Errorf("ListNumbers[%d] = %+v, want %+v", i, *got[i], want[i])
		}
	}

	if ns, err := db.ListNumbers(ctx, "nobody"); err != nil || ns == nil || len(ns) != 0 {
		t.Errorf("ListNumbers(nobody) = %#v, %v; want empty non-nil", ns, err)
	}
}

// BenchmarkLiveNumber measures the lookup every guest join and inbound call
// makes, among 10,000 numbers of which one in ten was revoked and issued again.
func BenchmarkLiveNumber(b *testing.B) {
	db, digits := benchDB(b)
	now := t0.Add(time.Hour)
	i := 0
	for b.Loop() {
		if _, err := db.LiveNumber(b.Context(), digits[i%len(digits)], now); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkLiveNumberParallel is the same lookup from concurrent callers, to
// show how the connection pool shares the load.
func BenchmarkLiveNumberParallel(b *testing.B) {
	db, digits := benchDB(b)
	now := t0.Add(time.Hour)
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := db.LiveNumber(b.Context(), digits[i%len(digits)], now); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}

// benchDB fills a database with numbers and returns it with the digits of
// the live ones.
func benchDB(b *testing.B) (*storage.DB, []string) {
	b.Helper()
	const count = 10_000
	path := filepath.Join(b.TempDir(), "bench.db")
	db := openPath(b, path)
	addOperator(b, db, "alice")
	// Bulk rows in one transaction through the raw file: issuing them one by
	// one would cost an fsync each.
	tx, err := rawDB(b, path).Begin()
	if err != nil {
		b.Fatal(err)
	}
	var digits []string
	for i := range count {
		d := fmt.Sprintf("060%08d", i*7919%100_000_000)
		if i%10 == 0 {
			_, err = tx.Exec("INSERT INTO numbers (digits, operator_login, issued_at, revoked_at) VALUES (?, 'alice', ?, ?)",
				d, t0.Add(-time.Hour).UnixNano(), t0.Add(-time.Minute).UnixNano())
			if err != nil {
				b.Fatal(err)
			}
		}
		_, err = tx.Exec("INSERT INTO numbers (digits, operator_login, issued_at) VALUES (?, 'alice', ?)", d, t0.UnixNano())
		if err != nil {
			b.Fatal(err)
		}
		digits = append(digits, d)
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	return db, digits
}
