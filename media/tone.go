package media

import (
	"fmt"
	"io"
	"math"
	"time"
)

// PCM is mono 16-bit linear audio; its rate travels beside it.
type PCM []int16

// Source is audio played into a leg one frame per tick: tones, beeps and
// looped prompts. Read fills dst like io.Reader does, with samples: it returns
// len(dst) until the source ends, then fewer with io.EOF. A Source belongs to
// the tick that plays it (not safe for concurrent use) and does not allocate.
type Source interface {
	Read(dst []int16) (int, error)
}

// ReadFrame reads one whole frame from src into dst, padding with silence
// after the end. done reports that the source has ended.
func ReadFrame(src Source, dst []int16) (done bool) {
	n, err := src.Read(dst)
	clear(dst[n:])
	return err != nil
}

// Tone is an endless tone of one or two frequencies (a dial tone, a ringback,
// a DTMF pair), each at the same level.
type Tone struct {
	n      int
	amp    float64
	re, im [2]float64 // phasors
	cr, ci [2]float64 // per-sample rotations
}

// NewTone returns a tone at rate of freqs (one or two, each below rate/2) with
// each component's peak at level dBFS (0 is full scale; two components at
// -6 dBFS together reach full scale).
func NewTone(rate int, level float64, freqs ...float64) (*Tone, error) {
	if rate <= 0 || len(freqs) == 0 || len(freqs) > 2 || level > 0 {
		return nil, fmt.Errorf("media: tone at %d Hz of %v at %.1f dBFS: want one or two frequencies at ≤ 0 dBFS", rate, freqs, level)
	}
	t := &Tone{n: len(freqs), amp: 32767 * math.Pow(10, level/20)}
	for i, f := range freqs {
		if f <= 0 || f >= float64(rate)/2 {
			return nil, fmt.Errorf("media: tone frequency %.1f Hz: want between 0 and %d", f, rate/2)
		}
		w := 2 * math.Pi * f / float64(rate)
		t.re[i], t.im[i] = 1, 0
		t.cr[i], t.ci[i] = math.Cos(w), math.Sin(w)
	}
	return t, nil
}

// Read fills dst with the next samples of the tone; it never ends.
func (t *Tone) Read(dst []int16) (int, error) {
	for i := range dst {
		var v float64
		for k := range t.n {
			re := t.re[k]*t.cr[k] - t.im[k]*t.ci[k]
			im := t.re[k]*t.ci[k] + t.im[k]*t.cr[k]
			t.re[k], t.im[k] = re, im
			v += im
		}
		dst[i] = int16(math.Round(max(-32768, min(32767, v*t.amp))))
	}
	// Rotating a phasor by multiplication lets its length drift by rounding;
	// pull it back to 1 once per call (first-order, enough for tiny errors).
	for k := range t.n {
		g := (3 - (t.re[k]*t.re[k] + t.im[k]*t.im[k])) / 2
		t.re[k] *= g
		t.im[k] *= g
	}
	return len(dst), nil
}

// beepRamp is the fade at each edge of a beep: 4 ms is short enough to keep
// the beep crisp and long enough that it does not click.
const beepRamp = 4 * time.Millisecond

// Beeps plays a tone in bursts: on for On, off for Off, Count times (0 for
// ever), each burst faded in and out so it does not click. It is a Source.
type Beeps struct {
	tone         *Tone
	on, off      int // samples
	ramp         int
	count, done  int
	pos          int // sample within the current on+off cycle
	scratch      [160]int16
	forever, end bool
}

// NewBeeps returns count beeps (0 for endless) of freq Hz at level dBFS.
func NewBeeps(rate int, freq, level float64, on, off time.Duration, count int) (*Beeps, error) {
	t, err := NewTone(rate, level, freq)
	if err != nil {
		return nil, err
	}
	if on <= 0 || off < 0 || count < 0 {
		return nil, fmt.Errorf("media: beeps %v on, %v off, %d times: want on > 0, off ≥ 0, count ≥ 0", on, off, count)
	}
	samples := func(d time.Duration) int { return int(int64(d) * int64(rate) / int64(time.Second)) }
	b := &Beeps{tone: t, on: samples(on), off: samples(off), count: count, forever: count == 0}
	b.ramp = min(samples(beepRamp), b.on/2)
	return b, nil
}

// Read fills dst with the next samples; after the last beep (and its pause)
// it returns io.EOF.
func (b *Beeps) Read(dst []int16) (int, error) {
	n := 0
	for n < len(dst) {
		if b.end {
			return n, io.EOF
		}
		cycle := b.on + b.off
		if b.pos < b.on {
			k := min(len(dst)-n, b.on-b.pos, len(b.scratch))
			b.tone.Read(b.scratch[:k])
			for i := range k {
				p := b.pos + i
				v := int32(b.scratch[i])
				if p < b.ramp {
					v = v * int32(p) / int32(b.ramp)
				} else if q := b.on - 1 - p; q < b.ramp {
					v = v * int32(q) / int32(b.ramp)
				}
				dst[n+i] = int16(v)
			}
			n += k
			b.pos += k
		} else {
			k := min(len(dst)-n, cycle-b.pos)
			clear(dst[n : n+k])
			n += k
			b.pos += k
		}
		if b.pos >= cycle {
			b.pos = 0
			if b.done++; !b.forever && b.done >= b.count {
				b.end = true
			}
		}
	}
	if b.end {
		return n, io.EOF
	}
	return n, nil
}

// Loop plays a prompt over and over (a waiting message). It is a Source that
// never ends; an empty prompt plays silence.
type Loop struct {
	pcm PCM
	pos int
}

// NewLoop returns a loop over pcm, which it shares (the caller must not change
// it afterwards; several loops may share one prompt).
func NewLoop(pcm PCM) *Loop { return &Loop{pcm: pcm} }

// Read fills dst with the next samples of the prompt, wrapping at its end.
func (l *Loop) Read(dst []int16) (int, error) {
	if len(l.pcm) == 0 {
		clear(dst)
		return len(dst), nil
	}
	n := 0
	for n < len(dst) {
		k := copy(dst[n:], l.pcm[l.pos:])
		n += k
		if l.pos += k; l.pos == len(l.pcm) {
			l.pos = 0
		}
	}
	return n, nil
}

// Rewind starts the prompt again from its beginning.
func (l *Loop) Rewind() { l.pos = 0 }
