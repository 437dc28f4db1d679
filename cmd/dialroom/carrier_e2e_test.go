package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/dialroom/dialroom/configs"
	"github.com/dialroom/dialroom/e2e"
	"github.com/dialroom/dialroom/media"
)

// What the tests with real phones share: a Kamailio carrier that dialroom
// registers with as a trunk, baresip phones that call through it, and the
// measurements of what a phone recorded.

// The trunk's account at the carrier.
const (
	carrierTrunkUser = "dialroom"
	carrierTrunkPass = "trunk-s3cret"
)

// carrierEventTimeout bounds a wait for a phone event that should come at
// once on loopback (an answer, a hang-up).
const carrierEventTimeout = 10 * time.Second

// carrierPlan is a dialplan with one trunk registering at the carrier
// (password from a file next to the plan), trusting calls from loopback,
// delivering dids, followed by the given prompts and routes sections.
func carrierPlan(carrierAddr, dids, sections string) string {
	return fmt.Sprintf(`
trunks:
  - name: carrier
    registrar: sip:%s
    username: %s
    password_file: trunk.pass
    register_interval: 1m
    sources: ["127.0.0.1"]
    dids: %s
%s`, carrierAddr, carrierTrunkUser, dids, sections)
}

// startWithCarrier starts a Kamailio carrier and a dialroom server whose
// dialplan (plan's text for the carrier's address) registers with it, and
// waits until the trunk is registered. files are written beside the plan,
// each name relative to its directory (prompt recordings).
func startWithCarrier(t *testing.T, plan func(carrierAddr string) string, files map[string][]byte) (*testServer, *e2e.Carrier) {
	t.Helper()
	c := e2e.StartCarrier(t, e2e.CarrierOptions{Users: map[string]string{carrierTrunkUser: carrierTrunkPass}, QOP: true})
	dir := t.TempDir()
	files["trunk.pass"] = []byte(carrierTrunkPass + "\n")
	files["dialplan.yaml"] = []byte(plan(c.Addr()))
	for name, data := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	srv := startServer(t, "", func(cfg *configs.Config) { cfg.Dialplan = filepath.Join(dir, "dialplan.yaml") })
	if srv.SIP == nil {
		t.Fatal("SIP is not running")
	}
	if _, err := c.WaitRegistered(carrierTrunkUser, 10*time.Second); err != nil {
		t.Fatalf("the trunk did not register with the carrier: %v", err)
	}
	return srv, c
}

// startTonePhone starts a baresip phone whose caller number is user and
// that plays a tone of hz (8 kHz, PCMU) for a minute, longer than any call
// here (baresip hangs up when its file ends).
func startTonePhone(t *testing.T, name, user string, hz float64) *e2e.Phone {
	t.Helper()
	wav := filepath.Join(t.TempDir(), name+".wav")
	if err := e2e.WriteToneWAV(wav, hz, 60, 8000, 1); err != nil {
		t.Fatal(err)
	}
	return e2e.StartPhone(t, e2e.PhoneOptions{Name: name, User: user, AudioWAV: wav})
}

