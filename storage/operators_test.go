package storage_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/dialroom/dialroom"
)

func TestCreateOperator(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	addOperator(t, db, "admin")

	tests := []struct {
		name  string
		login string
		want  string
	}{
		{"new login", "alice", ""},
		{"taken login", "admin", dialroom.ECONFLICT},
		{"logins are case-sensitive", "Admin", ""},
		{"empty login", "", dialroom.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := &dialroom.Operator{Login: tt.login, PasswordHash: "h"}
			err := db.CreateOperator(t.Context(), op)
			checkCode(t, err, tt.want)
			if err == nil && (op.ID == 0 || !op.CreatedAt.Equal(t0)) {
				t.Errorf("after CreateOperator: ID %d, CreatedAt %v; want an ID and %v", op.ID, op.CreatedAt, t0)
			}
		})
	}
}

func TestOperatorCRUD(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := newDB(t)

	if n, err := db.CountOperators(ctx); err != nil || n != 0 {
		t.Fatalf("CountOperators on empty = %d, %v", n, err)
	}
	if ops, err := db.ListOperators(ctx); err != nil || ops == nil || len(ops) != 0 {
		t.Fatalf("ListOperators on empty = %#v, %v; want empty non-nil", ops, err)
	}
	_, err := db.OperatorByLogin(ctx, "nobody")
	checkCode(t, err, dialroom.ENOTFOUND)

	bob := addOperator(t, db, "bob")
	alice := addOperator(t, db, "alice")
	if alice.ID == bob.ID {
		t.Fatalf("two operators with ID %d", alice.ID)
	}

	got, err := db.OperatorByLogin(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, bob) {
		t.Errorf("OperatorByLogin = %+v, want %+v", got, bob)
	}

	ops, err := db.ListOperators(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ops) != 2 || ops[0].Login != "alice" || ops[1].Login != "bob" {
		t.Errorf("ListOperators = %+v, want alice then bob", ops)
	}

	// Update changes name, hash, stem and SIP credentials only.
	upd := *bob
	upd.DisplayName, upd.PasswordHash, upd.FixedStem = "Bob B.", "new-hash", "0601"
	upd.SIP = dialroom.SIPCredentials{Realm: "dialroom", HA1MD5: "aa", HA1SHA256: "bb"}
	upd.ID, upd.CreatedAt = 999, t0.Add(time.Hour)
	if err := db.UpdateOperator(ctx, &upd); err != nil {
		t.Fatal(err)
	}
	got, err = db.OperatorByLogin(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	want := *bob
	want.DisplayName, want.PasswordHash, want.FixedStem = "Bob B.", "new-hash", "0601"
	want.SIP = upd.SIP
	if !reflect.DeepEqual(got, &want) {
		t.Errorf("after UpdateOperator = %+v, want %+v", got, &want)
	}
	err = db.UpdateOperator(ctx, &dialroom.Operator{Login: "nobody"})
	checkCode(t, err, dialroom.ENOTFOUND)

	if err := db.DeleteOperator(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	checkCode(t, db.DeleteOperator(ctx, "bob"), dialroom.ENOTFOUND)
	_, err = db.OperatorByLogin(ctx, "bob")
	checkCode(t, err, dialroom.ENOTFOUND)
	if n, err := db.CountOperators(ctx); err != nil || n != 1 {
		t.Errorf("CountOperators after delete = %d, %v; want 1", n, err)
	}

	// A new operator never gets a deleted operator's ID.
	carol := addOperator(t, db, "carol")
	if carol.ID <= bob.ID {
		t.Errorf("carol got ID %d after bob's %d was deleted", carol.ID, bob.ID)
	}
}

// TestDeleteOperatorTakesNumbersAndSessions: after deletion the operator's
// numbers no longer route and its sessions no longer log anyone in; the
// digits may be issued again, and a new operator with the same login inherits
// nothing. Call records stay.
func TestDeleteOperatorTakesNumbersAndSessions(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := newDB(t)
	addOperator(t, db, "bob")
	addOperator(t, db, "alice")
	addNumber(t, db, dialroom.Number{Digits: "06011112222", Operator: "bob", IssuedAt: t0})
	addNumber(t, db, dialroom.Number{Digits: "06033334444", Operator: "alice", IssuedAt: t0})
	for _, s := range []*dialroom.Session{
		{TokenHash: "bob-1", Operator: "bob", Expires: t0.Add(time.Hour)},
		{TokenHash: "alice-1", Operator: "alice", Expires: t0.Add(time.Hour)},
	} {
		if err := db.CreateSession(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	rec := &dialroom.CallRecord{Number: "06011112222", Operator: "bob", Outcome: "admitted", Started: t0, Ended: t0}
	if err := db.CreateCallRecord(ctx, rec); err != nil {
		t.Fatal(err)
	}

	if err := db.DeleteOperator(ctx, "bob"); err != nil {
		t.Fatal(err)
	}

	_, err := db.LiveNumber(ctx, "06011112222", t0)
	checkCode(t, err, dialroom.ENOTFOUND)
	_, err = db.SessionByTokenHash(ctx, "bob-1", t0)
	checkCode(t, err, dialroom.ENOTFOUND)
	// Alice is untouched.
	if _, err := db.LiveNumber(ctx, "06033334444", t0); err != nil {
		t.Errorf("alice's number: %v", err)
	}
	if _, err := db.SessionByTokenHash(ctx, "alice-1", t0); err != nil {
		t.Errorf("alice's session: %v", err)
	}
	if recs, err := db.ListCallRecords(ctx, "bob", 0); err != nil || len(recs) != 1 {
		t.Errorf("bob's call records after delete = %d, %v; want 1 kept", len(recs), err)
	}

	addOperator(t, db, "bob")
	if ns, err := db.ListNumbers(ctx, "bob"); err != nil || len(ns) != 0 {
		t.Errorf("new bob inherited numbers %+v (%v)", ns, err)
	}
	addNumber(t, db, dialroom.Number{Digits: "06011112222", Operator: "alice", IssuedAt: t0})
}
