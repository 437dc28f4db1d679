package media

import (
	"fmt"
	"math"
	"testing"

	"github.com/zaf/g711"
)

// TestG711MatchesReference checks every table entry against zaf/g711, an
// independent implementation of the same ITU-T G.711 algorithms.
func TestG711MatchesReference(t *testing.T) {
	pcm := make([]int16, 1<<16)
	for i := range pcm {
		pcm[i] = int16(i - 32768)
	}
	codes := make([]byte, len(pcm))
	tests := []struct {
		name   string
		law    G711
		encode func(int16) uint8
		decode func(uint8) int16
	}{
		{"PCMU", PCMU, g711.EncodeUlawFrame, g711.DecodeUlawFrame},
		{"PCMA", PCMA, g711.EncodeAlawFrame, g711.DecodeAlawFrame},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.law.Encode(codes, pcm)
			for i, s := range pcm {
				if want := tt.encode(s); codes[i] != want {
					t.Fatalf("encode(%d) = %#02x, want %#02x", s, codes[i], want)
				}
			}
			var all [256]byte
			for c := range all {
				all[c] = byte(c)
			}
			out := make([]int16, 256)
			tt.law.Decode(out, all[:])
			for c, s := range out {
				if want := tt.decode(byte(c)); s != want {
					t.Fatalf("decode(%#02x) = %d, want %d", c, s, want)
				}
			}
		})
	}
}

func TestG711KnownValues(t *testing.T) {
	tests := []struct {
		law    G711
		sample int16
		code   byte
		back   int16
	}{
		// μ-law: zero is 0xFF, the loudest codes are 0x80/0x00 (G.711 table 2a).
		{PCMU, 0, 0xFF, 0},
		{PCMU, -1, 0x7F, 0},
		{PCMU, 32767, 0x80, 32124},
		{PCMU, -32768, 0x00, -32124},
		{PCMU, 1000, 0xCE, 988},
		// A-law: zero is 0xD5 (even bits inverted), the loudest 0xAA/0x2A.
		{PCMA, 0, 0xD5, 8},
		{PCMA, -1, 0x55, -8},
		{PCMA, 32767, 0xAA, 32256},
		{PCMA, -32768, 0x2A, -32256},
		{PCMA, 1000, 0xFA, 1008},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%v/%d", tt.law, tt.sample), func(t *testing.T) {
			var c [1]byte
			tt.law.Encode(c[:], []int16{tt.sample})
			if c[0] != tt.code {
				t.Errorf("encode = %#02x, want %#02x", c[0], tt.code)
			}
			var s [1]int16
			tt.law.Decode(s[:], c[:])
			if s[0] != tt.back {
				t.Errorf("decode(%#02x) = %d, want %d", c[0], s[0], tt.back)
			}
		})
	}
}

func TestG711RoundTrip(t *testing.T) {
	for _, law := range []G711{PCMU, PCMA} {
		t.Run(law.String(), func(t *testing.T) {
			var c [1]byte
			var d [1]int16
			for i := -32768; i <= 32767; i++ {
				s := int16(i)
				law.Encode(c[:], []int16{s})
				law.Decode(d[:], c[:])
				// Logarithmic quantisation: the error stays within half a
				// step, which is at most 1/32 of the magnitude plus the
				// smallest step; beyond the top code values clip.
				lim := max(abs(i)/32+16, 0)
				if abs(i) > 32124 {
					lim = abs(i) - 32124 + 1024
				}
				if e := abs(int(d[0]) - i); e > lim {
					t.Fatalf("%d → %#02x → %d: error %d > %d", i, c[0], d[0], e, lim)
				}
			}
			// Decoding and re-encoding any code is stable.
			for code := range 256 {
				law.Decode(d[:], []byte{byte(code)})
				law.Encode(c[:], d[:])
				var d2 [1]int16
				law.Decode(d2[:], c[:])
				if d2[0] != d[0] {
					t.Fatalf("code %#02x: %d re-encodes to %#02x = %d", code, d[0], c[0], d2[0])
				}
			}
			if law.Decode(d[:], []byte{law.Silence()}); abs(int(d[0])) > 8 {
				t.Errorf("Silence() decodes to %d", d[0])
			}
		})
	}
}

func TestG711LengthsAndAllocs(t *testing.T) {
	pcm := make([]int16, G711FrameSamples)
	buf := make([]byte, 100)
	if n := PCMU.Encode(buf, pcm); n != 100 {
		t.Errorf("Encode into 100 bytes = %d", n)
	}
	if n := PCMA.Decode(pcm, buf[:10]); n != 10 {
		t.Errorf("Decode of 10 bytes = %d", n)
	}
	if PCMU.PayloadType() != 0 || PCMA.PayloadType() != 8 || PCMA.String() != "PCMA" {
		t.Errorf("payload types or names wrong")
	}
	frame := make([]byte, G711FrameSamples)
	allocs := testing.AllocsPerRun(100, func() {
		PCMU.Encode(frame, pcm)
		PCMU.Decode(pcm, frame)
		PCMA.Encode(frame, pcm)
		PCMA.Decode(pcm, frame)
	})
	if allocs != 0 {
		t.Errorf("allocs per frame = %v, want 0", allocs)
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// speechLike returns n samples of a deterministic voiced-speech stand-in: a
// 140 Hz harmonic series with a slow amplitude envelope and a little noise.
func speechLike(n, rate int) []int16 {
	pcm := make([]int16, n)
	seed := uint32(1)
	for i := range pcm {
		t := float64(i) / float64(rate)
		var v float64
		for h := 1; h <= 12; h++ {
			f := 140 * float64(h)
			if f >= float64(rate)/2 {
				break
			}
			v += math.Sin(2*math.Pi*f*t) / float64(h)
		}
		env := 0.5 + 0.5*math.Sin(2*math.Pi*3*t)
		seed = seed*1664525 + 1013904223
		noise := float64(int32(seed)>>20) / 2048
		pcm[i] = int16(6000*env*v + 300*noise)
	}
	return pcm
}

func BenchmarkG711(b *testing.B) {
	pcm := speechLike(G711FrameSamples, G711Rate)
	payload := make([]byte, G711FrameSamples)
	PCMU.Encode(payload, pcm)
	out := make([]int16, G711FrameSamples)
	for _, law := range []G711{PCMU, PCMA} {
		b.Run("encode/"+law.String(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				law.Encode(payload, pcm)
			}
		})
		b.Run("decode/"+law.String(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				law.Decode(out, payload)
			}
		})
	}
	// zaf/g711's per-sample functions, for comparison with the tables.
	b.Run("encode/zaf-ulaw-loop", func(b *testing.B) {
		for b.Loop() {
			for i, s := range pcm {
				payload[i] = g711.EncodeUlawFrame(s)
			}
		}
	})
	b.Run("decode/zaf-ulaw-loop", func(b *testing.B) {
		for b.Loop() {
			for i, c := range payload {
				out[i] = g711.DecodeUlawFrame(c)
			}
		}
	})
}
