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

// g722Neg returns −1 (all ones) for negative x and 0 otherwise, a mask
// for g722Flip.
func g722Neg(x int32) int32 {
	return x >> 31
}

// g722Flip returns v where the mask m is 0 and −v where it is −1.
//
// The predictor adapts by sign correlations many times a sample: a term
// moves one way when two signals have the same sign and the other way when
// they do not. Speech signs are close to random, so a branch there would be
// mispredicted about half the time; g722Flip(v, g722Neg(x^y)) gives v for
// equal signs and −v for different ones without one. It matches the branch
// for every v, including −32768.
func g722Flip(v, m int32) int32 {
	return (v ^ m) - m
}

// g722Band is one sub-band's ADPCM state: the adaptive quantiser's scale and
// the pole-zero predictor. The encoder and decoder of a band hold identical
// copies when the channel is error-free.
//
// The history the predictor filters is kept the way FILTEP and FILTEZ read
// it, doubled and limited to 16 bits, so each value is doubled once rather
// than once per tap; doubling keeps a value's sign and whether it is zero,
// which is all UPPOL and UPZERO ask of the same history.
type g722Band struct {
	est     int32    // signal estimate S = SP + SZ (PREDIC)
	zeroEst int32    // zero-section estimate SZ (FILTEZ)
	logStep int32    // log scale factor NB
	step    int32    // quantiser scale factor DET
	a1, a2  int32    // pole coefficients A1, A2
	r1, r2  int32    // last two reconstructed signals R, doubled
	p1, p2  int32    // last two partial reconstructions P = D + SZ, unlimited
	diff    [6]int32 // last six quantised differences D, doubled, newest first
	zeroCo  [6]int32 // zero coefficients B1…B6

	// The band's constants for LOGSCL and SCALEL or LOGSCH and SCALEH:
	// the log scale factor's upper limit, and the shift that turns it into
	// the linear one (8 for the lower band, 10 for the higher).
	logMax, shift int32
}

// reset puts b in the reset state of a band with the given initial step
// size and constants.
func (b *g722Band) reset(step, logMax, shift int32) {
	*b = g722Band{step: step, logMax: logMax, shift: shift}
}

// adaptStep runs LOGSCL or LOGSCH and then SCALEL or SCALEH: it leaks the
// log scale factor, adds the code's multiplier w, limits the result to
// [0, logMax] and converts it to the linear scale factor.
func (b *g722Band) adaptStep(w int32) {
	nb := (b.logStep*127)>>7 + w
	nb = min(max(nb, 0), b.logMax)
	b.logStep = nb
	mant := g722ILB[(nb>>6)&31]
	// The Recommendation shifts mant right by shift − NB>>11, which at the
	// top of the range (NB>>11 = shift + 1) is a left shift by one. Doubling
	// mant first makes every case one right shift, without a branch; the
	// count lies in [0, 11], so the mask changes nothing but lets the
	// compiler drop its check for counts of 32 and more.
	n := uint(b.shift+1-nb>>11) & 31
	b.step = (mant << 1 >> n) << 2
}

