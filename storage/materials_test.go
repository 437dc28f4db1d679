package storage_test

import (
	"testing"
	"time"

	"github.com/dialroom/dialroom"
)

func TestMaterials(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := newDB(t)
	addOperator(t, db, "alice")
	addOperator(t, db, "bob")
	clock := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	db.Now = func() time.Time { clock = clock.Add(time.Second); return clock }

	a1 := &dialroom.Material{ID: "a1", Operator: "alice", Name: "slides.pdf", Bytes: 1234}
	a2 := &dialroom.Material{ID: "a2", Operator: "alice", Name: "photo.jpg", Bytes: 99}
	for _, m := range []*dialroom.Material{a1, a2} {
		if err := db.CreateMaterial(ctx, m); err != nil {
			t.Fatal(err)
		}
		if m.State != dialroom.MaterialConverting || m.Created.IsZero() {
			t.Errorf("after create: %+v", m)
		}
	}
	checkCode(t, db.CreateMaterial(ctx, &dialroom.Material{ID: "a1", Operator: "bob"}), dialroom.ECONFLICT)
	checkCode(t, db.CreateMaterial(ctx, &dialroom.Material{ID: "x", Operator: "carol"}), dialroom.ENOTFOUND)
	checkCode(t, db.CreateMaterial(ctx, &dialroom.Material{Operator: "bob"}), dialroom.EINVALID)

	// Another operator's material is not found, exactly like none.
	if _, err := db.Material(ctx, "bob", "a1"); dialroom.ErrorCode(err) != dialroom.ENOTFOUND {
		t.Errorf("bob reads alice's material: %v", err)
	}
	if _, err := db.DeleteMaterial(ctx, "bob", "a1"); dialroom.ErrorCode(err) != dialroom.ENOTFOUND {
		t.Errorf("bob deletes alice's material: %v", err)
	}

	// Converting → ready, once.
	if err := db.FinishMaterial(ctx, "a1", "doc1", "pdf", 3); err != nil {
		t.Fatal(err)
	}
	checkCode(t, db.FinishMaterial(ctx, "a1", "doc2", "pdf", 3), dialroom.ENOTFOUND)
	checkCode(t, db.FailMaterial(ctx, "a1", "late"), dialroom.ENOTFOUND)
	checkCode(t, db.FinishMaterial(ctx, "a2", "", "png", 1), dialroom.EINVALID)
	got, err := db.Material(ctx, "alice", "a1")
	if err != nil {
		t.Fatal(err)
	}
	if got.State != dialroom.MaterialReady || got.Document != "doc1" || got.Pages != 3 || got.Type != "pdf" ||
		got.Name != "slides.pdf" || got.Bytes != 1234 || !got.Created.Equal(a1.Created) {
		t.Errorf("ready material: %+v", got)
	}

	// Converting → failed with the message.
	if err := db.FailMaterial(ctx, "a2", "the file is damaged"); err != nil {
		t.Fatal(err)
	}
	list, err := db.ListMaterials(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != "a2" || list[1].ID != "a1" {
		t.Fatalf("list (newest first): %+v", list)
	}
	if list[0].State != dialroom.MaterialFailed || list[0].Error != "the file is damaged" || list[0].Document != "" {
		t.Errorf("failed material: %+v", list[0])
	}
	if l, err := db.ListMaterials(ctx, "bob"); err != nil || l == nil || len(l) != 0 {
		t.Errorf("bob's list = %v, %v; want empty, non-nil", l, err)
	}

	// A restart fails what was converting.
	b1 := &dialroom.Material{ID: "b1", Operator: "bob", Name: "x.pdf", Bytes: 1}
	if err := db.CreateMaterial(ctx, b1); err != nil {
		t.Fatal(err)
	}
	if n, err := db.FailConvertingMaterials(ctx, "interrupted"); err != nil || n != 1 {
		t.Errorf("FailConvertingMaterials = %d, %v; want 1", n, err)
	}
	if m, _ := db.Material(ctx, "bob", "b1"); m == nil || m.State != dialroom.MaterialFailed || m.Error != "interrupted" {
		t.Errorf("after restart: %+v", m)
	}

	if docs, err := db.MaterialDocuments(ctx); err != nil || len(docs) != 1 || !docs["doc1"] {
		t.Errorf("MaterialDocuments = %v, %v; want doc1 only", docs, err)
	}

	// Delete returns the row, so the caller can remove its files.
	del, err := db.DeleteMaterial(ctx, "alice", "a1")
	if err != nil || del.Document != "doc1" {
		t.Fatalf("delete = %+v, %v", del, err)
	}
	if _, err := db.Material(ctx, "alice", "a1"); dialroom.ErrorCode(err) != dialroom.ENOTFOUND {
		t.Errorf("after delete: %v", err)
	}

	// Deleting the operator deletes their library rows.
	if err := db.DeleteOperator(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	addOperator(t, db, "alice")
	if l, _ := db.ListMaterials(ctx, "alice"); len(l) != 0 {
		t.Errorf("a new operator with the old login inherited %d materials", len(l))
	}
}
