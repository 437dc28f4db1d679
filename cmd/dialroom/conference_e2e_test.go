package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/dialroom/dialroom/e2e"
)

// Each participant's fake microphone plays its own tone, so a receiver can tell
// who it hears.
const (
	toneOperator = 440.0
	toneGuest1   = 660.0
	toneGuest2   = 880.0 // declined: must be heard by nobody
	toneGuest3   = 1000.0
)

var allTones = []float64{toneOperator, toneGuest1, toneGuest2, toneGuest3}

// participant is one headless Chromium on a dialroom page.
type participant struct {
	t    *testing.T
	name string
	ctx  context.Context
}

func newParticipant(t *testing.T, name string, tone float64) *participant {
	t.Helper()
	wav := filepath.Join(t.TempDir(), name+".wav")
	if err := e2e.WriteToneWAV(wav, tone, 10, 48000, 1); err != nil {
		t.Fatal(err)
	}
	return &participant{t: t, name: name, ctx: e2e.NewBrowser(t, e2e.BrowserOptions{Name: name, FakeAudioWAV: wav})}
}

// run runs chromedp actions with a deadline, failing the test on error.
func (p *participant) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.t.Fatalf("%s: %s: %v", p.name, what, err)
	}
}

// eval evaluates a JavaScript expression (awaiting a promise) into out, which
// must be a pointer to something JSON can fill.
func (p *participant) eval(expr string, out any) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
	defer cancel()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[json.RawMessage](expr, chromedp.EvalAwaitPromise))
	if err == nil {
		err = json.Unmarshal(raw, out)
	}
	if err != nil {
		p.t.Fatalf("%s: eval %s: %v", p.name, expr, err)
	}
}

// waitFor polls a boolean JavaScript expression until it is true.
func (p *participant) waitFor(what, expr string, timeout time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("!!("+expr+")"))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			state, _ := chromedp.Run(p.ctx, chromedp.Evaluate[string](`JSON.stringify({state: window.dialroom && window.dialroom.state, received: window.dialroom && window.dialroom.received, lastError: window.dialroom && window.dialroom.lastError, status: (document.getElementById('status')||{}).textContent})`))
			p.t.Fatalf("%s: timed out waiting for %s (%s): err=%v page=%s", p.name, what, expr, err, state)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// memberID returns the id of the member named name as this page knows it.
func (p *participant) memberID(name string) string {
	p.t.Helper()
	var id string
	p.eval(fmt.Sprintf(`(window.dialroom.members.find(m => m.name === %q) || {}).id || ""`, name), &id)
	if id == "" {
		p.t.Fatalf("%s: no member named %q", p.name, name)
	}
	return id
}

// hears analyses what this page receives from one member and returns it.
func (p *participant) hears(memberID string) e2e.Spectrum {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
	defer cancel()
	sp, err := e2e.AnalyseAudio(ctx, fmt.Sprintf(`document.querySelector('audio[data-member-id=%q]')`, memberID), allTones, 1500*time.Millisecond)
	if err != nil {
		p.t.Fatalf("%s: analysing audio of %s: %v", p.name, memberID, err)
	}
	return sp
}

// expectTone checks that sp carries want as its dominant tone, loud enough, and
// no other participant's tone within 20 dB of it.
func expectTone(t *testing.T, who string, sp e2e.Spectrum, want float64) {
	t.Helper()
	if math.Abs(sp.DominantHz-want) > 15 {
		t.Errorf("%s: dominant %.1f Hz, want %.0f Hz (%s)", who, sp.DominantHz, want, sp)
	}
	level := sp.Levels[want]
	if level < -40 {
		t.Errorf("%s: %.0f Hz at %.1f dBFS, want louder than -40 dBFS (%s)", who, want, level, sp)
	}
	for _, f := range allTones {
		if f != want && sp.Levels[f] > level-20 {
			t.Errorf("%s: %.0f Hz at %.1f dBFS is within 20 dB of the wanted %.0f Hz (%s)", who, f, sp.Levels[f], want, sp)
		}
	}
}

