package main

import (
	"fmt"
	"math"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/dialroom/dialroom/configs"
	"github.com/dialroom/dialroom/e2e"
)

// TestMaterialsRoomBrowser is issue 5's "Select" and "Synchronised view" in
// real browsers (patent claims 9–10): the operator uploads a generated
// 3-page PDF to the library and shares it in the conference; the operator
// and a guest both show page 1 as an image of the converted size; the
// presenter's page turns reach the others; a late joiner shows the current
// page; a guest selects the document and presents, and the operator takes
// the pages back; page URLs are refused (404) to anyone not in the room —
// no token, a made-up token, and a member who left.
func TestMaterialsRoomBrowser(t *testing.T) {
	srv, op, g1, number := startMaterialsRoom(t, func(op *participant) {
		op.pickFile("deck.pdf", "application/pdf", e2e.MakePDF(e2e.Pages(3), false))
		op.waitFor("deck ready", `document.querySelector('li.material[data-state="ready"]')`, 30*time.Second)
	})
	base := srv.URL()
	opID, g1ID := g1.operatorID(), op.memberID("Guest One")

	// The operator picks the document from "Share a document".
	op.run("open picker", chromedp.Click(chromedp.CSS(".material-share")))
	op.waitFor("picker lists the deck", `[...document.querySelectorAll('.material-pick')].some(b => b.textContent.startsWith('deck.pdf'))`, 10*time.Second)
	start := time.Now()
	op.eval(`[...document.querySelectorAll('.material-pick')].find(b => b.textContent.startsWith('deck.pdf')).click(), true`, new(bool))
	for _, p := range []*participant{op, g1} {
		p.waitShowing(1, opID)
	}
	t.Logf("selection to page 1 shown in both browsers: %v", time.Since(start).Round(time.Millisecond))
	var size struct{ W, H int }
	g1.eval(`(() => { const i = document.querySelector('.material-page'); return {W: i.naturalWidth, H: i.naturalHeight}; })()`, &size)
	if size.H != libraryPageSize || size.W < 560 || size.W > 570 {
		t.Errorf("guest's page 1 is %dx%d, want about 565x%d", size.W, size.H, libraryPageSize)
	}
	// The guest is not the presenter: no page buttons.
	g1.waitFor("no page buttons for the guest", `document.querySelector('.material-next').hidden`, 5*time.Second)

	// The operator turns to page 2: everyone shows it.
	op.run("next page", chromedp.Click(chromedp.CSS(".material-next")))
	for _, p := range []*participant{op, g1} {
		p.waitShowing(2, opID)
	}

	// The presenter's pointer: moves made in the operator's page arrive at
	// the guest in order, at the positions made, the last one included.
	checkPointer(t, op, g1, pointerSamples(t))

	// Guest 1 draws a stroke with the pen on page 2: it appears for the
	// operator, in its colour, at its place.
	g1.run("pen", chromedp.Click(chromedp.CSS(`.material-color[data-color="#1e88e5"]`)))
	g1.eval(`(async () => {
		const stage = document.querySelector('.material-stage'), r = document.querySelector('.material-page').getBoundingClientRect();
		const at = (type, x, y) => stage.dispatchEvent(new PointerEvent(type, {bubbles: true, pointerId: 1, clientX: r.left + x * r.width, clientY: r.top + y * r.height}));
		at('pointerdown', 0.2, 0.5);
		for (let i = 1; i <= 20; i++) { at('pointermove', 0.2 + i * 0.03, 0.5); await new Promise(res => setTimeout(res, 5)); }
		at('pointerup', 0.8, 0.5);
		return true;
	})()`, new(bool))
	op.waitStroke("#1e88e5", 0.5, 0.5)

	// A late joiner shows page 2 at once, with the stroke.
	g2 := newParticipant(t, "guest2", toneGuest3)
	g2.joinAndAdmit(op, base, number, "Guest Two")
	g2.waitShowing(2, opID)
	g2.waitStroke("#1e88e5", 0.5, 0.5)

	// Undo takes it away for everyone.
	g1.run("undo", chromedp.Click(chromedp.CSS(".material-undo")))
	for _, p := range []*participant{op, g1, g2} {
		p.waitFor("stroke undone", `window.dialroomMaterial.strokes.length === 0`, 10*time.Second)
	}

	// Guest 1 shares the document themselves and presents: page 1 for
	// all, then page 3; then the operator takes the pages back.
	g1.run("guest opens picker", chromedp.Click(chromedp.CSS(".material-share")))
	g1.waitFor("guest's picker", `document.querySelector('.material-pick')`, 10*time.Second)
	g1.eval(`document.querySelector('.material-pick').click(), true`, new(bool))
	for _, p := range []*participant{op, g1, g2} {
		p.waitShowing(1, g1ID)
	}
	g1.eval(`window.dialroomMaterial.turn(3)`, new(bool))
	for _, p := range []*participant{op, g1, g2} {
		p.waitShowing(3, g1ID)
	}
	op.run("take over", chromedp.Click(chromedp.CSS(".material-take")))
	for _, p := range []*participant{op, g1, g2} {
		p.waitFor("operator presents", fmt.Sprintf(`window.dialroomMaterial.presenter === %q`, opID), 10*time.Second)
	}
	g1.waitFor("guest lost the page buttons", `document.querySelector('.material-next').hidden`, 5*time.Second)

	// Nobody outside the room fetches a page: no token, a made-up token,
	// and guest 1's own URL once guest 1 has left.
	var g1URL string
	g1.eval(`new URL(window.dialroomMaterial.material.page_urls[0], location.href).href`, &g1URL)
	noToken, _, _ := strings.Cut(g1URL, "?")
	madeUp := noToken + "?token=" + strings.Repeat("0", 32)
	if st := httpStatus(t, g1URL); st != http.StatusOK {
		t.Fatalf("guest 1's page URL while in: %d", st)
	}
	g1.eval(`document.getElementById('leave').click(), true`, new(bool))
	op.waitFor("guest 1 gone", fmt.Sprintf(`!window.dialroom.members.some(m => m.id === %q)`, g1ID), 10*time.Second)
	for _, u := range []string{noToken, madeUp, g1URL} {
		if st := httpStatus(t, u); st != http.StatusNotFound {
			t.Errorf("GET %s from outside the room: %d, want 404", u, st)
		}
	}
}

