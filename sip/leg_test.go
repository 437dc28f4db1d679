package sip

import (
	"math"
	"net"
	"testing"
	"time"

	"github.com/dialroom/dialroom/bridge"
	"github.com/dialroom/dialroom/media"
	"github.com/pion/rtp"
)

// newTestLeg makes a leg whose endpoint sends to a local socket the test
// reads.
func newTestLeg(t testing.TB, base int) (*leg, *net.UDPConn) {
	t.Helper()
	sink, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sink.Close() })
	ports, err := media.NewPortAllocator(base, base+3)
	if err != nil {
		t.Fatal(err)
	}
	jb, err := media.NewJitterBuffer(media.JitterConfig{ClockRate: media.G711Rate})
	if err != nil {
		t.Fatal(err)
	}
	l, err := newLeg(offer{Codec: media.PCMA, DTMF: 101}, jb)
	if err != nil {
		t.Fatal(err)
	}
	ep, err := media.Listen(media.EndpointConfig{Ports: ports, OnPacket: l.onPacket, Timeout: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ep.Close() })
	l.ep = ep
	ep.SetRemote(sink.LocalAddr().(*net.UDPAddr).AddrPort())
	l.inRoom.Store(true)
	return l, sink
}

// TestLegWriteFrame: one packet per frame, timestamps 160 apart, the
// marker on the first only, G.711 silence when nobody talks, nothing sent
// on hold while the timestamp keeps running.
func TestLegWriteFrame(t *testing.T) {
	l, sink := newTestLeg(t, 32400)
	tone := make([]int16, bridge.PhoneFrameSamples)
	for i := range tone {
		tone[i] = 8000
	}
	l.WriteFrame(tone, false)
	l.WriteFrame(nil, true)
	l.sending.Store(false)
	l.WriteFrame(tone, false) // on hold: not sent
	l.sending.Store(true)
	l.WriteFrame(tone, false)

	buf := make([]byte, 1500)
	var pkts []rtp.Packet
	for range 3 {
		_ = sink.SetReadDeadline(time.Now().Add(2 * time.Second))
		n, _, err := sink.ReadFromUDP(buf)
		if err != nil {
			t.Fatal(err)
		}
		var p rtp.Packet
		if err := p.Unmarshal(append([]byte(nil), buf[:n]...)); err != nil {
			t.Fatal(err)
		}
		pkts = append(pkts, p)
	}
	if pkts[0].PayloadType != 8 || !pkts[0].Marker || pkts[1].Marker || pkts[2].Marker {
		t.Errorf("payload type %d, markers %v %v %v", pkts[0].PayloadType, pkts[0].Marker, pkts[1].Marker, pkts[2].Marker)
	}
	if d1, d2 := pkts[1].Timestamp-pkts[0].Timestamp, pkts[2].Timestamp-pkts[1].Timestamp; d1 != 160 || d2 != 320 {
		t.Errorf("timestamp steps %d, %d; want 160, then 320 across the held frame", d1, d2)
	}
	for _, b := range pkts[1].Payload {
		if b != media.PCMA.Silence() {
			t.Fatalf("silent frame payload % x, want A-law silence", pkts[1].Payload[:8])
		}
	}
	if len(pkts[1].Payload) != 160 {
		t.Errorf("silent frame of %d bytes", len(pkts[1].Payload))
	}
}

// TestLegReadFrame: audio packets are decoded after the jitter buffer's
// delay; a leg with nothing received reports no audio.
func TestLegReadFrame(t *testing.T) {
	l, _ := newTestLeg(t, 32410)
	dst := make([]int16, bridge.PhoneFrameSamples)
	// Concealment may fill the first frames (it fades out within 60 ms);
	// after that a leg that received nothing is silent.
	audio := 0
	for range 4 {
		if l.ReadFrame(dst) {
			audio++
		}
	}
	if audio == 4 {
		t.Error("audio reported before any packet")
	}
	payload := make([]byte, 160)
	pcm := make([]int16, 160)
	for i := range pcm {
		pcm[i] = 4000
	}
	media.PCMA.Encode(payload, pcm)
	now := time.Now()
	for i := range 5 {
		l.onPacket(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 8, SequenceNumber: uint16(i), Timestamp: uint32(i * 160), SSRC: 1}, Payload: payload}, now)
	}
	got := false
	for range 5 {
		if l.ReadFrame(dst) && dst[80] > 3000 {
			got = true
			break
		}
	}
	if !got {
		t.Error("no decoded audio after five packets")
	}
}

// TestLegDTMF: RFC 4733 events reach onKey once per key.
func TestLegDTMF(t *testing.T) {
	l, _ := newTestLeg(t, 32420)
	var keys []byte
	l.onKey = func(k byte) { keys = append(keys, k) }
	s, err := media.NewDTMFSender(media.DTMFSenderConfig{ClockRate: media.G711Rate})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send("*6"); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, media.DTMFPayloadSize)
	for i := range 50 {
		ts := uint32(i * 160)
		n, marker, evTS, ok := s.Next(ts, buf)
		if !ok {
			continue
		}
		l.onPacket(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 101, Marker: marker, SequenceNumber: uint16(i), Timestamp: evTS, SSRC: 1}, Payload: buf[:n]}, time.Now())
	}
	if string(keys) != "*6" {
		t.Errorf("keys %q, want *6", keys)
	}
}

// BenchmarkLegTick is one tick of a leg in a room: read (decode or
// conceal) and write (encode and send).
func BenchmarkLegTick(b *testing.B) {
	l, sink := newTestLeg(b, 32430)
	go func() { // drain
		buf := make([]byte, 1500)
		for {
			if _, _, err := sink.ReadFromUDP(buf); err != nil {
				return
			}
		}
	}()
	in := make([]int16, bridge.PhoneFrameSamples)
	out := make([]int16, bridge.PhoneFrameSamples)
	for i := range out {
		out[i] = int16(i * 100)
	}
	b.ReportAllocs()
	for b.Loop() {
		l.ReadFrame(in)
		l.WriteFrame(out, false)
	}
}

