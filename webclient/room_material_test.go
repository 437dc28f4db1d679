package webclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dialroom/dialroom"
)

// pageFiles is a Converter whose documents are already converted: page n of
// document d is the file d/n.png under root. It converts nothing.
type pageFiles struct{ root string }

func (pageFiles) Convert(context.Context, io.Reader, string, func(int, int)) (ConvertedDocument, error) {
	return ConvertedDocument{}, errors.New("pageFiles converts nothing")
}
func (pageFiles) Remove(string) error { return nil }
func (p pageFiles) PagePath(doc string, n int) (string, error) {
	path := filepath.Join(p.root, doc, fmt.Sprintf("%d.png", n))
	if _, err := os.Stat(path); err != nil {
		return "", dialroom.Errorf(dialroom.ENOTFOUND, "no page")
	}
	return path, nil
}
func (p pageFiles) ThumbPath(doc string, n int) (string, error) { return p.PagePath(doc, n) }

// readyMaterial stores a ready material of operator with pages pages whose
// page n holds the bytes "doc page n"; it returns the material's id.
func readyMaterial(t *testing.T, h *harness, root, operator, doc string, pages int) string {
	t.Helper()
	id, err := h.srv.lib.newID()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := h.db.CreateMaterial(ctx, &dialroom.Material{ID: id, Operator: operator, Name: doc + ".pdf", Bytes: 1}); err != nil {
		t.Fatal(err)
	}
	if pages > 0 {
		if err := os.MkdirAll(filepath.Join(root, doc), 0o700); err != nil {
			t.Fatal(err)
		}
		for n := 1; n <= pages; n++ {
			if err := os.WriteFile(filepath.Join(root, doc, fmt.Sprintf("%d.png", n)), fmt.Appendf(nil, "%s page %d", doc, n), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if err := h.db.FinishMaterial(ctx, id, doc, "pdf", pages); err != nil {
			t.Fatal(err)
		}
	}
	return id
}

type wsShown struct {
	Material struct {
		ID       string   `json:"id"`
		Name     string   `json:"name"`
		Pages    int      `json:"pages"`
		PageURLs []string `json:"page_urls"`
	} `json:"material"`
	Page      int    `json:"page"`
	Presenter string `json:"presenter"`
}

type wsPage struct {
	Page      int    `json:"page"`
	Presenter string `json:"presenter"`
}

// getPage fetches a page URL without any cookie and returns status and body.
func (h *harness) getPage(path string) (int, string) {
	h.t.Helper()
	resp := h.do(request{method: "GET", path: path})
	return resp.status, string(resp.body)
}

// TestRoomMaterial is claims 9–10 over the WebSocket and HTTP: a guest
// lists the operator's ready materials and selects one; everyone gets
// their own page URLs, which serve the pages to members only; page turns
// reach everyone; a late joiner gets the material at its page; the
// operator restricts selection; a member who left fetches nothing.
func TestRoomMaterial(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	h := newHarness(t, func(cfg *Config) { cfg.Converter = pageFiles{root} })
	alice := h.operator("alice", "Alice")
	h.operator("bob", "Bob")
	n := h.issue(alice)
	slides := readyMaterial(t, h, root, "alice", "slides", 2)
	readyMaterial(t, h, root, "alice", "busy", 0) // still converting: not listed
	bobs := readyMaterial(t, h, root, "bob", "secret", 1)

	op := h.connect("operator", h.session("alice"))
	op.send(map[string]any{"type": "host", "number": n.Digits})
	var hosting struct {
		Self      wsMember `json:"self"`
		PageToken string   `json:"page_token"`
	}
	op.expect("hosting").decode(t, &hosting)
	guest, guestToken, guestID := admitGuest(h, op, n, "Guest")
	if !dialroom.IsRandomID(hosting.PageToken) || !dialroom.IsRandomID(guestToken) || hosting.PageToken == guestToken {
		t.Fatalf("page tokens: operator %q, guest %q", hosting.PageToken, guestToken)
	}

	// The guest lists the operator's library: ready materials only, and
	// never another operator's.
	guest.send(map[string]any{"type": "material_list"})
	var list struct {
		Materials []jsonLibraryItem `json:"materials"`
	}
	guest.expect("material_list").decode(t, &list)
	if len(list.Materials) != 1 || list.Materials[0].ID != slides || list.Materials[0].Pages != 2 {
		t.Fatalf("guest's list: %+v", list)
	}
	guest.send(map[string]any{"type": "material_select", "material": bobs})
	if e := guest.expectError(); e.Code != dialroom.ENOTFOUND {
		t.Errorf("selecting another operator's material: %+v", e)
	}

	// The guest selects; both are told, each with their own page URLs.
	guest.send(map[string]any{"type": "material_select", "material": slides})
	var gs, opShown wsShown
	guest.expect("material_selected").decode(t, &gs)
	op.expect("material_selected").decode(t, &opShown)
	for who, s := range map[string]wsShown{"guest": gs, "operator": opShown} {
		if s.Material.ID != slides || s.Material.Pages != 2 || s.Page != 1 || s.Presenter != guestID || len(s.Material.PageURLs) != 2 {
			t.Fatalf("%s: material_selected %+v", who, s)
		}
	}
	if want := pageURL(slides, 2, guestToken); gs.Material.PageURLs[1] != want {
		t.Errorf("guest's page 2 URL = %q, want %q", gs.Material.PageURLs[1], want)
	}
	if want := pageURL(slides, 1, hosting.PageToken); opShown.Material.PageURLs[0] != want {
		t.Errorf("operator's page 1 URL = %q, want %q", opShown.Material.PageURLs[0], want)
	}
	for _, u := range []string{gs.Material.PageURLs[1], opShown.Material.PageURLs[1]} {
		if st, body := h.getPage(u); st != http.StatusOK || body != "slides page 2" {
			t.Errorf("GET %s: %d %q", u, st, body)
		}
	}

	// Everything else is the same 404: no token, a wrong token, a page
	// out of range, a material not shown (even the operator's own).
	other := strings.Repeat("ab", 16)
	for _, u := range []string{
		"/api/room/materials/" + slides + "/pages/1",
		pageURL(slides, 1, other),
		pageURL(slides, 3, guestToken),
		pageURL(slides, 0, guestToken),
		pageURL(bobs, 1, guestToken),
		pageURL(bobs, 1, hosting.PageToken),
		"/api/room/materials/x/pages/1?token=" + guestToken,
	} {
		if st, _ := h.getPage(u); st != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", u, st)
		}
	}

	// Only the presenter turns pages; everyone sees the turn.
	op.send(map[string]any{"type": "material_page", "page": 2})
	if e := op.expectError(); e.Code != dialroom.EDENIED {
		t.Errorf("operator turning the guest's pages: %+v", e)
	}
	guest.send(map[string]any{"type": "material_page", "page": 2})
	for _, c := range []*wsClient{op, guest} {
		var p wsPage
		c.expect("material_page").decode(t, &p)
		if p.Page != 2 || p.Presenter != guestID {
			t.Errorf("%s: material_page %+v", c.name, p)
		}
	}

	// A late joiner gets the material at page 2 right after admitted.
	late, lateToken, _ := admitGuest(h, op, n, "Late")
	guest.expect("member_joined")
	var ls wsShown
	late.expect("material_selected").decode(t, &ls)
	if ls.Page != 2 || ls.Material.PageURLs[1] != pageURL(slides, 2, lateToken) {
		t.Errorf("late joiner: %+v", ls)
	}

	// The operator takes the pages back and restricts selection.
	op.send(map[string]any{"type": "material_present"})
	for _, c := range []*wsClient{op, guest, late} {
		var p wsPage
		c.expect("material_page").decode(t, &p)
		if p.Presenter != hosting.Self.ID {
			t.Errorf("%s: after material_present %+v", c.name, p)
		}
	}
	op.send(map[string]any{"type": "material_policy", "guests_may_select": false})
	for _, c := range []*wsClient{op, guest, late} {
		var p struct {
			GuestsMaySelect bool `json:"guests_may_select"`
		}
		c.expect("material_policy").decode(t, &p)
		if p.GuestsMaySelect {
			t.Errorf("%s: material_policy %+v", c.name, p)
		}
	}
	guest.send(map[string]any{"type": "material_list"})
	if e := guest.expectError(); e.Code != dialroom.EDENIED {
		t.Errorf("guest listing while restricted: %+v", e)
	}

	// A member who left fetches nothing; the others still do.
	guest.send(map[string]any{"type": "leave"})
	guest.closed()
	op.expect("member_left")
	if st, _ := h.getPage(gs.Material.PageURLs[0]); st != http.StatusNotFound {
		t.Errorf("page for a member who left: %d, want 404", st)
	}
	if st, _ := h.getPage(ls.Material.PageURLs[0]); st != http.StatusOK {
		t.Errorf("late joiner's page 1: %d", st)
	}

	// Closing: nobody fetches the pages any more.
	op.send(map[string]any{"type": "material_close"})
	op.expect("material_closed")
	late.expect("member_left")
	late.expect("material_closed")
	if st, _ := h.getPage(ls.Material.PageURLs[0]); st != http.StatusNotFound {
		t.Errorf("page after close: %d, want 404", st)
	}
}