// waitShowing waits until the page shows page n of the shared document,
// loaded, with presenter as the presenter.
func (p *participant) waitShowing(n int, presenter string) {
	p.t.Helper()
	p.waitFor(fmt.Sprintf("page %d shown", n), fmt.Sprintf(`(() => {
		const v = window.dialroomMaterial, img = document.querySelector('.material-page');
		return v && v.material && v.page === %d && v.presenter === %q && v.loaded === %d &&
			img.complete && img.naturalWidth > 0 && !document.querySelector('.material-viewer').hidden;
	})()`, n, presenter, n), 15*time.Second)
}

// waitStroke waits until the page holds one stroke of color and the ink
// canvas is painted in that colour at page position (x, y).
func (p *participant) waitStroke(color string, x, y float64) {
	p.t.Helper()
	p.waitFor("stroke "+color, fmt.Sprintf(`(() => {
		const v = window.dialroomMaterial;
		if (v.strokes.length !== 1 || v.strokes[0].color !== %[1]q) return false;
		const c = document.querySelector('.material-ink');
		if (!c.width) return false;
		const [r, g, b, a] = c.getContext('2d').getImageData(Math.round(%[2]f * c.width), Math.round(%[3]f * c.height), 1, 1).data;
		const hex = '#' + [r, g, b].map(n => n.toString(16).padStart(2, '0')).join('');
		return a === 255 && hex === %[1]q;
	})()`, color, x, y), 10*time.Second)
}

// pointerSamples is how many pointer moves checkPointer makes:
// $DIALROOM_POINTER_SAMPLES for a measurement run, else 100.
func pointerSamples(t *testing.T) int {
	if v := os.Getenv("DIALROOM_POINTER_SAMPLES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 10 {
			t.Fatalf("DIALROOM_POINTER_SAMPLES=%q: want a number ≥ 10", v)
		}
		return n
	}
	return 100
}

