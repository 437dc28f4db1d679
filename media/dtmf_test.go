package media

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestParseDTMFEvent(t *testing.T) {
	tests := []struct {
		name    string
		payload []byte
		want    DTMFEvent
		err     error
	}{
		{"digit 5 start", []byte{5, 10, 0x00, 0xA0}, DTMFEvent{Event: 5, Volume: 10, Duration: 160}, nil},
		{"end bit", []byte{11, 0x80 | 7, 0x03, 0x20}, DTMFEvent{Event: 11, End: true, Volume: 7, Duration: 800}, nil},
		{"R bit ignored", []byte{1, 0x40 | 63, 0xFF, 0xFF}, DTMFEvent{Event: 1, Volume: 63, Duration: 65535}, nil},
		{"extra bytes accepted", []byte{0, 0, 0, 1, 9, 9}, DTMFEvent{Duration: 1}, nil},
		{"short", []byte{1, 2, 3}, DTMFEvent{}, ErrDTMFPayload},
		{"empty", nil, DTMFEvent{}, ErrDTMFPayload},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseDTMFEvent(tt.payload)
			if !errors.Is(err, tt.err) || got != tt.want {
				t.Errorf("= %+v, %v; want %+v, %v", got, err, tt.want, tt.err)
			}
			if err == nil {
				back, _ := ParseDTMFEvent(got.AppendTo(nil))
				if back != got {
					t.Errorf("AppendTo round trip %+v → %+v", got, back)
				}
			}
		})
	}
}

func TestDTMFDigits(t *testing.T) {
	keys := "0123456789*#ABCD"
	for i := range len(keys) {
		code, ok := DTMFEventCode(keys[i])
		if !ok || int(code) != i {
			t.Errorf("DTMFEventCode(%q) = %d, %v", keys[i], code, ok)
		}
		d, ok := DTMFDigit(code)
		if !ok || d != keys[i] {
			t.Errorf("DTMFDigit(%d) = %q, %v", code, d, ok)
		}
	}
	if c, ok := DTMFEventCode('b'); !ok || c != 13 {
		t.Errorf("lower case b = %d, %v", c, ok)
	}
	if _, ok := DTMFDigit(16); ok {
		t.Error("event 16 (flash) is not a key")
	}
	if _, ok := DTMFEventCode('x'); ok {
		t.Error("'x' is not a key")
	}
}

type dtmfPkt struct {
	ts      uint32
	marker  bool
	payload []byte
}

func ev(code uint8, end bool, dur uint16) []byte {
	return DTMFEvent{Event: code, End: end, Volume: 10, Duration: dur}.AppendTo(nil)
}

