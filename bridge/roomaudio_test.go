package bridge_test

import (
	"fmt"
	"maps"
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

// tonePhone is a fake phone leg: it says a sine at freq (8 kHz) and records
// everything it hears.
type tonePhone struct {
	freq  float64
	phase float64

	mu    sync.Mutex
	heard []int16
	ticks int
}

func (p *tonePhone) ReadFrame(dst []int16) bool {
	for i := range dst {
		dst[i] = int16(8000 * math.Sin(p.phase))
		p.phase += 2 * math.Pi * p.freq / 8000
	}
	return true
}

func (p *tonePhone) WriteFrame(pcm []int16, silent bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ticks++
	if silent {
		p.heard = append(p.heard, make([]int16, bridge.PhoneFrameSamples)...)
		return
	}
	p.heard = append(p.heard, pcm...)
}

// lastHeard returns the last n samples the phone heard.
func (p *tonePhone) lastHeard(n int) []int16 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.heard) < n {
		return append([]int16(nil), p.heard...)
	}
	return append([]int16(nil), p.heard[len(p.heard)-n:]...)
}

// browserSink decodes what a phone leg forwards to a browser (decode: Opus
// or G.711, into PCM at the sink's rate).
type browserSink struct {
	mu     sync.Mutex
	decode func(dst []int16, payload []byte) (int, error)
	pcm    []int16
	n      int
	pts    map[uint8]int // packets by payload type
	tsStep uint32        // the smallest timestamp advance between packets seen

	lastSeq  uint16
	lastTS   uint32
	disorder int // packets whose sequence number or timestamp did not rise
}

func (s *browserSink) WriteRTP(p *rtp.Packet) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n > 0 && (p.SequenceNumber != s.lastSeq+1 || int32(p.Timestamp-s.lastTS) <= 0) {
		s.disorder++
	}
	if d := p.Timestamp - s.lastTS; s.n > 0 && (s.tsStep == 0 || d < s.tsStep) {
		s.tsStep = d
	}
	s.pts[p.PayloadType]++
	s.lastSeq, s.lastTS = p.SequenceNumber, p.Timestamp
	buf := make([]int16, 960)
	n, err := s.decode(buf, p.Payload)
	if err == nil {
		s.pcm = append(s.pcm, buf[:n]...)
		s.n++
	}
	return nil
}

// TestPhoneMix: two phone legs and a browser in one room. Each phone leg hears
// the browser and the other phone leg but not itself; the browser receives each
// phone leg's voice as Opus (or G.711 μ-law when the engine is set so); the
// room is mixed only while it has phone legs.
func TestPhoneMix(t *testing.T) {
	forVoicesAndWorkers(t, func(t *testing.T, voice bridge.PhoneVoice, workers int) { testPhoneMix(t, workers, voice) })
}

// hostedRoom starts an engine with cfg (closed in t.Cleanup) and the room
// of number digits, hosted by a browser operator whose events opRec keeps.
func hostedRoom(t *testing.T, cfg bridge.Config, digits string) (e *bridge.Engine, op *bridge.Member, opRec *recorder) {
	t.Helper()
	e = bridge.NewEngine(cfg)
	t.Cleanup(e.Close)
	opRec = newRecorder("operator")
	op, err := e.Host(&dialroom.Number{Digits: digits, Operator: "op"}, "Op",
		dialroom.Identity{Kind: dialroom.MemberKindBrowser, Name: "Op"}, opRec)
	if err != nil {
		t.Fatal(err)
	}
	return e, op, opRec
}

// forVoicesAndWorkers runs test as a subtest for each codec of phone voice
// to browsers, with encoding on the tick (no workers) and on two workers.
func forVoicesAndWorkers(t *testing.T, test func(t *testing.T, voice bridge.PhoneVoice, workers int)) {
	for _, voice := range []bridge.PhoneVoice{bridge.PhoneVoiceOpus, bridge.PhoneVoicePCMU} {
		for _, workers := range []int{0, 2} {
			name := map[bridge.PhoneVoice]string{bridge.PhoneVoiceOpus: "opus", bridge.PhoneVoicePCMU: "pcmu"}[voice] + "/" +
				map[int]string{0: "no workers", 2: "encode workers"}[workers]
			t.Run(name, func(t *testing.T) { test(t, voice, workers) })
		}
	}
}

