package storage_test

import (
	"testing"

	"github.com/dialroom/dialroom"
)

// TestRoomMaterials: files dropped into conferences stay out of the
// library, are found and counted by room, are kept (ready ones only, by
// the room's operator) into the library, and are deleted by room or all
// at once, library materials untouched.
func TestRoomMaterials(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := newDB(t)
	addOperator(t, db, "alice")
	lib := &dialroom.Material{ID: "lib", Operator: "alice", Name: "deck.pdf", Bytes: 1}
	r1 := &dialroom.Material{ID: "r1", Operator: "alice", Name: "a.png", Bytes: 1, Room: "111", Uploader: "Guest"}
	r2 := &dialroom.Material{ID: "r2", Operator: "alice", Name: "b.png", Bytes: 1, Room: "111"}
	r3 := &dialroom.Material{ID: "r3", Operator: "alice", Name: "c.png", Bytes: 1, Room: "222"}
	for _, m := range []*dialroom.Material{lib, r1, r2, r3} {
		if err := db.CreateMaterial(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if list, err := db.ListMaterials(ctx, "alice"); err != nil || len(list) != 1 || list[0].ID != "lib" {
		t.Fatalf("library: %v, %v", list, err)
	}
	if m, err := db.RoomMaterial(ctx, "111", "r1"); err != nil || m.Room != "111" || m.Uploader != "Guest" {
		t.Errorf("room material: %+v, %v", m, err)
	}
	checkCode(t, func() error { _, err := db.RoomMaterial(ctx, "222", "r1"); return err }(), dialroom.ENOTFOUND)
	checkCode(t, func() error { _, err := db.RoomMaterial(ctx, "", "lib"); return err }(), dialroom.ENOTFOUND)
	if n, err := db.CountRoomMaterials(ctx, "111"); err != nil || n != 2 {
		t.Errorf("count: %d, %v", n, err)
	}

	// Only a ready file is kept, only by its operator, only from its room.
	checkCode(t, func() error { _, err := db.KeepMaterial(ctx, "alice", "111", "r1"); return err }(), dialroom.ENOTFOUND)
	if err := db.FinishMaterial(ctx, "r1", "doc1", "png", 1); err != nil {
		t.Fatal(err)
	}
	checkCode(t, func() error { _, err := db.KeepMaterial(ctx, "bob", "111", "r1"); return err }(), dialroom.ENOTFOUND)
	checkCode(t, func() error { _, err := db.KeepMaterial(ctx, "alice", "222", "r1"); return err }(), dialroom.ENOTFOUND)
	if m, err := db.KeepMaterial(ctx, "alice", "111", "r1"); err != nil || m.Room != "" {
		t.Fatalf("keep: %+v, %v", m, err)
	}
	if list, _ := db.ListMaterials(ctx, "alice"); len(list) != 2 {
		t.Errorf("library after keep: %d materials, want 2", len(list))
	}

	if gone, err := db.DeleteRoomMaterials(ctx, "111"); err != nil || len(gone) != 1 || gone[0].ID != "r2" {
		t.Errorf("delete room 111: %v, %v", gone, err)
	}
	if gone, err := db.DeleteRoomMaterials(ctx, ""); err != nil || len(gone) != 1 || gone[0].ID != "r3" {
		t.Errorf("delete every room's: %v, %v", gone, err)
	}
	if list, _ := db.ListMaterials(ctx, "alice"); len(list) != 2 {
		t.Errorf("library after the deletions: %d materials, want 2", len(list))
	}
}
