package sip

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dialroom/dialroom/bridge"
	"github.com/dialroom/dialroom/dialplan"
	"github.com/dialroom/dialroom/e2e"
	"github.com/dialroom/dialroom/media"
)

// readAll plays src for at most max samples; it reports whether the source
// ended.
func readAll(src media.Source, max int) (media.PCM, bool) {
	var out media.PCM
	buf := make([]int16, bridge.PhoneFrameSamples)
	for len(out) < max {
		n, err := src.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			return out, true
		}
	}
	return out, false
}

// writeTone writes a WAV of a -12 dBFS sine (e2e.ToneLevelDBFS).
func writeTone(t *testing.T, path string, hz, seconds float64, rate, channels int) {
	t.Helper()
	if err := e2e.WriteToneWAV(path, hz, seconds, rate, channels); err != nil {
		t.Fatal(err)
	}
}

func newTestPromptCache() (*promptCache, *bytes.Buffer) {
	var logs bytes.Buffer
	return newPromptCache(slog.New(slog.NewTextHandler(&logs, nil))), &logs
}

// TestPromptFiles: a recording in any common format is played at 8 kHz
// mono at its own pitch and level, for its own length; once or looped.
func TestPromptFiles(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		rate, channels int
	}{{8000, 1}, {16000, 1}, {44100, 2}, {48000, 2}, {22050, 1}}
	for _, tt := range tests {
		path := filepath.Join(dir, "p.wav")
		writeTone(t, path, 1000, 0.5, tt.rate, tt.channels)
		pc, logs := newTestPromptCache()
		p := &dialplan.Prompt{Name: "welcome", File: path}

		src, dur := pc.source(p, dialplan.PromptEnterNumber, false)
		if dur != 500*time.Millisecond {
			t.Errorf("%d Hz × %d: length %v, want 500ms", tt.rate, tt.channels, dur)
		}
		pcm, ended := readAll(src, 8000)
		if !ended || len(pcm) != 4000 {
			t.Errorf("%d Hz × %d: played %d samples (ended %v), want 4000 then the end", tt.rate, tt.channels, len(pcm), ended)
		}
		mid := pcm[1000:3000] // away from the resampler's edges
		if l := e2e.PCMToneLevel(mid, media.G711Rate, 1000); math.Abs(l-e2e.ToneLevelDBFS) > 0.5 {
			t.Errorf("%d Hz × %d: 1 kHz at %.2f dBFS, want %.0f", tt.rate, tt.channels, l, e2e.ToneLevelDBFS)
		}
		if strings.Contains(logs.String(), "WARN") {
			t.Errorf("%d Hz × %d: warning logged: %s", tt.rate, tt.channels, logs)
		}

		loop, _ := pc.source(p, dialplan.PromptWaiting, true)
		if pcm, ended := readAll(loop, 12000); ended || len(pcm) < 12000 {
			t.Errorf("%d Hz × %d: a looped prompt ended after %d samples", tt.rate, tt.channels, len(pcm))
		} else if l := e2e.PCMToneLevel(pcm[5000:7000], media.G711Rate, 1000); l < e2e.ToneLevelDBFS-1 {
			t.Errorf("%d Hz × %d: second time round 1 kHz at %.2f dBFS", tt.rate, tt.channels, l)
		}
	}
}

// TestPromptBuiltins: each built-in plays its own sound; a looped waiting
// prompt never ends, the others end.
func TestPromptBuiltins(t *testing.T) {
	pc, _ := newTestPromptCache()
	tests := []struct {
		name  string
		loop  bool
		freqs []float64 // what it sounds of
		max   time.Duration
	}{
		{dialplan.PromptEnterNumber, false, []float64{660, 880}, time.Second},
		{dialplan.PromptInvalidNumber, false, []float64{300}, time.Second},
		{dialplan.PromptWaiting, true, []float64{440}, 2 * time.Second},
		{dialplan.PromptDeclined, false, []float64{480}, time.Second},
		{dialplan.PromptGoodbye, false, []float64{480}, time.Second},
		{dialplan.PromptNotInService, false, []float64{950, 1400, 1800}, 1500 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &dialplan.Prompt{Name: tt.name, Builtin: tt.name}
			src, dur := pc.source(p, dialplan.PromptGoodbye, tt.loop)
			if dur <= 0 || dur > tt.max {
				t.Errorf("length %v, want up to %v", dur, tt.max)
			}
			pcm, ended := readAll(src, 3*media.G711Rate)
			if ended == tt.loop {
				t.Errorf("ended = %v, want %v", ended, !tt.loop)
			}
			for _, f := range tt.freqs {
				if l := e2e.PCMToneLevel(pcm, media.G711Rate, f); l < -40 {
					t.Errorf("%v Hz at %.1f dBFS: not heard", f, l)
				}
			}
		})
	}
	// A renamed built-in (closed: builtin:not-in-service) plays the one it
	// names; no prompt at all plays the use's built-in.
	src, _ := pc.source(&dialplan.Prompt{Name: "closed", Builtin: dialplan.PromptNotInService}, dialplan.PromptGoodbye, false)
	if pcm, _ := readAll(src, 8000); e2e.PCMToneLevel(pcm, media.G711Rate, 1400) < -40 {
		t.Error("builtin:not-in-service does not play the information tone")
	}
	src, _ = pc.source(nil, dialplan.PromptInvalidNumber, false)
	if pcm, _ := readAll(src, 8000); e2e.PCMToneLevel(pcm, media.G711Rate, 300) < -40 {
		t.Error("no prompt does not play the use's built-in")
	}
}