// inbandKeyAudio renders keys as in-band DTMF at rate, each 80 ms on and
// 80 ms off at -10 dBFS per tone, after 100 ms of a 440 Hz tone (speech
// stand-in, which must not read as a key).
func inbandKeyAudio(t testing.TB, rate int, keys string) []int16 {
	t.Helper()
	n := func(ms int) int { return rate * ms / 1000 }
	out := make([]int16, n(100))
	hum, err := media.NewTone(rate, -10, 440)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = hum.Read(out)
	for i := range len(keys) {
		lo, hi, ok := media.DTMFFrequencies(keys[i])
		if !ok {
			t.Fatalf("%q is not a key", keys[i])
		}
		tone, err := media.NewTone(rate, -10, lo, hi)
		if err != nil {
			t.Fatal(err)
		}
		on := make([]int16, n(80))
		_, _ = tone.Read(on)
		out = append(append(out, on...), make([]int16, n(80))...)
	}
	return out
}

// TestLegInbandDTMF: a call without telephone-event has its keys found in
// its audio, whatever the packet time; a call with telephone-event does not
// scan its audio (its keys come as events).
func TestLegInbandDTMF(t *testing.T) {
	for _, tt := range []struct {
		name    string
		offer   offer
		samples int // per packet
		want    string
	}{
		{"G.711, 20 ms", offer{Codec: media.PCMU, DTMF: -1}, 160, "*6#1"},
		{"G.711, 30 ms", offer{Codec: media.PCMA, DTMF: -1}, 240, "*6#1"},
		{"G.722", offer{Wide: wideFormat{name: wideG722, pt: media.G722PayloadType}, DTMF: -1}, 320, "*6#1"},
		{"telephone-event negotiated", offer{Codec: media.PCMU, DTMF: 101}, 160, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rate := 8000
			if tt.offer.Wide.name != "" {
				rate = 16000
			}
			jb, err := media.NewJitterBuffer(media.JitterConfig{ClockRate: media.G711Rate})
			if err != nil {
				t.Fatal(err)
			}
			l, err := newLeg(tt.offer, jb)
			if err != nil {
				t.Fatal(err)
			}
			var keys []byte
			l.onKey = func(k byte) { keys = append(keys, k) }
			audio := inbandKeyAudio(t, rate, "*6#1")
			enc := media.NewG722Encoder()
			for i := 0; i+tt.samples <= len(audio); i += tt.samples {
				frame := audio[i : i+tt.samples]
				var payload []byte
				pt := tt.offer.Codec.PayloadType()
				if tt.offer.Wide.name != "" {
					payload, pt = make([]byte, len(frame)/2), media.G722PayloadType
					enc.Encode(payload, frame)
				} else {
					payload = make([]byte, len(frame))
					tt.offer.Codec.Encode(payload, frame)
				}
				l.onPacket(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: uint16(i),
					Timestamp: uint32(i), SSRC: 1}, Payload: payload}, time.Now())
			}
			if string(keys) != tt.want {
				t.Errorf("keys %q, want %q", keys, tt.want)
			}
		})
	}
}

// BenchmarkInbandKeys is what a call without telephone-event pays per 20 ms
// packet to have its keys found in-band: decode the G.711 payload again and
// run the detector's eight Goertzel filters over it.
func BenchmarkInbandKeys(b *testing.B) {
	k, err := newInbandKeys(media.G711Rate)
	if err != nil {
		b.Fatal(err)
	}
	audio := inbandKeyAudio(b, media.G711Rate, "5")
	payload := make([]byte, 160)
	media.PCMU.Encode(payload, audio[800:960])
	b.ReportAllocs()
	for b.Loop() {
		k.g711(media.PCMU, payload, func(byte) {})
	}
}

// The voice tap gets μ-law whatever the caller speaks: an A-law leg's
// packets are converted (with buffers only A-law legs carry), a μ-law leg's
// go as they came.
func TestLegTapVoiceLaw(t *testing.T) {
	pcm := make([]int16, 160)
	for i := range pcm {
		pcm[i] = int16(8000 * math.Sin(2*math.Pi*1000*float64(i)/8000))
	}
	for _, law := range []media.G711{media.PCMA, media.PCMU} {
		jb, err := media.NewJitterBuffer(offer{Codec: law}.jitterConfig())
		if err != nil {
			t.Fatal(err)
		}
		l, err := newLeg(offer{Codec: law, DTMF: 101}, jb)
		if err != nil {
			t.Fatal(err)
		}
		if (l.alaw != nil) != (law == media.PCMA) {
			t.Errorf("%v leg: A-law buffers %v", law, l.alaw != nil)
		}
		payload := make([]byte, 160)
		law.Encode(payload, pcm)
		var got []byte
		l.tapVoice(func(b []byte, _, _ uint32, _ int64) { got = append(got, b...) }, &rtp.Packet{Payload: payload}, time.Now())
		if len(got) != 160 {
			t.Fatalf("%v leg: tap got %d bytes, want 160", law, len(got))
		}
		heard := make([]int16, 160)
		media.PCMU.Decode(heard, got)
		for i := range pcm {
			if d := math.Abs(float64(heard[i]) - float64(pcm[i])); d > 600 { // two quantisations of ≤ 256 at this level
				t.Fatalf("%v leg: sample %d is %d as μ-law, was %d", law, i, heard[i], pcm[i])
			}
		}
	}
}
