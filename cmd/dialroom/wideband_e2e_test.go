package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/dialroom/dialroom/configs"
	"github.com/dialroom/dialroom/e2e"
)

// The wideband tones lie above G.711's band (it samples at 8 kHz, so nothing
// above 4 kHz survives it); each side also sends a narrowband tone, which
// shows that the call carries audio at all when the wideband one is missing.
const (
	wbBrowserTone = 5000.0 // the operator's browser, beside toneGuest1 (660 Hz)
	wbPhoneTone   = 6000.0 // the softphone, beside toneGuest3 (1000 Hz)
	// Where the wideband tones would fold to if they were sampled at 8 kHz
	// without a filter before: 8000−6000 and 8000−5000.
	wbPhoneAlias   = 2000.0
	wbBrowserAlias = 3000.0
)

// wbBrowserFreqs are the frequencies measured in what the browser hears.
var wbBrowserFreqs = []float64{toneGuest1, toneGuest3, wbPhoneAlias, wbBrowserAlias, wbBrowserTone, wbPhoneTone}

// wbCallDuration is how long the softphone's WAV lasts: baresip hangs up when
// it ends, and a subtest's call lasts under 10 s.
const wbCallDuration = 30

// wbSkip is the start of the softphone's recording left out of measurements
// (call set-up, jitter buffers filling).
const wbSkip = time.Second

// widebandLevels are what the wideband subtests measured, so that the
// narrowband control can require its levels far below them.
type widebandLevels struct {
	browser, phone []float64 // 6000 Hz in the browser, 5000 Hz on the phone
}

// TestWidebandSoftphone proves wideband audio end to end with real peers: a
// softphone (baresip) offering only G.722 or only Opus registers as the
// operator, calls the operator's number and is in the room at once; the
// operator's browser (Chromium) hears the softphone's 6 kHz tone and the
// softphone hears the browser's 5 kHz tone, both of which G.711 cannot carry.
// The PCMU control makes the same call narrowband: the narrowband tones pass
// both ways but neither wideband tone does, which shows the measurements tell
// wideband from narrowband.
func TestWidebandSoftphone(t *testing.T) {
	e2e.RequireChromium(t)
	e2e.RequireBaresip(t)
	var wide widebandLevels
	for _, c := range []struct {
		codec string
		// rate and channels are what baresip's aufile must be given for the
		// codec (it does not resample), and what its sndfile records at.
		rate, channels int
		wideband       bool
	}{
		// Subtests run in order: the control compares with the levels the
		// wideband ones measured.
		{codec: "G722", rate: 16000, channels: 1, wideband: true},
		{codec: "opus", rate: 48000, channels: 2, wideband: true},
		{codec: "PCMU", rate: 8000, channels: 1},
	} {
		t.Run(c.codec, func(t *testing.T) {
			testWidebandSoftphone(t, c.codec, c.rate, c.channels, c.wideband, &wide)
		})
	}
}