// update runs one sample's adaptation: LOGSCL or LOGSCH and SCALEL or
// SCALEH with the code's log-scale multiplier w, then the adaptive
// predictor with its quantised difference d (RECONS, PARREC, UPPOL2,
// UPPOL1, UPZERO, DELAYA, FILTEP, FILTEZ and PREDIC). Afterwards b.est holds
// the estimate for the next sample. Both run in one call because Go's
// calling convention saves no registers across a call, so each call costs
// the caller's loop spills and reloads.
//
// Some of the Recommendation's limits to 16 bits are left out below where
// they provably change nothing; each place says why. Every input here is
// bounded: |D| ≤ 20016 (DET ≤ 32064 times |QM4| ≤ 20456, >>15), S and SZ
// are limited, so no int32 sum can overflow.
func (b *g722Band) update(d, w int32) {
	b.adaptStep(w)

	// UPZERO: each B leaks by 1/256 and, unless d is zero, moves by 1/256
	// towards the sign correlation of d with the difference it weights:
	// by gd, which carries d's sign, for a non-negative difference and by
	// −gd for a negative one, that is gd − (2gd masked by the difference's
	// sign). The Recommendation limits each new B to 16 bits, which changes
	// nothing: for B in [−32768, 32767] the leak gives [−32640, 32639], and
	// ±128 keeps that within 16 bits.
	var g int32
	if d != 0 {
		g = 128
	}
	gd := g722Flip(g, g722Neg(d))
	g2 := gd + gd

	// DELAYA moves each difference one place older, and FILTEZ weights the
	// moved differences with the new coefficients. Going from the oldest
	// place to the newest lets one pass do all three in place: place i's
	// old difference steers its coefficient before place i−1's moves in.
	// D is kept doubled, as FILTEZ uses it, and FILTEZ's six products are
	// summed at full width and limited once. The places are written out
	// because the compiler does not unroll loops, and the loop's counting
	// and reloading cost as much as the work.
	h, z := &b.diff, &b.zeroCo
	up := func(c, old int32) int32 { return (c*32640)>>15 + gd - g2&g722Neg(old) }
	c, next := up(z[5], h[5]), h[4]
	z[5], h[5] = c, next
	sz := (c * next) >> 15
	c, next = up(z[4], next), h[3]
	z[4], h[4] = c, next
	sz += (c * next) >> 15
	c, next = up(z[3], next), h[2]
	z[3], h[3] = c, next
	sz += (c * next) >> 15
	c, next = up(z[2], next), h[1]
	z[2], h[2] = c, next
	sz += (c * next) >> 15
	c, next = up(z[1], next), h[0]
	z[1], h[1] = c, next
	sz += (c * next) >> 15
	c, next = up(z[0], next), g722Sat(d+d)
	z[0], h[0] = c, next
	sz += (c * next) >> 15
	sz = g722Sat(sz)

	// RECONS and PARREC. R is used only doubled and limited, and limiting
	// before doubling gives the same, sat(2·sat(x)) = sat(2x), so one limit
	// does for both. P is used only for its sign, which limiting keeps, so
	// it stays unlimited.
	r := g722Sat(2 * (b.est + d))
	p := b.zeroEst + d

	// UPPOL2: a2 leaks by 1/128 and moves by 1/128 towards the sign
	// correlation of P two samples apart, corrected by 4·a1 scaled the same
	// way for P one sample apart. The correction's sign is the opposite of
	// the correlation, and the only value whose negation leaves 16 bits,
	// −(−32768), is limited to 32767.
	same1 := g722Neg(p ^ b.p1)
	t := min(-g722Flip(g722Sat(b.a1<<2), same1), 32767)
	a2 := t>>7 + g722Flip(128, g722Neg(p^b.p2)) + (b.a2*32512)>>15
	a2 = min(max(a2, -12288), 12288)

	// UPPOL1: a1 leaks by 1/256 and moves by 3/256; |a1| ≤ 15360 − a2 keeps
	// the pole pair stable. The Recommendation limits the sum and 15360 − a2
	// to 16 bits, but neither can leave them: |a2| ≤ 12288, so the bound
	// lies in [3072, 27648], and so does |a1| before the update, which
	// leaks it to at most 27540 before the ±192.
	a1 := (b.a1*32640)>>15 + g722Flip(192, same1)
	lim := 15360 - a2
	a1 = min(max(a1, -lim), lim)

	// The rest of DELAYA, keeping R doubled as FILTEP uses it.
	b.r1, b.r2 = r, b.r1
	b.p1, b.p2 = p, b.p1
	b.a1, b.a2 = a1, a2
	b.zeroEst = sz

	// FILTEP.
	sp := g722Sat((a1*b.r1)>>15 + (a2*b.r2)>>15)

	// PREDIC.
	b.est = g722Sat(sp + sz)
}

