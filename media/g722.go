package media

// ITU-T G.722 at 64 kbit/s (mode 1): a quadrature mirror filter pair splits
// 16 kHz audio into a 0–4 kHz and a 4–8 kHz band, each sampled at 8 kHz;
// the lower band is coded with 6-bit ADPCM and the higher band with 2-bit
// ADPCM, giving one byte per pair of input samples. Every step below follows
// the Recommendation's integer arithmetic, including where it saturates to
// 16 bits, because encoder and decoder must track each other's predictor
// exactly for peers with other implementations to interoperate.

// G722Rate is G.722's sampling rate; its RTP clock rate is nevertheless 8000
// (RFC 3551 §4.5.2), so a 20 ms packet advances the timestamp by 160 and
// carries 160 bytes for 320 samples.
const G722Rate = 16000

// G722PayloadType is G.722's static RTP payload type (RFC 3551 §6).
const G722PayloadType = 9

// Initial quantiser step sizes of the two bands (DETL and DETH at reset);
// they equal what SCALEL and SCALEH give for a log scale factor of zero.
const (
	g722LowStep0  = 32
	g722HighStep0 = 8
)

// Upper limits of the log scale factors NBL and NBH.
const (
	g722LowLogMax  = 18432
	g722HighLogMax = 22528
)

// g722Sat limits x to the 16-bit two's-complement range, as the
// Recommendation's additions do.
func g722Sat(x int32) int32 {
	return min(max(x, -32768), 32767)
}

// g722Band is one sub-band's ADPCM state: the adaptive quantiser's scale and
// the pole-zero predictor. The encoder and decoder of a band hold identical
// copies when the channel is error-free.
type g722Band struct {
	est     int32    // signal estimate S = SP + SZ (PREDIC)
	zeroEst int32    // zero-section estimate SZ (FILTEZ)
	logStep int32    // log scale factor NB
	step    int32    // quantiser scale factor DET
	a1, a2  int32    // pole coefficients A1, A2
	r1, r2  int32    // last two reconstructed signals R
	p1, p2  int32    // last two partial reconstructions P = D + SZ
	diff    [6]int32 // last six quantised differences D, newest first
	zeroCo  [6]int32 // zero coefficients B1…B6
}

func (b *g722Band) reset(step int32) {
	*b = g722Band{step: step}
}

// adaptStep runs LOGSCL or LOGSCH and then SCALEL or SCALEH: it leaks the
// log scale factor, adds the code's multiplier w, limits the result to
// [0, logMax] and converts it to the linear scale factor. shift is 8 for the
// lower band and 10 for the higher; at the top of the range it turns into a
// left shift by one.
func (b *g722Band) adaptStep(w, logMax, shift int32) {
	nb := (b.logStep*127)>>7 + w
	nb = min(max(nb, 0), logMax)
	b.logStep = nb
	mant := g722ILB[(nb>>6)&31]
	exp := shift - nb>>11
	if exp >= 0 {
		mant >>= exp
	} else {
		mant <<= -exp
	}
	b.step = mant << 2
}

