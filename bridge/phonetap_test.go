package bridge_test

import (
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/dialroom/dialroom"
	"github.com/dialroom/dialroom/bridge"
	"github.com/dialroom/dialroom/e2e"
	"github.com/dialroom/dialroom/media"
)

// tapPhone is a phone leg whose voice the test feeds packet by packet
// through its tap (bridge.PhoneVoiceTap); its ReadFrame says the same tone.
type tapPhone struct {
	tonePhone
	mu  sync.Mutex
	tap func(pcmu []byte, ssrc, ts uint32, arrived int64)
}

func (p *tapPhone) TapVoice(fn func(pcmu []byte, ssrc, ts uint32, arrived int64)) {
	p.mu.Lock()
	p.tap = fn
	p.mu.Unlock()
}

// send feeds one packet as if it arrived now; false when untapped.
func (p *tapPhone) send(pcmu []byte, ssrc, ts uint32) bool {
	p.mu.Lock()
	fn := p.tap
	p.mu.Unlock()
	if fn == nil {
		return false
	}
	fn(pcmu, ssrc, ts, time.Now().UnixNano())
	return true
}

// packetSink keeps the packets a browser would get.
type packetSink struct {
	mu   sync.Mutex
	pkts []rtp.Packet
}

func (s *packetSink) WriteRTP(p *rtp.Packet) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := *p
	c.Payload = append([]byte(nil), p.Payload...)
	s.pkts = append(s.pkts, c)
	return nil
}

func (s *packetSink) take() []rtp.Packet {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.pkts
	s.pkts = nil
	return out
}

// tappedPhoneInRoom starts an engine with the given codec for phone voice
// and encode workers, and a room with a browser (which publishes nothing)
// and a tapPhone, whose track to browsers the returned sink receives.
func tappedPhoneInRoom(t *testing.T, voice bridge.PhoneVoice, workers int) (*tapPhone, *bridge.Member, *packetSink) {
	t.Helper()
	phone := &tapPhone{tonePhone: tonePhone{freq: 1000}}
	m, sink := phoneTrackInRoom(t, voice, workers, phone)
	return phone, m, sink
}

// phoneTrackInRoom is tappedPhoneInRoom for any phone leg.
func phoneTrackInRoom(t *testing.T, voice bridge.PhoneVoice, workers int, phone bridge.PhoneAudio) (*bridge.Member, *packetSink) {
	t.Helper()
	_, op, opRec := hostedRoom(t, bridge.Config{EncodeWorkers: workers, PhoneVoice: voice}, "06011116666")
	m, err := op.Room().Enter(dialroom.Identity{Role: dialroom.RoleGuest, Kind: dialroom.MemberKindPhone, Address: "090-****-0000"}, newRecorder("phone"))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.AttachPhoneAudio(phone); err != nil {
		t.Fatal(err)
	}
	ev, _ := opRec.waitFor(t, 0, "the phone's track", func(ev bridge.Event) bool {
		ta, ok := ev.(bridge.TrackAdded)
		return ok && ta.Track.Member() == m
	})
	sink := &packetSink{}
	ev.(bridge.TrackAdded).Track.Subscribe(sink)
	return m, sink
}

// TestPhoneVoiceTap: a leg that taps its voice sends each voiced packet as
// it arrives (G.711: the payload as received; Opus: encoded, and decoding
// to the caller's tone), the caller's timing kept in the timestamps (a lost
// packet leaves its gap), a marker at each talk spurt, nothing for silence
// past the VAD's hangover, nothing while muted, and nothing twice (the
// tick does not send it too).
func TestPhoneVoiceTap(t *testing.T) {
	forVoicesAndWorkers(t, testPhoneVoiceTap)
}