// g722Filter applies the 24-tap QMF to consecutive windows of w: for each
// k, the 24 samples from w[2k], oldest first, give the two polyphase halves
// y[2k] and y[2k+1]. y[2k] pairs the even taps h0, h2, …, h22 with window
// samples 23, 21, …, 1, and y[2k+1] the odd taps with samples 22, …, 0.
// The filter is symmetric, so the odd taps are the even ones in reverse and
// y[2k+1] pairs h0, h2, …, h22 with samples 0, 2, …, 22. y must have even
// length, at most 2·g722Block, and w must hold len(y)+22 samples.
//
// Two things make it cheap. Each multiply serves two pairs: the samples
// are packed two apart, w[j] and w[j+2] in one int64 (see g722Pack), so a
// sum over the window of pair k yields pair k's sum in the low half and
// pair k+1's in the high half. And the terms are written out with constant
// coefficients, so the compiler multiplies by immediates and needs no inner
// loop, index or bounds checks. No sum can overflow: the taps' magnitudes
// add up to 6482, and 6482·32768 < 2^28.
func g722Filter(y []int32, w []int16) {
	if len(y) == 0 {
		return
	}
	var buf [g722HistLen + 2*g722Block]int64
	p := buf[:len(y)+g722HistLen]
	w = w[:len(p)]
	last := len(p) - 2
	for j, hi := range w[2:] {
		p[j] = g722Pack(int32(w[j]), int32(hi))
	}
	// The last two samples have no partner; the high halves they leave
	// empty only feed the sums of a pair beyond the end.
	p[last], p[last+1] = int64(w[last]), int64(w[last+1])

	for {
		// Converting p itself, not p[2k:], lets the compiler address the
		// words straight from the slice's pointer.
		x := (*[24]int64)(p)
		even := 3*x[23] - 11*x[21] + 12*x[19] + 32*x[17] - 210*x[15] +
			951*x[13] + 3876*x[11] - 805*x[9] + 362*x[7] - 156*x[5] +
			53*x[3] - 11*x[1]
		odd := 3*x[0] - 11*x[2] + 12*x[4] + 32*x[6] - 210*x[8] +
			951*x[10] + 3876*x[12] - 805*x[14] + 362*x[16] - 156*x[18] +
			53*x[20] - 11*x[22]
		even0, even1 := g722Unpack(even)
		odd0, odd1 := g722Unpack(odd)
		y[0], y[1] = even0, odd0
		if len(y) < 4 {
			return
		}
		y[2], y[3] = even1, odd1
		if len(y) == 4 {
			return
		}
		p, y = p[4:], y[4:]
	}
}

// g722Pack holds lo and hi in one int64 as the number lo + hi·2^32. Adding
// such numbers and multiplying them by integers then works on both halves
// at once, exactly, as long as each half's own result fits in an int32:
// g722Unpack recovers both.
func g722Pack(lo, hi int32) int64 {
	return int64(lo) + int64(hi)<<32
}

// g722Unpack returns the halves of s = lo + hi·2^32 where lo and hi fit in
// an int32: s agrees with lo in its low 32 bits, and s − lo is hi·2^32.
func g722Unpack(s int64) (lo, hi int32) {
	lo = int32(s)
	return lo, int32((s - int64(lo)) >> 32)
}

// g722Block is how many pairs Encode and Decode take through each stage
// at a time: one 20 ms packet. Staging a block at a time lets each loop
// keep only its own few values live; Go's calling convention saves no
// registers across a call, so a loop that mixed the filter, the per-band
// steps and the predictors would spill and reload its state around every
// call.
const g722Block = 160

// g722HistLen is how many past samples the QMFs keep between calls: a
// window holds 24, and each step brings in two new ones.
const g722HistLen = 22

// G722Encoder encodes 16 kHz linear PCM to G.722 at 64 kbit/s. Its state
// (the QMF history and both bands' ADPCM state) carries from one Encode to
// the next, so one encoder serves one stream. It is not safe for concurrent
// use; the zero value is not ready, use NewG722Encoder.
type G722Encoder struct {
	g722State // hist: the last 22 input samples, oldest first
}

// g722State is what an encoder and a decoder both carry from call to call:
// the QMF history (what it holds differs by direction) and both sub-bands'
// ADPCM state.
type g722State struct {
	hist [g722HistLen]int16
	low  g722Band
	high g722Band
}

// reset puts s in the Recommendation's reset state.
func (s *g722State) reset() {
	s.hist = [g722HistLen]int16{}
	s.low.reset(g722LowStep0, g722LowLogMax, 8)
	s.high.reset(g722HighStep0, g722HighLogMax, 10)
}

// NewG722Encoder returns an encoder in the Recommendation's reset state.
func NewG722Encoder() *G722Encoder {
	e := new(G722Encoder)
	e.Reset()
	return e
}

// Reset returns e to the state NewG722Encoder gives, as at the start of a
// new stream.
func (e *G722Encoder) Reset() { e.reset() }