// checkPointer moves the presenter's mouse over the page, one move every
// 10 ms (faster than the 40 ms the page sends at, so the page's own
// coalescing runs too), and checks what the viewer received: strictly
// increasing x (order), y as made, the final position last, the pointer dot
// drawn there. It logs the relay latency browser → server → browser
// (median, p99), from the presenter's send to the viewer's receipt (both
// browsers read the same system clock).
func checkPointer(t *testing.T, presenter, viewer *participant, moves int) {
	t.Helper()
	viewer.eval(`(() => {
		window.pointerSeen = [];
		window.dialroom.addEventListener('message', (e) => {
			const m = e.detail;
			if (m.type === 'material_pointer') window.pointerSeen.push({x: m.x, y: m.y, visible: m.visible, at: performance.timeOrigin + performance.now()});
		});
		return true;
	})()`, new(bool))
	var sent []struct{ X, Y, At float64 }
	presenter.eval(fmt.Sprintf(`(async () => {
		const client = window.dialroom, send = client.send.bind(client), sent = [];
		client.send = (m) => {
			if (m.type === 'material_pointer' && m.visible !== false) sent.push({x: m.x, y: m.y, at: performance.timeOrigin + performance.now()});
			return send(m);
		};
		const stage = document.querySelector('.material-stage'), r = document.querySelector('.material-page').getBoundingClientRect();
		const n = %d;
		for (let i = 1; i <= n; i++) {
			const x = 0.05 + 0.9 * i / n, y = 0.25 + 0.5 * (i %% 2);
			stage.dispatchEvent(new PointerEvent('pointermove', {bubbles: true, clientX: r.left + x * r.width, clientY: r.top + y * r.height}));
			await new Promise(res => setTimeout(res, 10));
		}
		await new Promise(res => setTimeout(res, 100)); // the trailing send
		client.send = send;
		return sent;
	})()`, moves), &sent)
	if len(sent) < moves/6 {
		t.Fatalf("the presenter's page sent %d of %d moves", len(sent), moves)
	}
	final := sent[len(sent)-1]
	viewer.waitFor("the final pointer position", fmt.Sprintf(`(() => {
		const s = window.pointerSeen; return s.length && Math.abs(s[s.length-1].x - %f) < 1e-6; })()`, final.X), 10*time.Second)
	var seen []struct {
		X, Y    float64
		Visible bool
		At      float64
	}
	viewer.eval(`window.pointerSeen`, &seen)
	sentAt := map[float64]float64{}
	for _, s := range sent {
		sentAt[s.X] = s.At
	}
	var lat []float64
	for i, s := range seen {
		if i > 0 && s.X <= seen[i-1].X {
			t.Fatalf("pointer out of order: x %v after %v", s.X, seen[i-1].X)
		}
		at, ok := sentAt[s.X]
		if !ok || !s.Visible || (math.Abs(s.Y-0.25) > 1e-3 && math.Abs(s.Y-0.75) > 1e-3) {
			t.Fatalf("received a position never sent: %+v", s)
		}
		lat = append(lat, s.At-at)
	}
	if seen[len(seen)-1].Y != final.Y {
		t.Errorf("final pointer y = %v, want %v", seen[len(seen)-1].Y, final.Y)
	}
	// The dot is drawn at the final position.
	var dot struct{ DX, DY float64 }
	viewer.eval(`(() => { const d = document.querySelector('.material-pointer'), r = d.getBoundingClientRect(), p = document.querySelector('.material-page').getBoundingClientRect();
		if (d.hidden) return {DX: -1, DY: -1};
		return {DX: (r.left + r.width / 2 - p.left) / p.width, DY: (r.top + r.height / 2 - p.top) / p.height}; })()`, &dot)
	if math.Abs(dot.DX-final.X) > 0.01 || math.Abs(dot.DY-final.Y) > 0.01 {
		t.Errorf("pointer dot at (%.3f, %.3f), want (%.3f, %.3f)", dot.DX, dot.DY, final.X, final.Y)
	}
	slices.Sort(lat)
	t.Logf("pointer: %d moves made, %d sent, %d received in order; relay latency median %.1f ms, p99 %.1f ms, max %.1f ms",
		moves, len(sent), len(seen), lat[len(lat)/2], lat[min(len(lat)-1, len(lat)*99/100)], lat[len(lat)-1])
}

// httpStatus GETs url with no cookie and returns the status.
func httpStatus(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// startMaterialsRoom starts a server with small converted pages, opens the
// operator's conference in one browser, runs before (if any) in the
// operator's console, and has "Guest One" join from a second browser and be
// admitted. It fails the test without Chromium or pdftoppm (in CI).
func startMaterialsRoom(t *testing.T, before func(op *participant)) (*testServer, *participant, *participant, string) {
	t.Helper()
	e2e.RequireChromium(t)
	e2e.RequirePoppler(t)
	srv := startServer(t, "", func(c *configs.Config) { c.Materials.PageSize = libraryPageSize })
	op := newParticipant(t, "operator", toneOperator)
	g1 := newParticipant(t, "guest1", toneGuest1)
	number := op.openConference(srv.URL(), srv.AdminPassword)
	if before != nil {
		before(op)
	}
	g1.joinAndAdmit(op, srv.URL(), number, "Guest One")
	return srv, op, g1, number
}
