package media

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"testing"

	"github.com/dialroom/dialroom/e2e"
)

// g722Delay is the codec's end-to-end delay in samples at 16 kHz, found by
// cross-correlation: the transmit and receive QMFs are 24-tap linear-phase
// filters (11.5 samples each), less one sample because the encoder codes
// each pair at its later sample while the decoder emits its pair earlier
// sample first.
const g722Delay = 22

// g722Sine returns n samples at 16 kHz of a sine at freq Hz whose peak is
// dbfs relative to 32767, clipped to the 16-bit range when dbfs > 0.
func g722Sine(n int, freq, dbfs float64) []int16 {
	amp := 32767 * math.Pow(10, dbfs/20)
	pcm := make([]int16, n)
	for i := range pcm {
		v := math.Round(amp * math.Sin(2*math.Pi*freq*float64(i)/G722Rate))
		pcm[i] = int16(min(max(v, -32768), 32767))
	}
	return pcm
}

// g722Noise returns n deterministic pseudo-random samples (a 32-bit LCG)
// shifted right by shift, so shift 0 is full-scale white noise.
func g722Noise(n int, seed uint32, shift uint) []int16 {
	pcm := make([]int16, n)
	for i := range pcm {
		seed = seed*1664525 + 1013904223
		pcm[i] = int16(seed>>16) >> shift
	}
	return pcm
}

// g722KATInput is integer-only (so identical on every platform): a 400 Hz
// triangle of peak 10000 plus white noise of peak 4096, which exercises both
// bands.
func g722KATInput(n int) []int16 {
	pcm := g722Noise(n, 12345, 3)
	for i := range pcm {
		t := i % 40
		if t >= 20 {
			t = 40 - t
		}
		pcm[i] += int16(t*1000 - 10000)
	}
	return pcm
}

// g722RoundTrip encodes pcm with a fresh encoder and decodes the result with
// a fresh decoder.
func g722RoundTrip(tb testing.TB, pcm []int16) (payload []byte, out []int16) {
	tb.Helper()
	payload = make([]byte, len(pcm)/2)
	if n := NewG722Encoder().Encode(payload, pcm); n != len(pcm)/2 {
		tb.Fatalf("Encode wrote %d bytes, want %d", n, len(pcm)/2)
	}
	out = make([]int16, 2*len(payload))
	if n := NewG722Decoder().Decode(out, payload); n != len(out) {
		tb.Fatalf("Decode wrote %d samples, want %d", n, len(out))
	}
	return payload, out
}

// g722Align returns the lag in [0, 64) at which out best correlates with in.
func g722Align(in, out []int16) int {
	best, bestLag := math.Inf(-1), 0
	for lag := range 64 {
		var c float64
		for i := 0; i+lag < len(out) && i < len(in); i++ {
			c += float64(in[i]) * float64(out[i+lag])
		}
		if c > best {
			best, bestLag = c, lag
		}
	}
	return bestLag
}

// g722SNR returns the ratio in dB of in's power to the power of the
// difference between in and out delayed by lag, ignoring the first skip
// samples while the quantisers adapt.
func g722SNR(in, out []int16, lag, skip int) float64 {
	var sig, noise float64
	for i := skip; i < len(in) && i+lag < len(out); i++ {
		s := float64(in[i])
		e := float64(out[i+lag]) - s
		sig += s * s
		noise += e * e
	}
	if noise == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(sig/noise)
}