// TestBrowserConference drives the whole browser journey of issue 2: the
// operator logs in, issues a number and opens the conference; guest 1 is
// admitted, guest 2 declined, guest 3 admitted; every admitted browser hears the
// others' tones and the declined one receives nothing; then mute and remove.
func TestBrowserConference(t *testing.T) {
	e2e.RequireChromium(t)
	srv := startServer(t, "", nil)
	if srv.AdminPassword == "" {
		t.Fatalf("first start printed no admin password:\n%s", srv.stdout)
	}
	base := srv.URL()

	op := newParticipant(t, "operator", toneOperator)
	g1 := newParticipant(t, "guest1", toneGuest1)
	g2 := newParticipant(t, "guest2", toneGuest2)
	g3 := newParticipant(t, "guest3", toneGuest3)

	// The operator logs in with the printed password and issues a number.
	number := op.openConference(base, srv.AdminPassword)
	if len(number) != 11 || !strings.HasPrefix(number, "0") || number[2] != '0' {
		t.Fatalf("issued number %q is not 0X0XXXXXXXX", number)
	}

	// Guests type the number in different common forms.
	fullWidth := toFullWidth(number[:3]) + "－" + toFullWidth(number[3:7]) + "－" + toFullWidth(number[7:])
	forms := map[*participant]string{
		g1: number[:3] + "-" + number[3:7] + "-" + number[7:],
		g2: number[:3] + " " + number[3:7] + " " + number[7:],
		g3: fullWidth,
	}
	names := map[*participant]string{g1: "Guest One", g2: "Guest Two", g3: "Guest Three"}
	join := func(g *participant) {
		g.run("join",
			chromedp.Navigate(base+"/join?testaudio=1"),
			chromedp.WaitVisible(chromedp.CSS("#number")),
			chromedp.SendKeys(chromedp.CSS("#number"), forms[g]),
			chromedp.SendKeys(chromedp.CSS("#name"), names[g]),
			chromedp.Click(chromedp.CSS("#join")),
		)
		g.waitFor("waiting", `window.dialroom && window.dialroom.state === 'waiting'`, 10*time.Second)
		// First-audio probe for the admission latency measurement.
		g.eval(`(() => { window.__firstAudioAt = 0; setInterval(async () => {
			const pc = window.dialroom.pc; if (!pc || window.__firstAudioAt) return;
			(await pc.getStats()).forEach(r => { if (r.type === 'inbound-rtp' && r.kind === 'audio' && r.packetsReceived > 0 && !window.__firstAudioAt) window.__firstAudioAt = Date.now(); });
		}, 5); return true; })()`, new(bool))
	}
	// requestID waits until the operator's lobby shows the named guest with
	// their address, and returns the request id.
	requestID := func(name string) string {
		op.waitFor("lobby entry "+name, fmt.Sprintf(`window.dialroom.lobby.some(r => r.name === %q && r.address === '127.0.0.1')`, name), 10*time.Second)
		var id string
		op.eval(fmt.Sprintf(`window.dialroom.lobby.find(r => r.name === %q).id`, name), &id)
		op.waitFor("lobby row "+name, fmt.Sprintf(`document.querySelector('[data-request-id=%q] .admit')`, id), 5*time.Second)
		return id
	}
	var admitLatencies []time.Duration
	admit := func(g *participant) {
		id := requestID(names[g])
		var clickedAt float64
		op.eval(fmt.Sprintf(`(() => { const t = Date.now(); document.querySelector('[data-request-id=%q] .admit').click(); return t; })()`, id), &clickedAt)
		g.waitFor("admitted", `window.dialroom.state === 'in'`, 10*time.Second)
		g.waitFor("first audio packet", `window.__firstAudioAt > 0`, 10*time.Second)
		var firstAt float64
		g.eval(`window.__firstAudioAt`, &firstAt)
		admitLatencies = append(admitLatencies, time.Duration(firstAt-clickedAt)*time.Millisecond)
	}

	join(g1)
	admit(g1)
	// Claims 3–7: the admitted guest learns the operator's identification, and
	// the operator learns the guest's.
	g1.waitFor("operator identification", `window.dialroom.operator && window.dialroom.operator.role === 'operator' && window.dialroom.operator.name !== ''`, 5*time.Second)
	op.waitFor("guest 1 member", `window.dialroom.members.some(m => m.name === 'Guest One' && m.address === '127.0.0.1')`, 5*time.Second)

	join(g2)
	id2 := requestID(names[g2])
	op.run("decline", chromedp.Click(chromedp.CSS(fmt.Sprintf(`[data-request-id=%q] .decline`, id2))))
	g2.waitFor("declined", `window.dialroom.state === 'declined'`, 10*time.Second)

	join(g3)
	admit(g3)
	// Claim 4: the earlier guest learns of the newcomer and the newcomer of the
	// earlier guest.
	g1.waitFor("guest 3 joined", `window.dialroom.members.some(m => m.name === 'Guest Three')`, 5*time.Second)
	g3.waitFor("guest 1 listed", `window.dialroom.members.some(m => m.name === 'Guest One')`, 5*time.Second)
	// Guests see each other's addresses masked; only the operator sees them whole.
	g3.waitFor("guest 1's address masked", `window.dialroom.members.some(m => m.name === 'Guest One' && m.address === '127.0.0.x')`, 5*time.Second)

	// The declined guest got no media and no member information, ever.
	var g2view struct {
		PC       bool     `json:"pc"`
		Members  int      `json:"members"`
		Audio    int      `json:"audio"`
		Received []string `json:"received"`
	}
	g2.eval(`({pc: !!window.dialroom.pc, members: (window.dialroom.members || []).length, audio: document.querySelectorAll('audio[data-member-id]').length, received: window.dialroom.received})`, &g2view)
	if g2view.PC || g2view.Members != 0 || g2view.Audio != 0 {
		t.Errorf("declined guest has pc=%v members=%d audio elements=%d", g2view.PC, g2view.Members, g2view.Audio)
	}
	for _, typ := range g2view.Received {
		switch typ {
		case "admitted", "member_joined", "member_left", "member_updated", "offer", "tracks", "talking", "candidate":
			t.Errorf("declined guest received %q (all: %v)", typ, g2view.Received)
		}
	}

	// Every admitted browser hears each other admitted member's tone on that
	// member's stream, and nobody hears guest 2.
	opID, g1ID, g3ID := g1.operatorID(), op.memberID("Guest One"), op.memberID("Guest Three")
	listen := map[*participant]map[string]float64{
		op: {g1ID: toneGuest1, g3ID: toneGuest3},
		g1: {opID: toneOperator, g3ID: toneGuest3},
		g3: {opID: toneOperator, g1ID: toneGuest1},
	}
	for _, p := range []*participant{op, g1, g3} {
		for id, tone := range listen[p] {
			p.waitFor("audio element "+id, fmt.Sprintf(`document.querySelector('audio[data-member-id=%q]')`, id), 10*time.Second)
			sp := p.hears(id)
			t.Logf("%s hears %s: %s", p.name, id, sp)
			expectTone(t, fmt.Sprintf("%s hearing %s", p.name, id), sp, tone)
		}
	}

	// Video: guest 1 turns the camera on; the others receive decodable frames
	// and see guest 1 marked as sending video.
	g1.run("camera on", chromedp.Click(chromedp.CSS("#camera")))
	for _, p := range []*participant{op, g3} {
		p.waitFor("guest 1 video frames", fmt.Sprintf(`(() => { const v = document.querySelector('video[data-member-id=%q]'); return v && v.videoWidth > 0 && v.videoHeight > 0; })()`, g1ID), 15*time.Second)
		p.waitFor("guest 1 camera flag", fmt.Sprintf(`window.dialroom.members.some(m => m.id === %q && m.camera)`, g1ID), 5*time.Second)
	}

	// Talking indicator: the operator's console marks talking members.
	op.waitFor("talking indicator", fmt.Sprintf(`document.querySelector('#members [data-member-id=%q].talking')`, g1ID), 5*time.Second)

	// DIALROOM_SCREENSHOTS=DIR keeps what the operator and a guest see, for
	// people reviewing the UI.
	if dir := os.Getenv("DIALROOM_SCREENSHOTS"); dir != "" {
		for _, p := range []*participant{op, g1} {
			png, err := chromedp.Run(p.ctx, chromedp.CaptureScreenshot())
			if err == nil {
				err = os.WriteFile(filepath.Join(dir, p.name+".png"), png, 0o644)
			}
			if err != nil {
				t.Logf("screenshot of %s: %v", p.name, err)
			}
		}
	}

	// Mute: the operator mutes guest 1; guest 3 stops hearing them.
	op.run("mute guest 1", chromedp.Click(chromedp.CSS(fmt.Sprintf(`#members [data-member-id=%q] .mute`, g1ID))))
	g3.waitFor("guest 1 shown muted", fmt.Sprintf(`window.dialroom.members.some(m => m.id === %q && m.muted)`, g1ID), 5*time.Second)
	// Let the audio already in flight and the receiver's loss concealment
	// (which stretches the last packets for a while) play out.
	time.Sleep(time.Second)
	if sp := g3.hears(g1ID); sp.Levels[toneGuest1] > -45 {
		t.Errorf("guest 3 still hears muted guest 1 (want 660 Hz below -45 dBFS, it was about -12 before): %s", sp)
	}

	// Remove: guest 3 is told and leaves everyone's member list.
	op.run("remove guest 3", chromedp.Click(chromedp.CSS(fmt.Sprintf(`#members [data-member-id=%q] .remove`, g3ID))))
	g3.waitFor("removed", `window.dialroom.state === 'removed'`, 5*time.Second)
	g1.waitFor("guest 3 gone", fmt.Sprintf(`!window.dialroom.members.some(m => m.id === %q)`, g3ID), 5*time.Second)

	// A wrong number gets the one clear answer, and the operator sees nothing.
	g2.run("wrong number",
		chromedp.Navigate(base+"/join?testaudio=1"),
		chromedp.WaitVisible(chromedp.CSS("#number")),
		chromedp.SendKeys(chromedp.CSS("#number"), wrongNumber(number)),
		chromedp.Click(chromedp.CSS("#join")),
	)
	g2.waitFor("not found", `window.dialroom.lastError && window.dialroom.lastError.code === 'not_found'`, 10*time.Second)
	g2.waitFor("message shown", `document.getElementById('status').textContent.includes('not valid')`, 5*time.Second)

	// A guest closing the tab leaves within seconds.
	g1.run("close tab", chromedp.Navigate("about:blank"))
	op.waitFor("guest 1 left", fmt.Sprintf(`!window.dialroom.members.some(m => m.id === %q)`, g1ID), 5*time.Second)

	// The console's recent calls show the guests masked: the declined guest,
	// the removed one and the one who closed the tab.
	op.run("reload console", chromedp.Navigate(base+"/console?testaudio=1"))
	op.waitFor("call history", `document.querySelectorAll('#calls tr').length >= 3 && [...document.querySelectorAll('#calls tr')].some(r => r.textContent.includes('declined') && r.textContent.includes('127.0.0.x'))`, 10*time.Second)
	var history string
	op.eval(`document.getElementById('calls').textContent`, &history)
	for _, name := range []string{"Guest One", "Guest Two", "Guest Three"} {
		if strings.Contains(history, name) {
			t.Errorf("the call history shows a guest's name %q: %s", name, history)
		}
	}

	sort.Slice(admitLatencies, func(i, j int) bool { return admitLatencies[i] < admitLatencies[j] })
	t.Logf("admit click → first audio packet in the guest's browser: %v", admitLatencies)
	for _, d := range admitLatencies {
		if d > 3*time.Second {
			t.Errorf("admission to first audio took %v", d)
		}
	}
	if raw, err := json.Marshal(admitLatencies); err == nil {
		t.Logf("ADMIT_LATENCY_MS %s", strings.ReplaceAll(string(raw), "000000", ""))
	}
}

