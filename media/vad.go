package media

import (
	"math"
	"time"
)

// VAD defaults; VADConfig's zero fields take them.
const (
	// DefaultVADThreshold: speech on a phone line sits around -20 to -30 dBFS,
	// line noise and comfort noise around -50 to -70; -45 leaves room for quiet
	// talkers and for a noisy line.
	DefaultVADThreshold = -45.0
	// DefaultVADMargin: a frame is speech only if it is also this far above the
	// tracked noise floor, so a steady noisy line (a fan, a car, music on
	// hold) does not count as talking.
	DefaultVADMargin = 9.0
	// DefaultVADHangover keeps a talker active through the short pauses between
	// words, so their audio is not chopped and the mixer does not flap.
	DefaultVADHangover = 200 * time.Millisecond
)

// vadWindow is the noise floor's window: 50 frames, one second.
const vadWindow = 50

// VADConfig configures a VAD.
type VADConfig struct {
	// Threshold in dBFS (a full-scale sine is 0 dBFS) that a frame's level must
	// exceed; 0 takes DefaultVADThreshold.
	Threshold float64
	// Margin in dB above the noise floor; 0 takes DefaultVADMargin, a
	// negative value disables the noise floor.
	Margin float64
	// Hangover is how long a talker stays active after the last loud frame,
	// rounded to 20 ms frames; 0 takes DefaultVADHangover, a negative value
	// means none.
	Hangover time.Duration
}

// VAD is an energy-based voice activity detector with hangover, one per
// incoming leg, fed one frame per tick. It is not safe for concurrent use: the
// leg's tick owns it. It never allocates.
type VAD struct {
	threshold float64 // mean square
	margin    float64 // ratio of mean squares
	hangover  int     // frames

	curMin  float64 // quietest frame of this window, mean square
	prevMin float64 // quietest frame of the previous window
	frames  int     // frames in this window
	energy  float64 // mean square of the last frame
	hang    int
	active  bool
}

// NewVAD returns a detector for cfg.
func NewVAD(cfg VADConfig) *VAD {
	if cfg.Threshold == 0 {
		cfg.Threshold = DefaultVADThreshold
	}
	if cfg.Margin == 0 {
		cfg.Margin = DefaultVADMargin
	}
	if cfg.Hangover == 0 {
		cfg.Hangover = DefaultVADHangover
	}
	v := &VAD{
		threshold: dbfsToMeanSquare(cfg.Threshold),
		hangover:  max(0, int(cfg.Hangover/(20*time.Millisecond))),
	}
	if cfg.Margin > 0 {
		v.margin = math.Pow(10, cfg.Margin/10)
	}
	v.curMin, v.prevMin = math.Inf(1), math.Inf(1)
	return v
}

// Detect takes the next frame and reports whether the leg is talking: the
// frame is loud enough (above the threshold and the noise margin), or one was
// within the hangover.
func (v *VAD) Detect(frame []int16) bool {
	e := MeanSquare(frame)
	v.energy = e
	loud := e > v.threshold
	if v.margin > 0 {
		// The noise floor is the quietest frame of the last one to two
		// seconds (before this one): talkers pause often enough that it
		// finds the line's noise, and it follows a line getting louder or
		// quieter within two seconds. Until there is history it is unknown
		// and only the threshold counts.
		if floor := min(v.prevMin, v.curMin); floor < math.Inf(1) {
			loud = loud && e > floor*v.margin
		}
		v.curMin = min(v.curMin, e)
		if v.frames++; v.frames == vadWindow {
			v.prevMin, v.curMin, v.frames = v.curMin, math.Inf(1), 0
		}
	}
	switch {
	case loud:
		v.active, v.hang = true, v.hangover
	case v.hang > 0:
		v.hang--
	default:
		v.active = false
	}
	return v.active
}

// Active reports the result of the last Detect.
func (v *VAD) Active() bool { return v.active }

// Level returns the last frame's level in dBFS (a full-scale sine is 0), -127
// for digital silence: the scale of RFC 6464 audio levels, negated.
func (v *VAD) Level() float64 { return meanSquareToDBFS(v.energy) }

// MeanSquare returns the mean of the squared samples of frame (0 for an empty
// frame): the frame's energy per sample.
func MeanSquare(frame []int16) float64 {
	if len(frame) == 0 {
		return 0
	}
	// Four accumulators: independent chains run side by side.
	var a, b, c, d int64
	i := 0
	for ; i+4 <= len(frame); i += 4 {
		f := frame[i : i+4 : i+4]
		a += int64(f[0]) * int64(f[0])
		b += int64(f[1]) * int64(f[1])
		c += int64(f[2]) * int64(f[2])
		d += int64(f[3]) * int64(f[3])
	}
	for _, s := range frame[i:] {
		a += int64(s) * int64(s)
	}
	return float64(a+b+c+d) / float64(len(frame))
}

// fullScaleSine is the mean square of a full-scale sine: 0 dBFS (AES17).
const fullScaleSine = 32767.0 * 32767.0 / 2

func dbfsToMeanSquare(db float64) float64 { return fullScaleSine * math.Pow(10, db/10) }

func meanSquareToDBFS(ms float64) float64 {
	if ms <= 0 {
		return -127
	}
	return max(-127, 10*math.Log10(ms/fullScaleSine))
}
