package media

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// MaxWAVData is the most audio data ReadWAV accepts: 32 MiB, almost six
// minutes of 48 kHz mono, far beyond a prompt, and a bound on what a bad file
// can make the server hold.
const MaxWAVData = 32 << 20

// ErrWAV is wrapped by every error of ReadWAV about the file's content.
var ErrWAV = errors.New("media: bad WAV file")

// IsWAVRate reports whether ReadWAV accepts the sample rate: 8000, 11025,
// 16000, 22050, 24000, 32000, 44100 or 48000 Hz, the ones sound editors and
// recorders write. Resample converts each of them to any other.
func IsWAVRate(rate int) bool {
	switch rate {
	case 8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000:
		return true
	}
	return false
}

// ReadWAV reads a RIFF/WAVE file of 16-bit linear PCM, mono or stereo (mixed
// down to mono), at a rate IsWAVRate accepts, and returns its samples and rate. Chunks
// other than "fmt " and "data" are skipped; a data chunk whose size is unknown
// (0 or 0xFFFFFFFF, as streaming writers leave it) runs to the end of the
// input. Use Resample to bring the audio to the leg's rate. Errors about the
// content wrap ErrWAV; read errors are returned as they are.
func ReadWAV(r io.Reader) (PCM, int, error) {
	var hdr [12]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, 0, wavReadErr(err, "RIFF header")
	}
	if string(hdr[0:4]) != "RIFF" || string(hdr[8:12]) != "WAVE" {
		return nil, 0, fmt.Errorf("%w: not RIFF/WAVE", ErrWAV)
	}
	var (
		haveFmt        bool
		channels, bits int
		rate           int
	)
	for {
		var ch [8]byte
		if _, err := io.ReadFull(r, ch[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return nil, 0, fmt.Errorf("%w: no data chunk", ErrWAV)
			}
			return nil, 0, wavReadErr(err, "chunk header")
		}
		id, size := string(ch[0:4]), int64(binary.LittleEndian.Uint32(ch[4:8]))
		switch id {
		case "fmt ":
			if size < 16 || size > 1024 {
				return nil, 0, fmt.Errorf("%w: fmt chunk of %d bytes", ErrWAV, size)
			}
			buf := make([]byte, size+size&1)
			if _, err := io.ReadFull(r, buf); err != nil {
				return nil, 0, wavReadErr(err, "fmt chunk")
			}
			format := binary.LittleEndian.Uint16(buf[0:2])
			channels = int(binary.LittleEndian.Uint16(buf[2:4]))
			rate = int(binary.LittleEndian.Uint32(buf[4:8]))
			bits = int(binary.LittleEndian.Uint16(buf[14:16]))
			// WAVE_FORMAT_EXTENSIBLE names the real format in the first two
			// bytes of its sub-format GUID.
			if format == 0xFFFE && size >= 26 {
				format = binary.LittleEndian.Uint16(buf[24:26])
			}
			if format != 1 || bits != 16 || (channels != 1 && channels != 2) {
				return nil, 0, fmt.Errorf("%w: format %d, %d bits, %d channels: want 16-bit linear PCM (format 1), mono or stereo", ErrWAV, format, bits, channels)
			}
			if !IsWAVRate(rate) {
				return nil, 0, fmt.Errorf("%w: %d Hz: want one of 8000, 11025, 16000, 22050, 24000, 32000, 44100 or 48000 (convert with e.g. sox in.wav -r 8000 out.wav)", ErrWAV, rate)
			}
			haveFmt = true
		case "data":
			if !haveFmt {
				return nil, 0, fmt.Errorf("%w: data chunk before fmt chunk", ErrWAV)
			}
			if size == 0 || size == 0xFFFFFFFF {
				size = MaxWAVData + 1 // unknown: to the end
			}
			var buf bytes.Buffer
			n, err := io.Copy(&buf, io.LimitReader(r, min(size, MaxWAVData+1)))
			if err != nil {
				return nil, 0, err
			}
			if n > MaxWAVData {
				return nil, 0, fmt.Errorf("%w: more than %d bytes of audio", ErrWAV, MaxWAVData)
			}
			return wavSamples(buf.Bytes(), channels), rate, nil
		default:
			if _, err := io.CopyN(io.Discard, r, size+size&1); err != nil {
				if errors.Is(err, io.EOF) {
					return nil, 0, fmt.Errorf("%w: %q chunk cut short", ErrWAV, id)
				}
				return nil, 0, err
			}
		}
	}
}

// wavSamples converts little-endian 16-bit frames to mono PCM, averaging the
// channels of stereo; a trailing partial frame is dropped.
func wavSamples(b []byte, channels int) PCM {
	frame := 2 * channels
	pcm := make(PCM, len(b)/frame)
	for i := range pcm {
		f := b[i*frame:]
		if channels == 1 {
			pcm[i] = int16(binary.LittleEndian.Uint16(f))
			continue
		}
		l := int32(int16(binary.LittleEndian.Uint16(f)))
		r := int32(int16(binary.LittleEndian.Uint16(f[2:])))
		pcm[i] = int16((l + r) >> 1)
	}
	return pcm
}

func wavReadErr(err error, what string) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: %s cut short", ErrWAV, what)
	}
	return err
}

// WriteWAV writes pcm as a mono 16-bit RIFF/WAVE file at rate (for tests,
// recordings and tools).
func WriteWAV(w io.Writer, pcm PCM, rate int) error {
	data := len(pcm) * 2
	if data > 0xFFFFFFFF-36 {
		return fmt.Errorf("media: %d samples are too many for a WAV file", len(pcm))
	}
	b := make([]byte, 44, 44+data)
	copy(b[0:], "RIFF")
	binary.LittleEndian.PutUint32(b[4:], uint32(36+data))
	copy(b[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(b[16:], 16)
	binary.LittleEndian.PutUint16(b[20:], 1) // linear PCM
	binary.LittleEndian.PutUint16(b[22:], 1) // mono
	binary.LittleEndian.PutUint32(b[24:], uint32(rate))
	binary.LittleEndian.PutUint32(b[28:], uint32(rate*2))
	binary.LittleEndian.PutUint16(b[32:], 2)
	binary.LittleEndian.PutUint16(b[34:], 16)
	copy(b[36:], "data")
	binary.LittleEndian.PutUint32(b[40:], uint32(data))
	for _, s := range pcm {
		b = binary.LittleEndian.AppendUint16(b, uint16(s))
	}
	_, err := w.Write(b)
	return err
}
