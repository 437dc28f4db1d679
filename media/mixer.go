package media

import (
	"fmt"
	"sync/atomic"
)

// softKnee is where the mixer's soft clipping starts: about -2 dBFS. Below it
// samples pass untouched; above it the excess is compressed smoothly towards
// full scale, which never quite reaches it, so two loud talkers at once sound
// loud rather than crackle the way a hard clip does.
const softKnee = 26000

// MixerLeg is one participant of a Mixer: its input for this frame and, after
// Mix, what it should hear. The goroutine that calls Mix owns the leg (fields
// are not synchronised): it sets In and Talking, calls Mix, reads Out and
// Silent, all within one tick.
type MixerLeg struct {
	// In is the leg's decoded audio for this frame; Mix reads it only when
	// Talking is true, and then it must hold exactly the mixer's frame size.
	// The caller owns the buffer and may reuse it after Mix returns.
	In []int16
	// Talking says In holds speech (a VAD decided); silent legs are skipped
	// entirely, so a conference costs what its talkers cost.
	Talking bool
	// Deaf legs only talk: Mix computes no output for them (a browser hears the
	// browsers' Opus forwarded and the phone legs' own Opus, not this mix).
	Deaf bool

	// Out is set by Mix to what the leg hears: the mix of every other talking
	// leg, valid until the next Mix. It is read-only to the caller, and it may
	// be shared: every listener who is not talking gets the same slice (the
	// mixer's common mix), so a caller may encode it once for all of them.
	// It is nil when Silent is true.
	Out []int16
	// Silent is set by Mix when nobody but (maybe) the leg itself talks: the
	// leg hears silence, so it needs no mixing and no encoding (send silence,
	// comfort noise, or nothing).
	Silent bool

	own []int16 // the leg's own output buffer, for when it talks
}

// MixerStats are a Mixer's counters since it was made. They are read with
// atomic loads, so any goroutine may call Mixer.Stats.
type MixerStats struct {
	Frames        uint64 // calls of Mix
	InputsMixed   uint64 // talking inputs added to a sum
	InputsSkipped uint64 // inputs skipped as silent
	OutputsMixed  uint64 // outputs computed (the common mix counts once)
	OutputsShared uint64 // listeners handed the common mix
	OutputsSilent uint64 // listeners who heard nobody: no mixing, no encoding
}

// Mixer is the conference mixer for the decoded legs of one room, driven by
// the shared clock's tick (or by a test) calling Mix once per frame. It mixes
// by "sum once, subtract self": the talking inputs are summed once in 32 bits,
// the common mix (the sum, clipped) serves every listener who is not talking,
// and each talker gets the sum minus its own input, so nobody hears
// themselves, at O(N) rather than O(N²) cost.
//
// Mix and the legs belong to one goroutine; only Stats may be called from
// others. After NewMixer and each leg's first output, Mix does not allocate.
type Mixer struct {
	samples int
	sum     []int32
	common  []int16

	frames, inputsMixed, inputsSkipped      atomic.Uint64
	outputsMixed, outputsShared, outputsSil atomic.Uint64
}

// NewMixer returns a mixer for frames of samples samples: 160 for 20 ms at
// 8 kHz, 320 at 16 kHz. All legs of a mixer share that rate.
func NewMixer(samples int) (*Mixer, error) {
	if samples <= 0 {
		return nil, fmt.Errorf("media: mixer frame of %d samples", samples)
	}
	return &Mixer{samples: samples, sum: make([]int32, samples), common: make([]int16, samples)}, nil
}

// FrameSamples returns the frame size the mixer was made for.
func (m *Mixer) FrameSamples() int { return m.samples }

// Mix mixes one frame for legs: it reads In of the talking legs and sets Out
// and Silent of every leg that is not deaf. It panics if a talking leg's In is
// not exactly FrameSamples long, since that is a bug in the caller.
func (m *Mixer) Mix(legs []*MixerLeg) {
	m.frames.Add(1)
	var talkers int
	var solo *MixerLeg
	listeners := false // anyone who hears the common mix
	for _, l := range legs {
		if !l.Talking {
			listeners = listeners || !l.Deaf
			continue
		}
		if len(l.In) != m.samples {
			panic(fmt.Sprintf("media: mixer input of %d samples, want %d", len(l.In), m.samples))
		}
		talkers++
		solo = l
	}
	m.inputsMixed.Add(uint64(talkers))
	m.inputsSkipped.Add(uint64(len(legs) - talkers))

	switch talkers {
	case 0:
		var n uint64
		for _, l := range legs {
			if !l.Deaf {
				l.Out, l.Silent = nil, true
				n++
			}
		}
		m.outputsSil.Add(n)
		return
	case 1:
		// One talker: everyone else hears exactly them, no arithmetic.
		if listeners {
			copy(m.common, solo.In)
			m.outputsMixed.Add(1)
		}
	default:
		sum := m.sum
		first := true
		for _, l := range legs {
			if !l.Talking {
				continue
			}
			in := l.In[:len(sum)]
			if first {
				for i, s := range in {
					sum[i] = int32(s)
				}
				first = false
				continue
			}
			for i, s := range in {
				sum[i] += int32(s)
			}
		}
		if listeners {
			clip(m.common, sum)
			m.outputsMixed.Add(1)
		}
	}

	var mixed, shared, silent uint64
	for _, l := range legs {
		if l.Deaf {
			continue
		}
		switch {
		case !l.Talking:
			l.Out, l.Silent = m.common, false
			shared++
		case talkers == 1: // the only talker hears nobody
			l.Out, l.Silent = nil, true
			silent++
		default:
			if len(l.own) != m.samples {
				l.own = make([]int16, m.samples)
			}
			out := l.own
			in := l.In[:len(out)]
			sum := m.sum[:len(out)]
			for i := range out {
				out[i] = softClip(sum[i] - int32(in[i]))
			}
			l.Out, l.Silent = out, false
			mixed++
		}
	}
	m.outputsMixed.Add(mixed)
	m.outputsShared.Add(shared)
	m.outputsSil.Add(silent)
}

// Stats returns the counters.
func (m *Mixer) Stats() MixerStats {
	return MixerStats{
		Frames:        m.frames.Load(),
		InputsMixed:   m.inputsMixed.Load(),
		InputsSkipped: m.inputsSkipped.Load(),
		OutputsMixed:  m.outputsMixed.Load(),
		OutputsShared: m.outputsShared.Load(),
		OutputsSilent: m.outputsSil.Load(),
	}
}

func clip(dst []int16, sum []int32) {
	sum = sum[:len(dst)]
	for i, v := range sum {
		dst[i] = softClip(v)
	}
}

// softClip maps a 32-bit sum into int16: identity within ±softKnee, and above
// it x → K + e·r/(e+r) with e the excess and r the headroom to full scale,
// which has slope 1 at the knee and approaches full scale without reaching it.
func softClip(v int32) int16 {
	if v >= -softKnee && v <= softKnee {
		return int16(v)
	}
	const r = 32767 - softKnee
	if v > 0 {
		e := int64(v - softKnee)
		return int16(softKnee + e*r/(e+r))
	}
	e := int64(-softKnee - v)
	return int16(-softKnee - e*r/(e+r))
}