func testPhoneMix(t *testing.T, encodeWorkers int, voice bridge.PhoneVoice) {
	e, op, opRec := hostedRoom(t, bridge.Config{EncodeWorkers: encodeWorkers, PhoneVoice: voice}, "06011112222")
	// The browser publishes a 440 Hz tone as 48 kHz Opus, one packet per 20 ms.
	defer publishChord(t, op, 440)()

	a, b := &tonePhone{freq: 1000}, &tonePhone{freq: 660}
	phones := enterPhones(t, op.Room(), a, b)
	// The operator's adapter subscribes to phone A's Opus track, as the SFU does.
	ev, _ := opRec.waitFor(t, 0, "phone A's track", func(ev bridge.Event) bool {
		ta, ok := ev.(bridge.TrackAdded)
		return ok && ta.Track.Member() == phones[0]
	})
	trackA := ev.(bridge.TrackAdded).Track
	// What the browser is offered, and how it decodes it.
	wantMime, wantPT, wantStep, rate := "audio/opus", uint8(111), uint32(960), 48000
	sink := &browserSink{pts: map[uint8]int{}}
	if voice == bridge.PhoneVoicePCMU {
		wantMime, wantPT, wantStep, rate = "audio/PCMU", 0, 160, 8000
		sink.decode = func(dst []int16, payload []byte) (int, error) { return media.PCMU.Decode(dst, payload), nil }
	} else {
		dec, _ := media.NewOpusDecoder(48000)
		sink.decode = dec.Decode
	}
	if c := trackA.Spec().Codec; c.MimeType != wantMime || c.ClockRate != uint32(rate) {
		t.Errorf("phone A's track to browsers is %s/%d, want %s/%d", c.MimeType, c.ClockRate, wantMime, rate)
	}
	trackA.Subscribe(sink)

	time.Sleep(1500 * time.Millisecond)

	const window = 8000 // the last second
	for _, c := range []struct {
		name           string
		phone          *tonePhone
		hears, notSelf []float64
	}{
		{"phone A", a, []float64{440, 660}, []float64{1000}},
		{"phone B", b, []float64{440, 1000}, []float64{660}},
	} {
		pcm := c.phone.lastHeard(window)
		for _, f := range c.hears {
			if lvl := e2e.PCMToneLevel(pcm, 8000, f); lvl < -30 {
				t.Errorf("%s hears %.0f Hz at %.1f dBFS, want above -30", c.name, f, lvl)
			}
		}
		for _, f := range c.notSelf {
			if lvl := e2e.PCMToneLevel(pcm, 8000, f); lvl > -50 {
				t.Errorf("%s hears itself (%.0f Hz) at %.1f dBFS", c.name, f, lvl)
			}
		}
	}
	sink.mu.Lock()
	got := append([]int16(nil), sink.pcm...)
	packets, disorder, pts, step := sink.n, sink.disorder, maps.Clone(sink.pts), sink.tsStep
	sink.mu.Unlock()
	if disorder != 0 {
		t.Errorf("%d of phone A's packets to the browser out of order", disorder)
	}
	if packets < 40 {
		t.Fatalf("browser got %d packets of phone A in 1.5 s, want about 75", packets)
	}
	if len(pts) != 1 || pts[wantPT] == 0 || step != wantStep {
		t.Errorf("phone A's packets to the browser: payload types %v, timestamp step %d; want only %d, step %d", pts, step, wantPT, wantStep)
	}
	if lvl := e2e.PCMToneLevel(got[len(got)/2:], float64(rate), 1000); lvl < -30 {
		t.Errorf("browser hears phone A's 1000 Hz at %.1f dBFS", lvl)
	}
	if st := e.ClockStats(); st.Ticks == 0 {
		t.Errorf("media clock never ticked: %+v", st)
	}

	// Muting phone A takes it out of B's mix. What B heard in the last
	// 250 ms, half a second after: on a loaded machine ticks run late and
	// catch up, so a window as long as the wait may still reach back to
	// frames mixed before the mute.
	phones[0].SetMuted(true)
	time.Sleep(500 * time.Millisecond)
	if lvl := e2e.PCMToneLevel(b.lastHeard(2000), 8000, 1000); lvl > -50 {
		t.Errorf("phone B still hears muted phone A at %.1f dBFS", lvl)
	}

	// When the phone legs leave, nothing ticks for the room any more.
	for _, m := range phones {
		m.Leave("left")
	}
	a.mu.Lock()
	ticks := a.ticks
	a.mu.Unlock()
	time.Sleep(200 * time.Millisecond)
	a.mu.Lock()
	after := a.ticks
	a.mu.Unlock()
	if after > ticks+1 {
		t.Errorf("phone A still ticked %d times after leaving", after-ticks)
	}
}

