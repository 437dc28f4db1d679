package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/dialroom/dialroom/configs"
	"github.com/dialroom/dialroom/e2e"
)

// The carrier account of dialroom's trunk in the dial-out test.
const (
	dialTrunkUser = "dialroom"
	dialTrunkPass = "s3cret"
)

// dialoutDialplan registers dialroom's trunk at the carrier and lets
// operators call mobiles through it; NaviDial is denied by name.
func dialoutDialplan(carrier string) string {
	return fmt.Sprintf(`
trunks:
  - name: carrier
    registrar: sip:%s
    username: %s
    password: %s
    register_interval: 1m
    sources: ["127.0.0.1"]
dialout:
  rules:
    - name: no-navidial
      deny: _0570XXXXXX
    - name: mobiles
      allow: _0X0XXXXXXXX
      trunk: carrier
`, carrier, dialTrunkUser, dialTrunkPass)
}

// TestDialoutFromConsole is issue 4's dial-out journey: the operator, in
// headless Chromium, calls a phone from the console. A NaviDial number is
// refused with the policy's reason and no INVITE leaves dialroom; a mobile
// number goes out through the trunk registered at the Kamailio carrier
// (digest auth on the INVITE), rings the baresip phone the carrier routes it
// to, which answers; the console shows ringing then answered, the phone is
// in the room at once (no lobby), the browser hears the phone's 1 kHz and the
// phone the browser's 440 Hz. The operator then removes the phone (BYE), and
// the call record keeps the masked number and the dial-out rule.
func TestDialoutFromConsole(t *testing.T) {
	e2e.RequireChromium(t)
	e2e.RequireBaresip(t)
	dir := t.TempDir()
	carrier := e2e.StartCarrier(t, e2e.CarrierOptions{Users: map[string]string{dialTrunkUser: dialTrunkPass}, QOP: true})

	phoneWAV := filepath.Join(dir, "phone1000.wav")
	if err := e2e.WriteToneWAV(phoneWAV, toneGuest3, 60, 8000, 1); err != nil {
		t.Fatal(err)
	}
	phone := e2e.StartPhone(t, e2e.PhoneOptions{Name: "pstn", AudioWAV: phoneWAV, AutoAnswer: true})
	carrier.RoutePSTN("+8190555", phone.URI()) // 090-555… in E.164

	plan := filepath.Join(dir, "dialplan.yaml")
	if err := os.WriteFile(plan, []byte(dialoutDialplan(carrier.Addr())), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, "", func(c *configs.Config) { c.Dialplan = plan })
	if srv.SIP == nil {
		t.Fatal("SIP is not running")
	}
	if _, err := carrier.WaitRegistered(dialTrunkUser, 10*time.Second); err != nil {
		t.Fatal(err)
	}

	op := newParticipant(t, "operator", toneOperator)
	op.openConference(srv.URL(), srv.AdminPassword)
	op.waitFor("dial form", `!document.getElementById('dial-button').disabled`, 5*time.Second)

	// Refused by the policy: the reason in the console, nothing sent.
	dial := func(number string) {
		op.run("dial "+number,
			chromedp.SetValue(chromedp.CSS("#dial-number"), number),
			chromedp.Click(chromedp.CSS("#dial-button")))
	}
	dial("0570-123-456")
	op.waitFor("refusal", `document.querySelector('#dial-calls li[data-state="refused"]')`, 5*time.Second)
	var refusal string
	op.eval(`document.querySelector('#dial-calls li[data-state="refused"]').textContent`, &refusal)
	t.Logf("console: %s", refusal)
	if !strings.Contains(refusal, `rule "no-navidial"`) {
		t.Errorf("refusal %q, want the policy's reason naming rule no-navidial", refusal)
	}
	if _, err := phone.WaitEvent("CALL_INCOMING", time.Second); err == nil {
		t.Error("the phone got a call for a refused number")
	}
	if n := srv.SIP.OutboundInvites(); n != 0 {
		t.Fatalf("%d INVITEs left dialroom for a refused number, want 0", n)
	}

	// Allowed: ringing, answered, in the room.
	start := time.Now()
	dial("090-5550-0001")
	op.waitFor("answered", `[...window.dialroomDial.calls.values()].some(c => c.state === 'answered')`, 15*time.Second)
	t.Logf("answered %v after the click", time.Since(start).Round(time.Millisecond))
	var history []string
	op.eval(`[...window.dialroomDial.calls.values()].find(c => c.state === 'answered').history`, &history)
	t.Logf("console states: %v", history)
	if len(history) < 2 || history[len(history)-1] != "answered" || !slices.Contains(history, "ringing") {
		t.Errorf("console states %v, want ringing before answered", history)
	}
	if n := srv.SIP.OutboundInvites(); n != 1 {
		t.Errorf("%d calls placed, want 1", n)
	}
	if _, err := phone.WaitEvent("CALL_ESTABLISHED", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	op.waitFor("phone member", `window.dialroom.members.some(m => m.kind === 'phone' && m.address === '090-****-0001')`, 10*time.Second)
	var phoneID string
	op.eval(`window.dialroom.members.find(m => m.kind === 'phone').id`, &phoneID)
	var lobby int
	op.eval(`window.dialroom.lobby.length`, &lobby)
	if lobby != 0 {
		t.Errorf("%d in the lobby: an operator-placed call needs no approval", lobby)
	}

	op.waitFor("phone audio element", fmt.Sprintf(`document.querySelector('audio[data-member-id=%q]')`, phoneID), 10*time.Second)
	// Jitter buffers fill and the mix settles within a second or two; on a
	// loaded machine the page may need longer before its analyser runs.
	time.Sleep(1500 * time.Millisecond)
	sp := op.hears(phoneID)
	for deadline := time.Now().Add(15 * time.Second); sp.Levels[toneGuest3] < -40 && time.Now().Before(deadline); {
		t.Logf("browser hears the phone: %s; measuring again", sp)
		sp = op.hears(phoneID)
	}
	t.Logf("browser hears the phone: %s", sp)
	expectTone(t, "browser hearing the phone", sp, toneGuest3)

	// The operator removes the phone member: BYE to the phone.
	op.run("remove phone", chromedp.Click(chromedp.CSS(fmt.Sprintf(`#members li[data-member-id=%q] .remove`, phoneID))))
	if _, err := phone.WaitEvent("CALL_CLOSED", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	op.waitFor("call ended", `[...window.dialroomDial.calls.values()].some(c => c.state === 'ended')`, 5*time.Second)
	op.waitFor("phone left", `!window.dialroom.members.some(m => m.kind === 'phone')`, 5*time.Second)
	checkPhoneHeard(t, phone, toneOperator, toneGuest3)

	// Released: no call, no RTP port held.
	deadline := time.Now().Add(5 * time.Second)
	for srv.SIP.DialingCalls() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d dial-out calls still held", srv.SIP.DialingCalls())
		}
		time.Sleep(50 * time.Millisecond)
	}

	if n := srv.metric(t, "dialroom_dialout_invites_total"); n != 1 {
		t.Errorf("dialroom_dialout_invites_total %d, want 1 (the refused number sent none)", n)
	}
	if n := srv.metric(t, "dialroom_dialout_calls"); n != 0 {
		t.Errorf("dialroom_dialout_calls %d after the call ended, want 0", n)
	}

	// The call record: masked number, the dial-out rule, answered.
	c := waitCallRecord(t, srv, func(c callRecordJSON) bool { return c.Kind == "phone" && c.Outcome == "answered" })
	if c.Party != "090-****-0001" || c.Rule != "mobiles" {
		t.Errorf("dial-out record %+v, want 090-****-0001 by rule mobiles", c)
	}
}