// Encode encodes pcm (16 kHz mono, even length) into dst, one byte per two
// samples, and returns the bytes written (len(pcm)/2; dst must hold that
// many). State carries across calls. An odd final sample is ignored; a dst
// shorter than len(pcm)/2 panics. Encode does not allocate.
func (e *G722Encoder) Encode(dst []byte, pcm []int16) int {
	n := len(pcm) / 2
	dst = dst[:n]
	pcm = pcm[:2*n]

	// The filter windows of the first 11 pairs reach back into the
	// history, so those run over a scratch copy of the history followed by
	// the start of pcm. From pair 11 on a window lies wholly inside pcm and
	// the filter reads it in place: no sample is copied or shifted.
	const head = g722HistLen / 2
	var buf [g722HistLen + 2*head]int16
	copy(buf[:], e.hist[:])
	copy(buf[g722HistLen:], pcm)

	var y [2 * g722Block]int32
	for off := 0; off < n; off += g722Block {
		m := min(n-off, g722Block)
		k := 0
		if off == 0 {
			k = min(m, head)
			g722Filter(y[:2*k], buf[:])
		}
		if k < m {
			g722Filter(y[2*k:2*m], pcm[2*(off+k)-g722HistLen:])
		}
		e.encodeBlock(dst[off:off+m], y[:2*m])
	}

	if n >= head {
		copy(e.hist[:], pcm[2*n-g722HistLen:])
	} else {
		copy(e.hist[:], buf[2*n:])
	}
	return n
}

// encodeBlock codes len(dst) pairs from their transmit QMF halves y (see
// g722Filter) into one byte each: the higher band's 2 bits above the lower
// band's 6.
func (e *G722Encoder) encodeBlock(dst []byte, y []int32) {
	y = y[:2*len(dst)]
	for k := range dst {
		// With the later sample of the pair as time 0, the even taps
		// meet the later samples of the window's pairs and the odd taps
		// the earlier ones. The 24 taps sum to 2^13, so >>14 maps 16-bit
		// input onto the codec's 15-bit band signals.
		even, odd := y[2*k], y[2*k+1]
		il, dl, wl := e.low.quantizeLow((even + odd) >> 14)
		ih, dh, wh := e.high.quantizeHigh((even - odd) >> 14)
		e.low.update(dl, wl)
		e.high.update(dh, wh)
		dst[k] = ih<<6 | il
	}
}

// quantizeLow codes one lower-band sample xl into 6 bits (SUBTRA, QUANTL and
// INVQAL) and returns the code with the quantised difference d and the
// log-scale multiplier w for update.
func (b *g722Band) quantizeLow(xl int32) (il uint8, d, w int32) {
	el := g722Sat(xl - b.est)
	neg := uint32(el) >> 31
	mag := el ^ -int32(neg) // −(el+1) for negative el

	// QUANTL picks the first interval MIL whose decision level
	// (Q6·DETL)>>12 exceeds mag. For integers, mag ≥ (q·DETL)>>12 exactly
	// when q·DETL < (mag+1)<<12, which saves the shift per comparison. The
	// levels rise with MIL, so "mag has reached level m" holds for every m
	// up to some count and for none beyond, and that count is what the
	// Recommendation's linear search of up to 29 steps finds. Here it is
	// found in two rounds of independent comparisons: levels 4, 8, …, 28
	// give it to within four, and the three levels above that settle it.
	// The comparisons are as unpredictable as the signal, so they are
	// added up rather than branched on. g722Q6Pad repeats the last level at
	// 30 and 31, where the second round can look but the Recommendation's
	// search cannot, and min brings a count beyond 29 back to it.
	q, step, lim := &g722Q6Pad, b.step, (mag+1)<<12
	reached := func(i uint32) uint32 { return g722Below(q[i]*step, lim) }
	m := 4 * (reached(4) + reached(8) + reached(12) + reached(16) +
		reached(20) + reached(24) + reached(28))
	m += reached(m+1) + reached(m+2) + reached(m+3)
	mil := min(m, 29) + 1

	il = g722IL[neg][mil&31]
	d = (b.step * g722QM4[il>>2&15]) >> 15
	return il, d, g722WL42[il>>2&15]
}

// g722Below returns 1 when x < y and 0 otherwise, without a branch: the
// sign bit of x − y, which must not overflow.
func g722Below(x, y int32) uint32 {
	return uint32(x-y) >> 31
}