func TestG722ToneRoundTrip(t *testing.T) {
	tests := []struct {
		freq   float64
		minSNR float64 // dB; the lower band's 6-bit ADPCM does far better than the upper's 2-bit
	}{
		{440, 20},
		{1000, 20},
		{3000, 20},
		{6000, 15},
		{7000, 12},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%gHz", tt.freq), func(t *testing.T) {
			in := g722Sine(G722Rate, tt.freq, -10)
			_, out := g722RoundTrip(t, in)
			if lag := g722Align(in, out); lag != g722Delay {
				t.Fatalf("delay %d samples, want %d", lag, g722Delay)
			}
			snr := g722SNR(in, out, g722Delay, G722Rate/10)
			t.Logf("%g Hz: SNR %.1f dB", tt.freq, snr)
			if snr < tt.minSNR {
				t.Errorf("SNR %.1f dB, want ≥ %g", snr, tt.minSNR)
			}
			// The tone must come out at its own frequency and level: for
			// 6 and 7 kHz this is the higher band's job, and a wrong QMF
			// sign would instead put it at its image 8000−f.
			tail := out[G722Rate/10:]
			level := e2e.PCMToneLevel(tail, G722Rate, tt.freq)
			if math.Abs(level+10) > 1.5 {
				t.Errorf("level at %g Hz is %.1f dBFS, want -10 ± 1.5", tt.freq, level)
			}
			if tt.freq > 4000 {
				image := e2e.PCMToneLevel(tail, G722Rate, 8000-tt.freq)
				if image > level-25 {
					t.Errorf("image at %g Hz is %.1f dBFS, only %.1f dB below the tone", 8000-tt.freq, image, level-image)
				}
			}
		})
	}
}

func TestG722Silence(t *testing.T) {
	in := make([]int16, G722Rate)
	payload, out := g722RoundTrip(t, in)
	// For all-zero input both quantisers start at their smallest step,
	// where a zero error falls in the lower band's interval 4 (code 58) and
	// the higher band's inner positive interval (code 3), so the stream
	// opens with 44 bytes of 0xFA before the predictors' tiny offsets make
	// it wander (libspandsp 0.0.6 gives the same bytes).
	for i, c := range payload[:44] {
		if c != 0xFA {
			t.Fatalf("byte %d is %#x, want 0xfa", i, c)
		}
	}
	if payload[44] == 0xFA {
		t.Errorf("byte 44 is 0xfa, want the first departure from it")
	}
	for i, v := range out {
		if v < -4 || v > 4 {
			t.Fatalf("sample %d is %d, want |x| ≤ 4", i, v)
		}
	}
}

func TestG722Loud(t *testing.T) {
	square := make([]int16, G722Rate)
	for i := range square {
		square[i] = 32767
		if (i/16)%2 == 1 { // 500 Hz
			square[i] = -32768
		}
	}
	tests := []struct {
		name   string
		in     []int16
		freq   float64 // 0: no tone to check
		minSNR float64
		tol    float64 // dB between input and output level at freq
	}{
		{"sine 1 kHz 0 dBFS", g722Sine(G722Rate, 1000, 0), 1000, 30, 0.5},
		{"sine 1 kHz clipped +6 dB", g722Sine(G722Rate, 1000, 6), 1000, 20, 0.5},
		// The band-limited square overshoots full scale by ~18 % (Gibbs),
		// so the band limiters and the output saturation shave about 1 dB
		// off its fundamental.
		{"square 500 Hz full scale", square, 500, 8, 1.5},
		{"noise full scale", g722Noise(G722Rate, 7, 0), 0, 4, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, out := g722RoundTrip(t, tt.in)
			snr := g722SNR(tt.in, out, g722Delay, G722Rate/10)
			t.Logf("SNR %.1f dB", snr)
			// Wraparound anywhere in the arithmetic shows up as huge
			// errors of the wrong sign, and the SNR collapses below 0.
			if snr < tt.minSNR {
				t.Errorf("SNR %.1f dB, want ≥ %g", snr, tt.minSNR)
			}
			if tt.freq == 0 {
				return
			}
			want := e2e.PCMToneLevel(tt.in[G722Rate/10:], G722Rate, tt.freq)
			got := e2e.PCMToneLevel(out[G722Rate/10:], G722Rate, tt.freq)
			if math.Abs(got-want) > tt.tol {
				t.Errorf("level at %g Hz is %.1f dBFS, input has %.1f", tt.freq, got, want)
			}
		})
	}
}

