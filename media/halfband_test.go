package media

import (
	"fmt"
	"math"
	"testing"

	"github.com/dialroom/dialroom/e2e"
)

// halfbandResponse is the filter's gain at f Hz (at 16 kHz), from the
// quantized taps: real, since the filter is symmetric about its centre.
func halfbandResponse(f float64) float64 {
	g := 0.5
	for i, c := range halfband() {
		g += 2 * float64(c) / (1 << halfbandQ) * math.Cos(2*math.Pi*f/16000*float64(2*i+1))
	}
	return g
}

func TestHalfbandResponse(t *testing.T) {
	db := func(g float64) float64 { return 20 * math.Log10(math.Max(math.Abs(g), 1e-12)) }
	var ripple float64
	for f := 0.0; f <= 3400; f += 5 {
		ripple = math.Max(ripple, math.Abs(db(halfbandResponse(f))))
	}
	stop := -math.MaxFloat64
	for f := 4600.0; f <= 8000; f += 5 {
		stop = math.Max(stop, db(halfbandResponse(f)))
	}
	t.Logf("passband 0-3.4 kHz within ±%.4f dB; stopband 4.6-8 kHz at most %.1f dB; 4 kHz %.2f dB; taps (×2^-16, centre 32768) %v",
		ripple, stop, db(halfbandResponse(4000)), halfband())
	if ripple > 0.5 {
		t.Errorf("passband ripple ±%.3f dB, want within ±0.5 dB", ripple)
	}
	if stop > -50 {
		t.Errorf("stopband from 4.6 kHz only %.1f dB down, want ≥ 50", -stop)
	}
	// A half-band filter: exactly 1 at DC, 0 at 8 kHz, 1/2 at 4 kHz.
	for _, tt := range []struct{ f, want float64 }{{0, 1}, {4000, 0.5}, {8000, 0}} {
		if g := halfbandResponse(tt.f); math.Abs(g-tt.want) > 1e-9 {
			t.Errorf("gain at %.0f Hz %.6f, want %g", tt.f, g, tt.want)
		}
	}
}

// halfbandFull returns all 47 taps, in units of 2^-halfbandQ.
func halfbandFull() []int64 {
	h := make([]int64, halfbandTaps)
	h[halfbandDelay] = 1 << (halfbandQ - 1)
	for i, c := range halfband() {
		h[halfbandDelay-1-2*i] = int64(c)
		h[halfbandDelay+1+2*i] = int64(c)
	}
	return h
}

// refUpsample interpolates by direct convolution of the zero-stuffed input
// with the whole filter (no polyphase): the rounded, saturated result, and
// the exact one before saturation.
func refUpsample(in []int16) ([]int16, []float64) {
	h := halfbandFull()
	out := make([]int16, 2*len(in))
	exact := make([]float64, 2*len(in))
	for m := range out {
		var acc int64
		for k, c := range h {
			if j := m - k; j >= 0 && j%2 == 0 {
				acc += 2 * c * int64(in[j/2])
			}
		}
		out[m] = int16(max(-32768, min(32767, (acc+1<<(halfbandQ-1))>>halfbandQ)))
		exact[m] = float64(acc) / (1 << halfbandQ)
	}
	return out, exact
}

// refDownsample filters by direct convolution, then keeps every other
// sample.
func refDownsample(in []int16) ([]int16, []float64) {
	h := halfbandFull()
	out := make([]int16, len(in)/2)
	exact := make([]float64, len(in)/2)
	for n := range out {
		var acc int64
		for k, c := range h {
			if j := 2*n - k; j >= 0 {
				acc += c * int64(in[j])
			}
		}
		out[n] = int16(max(-32768, min(32767, (acc+1<<(halfbandQ-1))>>halfbandQ)))
		exact[n] = float64(acc) / (1 << halfbandQ)
	}
	return out, exact
}

