package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/dialroom/dialroom"
	"github.com/dialroom/dialroom/configs"
	"github.com/dialroom/dialroom/e2e"
	"github.com/dialroom/dialroom/storage"
	"github.com/dialroom/dialroom/webclient"
)

// libraryPageSize is the long side of page images in this test: smaller
// than the default so that rendering is quick.
const libraryPageSize = 800

// TestLibraryBrowser is the operator's library in a real browser (issue 5,
// "Library"): the operator uploads a generated 3-page PDF through the
// console's file input, sees it convert (a progress bar and its words) and
// become 3 pages with page 1's thumbnail; the page image URL serves a PNG of
// the configured size; a corrupt PDF shows why it failed; another operator
// and a request without a session cannot fetch the pages; Delete removes it.
func TestLibraryBrowser(t *testing.T) {
	e2e.RequireChromium(t)
	e2e.RequirePoppler(t)
	srv := startServer(t, "", func(c *configs.Config) { c.Materials.PageSize = libraryPageSize })
	base := srv.URL()

	op := &participant{t: t, name: "operator", ctx: e2e.NewBrowser(t, e2e.BrowserOptions{Name: "operator"})}
	op.run("login",
		chromedp.Navigate(base+"/console"),
		chromedp.WaitVisible(chromedp.CSS("#login")),
		chromedp.SendKeys(chromedp.CSS("#login"), "admin"),
		chromedp.SendKeys(chromedp.CSS("#password"), srv.AdminPassword),
		chromedp.Click(chromedp.CSS("#login-button")),
		chromedp.WaitVisible(chromedp.CSS("#library-upload-button")),
	)
	op.waitFor("empty library", `!document.querySelector('.library-empty').hidden`, 10*time.Second)

	// Everything the progress line ever says is recorded as it changes.
	op.eval(`(() => {
		window.progressSeen = [];
		new MutationObserver(() => {
			for (const p of document.querySelectorAll('.material-progress')) {
				if (p.hidden) continue;
				const text = p.querySelector('.material-progress-text').textContent;
				if (window.progressSeen[window.progressSeen.length - 1] !== text) window.progressSeen.push(text);
			}
		}).observe(document.querySelector('.library-list'), {subtree: true, childList: true, characterData: true, attributes: true});
		return true;
	})()`, new(bool))

	start := time.Now()
	op.pickFile("slides.pdf", "application/pdf", e2e.MakePDF(e2e.Pages(3), false))
	op.waitFor("3 pages ready", `(() => {
		const li = document.querySelector('li.material[data-state="ready"]');
		return li && li.querySelector('.name').textContent === 'slides.pdf' &&
			li.querySelector('.material-pages').textContent === '3 pages' &&
			li.querySelector('.material-progress').hidden;
	})()`, 30*time.Second)
	t.Logf("upload to ready in the console: %v", time.Since(start).Round(time.Millisecond))
	op.waitFor("thumbnail of page 1", `(() => {
		const img = document.querySelector('li.material[data-state="ready"] img.material-thumb');
		return img && !img.hidden && img.complete && img.naturalHeight === 240;
	})()`, 10*time.Second)
	var seen []string
	op.eval(`window.progressSeen`, &seen)
	if len(seen) == 0 {
		t.Fatal("the console never showed the conversion's progress")
	}
	for _, s := range seen {
		switch s {
		case "Waiting to convert…", "Converting…", "Converting page 1 of 3", "Converting page 2 of 3", "Converting page 3 of 3":
		default:
			t.Errorf("progress said %q", s)
		}
	}
	t.Logf("progress shown: %q", seen)

	var id string
	op.eval(`document.querySelector('li.material[data-state="ready"]').dataset.materialId`, &id)

	// The page image, fetched by the page with its session: a PNG of the
	// configured size (A4 portrait: 800 high, 565 wide).
	var size struct{ W, H int }
	op.eval(fmt.Sprintf(`(async () => {
		const res = await fetch('/api/materials/%s/pages/1');
		if (res.headers.get('Content-Type') !== 'image/png') throw new Error('type ' + res.headers.get('Content-Type'));
		const bmp = await createImageBitmap(await res.blob());
		return {W: bmp.width, H: bmp.height};
	})()`, id), &size)
	if size.H != libraryPageSize || size.W < 560 || size.W > 570 {
		t.Errorf("page 1 is %dx%d, want about 565x%d", size.W, size.H, libraryPageSize)
	}

	// A corrupt PDF: the row says it failed, and why.
	corrupt := e2e.MakePDF(e2e.Pages(2), false)
	corrupt = append(corrupt[:len(corrupt)/2:len(corrupt)/2], "not a PDF any more"...)
	op.pickFile("broken.pdf", "application/pdf", corrupt)
	op.waitFor("corrupt PDF failed", `(() => {
		const li = [...document.querySelectorAll('li.material')].find(li => li.querySelector('.name').textContent === 'broken.pdf');
		const err = li && li.querySelector('.material-error');
		return li && li.dataset.state === 'failed' && !err.hidden && err.textContent === 'the PDF could not be read; it may be damaged';
	})()`, 30*time.Second)

	// Nobody else can fetch the pages: another operator gets 404, exactly
	// as for an id that does not exist; no session gets 401.
	hash, err := webclient.HashPassword("bob's long password")
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.DB.CreateOperator(t.Context(), &dialroom.Operator{Login: "bob", PasswordHash: hash}); err != nil {
		t.Fatal(err)
	}
	bob := newAPIClient(t, base)
	bob.login("bob", "bob's long password")
	for _, path := range []string{"/pages/1", "/thumbs/1", ""} {
		if st := bob.get("/api/materials/" + id + path); st != http.StatusNotFound {
			t.Errorf("bob GET %s: %d, want 404", path, st)
		}
		if st := newAPIClient(t, base).get("/api/materials/" + id + path); st != http.StatusUnauthorized {
			t.Errorf("no session GET %s: %d, want 401", path, st)
		}
	}

	// The owner's page 1 from Go, decoded: the same PNG.
	admin := newAPIClient(t, base)
	admin.login("admin", srv.AdminPassword)
	img, err := png.Decode(bytes.NewReader(admin.getBody("/api/materials/" + id + "/pages/1")))
	if err != nil {
		t.Fatalf("page 1: %v", err)
	}
	if b := img.Bounds(); b.Dy() != libraryPageSize {
		t.Errorf("page 1 is %v", b)
	}

	// Delete through the console: the row goes, and so do the pages.
	op.eval(fmt.Sprintf(`window.confirm = () => true,
		document.querySelector('li.material[data-material-id=%q] .material-delete').click(), true`, id), new(bool))
	op.waitFor("row deleted", fmt.Sprintf(`!document.querySelector('li.material[data-material-id=%q]')`, id), 10*time.Second)
	if st := admin.get("/api/materials/" + id + "/pages/1"); st != http.StatusNotFound {
		t.Errorf("page after delete: %d", st)
	}
}