func TestG722Chunked(t *testing.T) {
	in := g722KATInput(G722Rate)
	whole, wholeOut := g722RoundTrip(t, in)

	const frame = 320 // 20 ms
	enc, dec := NewG722Encoder(), NewG722Decoder()
	chunked := make([]byte, 0, len(whole))
	chunkedOut := make([]int16, 0, len(wholeOut))
	buf := make([]byte, frame/2)
	pcm := make([]int16, frame)
	for off := 0; off < len(in); off += frame {
		n := enc.Encode(buf, in[off:off+frame])
		chunked = append(chunked, buf[:n]...)
		m := dec.Decode(pcm, buf[:n])
		chunkedOut = append(chunkedOut, pcm[:m]...)
	}
	if string(chunked) != string(whole) {
		t.Error("encoding in 20 ms chunks differs from encoding in one call")
	}
	for i := range wholeOut {
		if chunkedOut[i] != wholeOut[i] {
			t.Fatalf("sample %d: decoding in chunks gives %d, in one call %d", i, chunkedOut[i], wholeOut[i])
		}
	}
}

func TestG722Reset(t *testing.T) {
	in := g722KATInput(4000)
	want, wantOut := g722RoundTrip(t, in)

	enc, dec := NewG722Encoder(), NewG722Decoder()
	junk := g722Noise(2000, 99, 0)
	junkBytes := make([]byte, len(junk)/2)
	enc.Encode(junkBytes, junk)
	dec.Decode(make([]int16, len(junk)), junkBytes)
	enc.Reset()
	dec.Reset()

	got := make([]byte, len(in)/2)
	enc.Encode(got, in)
	if string(got) != string(want) {
		t.Error("encoding after Reset differs from a fresh encoder")
	}
	gotOut := make([]int16, len(in))
	dec.Decode(gotOut, got)
	for i := range wantOut {
		if gotOut[i] != wantOut[i] {
			t.Fatalf("sample %d: decoding after Reset gives %d, a fresh decoder %d", i, gotOut[i], wantOut[i])
		}
	}
}

// TestG722KnownAnswer pins bitstreams and decoded samples by SHA-256. Every
// digest was checked against libspandsp 0.0.6 (the G.722 implementation
// baresip uses), run as a separate program on the same input: its encoder
// gave the same bytes and its decoder the same samples, except that on the
// random payload it wraps the 106 decoded samples that exceed 16 bits where
// this decoder saturates them (its band states stayed identical, as every
// later sample agreed).
func TestG722KnownAnswer(t *testing.T) {
	katBytes := g722EncodeBytes(g722KATInput(4 * G722Rate))
	random := make([]byte, G722Rate)
	seed := uint32(4242)
	for i := range random {
		seed = seed*1664525 + 1013904223
		random[i] = byte(seed >> 24)
	}
	tests := []struct {
		name string
		got  []byte
		want string
	}{
		{"encode triangle+noise", katBytes, "dd016c8eb5bed6b80b32852a7ccb7f832ce93d5849b6027b0d5646c2d595a58e"},
		{"decode triangle+noise", g722DecodeRaw(katBytes), "c5dbbcf20098876aae52042840172b258ba58eee802ff0ae1b22d3ed6447472e"},
		{"encode full-scale noise", g722EncodeBytes(g722Noise(4*G722Rate, 7, 0)), "5b572bb1d978c548cf9ad2f9aeec9d1bbc3f7e37e3a75a0cd4c98db8aecbe35c"},
		{"decode random payload", g722DecodeRaw(random), "7fb846c32841ac595d9feb3047b2ddf32cd1f2e7b7680459dc9bc72e1363cbf7"},
	}
	for _, tt := range tests {
		if got := g722Digest(tt.got); got != tt.want {
			t.Errorf("%s: digest %s, want %s", tt.name, got, tt.want)
		}
	}
}

// g722EncodeBytes encodes pcm with a fresh encoder.
func g722EncodeBytes(pcm []int16) []byte {
	b := make([]byte, len(pcm)/2)
	NewG722Encoder().Encode(b, pcm)
	return b
}

// g722DecodeRaw decodes payload with a fresh decoder and returns the samples
// as little-endian bytes.
func g722DecodeRaw(payload []byte) []byte {
	pcm := make([]int16, 2*len(payload))
	NewG722Decoder().Decode(pcm, payload)
	raw := make([]byte, 2*len(pcm))
	for i, v := range pcm {
		binary.LittleEndian.PutUint16(raw[2*i:], uint16(v))
	}
	return raw
}

