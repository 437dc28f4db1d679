package webclient

import (
	"bytes"
	"context"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dialroom/dialroom"
	"github.com/dialroom/dialroom/e2e"
	"github.com/dialroom/dialroom/materials"
)

// testPageSize keeps rendering quick: the long side of a page image.
const testPageSize = 400

// realConverter adapts the real materials.Converter, as cmd/dialroom does.
type realConverter struct{ c *materials.Converter }

func (a realConverter) Convert(ctx context.Context, src io.Reader, name string, progress func(done, total int)) (ConvertedDocument, error) {
	doc, err := a.c.Convert(ctx, src, name, progress)
	if err != nil {
		return ConvertedDocument{}, err
	}
	return ConvertedDocument{ID: doc.ID, Type: doc.Type, Pages: len(doc.Pages)}, nil
}
func (a realConverter) Remove(id string) error                    { return a.c.Remove(id) }
func (a realConverter) PagePath(id string, n int) (string, error) { return a.c.PagePath(id, n) }
func (a realConverter) ThumbPath(id string, n int) (string, error) {
	return a.c.ThumbPath(id, n)
}

// newLibraryHarness is a server whose library converts with pdftoppm into
// root (returned), with uploads limited to maxBytes.
func newLibraryHarness(t *testing.T, maxBytes int64) (*harness, string) {
	t.Helper()
	e2e.RequirePoppler(t)
	root := t.TempDir()
	c, err := materials.New(materials.Config{Root: root, PageSize: testPageSize, MaxBytes: maxBytes,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, func(cfg *Config) {
		cfg.Converter = realConverter{c}
		cfg.Materials = MaterialLimits{MaxBytes: maxBytes, SpoolDir: t.TempDir()}
	})
	return h, root
}

// upload posts data as the file name to the library.
func (h *harness) upload(cookie, name string, data []byte) response {
	h.t.Helper()
	return h.postFile("/api/materials?name="+url.QueryEscape(name), cookie, data)
}

// postFile POSTs data as a raw file body to path, with the session cookie
// when there is one.
func (h *harness) postFile(path, cookie string, data []byte) response {
	h.t.Helper()
	r, err := http.NewRequest(http.MethodPost, h.ts.URL+path, bytes.NewReader(data))
	if err != nil {
		h.t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/octet-stream")
	if cookie != "" {
		r.AddCookie(&http.Cookie{Name: sessionCookie, Value: cookie})
	}
	resp, err := h.ts.Client().Do(r)
	if err != nil {
		h.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: body}
}

// waitMaterial polls GET /api/materials/{id} until it is no longer converting.
func (h *harness) waitMaterial(cookie, id string) jsonMaterial {
	h.t.Helper()
	return h.waitConverted("/api/materials/"+id, cookie, true)
}

// waitConverted polls path (a material's state) until it is no longer
// converting; withProgress requires progress while it converts.
func (h *harness) waitConverted(path, cookie string, withProgress bool) jsonMaterial {
	h.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp := h.do(request{method: "GET", path: path, cookie: cookie})
		if resp.status != http.StatusOK {
			h.t.Fatalf("GET %s: %d %s", path, resp.status, resp.body)
		}
		var m jsonMaterial
		resp.decode(h.t, &m)
		if m.State != dialroom.MaterialConverting {
			return m
		}
		if withProgress && m.Progress == nil {
			h.t.Fatalf("converting without progress: %s", resp.body)
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("still converting: %s", resp.body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestLibraryUploadAndPages(t *testing.T) {
	t.Parallel()
	h, root := newLibraryHarness(t, 1<<20)
	h.operator("alice", "Alice")
	h.operator("bob", "Bob")
	alice, bob := h.session("alice"), h.session("bob")

	resp := h.upload(alice, `C:\Users\alice\Präsentation 3.pdf`, e2e.MakePDF(e2e.Pages(3), false))
	if resp.status != http.StatusAccepted {
		t.Fatalf("upload: %d %s", resp.status, resp.body)
	}
	var up jsonMaterial
	resp.decode(t, &up)
	if !validMaterialID(up.ID) || up.State != dialroom.MaterialConverting || up.Name != "Präsentation 3.pdf" || up.Progress == nil {
		t.Fatalf("upload answer: %s", resp.body)
	}
	m := h.waitMaterial(alice, up.ID)
	if m.State != dialroom.MaterialReady || m.Pages != 3 || m.Type != "pdf" || m.Error != "" ||
		m.Thumb != "/api/materials/"+up.ID+"/thumbs/1" {
		t.Fatalf("converted: %+v", m)
	}

	// The list shows it, with the limits; bob's list is empty.
	var list materialsResponse
	h.do(request{method: "GET", path: "/api/materials", cookie: alice}).decode(t, &list)
	if len(list.Materials) != 1 || list.Materials[0].ID != up.ID || !list.Available || list.Limits.MaxBytes != 1<<20 {
		t.Errorf("alice's list: %+v", list)
	}
	h.do(request{method: "GET", path: "/api/materials", cookie: bob}).decode(t, &list)
	if len(list.Materials) != 0 {
		t.Errorf("bob's list: %+v", list)
	}

	// Pages and thumbnails are PNGs of the configured size (A4 portrait:
	// the height is the long side).
	for _, tc := range []struct {
		path string
		long int
	}{{"/pages/1", testPageSize}, {"/pages/3", testPageSize}, {"/thumbs/1", materials.DefaultThumbSize}} {
		resp := h.do(request{method: "GET", path: "/api/materials/" + up.ID + tc.path, cookie: alice})
		if resp.status != http.StatusOK || resp.header.Get("Content-Type") != "image/png" {
			t.Fatalf("GET %s: %d %s", tc.path, resp.status, resp.header.Get("Content-Type"))
		}
		if cc := resp.header.Get("Cache-Control"); !strings.Contains(cc, "private") {
			t.Errorf("GET %s: Cache-Control %q, want private", tc.path, cc)
		}
		img, err := png.Decode(bytes.NewReader(resp.body))
		if err != nil {
			t.Fatalf("GET %s: %v", tc.path, err)
		}
		if b := img.Bounds(); b.Dy() != tc.long || b.Dx() >= b.Dy() {
			t.Errorf("GET %s: %v, want portrait %d px high", tc.path, b, tc.long)
		}
	}

	// Nobody else reaches any of it: bob gets 404 exactly like for a
	// missing id; no session is 401; pages out of range are 404.
	missing := strings.Repeat("0", 32)
	for _, tc := range []struct {
		who, cookie, path string
		want              int
	}{
		{"bob", bob, up.ID, http.StatusNotFound},
		{"bob", bob, up.ID + "/pages/1", http.StatusNotFound},
		{"bob", bob, up.ID + "/thumbs/1", http.StatusNotFound},
		{"no session", "", up.ID, http.StatusUnauthorized},
		{"no session", "", up.ID + "/pages/1", http.StatusUnauthorized},
		{"no session", "", up.ID + "/thumbs/1", http.StatusUnauthorized},
		{"alice", alice, missing, http.StatusNotFound},
		{"alice", alice, missing + "/pages/1", http.StatusNotFound},
		{"alice", alice, "..%2F..%2Fetc/pages/1", http.StatusNotFound},
		{"alice", alice, strings.ToUpper(up.ID) + "/pages/1", http.StatusNotFound},
		{"alice", alice, up.ID + "/pages/4", http.StatusNotFound},
		{"alice", alice, up.ID + "/pages/0", http.StatusNotFound},
		{"alice", alice, up.ID + "/pages/x", http.StatusNotFound},
		{"alice", alice, up.ID + "/thumbs/4", http.StatusNotFound},
	} {
		if resp := h.do(request{method: "GET", path: "/api/materials/" + tc.path, cookie: tc.cookie}); resp.status != tc.want {
			t.Errorf("%s: GET %s: %d, want %d", tc.who, tc.path, resp.status, tc.want)
		}
	}
	if resp := h.do(request{method: "DELETE", path: "/api/materials/" + up.ID, cookie: bob}); resp.status != http.StatusNotFound {
		t.Errorf("bob deletes alice's material: %d", resp.status)
	}

	// Delete removes the row and the page images.
	if entries, _ := os.ReadDir(root); len(entries) != 1 {
		t.Fatalf("converter root holds %d entries, want the one document", len(entries))
	}
	if resp := h.do(request{method: "DELETE", path: "/api/materials/" + up.ID, cookie: alice}); resp.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", resp.status, resp.body)
	}
	if entries, _ := os.ReadDir(root); len(entries) != 0 {
		t.Errorf("after delete the converter root holds %v", entries)
	}
	if resp := h.do(request{method: "GET", path: "/api/materials/" + up.ID + "/pages/1", cookie: alice}); resp.status != http.StatusNotFound {
		t.Errorf("page after delete: %d", resp.status)
	}
}

func TestLibraryRejects(t *testing.T) {
	t.Parallel()
	const limit = 64 << 10
	h, root := newLibraryHarness(t, limit)
	h.operator("alice", "Alice")
	alice := h.session("alice")

	corrupt := e2e.MakePDF(e2e.Pages(2), false)
	corrupt = append(corrupt[:len(corrupt)/2:len(corrupt)/2], []byte("garbage, not a PDF any more")...)
	// The file starts like a PDF but its body and cross-references are gone.
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"corrupt.pdf", corrupt, "the PDF could not be read; it may be damaged"},
		{"locked.pdf", e2e.MakePDF(e2e.Pages(1), true), "the PDF is protected by a password; upload it without the password"},
		{"notes.txt", []byte("just some text\n"), "unsupported file type"},
	} {
		resp := h.upload(alice, tc.name, tc.data)
		if resp.status != http.StatusAccepted {
			t.Fatalf("%s: upload %d %s", tc.name, resp.status, resp.body)
		}
		var up jsonMaterial
		resp.decode(t, &up)
		m := h.waitMaterial(alice, up.ID)
		if m.State != dialroom.MaterialFailed || !strings.Contains(m.Error, tc.want) || m.Pages != 0 || m.Thumb != "" {
			t.Errorf("%s: %+v, want failed with %q", tc.name, m, tc.want)
		}
		if resp := h.do(request{method: "GET", path: "/api/materials/" + up.ID + "/pages/1", cookie: alice}); resp.status != http.StatusNotFound {
			t.Errorf("%s: page of a failed material: %d", tc.name, resp.status)
		}
	}

	// Too large: refused up front with 413 and the limit, nothing stored.
	big := make([]byte, limit+1)
	copy(big, e2e.MakePDF(e2e.Pages(1), false))
	resp := h.upload(alice, "big.pdf", big)
	if resp.status != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized: %d %s", resp.status, resp.body)
	}
	if e := resp.apiError(t); e.Error.Message != "The file is larger than 0.0625 MB, the most this server accepts." {
		t.Errorf("oversized message: %q", e.Error.Message)
	}
	// Without Content-Length (chunked), the limit holds while reading.
	r, _ := http.NewRequest(http.MethodPost, h.ts.URL+"/api/materials?name=stream.pdf", io.MultiReader(bytes.NewReader(big)))
	r.AddCookie(&http.Cookie{Name: sessionCookie, Value: alice})
	if res, err := h.ts.Client().Do(r); err != nil || res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("chunked oversized: %v %v", res, err)
	} else {
		res.Body.Close()
	}
	if resp := h.upload(alice, "empty.pdf", nil); resp.status != http.StatusBadRequest || resp.apiError(t).Error.Message != "The file is empty." {
		t.Errorf("empty: %d %s", resp.status, resp.body)
	}

	var list materialsResponse
	h.do(request{method: "GET", path: "/api/materials", cookie: alice}).decode(t, &list)
	if len(list.Materials) != 3 {
		t.Errorf("library holds %d materials, want the 3 failed ones (no row for refused uploads)", len(list.Materials))
	}
	if entries, _ := os.ReadDir(root); len(entries) != 0 {
		t.Errorf("failed conversions left %v in the converter root", entries)
	}
	if spooled, _ := filepath.Glob(filepath.Join(h.srv.lib.limits.SpoolDir, "*")); len(spooled) != 0 {
		t.Errorf("spooled uploads left: %v", spooled)
	}
}