// arrivalPhone is a tonePhone that says each frame's packet arrived
// 10 ms before it was read.
type arrivalPhone struct {
	tonePhone
	arrived int64
}

func (p *arrivalPhone) ReadFrame(dst []int16) bool {
	p.arrived = time.Now().Add(-10 * time.Millisecond).UnixNano()
	return p.tonePhone.ReadFrame(dst)
}

func (p *arrivalPhone) FrameArrival() int64 { return p.arrived }

// TestPhoneVoiceSentDelay: each frame of a talking phone sent to the
// browsers reports the delay added since its packet arrived (here at least
// the 10 ms the phone says), both on the tick and from encode workers; a
// phone that does not tell arrivals reports nothing.
func TestPhoneVoiceSentDelay(t *testing.T) {
	for _, workers := range []int{0, 2} {
		t.Run(map[int]string{0: "on the tick", 2: "encode workers"}[workers], func(t *testing.T) {
			metrics := &countingMetrics{}
			// The host is a browser without a microphone: it publishes
			// nothing and still hears the phones.
			_, op, opRec := hostedRoom(t, bridge.Config{EncodeWorkers: workers, PhoneVoice: bridge.PhoneVoicePCMU, Metrics: metrics}, "06011113333")
			for i, p := range []bridge.PhoneAudio{&arrivalPhone{tonePhone: tonePhone{freq: 1000}}, &tonePhone{freq: 660}} {
				m, err := op.Room().Enter(dialroom.Identity{Role: dialroom.RoleGuest, Kind: dialroom.MemberKindPhone, Address: "090-****-0000"}, newRecorder("phone"))
				if err != nil {
					t.Fatal(err)
				}
				if err := m.AttachPhoneAudio(p); err != nil {
					t.Fatal(err)
				}
				ev, _ := opRec.waitFor(t, 0, fmt.Sprintf("phone %d's track", i), func(ev bridge.Event) bool {
					ta, ok := ev.(bridge.TrackAdded)
					return ok && ta.Track.Member() == m
				})
				ev.(bridge.TrackAdded).Track.Subscribe(&browserSink{pts: map[uint8]int{},
					decode: func(dst []int16, payload []byte) (int, error) { return media.PCMU.Decode(dst, payload), nil }})
			}
			time.Sleep(500 * time.Millisecond)
			metrics.mu.Lock()
			sent := append([]time.Duration(nil), metrics.voiceSent...)
			metrics.mu.Unlock()
			// ~25 frames of the one phone that tells arrivals, none of the other.
			if len(sent) < 10 || len(sent) > 30 {
				t.Fatalf("%d delays reported in 0.5 s, want about 25 (one phone's)", len(sent))
			}
			for _, d := range sent {
				if d < 10*time.Millisecond || d > 500*time.Millisecond {
					t.Errorf("added delay %v, want 10 ms and a little more", d)
				}
			}
		})
	}
}
