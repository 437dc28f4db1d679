package media

import (
	"math"
	"testing"
)

// voiced returns n samples of a 160 Hz (pitch 50 samples at 8 kHz) harmonic
// signal starting at sample offset from.
func voiced(from, n int) []int16 {
	out := make([]int16, n)
	for i := range out {
		t := float64(from+i) / 8000
		v := math.Sin(2*math.Pi*160*t) + 0.5*math.Sin(2*math.Pi*320*t+1) + 0.25*math.Sin(2*math.Pi*480*t+2)
		out[i] = int16(8000 * v)
	}
	return out
}

func TestConcealerContinuesThePitch(t *testing.T) {
	c, err := NewConcealer(8000)
	if err != nil {
		t.Fatal(err)
	}
	for f := range 5 {
		c.Good(voiced(f*160, 160))
	}
	if p := c.pitchPeriod(); p != 50 {
		t.Errorf("pitch period %d samples, want 50 (160 Hz)", p)
	}
	got := make([]int16, 160)
	c.Conceal(got)
	want := voiced(5*160, 160)
	// The first 10 ms (full level) should follow the real continuation.
	var sig, noise float64
	for i := range 80 {
		d := float64(got[i]) - float64(want[i])
		sig += float64(want[i]) * float64(want[i])
		noise += d * d
	}
	if snr := 10 * math.Log10(sig/noise); snr < 15 {
		t.Errorf("concealment SNR against the true continuation %.1f dB, want ≥ 15", snr)
	}
	// No click at the splice: the first step is no bigger than the signal's
	// own steps.
	last := voiced(5*160-1, 1)[0]
	maxStep := 0
	for i := 1; i < 160; i++ {
		maxStep = max(maxStep, abs(int(want[i])-int(want[i-1])))
	}
	if step := abs(int(got[0]) - int(last)); step > maxStep*3/2 {
		t.Errorf("step at the splice %d, signal's largest step %d", step, maxStep)
	}
}

func TestConcealerFadesToSilence(t *testing.T) {
	c, _ := NewConcealer(8000)
	for f := range 5 {
		c.Good(voiced(f*160, 160))
	}
	frame := make([]int16, 160)
	var levels []float64
	for range 4 {
		c.Conceal(frame)
		levels = append(levels, MeanSquare(frame))
	}
	for i := 1; i < len(levels); i++ {
		if levels[i] >= levels[i-1] {
			t.Errorf("frame %d of a loss is not quieter than frame %d: %.0f ≥ %.0f", i, i-1, levels[i], levels[i-1])
		}
	}
	if levels[3] != 0 {
		t.Errorf("after 60 ms of loss the level is %.0f, want silence", levels[3])
	}
}

func TestConcealerRecoveryCrossFades(t *testing.T) {
	c, _ := NewConcealer(8000)
	for f := range 5 {
		c.Good(voiced(f*160, 160))
	}
	lost := make([]int16, 160)
	c.Conceal(lost)
	c.Conceal(lost)
	// Audio resumes with a sign flip, the worst case for a click.
	good := voiced(7*160, 160)
	for i := range good {
		good[i] = -good[i]
	}
	orig := append([]int16(nil), good...)
	c.Good(good)
	if step := abs(int(good[0]) - int(lost[159])); step > 4000 {
		t.Errorf("step into the recovered frame %d: no cross-fade", step)
	}
	for i := 100; i < 160; i++ {
		if good[i] != orig[i] {
			t.Fatalf("sample %d changed beyond the cross-fade", i)
		}
	}
}

func TestConcealerSilenceAndRates(t *testing.T) {
	c, _ := NewConcealer(16000)
	c.Good(make([]int16, 320))
	frame := make([]int16, 320)
	for i := range frame {
		frame[i] = 99
	}
	c.Conceal(frame)
	for _, s := range frame {
		if s != 0 {
			t.Fatalf("concealing after silence produced %d", s)
		}
	}
	if _, err := NewConcealer(100); err == nil {
		t.Error("NewConcealer(100) accepted")
	}
	allocs := testing.AllocsPerRun(50, func() {
		c.Good(frame)
		c.Conceal(frame)
	})
	if allocs != 0 {
		t.Errorf("allocs = %v, want 0", allocs)
	}
}

func BenchmarkConcealer(b *testing.B) {
	c, _ := NewConcealer(8000)
	good := voiced(0, 160)
	frame := make([]int16, 160)
	b.Run("good", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c.Good(good)
		}
	})
	b.Run("conceal-first", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c.Good(good)
			c.Conceal(frame)
		}
	})
}
