package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/dialroom/dialroom/e2e"
)

// TestDropFileBrowser is issue 5's "Drop a file" in real browsers (patent
// claims 11–12): a guest drops a generated PNG onto the conference page (a
// drop event with a DataTransfer); it is uploaded, converted, and shown to
// the operator and the guest with the guest presenting; a non-member cannot
// fetch it or its state (404); a second file, chosen with the file input,
// is kept by the operator and appears in their library; with guests
// restricted, a guest's drop is refused with a message; when the operator
// ends the conference the guest's remaining file is gone from disk and
// database, and the kept one stays.
func TestDropFileBrowser(t *testing.T) {
	srv, op, g1, number := startMaterialsRoom(t, nil)
	base := srv.URL()
	g1ID := op.memberID("Guest One")

	// The guest drops a PNG onto the page.
	start := time.Now()
	g1.dropFile("whiteboard.png", "image/png", makePNG(t, 400, 300))
	for _, p := range []*participant{op, g1} {
		p.waitShowing(1, g1ID)
	}
	t.Logf("drop to page shown in both browsers: %v", time.Since(start).Round(time.Millisecond))
	var shown struct {
		ID, Name, URL string
		W, H          int
	}
	op.eval(`(() => { const v = window.dialroomMaterial, i = document.querySelector('.material-page');
		return {ID: v.material.id, Name: v.material.name, URL: v.material.page_urls[0], W: i.naturalWidth, H: i.naturalHeight}; })()`, &shown)
	if shown.Name != "whiteboard.png" || shown.W == 0 {
		t.Errorf("operator shows %+v, want whiteboard.png as an image", shown)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dropped, err := srv.DB.RoomMaterial(ctx, number, shown.ID)
	if err != nil || dropped.Uploader != "Guest One" || dropped.Document == "" {
		t.Fatalf("the dropped file's row: %+v, %v", dropped, err)
	}
	docDir := filepath.Join(srv.DataDir, "materials", dropped.Document)
	if _, err := os.Stat(docDir); err != nil {
		t.Fatalf("the dropped file's pages: %v", err)
	}

	// A non-member: no token, a made-up token, a library URL without a session.
	pageWithoutToken, _, _ := strings.Cut(shown.URL, "?")
	junk := "?token=" + strings.Repeat("ab", 16)
	for _, u := range []string{
		base + pageWithoutToken,
		base + pageWithoutToken + junk,
		base + "/api/room/uploads/" + shown.ID + junk,
	} {
		if st := httpStatus(t, u); st != http.StatusNotFound {
			t.Errorf("GET %s as a non-member: %d, want 404", u, st)
		}
	}
	resp, err := http.Post(base+"/api/room/uploads"+junk+"&name=x.png", "image/png", bytes.NewReader(makePNG(t, 10, 10)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("upload as a non-member: %d, want 404", resp.StatusCode)
	}
	// Not in the library while it belongs to the conference.
	admin := newAPIClient(t, base)
	admin.login("admin", srv.AdminPassword)
	if body := admin.getBody("/api/materials"); bytes.Contains(body, []byte(shown.ID)) {
		t.Errorf("the library lists the dropped file: %s", body)
	}

	// A second file, a 2-page PDF through the file input; the operator
	// keeps it in the library.
	g1.pickDropFile("notes.pdf", "application/pdf", e2e.MakePDF(e2e.Pages(2), false))
	op.waitFor("notes.pdf shown", `(() => { const v = window.dialroomMaterial; return v.material && v.material.name === 'notes.pdf' && v.loaded === 1; })()`, 30*time.Second)
	var keptID string
	op.eval(`window.dialroomMaterial.material.id`, &keptID)
	op.waitFor("keep offered", `!document.querySelector('.drop-keep').hidden`, 5*time.Second)
	g1.waitFor("keep not offered to guests", `document.querySelector('.drop-keep').hidden`, 5*time.Second)
	op.run("keep", chromedp.Click(chromedp.CSS(".drop-keep")))
	op.waitFor("kept", `document.querySelector('.drop-note').textContent.includes('is now in your library')`, 10*time.Second)
	if body := admin.getBody("/api/materials"); !bytes.Contains(body, []byte(keptID)) {
		t.Errorf("the kept file is not in the library: %s", body)
	}

	// Guests restricted: the guest's drop is refused with a message.
	op.eval(`(() => { const c = document.getElementById('material-guests'); c.checked = false; c.dispatchEvent(new Event('change')); return true; })()`, new(bool))
	g1.waitFor("policy", `window.dialroomMaterial.guestsMaySelect === false`, 10*time.Second)
	g1.dropFile("refused.png", "image/png", makePNG(t, 20, 20))
	g1.waitFor("refusal shown", `document.querySelector('.drop-note').textContent.includes('Only the operator can share documents')`, 5*time.Second)

	// The operator ends the conference: the guest's PNG goes, rows and
	// pages; the kept PDF stays.
	op.eval(`window.confirm = () => true, document.getElementById('end').click(), true`, new(bool))
	waitFor(t, 10*time.Second, "the room to be gone", func() bool { return srv.Engine.Lookup(number) == nil })
	waitFor(t, 10*time.Second, "the guest's file to be deleted", func() bool {
		n, err := srv.DB.CountRoomMaterials(ctx, number)
		_, statErr := os.Stat(docDir)
		return err == nil && n == 0 && os.IsNotExist(statErr)
	})
	if st := admin.get("/api/materials/" + keptID); st != http.StatusOK {
		t.Errorf("the kept file after the end: %d, want 200", st)
	}
	if st := httpStatus(t, base+shown.URL); st != http.StatusNotFound {
		t.Errorf("the dropped page after the end: %d, want 404", st)
	}
}

// dropFile drops a file onto the conference page, as dragging it from the
// desktop would: dragover then drop events carrying a DataTransfer.
func (p *participant) dropFile(name, typ string, data []byte) {
	p.t.Helper()
	p.eval(fmt.Sprintf(`(() => {
		const bytes = Uint8Array.from(atob(%q), c => c.charCodeAt(0));
		const dt = new DataTransfer();
		dt.items.add(new File([bytes], %q, {type: %q}));
		const target = document.getElementById('material');
		target.dispatchEvent(new DragEvent('dragover', {bubbles: true, cancelable: true, dataTransfer: dt}));
		target.dispatchEvent(new DragEvent('drop', {bubbles: true, cancelable: true, dataTransfer: dt}));
		return true;
	})()`, base64.StdEncoding.EncodeToString(data), name, typ), new(bool))
}

// pickDropFile gives the drop zone's file input a file, the accessible way
// to drop one.
func (p *participant) pickDropFile(name, typ string, data []byte) {
	p.t.Helper()
	p.pickInto("drop-file", name, typ, data)
}

// makePNG encodes a w×h test image: a gradient, so it is not blank.
func makePNG(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{R: uint8(x * 255 / w), G: uint8(y * 255 / h), B: 128, A: 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