func testWidebandSoftphone(t *testing.T, codec string, rate, channels int, wideband bool, wide *widebandLevels) {
	dir := t.TempDir()
	plan := filepath.Join(dir, "dialplan.yaml")
	if err := os.WriteFile(plan, []byte(softphoneDialplan), 0o644); err != nil {
		t.Fatal(err)
	}
	// Phone voices reach browsers as Opus (the default, stated here because
	// the test depends on it): PCMU towards the browser would be narrowband.
	srv := startServer(t, filepath.Join(dir, "data"), func(c *configs.Config) {
		c.Dialplan = plan
		c.WebRTC.PhoneCodec = configs.PhoneCodecOpus
	})
	if srv.SIP == nil {
		t.Fatal("SIP is not running")
	}
	sipAddr := srv.SIP.UDPAddrs()[0].String()

	// The operator's browser says 660 Hz and 5 kHz; 10 s of both are whole
	// numbers of cycles, so Chromium's loop of the file adds no click.
	micWAV := filepath.Join(dir, "operator.wav")
	if err := e2e.WriteTonesWAV(micWAV, []float64{toneGuest1, wbBrowserTone}, 10, 48000, 1); err != nil {
		t.Fatal(err)
	}
	op := &participant{t: t, name: "operator", ctx: e2e.NewBrowser(t, e2e.BrowserOptions{Name: "operator", FakeAudioWAV: micWAV})}
	number := op.openConference(srv.URL(), srv.AdminPassword)
	const softPassword = "softphone-pass-4711"
	op.waitFor("softphone panel", `!document.getElementById('softphone-panel').hidden && document.querySelector('.softphone-state').textContent.includes('no softphone password')`, 10*time.Second)
	op.run("set the softphone password",
		chromedp.SendKeys(chromedp.CSS(`#softphone-password`), softPassword),
		chromedp.SendKeys(chromedp.CSS(`#softphone-current`), srv.AdminPassword),
		chromedp.Click(chromedp.CSS(`.softphone-save`)))
	op.waitFor("softphone password saved", `document.querySelector('.softphone-note').textContent.includes('saved')`, 10*time.Second)

	// The softphone says 1 kHz and, where its codec's rate allows, 6 kHz.
	phoneTones := []float64{toneGuest3}
	if wbPhoneTone < float64(rate)/2 {
		phoneTones = append(phoneTones, wbPhoneTone)
	}
	phoneWAV := filepath.Join(dir, "softphone.wav")
	if err := e2e.WriteTonesWAV(phoneWAV, phoneTones, wbCallDuration, rate, channels); err != nil {
		t.Fatal(err)
	}
	const eventTimeout = 15 * time.Second
	// The softphone offers only codec.
	soft := e2e.StartPhone(t, e2e.PhoneOptions{Name: "softphone", User: "admin", Password: softPassword, Registrar: sipAddr,
		AudioWAV: phoneWAV, Codecs: []string{codec}})
	if _, err := soft.WaitEvent("REGISTER_OK", eventTimeout); err != nil {
		t.Fatal(err)
	}
	soft.Dial(fmt.Sprintf("sip:%s@%s", number, sipAddr))
	waitEstablished(t, soft, codec, eventTimeout)

	// In the room as the operator, straight away: nothing in the lobby.
	op.waitFor("softphone member", `window.dialroom.members.some(m => m.kind === 'phone' && m.role === 'operator')`, 10*time.Second)
	var lobby int
	op.eval(`window.dialroom.lobby.length`, &lobby)
	if lobby != 0 {
		t.Errorf("the operator's own softphone waited in the lobby (%d requests)", lobby)
	}

	// The codec of the call, as baresip sees it: its audio debug names the
	// encoder and decoder in use ("encode: G722 …").
	if info, err := soft.Command("audio_debug", ""); err != nil {
		t.Errorf("softphone audio_debug: %v", err)
	} else {
		t.Logf("softphone audio_debug:\n%s", info)
		for _, way := range []string{"encode", "decode"} {
			re := regexp.MustCompile(`(?i)` + way + `:\s+` + regexp.QuoteMeta(codec) + `\b`)
			if !re.MatchString(info) {
				t.Errorf("the softphone does not %s %s (audio_debug above)", way, codec)
			}
		}
	}
	// The server's own word on it, for the log (its format is the server's
	// business, so it is not checked).
	for line := range strings.Lines(srv.logs.String()) {
		if strings.Contains(line, `msg="sip: answered"`) {
			t.Logf("server: %s", strings.TrimSpace(line))
		}
	}

	var softID string
	op.eval(`window.dialroom.members.find(m => m.kind === 'phone').id`, &softID)
	op.waitFor("softphone audio element", fmt.Sprintf(`document.querySelector('audio[data-member-id=%q]')`, softID), 10*time.Second)
	time.Sleep(1500 * time.Millisecond) // jitter buffers fill, the mix settles
	ctx, cancel := context.WithTimeout(op.ctx, 20*time.Second)
	sp, err := e2e.AnalyseAudio(ctx, fmt.Sprintf(`document.querySelector('audio[data-member-id=%q]')`, softID), wbBrowserFreqs, 1500*time.Millisecond)
	cancel()
	if err != nil {
		t.Fatalf("analysing what the browser hears of the softphone: %v", err)
	}
	t.Logf("browser hears the softphone: %s", sp)
	if l := sp.Levels[toneGuest3]; l < -40 {
		t.Errorf("the browser hears the softphone's %.0f Hz at %.1f dBFS, want above -40 (%s)", toneGuest3, l, sp)
	}
	browserWide, browserAlias := sp.Levels[wbPhoneTone], sp.Levels[wbPhoneAlias]

	// The console marks a wideband caller HD, and only one.
	var hd bool
	op.eval(`window.dialroom.members.some(m => m.kind === 'phone' && m.hd)`, &hd)
	if hd != wideband {
		t.Errorf("the console marks the softphone HD: %v, want %v", hd, wideband)
	}
	if wideband {
		op.waitFor("the HD badge", `[...document.querySelectorAll('.member .kind')].some(e => e.textContent.includes('HD'))`, 10*time.Second)
	}

	// Keys work on every codec (RFC 4733 telephone-event; with Opus at
	// whichever clock the softphone offered it): *6 mutes the softphone.
	soft.SendDTMF("*6")
	op.waitFor("the softphone muted by *6", `window.dialroom.members.some(m => m.kind === 'phone' && m.muted)`, 10*time.Second)

	heard := analyseRecording(t, hangUpRecording(t, op, soft, eventTimeout), rate)

	t.Logf("%s: browser hears %.0f Hz at %.1f dBFS (%.0f Hz alias %.1f); softphone hears %.0f Hz at %.1f dBFS (%.0f Hz alias %.1f), %.0f Hz at %.1f dBFS",
		codec, wbPhoneTone, browserWide, wbPhoneAlias, browserAlias,
		wbBrowserTone, heard.wide, wbBrowserAlias, heard.alias, toneGuest1, heard.narrow)
	if wideband {
		if browserWide < -40 {
			t.Errorf("the browser hears the softphone's %.0f Hz at %.1f dBFS, want above -40 (%s)", wbPhoneTone, browserWide, sp)
		}
		if browserWide < browserAlias+20 {
			t.Errorf("the browser hears the softphone's %.0f Hz at %.1f dBFS, not 20 dB above its 8 kHz alias %.0f Hz (%.1f dBFS)", wbPhoneTone, browserWide, wbPhoneAlias, browserAlias)
		}
		if heard.wide < -40 {
			t.Errorf("the softphone hears the browser's %.0f Hz at %.1f dBFS, want above -40", wbBrowserTone, heard.wide)
		}
		if heard.wide < heard.alias+20 {
			t.Errorf("the softphone hears the browser's %.0f Hz at %.1f dBFS, not 20 dB above its 8 kHz alias %.0f Hz (%.1f dBFS)", wbBrowserTone, heard.wide, wbBrowserAlias, heard.alias)
		}
		wide.browser = append(wide.browser, browserWide)
		wide.phone = append(wide.phone, heard.wide)
		return
	}
	// The narrowband phone cannot send 6 kHz at all: what the browser
	// measures there is the path's floor, which must stay far below a
	// wideband call's tone for the check above to mean anything.
	if !narrowEnough(browserWide, wide.browser) {
		t.Errorf("narrowband: the browser hears %.0f Hz at %.1f dBFS, want below -45 or 30 dB under the wideband calls' %v", wbPhoneTone, browserWide, wide.browser)
	}
	// The browser still sends 5 kHz; an 8 kHz recording cannot hold it, so
	// it would show at its alias, had the server sampled it down unfiltered.
	phoneWide, at := heard.wide, wbBrowserTone
	if wbBrowserTone >= float64(rate)/2 {
		phoneWide, at = heard.alias, wbBrowserAlias
	}
	if !narrowEnough(phoneWide, wide.phone) {
		t.Errorf("narrowband: the softphone hears the browser's %.0f Hz at %.0f Hz, %.1f dBFS, want below -45 or 30 dB under the wideband calls' %v", wbBrowserTone, at, phoneWide, wide.phone)
	}
}