func g722Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// TestG722ChunkSizes codes the known-answer streams in calls of many sizes
// and checks that they give exactly what one call gives (which
// TestG722KnownAnswer pins). The sizes reach the paths whole 20 ms frames
// miss: Encode calls shorter than the 11 pairs whose filter windows reach
// into the history, odd numbers of pairs (the QMF works on two at a time),
// and calls spanning several internal blocks with a partial one at the end.
func TestG722ChunkSizes(t *testing.T) {
	sizes := []int{1, 2, 3, 5, 10, 11, 12, 13, 22, 23, 159, 160, 161, 163, 319, 320, 321, 482, 1000}
	in := g722KATInput(4 * G722Rate)
	whole := g722EncodeBytes(in)
	random := make([]byte, G722Rate)
	for i := range random {
		random[i] = byte(i*131 + i*i*7)
	}
	for _, size := range sizes {
		enc := NewG722Encoder()
		got := make([]byte, len(whole))
		for off, i := 0, 0; off < len(got); i++ {
			n := min(sizes[(i+size)%len(sizes)], len(got)-off) // vary sizes within a stream too
			if i == 0 {
				n = min(size, len(got))
			}
			enc.Encode(got[off:off+n], in[2*off:2*(off+n)])
			off += n
		}
		if string(got) != string(whole) {
			t.Errorf("encoding in calls of %d pairs differs from one call", size)
		}
		for _, payload := range [][]byte{whole, random} {
			want := g722DecodeRaw(payload)
			dec := NewG722Decoder()
			pcm := make([]int16, 2*len(payload))
			for off, i := 0, 0; off < len(payload); i++ {
				n := min(sizes[(i+size)%len(sizes)], len(payload)-off)
				if i == 0 {
					n = min(size, len(payload))
				}
				dec.Decode(pcm[2*off:], payload[off:off+n])
				off += n
			}
			raw := make([]byte, 2*len(pcm))
			for i, v := range pcm {
				binary.LittleEndian.PutUint16(raw[2*i:], uint16(v))
			}
			if string(raw) != string(want) {
				t.Errorf("decoding in calls of %d bytes differs from one call", size)
			}
		}
	}
}

// g722QMF holds the transmit and receive QMF coefficients h0, h2, …, h22
// as the Recommendation lists them. The filter is symmetric, so the odd taps
// h1, h3, …, h23 are the same numbers in reverse order.
var g722QMF = [12]int32{3, -11, 12, 32, -210, 951, 3876, -805, 362, -156, 53, -11}

// TestG722Filter checks g722Filter, with its packed arithmetic and
// written-out coefficients, against the plain 24-tap sums over g722QMF on
// full-scale extremes and noise, for odd and even numbers of pairs.
func TestG722Filter(t *testing.T) {
	w := g722Noise(2*g722Block+g722HistLen+2, 5, 0)
	for i := range 40 {
		w[i] = -32768 // most negative everywhere, then most positive
		if i >= 20 {
			w[i] = 32767
		}
	}
	for _, pairs := range []int{1, 2, 3, 11, 12, 159, 160} {
		y := make([]int32, 2*pairs)
		for off := range 3 {
			g722Filter(y, w[off:])
			for k := range pairs {
				var even, odd int32
				for i, c := range g722QMF {
					even += c * int32(w[off+2*k+23-2*i])
					odd += c * int32(w[off+2*k+2*i])
				}
				if y[2*k] != even || y[2*k+1] != odd {
					t.Fatalf("%d pairs from %d: pair %d gives %d, %d, want %d, %d",
						pairs, off, k, y[2*k], y[2*k+1], even, odd)
				}
			}
		}
	}
}

