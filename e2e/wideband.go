package e2e

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// This file holds what tests of wideband audio (G.722, Opus) need beyond the
// rest of the harness: several tones in one WAV, and codec names as
// baresip's accounts line wants them.

// WriteTonesWAV is WriteToneWAV for several sines at once: a 16-bit PCM WAV
// at path holding the sum of a sine at each of freqsHz, each at
// ToneLevelDBFS (peak), lasting seconds, the same on every one of channels.
// A receiver measures each tone with ToneLevel or AnalyseAudio as if it had
// come alone. The peak of the sum is len(freqsHz) times a tone's, so more
// than three tones are refused: four would reach full scale.
//
// It lets a test send a narrowband tone (proof that the call carries audio at
// all) beside a wideband one (proof of the wider band) from one source.
func WriteTonesWAV(path string, freqsHz []float64, seconds float64, sampleRate, channels int) error {
	switch {
	case len(freqsHz) == 0 || len(freqsHz) > 3:
		return fmt.Errorf("tones wav: %d tones: want 1..3", len(freqsHz))
	case sampleRate <= 0:
		return fmt.Errorf("tones wav: sample rate %d Hz: must be positive", sampleRate)
	case channels < 1 || channels > 8:
		return fmt.Errorf("tones wav: %d channels: want 1..8", channels)
	case !(seconds > 0) || seconds > 3600:
		return fmt.Errorf("tones wav: duration %g s: want 0 < d <= 3600", seconds)
	}
	steps := make([]float64, len(freqsHz))
	for i, f := range freqsHz {
		if !(f > 0) || f >= float64(sampleRate)/2 {
			return fmt.Errorf("tones wav: frequency %g Hz: want 0 < f < %d (Nyquist)", f, sampleRate/2)
		}
		steps[i] = 2 * math.Pi * f / float64(sampleRate)
	}
	frames := int(math.Round(seconds * float64(sampleRate)))
	if frames == 0 {
		return errors.New("tones wav: duration shorter than one sample")
	}
	amp := math.Pow(10, ToneLevelDBFS/20) * math.MaxInt16
	if err := writePCMWAV(path, sampleRate, channels, frames, func(i int) int16 {
		var v float64
		for _, step := range steps {
			v += math.Sin(step * float64(i))
		}
		return int16(math.Round(amp * v))
	}); err != nil {
		return fmt.Errorf("tones %w", err)
	}
	return nil
}

// AccountCodecs returns codecs (baresip names, as in PhoneOptions.Codecs) as
// an accounts line's audio_codecs value wants them: "G722/16000/1",
// "opus/48000/2". baresip 1.0.0 reads a bare name as NAME/8000/1 and finds
// no such G722 or opus codec ("account: audio codec not found:
// G722/8000/1"); the account then falls back to every codec loaded, PCMU
// first, so a phone asked to offer only G722 would offer PCMU.
func AccountCodecs(codecs []string) string {
	specs := make([]string, len(codecs))
	for i, c := range codecs {
		rate, channels := codecRate(c)
		specs[i] = fmt.Sprintf("%s/%d/%d", c, rate, channels)
	}
	return strings.Join(specs, ",")
}
