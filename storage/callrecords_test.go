package storage_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/dialroom/dialroom"
)

func TestCallRecordsRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := newDB(t)
	jst := time.FixedZone("JST", 9*60*60)

	in := []dialroom.CallRecord{
		{ // every field, times in another zone and to the nanosecond
			Number: "06012345678", Operator: "alice", Kind: dialroom.MemberKindPhone, Role: dialroom.RoleGuest,
			Party: "090-****-5678", Outcome: "admitted", Reason: "left", Rule: "inbound-main",
			Started:  time.Date(2026, 11, 26, 10, 0, 0, 1, jst),
			Admitted: time.Date(2026, 11, 26, 10, 0, 5, 2, jst),
			Ended:    time.Date(2026, 11, 26, 10, 30, 0, 3, jst),
		},
		{ // never admitted: zero Admitted, empty Rule
			Number: "06012345678", Operator: "alice", Kind: dialroom.MemberKindBrowser, Role: dialroom.RoleGuest,
			Party: "192.0.2.x", Outcome: "declined", Reason: "declined",
			Started: t0.Add(time.Hour), Ended: t0.Add(time.Hour + time.Minute),
		},
		{ // someone else's
			Number: "06087654321", Operator: "bob", Kind: dialroom.MemberKindBrowser, Role: dialroom.RoleOperator,
			Party: "198.51.100.x", Outcome: "admitted", Reason: "ended",
			Started: t0, Admitted: t0, Ended: t0.Add(time.Minute),
		},
	}
	ids := map[int64]bool{}
	for i := range in {
		if err := db.CreateCallRecord(ctx, &in[i]); err != nil {
			t.Fatal(err)
		}
		if in[i].ID == 0 || ids[in[i].ID] {
			t.Fatalf("record %d got ID %d", i, in[i].ID)
		}
		ids[in[i].ID] = true
	}

	got, err := db.ListCallRecords(ctx, "alice", 10)
	if err != nil {
		t.Fatal(err)
	}
	// Newest first: the second record started later (t0+1h is 10:00 JST).
	want := []dialroom.CallRecord{in[1], in[0]}
	want[1].Started, want[1].Admitted, want[1].Ended = in[0].Started.UTC(), in[0].Admitted.UTC(), in[0].Ended.UTC()
	if len(got) != len(want) {
		t.Fatalf("ListCallRecords returned %d records, want %d", len(got), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(*got[i], want[i]) {
			t.Errorf("record %d:\n got %+v\nwant %+v", i, *got[i], want[i])
		}
	}
}

func TestListCallRecordsLimit(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := newDB(t)
	for i := range 5 {
		r := &dialroom.CallRecord{Operator: "alice", Outcome: "admitted",
			Started: t0.Add(time.Duration(i) * time.Minute), Ended: t0.Add(time.Hour)}
		if err := db.CreateCallRecord(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		limit, want int
	}{{0, 5}, {-1, 5}, {1, 1}, {3, 3}, {10, 5}}
	for _, tt := range tests {
		got, err := db.ListCallRecords(ctx, "alice", tt.limit)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != tt.want {
			t.Errorf("limit %d: %d records, want %d", tt.limit, len(got), tt.want)
		}
		if len(got) > 0 && !got[0].Started.Equal(t0.Add(4*time.Minute)) {
			t.Errorf("limit %d: first record started %v, want the latest", tt.limit, got[0].Started)
		}
	}
	if rs, err := db.ListCallRecords(ctx, "nobody", 0); err != nil || rs == nil || len(rs) != 0 {
		t.Errorf("ListCallRecords(nobody) = %#v, %v; want empty non-nil", rs, err)
	}
}

func TestCreateCallRecordNeedsTimes(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	for _, r := range []dialroom.CallRecord{
		{Operator: "alice", Ended: t0},
		{Operator: "alice", Started: t0},
	} {
		checkCode(t, db.CreateCallRecord(t.Context(), &r), dialroom.EINVALID)
	}
}