// TestG722Tables derives the merged and padded tables from the
// Recommendation's own.
func TestG722Tables(t *testing.T) {
	q6 := [30]int32{
		0, 35, 72, 110, 150, 190, 233, 276, 323, 370, 422, 473, 530, 587, 650,
		714, 786, 858, 940, 1023, 1121, 1219, 1339, 1458, 1612, 1765, 1980, 2195,
		2557, 2919,
	}
	iln := [31]uint8{
		0, 63, 62, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16,
		15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4,
	}
	ilp := [31]uint8{
		0, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49, 48, 47, 46, 45, 44,
		43, 42, 41, 40, 39, 38, 37, 36, 35, 34, 33, 32,
	}
	rl42 := [16]int{0, 7, 6, 5, 4, 3, 2, 1, 7, 6, 5, 4, 3, 2, 1, 0}
	wl := [8]int32{-60, -30, 58, 172, 334, 538, 1198, 3042}
	ihn, ihp := [3]uint8{0, 1, 0}, [3]uint8{0, 3, 2}
	rh2 := [4]int{2, 1, 2, 1}
	wh := [3]int32{0, -214, 798}

	for mil := 1; mil < 32; mil++ {
		if want := q6[min(mil, 29)]; g722Q6Pad[mil] != want {
			t.Errorf("g722Q6Pad[%d] = %d, want %d", mil, g722Q6Pad[mil], want)
		}
		if mil > 30 {
			continue
		}
		if g722IL[0][mil] != ilp[mil] || g722IL[1][mil] != iln[mil] {
			t.Errorf("g722IL[·][%d] = %d, %d, want ILP %d, ILN %d", mil, g722IL[0][mil], g722IL[1][mil], ilp[mil], iln[mil])
		}
	}
	for i, r := range rl42 {
		if g722WL42[i] != wl[r] {
			t.Errorf("g722WL42[%d] = %d, want WL(RL42) = %d", i, g722WL42[i], wl[r])
		}
	}
	for mih := 1; mih < 3; mih++ {
		if g722IH[0][mih] != ihp[mih] || g722IH[1][mih] != ihn[mih] {
			t.Errorf("g722IH[·][%d] = %d, %d, want IHP %d, IHN %d", mih, g722IH[0][mih], g722IH[1][mih], ihp[mih], ihn[mih])
		}
	}
	for i, r := range rh2 {
		if g722WH2[i] != wh[r] {
			t.Errorf("g722WH2[%d] = %d, want WH(RH2) = %d", i, g722WH2[i], wh[r])
		}
	}
}

func TestG722Lengths(t *testing.T) {
	enc, dec := NewG722Encoder(), NewG722Decoder()
	dst := make([]byte, 10)
	if n := enc.Encode(dst, make([]int16, 7)); n != 3 {
		t.Errorf("Encode of 7 samples wrote %d bytes, want 3", n)
	}
	if n := enc.Encode(dst, nil); n != 0 {
		t.Errorf("Encode of nothing wrote %d bytes", n)
	}
	pcm := make([]int16, 20)
	if n := dec.Decode(pcm, dst[:5]); n != 10 {
		t.Errorf("Decode of 5 bytes wrote %d samples, want 10", n)
	}
	// Every byte value is a valid codeword.
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	dec.Decode(make([]int16, 512), all)
}

func TestG722Allocs(t *testing.T) {
	enc, dec := NewG722Encoder(), NewG722Decoder()
	in := g722KATInput(320)
	payload := make([]byte, 160)
	out := make([]int16, 320)
	if n := testing.AllocsPerRun(100, func() { enc.Encode(payload, in) }); n != 0 {
		t.Errorf("Encode allocates %v times per call", n)
	}
	if n := testing.AllocsPerRun(100, func() { dec.Decode(out, payload) }); n != 0 {
		t.Errorf("Decode allocates %v times per call", n)
	}
}

// BenchmarkG722Encode measures one 20 ms frame (320 samples) per op.
func BenchmarkG722Encode(b *testing.B) {
	enc := NewG722Encoder()
	in := g722KATInput(320)
	payload := make([]byte, 160)
	b.ReportAllocs()
	for b.Loop() {
		enc.Encode(payload, in)
	}
}

// BenchmarkG722Decode measures one 20 ms frame (160 bytes) per op.
func BenchmarkG722Decode(b *testing.B) {
	dec := NewG722Decoder()
	payload := make([]byte, 160)
	NewG722Encoder().Encode(payload, g722KATInput(320))
	out := make([]int16, 320)
	b.ReportAllocs()
	for b.Loop() {
		dec.Decode(out, payload)
	}
}