func upsampleAll(u *Upsampler2, in []int16, frame int) []int16 {
	out := make([]int16, 2*len(in))
	for i := 0; i < len(in); i += frame {
		j := min(i+frame, len(in))
		if n := u.Upsample(out[2*i:], in[i:j]); n != 2*(j-i) {
			panic(fmt.Sprintf("Upsample of %d samples returned %d", j-i, n))
		}
	}
	return out
}

func downsampleAll(d *Downsampler2, in []int16, frame int) []int16 {
	out := make([]int16, len(in)/2)
	for i := 0; i < len(in); i += frame {
		j := min(i+frame, len(in))
		if n := d.Downsample(out[i/2:], in[i:j]); n != (j-i)/2 {
			panic(fmt.Sprintf("Downsample of %d samples returned %d", j-i, n))
		}
	}
	return out
}

// Tones last a second; levels are measured over the middle half second,
// which holds a whole number of cycles of every even frequency in Hz (so
// the Goertzel measure has no leakage) and is far from the start, where
// the filter's history is silence.
func TestUpsample2Tones(t *testing.T) {
	for _, f := range []float64{300, 1000, 2000, 3400} {
		in := sine(8000, 8000, f, -6, 0)
		out := upsampleAll(NewUpsampler2(), in, 160)
		inDB := e2e.PCMToneLevel(in[2000:6000], 8000, f)
		gotDB := e2e.PCMToneLevel(out[4000:12000], 16000, f)
		imageDB := e2e.PCMToneLevel(out[4000:12000], 16000, 8000-f)
		t.Logf("%.0f Hz: %.3f dB in, %.3f dB out, image at %.0f Hz %.1f dB down", f, inDB, gotDB, 8000-f, gotDB-imageDB)
		if math.Abs(gotDB-inDB) > 0.5 {
			t.Errorf("%.0f Hz: %.2f dBFS in, %.2f out, want within 0.5 dB", f, inDB, gotDB)
		}
		if inDB-imageDB < 45 {
			t.Errorf("%.0f Hz: image at %.0f Hz only %.1f dB down, want ≥ 45", f, 8000-f, inDB-imageDB)
		}
	}
}

func TestDownsample2Tones(t *testing.T) {
	tests := []struct {
		freq float64
		tol  float64 // dB, for a tone kept
		stop float64 // dB down, for a tone that would alias
	}{
		{freq: 1000, tol: 0.5},
		{freq: 300, tol: 0.5},
		{freq: 3400, tol: 1},
		{freq: 4600, stop: 45}, // would alias to 3.4 kHz
		{freq: 5000, stop: 45}, // to 3 kHz
		{freq: 6000, stop: 45}, // to 2 kHz
		{freq: 7000, stop: 45}, // to 1 kHz
	}
	for _, tt := range tests {
		in := sine(16000, 16000, tt.freq, -6, 0)
		out := downsampleAll(NewDownsampler2(), in, 320)
		inDB := e2e.PCMToneLevel(in[4000:12000], 16000, tt.freq)
		if tt.stop == 0 {
			gotDB := e2e.PCMToneLevel(out[2000:6000], 8000, tt.freq)
			t.Logf("%.0f Hz: %.3f dB in, %.3f dB out", tt.freq, inDB, gotDB)
			if math.Abs(gotDB-inDB) > tt.tol {
				t.Errorf("%.0f Hz: %.2f dBFS in, %.2f out, want within %g dB", tt.freq, inDB, gotDB, tt.tol)
			}
			continue
		}
		alias := 8000 - tt.freq
		aliasDB := e2e.PCMToneLevel(out[2000:6000], 8000, alias)
		t.Logf("%.0f Hz: alias at %.0f Hz %.1f dB down", tt.freq, alias, inDB-aliasDB)
		if inDB-aliasDB < tt.stop {
			t.Errorf("%.0f Hz: alias at %.0f Hz only %.1f dB down, want ≥ %g", tt.freq, alias, inDB-aliasDB, tt.stop)
		}
	}
}

