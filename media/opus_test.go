package media

import (
	"fmt"
	"math"
	"testing"
	"time"
)

func TestOpusTimestampHelpers(t *testing.T) {
	tests := []struct {
		samples, rate int
		ts            uint32
	}{
		{160, 8000, 960}, // 20 ms at 8 kHz still advances 960 (RFC 7587 §4.1)
		{320, 16000, 960},
		{960, 48000, 960},
		{80, 8000, 480},
		{8000, 8000, 48000},
	}
	for _, tt := range tests {
		if got := OpusSamplesToTimestamp(tt.samples, tt.rate); got != tt.ts {
			t.Errorf("OpusSamplesToTimestamp(%d, %d) = %d, want %d", tt.samples, tt.rate, got, tt.ts)
		}
		if got := OpusTimestampToSamples(tt.ts, tt.rate); got != tt.samples {
			t.Errorf("OpusTimestampToSamples(%d, %d) = %d, want %d", tt.ts, tt.rate, got, tt.samples)
		}
	}
	if got := OpusTimestamp(20 * time.Millisecond); got != 960 {
		t.Errorf("OpusTimestamp(20ms) = %d", got)
	}
	if SamplesPerFrame(8000) != 160 || SamplesPerFrame(16000) != 320 {
		t.Errorf("SamplesPerFrame wrong")
	}
}

func TestOpusConfigErrors(t *testing.T) {
	bad := []OpusEncoderConfig{
		{Rate: 44100},
		{Rate: 0},
		{Rate: 8000, Complexity: 11},
		{Rate: 8000, Bitrate: 100},
	}
	for _, cfg := range bad {
		if _, err := NewOpusEncoder(cfg); err == nil {
			t.Errorf("NewOpusEncoder(%+v) accepted", cfg)
		}
	}
	if _, err := NewOpusDecoder(22050); err == nil {
		t.Errorf("NewOpusDecoder(22050) accepted")
	}
	enc, err := NewOpusEncoder(OpusEncoderConfig{Rate: 8000})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := enc.Encode(make([]byte, OpusMaxPayload), make([]int16, 320)); err == nil {
		t.Errorf("Encode of a 40 ms frame at 8 kHz accepted")
	}
}

// TestOpusRoundTrip encodes speech-like audio at the leg's rate, decodes it at
// the same rate, and checks the level survives (Opus is not waveform-exact,
// so level and correlation are what can be checked).
func TestOpusRoundTrip(t *testing.T) {
	for _, rate := range []int{8000, 16000} {
		for _, cx := range []int{1, 5, 10} {
			t.Run(fmt.Sprintf("%dHz/cx%d", rate, cx), func(t *testing.T) {
				enc, err := NewOpusEncoder(OpusEncoderConfig{Rate: rate, Complexity: cx, FEC: true, PacketLossPercent: 10})
				if err != nil {
					t.Fatal(err)
				}
				dec, err := NewOpusDecoder(rate)
				if err != nil {
					t.Fatal(err)
				}
				frame := SamplesPerFrame(rate)
				in := speechLike(50*frame, rate)
				out := make([]int16, 0, len(in))
				pkt := make([]byte, OpusMaxPayload)
				pcm := make([]int16, frame)
				for i := 0; i < len(in); i += frame {
					n, err := enc.Encode(pkt, in[i:i+frame])
					if err != nil {
						t.Fatal(err)
					}
					if n < 3 || n > OpusMaxPayload {
						t.Fatalf("packet of %d bytes", n)
					}
					m, err := dec.Decode(pcm, pkt[:n])
					if err != nil || m != frame {
						t.Fatalf("Decode = %d, %v", m, err)
					}
					out = append(out, pcm...)
				}
				// Skip the first 200 ms while the codec settles.
				skip := 10 * frame
				inLevel := meanSquareToDBFS(MeanSquare(in[skip:]))
				outLevel := meanSquareToDBFS(MeanSquare(out[skip:]))
				if math.Abs(inLevel-outLevel) > 3 {
					t.Errorf("level %.1f dBFS in, %.1f out", inLevel, outLevel)
				}
			})
		}
	}
}

func TestOpusLossRecovery(t *testing.T) {
	enc, _ := NewOpusEncoder(OpusEncoderConfig{Rate: 8000, FEC: true, PacketLossPercent: 20, Bitrate: 24000})
	dec, _ := NewOpusDecoder(8000)
	in := speechLike(20*160, 8000)
	var pkts [][]byte
	for i := 0; i < len(in); i += 160 {
		p := make([]byte, OpusMaxPayload)
		n, err := enc.Encode(p, in[i:i+160])
		if err != nil {
			t.Fatal(err)
		}
		pkts = append(pkts, p[:n])
	}
	// A generous destination must not make libopus produce more than 20 ms.
	pcm := make([]int16, 6*160)
	for i, p := range pkts {
		switch i {
		case 8: // lost: conceal
			if n, err := dec.Conceal(pcm); err != nil || n != 160 {
				t.Fatalf("Conceal = %d, %v", n, err)
			}
		case 12: // lost, but the next packet is here: FEC
			if n, err := dec.DecodeFEC(pcm, pkts[13]); err != nil || n != 160 {
				t.Fatalf("DecodeFEC = %d, %v", n, err)
			}
		default:
			if n, err := dec.Decode(pcm, p); err != nil || n != 160 {
				t.Fatalf("Decode = %d, %v", n, err)
			}
		}
	}
	if n, err := dec.DecodeFEC(pcm, nil); err != nil || n != 160 {
		t.Errorf("DecodeFEC without a next packet = %d, %v; want concealment", n, err)
	}
	if _, err := dec.Conceal(pcm[:100]); err == nil {
		t.Errorf("Conceal into 100 samples accepted")
	}
}

