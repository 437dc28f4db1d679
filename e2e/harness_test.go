package e2e

import (
	"context"
	"encoding/binary"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// loopbackPage sends the fake microphone through two RTCPeerConnections in
// the same page (pc1 → pc2) and exposes what pc2 receives as
// window.remoteStream. startLoopback() resolves once audio packets flow, with
// the ICE candidates pc1 gathered and the addresses of the pair in use.
const loopbackPage = `<!doctype html>
<html><head><meta charset="utf-8"><title>dialroom e2e loopback</title></head>
<body>
<script>
const wait = ms => new Promise(r => setTimeout(r, ms));
async function statsOf(pc) {
	const byId = new Map(), out = {packets: 0, lost: 0, local: '', remote: ''};
	(await pc.getStats()).forEach(s => byId.set(s.id, s));
	for (const s of byId.values()) {
		if (s.type === 'inbound-rtp' && s.kind === 'audio') {
			out.packets = s.packetsReceived || 0;
			out.lost = s.packetsLost || 0;
		}
		if (s.type === 'transport' && s.selectedCandidatePairId) {
			const pair = byId.get(s.selectedCandidatePairId);
			out.local = byId.get(pair.localCandidateId).address;
			out.remote = byId.get(pair.remoteCandidateId).address;
		}
	}
	return out;
}
window.startLoopback = async () => {
	const mic = await navigator.mediaDevices.getUserMedia({audio: {
		echoCancellation: false, noiseSuppression: false, autoGainControl: false}});
	const pc1 = new RTCPeerConnection(), pc2 = new RTCPeerConnection();
	const candidates = [];
	pc1.onicecandidate = e => { if (e.candidate) { candidates.push(e.candidate.address || ''); pc2.addIceCandidate(e.candidate); } };
	pc2.onicecandidate = e => { if (e.candidate) pc1.addIceCandidate(e.candidate); };
	const remote = new Promise(r => { pc2.ontrack = e => r(e.streams[0] || new MediaStream([e.track])); });
	for (const track of mic.getAudioTracks()) pc1.addTrack(track, mic);
	await pc1.setLocalDescription();
	await pc2.setRemoteDescription(pc1.localDescription);
	await pc2.setLocalDescription();
	await pc1.setRemoteDescription(pc2.localDescription);
	window.remoteStream = await remote;
	window.pcs = [pc1, pc2];
	// One second of 20 ms packets: the jitter buffer is past its start.
	for (let i = 0; i < 200; i++) {
		const s = await statsOf(pc2);
		if (pc2.connectionState === 'connected' && s.packets >= 50) return {state: pc2.connectionState, candidates, ...s};
		if (pc2.connectionState === 'failed') break;
		await wait(50);
	}
	throw new Error('no audio over the loopback call: ' + pc2.connectionState + ' ' + JSON.stringify(await statsOf(pc2)));
};
</script>
</body></html>`

type loopbackResult struct {
	State      string   `json:"state"`
	Candidates []string `json:"candidates"`
	Packets    int      `json:"packets"`
	Lost       int      `json:"lost"`
	Local      string   `json:"local"`
	Remote     string   `json:"remote"`
}

// TestHarnessLoopbackTone proves the harness end to end: a WAV tone goes
// through Chromium's fake microphone, a real WebRTC call inside the page and
// the page's analyser, and comes out as the dominant frequency; and, inside
// the namespace, ICE uses nothing but loopback.
func TestHarnessLoopbackTone(t *testing.T) {
	const (
		toneHz = 660.0
		margin = 20.0 // dB the tone must stand above the other test tones
	)
	others := []float64{440, 880, 1000}
	if !Isolated() {
		if InCI() {
			t.Fatal("not in a loopback-only network namespace (see RunIsolated)")
		}
		t.Log("warning: running without network isolation; ICE may use other interfaces")
	}

	wav := filepath.Join(t.TempDir(), "tone660.wav")
	if err := WriteToneWAV(wav, toneHz, 2, 48000, 1); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, loopbackPage)
	}))
	t.Cleanup(srv.Close)

	ctx := NewBrowser(t, BrowserOptions{Name: "loopback", FakeAudioWAV: wav})
	callCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(callCtx, chromedp.Navigate(srv.URL)); err != nil {
		t.Fatalf("navigate: %v", err)
	}
	call, err := chromedp.Run(callCtx, chromedp.Evaluate[loopbackResult](`startLoopback()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("loopback call: %v", err)
	}
	t.Logf("call: %s via %s → %s, %d packets, %d lost; pc1 candidates %q",
		call.State, call.Local, call.Remote, call.Packets, call.Lost, call.Candidates)
	if Isolated() {
		for _, a := range append([]string{call.Local, call.Remote}, call.Candidates...) {
			if ip := net.ParseIP(strings.Trim(a, "[]")); ip == nil || !ip.IsLoopback() {
				t.Errorf("ICE address %q is not loopback, although the namespace has only lo", a)
			}
		}
	}

	spec, err := AnalyseAudio(ctx, "window.remoteStream", append([]float64{toneHz}, others...), 1500*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("received: %v", spec)
	if math.Abs(spec.DominantHz-toneHz) > 6 {
		t.Errorf("dominant frequency %.1f Hz, want %g Hz ± 6", spec.DominantHz, toneHz)
	}
	// Processing off, Opus at its default rate: the tone arrives near the
	// level it was sent at; AGC or noise suppression would cost ~20 dB.
	if got := spec.Levels[toneHz]; got < ToneLevelDBFS-6 || got > ToneLevelDBFS+3 {
		t.Errorf("tone level %.1f dBFS, want %.0f dBFS within -6/+3 dB", got, ToneLevelDBFS)
	}
	for _, f := range others {
		if d := spec.Levels[toneHz] - spec.Levels[f]; d < margin {
			t.Errorf("%g Hz is only %.1f dB below the %g Hz tone, want >= %g dB", f, d, toneHz, margin)
		}
	}
}

// TestWriteToneWAV checks the header and the level of the file, without a
// browser.
func TestWriteToneWAV(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.wav")
	const rate, channels, freq = 8000, 2, 1000.0
	if err := WriteToneWAV(path, freq, 0.5, rate, channels); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	frames := rate / 2
	if len(b) != 44+frames*channels*2 {
		t.Fatalf("file is %d bytes, want %d", len(b), 44+frames*channels*2)
	}
	if string(b[0:4]) != "RIFF" || string(b[8:16]) != "WAVEfmt " || string(b[36:40]) != "data" {
		t.Fatalf("bad chunk ids: %q", b[:40])
	}
	if got := le.Uint32(b[4:]); got != uint32(len(b)-8) {
		t.Errorf("RIFF size %d, want %d", got, len(b)-8)
	}
	if fmtTag, ch, sr, bits := le.Uint16(b[20:]), le.Uint16(b[22:]), le.Uint32(b[24:]), le.Uint16(b[34:]); fmtTag != 1 || ch != channels || sr != rate || bits != 16 {
		t.Errorf("fmt: tag %d, %d channels, %d Hz, %d bits; want PCM, %d, %d, 16", fmtTag, ch, sr, bits, channels, rate)
	}
	var peak, sumSq float64
	for i := 44; i < len(b); i += 2 * channels {
		l, r := int16(le.Uint16(b[i:])), int16(le.Uint16(b[i+2:]))
		if l != r {
			t.Fatalf("channels differ at byte %d: %d != %d", i, l, r)
		}
		v := float64(l) / math.MaxInt16
		peak = max(peak, math.Abs(v))
		sumSq += v * v
	}
	want := math.Pow(10, ToneLevelDBFS/20)
	if math.Abs(peak-want) > 0.001 {
		t.Errorf("peak %.4f, want %.4f (%g dBFS)", peak, want, ToneLevelDBFS)
	}
	if rms := math.Sqrt(sumSq / float64(frames)); math.Abs(rms-want/math.Sqrt2) > 0.001 {
		t.Errorf("rms %.4f, want %.4f", rms, want/math.Sqrt2)
	}

	for _, bad := range []struct {
		freq, secs    float64
		rate, channel int
	}{{0, 1, 8000, 1}, {4000, 1, 8000, 1}, {440, 0, 8000, 1}, {440, 1, 0, 1}, {440, 1, 8000, 0}, {math.NaN(), 1, 8000, 1}} {
		if err := WriteToneWAV(path, bad.freq, bad.secs, bad.rate, bad.channel); err == nil {
			t.Errorf("WriteToneWAV(%g Hz, %g s, %d Hz, %d ch): no error", bad.freq, bad.secs, bad.rate, bad.channel)
		}
	}
}