// Frames of any size, 20 ms ones above all, give exactly what one call over
// the whole signal gives, and that is exactly the direct convolution: the
// history crosses calls and the converters' internal chunks intact.
func TestUpsample2Frames(t *testing.T) {
	in := speechLike(8000, 8000)
	want, _ := refUpsample(in)
	u := NewUpsampler2()
	for _, frame := range []int{len(in), 160, 1, 7, 333, 160} {
		u.Reset()
		if got := upsampleAll(u, in, frame); !equalPCM(got, want) {
			t.Errorf("in frames of %d: differs from the direct convolution at sample %d", frame, firstDiff(got, want))
		}
	}
}

func TestDownsample2Frames(t *testing.T) {
	in := speechLike(16000, 16000)
	want, _ := refDownsample(in)
	d := NewDownsampler2()
	for _, frame := range []int{len(in), 320, 2, 14, 666, 320} {
		d.Reset()
		if got := downsampleAll(d, in, frame); !equalPCM(got, want) {
			t.Errorf("in frames of %d: differs from the direct convolution at sample %d", frame, firstDiff(got, want))
		}
	}
}

func firstDiff(a, b []int16) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// Reset returns a converter to silence: after it, a stream comes out as
// from a new converter, whatever went before.
func TestHalfbandReset(t *testing.T) {
	in := speechLike(1600, 8000)
	u := NewUpsampler2()
	want := upsampleAll(u, in, 160)
	u.Upsample(make([]int16, 320), sine(160, 8000, 1000, 0, 0))
	u.Reset()
	if got := upsampleAll(u, in, 160); !equalPCM(got, want) {
		t.Errorf("Upsampler2 after Reset differs at sample %d", firstDiff(got, want))
	}
	wide := speechLike(3200, 16000)
	d := NewDownsampler2()
	wantD := downsampleAll(d, wide, 320)
	d.Downsample(make([]int16, 160), sine(320, 16000, 1000, 0, 0))
	d.Reset()
	if got := downsampleAll(d, wide, 320); !equalPCM(got, wantD) {
		t.Errorf("Downsampler2 after Reset differs at sample %d", firstDiff(got, wantD))
	}
}

// A narrowband leg's audio, up to a wideband mix and back down, comes back
// at its level, 2·halfbandDelay samples at 16 kHz (23 at 8 kHz, 2.875 ms)
// late.
func TestHalfbandRoundTrip(t *testing.T) {
	const delay = halfbandDelay // at 8 kHz: 2·23 at 16 kHz
	if delay != 23 {
		t.Fatalf("delay %d samples, the doc comments say 23", delay)
	}
	up, down := NewUpsampler2(), NewDownsampler2()
	roundTrip := func(in []int16) []int16 {
		up.Reset()
		down.Reset()
		return downsampleAll(down, upsampleAll(up, in, 160), 320)
	}

	in := sine(8000, 8000, 1000, -6, 0)
	out := roundTrip(in)
	inDB := e2e.PCMToneLevel(in[2000:6000], 8000, 1000)
	outDB := e2e.PCMToneLevel(out[2000+delay:6000+delay], 8000, 1000)
	if math.Abs(outDB-inDB) > 0.1 {
		t.Errorf("1 kHz: %.3f dBFS in, %.3f back, want within 0.1 dB", inDB, outDB)
	}
	// Back sample for sample, delay later.
	var sig, errs float64
	for n := 1000; n < len(in)-delay; n++ {
		e := float64(out[n+delay]) - float64(in[n])
		sig += float64(in[n]) * float64(in[n])
		errs += e * e
	}
	if snr := 10 * math.Log10(sig/errs); snr < 40 {
		t.Errorf("1 kHz back %d samples late differs by %.1f dB SNR, want ≥ 40", delay, snr)
	}

	// An impulse comes back symmetric about its delayed position.
	imp := make([]int16, 400)
	imp[100] = 16384
	out = roundTrip(imp)
	peak := 0
	for i, v := range out {
		if abs(int(v)) > abs(int(out[peak])) {
			peak = i
		}
	}
	if peak != 100+delay {
		t.Errorf("impulse at 100 comes back at %d, want %d", peak, 100+delay)
	}
	for k := 1; k <= 2*delay; k++ {
		if a, b := out[peak-k], out[peak+k]; abs(int(a)-int(b)) > 1 {
			t.Errorf("impulse response not symmetric: %d at -%d, %d at +%d", a, k, b, k)
			break
		}
	}
}

