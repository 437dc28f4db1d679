package storage_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/dialroom/dialroom"
)

func TestCreateSession(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	addOperator(t, db, "alice")
	if err := db.CreateSession(t.Context(), &dialroom.Session{TokenHash: "taken", Operator: "alice", Expires: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		s    dialroom.Session
		want string
	}{
		{"ok", dialroom.Session{TokenHash: "new", Operator: "alice", Expires: t0.Add(time.Hour)}, ""},
		{"token hash taken", dialroom.Session{TokenHash: "taken", Operator: "alice", Expires: t0.Add(time.Hour)}, dialroom.ECONFLICT},
		{"unknown operator", dialroom.Session{TokenHash: "x", Operator: "nobody", Expires: t0.Add(time.Hour)}, dialroom.ENOTFOUND},
		{"no token hash", dialroom.Session{Operator: "alice", Expires: t0.Add(time.Hour)}, dialroom.EINVALID},
		{"no expiry", dialroom.Session{TokenHash: "y", Operator: "alice"}, dialroom.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.s
			err := db.CreateSession(t.Context(), &s)
			checkCode(t, err, tt.want)
			if err == nil && !s.Created.Equal(t0) {
				t.Errorf("zero Created became %v, want the clock's %v", s.Created, t0)
			}
		})
	}
}

func TestSessionExpiry(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := newDB(t)
	addOperator(t, db, "alice")
	want := dialroom.Session{TokenHash: "abc", Operator: "alice", Created: t0, Expires: t0.Add(time.Hour)}
	s := want
	if err := db.CreateSession(ctx, &s); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name  string
		hash  string
		now   time.Time
		found bool
	}{
		{"at creation", "abc", t0, true},
		{"just before expiry", "abc", t0.Add(time.Hour - time.Nanosecond), true},
		{"at expiry", "abc", t0.Add(time.Hour), false},
		{"after expiry", "abc", t0.Add(48 * time.Hour), false},
		{"unknown token", "abd", t0, false},
	}
	for _, tt := range tests {
		got, err := db.SessionByTokenHash(ctx, tt.hash, tt.now)
		if !tt.found {
			checkCode(t, err, dialroom.ENOTFOUND)
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if !reflect.DeepEqual(*got, want) {
			t.Errorf("%s: session = %+v, want %+v", tt.name, *got, want)
		}
	}
}

func TestDeleteSessions(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := newDB(t)
	addOperator(t, db, "alice")
	addOperator(t, db, "bob")
	for _, s := range []dialroom.Session{
		{TokenHash: "alice-1", Operator: "alice", Expires: t0.Add(time.Hour)},
		{TokenHash: "alice-2", Operator: "alice", Expires: t0.Add(time.Hour)},
		{TokenHash: "bob-1", Operator: "bob", Expires: t0.Add(time.Hour)},
	} {
		if err := db.CreateSession(ctx, &s); err != nil {
			t.Fatal(err)
		}
	}
	found := func(hash string) bool {
		_, err := db.SessionByTokenHash(ctx, hash, t0)
		if err != nil && dialroom.ErrorCode(err) != dialroom.ENOTFOUND {
			t.Fatal(err)
		}
		return err == nil
	}

	if err := db.DeleteSession(ctx, "alice-1"); err != nil {
		t.Fatal(err)
	}
	if found("alice-1") || !found("alice-2") {
		t.Error("DeleteSession deleted the wrong sessions")
	}
	if err := db.DeleteSession(ctx, "alice-1"); err != nil {
		t.Errorf("second DeleteSession: %v, want nil", err)
	}

	if err := db.DeleteOperatorSessions(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if found("alice-2") || !found("bob-1") {
		t.Error("DeleteOperatorSessions deleted the wrong sessions")
	}
	if err := db.DeleteOperatorSessions(ctx, "nobody"); err != nil {
		t.Errorf("DeleteOperatorSessions(nobody): %v, want nil", err)
	}
}

func TestPurgeExpiredSessions(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := newDB(t)
	addOperator(t, db, "alice")
	for _, s := range []dialroom.Session{
		{TokenHash: "old", Operator: "alice", Created: t0.Add(-2 * time.Hour), Expires: t0.Add(-time.Hour)},
		{TokenHash: "ends-now", Operator: "alice", Created: t0.Add(-2 * time.Hour), Expires: t0},
		{TokenHash: "fresh", Operator: "alice", Created: t0, Expires: t0.Add(time.Hour)},
	} {
		if err := db.CreateSession(ctx, &s); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.PurgeExpiredSessions(ctx); err != nil {
		t.Fatal(err)
	}
	// Looked up at a time when all three were valid, only the unexpired one
	// is left.
	before := t0.Add(-90 * time.Minute)
	for hash, kept := range map[string]bool{"old": false, "ends-now": false, "fresh": true} {
		_, err := db.SessionByTokenHash(ctx, hash, before)
		if kept {
			checkCode(t, err, "")
		} else {
			checkCode(t, err, dialroom.ENOTFOUND)
		}
	}
}
