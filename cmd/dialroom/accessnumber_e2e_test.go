package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dialroom/dialroom/e2e"
	"github.com/dialroom/dialroom/media"
)

// The access number test's tones. The retry prompt is the admin's own
// recording (a file in the dialplan's prompts section), a tone nothing else
// in the call makes, so the phone's recording shows when it played.
const (
	accessNumber   = "0312345678"
	accessOperator = 520.0  // apart from the built-in prompts' 440, 660, 880 and 300 Hz
	accessPhone    = 1000.0 // the caller
	accessRetry    = 1700.0 // the invalid-number recording
)

// accessPlan routes the access number to a collect route whose retry prompt
// is a recording, and issued numbers to their conference.
func accessPlan(carrierAddr string) string {
	return carrierPlan(carrierAddr, `["`+accessNumber+`", "_0X0XXXXXXXX"]`, `
prompts:
  invalid-number: prompts/try-again.wav    # relative to this file
routes:
  - name: access-number
    to: "`+accessNumber+`"
    action: collect
    terminator: "#"
  - name: direct-dial
    to: "_0X0XXXXXXXX"
    action: conference
`)
}

// TestAccessNumberByPhone is issue 4's access-number journey with a real
// phone: baresip calls the shared access number through the Kamailio
// carrier, keys a wrong 11-digit number and #, hears the retry prompt (the
// admin's recording, 44.1 kHz stereo, played at 8 kHz), keys the right number
// and #, and lands in the lobby of the operator's conference; the operator
// (headless Chromium) sees and admits it, and then each hears the other.
//
// The keys travel as RFC 4733 telephone-events: baresip 1.0.0 sends keys
// only that way (its sndcode command puts them in the audio stream as
// telephone-event packets; sending SIP INFO came in later versions), and
// dialroom takes keys only from RTP (it has no INFO handler), so a number
// that arrives proves the RFC 4733 path.
func TestAccessNumberByPhone(t *testing.T) {
	e2e.RequireChromium(t)
	e2e.RequireBaresip(t)
	e2e.RequireKamailio(t)
	start := time.Now()

	// One second of the retry tone at a CD rate in stereo, as a sound editor
	// would save it.
	retryWAV := filepath.Join(t.TempDir(), "try-again.wav")
	if err := e2e.WriteToneWAV(retryWAV, accessRetry, 1, 44100, 2); err != nil {
		t.Fatal(err)
	}
	retry, err := os.ReadFile(retryWAV)
	if err != nil {
		t.Fatal(err)
	}
	srv, carrier := startWithCarrier(t, accessPlan, map[string][]byte{"prompts/try-again.wav": retry})
	op := newParticipant(t, "operator", accessOperator)
	number := op.openConference(srv.URL(), srv.AdminPassword)
	carrier.Route(accessNumber, carrierTrunkUser)

	const caller, masked = "09033333333", "090-****-3333"
	phone := startTonePhone(t, "phone", caller, accessPhone)
	phone.Dial("sip:" + accessNumber + "@" + carrier.Addr())
	waitPhoneEvent(t, phone, "CALL_ESTABLISHED")
	answered := time.Now()

	// The question (two rising beeps, half a second) plays first; keys
	// would barge in, but the test lets it play so the recording has it.
	time.Sleep(time.Second)
	wrong := wrongNumber(number)
	phone.SendDTMF(wrong + "#")
	wrongDone := time.Since(answered)
	// The retry prompt (1 s) and the question again; keys pressed while the
	// retry prompt plays are not collected.
	time.Sleep(1800 * time.Millisecond)
	rightStart := time.Since(answered)
	phone.SendDTMF(number + "#")
	rightDone := time.Since(answered)

	admitPhone(op, masked)
	phoneID := memberByAddress(op, masked)
	time.Sleep(1500 * time.Millisecond) // jitter buffers fill, the mix settles
	sp := hearsTones(op, phoneID, []float64{accessOperator, accessPhone, accessRetry, 440})
	expectOnly(t, "the operator hearing the phone", sp, accessPhone, []float64{accessOperator, accessPhone, accessRetry, 440})

	phone.Hangup()
	waitPhoneEvent(t, phone, "CALL_CLOSED")
	rec := readRecording(t, phone)

	// The question, built in: two rising beeps, 660 then 880 Hz, at
	// -16 dBFS in the first second.
	q := rec.window(0, time.Second)
	at660, l660 := loudestBlock(q, 660)
	at880, l880 := loudestBlock(q, 880)
	if l660 < -22 || l880 < -22 || at660 >= at880 {
		t.Errorf("the question: 660 Hz at %.1f dBFS (%v), 880 Hz at %.1f dBFS (%v); want both above -22 dBFS, 660 first", l660, at660, l880, at880)
	}
	// The retry prompt: after the wrong number's #, before the right
	// number's (half a second of slack for the recording's start).
	const slack = 500 * time.Millisecond
	at, loudest := loudestBlock(rec.pcm, accessRetry)
	t.Logf("the retry tone is loudest at %v (%.1f dBFS); wrong number keyed by %v, right number from %v to %v",
		at, loudest, wrongDone.Round(time.Millisecond), rightStart.Round(time.Millisecond), rightDone.Round(time.Millisecond))
	if loudest < -20 || loudest > -6 {
		t.Errorf("the retry prompt at %.1f dBFS, want between -20 and -6 (recorded at -12)", loudest)
	}
	if at < wrongDone-slack || at > rightStart+slack {
		t.Errorf("the retry prompt played at %v, want between the wrong number's # (%v) and the right number (%v)", at, wrongDone, rightStart)
	}
	if l := pcmLevel(rec.window(0, wrongDone-slack), accessRetry); l > -40 {
		t.Errorf("the retry tone at %.1f dBFS before the wrong number was keyed", l)
	}
	if l := pcmLevel(rec.window(rightDone+slack, -300*time.Millisecond), accessRetry); l > -40 {
		t.Errorf("the retry tone at %.1f dBFS after the right number was keyed", l)
	}
	// In the room: the operator's tone, not the caller's own.
	room := rec.window(-1800*time.Millisecond, -300*time.Millisecond)
	opLevel, _ := blockLevels(room, accessOperator)
	self := pcmLevel(room, accessPhone)
	t.Logf("in the room the phone hears the operator's %.0f Hz at %.1f dBFS, its own tone at %.1f dBFS", accessOperator, opLevel, self)
	if opLevel < -20 || opLevel > -6 {
		t.Errorf("the phone hears the operator at %.1f dBFS, want between -20 and -6", opLevel)
	}
	if self > opLevel-30 {
		t.Errorf("the phone hears itself at %.1f dBFS", self)
	}
	t.Logf("done in %v", time.Since(start).Round(time.Millisecond))
}

// loudestBlock returns where in pcm (8 kHz) hz is loudest, over blocks of
// 100 ms in steps of 50 ms, and its level there.
func loudestBlock(pcm media.PCM, hz float64) (time.Duration, float64) {
	const block, step = media.G711Rate / 10, media.G711Rate / 20
	best, bestAt := e2e.SilenceDBFS, 0
	for i := 0; i+block <= len(pcm); i += step {
		if l := pcmLevel(pcm[i:i+block], hz); l > best {
			best, bestAt = l, i
		}
	}
	return time.Duration(bestAt) * time.Second / media.G711Rate, best
}