// predict runs the adaptive predictor for one quantised difference d:
// RECONS, PARREC, UPPOL2, UPPOL1, UPZERO, DELAYA, FILTEP, FILTEZ and PREDIC.
// Afterwards b.est holds the estimate for the next sample.
func (b *g722Band) predict(d int32) {
	r := g722Sat(b.est + d)
	p := g722Sat(b.zeroEst + d)
	pNeg := p < 0

	// UPPOL2: a2 leaks by 1/128 and moves by 1/128 towards the sign
	// correlation of P two samples apart, corrected by 4·a1 scaled the same
	// way for P one sample apart.
	t := g722Sat(b.a1 << 2)
	if pNeg == (b.p1 < 0) {
		t = -t
	}
	t = min(t, 32767) // −(−32768)
	a2 := t >> 7
	if pNeg == (b.p2 < 0) {
		a2 += 128
	} else {
		a2 -= 128
	}
	a2 += (b.a2 * 32512) >> 15
	a2 = min(max(a2, -12288), 12288)

	// UPPOL1: a1 leaks by 1/256 and moves by 3/256; |a1| ≤ 15360 − a2 keeps
	// the pole pair stable.
	a1 := (b.a1 * 32640) >> 15
	if pNeg == (b.p1 < 0) {
		a1 += 192
	} else {
		a1 -= 192
	}
	a1 = g722Sat(a1)
	lim := g722Sat(15360 - a2)
	a1 = min(max(a1, -lim), lim)

	// UPZERO: each b leaks by 1/256 and, unless d is zero, moves by 1/256
	// towards the sign correlation of d with the difference it weights.
	var g int32
	if d != 0 {
		g = 128
	}
	dNeg := d < 0
	for i := range b.zeroCo {
		c := (b.zeroCo[i] * 32640) >> 15
		if dNeg == (b.diff[i] < 0) {
			c += g
		} else {
			c -= g
		}
		b.zeroCo[i] = g722Sat(c)
	}

	// DELAYA.
	copy(b.diff[1:], b.diff[:5])
	b.diff[0] = d
	b.r1, b.r2 = r, b.r1
	b.p1, b.p2 = p, b.p1
	b.a1, b.a2 = a1, a2

	// FILTEP.
	sp := g722Sat((a1*g722Sat(b.r1+b.r1))>>15 + (a2*g722Sat(b.r2+b.r2))>>15)

	// FILTEZ: the six products are summed at full width and limited once.
	var sz int32
	for i := 5; i >= 0; i-- {
		sz += (b.zeroCo[i] * g722Sat(b.diff[i]+b.diff[i])) >> 15
	}
	b.zeroEst = g722Sat(sz)

	// PREDIC.
	b.est = g722Sat(sp + b.zeroEst)
}

// G722Encoder encodes 16 kHz linear PCM to G.722 at 64 kbit/s. Its state
// (the QMF history and both bands' ADPCM state) carries from one Encode to
// the next, so one encoder serves one stream. It is not safe for concurrent
// use; the zero value is not ready, use NewG722Encoder.
type G722Encoder struct {
	hist [24]int32 // input history, oldest first
	low  g722Band
	high g722Band
}

// NewG722Encoder returns an encoder in the Recommendation's reset state.
func NewG722Encoder() *G722Encoder {
	e := new(G722Encoder)
	e.Reset()
	return e
}

// Reset returns e to the state NewG722Encoder gives, as at the start of a
// new stream.
func (e *G722Encoder) Reset() {
	e.hist = [24]int32{}
	e.low.reset(g722LowStep0)
	e.high.reset(g722HighStep0)
}

// Encode encodes pcm (16 kHz mono, even length) into dst, one byte per two
// samples, and returns the bytes written (len(pcm)/2; dst must hold that
// many). State carries across calls. An odd final sample is ignored; a dst
// shorter than len(pcm)/2 panics. Encode does not allocate.
func (e *G722Encoder) Encode(dst []byte, pcm []int16) int {
	n := len(pcm) / 2
	dst = dst[:n]
	for k := range dst {
		dst[k] = e.encodePair(pcm[2*k], pcm[2*k+1])
	}
	return n
}

// encodePair runs the transmit QMF over two new samples (x1 the later) and
// codes the resulting band samples into one byte: the higher band's 2 bits
// above the lower band's 6.
func (e *G722Encoder) encodePair(x0, x1 int16) byte {
	h := &e.hist
	copy(h[:22], h[2:])
	h[22], h[23] = int32(x0), int32(x1)

	// With x1 as time 0, taps of even delay meet h[23], h[21], …, h[1]
	// and taps of odd delay meet h[22], h[20], …, h[0]; h is symmetric,
	// so the odd taps are the even coefficients reversed.
	var even, odd int32
	for i, c := range g722QMF {
		even += h[23-2*i] * c
		odd += h[2*i] * c
	}
	// Sum of the 24 taps is 2^13, so >>14 maps 16-bit input onto the
	// codec's 15-bit band signals.
	xl := (even + odd) >> 14
	xh := (even - odd) >> 14

	il := e.encodeLow(xl)
	ih := e.encodeHigh(xh)
	return byte(ih<<6 | il)
}

// encodeLow codes one lower-band sample into 6 bits (SUBTRA, QUANTL,
// INVQAL, LOGSCL, SCALEL and the predictor).
func (e *G722Encoder) encodeLow(xl int32) uint8 {
	b := &e.low
	el := g722Sat(xl - b.est)
	mag := el
	if el < 0 {
		mag = -(el + 1)
	}
	mil := 1
	for ; mil < 30; mil++ {
		if mag < (g722Q6[mil]*b.step)>>12 {
			break
		}
	}
	var il uint8
	if el < 0 {
		il = g722ILN[mil]
	} else {
		il = g722ILP[mil]
	}
	d := (b.step * g722QM4[il>>2]) >> 15
	b.adaptStep(g722WL[g722RL42[il>>2]], g722LowLogMax, 8)
	b.predict(d)
	return il
}