// quantizeHigh codes one higher-band sample xh into 2 bits (SUBTRA, QUANTH
// and INVQAH) and returns the code with the quantised difference d and the
// log-scale multiplier w for update.
func (b *g722Band) quantizeHigh(xh int32) (ih uint8, d, w int32) {
	eh := g722Sat(xh - b.est)
	neg := uint32(eh) >> 31
	mag := eh ^ -int32(neg) // −(eh+1) for negative eh
	// MIH is 2 when mag reaches the one decision level (564·DETH)>>12;
	// the comparison is quantizeLow's.
	mih := 1 + g722Below(564*b.step, (mag+1)<<12)
	ih = g722IH[neg][mih]
	d = (b.step * g722QM2[ih&3]) >> 15
	return ih, d, g722WH2[ih&3]
}

// G722Decoder decodes G.722 at 64 kbit/s (mode 1: all six lower-band bits
// carry audio) to 16 kHz linear PCM. Its state carries from one Decode to
// the next, so one decoder serves one stream. It is not safe for concurrent
// use; the zero value is not ready, use NewG722Decoder.
type G722Decoder struct {
	g722State // hist: the QMF history of (RL+RH, RL−RH) pairs, oldest first
}

// NewG722Decoder returns a decoder in the Recommendation's reset state.
func NewG722Decoder() *G722Decoder {
	d := new(G722Decoder)
	d.Reset()
	return d
}

// Reset returns d to the state NewG722Decoder gives, as at the start of a
// new stream or after a loss the caller does not want to conceal.
func (d *G722Decoder) Reset() { d.reset() }

// Decode decodes payload into dst (2 samples per byte) and returns the
// samples written (dst must hold 2*len(payload)). Every byte value is valid
// input. State carries across calls; a dst shorter than 2*len(payload)
// panics. Decode does not allocate.
func (d *G722Decoder) Decode(dst []int16, payload []byte) int {
	n := 2 * len(payload)
	dst = dst[:n]

	// The receive QMF runs over a buffer that holds the history followed
	// by a block's new pairs, so each window is a contiguous slice and no
	// history is shifted per sample; only the last 22 values move down
	// between blocks.
	var buf [g722HistLen + 2*g722Block]int16
	var y [2 * g722Block]int32
	copy(buf[:], d.hist[:])
	for len(payload) > 0 {
		m := min(len(payload), g722Block)
		d.decodeBlock(buf[g722HistLen:g722HistLen+2*m], payload[:m])
		// The first output of a pair filters the differences with the
		// even taps, the second the sums with the odd taps. Each
		// polyphase branch sums to 2^12 and the bands carry half the
		// input scale, so >>11 restores unity gain.
		out := y[:2*m]
		g722Filter(out, buf[:])
		for i, v := range out {
			dst[i] = int16(g722Sat(v >> 11))
		}
		copy(buf[:], buf[2*m:2*m+g722HistLen])
		payload, dst = payload[m:], dst[2*m:]
	}
	copy(d.hist[:], buf[:])
	return n
}

// decodeBlock decodes the bytes of payload into the lower and higher band
// samples RL and RH and stores each pair as RL+RH, RL−RH in pairs, which
// must hold 2·len(payload) values. Both fit in 16 bits because RL and RH
// are limited to 15.
func (d *G722Decoder) decodeBlock(pairs []int16, payload []byte) {
	for k, c := range payload {
		rl, dl, wl := d.low.invertLow(c & 0x3f)
		rh, dh, wh := d.high.invertHigh(c >> 6)
		d.low.update(dl, wl)
		d.high.update(dh, wh)
		p := (*[2]int16)(pairs[2*k:])
		p[0], p[1] = int16(rl+rh), int16(rl-rh)
	}
}

// invertLow reconstructs one lower-band sample from its 6-bit code: INVQBL
// and RECONS give the output, while INVQAL's 4-bit difference d and the
// log-scale multiplier w, both for update, drive the adaptation exactly as
// in the encoder.
func (b *g722Band) invertLow(il uint8) (rl, d, w int32) {
	rl = b.est + (b.step*g722QM6[il&63])>>15
	rl = min(max(rl, -16384), 16383)
	d = (b.step * g722QM4[il>>2&15]) >> 15
	return rl, d, g722WL42[il>>2&15]
}

// invertHigh reconstructs one higher-band sample from its 2-bit code and
// returns it with the difference d and multiplier w for update.
func (b *g722Band) invertHigh(ih uint8) (rh, d, w int32) {
	d = (b.step * g722QM2[ih&3]) >> 15
	rh = min(max(b.est+d, -16384), 16383)
	return rh, d, g722WH2[ih&3]
}