// Full-scale square waves make the filter ring past full scale; those
// samples clip at full scale instead of wrapping to the other sign.
func TestHalfbandSaturates(t *testing.T) {
	square := func(n, period int) []int16 {
		s := make([]int16, n)
		for i := range s {
			s[i] = math.MaxInt16
			if i%period >= period/2 {
				s[i] = math.MinInt16
			}
		}
		return s
	}
	tests := []struct {
		name    string
		in      []int16
		convert func([]int16) []int16
		ref     func([]int16) ([]int16, []float64)
	}{
		{"Upsample", square(800, 16), func(in []int16) []int16 { return upsampleAll(NewUpsampler2(), in, 160) }, refUpsample},
		{"Downsample", square(1600, 32), func(in []int16) []int16 { return downsampleAll(NewDownsampler2(), in, 320) }, refDownsample},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.convert(tt.in)
			_, exact := tt.ref(tt.in)
			clipped := 0
			for i, v := range exact {
				want := int16(max(-32768, min(32767, math.Round(v))))
				if v > 32767 || v < -32768 {
					clipped++
				}
				if abs(int(got[i])-int(want)) > 1 {
					t.Fatalf("sample %d: %d, want %d (unclipped %.0f)", i, got[i], want, v)
				}
			}
			if clipped == 0 {
				t.Fatal("the square wave never went past full scale: the test proves nothing")
			}
			t.Logf("%d of %d samples clipped", clipped, len(exact))
		})
	}
}

func TestDownsample2OddPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Downsample of 3 samples did not panic")
		}
	}()
	//lint:ignore SA5012 the odd length is the point of the test
	NewDownsampler2().Downsample(make([]int16, 2), make([]int16, 3))
}

func TestHalfbandAllocs(t *testing.T) {
	u, d := NewUpsampler2(), NewDownsampler2()
	narrow, wide := speechLike(160, 8000), make([]int16, 320)
	if n := testing.AllocsPerRun(100, func() { u.Upsample(wide, narrow) }); n != 0 {
		t.Errorf("Upsample: %.1f allocations per frame", n)
	}
	if n := testing.AllocsPerRun(100, func() { d.Downsample(narrow, wide) }); n != 0 {
		t.Errorf("Downsample: %.1f allocations per frame", n)
	}
}

func ExampleUpsampler2() {
	// A narrowband leg in a room that mixes at 16 kHz: each 20 ms frame
	// from the leg goes up before mixing, and the mix it hears comes down.
	up, down := NewUpsampler2(), NewDownsampler2()
	fromLeg := make([]int16, 160) // 20 ms at 8 kHz, decoded G.711
	wide := make([]int16, 320)    // 20 ms at 16 kHz
	fmt.Println(up.Upsample(wide, fromLeg))
	// … mix wide with the room's other legs …
	toLeg := make([]int16, 160)
	fmt.Println(down.Downsample(toLeg, wide))
	// Output:
	// 320
	// 160
}

func BenchmarkUpsample2(b *testing.B) {
	u := NewUpsampler2()
	in, out := speechLike(160, 8000), make([]int16, 320)
	b.ReportAllocs()
	for b.Loop() {
		u.Upsample(out, in)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/frame")
}

func BenchmarkDownsample2(b *testing.B) {
	d := NewDownsampler2()
	in, out := speechLike(320, 16000), make([]int16, 160)
	b.ReportAllocs()
	for b.Loop() {
		d.Downsample(out, in)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/frame")
}
