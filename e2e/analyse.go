package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/chromedp/chromedp"
)

// SilenceDBFS is the level the analyser reports where it measured no energy
// at all (digital silence), instead of -Inf, which JSON cannot carry.
const SilenceDBFS = -200.0

// AnalyseJS defines window.__dialroomAnalyse in a page; evaluating it again is
// harmless. AnalyseAudio injects it by itself; a test page may also include it.
//
//	__dialroomAnalyse(source, freqs, ms) → Promise<{levels, dominantHz,
//	    dominantDbfs, rmsDbfs, sampleRate, frames}>
//
// source is a MediaStream, a MediaStreamTrack, or a media element (its
// srcObject stream, else its captureStream()). A stream is also attached to a
// muted, hidden <audio> element, because Chromium does not pull remote
// WebRTC audio that nothing plays. The stream feeds a WebAudio AnalyserNode
// (fftSize 8192, no smoothing); after the analyser's window has filled, its
// power spectrum and time-domain power are averaged over ms milliseconds.
//
// Levels are in dBFS of a sine's peak: a sine of amplitude A (full scale 1)
// reads 20·log10(A) at its frequency, whatever bin it falls in, because the
// power of ±3 bins around it is summed and divided by the Blackman window's
// noise bandwidth (1.73 bins) and its coherent gain (0.42) is undone.
// levels[i] is the level at freqs[i]; dominantHz is the strongest frequency
// above 20 Hz, refined between bins; rmsDbfs is the mean square of the signal
// in dB (a full-scale sine reads -3). Silence reads -200.
const AnalyseJS = `(() => {
if (window.__dialroomAnalyse) return;
const FLOOR = -200;
const HALF = 3;          // bins either side of a frequency that hold its power
const ENBW = 1.7268;     // Blackman window, equivalent noise bandwidth in bins
const CAL = -20 * Math.log10(0.42 / 2); // undo coherent gain and one-sided spectrum
const TICK_MS = 50;
let ac = null;
const db = p => p > 0 ? 10 * Math.log10(p) : FLOOR;
function streamOf(src) {
	if (src instanceof MediaStream) return [src, true];
	if (src instanceof MediaStreamTrack) return [new MediaStream([src]), true];
	if (src instanceof HTMLMediaElement) {
		if (src.srcObject instanceof MediaStream) return [src.srcObject, false];
		if (src.captureStream) return [src.captureStream(), false];
	}
	throw new TypeError('__dialroomAnalyse: want a MediaStream, MediaStreamTrack or media element, got ' +
		Object.prototype.toString.call(src));
}
function play(stream) {
	if (stream.__dialroomSink) return;
	const el = document.createElement('audio');
	el.muted = true;
	el.autoplay = true;
	el.hidden = true;
	el.srcObject = stream;
	(document.body || document.documentElement).appendChild(el);
	el.play().catch(e => console.warn('__dialroomAnalyse: sink play():', e));
	stream.__dialroomSink = el;
}
window.__dialroomAnalyse = async (src, freqs, ms) => {
	const [stream, bare] = streamOf(src);
	if (stream.getAudioTracks().length === 0) throw new Error('__dialroomAnalyse: the stream has no audio track');
	if (bare) play(stream);
	ac = ac || new AudioContext();
	if (ac.state !== 'running') await ac.resume();
	const source = ac.createMediaStreamSource(stream);
	const an = ac.createAnalyser();
	an.fftSize = 8192;
	an.smoothingTimeConstant = 0;
	source.connect(an);
	const n = an.frequencyBinCount, sr = ac.sampleRate;
	const spec = new Float32Array(n), power = new Float64Array(n), td = new Float32Array(an.fftSize);
	let frames = 0, sumSq = 0, count = 0;
	const sleep = d => new Promise(r => setTimeout(r, d));
	// Let the analyser's window fill with signal before the first snapshot.
	await sleep(Math.ceil(1000 * an.fftSize / sr) + TICK_MS);
	const end = performance.now() + ms;
	do {
		an.getFloatFrequencyData(spec);
		for (let i = 0; i < n; i++) if (spec[i] > -Infinity) power[i] += Math.pow(10, spec[i] / 10);
		an.getFloatTimeDomainData(td);
		for (const v of td) sumSq += v * v;
		count += td.length;
		frames++;
		await sleep(TICK_MS);
	} while (performance.now() < end);
	source.disconnect();
	an.disconnect();
	for (let i = 0; i < n; i++) power[i] /= frames;
	const binHz = sr / an.fftSize;
	const levelAtBin = k => {
		let p = 0;
		for (let i = Math.max(0, k - HALF); i <= Math.min(n - 1, k + HALF); i++) p += power[i];
		return p > 0 ? db(p / ENBW) + CAL : FLOOR;
	};
	const levels = freqs.map(f => levelAtBin(Math.round(f / binHz)));
	let best = Math.max(1, Math.ceil(20 / binHz));
	for (let i = best; i < n; i++) if (power[i] > power[best]) best = i;
	let dominantHz = best * binHz;
	if (best > 0 && best < n - 1 && power[best] > 0) {
		const a = db(power[best - 1]), b = db(power[best]), c = db(power[best + 1]);
		const den = a - 2 * b + c;
		if (den < 0) dominantHz += binHz * 0.5 * (a - c) / den;
	}
	return {
		levels, dominantHz,
		dominantDbfs: power[best] > 0 ? levelAtBin(best) : FLOOR,
		rmsDbfs: count ? db(sumSq / count) : FLOOR,
		sampleRate: sr, frames,
	};
};
})();`

