package webclient

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dialroom/dialroom"
	"github.com/dialroom/dialroom/bridge"
	"github.com/dialroom/dialroom/e2e"
	"github.com/dialroom/dialroom/materials"
)

// newDropHarness is a server converting with pdftoppm into root (returned)
// whose engine tells it when a conference ends, as cmd/dialroom wires it.
func newDropHarness(t *testing.T, limits MaterialLimits) (*harness, string) {
	t.Helper()
	e2e.RequirePoppler(t)
	root := t.TempDir()
	c, err := materials.New(materials.Config{Root: root, PageSize: testPageSize, MaxBytes: limits.MaxBytes,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	var srv atomic.Pointer[Server]
	engine := bridge.NewEngine(bridge.Config{Logger: slog.New(slog.DiscardHandler),
		RoomEnded: func(number string) { srv.Load().RoomEnded(number) }})
	t.Cleanup(engine.Close)
	limits.SpoolDir = t.TempDir()
	h := newHarness(t, func(cfg *Config) {
		cfg.Engine = engine
		cfg.Converter = realConverter{c}
		cfg.Materials = limits
	})
	h.engine = engine
	srv.Store(h.srv)
	return h, root
}

// drop posts data as a dropped file named name with page token token.
func (h *harness) drop(token, name string, data []byte) response {
	h.t.Helper()
	return h.postFile("/api/room/uploads?token="+url.QueryEscape(token)+"&name="+url.QueryEscape(name), "", data)
}

// waitDropped polls a dropped file's state with token until it is no
// longer converting.
func (h *harness) waitDropped(token, id string) jsonMaterial {
	h.t.Helper()
	return h.waitConverted("/api/room/uploads/"+id+"?token="+token, "", false)
}

// testPNG encodes a blank w×h image.
func testPNG(t *testing.T, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, w, h))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestRoomUpload is claims 11–12 over HTTP and the WebSocket: a guest drops
// a file with their page token and selects it once converted; tokens of
// nobody get 404; a corrupt file fails with the library's message, an
// oversized one is 413, a room's cap is 429, and none leaves a row or a
// spooled file; guests may not drop while only the operator may share; the
// operator (not a guest) keeps a file in the library; and when the
// conference ends its other files go, rows and page images.
func TestRoomUpload(t *testing.T) {
	t.Parallel()
	h, root := newDropHarness(t, MaterialLimits{MaxBytes: 1 << 20, PerRoom: 3})
	alice := h.operator("alice", "Alice")
	cookie := h.session("alice")
	n := h.issue(alice)
	op := h.connect("operator", cookie)
	op.send(map[string]any{"type": "host", "number": n.Digits})
	var hosting struct {
		PageToken string `json:"page_token"`
	}
	op.expect("hosting").decode(t, &hosting)
	opToken := hosting.PageToken
	guest, guestToken, guestID := admitGuest(h, op, n, "Guest")

	// Nobody's tokens.
	for _, token := range []string{"", "junk", strings.Repeat("ab", 16)} {
		if r := h.drop(token, "x.png", testPNG(t, 8, 8)); r.status != http.StatusNotFound {
			t.Errorf("drop with token %q: %d %s, want 404", token, r.status, r.body)
		}
	}

	// The guest drops a PNG: converted, then selected by the guest.
	r := h.drop(guestToken, "board.png", testPNG(t, 300, 200))
	if r.status != http.StatusAccepted {
		t.Fatalf("drop: %d %s", r.status, r.body)
	}
	var up jsonMaterial
	r.decode(t, &up)
	m := h.waitDropped(guestToken, up.ID)
	if m.State != dialroom.MaterialReady || m.Pages != 1 || m.Name != "board.png" || m.Thumb != "" {
		t.Fatalf("dropped file: %+v", m)
	}
	if resp := h.do(request{method: "GET", path: "/api/room/uploads/" + up.ID + "?token=" + strings.Repeat("cd", 16)}); resp.status != http.StatusNotFound {
		t.Errorf("state with a made-up token: %d", resp.status)
	}
	if resp := h.do(request{method: "GET", path: "/api/materials", cookie: cookie}); bytes.Contains(resp.body, []byte(up.ID)) {
		t.Errorf("the library lists a dropped file: %s", resp.body)
	}
	guest.send(map[string]any{"type": "material_select", "material": up.ID})
	var gs, os1 struct {
		Material struct {
			ID       string   `json:"id"`
			PageURLs []string `json:"page_urls"`
			RoomFile bool     `json:"room_file"`
		} `json:"material"`
		Presenter string `json:"presenter"`
	}
	guest.expect("material_selected").decode(t, &gs)
	op.expect("material_selected").decode(t, &os1)
	if gs.Material.ID != up.ID || gs.Presenter != guestID || gs.Material.RoomFile || !os1.Material.RoomFile {
		t.Fatalf("material_selected: guest %+v, operator %+v", gs, os1)
	}
	if st, _ := h.getPage(gs.Material.PageURLs[0]); st != http.StatusOK {
		t.Errorf("the guest's page 1: %d", st)
	}

	// Corrupt: accepted, then failed with the library's message.
	r = h.drop(guestToken, "broken.pdf", []byte("%PDF-1.4 this is not a PDF"))
	if r.status != http.StatusAccepted {
		t.Fatalf("corrupt drop: %d %s", r.status, r.body)
	}
	r.decode(t, &up)
	if m := h.waitDropped(guestToken, up.ID); m.State != dialroom.MaterialFailed || m.Error == "" {
		t.Errorf("corrupt file: %+v", m)
	}
	// Oversized: 413 with the limit in the message.
	r = h.drop(guestToken, "big.png", make([]byte, 2<<20))
	if r.status != http.StatusRequestEntityTooLarge || !strings.Contains(r.apiError(t).Error.Message, "larger than 1 MB") {
		t.Errorf("oversized drop: %d %s", r.status, r.body)
	}
	// A third file fits; a fourth exceeds PerRoom.
	r = h.drop(opToken, "op.png", testPNG(t, 50, 50))
	if r.status != http.StatusAccepted {
		t.Fatalf("operator's drop: %d %s", r.status, r.body)
	}
	var opUp jsonMaterial
	r.decode(t, &opUp)
	h.waitDropped(opToken, opUp.ID)
	if r = h.drop(guestToken, "more.png", testPNG(t, 8, 8)); r.status != http.StatusTooManyRequests {
		t.Errorf("drop over the room's cap: %d %s", r.status, r.body)
	}
	if spooled, _ := os.ReadDir(h.srv.lib.limits.SpoolDir); len(spooled) != 0 {
		t.Errorf("spooled files left: %v", spooled)
	}
	if count, _ := h.db.CountRoomMaterials(context.Background(), n.Digits); count != 3 {
		t.Errorf("room holds %d files, want 3", count)
	}

	// Only the operator keeps; the kept file joins the library.
	keep := func(token, id string) int {
		return h.do(request{method: "POST", path: "/api/room/uploads/" + id + "/keep?token=" + token}).status
	}
	if st := keep(guestToken, opUp.ID); st != http.StatusForbidden {
		t.Errorf("guest keeps: %d, want 403", st)
	}
	if st := keep(opToken, opUp.ID); st != http.StatusOK {
		t.Errorf("operator keeps: %d, want 200", st)
	}
	if resp := h.do(request{method: "GET", path: "/api/materials", cookie: cookie}); !bytes.Contains(resp.body, []byte(opUp.ID)) {
		t.Errorf("the kept file is not in the library: %s", resp.body)
	}
	if st := keep(opToken, opUp.ID); st != http.StatusNotFound {
		t.Errorf("keeping twice: %d, want 404", st)
	}

	// Only the operator may share: the guest's drop is 403.
	op.send(map[string]any{"type": "material_policy", "guests_may_select": false})
	guest.expect("material_policy")
	if r = h.drop(guestToken, "late.png", testPNG(t, 8, 8)); r.status != http.StatusForbidden || r.apiError(t).Error.Code != dialroom.EDENIED {
		t.Errorf("guest's drop while restricted: %d %s", r.status, r.body)
	}

	// The conference ends: its files go, rows and pages; the kept one stays.
	before, _ := os.ReadDir(root)
	op.send(map[string]any{"type": "end"})
	guest.expect("ended")
	deadline := time.Now().Add(10 * time.Second)
	for {
		count, err := h.db.CountRoomMaterials(context.Background(), n.Digits)
		docs, _ := os.ReadDir(root)
		if err == nil && count == 0 && len(docs) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the end: %d room files (%v), documents %d (of %d before)", count, err, len(docs), len(before))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := h.db.Material(context.Background(), "alice", opUp.ID); err != nil {
		t.Errorf("the kept file after the end: %v", err)
	}
	if r = h.drop(guestToken, "after.png", testPNG(t, 8, 8)); r.status != http.StatusNotFound {
		t.Errorf("drop after the end: %d", r.status)
	}
}

// TestRoomUploadLeftovers: files of conferences a stopped server left are
// deleted when the server starts; library materials stay.
func TestRoomUploadLeftovers(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	h := newHarness(t, func(cfg *Config) { cfg.Converter = pageFiles{root} })
	h.operator("alice", "Alice")
	lib := readyMaterial(t, h, root, "alice", "kept", 1)
	ctx := context.Background()
	left := &dialroom.Material{ID: strings.Repeat("ef", 16), Operator: "alice", Name: "left.png", Bytes: 1, Room: "12345678901", Uploader: "Guest"}
	if err := h.db.CreateMaterial(ctx, left); err != nil {
		t.Fatal(err)
	}
	// What New does at start.
	h.srv.deleteRoomMaterials("")
	if _, err := h.db.Material(ctx, "alice", left.ID); dialroom.ErrorCode(err) != dialroom.ENOTFOUND {
		t.Errorf("leftover after start: %v", err)
	}
	if _, err := h.db.Material(ctx, "alice", lib); err != nil {
		t.Errorf("library material after start: %v", err)
	}
}

// TestReserveDrop: a member may have maxDropsPerMember files waiting or
// converting; another member of the same room may still drop.
func TestReserveDrop(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(cfg *Config) { cfg.Converter = pageFiles{t.TempDir()} })
	var held []*conversion
	for range maxDropsPerMember {
		j, err := h.srv.lib.reserveDrop("111", "111 m1", "a.png")
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, j)
	}
	if _, err := h.srv.lib.reserveDrop("111", "111 m1", "b.png"); dialroom.ErrorCode(err) != dialroom.ETHROTTLED {
		t.Errorf("one more for the member: %v, want throttled", err)
	}
	j, err := h.srv.lib.reserveDrop("111", "111 m2", "c.png")
	if err != nil {
		t.Errorf("another member: %v", err)
	} else {
		held = append(held, j)
	}
	for _, j := range held {
		h.srv.lib.release(j)
	}
	if j, err := h.srv.lib.reserveDrop("111", "111 m1", "d.png"); err != nil {
		t.Errorf("after release: %v", err)
	} else {
		h.srv.lib.release(j)
	}
}