func TestOpusAllocs(t *testing.T) {
	enc, _ := NewOpusEncoder(OpusEncoderConfig{Rate: 8000})
	dec, _ := NewOpusDecoder(8000)
	in := speechLike(160, 8000)
	pkt := make([]byte, OpusMaxPayload)
	pcm := make([]int16, 160)
	allocs := testing.AllocsPerRun(50, func() {
		n, _ := enc.Encode(pkt, in)
		dec.Decode(pcm, pkt[:n])
		dec.Conceal(pcm)
	})
	if allocs != 0 {
		t.Errorf("allocs per frame = %v, want 0", allocs)
	}
}

// BenchmarkOpusEncode measures one 20 ms frame, as MEDIA-COSTS.md did.
func BenchmarkOpusEncode(b *testing.B) {
	for _, c := range []struct{ rate, cx int }{{8000, 10}, {8000, 5}, {8000, 1}, {16000, 10}, {16000, 5}} {
		b.Run(fmt.Sprintf("%dk/cx%d", c.rate/1000, c.cx), func(b *testing.B) {
			enc, err := NewOpusEncoder(OpusEncoderConfig{Rate: c.rate, Complexity: c.cx})
			if err != nil {
				b.Fatal(err)
			}
			frame := SamplesPerFrame(c.rate)
			in := speechLike(50*frame, c.rate)
			pkt := make([]byte, OpusMaxPayload)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := enc.Encode(pkt, in[i:i+frame]); err != nil {
					b.Fatal(err)
				}
				if i += frame; i == len(in) {
					i = 0
				}
			}
		})
	}
}

// BenchmarkOpusDecode decodes a browser-like 32 kb/s full-band stream to the
// phone leg's rate, as MEDIA-COSTS.md did.
func BenchmarkOpusDecode(b *testing.B) {
	enc, err := NewOpusEncoder(OpusEncoderConfig{Rate: 48000, Complexity: 10, Bitrate: 32000})
	if err != nil {
		b.Fatal(err)
	}
	in := speechLike(50*960, 48000)
	var pkts [][]byte
	for i := 0; i < len(in); i += 960 {
		p := make([]byte, OpusMaxPayload)
		n, err := enc.Encode(p, in[i:i+960])
		if err != nil {
			b.Fatal(err)
		}
		pkts = append(pkts, p[:n])
	}
	for _, rate := range []int{8000, 48000} {
		b.Run(fmt.Sprintf("to%dk", rate/1000), func(b *testing.B) {
			dec, _ := NewOpusDecoder(rate)
			pcm := make([]int16, SamplesPerFrame(rate))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := dec.Decode(pcm, pkts[i]); err != nil {
					b.Fatal(err)
				}
				if i++; i == len(pkts) {
					i = 0
				}
			}
		})
	}
}

// BenchmarkOpusEncodePhone measures one 20 ms frame as a phone leg encodes it
// for browsers (8 kHz, VoIP), by complexity and with or without in-band FEC,
// and reports the round trip's quality as an SNR (dB) of the decoded signal
// against the input, aligned by the codec's delay: the figures behind
// DefaultOpusComplexity and the phone legs' FEC setting.
func BenchmarkOpusEncodePhone(b *testing.B) {
	const rate, frame = 8000, 160
	in := speechLike(250*frame, rate) // 5 s
	for _, fec := range []bool{true, false} {
		for _, cx := range []int{1, 2, 3, 5} {
			b.Run(fmt.Sprintf("cx%d/fec=%v", cx, fec), func(b *testing.B) {
				cfg := OpusEncoderConfig{Rate: rate, Complexity: cx, FEC: fec, PacketLossPercent: 5}
				snr := opusSNR(b, cfg, in)
				enc, err := NewOpusEncoder(cfg)
				if err != nil {
					b.Fatal(err)
				}
				pkt := make([]byte, OpusMaxPayload)
				bytes, frames := 0, 0
				i := 0
				for b.Loop() {
					n, err := enc.Encode(pkt, in[i:i+frame])
					if err != nil {
						b.Fatal(err)
					}
					bytes, frames = bytes+n, frames+1
					if i += frame; i == len(in) {
						i = 0
					}
				}
				b.ReportMetric(float64(bytes)/float64(frames), "B/frame")
				b.ReportMetric(snr, "dB")
			})
		}
	}
}

// opusSNR encodes and decodes in with cfg and returns the SNR in dB of the
// output against the input at the lag (the codec's delay) that fits best.
func opusSNR(tb testing.TB, cfg OpusEncoderConfig, in []int16) float64 {
	enc, err := NewOpusEncoder(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	dec, _ := NewOpusDecoder(cfg.Rate)
	frame := SamplesPerFrame(cfg.Rate)
	out := make([]int16, len(in))
	pkt := make([]byte, OpusMaxPayload)
	for i := 0; i+frame <= len(in); i += frame {
		n, err := enc.Encode(pkt, in[i:i+frame])
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := dec.Decode(out[i:i+frame], pkt[:n]); err != nil {
			tb.Fatal(err)
		}
	}
	skip := len(in) / 10 // let the encoder settle
	best := math.Inf(-1)
	for lag := 0; lag < frame; lag++ {
		var sig, noise float64
		for i := skip; i+lag < len(in); i++ {
			x, y := float64(in[i]), float64(out[i+lag])
			sig += x * x
			noise += (x - y) * (x - y)
		}
		best = max(best, 10*math.Log10(sig/noise))
	}
	return best
}