func testPhoneVoiceTap(t *testing.T, voice bridge.PhoneVoice, workers int) {
	step := uint32(160) // our timestamp per 20 ms
	if voice == bridge.PhoneVoiceOpus {
		step = 960
	}
	phone, m, sink := tappedPhoneInRoom(t, voice, workers)

	tone := make([]byte, 160)
	pcm := make([]int16, 160)
	for i := range pcm {
		pcm[i] = int16(8000 * math.Sin(2*math.Pi*1000*float64(i)/8000))
	}
	media.PCMU.Encode(tone, pcm)
	quiet := make([]byte, 160)
	media.PCMU.Encode(quiet, make([]int16, 160))
	var sent []uint32 // timestamps of the tone packets fed
	ts := uint32(1000)
	feed := func(n int, payload []byte, lose int) {
		for i := range n {
			ts += 160
			if i == lose {
				continue
			}
			if !phone.send(payload, 0xabc, ts) {
				t.Fatal("the leg was not tapped")
			}
			if &payload[0] == &tone[0] {
				sent = append(sent, ts)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	feed(25, tone, 10) // a talk spurt with one packet lost
	feed(60, quiet, -1)
	feed(10, tone, -1) // the next spurt
	time.Sleep(200 * time.Millisecond)
	got := sink.take()

	var tones, markers int
	var heard []int16
	dec, _ := media.NewOpusDecoder(8000)
	for i, p := range got {
		if p.Marker {
			markers++
		}
		if voice == bridge.PhoneVoiceOpus {
			buf := make([]int16, 960)
			if n, err := dec.Decode(buf, p.Payload); err == nil {
				heard = append(heard, buf[:n]...)
			}
			if i < len(sent) {
				tones++ // compared by level below
			}
		} else if string(p.Payload) == string(tone) {
			tones++
		}
		if i > 0 && p.SequenceNumber != got[i-1].SequenceNumber+1 {
			t.Errorf("packet %d: sequence %d after %d", i, p.SequenceNumber, got[i-1].SequenceNumber)
		}
	}
	if tones != len(sent) {
		t.Errorf("%d tone packets reached the browser, want the %d fed (each once)", tones, len(sent))
	}
	if markers != 2 {
		t.Errorf("%d talk spurt markers, want 2", markers)
	}
	if len(got) > len(sent)+15 {
		t.Errorf("%d packets for %d voiced ones: silence was sent past the hangover", len(got), len(sent))
	}
	// The caller's timing: the same steps, the lost packet's gap kept.
	if len(got) > 11 {
		if d := got[10].Timestamp - got[9].Timestamp; d != 2*step {
			t.Errorf("timestamp step over the lost packet %d, want %d", d, 2*step)
		}
		if d := got[1].Timestamp - got[0].Timestamp; d != step {
			t.Errorf("timestamp step %d, want %d", d, step)
		}
	}
	if voice == bridge.PhoneVoiceOpus {
		if lvl := e2e.PCMToneLevel(heard, 8000, 1000); lvl < -30 {
			t.Errorf("the Opus the browser got decodes to 1000 Hz at %.1f dBFS, want above -30", lvl)
		}
	}

	m.SetMuted(true)
	feed(10, tone, -1)
	time.Sleep(100 * time.Millisecond)
	if n := len(sink.take()); n != 0 {
		t.Errorf("%d packets sent while muted", n)
	}
	m.Leave("left")
	if phone.send(tone, 0xabc, ts+160) {
		t.Error("the leg is still tapped after leaving")
	}
}

// TestPhoneVoiceTapReframes: with Opus, packets of another length than
// 20 ms (here 30 ms) are cut into 20 ms frames on a continuous timeline.
func TestPhoneVoiceTapReframes(t *testing.T) {
	phone, _, sink := tappedPhoneInRoom(t, bridge.PhoneVoiceOpus, 0)

	const packets, samples = 20, 240 // 30 ms each
	pcm := make([]int16, samples)
	payload := make([]byte, samples)
	for i := range packets {
		for k := range pcm {
			pcm[k] = int16(8000 * math.Sin(2*math.Pi*1000*float64(i*samples+k)/8000))
		}
		media.PCMU.Encode(payload, pcm)
		phone.send(payload, 1, uint32(i*samples))
	}
	got := sink.take()
	if len(got) != packets*samples/160 {
		t.Fatalf("%d frames from %d packets of 30 ms, want %d", len(got), packets, packets*samples/160)
	}
	dec, _ := media.NewOpusDecoder(8000)
	var heard []int16
	for i, p := range got {
		if i > 0 && p.Timestamp-got[i-1].Timestamp != 960 {
			t.Errorf("frame %d: timestamp step %d, want 960", i, p.Timestamp-got[i-1].Timestamp)
		}
		buf := make([]int16, 960)
		if n, err := dec.Decode(buf, p.Payload); err == nil {
			heard = append(heard, buf[:n]...)
		}
	}
	if lvl := e2e.PCMToneLevel(heard[len(heard)/2:], 8000, 1000); lvl < -30 {
		t.Errorf("the frames decode to 1000 Hz at %.1f dBFS, want above -30", lvl)
	}
}

// wideTapPhone is a wideband phone leg (G.722 or Opus) fed packet by packet
// through its tap (bridge.PhoneWidebandTap) as decoded 16 kHz PCM.
type wideTapPhone struct {
	chordPhone
	mu  sync.Mutex
	tap func(pcm []int16, opus []byte, ssrc, ts uint32, arrived int64)
}

func (p *wideTapPhone) TapWideband(fn func(pcm []int16, opus []byte, ssrc, ts uint32, arrived int64)) {
	p.mu.Lock()
	p.tap = fn
	p.mu.Unlock()
}

// TestWidebandVoiceTap: a wideband leg's voice leaves for the browsers as
// each packet arrives, like a narrowband leg's: as 16 kHz Opus that still
// carries its 6 kHz, or as G.711 with its narrowband part only (1.5 kHz,
// and no alias of the 6 kHz at 2 kHz); the caller's timing is kept.
func TestWidebandVoiceTap(t *testing.T) {
	forVoicesAndWorkers(t, func(t *testing.T, voice bridge.PhoneVoice, workers int) {
		phone := &wideTapPhone{chordPhone: *newChordPhone(true)}
		_, sink := phoneTrackInRoom(t, voice, workers, phone)
		phone.mu.Lock()
		fn := phone.tap
		phone.mu.Unlock()
		if fn == nil {
			t.Fatal("the wideband leg was not tapped")
		}
		pcm := make([]int16, 320)
		ts := uint32(5000)
		for k := range 50 {
			for i := range pcm {
				n := float64(k*320 + i)
				pcm[i] = int16(6000*math.Sin(2*math.Pi*1500*n/16000) + 6000*math.Sin(2*math.Pi*6000*n/16000))
			}
			ts += 320
			fn(pcm, nil, 0xdef, ts, time.Now().UnixNano())
			time.Sleep(2 * time.Millisecond)
		}
		time.Sleep(200 * time.Millisecond)
		got := sink.take()
		if len(got) < 45 {
			t.Fatalf("%d packets of 50 reached the browser", len(got))
		}
		step, rate := uint32(960), 48000.0
		var heard []int16
		dec, _ := media.NewOpusDecoder(48000)
		if voice == bridge.PhoneVoicePCMU {
			step, rate = 160, 8000
		}
		for i, p := range got {
			if i > 0 && p.Timestamp-got[i-1].Timestamp != step {
				t.Errorf("packet %d: timestamp step %d, want %d", i, p.Timestamp-got[i-1].Timestamp, step)
			}
			buf := make([]int16, 960)
			if voice == bridge.PhoneVoicePCMU {
				heard = append(heard, buf[:media.PCMU.Decode(buf, p.Payload)]...)
			} else if n, err := dec.Decode(buf, p.Payload); err == nil {
				heard = append(heard, buf[:n]...)
			}
		}
		heard = heard[len(heard)/2:]
		if l := e2e.PCMToneLevel(heard, rate, 1500); l < -30 {
			t.Errorf("the browser hears the wideband leg's 1500 Hz at %.1f dBFS", l)
		}
		if voice == bridge.PhoneVoiceOpus {
			if l := e2e.PCMToneLevel(heard, rate, 6000); l < -30 {
				t.Errorf("the browser hears the wideband leg's 6000 Hz at %.1f dBFS, want it carried", l)
			}
		} else if l := e2e.PCMToneLevel(heard, rate, 2000); l > -45 {
			t.Errorf("as G.711 the browser hears an alias of the 6 kHz at 2 kHz, %.1f dBFS", l)
		}
	})
}

// TestWidebandOpusPassthrough: an Opus caller's packets reach browsers that
// get Opus exactly as the caller sent them (no second encoding), on our
// track's timeline, only while voiced; with G.711 to browsers they are
// decoded PCM's narrowband part as before.
func TestWidebandOpusPassthrough(t *testing.T) {
	for _, workers := range []int{0, 2} {
		t.Run(fmt.Sprint("workers=", workers), func(t *testing.T) {
			phone := &wideTapPhone{chordPhone: *newChordPhone(true)}
			_, sink := phoneTrackInRoom(t, bridge.PhoneVoiceOpus, workers, phone)
			phone.mu.Lock()
			fn := phone.tap
			phone.mu.Unlock()
			enc, err := media.NewOpusEncoder(media.OpusEncoderConfig{Rate: 16000})
			if err != nil {
				t.Fatal(err)
			}
			pcm, buf := make([]int16, 320), make([]byte, media.OpusMaxPayload)
			var sent [][]byte
			ts := uint32(7000)
			for k := range 40 {
				voiced := k < 30
				for i := range pcm {
					pcm[i] = 0
					if voiced {
						pcm[i] = int16(8000 * math.Sin(2*math.Pi*6000*float64(k*320+i)/16000))
					}
				}
				n, err := enc.Encode(buf, pcm)
				if err != nil {
					t.Fatal(err)
				}
				payload := append([]byte(nil), buf[:n]...)
				if voiced {
					sent = append(sent, payload)
				}
				ts += 320
				fn(pcm, payload, 0x5a5a, ts, time.Now().UnixNano())
				time.Sleep(2 * time.Millisecond)
			}
			time.Sleep(200 * time.Millisecond)
			got := sink.take()
			if len(got) < len(sent) || len(got) > len(sent)+15 {
				t.Fatalf("%d packets reached the browser for %d voiced ones", len(got), len(sent))
			}
			for i, want := range sent {
				if string(got[i].Payload) != string(want) {
					t.Fatalf("packet %d is not the caller's Opus as it was sent", i)
				}
				if i > 0 && got[i].Timestamp-got[i-1].Timestamp != 960 {
					t.Errorf("packet %d: timestamp step %d, want 960", i, got[i].Timestamp-got[i-1].Timestamp)
				}
			}
			if !got[0].Marker || got[1].Marker {
				t.Errorf("markers %v %v, want the talk spurt's first only", got[0].Marker, got[1].Marker)
			}
		})
	}
}
