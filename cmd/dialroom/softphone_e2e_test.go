package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/dialroom/dialroom/configs"
	"github.com/dialroom/dialroom/e2e"
)

// softphoneDialplan has a carrier elsewhere (127.0.0.3): the softphones of
// this test, on 127.0.0.1, are no trunk and must authenticate.
const softphoneDialplan = `
trunks:
  - name: carrier
    registrar: sip:127.0.0.3:5060
    register_interval: 0
    sources: ["127.0.0.3"]
    dids: ["_0X0XXXXXXXX"]
routes:
  - name: direct-dial
    to: "_0X0XXXXXXXX"
    action: conference
`

// TestSoftphoneOperator is issue 4's softphone journey with a real
// softphone (baresip): the admin sets the operator's softphone password with
// the CLI, the softphone registers with digest auth, calls the operator's
// issued number and is in the conference as the operator at once (no
// lobby); the browser in the room hears the softphone's 1 kHz tone and the
// softphone hears the browser's 660 Hz. A softphone with a wrong password
// cannot register and its call is refused.
func TestSoftphoneOperator(t *testing.T) {
	e2e.RequireChromium(t)
	e2e.RequireBaresip(t)
	dir := t.TempDir()
	plan := filepath.Join(dir, "dialplan.yaml")
	if err := os.WriteFile(plan, []byte(softphoneDialplan), 0o644); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	srv := startServer(t, data, func(c *configs.Config) { c.Dialplan = plan })
	if srv.SIP == nil {
		t.Fatal("SIP is not running")
	}
	sipAddr := srv.SIP.UDPAddrs()[0].String()

	// The operator's console is open in a browser saying 660 Hz; the
	// operator sets their softphone password in its Softphone panel (the
	// admin could with `dialroom operator sip-password`, TestOperatorCommands).
	op := newParticipant(t, "operator", toneGuest1)
	number := op.openConference(srv.URL(), srv.AdminPassword)
	const softPassword = "softphone-pass-4711"
	op.waitFor("softphone panel", `!document.getElementById('softphone-panel').hidden && document.querySelector('.softphone-state').textContent.includes('no softphone password')`, 10*time.Second)
	op.run("set the softphone password",
		chromedp.SendKeys(chromedp.CSS(`#softphone-password`), softPassword),
		chromedp.SendKeys(chromedp.CSS(`#softphone-current`), srv.AdminPassword),
		chromedp.Click(chromedp.CSS(`.softphone-save`)))
	op.waitFor("softphone password saved", `document.querySelector('.softphone-note').textContent.includes('saved')`, 10*time.Second)
	var user string
	op.eval(`document.querySelector('.softphone-user').textContent`, &user)
	if user != "admin" {
		t.Errorf("the panel names the user %q, want admin", user)
	}

	toneWAV := filepath.Join(dir, "1000.wav")
	if err := e2e.WriteToneWAV(toneWAV, 1000, 60, 8000, 1); err != nil {
		t.Fatal(err)
	}
	const eventTimeout = 15 * time.Second
	wrong := e2e.StartPhone(t, e2e.PhoneOptions{Name: "wrong", User: "admin", Password: "guessing", Registrar: sipAddr})
	if e, err := wrong.WaitEvent("REGISTER_FAIL", eventTimeout); err != nil || !strings.Contains(e.Param, "403") {
		t.Errorf("a wrong softphone password: %v %v, want REGISTER_FAIL with 403", e, err)
	}
	wrong.Dial(fmt.Sprintf("sip:%s@%s", number, sipAddr))
	if e, err := wrong.WaitEvent("CALL_CLOSED", eventTimeout); err != nil || !strings.HasPrefix(e.Param, "403") {
		t.Errorf("a call with a wrong password: %v %v, want closed with 403", e, err)
	}
	wrong.Stop() // before its failures lock the address out for the right one

	soft := e2e.StartPhone(t, e2e.PhoneOptions{Name: "softphone", User: "admin", Password: softPassword, Registrar: sipAddr, AudioWAV: toneWAV})
	if _, err := soft.WaitEvent("REGISTER_OK", eventTimeout); err != nil {
		t.Fatal(err)
	}
	if regs := srv.SIP.Registrations(); len(regs) != 1 || regs[0].User != "admin" {
		t.Errorf("registrations: %+v, want admin's softphone", regs)
	}
	op.waitFor("the console shows the softphone registered", `document.querySelector('.softphone-state').dataset.registered === 'true'`, 10*time.Second)
	if n := srv.metric(t, "dialroom_softphone_bindings"); n != 1 {
		t.Errorf("dialroom_softphone_bindings %d, want 1", n)
	}
	if n := srv.metric(t, "dialroom_sip_auth_failures_total"); n < 2 {
		t.Errorf("dialroom_sip_auth_failures_total %d, want the wrong softphone's REGISTER and INVITE", n)
	}
	soft.Dial(fmt.Sprintf("sip:%s@%s", number, sipAddr))
	if _, err := soft.WaitEvent("CALL_ESTABLISHED", eventTimeout); err != nil {
		t.Fatal(err)
	}
	// In the room as the operator, straight away: nothing in the lobby.
	op.waitFor("softphone member", `window.dialroom.members.some(m => m.kind === 'phone' && m.role === 'operator')`, 10*time.Second)
	var lobby int
	op.eval(`window.dialroom.lobby.length`, &lobby)
	if lobby != 0 {
		t.Errorf("the operator's own softphone waited in the lobby (%d requests)", lobby)
	}
	var softID string
	op.eval(`window.dialroom.members.find(m => m.kind === 'phone').id`, &softID)
	op.waitFor("softphone audio element", fmt.Sprintf(`document.querySelector('audio[data-member-id=%q]')`, softID), 10*time.Second)
	time.Sleep(1500 * time.Millisecond)
	sp := op.hears(softID)
	t.Logf("browser hears the softphone: %s", sp)
	expectTone(t, "browser hearing the softphone", sp, toneGuest3) // 1000 Hz
	time.Sleep(time.Second)

	path := hangUpRecording(t, op, soft, eventTimeout)
	heard, err := e2e.ToneLevel(path, toneGuest1, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	own, err := e2e.ToneLevel(path, 1000, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("softphone heard the browser's %.0f Hz at %.1f dBFS, its own 1000 Hz at %.1f dBFS", toneGuest1, heard, own)
	if heard < -30 {
		t.Errorf("the softphone hears the browser at %.1f dBFS, want above -30", heard)
	}
	if own > heard-20 {
		t.Errorf("the softphone hears itself (%.1f dBFS) within 20 dB of the room (%.1f dBFS)", own, heard)
	}
	if !strings.Contains(srv.logs.String(), `msg="sip: authentication failed"`) {
		t.Error("the wrong password left no fail2ban line in the log")
	}
}

// hangUpRecording hangs the softphone's call up, waits until the console
// shows no phone member any more, and returns the WAV the softphone
// recorded of the call.
func hangUpRecording(t *testing.T, op *participant, soft *e2e.Phone, timeout time.Duration) string {
	t.Helper()
	soft.Hangup()
	if _, err := soft.WaitEvent("CALL_CLOSED", timeout); err != nil {
		t.Fatal(err)
	}
	op.waitFor("softphone left", `!window.dialroom.members.some(m => m.kind === 'phone')`, 10*time.Second)
	path := soft.Recorded()
	if path == "" {
		t.Fatal("the softphone recorded nothing")
	}
	return path
}