// waitEstablished waits for the softphone's call to be answered; a call
// closed first (the server refusing the codec with 488, say) fails the test
// at once with baresip's reason.
func waitEstablished(t *testing.T, p *e2e.Phone, codec string, timeout time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); {
		if _, err := p.WaitEvent("CALL_ESTABLISHED", 200*time.Millisecond); err == nil {
			return
		}
		if e, err := p.WaitEvent("CALL_CLOSED", 10*time.Millisecond); err == nil {
			t.Fatalf("the softphone's %s call closed before it was answered: %q", codec, e.Param)
		}
	}
	t.Fatalf("the softphone's %s call was not answered within %v", codec, timeout)
}

// recordingLevels are what a softphone recorded of the room.
type recordingLevels struct {
	narrow, wide, alias float64 // toneGuest1, wbBrowserTone, wbBrowserAlias in dBFS
}

// analyseRecording measures the softphone's recording at path, checks that
// it was decoded at the codec's rate, that the browser's narrowband tone is
// in it, the softphone's own tone is not, and nothing clips.
func analyseRecording(t *testing.T, path string, rate int) recordingLevels {
	t.Helper()
	w, err := e2e.ReadWAV(path)
	if err != nil {
		t.Fatal(err)
	}
	// sndfile records at the decoder's rate: the codec's clock rate for
	// G.711 and G.722 (16 kHz audio under an RTP clock of 8000) and 48 kHz
	// for Opus.
	if w.Rate != rate {
		t.Errorf("the softphone recorded at %d Hz, want %d Hz for its codec", w.Rate, rate)
	}
	level := func(f float64) float64 {
		if f >= float64(w.Rate)/2 {
			return e2e.SilenceDBFS // above the recording's Nyquist: cannot be in it
		}
		l, err := e2e.ToneLevel(path, f, wbSkip)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	l := recordingLevels{narrow: level(toneGuest1), wide: level(wbBrowserTone), alias: level(wbBrowserAlias)}
	own := level(toneGuest3)
	clipped, peak := 0, 0.0
	for _, v := range w.Samples[min(len(w.Samples), int(wbSkip.Seconds()*float64(w.Rate))):] {
		peak = max(peak, math.Abs(v))
		if math.Abs(v) >= 32767.0/32768 {
			clipped++
		}
	}
	t.Logf("softphone recording: %v at %d Hz, %d channels, peak %.1f dBFS", w.Duration(), w.Rate, w.Channels, 20*math.Log10(max(peak, 1e-10)))
	if l.narrow < -30 {
		t.Errorf("the softphone hears the browser's %.0f Hz at %.1f dBFS, want above -30", toneGuest1, l.narrow)
	}
	if own > l.narrow-20 {
		t.Errorf("the softphone hears itself (%.0f Hz at %.1f dBFS) within 20 dB of the room (%.1f dBFS)", toneGuest3, own, l.narrow)
	}
	if clipped > 0 {
		t.Errorf("the softphone's recording clips in %d samples", clipped)
	}
	return l
}

// narrowEnough reports whether a wideband tone's level in a narrowband call
// is below -45 dBFS, or at least 30 dB under every level the wideband calls
// measured (when there are any).
func narrowEnough(level float64, wideband []float64) bool {
	if level < -45 {
		return true
	}
	if len(wideband) == 0 {
		return false
	}
	for _, w := range wideband {
		if level > w-30 {
			return false
		}
	}
	return true
}
