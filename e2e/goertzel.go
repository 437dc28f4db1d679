package e2e

import (
	"fmt"
	"math"
	"time"
)

// ToneLevel returns the level at freq of the WAV at path, in dBFS of a
// sine's peak, like AnalyseAudio: the tone WriteToneWAV makes reads about
// ToneLevelDBFS (-12) if it arrives unchanged; silence reads SilenceDBFS.
// The first skip of the file is left out (call set-up, jitter buffer
// filling), and the rest is measured as one block, so gaps in the audio
// lower the level in proportion to their length.
func ToneLevel(wavPath string, freq float64, skip time.Duration) (dBFS float64, err error) {
	w, err := ReadWAV(wavPath)
	if err != nil {
		return 0, err
	}
	x, err := w.after(skip)
	if err != nil {
		return 0, fmt.Errorf("tone level of %s: %w", wavPath, err)
	}
	if !(freq > 0) || freq >= float64(w.Rate)/2 {
		return 0, fmt.Errorf("tone level of %s: %g Hz: want 0 < f < %d (Nyquist)", wavPath, freq, w.Rate/2)
	}
	return goertzelDBFS(x, freq, float64(w.Rate)), nil
}

// DominantFrequency returns the strongest frequency between 50 Hz and
// 50 Hz below Nyquist in the WAV at path, after skip, to within about 1 Hz,
// and its level in dBFS (as ToneLevel). It looks at no more than 2 s of
// audio after skip, which keeps it fast and is plenty for a steady tone.
func DominantFrequency(wavPath string, skip time.Duration) (hz, dBFS float64, err error) {
	w, err := ReadWAV(wavPath)
	if err != nil {
		return 0, 0, err
	}
	x, err := w.after(skip)
	if err != nil {
		return 0, 0, fmt.Errorf("dominant frequency of %s: %w", wavPath, err)
	}
	x = x[:min(len(x), 2*w.Rate)]
	rate := float64(w.Rate)
	best, bestDB := 0.0, math.Inf(-1)
	scan := func(x []float64, from, to, step float64) {
		for f := from; f <= to; f += step {
			if db := goertzelDBFS(x, f, rate); db > bestDB {
				best, bestDB = f, db
			}
		}
	}
	// A coarse scan of the first 0.1 s (main lobe ±10 Hz) in 5 Hz steps
	// lands within 5 Hz of the peak; the whole block then finds it to a
	// fraction of a hertz. Scanning the whole block finely would cost
	// seconds at 48 kHz.
	coarse := x[:min(len(x), w.Rate/10)]
	scan(coarse, 50, rate/2-50, 5)
	center := best
	best, bestDB = 0, math.Inf(-1)
	scan(x, max(center-10, 1), min(center+10, rate/2-1), 0.25)
	return best, bestDB, nil
}

// after returns the samples from skip on; an error if nothing is left.
func (w WAV) after(skip time.Duration) ([]float64, error) {
	n := int(skip.Seconds() * float64(w.Rate))
	if skip < 0 || n >= len(w.Samples) {
		return nil, fmt.Errorf("skip %v: the audio lasts only %v", skip, w.Duration())
	}
	return w.Samples[n:], nil
}

// goertzelDBFS returns the amplitude of the frequency-f component of x (at
// rate samples/s) in dBFS of a sine's peak, with the Goertzel recurrence
// evaluated at f itself rather than at the nearest DFT bin. A sine of peak
// amplitude A at f gives |X| ≈ A·N/2, so 2|X|/N estimates A; leakage from
// other tones over a block of N samples falls off as 1/(π·Δf·N/rate),
// negligible for distinct test tones and blocks of a second or more.
func goertzelDBFS(x []float64, f, rate float64) float64 {
	w := 2 * math.Pi * f / rate
	coeff := 2 * math.Cos(w)
	var s1, s2 float64
	for _, v := range x {
		s1, s2 = v+coeff*s1-s2, s1
	}
	power := s1*s1 + s2*s2 - coeff*s1*s2 // |X(f)|²
	amp := 2 * math.Sqrt(max(power, 0)) / float64(len(x))
	if amp <= 0 {
		return SilenceDBFS
	}
	return max(20*math.Log10(amp), SilenceDBFS)
}

// PCMToneLevel returns the level of freq in 16-bit samples pcm (at rate
// samples/s) in dBFS of a sine's peak, on the same scale as ToneLevel; an
// empty or silent pcm reads SilenceDBFS.
func PCMToneLevel(pcm []int16, rate, freq float64) float64 {
	if len(pcm) == 0 {
		return SilenceDBFS
	}
	x := make([]float64, len(pcm))
	for i, v := range pcm {
		x[i] = float64(v) / 32768
	}
	return goertzelDBFS(x, freq, rate)
}
