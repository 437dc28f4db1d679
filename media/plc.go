package media

import "fmt"

// Concealer hides lost frames of a decoded G.711 (or any PCM) stream, in the
// spirit of ITU-T G.711 Appendix I but simpler and without its 3.75 ms delay:
// on a loss it finds the pitch period of the last received audio and repeats
// one period, looped seamlessly; it keeps full level for the first 10 ms of a
// loss, then fades by 20% per 10 ms to silence at 60 ms. When audio comes back
// the first few milliseconds cross-fade from the concealment into it, so
// neither edge of a loss clicks.
//
// Feed it every frame in order: Good for each decoded frame (it may rewrite the
// frame's first samples in place, see Good), Conceal for each missing one. It
// is not safe for concurrent use: the leg's tick owns it. It does not allocate
// after NewConcealer.
type Concealer struct {
	rate     int
	minPitch int // shortest period searched (200 Hz)
	maxPitch int // longest period searched (66 Hz)
	window   int // correlation window

	hist []int16 // the last len(hist) output samples, oldest first

	lost  int     // samples concealed in the current loss; 0 when not in one
	loop  []int16 // one pitch period, made seamless at its wrap point
	pitch int     // len of loop in use
	pos   int     // next sample of loop
	off   int32   // offset left from the splice onto the last real sample
	offN  int     // samples over which off decays
	offI  int
}

// NewConcealer returns a concealer for mono PCM at rate (8000 or 16000; other
// rates from 4000 to 48000 work with the same rules).
func NewConcealer(rate int) (*Concealer, error) {
	if rate < 4000 || rate > 48000 {
		return nil, fmt.Errorf("media: concealer rate %d Hz: want 4000–48000", rate)
	}
	c := &Concealer{
		rate:     rate,
		minPitch: rate / 200,
		maxPitch: rate * 3 / 200, // 66.7 Hz: 120 samples at 8 kHz, as G.711 Appendix I
		window:   rate / 50,
	}
	c.hist = make([]int16, c.maxPitch+c.window+c.maxPitch/4)
	c.loop = make([]int16, c.maxPitch)
	return c, nil
}

// Good records a frame that was received and decoded. After a loss it
// cross-fades the first samples of frame, in place, from the continued
// concealment into the real audio: 4 ms, plus 4 ms for each further 10 ms the
// loss lasted, up to 10 ms.
func (c *Concealer) Good(frame []int16) {
	if c.lost > 0 {
		ms := 4 + 4*(c.lost*1000/c.rate-10)/10
		ms = min(max(ms, 4), 10)
		n := min(len(frame), c.rate*ms/1000)
		for i := range n {
			syn := int32(c.next())
			w := int32((i + 1) * 256 / (n + 1))
			frame[i] = int16((syn*(256-w) + int32(frame[i])*w) >> 8)
		}
		c.lost = 0
	}
	c.remember(frame)
}

// Conceal fills dst with a replacement for one lost frame (len(dst) samples,
// normally 20 ms). Consecutive calls continue the same concealment, fading it.
func (c *Concealer) Conceal(dst []int16) {
	if c.lost == 0 {
		c.start()
	}
	for i := range dst {
		dst[i] = c.next()
	}
	c.remember(dst)
}

// Reset forgets the history, as for a new stream.
func (c *Concealer) Reset() {
	clear(c.hist)
	c.lost = 0
}

// next returns the next concealment sample with its gain applied and advances.
func (c *Concealer) next() int16 {
	if c.pitch == 0 {
		c.lost++
		return 0
	}
	v := int32(c.loop[c.pos])
	if c.pos++; c.pos == c.pitch {
		c.pos = 0
	}
	if c.offI < c.offN {
		v += c.off * int32(c.offN-c.offI) / int32(c.offN)
		c.offI++
	}
	// Full level for 10 ms, then down 20% per 10 ms: silent at 60 ms.
	tenMs := c.rate / 100
	if c.lost >= tenMs {
		g := int32(256 - (c.lost-tenMs)*256/(5*tenMs))
		if g <= 0 {
			g = 0
		}
		v = v * g >> 8
	}
	c.lost++
	return sat16(v)
}

// start prepares the loop for a new loss: pitch estimate, one period, smoothed
// wrap, and the splice offset onto the last real sample.
func (c *Concealer) start() {
	h := c.hist
	n := len(h)
	c.pitch, c.pos, c.offI, c.offN = 0, 0, 0, 0
	var energy int64
	for _, s := range h[n-c.window:] {
		energy += int64(s) * int64(s)
	}
	// Below about -70 dBFS there is nothing worth repeating.
	if energy < int64(c.window)*10*10 {
		return
	}
	p := c.pitchPeriod()
	q := p / 4
	// loop is the last period; its last quarter fades into the quarter before
	// the period, so the wrap from loop[p-1] to loop[0] follows the signal's own
	// continuation (h[n-p-1] → h[n-p]).
	copy(c.loop[:p], h[n-p:])
	for i := range q {
		w := int32((i + 1) * 256 / (q + 1))
		a := int32(h[n-q+i])   // real tail
		b := int32(h[n-p-q+i]) // one period earlier
		c.loop[p-q+i] = int16((a*(256-w) + b*w) >> 8)
	}
	c.pitch = p
	// The first repeated sample follows h[n-p-1], not h[n-1]: carry the
	// difference and let it die away over a quarter period.
	c.off = int32(h[n-1]) - int32(h[n-p-1])
	c.offN = max(q, 1)
}

// pitchPeriod finds the lag in [minPitch, maxPitch] with the best normalised
// correlation between the last window of history and the window lag earlier.
// It searches coarsely first (every other lag over every other sample, a
// quarter of the work) and then refines around the best coarse lag, which
// keeps a loss's first frame cheap: it runs on the tick like everything else.
func (c *Concealer) pitchPeriod() int {
	best, bestScore := c.maxPitch, -1.0
	for lag := c.minPitch; lag <= c.maxPitch; lag += 2 {
		if s := c.correlation(lag, 2); s > bestScore*1.0001 { // prefer the shorter lag on ties
			best, bestScore = lag, s
		}
	}
	coarse := best
	bestScore = -1
	for lag := max(c.minPitch, coarse-2); lag <= min(c.maxPitch, coarse+2); lag++ {
		if s := c.correlation(lag, 1); s > bestScore*1.0001 {
			best, bestScore = lag, s
		}
	}
	return best
}

// correlation is the normalised correlation score (xy²/yy, 0 when negative)
// between the last window of history and the window lag samples earlier,
// taking every step-th sample.
func (c *Concealer) correlation(lag, step int) float64 {
	h := c.hist
	n := len(h)
	x := h[n-c.window:]
	y := h[n-c.window-lag : n-lag]
	y = y[:len(x)]
	var xy, yy int64
	for i := 0; i < len(x); i += step {
		xy += int64(x[i]) * int64(y[i])
		yy += int64(y[i]) * int64(y[i])
	}
	if xy <= 0 || yy == 0 {
		return 0
	}
	return float64(xy) * float64(xy) / float64(yy)
}

// remember appends frame to the history.
func (c *Concealer) remember(frame []int16) {
	h := c.hist
	if len(frame) >= len(h) {
		copy(h, frame[len(frame)-len(h):])
		return
	}
	copy(h, h[len(frame):])
	copy(h[len(h)-len(frame):], frame)
}

func sat16(v int32) int16 {
	if v > 32767 {
		return 32767
	}
	if v < -32768 {
		return -32768
	}
	return int16(v)
}