// TestPromptFallback: a file that is missing, is not a WAV, is empty or in
// a format we cannot play falls back to the built-in of its use, with one
// warning naming the file (not one per call).
func TestPromptFallback(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	var empty bytes.Buffer
	_ = media.WriteWAV(&empty, nil, 8000)
	eightBit := []byte("RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x40\x1f\x00\x00\x40\x1f\x00\x00\x01\x00\x08\x00data\x00\x00\x00\x00")
	tests := map[string]string{
		"missing":   filepath.Join(dir, "missing.wav"),
		"not a WAV": write("text.wav", []byte("hello, this is not audio")),
		"no audio":  write("empty.wav", empty.Bytes()),
		"8-bit":     write("8bit.wav", eightBit),
		"truncated": write("cut.wav", []byte("RIFF\x24\x00\x00\x00WAVEfmt ")),
		"directory": dir,
	}
	for name, path := range tests {
		t.Run(name, func(t *testing.T) {
			pc, logs := newTestPromptCache()
			p := &dialplan.Prompt{Name: "welcome", File: path}
			for range 3 {
				src, dur := pc.source(p, dialplan.PromptInvalidNumber, false)
				pcm, ended := readAll(src, 8000)
				if !ended || dur == 0 || e2e.PCMToneLevel(pcm, media.G711Rate, 300) < -40 {
					t.Fatalf("does not play the invalid-number built-in (%d samples, ended %v)", len(pcm), ended)
				}
			}
			if n := strings.Count(logs.String(), "level=WARN"); n != 1 || !strings.Contains(logs.String(), path) {
				t.Errorf("%d warnings, want one naming the file: %s", n, logs)
			}
		})
	}
}

// TestPromptReload: a file is decoded once and cached by modification time
// and size; a new version under the same name plays from the next use on,
// and a file that breaks and is fixed again plays again.
func TestPromptReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "waiting.wav")
	writeTone(t, path, 1000, 0.5, 16000, 1)
	stamp := time.Now().Add(-time.Hour)
	if err := os.Chtimes(path, stamp, stamp); err != nil {
		t.Fatal(err)
	}
	pc, logs := newTestPromptCache()
	p := &dialplan.Prompt{Name: "waiting", File: path}
	hears := func(hz float64) bool {
		src, _ := pc.source(p, dialplan.PromptWaiting, true)
		pcm, _ := readAll(src, 4000)
		// The first 150 ms: the built-in waiting beep (-20 dBFS) lasts 200.
		return e2e.PCMToneLevel(pcm[100:1300], media.G711Rate, hz) > -26
	}
	if !hears(1000) {
		t.Fatal("the recording does not play")
	}
	// Same size and time: the cached audio plays (the file is not read).
	writeTone(t, path, 700, 0.5, 16000, 1)
	if err := os.Chtimes(path, stamp, stamp); err != nil {
		t.Fatal(err)
	}
	if !hears(1000) {
		t.Error("an unchanged file was decoded again")
	}
	// A new modification time: the new recording plays.
	now := time.Now()
	if err := os.Chtimes(path, now, now); err != nil {
		t.Fatal(err)
	}
	if !hears(700) {
		t.Error("a changed file still plays the old recording")
	}
	// Broken: the built-in; fixed: the recording again.
	if err := os.WriteFile(path, []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	if !hears(440) {
		t.Error("a broken file does not fall back to the built-in")
	}
	writeTone(t, path, 1200, 0.5, 48000, 2)
	later := now.Add(time.Minute)
	if err := os.Chtimes(path, later, later); err != nil {
		t.Fatal(err)
	}
	if !hears(1200) {
		t.Error("a fixed file does not play")
	}
	if n := strings.Count(logs.String(), "level=WARN"); n != 1 {
		t.Errorf("%d warnings, want 1:\n%s", n, logs)
	}
}

func TestCheckPromptFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.wav")
	writeTone(t, good, 1000, 0.1, 44100, 2)
	if err := CheckPromptFile(good); err != nil {
		t.Errorf("44.1 kHz stereo: %v", err)
	}
	bad := filepath.Join(dir, "bad.wav")
	if err := os.WriteFile(bad, []byte("RIFF"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := CheckPromptFile(bad); !errors.Is(err, media.ErrWAV) {
		t.Errorf("truncated file: %v, want ErrWAV", err)
	}
	if err := CheckPromptFile(filepath.Join(dir, "nope.wav")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// TestClip: a clip plays its samples once, pads the last read with silence
// and says io.EOF.
func TestClip(t *testing.T) {
	c := &clip{pcm: media.PCM{1, 2, 3}}
	dst := []int16{9, 9}
	if n, err := c.Read(dst); n != 2 || err != nil || dst[0] != 1 || dst[1] != 2 {
		t.Errorf("first read: %d, %v, %v", n, err, dst)
	}
	dst = []int16{9, 9}
	if n, err := c.Read(dst); n != 1 || err != io.EOF || dst[0] != 3 || dst[1] != 0 {
		t.Errorf("last read: %d, %v, %v", n, err, dst)
	}
	if n, err := (&clip{}).Read(dst); n != 0 || err != io.EOF {
		t.Errorf("empty clip: %d, %v", n, err)
	}
}

func BenchmarkPromptSource(b *testing.B) {
	path := filepath.Join(b.TempDir(), "p.wav")
	if err := e2e.WriteToneWAV(path, 1000, 2, 48000, 1); err != nil {
		b.Fatal(err)
	}
	pc, _ := newTestPromptCache()
	p := &dialplan.Prompt{Name: "waiting", File: path}
	pc.source(p, dialplan.PromptWaiting, true)
	b.ReportAllocs()
	for b.Loop() {
		pc.source(p, dialplan.PromptWaiting, true)
	}
}

// TestCallPlaysPromptFiles: a call plays the dialplan's recordings where
// it names them: the waiting recording, looped, in the lobby, and the
// declined recording, once, before the server's BYE.
func TestCallPlaysPromptFiles(t *testing.T) {
	dir := t.TempDir()
	waiting, declined := filepath.Join(dir, "waiting.wav"), filepath.Join(dir, "declined.wav")
	writeTone(t, waiting, 1200, 0.5, 16000, 1)
	writeTone(t, declined, 1800, 0.6, 48000, 2)
	h := newHarness(t, harnessOptions{portBase: 34000, plan: "prompts:\n  waiting: " + waiting + "\n  declined: " + declined + "\n" + testPlan})
	num := h.numbers[liveNumber]
	op, opMember := h.hostAlice(num)
	peer := newRTPPeer(t, 660)
	result := make(chan e2e.SIPpResult, 1)
	go func() {
		result <- h.sipp("declined", e2e.SIPpUAC(e2e.SIPpAnsweredThen(e2e.SIPpByeFromServer)), e2e.SIPpRun{
			Service: liveNumber, Keys: map[string]string{"rtpport": strconv.Itoa(peer.port())},
		})
	}()
	req := op.waitJoin(t)
	// Two passes of the half-second waiting recording, at least.
	waitFor(t, "waiting prompt audio", func() bool { return peer.samples() >= 8000*3/2 })
	peer.mark("decline")
	if err := opMember.Decline(req.ID); err != nil {
		t.Fatal(err)
	}
	requireSIPpOK(t, <-result)
	h.waitIdle()

	lobby := peer.between("", "decline")
	if hz, db := dominant(lobby, 440, 1200, 1800); hz != 1200 || db < 20 {
		t.Errorf("in the lobby the caller heard %v Hz (%.1f dB above the rest), want the 1200 Hz recording", hz, db)
	}
	if l := e2e.PCMToneLevel(lobby[len(lobby)-4000:], media.G711Rate, 1200); l < -15 {
		t.Errorf("the waiting recording's second pass at %.1f dBFS, want about -12: it does not loop", l)
	}
	end := peer.between("decline", "")
	if l := e2e.PCMToneLevel(end, media.G711Rate, 1800); l < -20 {
		t.Errorf("after the decline the caller heard the declined recording at %.1f dBFS (%d samples), want about -12", l, len(end))
	}
	if n := len(end); n > 8000*3/2 {
		t.Errorf("%d samples between the decline and the BYE: the declined recording lasts 0.6 s", n)
	}
}
