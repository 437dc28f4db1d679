package e2e

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestToneLevel checks the Goertzel measurements on files of known content:
// a tone's level and frequency, the absence of other tones, a mix, silence,
// and a recording whose header was never finalised.
func TestToneLevel(t *testing.T) {
	dir := t.TempDir()
	tone := func(name string, hz float64, rate, channels int) string {
		path := filepath.Join(dir, name)
		if err := WriteToneWAV(path, hz, 1.5, rate, channels); err != nil {
			t.Fatal(err)
		}
		return path
	}

	for _, tc := range []struct {
		name           string
		path           string
		hz             float64
		absent         []float64
		rate, channels int
	}{
		{"1k-8k", tone("1k.wav", 1000, 8000, 1), 1000, []float64{440, 660, 880}, 8000, 1},
		{"440-8k", tone("440.wav", 440, 8000, 1), 440, []float64{660, 880, 1000}, 8000, 1},
		{"660-48k-stereo", tone("660.wav", 660, 48000, 2), 660, []float64{440, 880, 1000}, 48000, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ToneLevel(tc.path, tc.hz, 200*time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(got-ToneLevelDBFS) > 0.5 {
				t.Errorf("level at %g Hz: %.2f dBFS, want %.0f ± 0.5", tc.hz, got, ToneLevelDBFS)
			}
			for _, f := range tc.absent {
				if l, err := ToneLevel(tc.path, f, 200*time.Millisecond); err != nil || l > ToneLevelDBFS-40 {
					t.Errorf("level at %g Hz: %.1f dBFS (%v), want below %.0f", f, l, err, ToneLevelDBFS-40)
				}
			}
			hz, db, err := DominantFrequency(tc.path, 200*time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(hz-tc.hz) > 1 || math.Abs(db-ToneLevelDBFS) > 0.5 {
				t.Errorf("dominant: %.2f Hz at %.2f dBFS, want %g Hz at %.0f dBFS", hz, db, tc.hz, ToneLevelDBFS)
			}
		})
	}

	t.Run("mix", func(t *testing.T) {
		// 440 Hz at -12 dBFS plus 1000 Hz at -24 dBFS, written by hand.
		const rate = 8000
		x := make([]int16, rate)
		for i := range x {
			s := 0.25*math.Sin(2*math.Pi*440*float64(i)/rate) + 0.0625*math.Sin(2*math.Pi*1000*float64(i)/rate)
			x[i] = int16(math.Round(s * 32767))
		}
		path := filepath.Join(dir, "mix.wav")
		writePCM(t, path, x, rate, false)
		for hz, want := range map[float64]float64{440: -12.04, 1000: -24.08} {
			if got, err := ToneLevel(path, hz, 0); err != nil || math.Abs(got-want) > 0.3 {
				t.Errorf("level at %g Hz: %.2f dBFS (%v), want %.2f", hz, got, err, want)
			}
		}
		if hz, _, err := DominantFrequency(path, 0); err != nil || math.Abs(hz-440) > 1 {
			t.Errorf("dominant %.2f Hz (%v), want 440", hz, err)
		}
	})

	t.Run("silence-and-open-header", func(t *testing.T) {
		path := filepath.Join(dir, "open.wav")
		writePCM(t, path, make([]int16, 4000), 8000, true)
		w, err := ReadWAV(path)
		if err != nil {
			t.Fatal(err)
		}
		if len(w.Samples) != 4000 || w.Rate != 8000 {
			t.Errorf("read %d samples at %d Hz, want 4000 at 8000", len(w.Samples), w.Rate)
		}
		if got, err := ToneLevel(path, 1000, 0); err != nil || got != SilenceDBFS {
			t.Errorf("silence: %v dBFS (%v), want %v", got, err, SilenceDBFS)
		}
	})

	t.Run("errors", func(t *testing.T) {
		short := tone("short.wav", 1000, 8000, 1)
		if _, err := ToneLevel(short, 1000, 2*time.Second); err == nil {
			t.Error("skipping past the end: no error")
		}
		if _, err := ToneLevel(short, 4000, 0); err == nil {
			t.Error("frequency at Nyquist: no error")
		}
		if _, err := ToneLevel(filepath.Join(dir, "missing.wav"), 1000, 0); err == nil {
			t.Error("missing file: no error")
		}
		bad := filepath.Join(dir, "bad.wav")
		os.WriteFile(bad, []byte("RIFF\x00\x00\x00\x00WAVEjunk"), 0o644)
		if _, err := ReadWAV(bad); err == nil {
			t.Error("no fmt chunk: no error")
		}
	})
}

// writePCM writes 16-bit mono samples as a WAV file; with open, the data
// size is 0, as a recorder leaves it until it closes the file.
func writePCM(t *testing.T, path string, x []int16, rate int, open bool) {
	t.Helper()
	le := binary.LittleEndian
	dataLen := uint32(2 * len(x))
	if open {
		dataLen = 0
	}
	b := []byte("RIFF")
	b = le.AppendUint32(b, 36+dataLen)
	b = append(b, "WAVEfmt "...)
	b = le.AppendUint32(b, 16)
	b = le.AppendUint16(b, 1)
	b = le.AppendUint16(b, 1)
	b = le.AppendUint32(b, uint32(rate))
	b = le.AppendUint32(b, uint32(2*rate))
	b = le.AppendUint16(b, 2)
	b = le.AppendUint16(b, 16)
	b = append(b, "LIST"...) // a chunk readers must skip
	b = le.AppendUint32(b, 3)
	b = append(b, "abc\x00"...)
	b = append(b, "data"...)
	b = le.AppendUint32(b, dataLen)
	for _, v := range x {
		b = le.AppendUint16(b, uint16(v))
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
