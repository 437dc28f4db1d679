package storage_test

import (
	"strings"
	"testing"

	"github.com/dialroom/dialroom"
)

// TestOperatorExtension: an operator gets an extension number, is found by
// it, keeps it through UpdateOperator, and loses it on clear; a malformed
// number is EINVALID, another operator's is ECONFLICT naming its holder,
// an unknown login ENOTFOUND.
func TestOperatorExtension(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := newDB(t)
	addOperator(t, db, "alice")
	addOperator(t, db, "bob")

	if err := db.SetOperatorExtension(ctx, "alice", "201"); err != nil {
		t.Fatal(err)
	}
	if err := db.SetOperatorExtension(ctx, "alice", "201"); err != nil {
		t.Errorf("setting the same extension again: %v", err)
	}
	op, err := db.OperatorByExtension(ctx, "201")
	if err != nil || op.Login != "alice" || op.Extension != "201" {
		t.Fatalf("OperatorByExtension(201) = %+v, %v; want alice", op, err)
	}
	op.DisplayName = "Alice"
	if err := db.UpdateOperator(ctx, op); err != nil {
		t.Fatal(err)
	}
	if op, err := db.OperatorByLogin(ctx, "alice"); err != nil || op.Extension != "201" {
		t.Errorf("after UpdateOperator: %+v, %v; want extension 201 kept", op, err)
	}

	for _, tt := range []struct {
		name, login, ext, code string
	}{
		{"taken", "bob", "201", dialroom.ECONFLICT},
		{"one digit", "bob", "2", dialroom.EINVALID},
		{"seven digits", "bob", "2012345", dialroom.EINVALID},
		{"not digits", "bob", "20a", dialroom.EINVALID},
		{"unknown operator", "nobody", "202", dialroom.ENOTFOUND},
		{"two digits", "bob", "20", ""},
		{"six digits", "bob", "202020", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := db.SetOperatorExtension(ctx, tt.login, tt.ext)
			checkCode(t, err, tt.code)
			if tt.code == dialroom.ECONFLICT && !strings.Contains(err.Error(), `"alice"`) {
				t.Errorf("conflict error %q does not name the holder", err)
			}
		})
	}

	if err := db.SetOperatorExtension(ctx, "alice", ""); err != nil {
		t.Fatal(err)
	}
	_, err = db.OperatorByExtension(ctx, "201")
	checkCode(t, err, dialroom.ENOTFOUND)
	if err := db.SetOperatorExtension(ctx, "bob", "201"); err != nil {
		t.Errorf("a cleared extension is free again: %v", err)
	}
	ops, err := db.ListOperators(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, op := range ops {
		if want := map[string]string{"alice": "", "bob": "201"}[op.Login]; op.Extension != want {
			t.Errorf("%s: extension %q, want %q", op.Login, op.Extension, want)
		}
	}
}

// TestOperatorCallerID: the number is cleaned and stored, read back with
// the operator, kept through UpdateOperator, shared by two operators if
// set so, and cleared; malformed numbers are EINVALID, unknown logins
// ENOTFOUND.
func TestOperatorCallerID(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := newDB(t)
	addOperator(t, db, "alice")
	addOperator(t, db, "bob")

	got, err := db.SetOperatorCallerID(ctx, "alice", "03-1234-5678")
	if err != nil || got != "0312345678" {
		t.Fatalf("SetOperatorCallerID(03-1234-5678) = %q, %v; want 0312345678", got, err)
	}
	op, err := db.OperatorByLogin(ctx, "alice")
	if err != nil || op.CallerID != "0312345678" {
		t.Fatalf("alice: %+v, %v; want caller ID 0312345678", op, err)
	}
	op.DisplayName = "Alice"
	if err := db.UpdateOperator(ctx, op); err != nil {
		t.Fatal(err)
	}
	if op, err := db.OperatorByLogin(ctx, "alice"); err != nil || op.CallerID != "0312345678" {
		t.Errorf("after UpdateOperator: %+v, %v; want the caller ID kept", op, err)
	}
	if got, err := db.SetOperatorCallerID(ctx, "bob", "+81 3 1234 5678"); err != nil || got != "+81312345678" {
		t.Errorf("bob: %q, %v; want +81312345678", got, err)
	}
	for _, tt := range []struct{ name, login, number, code string }{
		{"letters", "bob", "03-CALL-NOW", dialroom.EINVALID},
		{"plus inside", "bob", "03+1234", dialroom.EINVALID},
		{"too short", "bob", "12", dialroom.EINVALID},
		{"too long", "bob", "+1234567890123456", dialroom.EINVALID},
		{"unknown operator", "nobody", "0312345678", dialroom.ENOTFOUND},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := db.SetOperatorCallerID(ctx, tt.login, tt.number)
			checkCode(t, err, tt.code)
		})
	}
	if _, err := db.SetOperatorCallerID(ctx, "alice", ""); err != nil {
		t.Fatal(err)
	}
	if op, err := db.OperatorByLogin(ctx, "alice"); err != nil || op.CallerID != "" {
		t.Errorf("after clearing: %+v, %v; want no caller ID", op, err)
	}
}
