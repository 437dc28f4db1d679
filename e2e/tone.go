package e2e

import (
	"errors"
	"fmt"
	"math"
)

// ToneLevelDBFS is the level of the sines WriteToneWAV writes: -12 dBFS leaves
// room for mixing several participants and for codec overshoot without
// clipping, and is far above any noise floor.
const ToneLevelDBFS = -12.0

// WriteToneWAV writes a 16-bit PCM WAV file at path holding a sine of freqHz
// at ToneLevelDBFS (peak), lasting seconds, with the same signal on every one
// of channels. It overwrites path.
//
// Chromium's fake capture device (--use-file-for-fake-audio-capture) loops
// the file; it works best at 48000 Hz. For a seamless loop choose seconds so
// that freqHz*seconds is a whole number of cycles (1 s of 660 Hz is): the
// sine then ends where it starts, and the loop adds no click.
func WriteToneWAV(path string, freqHz, seconds float64, sampleRate, channels int) error {
	switch {
	case sampleRate <= 0:
		return fmt.Errorf("tone wav: sample rate %d Hz: must be positive", sampleRate)
	case channels < 1 || channels > 8:
		return fmt.Errorf("tone wav: %d channels: want 1..8", channels)
	case !(freqHz > 0) || freqHz >= float64(sampleRate)/2:
		return fmt.Errorf("tone wav: frequency %g Hz: want 0 < f < %d (Nyquist)", freqHz, sampleRate/2)
	case !(seconds > 0) || seconds > 3600:
		return fmt.Errorf("tone wav: duration %g s: want 0 < d <= 3600", seconds)
	}
	frames := int(math.Round(seconds * float64(sampleRate)))
	if frames == 0 {
		return errors.New("tone wav: duration shorter than one sample")
	}
	amp := math.Pow(10, ToneLevelDBFS/20) * math.MaxInt16
	step := 2 * math.Pi * freqHz / float64(sampleRate)
	if err := writePCMWAV(path, sampleRate, channels, frames, func(i int) int16 {
		return int16(math.Round(amp * math.Sin(step*float64(i))))
	}); err != nil {
		return fmt.Errorf("tone %w", err)
	}
	return nil
}
