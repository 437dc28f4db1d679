package e2e

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"time"
)

// WAV is decoded 16-bit PCM audio: the first channel only, as samples in
// [-1, 1), at Rate samples per second.
type WAV struct {
	Rate     int
	Channels int       // in the file; Samples holds the first
	Samples  []float64 // the first channel
}

// Duration returns how long the audio lasts.
func (w WAV) Duration() time.Duration {
	if w.Rate == 0 {
		return 0
	}
	return time.Duration(len(w.Samples)) * time.Second / time.Duration(w.Rate)
}

// ReadWAV reads a RIFF/WAVE file of 16-bit PCM (format 1, or
// WAVE_FORMAT_EXTENSIBLE holding PCM) and returns its first channel.
// Chunks other than fmt and data are skipped. A data chunk whose size is 0,
// 0xFFFFFFFF or larger than the file (a recorder that has not finalised its
// header yet) is read to the end of the file.
func ReadWAV(path string) (WAV, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return WAV{}, fmt.Errorf("read wav: %w", err)
	}
	le := binary.LittleEndian
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return WAV{}, fmt.Errorf("read wav %s: not a RIFF/WAVE file", path)
	}
	var (
		w        WAV
		bits     int
		haveFmt  bool
		data     []byte
		haveData bool
	)
	for off := 12; off+8 <= len(b) && !haveData; {
		id, size := string(b[off:off+4]), int(le.Uint32(b[off+4:]))
		body := off + 8
		switch id {
		case "fmt ":
			if size < 16 || body+16 > len(b) {
				return WAV{}, fmt.Errorf("read wav %s: short fmt chunk", path)
			}
			tag := le.Uint16(b[body:])
			w.Channels = int(le.Uint16(b[body+2:]))
			w.Rate = int(le.Uint32(b[body+4:]))
			bits = int(le.Uint16(b[body+14:]))
			const pcm, extensible = 1, 0xFFFE
			if tag == extensible && size >= 40 && body+26 <= len(b) {
				tag = le.Uint16(b[body+24:]) // the sub-format GUID starts with the tag
			}
			if tag != pcm || bits != 16 || w.Channels < 1 || w.Rate <= 0 {
				return WAV{}, fmt.Errorf("read wav %s: format %d, %d bits, %d channels, %d Hz: want 16-bit PCM", path, tag, bits, w.Channels, w.Rate)
			}
			haveFmt = true
		case "data":
			if size == 0 || size == math.MaxUint32 || body+size > len(b) {
				size = len(b) - body
			}
			data, haveData = b[body:body+size], true
		}
		off = body + size + size%2 // chunks are padded to even sizes
	}
	switch {
	case !haveFmt:
		return WAV{}, fmt.Errorf("read wav %s: no fmt chunk", path)
	case !haveData:
		return WAV{}, fmt.Errorf("read wav %s: no data chunk", path)
	}
	frame := 2 * w.Channels
	w.Samples = make([]float64, len(data)/frame)
	for i := range w.Samples {
		w.Samples[i] = float64(int16(le.Uint16(data[i*frame:]))) / 32768
	}
	return w, nil
}

// writeSilenceWAV writes d of digital silence as 16-bit PCM at rate with
// channels, overwriting path.
func writeSilenceWAV(path string, d time.Duration, rate, channels int) error {
	frames := int(d.Seconds() * float64(rate))
	if frames <= 0 || channels < 1 {
		return errors.New("silence wav: empty")
	}
	return writePCMWAV(path, rate, channels, frames, func(int) int16 { return 0 })
}

// writePCMWAV writes a 16-bit PCM WAV file of frames frames at rate, sample(i)
// on every one of channels, overwriting path.
func writePCMWAV(path string, rate, channels, frames int, sample func(i int) int16) error {
	const bytesPerSample = 2
	dataLen := frames * channels * bytesPerSample
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("wav: %w", err)
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
	hdr = le.AppendUint32(hdr, uint32(rate))
	hdr = le.AppendUint32(hdr, uint32(rate*channels*bytesPerSample))
	hdr = le.AppendUint16(hdr, uint16(channels*bytesPerSample))
	hdr = le.AppendUint16(hdr, 8*bytesPerSample)
	hdr = append(hdr, "data"...)
	hdr = le.AppendUint32(hdr, uint32(dataLen))
	_, _ = w.Write(hdr) // bufio keeps the first error for Flush
	var b [bytesPerSample]byte
	for i := range frames {
		le.PutUint16(b[:], uint16(sample(i)))
		for range channels {
			_, _ = w.Write(b[:])
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("wav: %w", err)
	}
	return f.Close()
}
