package media

import (
	"fmt"
	"testing"
)

func constFrame(n int, v int16) []int16 {
	f := make([]int16, n)
	for i := range f {
		f[i] = v
	}
	return f
}

func TestMixerSumMinusSelf(t *testing.T) {
	const n = 4
	tests := []struct {
		name    string
		in      []int16 // one value per leg; 0 means not talking
		deaf    []bool
		want    []int16 // what each leg hears
		silent  []bool
		sharing bool // listeners (non-talking) share one buffer
	}{
		{
			name:   "three talkers hear the other two",
			in:     []int16{1000, 2000, 3000},
			want:   []int16{5000, 4000, 3000},
			silent: []bool{false, false, false},
		},
		{
			name:   "one talker: the others hear exactly them, they hear nothing",
			in:     []int16{0, 1234, 0},
			want:   []int16{1234, 0, 1234},
			silent: []bool{false, true, false},
		},
		{
			name:   "nobody talks: everyone silent",
			in:     []int16{0, 0, 0},
			want:   []int16{0, 0, 0},
			silent: []bool{true, true, true},
		},
		{
			name:    "listeners share the common mix",
			in:      []int16{100, -300, 0, 0},
			want:    []int16{-300, 100, -200, -200},
			silent:  []bool{false, false, false, false},
			sharing: true,
		},
		{
			name:   "a deaf leg talks but gets no output",
			in:     []int16{500, 700, 0},
			deaf:   []bool{true, false, false},
			want:   []int16{0, 500, 1200},
			silent: []bool{false, false, false},
		},
		{
			name:   "negative sums",
			in:     []int16{-10000, -10000, -5000},
			want:   []int16{-15000, -15000, -20000},
			silent: []bool{false, false, false},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := NewMixer(n)
			if err != nil {
				t.Fatal(err)
			}
			legs := make([]*MixerLeg, len(tt.in))
			for i, v := range tt.in {
				legs[i] = &MixerLeg{In: constFrame(n, v), Talking: v != 0}
				if tt.deaf != nil {
					legs[i].Deaf = tt.deaf[i]
				}
			}
			m.Mix(legs)
			for i, l := range legs {
				if l.Deaf {
					if l.Out != nil || l.Silent {
						t.Errorf("deaf leg %d got output", i)
					}
					continue
				}
				if l.Silent != tt.silent[i] {
					t.Errorf("leg %d Silent = %v, want %v", i, l.Silent, tt.silent[i])
				}
				if l.Silent {
					if l.Out != nil {
						t.Errorf("leg %d silent with output", i)
					}
					continue
				}
				for _, s := range l.Out {
					if s != tt.want[i] {
						t.Errorf("leg %d hears %d, want %d", i, s, tt.want[i])
						break
					}
				}
			}
			if tt.sharing && &legs[2].Out[0] != &legs[3].Out[0] {
				t.Errorf("two listeners got separate buffers")
			}
		})
	}
}

func TestMixerSaturates(t *testing.T) {
	m, _ := NewMixer(2)
	legs := []*MixerLeg{
		{In: []int16{30000, -30000}, Talking: true},
		{In: []int16{30000, -30000}, Talking: true},
		{In: []int16{30000, -30000}, Talking: true},
		{},
	}
	m.Mix(legs)
	out := legs[3].Out // hears 90000
	if out[0] <= softKnee || out[0] == 32767 || out[1] >= -softKnee {
		t.Errorf("sum ±90000 came out as %v: want softly clipped between the knee and full scale", out)
	}
	if out[0] != -out[1] {
		t.Errorf("clipping not symmetric: %v", out)
	}
	if legs[0].Out[0] >= out[0] {
		t.Errorf("a talker hearing two (60000 → %d) should be quieter than a listener hearing three (90000 → %d)", legs[0].Out[0], out[0])
	}
}

