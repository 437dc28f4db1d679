package storage_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/dialroom/dialroom"
)

func TestOperatorCard(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := newDB(t)
	addOperator(t, db, "alice")

	if _, err := db.OperatorCard(ctx, "alice"); dialroom.ErrorCode(err) != dialroom.ENOTFOUND {
		t.Fatalf("card before saving: err %v, want ENOTFOUND", err)
	}
	card := dialroom.Card{Name: "Alice Example", Organization: "Example, Inc.", Title: "CTO",
		Email: "alice@example.com", Phone: "+81-3-1234-5678", Logo: []byte{0x89, 'P', 'N', 'G'}, LogoType: dialroom.LogoPNG}
	if err := db.SaveOperatorCard(ctx, "alice", card); err != nil {
		t.Fatal(err)
	}
	got, err := db.OperatorCard(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != card.Name || got.Organization != card.Organization || got.Email != card.Email ||
		got.Phone != card.Phone || got.Title != card.Title || !bytes.Equal(got.Logo, card.Logo) || got.LogoType != card.LogoType {
		t.Errorf("saved %+v, read back %+v", card, *got)
	}

	// Replacing drops the logo; no logo reads back as nil, not an empty slice.
	card2 := dialroom.Card{Name: "Alice E."}
	if err := db.SaveOperatorCard(ctx, "alice", card2); err != nil {
		t.Fatal(err)
	}
	if got, err = db.OperatorCard(ctx, "alice"); err != nil || got.Name != "Alice E." || got.Logo != nil || got.LogoType != "" {
		t.Errorf("after replace: %+v, %v", got, err)
	}

	tests := []struct {
		name  string
		login string
		card  dialroom.Card
		want  string
	}{
		{"no such operator", "bob", card2, dialroom.ENOTFOUND},
		{"no name", "alice", dialroom.Card{Email: "a@example.com"}, dialroom.EINVALID},
		{"field too long", "alice", dialroom.Card{Name: strings.Repeat("x", dialroom.MaxCardField+1)}, dialroom.EINVALID},
		{"line break", "alice", dialroom.Card{Name: "a\nb"}, dialroom.EINVALID},
		{"logo too big", "alice", dialroom.Card{Name: "a", Logo: make([]byte, dialroom.MaxCardLogo+1), LogoType: dialroom.LogoPNG}, dialroom.EINVALID},
		{"logo of another type", "alice", dialroom.Card{Name: "a", Logo: []byte("GIF89a"), LogoType: "image/gif"}, dialroom.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkCode(t, db.SaveOperatorCard(ctx, tt.login, tt.card), tt.want)
		})
	}

	if err := db.DeleteOperatorCard(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.OperatorCard(ctx, "alice"); dialroom.ErrorCode(err) != dialroom.ENOTFOUND {
		t.Errorf("after delete: err %v, want ENOTFOUND", err)
	}

	// Deleting the operator deletes their card (ON DELETE CASCADE).
	if err := db.SaveOperatorCard(ctx, "alice", card); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteOperator(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	addOperator(t, db, "alice")
	if _, err := db.OperatorCard(ctx, "alice"); dialroom.ErrorCode(err) != dialroom.ENOTFOUND {
		t.Errorf("a new operator with the old login inherited a card: err %v", err)
	}
}
