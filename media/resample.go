package media

import (
	"fmt"
	"math"
)

// Resample converts pcm from rate from to rate to. The ratio of the rates,
// in lowest terms, may have at most maxResampleFactor in either term: every
// common audio rate qualifies (44.1 kHz to 8 kHz is 80/441), an odd rate such
// as 44101 Hz does not. It is meant for prompts, once at load time, not per
// frame: it allocates the result and the filter (for 44.1 kHz about 30,000
// taps, a few milliseconds of work per second of audio).
//
// The filter is a linear-phase windowed-sinc low-pass (Kaiser window, about
// 80 dB of stopband rejection) that passes up to 85% of the lower rate's
// Nyquist frequency (3.4 kHz at 8 kHz: the whole telephone band) and stops
// everything above Nyquist, so decimating does not alias and interpolating
// leaves no images. Its delay is compensated: output sample i is aligned with
// input time i·from/to.
func Resample(pcm PCM, from, to int) (PCM, error) {
	if from <= 0 || to <= 0 {
		return nil, fmt.Errorf("media: resample %d Hz to %d Hz: want positive rates", from, to)
	}
	g := gcd(from, to)
	up, down := to/g, from/g
	if up > maxResampleFactor || down > maxResampleFactor {
		return nil, fmt.Errorf("media: resample %d Hz to %d Hz: the ratio %d/%d is too fine (want a common audio rate such as 8, 16, 44.1 or 48 kHz)", from, to, up, down)
	}
	if from == to {
		return append(PCM(nil), pcm...), nil
	}
	h := lowPass(from*up, min(from, to))
	c := (len(h) - 1) / 2
	out := make(PCM, len(pcm)*up/down)
	for n := range out {
		// Position in the (virtually) zero-stuffed input at rate from*up.
		p := n*down + c
		// Taps k with (p-k) a multiple of up land on real input samples.
		k0 := p % up
		var acc float64
		for k := k0; k < len(h); k += up {
			j := (p - k) / up
			if j < 0 {
				break
			}
			if j < len(pcm) {
				acc += h[k] * float64(pcm[j])
			}
		}
		out[n] = int16(math.Round(max(-32768, min(32767, acc*float64(up)))))
	}
	return out, nil
}

// maxResampleFactor bounds the terms of the rate ratio Resample accepts. The
// filter is designed at from·up Hz with a transition band set by the lower
// rate, so its length grows with up: 1000 keeps it under about 400,000 taps
// (a few megabytes, once) while admitting every rate a sound editor writes
// (11.025 kHz to 8 kHz, the finest of them, is 320/441).
const maxResampleFactor = 1000

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// lowPass designs the resampling filter at rate for a signal to be kept below
// the Nyquist frequency of low (the lower of the two rates).
func lowPass(rate, low int) []float64 {
	const (
		atten = 80.0 // dB
		pass  = 0.85 // of low's Nyquist
	)
	nyq := float64(low) / 2
	fp, fs := pass*nyq, nyq
	cutoff := (fp + fs) / 2 / float64(rate) // cycles per sample
	dw := 2 * math.Pi * (fs - fp) / float64(rate)
	// Kaiser's estimates of length and shape for the attenuation wanted.
	n := int(math.Ceil((atten-7.95)/(2.285*dw))) | 1 // odd: a whole-sample centre
	beta := 0.1102 * (atten - 8.7)
	h := make([]float64, n)
	c := float64(n-1) / 2
	i0b := besselI0(beta)
	var sum float64
	for k := range h {
		x := float64(k) - c
		sinc := 2 * cutoff
		if x != 0 {
			sinc = math.Sin(2*math.Pi*cutoff*x) / (math.Pi * x)
		}
		r := x / c
		h[k] = sinc * besselI0(beta*math.Sqrt(max(0, 1-r*r))) / i0b
		sum += h[k]
	}
	for k := range h { // unity gain at DC
		h[k] /= sum
	}
	return h
}

// besselI0 is the modified Bessel function of the first kind, order 0, by its
// power series (converges fast for the arguments a Kaiser window uses).
func besselI0(x float64) float64 {
	sum, term := 1.0, 1.0
	for k := 1; k < 50; k++ {
		term *= (x / 2) / float64(k)
		sum += term * term
		if term*term < sum*1e-17 {
			break
		}
	}
	return sum
}