func TestSoftClip(t *testing.T) {
	prev := softClip(-1 << 22)
	for v := int32(-1 << 22); v <= 1<<22; v += 7 {
		got := softClip(v)
		if got < prev {
			t.Fatalf("softClip not monotonic at %d: %d < %d", v, got, prev)
		}
		if v >= -softKnee && v <= softKnee && int32(got) != v {
			t.Fatalf("softClip(%d) = %d below the knee", v, got)
		}
		if softClip(-v) != -got && v != -1<<22 {
			t.Fatalf("softClip not odd at %d", v)
		}
		prev = got
	}
	if hi, lo := softClip(1<<30), softClip(-1<<30); hi < 32000 || lo > -32000 || hi != -lo {
		t.Errorf("extreme sums: %d, %d; want near full scale, symmetric", hi, lo)
	}
}

func TestMixerStatsAndAllocs(t *testing.T) {
	m, _ := NewMixer(160)
	legs := []*MixerLeg{
		{In: constFrame(160, 1), Talking: true},
		{In: constFrame(160, 2), Talking: true},
		{In: constFrame(160, 3)},
		{In: constFrame(160, 4)},
	}
	m.Mix(legs)
	s := m.Stats()
	want := MixerStats{Frames: 1, InputsMixed: 2, InputsSkipped: 2, OutputsMixed: 3, OutputsShared: 2}
	if s != want {
		t.Errorf("stats %+v, want %+v", s, want)
	}
	if a := testing.AllocsPerRun(100, func() { m.Mix(legs) }); a != 0 {
		t.Errorf("allocs per Mix = %v, want 0", a)
	}
	defer func() {
		if recover() == nil {
			t.Error("a talking leg with a short frame did not panic")
		}
	}()
	m.Mix([]*MixerLeg{{In: make([]int16, 10), Talking: true}})
}

func ExampleMixer() {
	m, _ := NewMixer(4) // 160 at 8 kHz; 4 samples keep the example short
	alice := &MixerLeg{In: []int16{100, 100, 100, 100}, Talking: true}
	bob := &MixerLeg{In: []int16{20, 20, 20, 20}, Talking: true}
	carol := &MixerLeg{} // listening
	dave := &MixerLeg{}  // listening

	// Each tick: set In and Talking (decode + VAD), Mix, then encode Out.
	m.Mix([]*MixerLeg{alice, bob, carol, dave})
	fmt.Println("alice hears", alice.Out)
	fmt.Println("bob hears", bob.Out)
	fmt.Println("carol hears", carol.Out, "shared with dave:", &carol.Out[0] == &dave.Out[0])

	bob.Talking = false
	alice.Talking = false
	m.Mix([]*MixerLeg{alice, bob, carol, dave})
	fmt.Println("nobody talks; carol silent:", carol.Silent)
	// Output:
	// alice hears [20 20 20 20]
	// bob hears [100 100 100 100]
	// carol hears [120 120 120 120] shared with dave: true
	// nobody talks; carol silent: true
}

// BenchmarkMixer mixes one 8 kHz frame for N legs, every leg talking (the
// worst case, as MEDIA-COSTS.md measured) and a typical three talkers.
func BenchmarkMixer(b *testing.B) {
	for _, c := range []struct{ n, talkers int }{{10, 10}, {50, 50}, {10, 3}, {50, 3}} {
		b.Run(fmt.Sprintf("N=%d/talking=%d", c.n, c.talkers), func(b *testing.B) {
			m, _ := NewMixer(160)
			// Every leg a different stretch of speech at about -20 dBFS, so
			// the sums look like a real (if very loud) room.
			speech := speechLike(160*c.n, 8000)
			legs := make([]*MixerLeg, c.n)
			for i := range legs {
				in := speech[160*i : 160*(i+1)]
				for k := range in {
					in[k] /= 3
				}
				legs[i] = &MixerLeg{In: in, Talking: i < c.talkers}
			}
			m.Mix(legs)
			b.ReportAllocs()
			for b.Loop() {
				m.Mix(legs)
			}
		})
	}
}