// openConference logs in to the console as admin, issues a number, opens its
// conference and returns the number.
func (p *participant) openConference(base, password string) string {
	p.t.Helper()
	p.run("login",
		chromedp.Navigate(base+"/console?testaudio=1"),
		chromedp.WaitVisible(chromedp.CSS("#login")),
		chromedp.SendKeys(chromedp.CSS("#login"), "admin"),
		chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.Click(chromedp.CSS("#login-button")),
		chromedp.WaitVisible(chromedp.CSS("#issue-number")),
		chromedp.Click(chromedp.CSS("#issue-number")),
	)
	p.waitFor("issued number", `document.querySelector('#numbers li[data-number]')`, 10*time.Second)
	var number string
	p.eval(`document.querySelector('#numbers li[data-number]').dataset.number`, &number)
	// A click by script, not by coordinates: the console's panels (phone
	// lines, softphone, library, cards) load after the number is issued and
	// move the list, so a mouse click aimed a moment earlier can miss.
	var clicked bool
	p.eval(fmt.Sprintf(`(() => { const b = document.querySelector('#numbers li[data-number=%q] .host'); if (!b) return false; b.click(); return true; })()`, number), &clicked)
	if !clicked {
		p.t.Fatalf("%s: no open button for %s", p.name, number)
	}
	p.waitFor("hosting", `window.dialroom && window.dialroom.state === 'in'`, 10*time.Second)
	return number
}

// operatorID returns the operator's member id as a guest page knows it.
func (p *participant) operatorID() string {
	p.t.Helper()
	var id string
	p.eval(`(window.dialroom.operator || {}).id || ""`, &id)
	if id == "" {
		p.t.Fatalf("%s: no operator identification", p.name)
	}
	return id
}

func toFullWidth(s string) string {
	var b strings.Builder
	for _, r := range s {
		b.WriteRune('０' + (r - '0'))
	}
	return b.String()
}

// wrongNumber returns a number that differs from n in its last digit.
func wrongNumber(n string) string {
	last := n[len(n)-1]
	return n[:len(n)-1] + string('0'+(last-'0'+1)%10)
}