// blockingConverter converts nothing: each Convert reports page 1 of 5 and
// waits for its context. For the queue's limits and shutdown.
type blockingConverter struct{ started chan string }

func (b blockingConverter) Convert(ctx context.Context, _ io.Reader, name string, progress func(done, total int)) (ConvertedDocument, error) {
	progress(1, 5)
	b.started <- name
	<-ctx.Done()
	return ConvertedDocument{}, context.Cause(ctx)
}
func (blockingConverter) Remove(string) error { return nil }
func (blockingConverter) PagePath(string, int) (string, error) {
	return "", dialroom.Errorf(dialroom.ENOTFOUND, "no")
}
func (blockingConverter) ThumbPath(string, int) (string, error) {
	return "", dialroom.Errorf(dialroom.ENOTFOUND, "no")
}

func TestLibraryQueueAndShutdown(t *testing.T) {
	t.Parallel()
	conv := blockingConverter{started: make(chan string, 8)}
	h := newHarness(t, func(cfg *Config) {
		cfg.Converter = conv
		cfg.Materials = MaterialLimits{Workers: 1, PerOperator: 3, SpoolDir: t.TempDir()}
	})
	h.operator("alice", "Alice")
	alice := h.session("alice")
	var ids []string
	for _, name := range []string{"one.pdf", "two.pdf", "three.pdf"} {
		resp := h.upload(alice, name, []byte("%PDF-1.4 whatever"))
		if resp.status != http.StatusAccepted {
			t.Fatalf("%s: %d %s", name, resp.status, resp.body)
		}
		var m jsonMaterial
		resp.decode(t, &m)
		ids = append(ids, m.ID)
	}
	if name := <-conv.started; name != "one.pdf" {
		t.Fatalf("first conversion is %s", name)
	}
	// The fourth is refused: three are waiting or converting.
	if resp := h.upload(alice, "four.pdf", []byte("%PDF-1.4")); resp.status != http.StatusTooManyRequests {
		t.Errorf("fourth upload: %d %s", resp.status, resp.body)
	}
	var m jsonMaterial
	h.do(request{method: "GET", path: "/api/materials/" + ids[0], cookie: alice}).decode(t, &m)
	if m.Progress == nil || m.Progress.Queued || m.Progress.Done != 1 || m.Progress.Total != 5 {
		t.Errorf("running: %+v", m.Progress)
	}
	h.do(request{method: "GET", path: "/api/materials/" + ids[1], cookie: alice}).decode(t, &m)
	if m.Progress == nil || !m.Progress.Queued {
		t.Errorf("waiting: %+v", m.Progress)
	}
	// Deleting the running one stops it, and the next starts.
	if resp := h.do(request{method: "DELETE", path: "/api/materials/" + ids[0], cookie: alice}); resp.status != http.StatusNoContent {
		t.Fatalf("delete: %d", resp.status)
	}
	select {
	case name := <-conv.started:
		if name != "two.pdf" {
			t.Errorf("next conversion is %s", name)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the queue did not move on after a delete")
	}
	// Shutdown: the running and the waiting conversion end as failed with a
	// message, and no spooled upload is left.
	if err := h.srv.Close(); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids[1:] {
		got, err := h.db.Material(t.Context(), "alice", id)
		if err != nil || got.State != dialroom.MaterialFailed || got.Error != msgInterrupted {
			t.Errorf("after shutdown: %+v, %v", got, err)
		}
	}
	if spooled, _ := filepath.Glob(filepath.Join(h.srv.lib.limits.SpoolDir, "*")); len(spooled) != 0 {
		t.Errorf("spooled uploads left: %v", spooled)
	}
	if resp := h.upload(alice, "late.pdf", []byte("%PDF-1.4")); resp.status != http.StatusGone {
		t.Errorf("upload after close: %d %s", resp.status, resp.body)
	}
}