// pickFile gives the library's file input a file, as choosing it in the
// file dialog would.
func (p *participant) pickFile(name, typ string, data []byte) {
	p.t.Helper()
	p.pickInto("library-file", name, typ, data)
}

// pickInto gives the file input with id inputID one file and fires its
// change event, as the file dialog would.
func (p *participant) pickInto(inputID, name, typ string, data []byte) {
	p.t.Helper()
	p.eval(fmt.Sprintf(`(() => {
		const bytes = Uint8Array.from(atob(%q), c => c.charCodeAt(0));
		const input = document.getElementById(%q);
		const dt = new DataTransfer();
		dt.items.add(new File([bytes], %q, {type: %q}));
		input.files = dt.files;
		input.dispatchEvent(new Event('change'));
		return true;
	})()`, base64.StdEncoding.EncodeToString(data), inputID, name, typ), new(bool))
}

// get sends a GET and returns the status.
func (c *apiClient) get(path string) int {
	c.t.Helper()
	resp, err := c.http.Get(c.base + path)
	if err != nil {
		c.t.Fatalf("GET %s: %v", path, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// getBody sends a GET that must succeed and returns the body.
func (c *apiClient) getBody(path string) []byte {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		c.t.Fatalf("GET %s: %d %v", path, resp.StatusCode, err)
	}
	return body
}

// TestLibraryRestart: what survives a restart. Ready documents stay and are
// served; the documents of an operator deleted while the server was down
// (their rows went with them) are removed from the disk at start.
func TestLibraryRestart(t *testing.T) {
	e2e.RequirePoppler(t)
	dir := t.TempDir()
	srv := startServer(t, dir, func(c *configs.Config) { c.Materials.PageSize = 200 })
	password := srv.AdminPassword
	hash, err := webclient.HashPassword("bob's long password")
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.DB.CreateOperator(t.Context(), &dialroom.Operator{Login: "bob", PasswordHash: hash}); err != nil {
		t.Fatal(err)
	}
	admin, bob := newAPIClient(t, srv.URL()), newAPIClient(t, srv.URL())
	admin.login("admin", password)
	bob.login("bob", "bob's long password")
	adminID := admin.uploadAndWait("a.pdf", e2e.MakePDF(e2e.Pages(2), false))
	bob.uploadAndWait("b.pdf", e2e.MakePDF(e2e.Pages(1), false))
	if docs := documentDirs(t, dir); len(docs) != 2 {
		t.Fatalf("documents on disk: %v, want 2", docs)
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := storage.Open(filepath.Join(dir, "dialroom.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteOperator(t.Context(), "bob"); err != nil {
		t.Fatal(err)
	}
	db.Close()

	srv = startServer(t, dir, func(c *configs.Config) { c.Materials.PageSize = 200 })
	if docs := documentDirs(t, dir); len(docs) != 1 {
		t.Errorf("documents on disk after restart: %v, want only admin's", docs)
	}
	admin = newAPIClient(t, srv.URL())
	admin.login("admin", password)
	img, err := png.Decode(bytes.NewReader(admin.getBody("/api/materials/" + adminID + "/pages/2")))
	if err != nil || img.Bounds().Dy() != 200 {
		t.Errorf("admin's page 2 after restart: %v", err)
	}
}

// documentDirs lists the converted documents under DATA_DIR/materials.
func documentDirs(t *testing.T, dataDir string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dataDir, "materials"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			out = append(out, e.Name())
		}
	}
	return out
}

// uploadAndWait uploads a file to the library and waits until it is ready;
// it returns the material's id.
func (c *apiClient) uploadAndWait(name string, data []byte) string {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, c.base+"/api/materials?name="+url.QueryEscape(name), bytes.NewReader(data))
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("upload %s: %v", name, err)
	}
	var m struct{ ID, State, Error string }
	err = json.NewDecoder(resp.Body).Decode(&m)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusAccepted {
		c.t.Fatalf("upload %s: %d %v", name, resp.StatusCode, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for m.State == "converting" && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		c.do("GET", "/api/materials/"+m.ID, nil, &m)
	}
	if m.State != "ready" {
		c.t.Fatalf("%s: %+v", name, m)
	}
	return m.ID
}
