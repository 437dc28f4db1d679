package e2e

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
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
	const bytesPerSample = 2
	dataLen := frames * channels * bytesPerSample

	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("tone wav: %w", err)
	}
	w := bufio.NewWriter(f)
	// RIFF/WAVE header with a PCM fmt chunk (format tag 1).
	le := binary.LittleEndian
	hdr := make([]byte, 0, 44)
	hdr = append(hdr, "RIFF"...)
	hdr = le.AppendUint32(hdr, uint32(36+dataLen))
	hdr = append(hdr, "WAVEfmt "...)
	hdr = le.AppendUint32(hdr, 16)
	hdr = le.AppendUint16(hdr, 1)
	hdr = le.AppendUint16(hdr, uint16(channels))
	hdr = le.AppendUint32(hdr, uint32(sampleRate))
	hdr = le.AppendUint32(hdr, uint32(sampleRate*channels*bytesPerSample))
	hdr = le.AppendUint16(hdr, uint16(channels*bytesPerSample))
	hdr = le.AppendUint16(hdr, 8*bytesPerSample)
	hdr = append(hdr, "data"...)
	hdr = le.AppendUint32(hdr, uint32(dataLen))
	_, _ = w.Write(hdr) // bufio keeps the first error for Flush

	amp := math.Pow(10, ToneLevelDBFS/20) * math.MaxInt16
	step := 2 * math.Pi * freqHz / float64(sampleRate)
	var sample [bytesPerSample]byte
	for i := range frames {
		le.PutUint16(sample[:], uint16(int16(math.Round(amp*math.Sin(step*float64(i))))))
		for range channels {
			_, _ = w.Write(sample[:])
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("tone wav: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("tone wav: %w", err)
	}
	return nil
}
