package media

import (
	"bytes"
	"encoding/binary"
	"errors"
	"github.com/dialroom/dialroom/e2e"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

func TestTone(t *testing.T) {
	tone, err := NewTone(8000, -6, 1000)
	if err != nil {
		t.Fatal(err)
	}
	pcm := make([]int16, 8000*60) // a minute: the phasor must not drift
	tone.Read(pcm)
	for _, part := range [][]int16{pcm[:8000], pcm[len(pcm)-8000:]} {
		if l := e2e.PCMToneLevel(part, float64(8000), 1000); math.Abs(l+6) > 0.1 {
			t.Errorf("1 kHz at %.2f dBFS, want -6", l)
		}
		peak := 0
		for _, s := range part {
			peak = max(peak, abs(int(s)))
		}
		if want := int(32767 * math.Pow(10, -6.0/20)); abs(peak-want) > 2 {
			t.Errorf("peak %d, want %d", peak, want)
		}
	}
	dual, _ := NewTone(8000, -10, 697, 1209) // DTMF '1'
	frame := make([]int16, 800)
	dual.Read(frame)
	for _, f := range []float64{697, 1209} {
		if l := e2e.PCMToneLevel(frame, float64(8000), f); math.Abs(l+10) > 0.5 {
			t.Errorf("%.0f Hz at %.2f dBFS, want -10", f, l)
		}
	}
	for _, bad := range [][]float64{{}, {4000}, {-1}, {1, 2, 3}} {
		if _, err := NewTone(8000, -6, bad...); err == nil {
			t.Errorf("NewTone(%v) accepted", bad)
		}
	}
	if _, err := NewTone(8000, 3, 440); err == nil {
		t.Error("+3 dBFS accepted")
	}
}

func TestBeeps(t *testing.T) {
	b, err := NewBeeps(8000, 1000, -10, 100*time.Millisecond, 100*time.Millisecond, 2)
	if err != nil {
		t.Fatal(err)
	}
	var all []int16
	frame := make([]int16, 160)
	for range 100 {
		done := ReadFrame(b, frame)
		all = append(all, frame...)
		if done {
			break
		}
	}
	if len(all) != 3200 {
		t.Fatalf("2 beeps of 100+100 ms = %d samples, want 3200", len(all))
	}
	if all[0] != 0 || abs(int(all[799])) > 300 {
		t.Errorf("beep edges not faded: first %d, last %d", all[0], all[799])
	}
	if l := e2e.PCMToneLevel(all[100:700], float64(8000), 1000); math.Abs(l+10) > 0.5 {
		t.Errorf("beep at %.1f dBFS, want -10", l)
	}
	for _, s := range all[800:1600] {
		if s != 0 {
			t.Fatal("pause not silent")
		}
	}
	if n, err := b.Read(frame); n != 0 || err != io.EOF {
		t.Errorf("after the end: %d, %v", n, err)
	}
}

func TestLoop(t *testing.T) {
	l := NewLoop(PCM{1, 2, 3})
	dst := make([]int16, 7)
	l.Read(dst)
	if want := []int16{1, 2, 3, 1, 2, 3, 1}; !equalPCM(dst, want) {
		t.Errorf("loop = %v, want %v", dst, want)
	}
	l.Read(dst[:2])
	if dst[0] != 2 || dst[1] != 3 {
		t.Errorf("continued = %v", dst[:2])
	}
	l.Rewind()
	l.Read(dst[:1])
	if dst[0] != 1 {
		t.Errorf("after Rewind = %d", dst[0])
	}
	empty := NewLoop(nil)
	dst[0] = 9
	if n, err := empty.Read(dst); n != len(dst) || err != nil || dst[0] != 0 {
		t.Errorf("empty loop: %d, %v, %v", n, err, dst)
	}
	if a := testing.AllocsPerRun(100, func() { l.Read(dst) }); a != 0 {
		t.Errorf("allocs = %v", a)
	}
}

func equalPCM(a, b []int16) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestWAVRoundTrip(t *testing.T) {
	for _, rate := range []int{8000, 16000, 48000} {
		pcm := PCM(sine(rate/10, rate, 440, -12, 0))
		var buf bytes.Buffer
		if err := WriteWAV(&buf, pcm, rate); err != nil {
			t.Fatal(err)
		}
		got, gotRate, err := ReadWAV(&buf)
		if err != nil || gotRate != rate || !equalPCM(got, pcm) {
			t.Errorf("%d Hz: rate %d, %d samples, %v", rate, gotRate, len(got), err)
		}
	}
}

// wavFile builds a WAV file from chunks, for the cases WriteWAV does not make.
func wavFile(chunks ...[]byte) []byte {
	body := []byte("WAVE")
	for _, c := range chunks {
		body = append(body, c...)
	}
	out := append([]byte("RIFF"), binary.LittleEndian.AppendUint32(nil, uint32(len(body)))...)
	return append(out, body...)
}

func chunk(id string, data []byte) []byte {
	c := append([]byte(id), binary.LittleEndian.AppendUint32(nil, uint32(len(data)))...)
	c = append(c, data...)
	if len(data)%2 == 1 {
		c = append(c, 0)
	}
	return c
}

func fmtChunk(format, channels uint16, rate uint32, bits uint16, extra ...byte) []byte {
	b := binary.LittleEndian.AppendUint16(nil, format)
	b = binary.LittleEndian.AppendUint16(b, channels)
	b = binary.LittleEndian.AppendUint32(b, rate)
	b = binary.LittleEndian.AppendUint32(b, rate*uint32(channels)*uint32(bits)/8)
	b = binary.LittleEndian.AppendUint16(b, channels*bits/8)
	b = binary.LittleEndian.AppendUint16(b, bits)
	return chunk("fmt ", append(b, extra...))
}

func samples(s ...int16) []byte {
	var b []byte
	for _, v := range s {
		b = binary.LittleEndian.AppendUint16(b, uint16(v))
	}
	return b
}

func TestReadWAV(t *testing.T) {
	// WAVE_FORMAT_EXTENSIBLE: cbSize 22, valid bits, channel mask, GUID of PCM.
	ext := []byte{22, 0, 16, 0, 4, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xAA, 0, 0x38, 0x9B, 0x71}
	streaming := append([]byte("data"), 0xFF, 0xFF, 0xFF, 0xFF)
	tests := []struct {
		name string
		file []byte
		want PCM
		rate int
		err  bool
	}{
		{"mono", wavFile(fmtChunk(1, 1, 8000, 16), chunk("data", samples(1, -2, 3))), PCM{1, -2, 3}, 8000, false},
		{"stereo mixed down", wavFile(fmtChunk(1, 2, 16000, 16), chunk("data", samples(100, 300, -10, -30))), PCM{200, -20}, 16000, false},
		{"extensible", wavFile(fmtChunk(0xFFFE, 1, 48000, 16, ext...), chunk("data", samples(7))), PCM{7}, 48000, false},
		{"unknown chunks skipped, odd size padded", wavFile(chunk("LIST", []byte("abc")), fmtChunk(1, 1, 8000, 16), chunk("fact", []byte{1, 2, 3, 4}), chunk("data", samples(5))), PCM{5}, 8000, false},
		{"streaming size runs to the end", append(wavFile(fmtChunk(1, 1, 8000, 16)), append(streaming, samples(1, 2)...)...), PCM{1, 2}, 8000, false},
		{"trailing odd byte dropped", wavFile(fmtChunk(1, 1, 8000, 16), chunk("data", []byte{1, 0, 9})), PCM{1}, 8000, false},
		{"not RIFF", []byte("RIFX\x00\x00\x00\x00WAVE"), nil, 0, true},
		{"truncated header", []byte("RIF"), nil, 0, true},
		{"44.1 kHz", wavFile(fmtChunk(1, 1, 44100, 16), chunk("data", samples(1))), PCM{1}, 44100, false},
		{"22.05 kHz stereo", wavFile(fmtChunk(1, 2, 22050, 16), chunk("data", samples(4, 6))), PCM{5}, 22050, false},
		{"odd rate", wavFile(fmtChunk(1, 1, 44101, 16), chunk("data", samples(1))), nil, 0, true},
		{"8-bit", wavFile(fmtChunk(1, 1, 8000, 8), chunk("data", []byte{1})), nil, 0, true},
		{"μ-law format", wavFile(fmtChunk(7, 1, 8000, 8), chunk("data", []byte{1})), nil, 0, true},
		{"data before fmt", wavFile(chunk("data", samples(1)), fmtChunk(1, 1, 8000, 16)), nil, 0, true},
		{"no data", wavFile(fmtChunk(1, 1, 8000, 16)), nil, 0, true},
		{"short fmt", wavFile(chunk("fmt ", []byte{1, 0, 1, 0})), nil, 0, true},
		{"chunk cut short", append(wavFile(fmtChunk(1, 1, 8000, 16)), "LIST\xff\x00\x00\x00ab"...), nil, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, rate, err := ReadWAV(bytes.NewReader(tt.file))
			if tt.err {
				if !errors.Is(err, ErrWAV) {
					t.Errorf("err = %v, want ErrWAV", err)
				}
				return
			}
			if err != nil || rate != tt.rate || !equalPCM(got, tt.want) {
				t.Errorf("= %v, %d, %v; want %v, %d", got, rate, err, tt.want, tt.rate)
			}
		})
	}
}