// encodeHigh codes one higher-band sample into 2 bits (SUBTRA, QUANTH,
// INVQAH, LOGSCH, SCALEH and the predictor).
func (e *G722Encoder) encodeHigh(xh int32) uint8 {
	b := &e.high
	eh := g722Sat(xh - b.est)
	mag := eh
	if eh < 0 {
		mag = -(eh + 1)
	}
	mih := 1
	if mag >= (564*b.step)>>12 {
		mih = 2
	}
	var ih uint8
	if eh < 0 {
		ih = g722IHN[mih]
	} else {
		ih = g722IHP[mih]
	}
	d := (b.step * g722QM2[ih]) >> 15
	b.adaptStep(g722WH[g722RH2[ih]], g722HighLogMax, 10)
	b.predict(d)
	return ih
}

// G722Decoder decodes G.722 at 64 kbit/s (mode 1: all six lower-band bits
// carry audio) to 16 kHz linear PCM. Its state carries from one Decode to
// the next, so one decoder serves one stream. It is not safe for concurrent
// use; the zero value is not ready, use NewG722Decoder.
type G722Decoder struct {
	hist [24]int32 // QMF history of (RL+RH, RL−RH) pairs, oldest first
	low  g722Band
	high g722Band
}

// NewG722Decoder returns a decoder in the Recommendation's reset state.
func NewG722Decoder() *G722Decoder {
	d := new(G722Decoder)
	d.Reset()
	return d
}

// Reset returns d to the state NewG722Decoder gives, as at the start of a
// new stream or after a loss the caller does not want to conceal.
func (d *G722Decoder) Reset() {
	d.hist = [24]int32{}
	d.low.reset(g722LowStep0)
	d.high.reset(g722HighStep0)
}

// Decode decodes payload into dst (2 samples per byte) and returns the
// samples written (dst must hold 2*len(payload)). Every byte value is valid
// input. State carries across calls; a dst shorter than 2*len(payload)
// panics. Decode does not allocate.
func (d *G722Decoder) Decode(dst []int16, payload []byte) int {
	n := 2 * len(payload)
	dst = dst[:n]
	for k, c := range payload {
		rl := d.decodeLow(int32(c & 0x3f))
		rh := d.decodeHigh(int32(c >> 6))
		dst[2*k], dst[2*k+1] = d.synthesize(rl, rh)
	}
	return n
}

// decodeLow reconstructs one lower-band sample from its 6-bit code: INVQBL
// and RECONS give the output, while INVQAL's 4-bit difference drives the
// adaptation exactly as in the encoder.
func (d *G722Decoder) decodeLow(il int32) int32 {
	b := &d.low
	rl := b.est + (b.step*g722QM6[il])>>15
	rl = min(max(rl, -16384), 16383)
	dq := (b.step * g722QM4[il>>2]) >> 15
	b.adaptStep(g722WL[g722RL42[il>>2]], g722LowLogMax, 8)
	b.predict(dq)
	return rl
}

// decodeHigh reconstructs one higher-band sample from its 2-bit code.
func (d *G722Decoder) decodeHigh(ih int32) int32 {
	b := &d.high
	dq := (b.step * g722QM2[ih]) >> 15
	rh := b.est + dq
	rh = min(max(rh, -16384), 16383)
	b.adaptStep(g722WH[g722RH2[ih]], g722HighLogMax, 10)
	b.predict(dq)
	return rh
}

// synthesize runs the receive QMF on one pair of band samples and returns
// the two output samples, earlier first.
func (d *G722Decoder) synthesize(rl, rh int32) (int16, int16) {
	h := &d.hist
	copy(h[:22], h[2:])
	h[22], h[23] = rl+rh, rl-rh

	// The first output filters the differences with the even taps, the
	// second the sums with the odd taps (the even taps reversed).
	var first, second int32
	for i, c := range g722QMF {
		first += h[23-2*i] * c
		second += h[2*i] * c
	}
	// Each polyphase branch sums to 2^12 and the bands carry half the
	// input scale, so >>11 restores unity gain.
	return int16(g722Sat(first >> 11)), int16(g722Sat(second >> 11))
}
