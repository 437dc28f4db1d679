package media

import (
	"math/rand/v2"
	"testing"
	"time"
)

// keyTones renders keys as in-band DTMF at rate: each key on for on, then off
// for off, at level dBFS per tone, starting offset samples into the first
// frame.
func keyTones(t *testing.T, rate int, keys string, level float64, on, off time.Duration, offset int) []int16 {
	t.Helper()
	out := make([]int16, offset)
	n := func(d time.Duration) int { return int(int64(d) * int64(rate) / int64(time.Second)) }
	for i := range len(keys) {
		lo, hi := dtmfPair(keys[i])
		tone, err := NewTone(rate, level, lo, hi)
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]int16, n(on))
		tone.Read(buf)
		out = append(out, buf...)
		out = append(out, make([]int16, n(off))...)
	}
	return out
}

// dtmfPair returns the low and high frequency of a key (ITU-T Q.23).
func dtmfPair(key byte) (lo, hi float64) {
	lo, hi, ok := DTMFFrequencies(key)
	if !ok {
		panic("not a DTMF key")
	}
	return lo, hi
}

func detectAll(t *testing.T, rate int, pcm []int16) string {
	t.Helper()
	d, err := NewDTMFDetector(rate)
	if err != nil {
		t.Fatal(err)
	}
	frame := rate / 50
	var got []byte
	for i := 0; i+frame <= len(pcm); i += frame {
		if k, ok := d.Detect(pcm[i : i+frame]); ok {
			got = append(got, k)
		}
	}
	return string(got)
}

func TestDTMFDetector(t *testing.T) {
	const keys = "0123456789*#ABCD"
	tests := []struct {
		name    string
		rate    int
		keys    string
		level   float64
		on, off time.Duration
		offset  int
		g711    bool
		want    string
	}{
		{"all keys", 8000, keys, -10, 100 * time.Millisecond, 60 * time.Millisecond, 0, false, keys},
		{"wideband leg", 16000, keys, -10, 100 * time.Millisecond, 60 * time.Millisecond, 0, false, keys},
		{"through G.711", 8000, keys, -20, 100 * time.Millisecond, 60 * time.Millisecond, 0, true, keys},
		{"not aligned to frames", 8000, "159#", -10, 70 * time.Millisecond, 50 * time.Millisecond, 67, false, "159#"},
		{"quiet keys", 8000, "73", -30, 100 * time.Millisecond, 60 * time.Millisecond, 0, false, "73"},
		{"too quiet", 8000, "73", -45, 100 * time.Millisecond, 60 * time.Millisecond, 0, false, ""},
		{"same key twice", 8000, "55", -10, 100 * time.Millisecond, 60 * time.Millisecond, 0, false, "55"},
		{"too short (20 ms)", 8000, "8", -10, 20 * time.Millisecond, 60 * time.Millisecond, 0, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pcm := keyTones(t, tt.rate, tt.keys, tt.level, tt.on, tt.off, tt.offset)
			if tt.g711 {
				law := make([]byte, len(pcm))
				PCMA.Encode(law, pcm)
				PCMA.Decode(pcm, law)
			}
			if got := detectAll(t, tt.rate, pcm); got != tt.want {
				t.Errorf("detected %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDTMFDetectorRejects(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var noiseAudio []int16
	for range 100 {
		noiseAudio = append(noiseAudio, noise(160, -15, rng)...)
	}
	// One DTMF frequency alone (a dial tone-like single tone) is no key.
	single := make([]int16, 8000)
	tone, _ := NewTone(8000, -10, 697)
	tone.Read(single)
	// Twist beyond 8 dB.
	twisted := make([]int16, 8000)
	lo, _ := NewTone(8000, -5, 770)
	hi, _ := NewTone(8000, -20, 1336)
	lo.Read(twisted)
	hiBuf := make([]int16, 8000)
	hi.Read(hiBuf)
	for i := range twisted {
		twisted[i] += hiBuf[i]
	}
	for name, pcm := range map[string][]int16{
		"speech":      speechLike(8000*3, 8000),
		"noise":       noiseAudio,
		"single tone": single,
		"twist":       twisted,
		"silence":     make([]int16, 8000),
	} {
		if got := detectAll(t, 8000, pcm); got != "" {
			t.Errorf("%s: detected %q", name, got)
		}
	}
	if _, err := NewDTMFDetector(48000); err == nil {
		t.Error("48 kHz accepted")
	}
}

func TestDTMFDetectorAllocs(t *testing.T) {
	d, _ := NewDTMFDetector(8000)
	f := speechLike(160, 8000)
	if a := testing.AllocsPerRun(100, func() { d.Detect(f) }); a != 0 {
		t.Errorf("allocs = %v", a)
	}
}

func BenchmarkDTMFDetect(b *testing.B) {
	d, _ := NewDTMFDetector(8000)
	f := speechLike(160, 8000)
	b.ReportAllocs()
	for b.Loop() {
		d.Detect(f)
	}
}