// waitPhoneEvent waits for a phone's event, failing the test on timeout.
func waitPhoneEvent(t *testing.T, p *e2e.Phone, typ string) e2e.PhoneEvent {
	t.Helper()
	e, err := p.WaitEvent(typ, carrierEventTimeout)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// admitPhone waits until the operator's console lists a phone caller whose
// masked number is masked and admits it.
func admitPhone(op *participant, masked string) {
	op.t.Helper()
	sel := fmt.Sprintf(`window.dialroom.lobby.find(r => r.kind === 'phone' && r.address === %q)`, masked)
	op.waitFor("phone "+masked+" in the lobby", sel, 15*time.Second)
	var id string
	op.eval(sel+`.id`, &id)
	op.waitFor("lobby row of "+masked, fmt.Sprintf(`document.querySelector('[data-request-id=%q] .admit')`, id), 5*time.Second)
	op.run("admit "+masked, chromedp.Click(chromedp.CSS(fmt.Sprintf(`[data-request-id=%q] .admit`, id))))
	op.waitFor("phone "+masked+" in the room", fmt.Sprintf(`window.dialroom.members.some(m => m.kind === 'phone' && m.address === %q)`, masked), 10*time.Second)
}

// memberByAddress returns the id of the member with the given address as
// p's page knows it.
func memberByAddress(p *participant, address string) string {
	p.t.Helper()
	var id string
	p.eval(fmt.Sprintf(`(window.dialroom.members.find(m => m.address === %q) || {}).id || ""`, address), &id)
	if id == "" {
		p.t.Fatalf("%s: no member with address %q", p.name, address)
	}
	return id
}

// hearsTones analyses what p's page receives from one member, at tones.
func hearsTones(p *participant, memberID string, tones []float64) e2e.Spectrum {
	p.t.Helper()
	p.waitFor("audio element of "+memberID, fmt.Sprintf(`document.querySelector('audio[data-member-id=%q]')`, memberID), 10*time.Second)
	ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
	defer cancel()
	sp, err := e2e.AnalyseAudio(ctx, fmt.Sprintf(`document.querySelector('audio[data-member-id=%q]')`, memberID), tones, 1500*time.Millisecond)
	if err != nil {
		p.t.Fatalf("%s: analysing audio of %s: %v", p.name, memberID, err)
	}
	return sp
}

// expectOnly checks that sp carries want as its dominant tone at a sane
// level (above -40 dBFS, below clipping) and every other of tones at least
// 20 dB below it.
func expectOnly(t *testing.T, who string, sp e2e.Spectrum, want float64, tones []float64) {
	t.Helper()
	level := sp.Levels[want]
	t.Logf("%s: %s", who, sp)
	if math.Abs(sp.DominantHz-want) > 15 {
		t.Errorf("%s: dominant %.1f Hz, want %.0f Hz (%s)", who, sp.DominantHz, want, sp)
	}
	if level < -40 || level > -1 {
		t.Errorf("%s: %.0f Hz at %.1f dBFS, want between -40 and -1 dBFS", who, want, level)
	}
	for _, f := range tones {
		if f != want && sp.Levels[f] > level-20 {
			t.Errorf("%s: %.0f Hz at %.1f dBFS is within 20 dB of the wanted %.0f Hz", who, f, sp.Levels[f], want)
		}
	}
}

// recording is what a phone recorded of its call (sndfile's dump of the
// decoded audio), at 8 kHz.
type recording struct {
	name string
	pcm  media.PCM
}

// readRecording reads the phone's newest recording; call it after the call
// closed, when baresip has finished the file.
func readRecording(t *testing.T, p *e2e.Phone) recording {
	t.Helper()
	path := p.Recorded()
	if path == "" {
		t.Fatalf("%s: no recording", p.Name())
	}
	w, err := e2e.ReadWAV(path)
	if err != nil {
		t.Fatalf("%s: %v", p.Name(), err)
	}
	if w.Rate != media.G711Rate {
		t.Fatalf("%s: recording at %d Hz, want 8000", p.Name(), w.Rate)
	}
	pcm := make(media.PCM, len(w.Samples))
	for i, s := range w.Samples {
		pcm[i] = int16(max(-32768, min(32767, math.Round(s*32768))))
	}
	t.Logf("%s: recorded %v (%s)", p.Name(), w.Duration(), filepath.Base(path))
	return recording{name: p.Name(), pcm: pcm}
}

// window returns the audio between from and to after the recording
// started; negative offsets count from its end.
func (r recording) window(from, to time.Duration) media.PCM {
	at := func(d time.Duration) int {
		i := int(d * media.G711Rate / time.Second)
		if d < 0 {
			i += len(r.pcm)
		}
		return max(0, min(len(r.pcm), i))
	}
	return r.pcm[at(from):at(to)]
}

// duration is how long the recording lasts.
func (r recording) duration() time.Duration {
	return time.Duration(len(r.pcm)) * time.Second / media.G711Rate
}

// pcmLevel is the level of hz in pcm (8 kHz), in dBFS of a sine's peak.
func pcmLevel(pcm media.PCM, hz float64) float64 {
	return e2e.PCMToneLevel(pcm, media.G711Rate, hz)
}

// blockLevels measures hz in pcm in blocks of 60 ms (three frames) and
// returns the median block's level and the share of blocks more than 6 dB
// below it. Measuring in short blocks keeps a phase jump (a frame lost or
// concealed on the way, which a loaded machine makes now and then) from
// cancelling the tone against itself, as one coherent measurement over a
// whole window would; the share of weak blocks shows how often that
// happened. To show that a tone is absent, measure the whole window
// (pcmLevel): its narrow band keeps the other tones out.
func blockLevels(pcm media.PCM, hz float64) (median, weak float64) {
	const block = 3 * media.G711Rate / 50
	var levels []float64
	for i := 0; i+block <= len(pcm); i += block {
		levels = append(levels, pcmLevel(pcm[i:i+block], hz))
	}
	if len(levels) == 0 {
		return e2e.SilenceDBFS, 1
	}
	slices.Sort(levels)
	median = levels[len(levels)/2]
	n := 0
	for _, l := range levels {
		if l < median-6 {
			n++
		}
	}
	return median, float64(n) / float64(len(levels))
}

// peak is the largest magnitude in pcm, in dBFS.
func peak(pcm media.PCM) float64 {
	m := 0
	for _, s := range pcm {
		m = max(m, abs(int(s)))
	}
	if m == 0 {
		return e2e.SilenceDBFS
	}
	return 20 * math.Log10(float64(m)/32768)
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// phoneTone is a phone of a two-party call and the tone it plays.
type phoneTone struct {
	who  string
	p    *e2e.Phone
	tone float64
}

// heardEachOther checks a two-party call's recordings: each phone hears
// the other's tone above -30 dBFS and its own at least 20 dB under it.
func heardEachOther(t *testing.T, a, b phoneTone) {
	t.Helper()
	for _, c := range [][2]phoneTone{{a, b}, {b, a}} {
		me, other := c[0], c[1]
		path := me.p.Recorded()
		if path == "" {
			t.Errorf("%s recorded nothing", me.who)
			continue
		}
		heard, err := e2e.ToneLevel(path, other.tone, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		own, err := e2e.ToneLevel(path, me.tone, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s hears %.0f Hz at %.1f dBFS, its own %.0f Hz at %.1f dBFS", me.who, other.tone, heard, me.tone, own)
		if heard < -30 {
			t.Errorf("%s hears the other side's %.0f Hz at %.1f dBFS, want above -30", me.who, other.tone, heard)
		}
		if own > heard-20 {
			t.Errorf("%s hears its own tone (%.1f dBFS) within 20 dB of the other side's (%.1f dBFS)", me.who, own, heard)
		}
	}
}