// Spectrum is what AnalyseAudio measured in the page. Levels are dBFS of a
// sine's peak (see AnalyseJS): the tone WriteToneWAV makes reads about
// ToneLevelDBFS if it arrives unchanged; SilenceDBFS means no energy.
type Spectrum struct {
	// Levels maps each frequency asked for to its level.
	Levels map[float64]float64
	// DominantHz is the strongest frequency above 20 Hz, DominantDBFS its level.
	DominantHz, DominantDBFS float64
	// RMSDBFS is the mean power of the signal (a full-scale sine is -3 dBFS).
	RMSDBFS float64
	// SampleRate is the page's AudioContext rate; Frames the number of
	// analyser snapshots averaged.
	SampleRate float64
	Frames     int
}

// String summarises s for a test log.
func (s Spectrum) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "dominant %.1f Hz at %.1f dBFS, rms %.1f dBFS", s.DominantHz, s.DominantDBFS, s.RMSDBFS)
	for _, f := range slices.Sorted(maps.Keys(s.Levels)) {
		fmt.Fprintf(&b, "; %g Hz %.1f", f, s.Levels[f])
	}
	fmt.Fprintf(&b, " (%d frames at %g Hz)", s.Frames, s.SampleRate)
	return b.String()
}

// analysis is the JSON result of __dialroomAnalyse.
type analysis struct {
	Levels       []float64 `json:"levels"`
	DominantHz   float64   `json:"dominantHz"`
	DominantDBFS float64   `json:"dominantDbfs"`
	RMSDBFS      float64   `json:"rmsDbfs"`
	SampleRate   float64   `json:"sampleRate"`
	Frames       int       `json:"frames"`
}

// AnalyseAudio measures, for d, the audio of the stream or media element that
// the JavaScript expression jsExprForStream evaluates to in the page of ctx
// (a context from NewBrowser), at each of freqs. It injects AnalyseJS first.
// It takes about d plus 0.25 s and gives up after d plus 15 s or when ctx
// ends.
func AnalyseAudio(ctx context.Context, jsExprForStream string, freqs []float64, d time.Duration) (Spectrum, error) {
	if d < 100*time.Millisecond {
		return Spectrum{}, fmt.Errorf("analyse audio: duration %v: want at least 100ms", d)
	}
	if slices.ContainsFunc(freqs, func(f float64) bool { return math.IsNaN(f) || math.IsInf(f, 0) || f < 0 }) {
		return Spectrum{}, fmt.Errorf("analyse audio: frequencies %v: want finite, non-negative values", freqs)
	}
	freqsJSON, err := json.Marshal(freqs)
	if err != nil {
		return Spectrum{}, fmt.Errorf("analyse audio: %w", err)
	}
	if freqs == nil {
		freqsJSON = []byte("[]")
	}
	expr := fmt.Sprintf("(async () => {\n%s\nreturn await window.__dialroomAnalyse((%s), %s, %d);\n})()",
		AnalyseJS, jsExprForStream, freqsJSON, d.Milliseconds())

	actx, cancel := context.WithTimeout(ctx, d+15*time.Second)
	defer cancel()
	res, err := chromedp.Run(actx, chromedp.Evaluate[analysis](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		return Spectrum{}, fmt.Errorf("analyse audio of %s: %w", jsExprForStream, err)
	}
	if len(res.Levels) != len(freqs) {
		return Spectrum{}, fmt.Errorf("analyse audio: the page returned %d levels for %d frequencies", len(res.Levels), len(freqs))
	}
	s := Spectrum{
		Levels:       make(map[float64]float64, len(freqs)),
		DominantHz:   res.DominantHz,
		DominantDBFS: res.DominantDBFS,
		RMSDBFS:      res.RMSDBFS,
		SampleRate:   res.SampleRate,
		Frames:       res.Frames,
	}
	for i, f := range freqs {
		s.Levels[f] = res.Levels[i]
	}
	return s, nil
}