// TestDTMFReceiver checks one report per start and per end whatever the
// sender repeats, loses or reorders.
func TestDTMFReceiver(t *testing.T) {
	tests := []struct {
		name string
		pkts []dtmfPkt
		want []string // "S5" start of 5, "E5/800" end with duration, "SE5/160" both
	}{
		{
			name: "a whole event with the end sent three times",
			pkts: []dtmfPkt{
				{1000, true, ev(5, false, 160)},
				{1000, false, ev(5, false, 320)},
				{1000, false, ev(5, false, 480)},
				{1000, false, ev(5, true, 640)},
				{1000, false, ev(5, true, 640)},
				{1000, false, ev(5, true, 640)},
			},
			want: []string{"S5", "E5/640"},
		},
		{
			name: "first packet lost",
			pkts: []dtmfPkt{
				{1000, false, ev(7, false, 320)},
				{1000, false, ev(7, true, 480)},
			},
			want: []string{"S7", "E7/480"},
		},
		{
			name: "only the end packets arrive",
			pkts: []dtmfPkt{
				{1000, false, ev(9, true, 800)},
				{1000, false, ev(9, true, 800)},
			},
			want: []string{"SE9/800"},
		},
		{
			name: "ends lost, next key starts",
			pkts: []dtmfPkt{
				{1000, true, ev(1, false, 160)},
				{2600, true, ev(2, false, 160)},
				{2600, false, ev(2, true, 320)},
			},
			want: []string{"S1", "S2", "E2/320"},
		},
		{
			name: "the same key twice",
			pkts: []dtmfPkt{
				{1000, true, ev(4, false, 160)},
				{1000, false, ev(4, true, 800)},
				{2600, true, ev(4, false, 160)},
				{1000, false, ev(4, true, 800)}, // late retransmission of the first
				{2600, false, ev(4, true, 800)},
			},
			want: []string{"S4", "E4/800", "S4", "E4/800"},
		},
		{
			name: "reordered continuation after the end",
			pkts: []dtmfPkt{
				{1000, true, ev(3, false, 160)},
				{1000, false, ev(3, true, 640)},
				{1000, false, ev(3, false, 480)},
			},
			want: []string{"S3", "E3/640"},
		},
		{
			name: "timestamp wraps between events",
			pkts: []dtmfPkt{
				{0xFFFFFF00, true, ev(6, false, 160)},
				{0xFFFFFF00, false, ev(6, true, 320)},
				{0x00000400, true, ev(8, false, 160)},
				{0xFFFFFF00, false, ev(6, true, 320)},
			},
			want: []string{"S6", "E6/320", "S8"},
		},
		{
			name: "long event continues in a new segment (§2.5.1.3)",
			pkts: []dtmfPkt{
				{1000, true, ev(0, false, 65000)},
				{1000 + 65000, false, ev(0, false, 160)},
				{1000 + 65000, false, ev(0, true, 480)},
			},
			want: []string{"S0", "E0/480"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r DTMFReceiver
			var got []string
			for _, p := range tt.pkts {
				rep, ok, err := r.Receive(p.ts, p.marker, p.payload)
				if err != nil {
					t.Fatal(err)
				}
				if ok {
					got = append(got, reportString(rep))
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	var r DTMFReceiver
	if _, _, err := r.Receive(0, true, []byte{1}); !errors.Is(err, ErrDTMFPayload) {
		t.Errorf("short payload: %v", err)
	}
}

func reportString(r DTMFReport) string {
	d, _ := DTMFDigit(r.Event)
	var b strings.Builder
	if r.Start {
		b.WriteByte('S')
	}
	if r.End {
		b.WriteByte('E')
	}
	b.WriteByte(d)
	if r.End {
		b.WriteString("/")
		b.WriteString(itoa(int(r.Duration)))
	}
	return b.String()
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var d []byte
	for ; n > 0; n /= 10 {
		d = append([]byte{byte('0' + n%10)}, d...)
	}
	return string(d)
}

// TestDTMFRoundTrip sends keys through a DTMFSender and a DTMFReceiver, losing
// some packets on the way, at G.711's and Opus's clock rates.
func TestDTMFRoundTrip(t *testing.T) {
	for _, rate := range []int{8000, 48000} {
		t.Run(itoa(rate), func(t *testing.T) {
			s, err := NewDTMFSender(DTMFSenderConfig{ClockRate: rate})
			if err != nil {
				t.Fatal(err)
			}
			const keys = "0123456789*#ABCD"
			if err := s.Send(keys); err != nil {
				t.Fatal(err)
			}
			var r DTMFReceiver
			var starts []byte
			var durations []uint16
			frame := uint32(rate / 50)
			audioTS := uint32(0xFFFF0000) // wraps during the test
			buf := make([]byte, DTMFPayloadSize)
			var sent, audio, markers int
			lastEventTS := uint32(0)
			for tick := 0; s.Busy() && tick < 10000; tick++ {
				n, marker, ts, ok := s.Next(audioTS, buf)
				audioTS += frame
				if !ok {
					audio++
					continue
				}
				sent++
				if marker {
					markers++
					if ts == lastEventTS {
						t.Fatalf("two events share timestamp %d", ts)
					}
					lastEventTS = ts
				}
				if sent%5 == 1 { // lose every fifth packet, including some first packets
					continue
				}
				rep, ok, err := r.Receive(ts, marker, buf[:n])
				if err != nil {
					t.Fatal(err)
				}
				if ok && rep.Start {
					d, _ := DTMFDigit(rep.Event)
					starts = append(starts, d)
				}
				if ok && rep.End {
					durations = append(durations, rep.Duration)
				}
			}
			if string(starts) != keys {
				t.Errorf("received %q, want %q", starts, keys)
			}
			if markers != len(keys) {
				t.Errorf("%d marker bits for %d keys", markers, len(keys))
			}
			// 100 ms of tone: 5 packets growing, then 3 ends = 7 per key.
			if want := 7 * len(keys); sent != want {
				t.Errorf("%d event packets, want %d", sent, want)
			}
			if want := 3 * (len(keys) - 1); audio < want {
				t.Errorf("%d audio ticks between keys, want at least %d (60 ms gaps)", audio, want)
			}
			for _, d := range durations {
				if d != uint16(frame*5) {
					t.Errorf("end duration %d, want %d (100 ms)", d, frame*5)
				}
			}
		})
	}
}

func TestDTMFSenderErrors(t *testing.T) {
	s, _ := NewDTMFSender(DTMFSenderConfig{ClockRate: 8000})
	if err := s.Send("12x"); err == nil || s.Busy() {
		t.Errorf("invalid key: %v, busy %v", err, s.Busy())
	}
	if err := s.Send(strings.Repeat("1", dtmfQueue+1)); !errors.Is(err, ErrDTMFQueueFull) {
		t.Errorf("overfull queue: %v", err)
	}
	if _, err := NewDTMFSender(DTMFSenderConfig{ClockRate: 48000, Duration: 2e9}); err == nil {
		t.Error("2 s at 48 kHz overflows the 16-bit duration and was accepted")
	}
	if _, err := NewDTMFSender(DTMFSenderConfig{ClockRate: 8000, Volume: 64}); err == nil {
		t.Error("volume 64 accepted")
	}
	var short [2]byte
	if _, _, _, ok := s.Next(0, short[:]); ok {
		t.Error("Next into 2 bytes")
	}
}

func TestDTMFAllocs(t *testing.T) {
	s, _ := NewDTMFSender(DTMFSenderConfig{ClockRate: 8000})
	var r DTMFReceiver
	buf := make([]byte, 4)
	ts := uint32(0)
	a := testing.AllocsPerRun(100, func() {
		if !s.Busy() {
			s.Send("5")
		}
		n, m, ets, ok := s.Next(ts, buf)
		ts += 160
		if ok {
			r.Receive(ets, m, buf[:n])
		}
	})
	if a != 0 {
		t.Errorf("allocs per tick = %v", a)
	}
}

// FuzzDTMFReceive feeds arbitrary telephone-event packets (timestamp, marker,
// payload) to a receiver: it must never panic, report an event end at most
// once per start, and report exactly what ParseDTMFEvent parses.
func FuzzDTMFReceive(f *testing.F) {
	f.Add(uint32(1000), true, []byte{5, 10, 0, 160})
	f.Add(uint32(1000), false, []byte{5, 0x8A, 3, 32})
	f.Add(uint32(0xFFFFFFFF), false, []byte{255, 0xFF, 0xFF, 0xFF, 1})
	f.Add(uint32(0), false, []byte{1})
	f.Fuzz(func(t *testing.T, ts uint32, marker bool, payload []byte) {
		var r DTMFReceiver
		for i := range 3 { // the same packet, then retransmissions
			rep, ok, err := r.Receive(ts, marker, payload)
			want, perr := ParseDTMFEvent(payload)
			if (err == nil) != (perr == nil) {
				t.Fatalf("Receive error %v, Parse error %v", err, perr)
			}
			if err != nil {
				return
			}
			if i == 0 && (!ok || !rep.Start || rep.Event != want.Event) {
				t.Fatalf("first packet not reported as a start: %+v %v", rep, ok)
			}
			if i > 0 && ok {
				t.Fatalf("retransmission %d reported: %+v", i, rep)
			}
		}
		if e, err := ParseDTMFEvent(payload); err == nil {
			if again, _ := ParseDTMFEvent(e.AppendTo(nil)); again != e {
				t.Fatalf("AppendTo/Parse round trip: %+v → %+v", e, again)
			}
		}
	})
}

func BenchmarkDTMFReceive(b *testing.B) {
	var r DTMFReceiver
	pkt := ev(5, false, 160)
	b.ReportAllocs()
	ts := uint32(0)
	for b.Loop() {
		r.Receive(ts, true, pkt)
		ts += 1600
	}
}
