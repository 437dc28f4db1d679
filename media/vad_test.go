package media

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// sine returns a frame of a sine at level dBFS.
func sine(n, rate int, freq, level float64, phase int) []int16 {
	amp := 32767 * math.Pow(10, level/20)
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(amp * math.Sin(2*math.Pi*freq*float64(phase+i)/float64(rate)))
	}
	return out
}

func noise(n int, level float64, rng *rand.Rand) []int16 {
	// Uniform noise has mean square amp²/3; a sine amp²/2.
	amp := 32767 * math.Pow(10, level/20) * math.Sqrt(3.0/2)
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(amp * (2*rng.Float64() - 1))
	}
	return out
}

func TestVADLevels(t *testing.T) {
	v := NewVAD(VADConfig{})
	tests := []struct {
		level float64
	}{{0}, {-6}, {-20}, {-40}}
	for _, tt := range tests {
		v.Detect(sine(160, 8000, 1000, tt.level, 0))
		if got := v.Level(); math.Abs(got-tt.level) > 0.2 {
			t.Errorf("sine at %.0f dBFS measured %.2f", tt.level, got)
		}
	}
	v.Detect(make([]int16, 160))
	if v.Level() != -127 {
		t.Errorf("digital silence = %.1f dBFS, want -127", v.Level())
	}
}

func TestVADHangover(t *testing.T) {
	v := NewVAD(VADConfig{Hangover: 100 * time.Millisecond, Margin: -1})
	quiet := make([]int16, 160)
	if v.Detect(quiet) {
		t.Fatal("silence detected as speech")
	}
	if !v.Detect(sine(160, 8000, 300, -20, 0)) {
		t.Fatal("-20 dBFS not detected")
	}
	var got []bool
	for range 7 {
		got = append(got, v.Detect(quiet))
	}
	want := []bool{true, true, true, true, true, false, false}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("after speech: %v, want %v (5 frames of hangover)", got, want)
		}
	}
	if !v.Active() && v.Detect(sine(160, 8000, 300, -60, 0)) {
		t.Error("-60 dBFS detected as speech")
	}
}

func TestVADNoiseFloor(t *testing.T) {
	v := NewVAD(VADConfig{Hangover: -1})
	rng := rand.New(rand.NewPCG(3, 4))
	// A steady -35 dBFS noise (above the -45 threshold) stops counting as
	// speech once the floor has learned it.
	var active int
	for i := range 150 {
		if v.Detect(noise(160, -35, rng)) && i >= 50 {
			active++
		}
	}
	if active > 0 {
		t.Errorf("steady noise active in %d frames after the first second", active)
	}
	// Speech 15 dB above that noise is detected.
	frame := noise(160, -35, rng)
	tone := sine(160, 8000, 200, -20, 0)
	for i := range frame {
		frame[i] += tone[i]
	}
	if !v.Detect(frame) {
		t.Error("speech over the noise floor not detected")
	}
}

func TestVADAllocs(t *testing.T) {
	v := NewVAD(VADConfig{})
	f := sine(160, 8000, 300, -20, 0)
	if a := testing.AllocsPerRun(100, func() { v.Detect(f) }); a != 0 {
		t.Errorf("allocs = %v", a)
	}
}

func BenchmarkVAD(b *testing.B) {
	v := NewVAD(VADConfig{})
	f := speechLike(160, 8000)
	b.ReportAllocs()
	for b.Loop() {
		v.Detect(f)
	}
}

func TestMeanSquare(t *testing.T) {
	tests := []struct {
		in   []int16
		want float64
	}{
		{nil, 0},
		{[]int16{3}, 9},
		{[]int16{1, -1, 1, -1, 2}, 8.0 / 5},
		{[]int16{-32768, -32768, -32768, -32768, -32768, -32768, -32768}, 32768 * 32768},
	}
	for _, tt := range tests {
		if got := MeanSquare(tt.in); got != tt.want {
			t.Errorf("MeanSquare(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