func TestReadWAVTooLarge(t *testing.T) {
	hdr := wavFile(fmtChunk(1, 1, 8000, 16))
	r := io.MultiReader(bytes.NewReader(hdr), bytes.NewReader([]byte("data\xff\xff\xff\xff")), io.LimitReader(zeros{}, MaxWAVData+10))
	if _, _, err := ReadWAV(r); !errors.Is(err, ErrWAV) {
		t.Errorf("oversize data: %v", err)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// FuzzReadWAV: arbitrary bytes never panic ReadWAV, never return more than
// MaxWAVData of audio, and whatever it accepts writes back identically.
func FuzzReadWAV(f *testing.F) {
	var buf bytes.Buffer
	WriteWAV(&buf, PCM{1, 2, 3, -4}, 8000)
	f.Add(buf.Bytes())
	f.Add(wavFile(fmtChunk(1, 2, 16000, 16), chunk("LIST", []byte("x")), chunk("data", samples(1, 2))))
	f.Add(wavFile(fmtChunk(0xFFFE, 1, 48000, 16, make([]byte, 24)...), chunk("data", nil)))
	f.Add([]byte("RIFF\x00\x00\x00\x00WAVEfmt \x10\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		pcm, rate, err := ReadWAV(bytes.NewReader(data))
		if err != nil {
			return
		}
		if len(pcm)*2 > MaxWAVData || !IsWAVRate(rate) {
			t.Fatalf("accepted %d samples at %d Hz", len(pcm), rate)
		}
		var out bytes.Buffer
		if err := WriteWAV(&out, pcm, rate); err != nil {
			t.Fatal(err)
		}
		again, rate2, err := ReadWAV(&out)
		if err != nil || rate2 != rate || !equalPCM(again, pcm) {
			t.Fatalf("write/read round trip: %v", err)
		}
	})
}

func TestResample(t *testing.T) {
	tests := []struct {
		from, to int
		freq     float64
		wantDB   float64 // level after resampling
		tol      float64
	}{
		{48000, 8000, 1000, -6, 0.1},  // in band: kept
		{48000, 8000, 3000, -6, 0.1},  // top of the telephone band: kept
		{48000, 8000, 5000, -80, 15},  // above 4 kHz: would alias to 3 kHz
		{48000, 8000, 12000, -80, 15}, // would alias to 4 kHz... to 0 Hz
		{16000, 8000, 1000, -6, 0.1},
		{16000, 8000, 6000, -80, 15}, // would alias to 2 kHz
		{8000, 16000, 1000, -6, 0.1},
		{8000, 48000, 440, -6, 0.1},
		{48000, 16000, 6500, -6, 0.1},
		{44100, 8000, 1000, -6, 0.1}, // a CD-rate recording: 80/441
		{44100, 8000, 3000, -6, 0.1},
		{44100, 8000, 5000, -80, 15}, // would alias to 3 kHz
		{11025, 8000, 1000, -6, 0.1}, // 320/441, the finest common ratio
		{22050, 8000, 2000, -6, 0.1},
		{32000, 8000, 1000, -6, 0.1},
		{8000, 44100, 440, -6, 0.1},
	}
	for _, tt := range tests {
		in := PCM(sine(tt.from, tt.from, tt.freq, -6, 0)) // one second
		out, err := Resample(in, tt.from, tt.to)
		if err != nil {
			t.Fatal(err)
		}
		if len(out) != tt.to {
			t.Errorf("%d→%d: %d samples from 1 s", tt.from, tt.to, len(out))
		}
		// Measure away from the edges, where the filter sees zeros.
		mid := out[len(out)/4 : 3*len(out)/4]
		probe := tt.freq
		if tt.wantDB < -40 { // where the alias would land
			probe = math.Abs(tt.freq - float64(tt.to)*math.Round(tt.freq/float64(tt.to)))
			if probe == 0 {
				if ms := MeanSquare(mid); meanSquareToDBFS(ms) > -60 {
					t.Errorf("%d→%d of %.0f Hz: %.1f dBFS left", tt.from, tt.to, tt.freq, meanSquareToDBFS(ms))
				}
				continue
			}
		}
		got := e2e.PCMToneLevel(mid, float64(tt.to), probe)
		if tt.wantDB < -40 {
			if got > -60 {
				t.Errorf("%d→%d of %.0f Hz: alias at %.0f Hz is %.1f dBFS, want < -60", tt.from, tt.to, tt.freq, probe, got)
			}
		} else if math.Abs(got-tt.wantDB) > tt.tol {
			t.Errorf("%d→%d of %.0f Hz: %.2f dBFS, want %.1f", tt.from, tt.to, tt.freq, got, tt.wantDB)
		}
	}
	// Interpolating leaves no image above the old Nyquist frequency.
	in := PCM(sine(8000, 8000, 1000, -6, 0))
	out, _ := Resample(in, 8000, 16000)
	if l := e2e.PCMToneLevel(out[4000:12000], float64(16000), 7000); l > -60 {
		t.Errorf("8→16 kHz image at 7 kHz: %.1f dBFS", l)
	}
	// Alignment: the filter's delay is compensated.
	imp := make(PCM, 4800)
	imp[2400] = 30000
	dec, _ := Resample(imp, 48000, 8000)
	peak := 0
	for i, v := range dec {
		if abs(int(v)) > abs(int(dec[peak])) {
			peak = i
		}
	}
	if peak != 400 {
		t.Errorf("impulse at 48 kHz sample 2400 peaks at 8 kHz sample %d, want 400", peak)
	}
	if _, err := Resample(in, 44101, 8000); err == nil {
		t.Error("44.101 kHz → 8 kHz accepted (ratio 8000/44101)")
	}
	if _, err := Resample(in, 0, 8000); err == nil {
		t.Error("0 Hz accepted")
	}
	same, _ := Resample(in, 8000, 8000)
	if !equalPCM(same, in) || &same[0] == &in[0] {
		t.Error("same-rate resample should return a copy")
	}
}

func BenchmarkTone(b *testing.B) {
	tone, _ := NewTone(8000, -10, 440, 480)
	frame := make([]int16, 160)
	b.ReportAllocs()
	for b.Loop() {
		tone.Read(frame)
	}
}

// TestReadWAVFromSox reads files written by a real tool (sox, which
// scripts/deps.sh installs) when it is on PATH.
func TestReadWAVFromSox(t *testing.T) {
	sox, err := exec.LookPath("sox")
	if err != nil {
		t.Skip("sox not installed")
	}
	for _, c := range []struct {
		rate, channels int
	}{{8000, 1}, {16000, 1}, {48000, 1}, {16000, 2}, {44100, 2}} {
		path := filepath.Join(t.TempDir(), "tone.wav")
		cmd := exec.Command(sox, "-n", "-r", strconv.Itoa(c.rate), "-c", strconv.Itoa(c.channels), "-b", "16", path, "synth", "0.5", "sine", "1000", "vol", "0.5")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("sox: %v: %s", err, out)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		pcm, rate, err := ReadWAV(f)
		f.Close()
		if err != nil || rate != c.rate || len(pcm) != c.rate/2 {
			t.Fatalf("%d Hz × %d: %d samples at %d Hz, %v", c.rate, c.channels, len(pcm), rate, err)
		}
		if l := e2e.PCMToneLevel(pcm, float64(rate), 1000); math.Abs(l+6) > 0.3 {
			t.Errorf("%d Hz × %d: 1 kHz at %.2f dBFS, want -6", c.rate, c.channels, l)
		}
	}
}
