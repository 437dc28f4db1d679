package media

import (
	"fmt"
	"math"
)

// dtmfKeys maps row and column to the key (ITU-T Q.23 figure 1).
const dtmfKeys = "123A456B789C*0#D"

// DTMFFrequencies returns the low (row) and high (column) frequency of a
// key, ITU-T Q.23; ok is false for anything but 0-9, *, #, A-D. With
// NewTone it renders a key in-band.
func DTMFFrequencies(key byte) (lo, hi float64, ok bool) {
	rows := [4]float64{697, 770, 852, 941}
	cols := [4]float64{1209, 1336, 1477, 1633}
	for i := range len(dtmfKeys) {
		if dtmfKeys[i] == key {
			return rows[i/4], cols[i%4], true
		}
	}
	return 0, 0, false
}

// In-band detection limits. ITU-T Q.24 asks receivers to take tones from
// about -25 dBm0 per frequency and 40 ms long, with up to 8 dB of twist; these
// leave a little room on each.
const (
	dtmfMinLevel     = -36.0 // dBFS per tone
	dtmfMaxTwist     = 8.0   // dB either way between the two tones
	dtmfMinPurity    = 0.70  // the two tones' share of the block's energy
	dtmfPeakMargin   = 6.0   // dB between the strongest row (column) and the next
	dtmfBlocksToHear = 2     // consecutive 20 ms blocks: 40 ms
)

// DTMFDetector finds DTMF keys played in-band in a leg's decoded audio, for
// trunks that do not send RFC 4733 telephone-events. It runs Goertzel filters
// for the eight DTMF frequencies over each 20 ms frame and reports a key once
// when it has sounded for two frames in a row (40 ms, ITU-T Q.24's minimum);
// the same key is reported again only after a frame without it. Checks on
// level, twist, purity and the margin over the neighbouring frequencies keep
// speech and music from triggering it. It is not safe for concurrent use: the
// leg's tick owns it. It never allocates.
type DTMFDetector struct {
	samples int
	coeff   [8]float64
	minAmp  float64

	cand   byte // key seen in the last frames, 0 for none
	count  int  // consecutive frames with cand
	posted bool // cand already reported
}

// NewDTMFDetector returns a detector for frames of 20 ms at rate (8000 or
// 16000).
func NewDTMFDetector(rate int) (*DTMFDetector, error) {
	if rate != 8000 && rate != 16000 {
		return nil, fmt.Errorf("media: DTMF detector rate %d Hz: want 8000 or 16000", rate)
	}
	d := &DTMFDetector{samples: rate / 50, minAmp: 32767 * math.Pow(10, dtmfMinLevel/20)}
	// ITU-T Q.23: the four rows (low group), then the four columns.
	freqs := [8]float64{697, 770, 852, 941, 1209, 1336, 1477, 1633}
	for i, f := range freqs {
		d.coeff[i] = 2 * math.Cos(2*math.Pi*f/float64(rate))
	}
	return d, nil
}

// Detect takes the next 20 ms frame and returns a key ('0'–'9', '*', '#',
// 'A'–'D') when one has just been recognised.
func (d *DTMFDetector) Detect(frame []int16) (key byte, ok bool) {
	k := d.classify(frame)
	if k == 0 || k != d.cand {
		d.cand, d.count, d.posted = k, 0, false
		if k == 0 {
			return 0, false
		}
	}
	d.count++
	if d.count >= dtmfBlocksToHear && !d.posted {
		d.posted = true
		return k, true
	}
	return 0, false
}

// classify returns the key one frame holds, or 0.
func (d *DTMFDetector) classify(frame []int16) byte {
	if len(frame) == 0 {
		return 0
	}
	// One pass over the samples runs the eight Goertzel recurrences side by
	// side: eight independent chains keep the CPU busy where one would wait
	// on each multiply.
	var s1, s2 [8]float64
	k := d.coeff
	var energy float64
	for _, v := range frame {
		x := float64(v)
		energy += x * x
		for i := range s1 {
			s0 := x + k[i]*s1[i] - s2[i]
			s2[i], s1[i] = s1[i], s0
		}
	}
	energy /= float64(len(frame))
	var amp [8]float64
	for i := range amp {
		p := s1[i]*s1[i] + s2[i]*s2[i] - k[i]*s1[i]*s2[i]
		amp[i] = 2 * math.Sqrt(max(p, 0)) / float64(len(frame)) // the tone's peak amplitude
	}

	r, r2 := strongest(amp[:4])
	c, c2 := strongest(amp[4:])
	ar, ac := amp[r], amp[4+c]
	switch {
	case ar < d.minAmp || ac < d.minAmp:
		return 0
	case ar > ac*dbRatio(dtmfMaxTwist) || ac > ar*dbRatio(dtmfMaxTwist):
		return 0
	case ar < amp[r2]*dbRatio(dtmfPeakMargin) || ac < amp[4+c2]*dbRatio(dtmfPeakMargin):
		return 0
	case (ar*ar+ac*ac)/2 < dtmfMinPurity*energy: // a sine of peak A has mean square A²/2
		return 0
	}
	return dtmfKeys[4*r+c]
}

// strongest returns the indexes of the largest and second largest of a.
func strongest(a []float64) (first, second int) {
	first, second = 0, 1
	if a[1] > a[0] {
		first, second = 1, 0
	}
	for i := 2; i < len(a); i++ {
		switch {
		case a[i] > a[first]:
			first, second = i, first
		case a[i] > a[second]:
			second = i
		}
	}
	return first, second
}

func dbRatio(db float64) float64 { return math.Pow(10, db/20) }