// checkPhoneHeard fails the test unless the phone's recording of its call
// holds want as the dominant tone above -30 dBFS, and its own tone notWant
// at least 20 dB below (no echo).
func checkPhoneHeard(t *testing.T, p *e2e.Phone, want, notWant float64) {
	t.Helper()
	const skip = 500 * time.Millisecond
	path := p.Recorded()
	if path == "" {
		t.Errorf("%s: no recording", p.Name())
		return
	}
	level, err := e2e.ToneLevel(path, want, skip)
	if err != nil {
		t.Fatal(err)
	}
	own, err := e2e.ToneLevel(path, notWant, skip)
	if err != nil {
		t.Fatal(err)
	}
	hz, hzLevel, err := e2e.DominantFrequency(path, skip)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s heard %g Hz at %.1f dBFS, its own %g Hz at %.1f dBFS; dominant %.1f Hz at %.1f dBFS",
		p.Name(), want, level, notWant, own, hz, hzLevel)
	if level < -30 {
		t.Errorf("%s: %g Hz at %.1f dBFS, want above -30", p.Name(), want, level)
	}
	if math.Abs(hz-want) > 2 {
		t.Errorf("%s: dominant %.1f Hz, want %g", p.Name(), hz, want)
	}
	if own > level-20 {
		t.Errorf("%s: hears itself (%g Hz at %.1f dBFS) within 20 dB of the room", p.Name(), notWant, own)
	}
}
