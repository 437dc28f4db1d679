package bridge_test

import (
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

// chordPhone is a fake phone leg at rate (8000, or 16000 when wide) saying
// the sum of freqs and recording what it hears.
type chordPhone struct {
	rate  float64
	wide  bool
	freqs []float64
	phase []float64

	mu    sync.Mutex
	heard []int16
}

func newChordPhone(wide bool, freqs ...float64) *chordPhone {
	p := &chordPhone{rate: 8000, wide: wide, freqs: freqs, phase: make([]float64, len(freqs))}
	if wide {
		p.rate = 16000
	}
	return p
}

func (p *chordPhone) Wideband() bool { return p.wide }

func (p *chordPhone) ReadFrame(dst []int16) bool {
	for i := range dst {
		v := 0.0
		for k, f := range p.freqs {
			v += 6000 * math.Sin(p.phase[k])
			p.phase[k] += 2 * math.Pi * f / p.rate
		}
		dst[i] = int16(v)
	}
	return true
}

func (p *chordPhone) WriteFrame(pcm []int16, silent bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if silent {
		p.heard = append(p.heard, make([]int16, int(p.rate)/50)...)
		return
	}
	p.heard = append(p.heard, pcm...)
}

func (p *chordPhone) lastHeard(d time.Duration) []int16 {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := int(p.rate * d.Seconds())
	if len(p.heard) < n {
		return append([]int16(nil), p.heard...)
	}
	return append([]int16(nil), p.heard[len(p.heard)-n:]...)
}

// enterPhones puts a phone guest in room for each of phones, its audio
// attached, and returns the members in order.
func enterPhones(t *testing.T, room *bridge.Room, phones ...bridge.PhoneAudio) []*bridge.Member {
	t.Helper()
	var members []*bridge.Member
	for _, p := range phones {
		m, err := room.Enter(dialroom.Identity{Role: dialroom.RoleGuest, Kind: dialroom.MemberKindPhone, Address: "090-****-0000"}, newRecorder("phone"))
		if err != nil {
			t.Fatal(err)
		}
		if err := m.AttachPhoneAudio(p); err != nil {
			t.Fatal(err)
		}
		members = append(members, m)
	}
	return members
}

// publishChord makes browser member m publish the sum of freqs as 48 kHz
// Opus, a packet per 20 ms, until the returned stop is called.
func publishChord(t *testing.T, m *bridge.Member, freqs ...float64) (stop func()) {
	track := m.Publish(bridge.TrackSpec{Kind: bridge.KindAudio, StreamID: m.ID(),
		Codec: bridge.Codec{MimeType: "audio/opus", ClockRate: 48000, Channels: 2}})
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		enc, err := media.NewOpusEncoder(media.OpusEncoderConfig{Rate: 48000})
		if err != nil {
			t.Error(err)
			return
		}
		pcm, buf := make([]int16, 960), make([]byte, 1500)
		phase := make([]float64, len(freqs))
		pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SSRC: 4321}}
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			for i := range pcm {
				v := 0.0
				for k, f := range freqs {
					v += 6000 * math.Sin(phase[k])
					phase[k] += 2 * math.Pi * f / 48000
				}
				pcm[i] = int16(v)
			}
			n, err := enc.Encode(buf, pcm)
			if err != nil {
				t.Error(err)
				return
			}
			pkt.SequenceNumber++
			pkt.Timestamp += 960
			pkt.Payload = buf[:n]
			track.WriteRTP(&pkt)
		}
	}()
	return func() { close(done); wg.Wait() }
}

// TestWidebandMix: a room with a wideband leg (a softphone on G.722 or Opus)
// mixes at 16 kHz. The wideband leg hears the browser's 5 kHz (which no
// narrowband path carries) and the narrowband phone; the narrowband phone
// hears the wideband leg's and the browser's low tones without aliases of
// their high ones; browsers receive the wideband leg's 6 kHz as Opus (as
// G.722-less G.711 they get its narrowband part, without alias). When the
// wideband leg leaves, the room mixes at 8 kHz again.
func TestWidebandMix(t *testing.T) {
	forVoicesAndWorkers(t, testWidebandMix)
}

func testWidebandMix(t *testing.T, voice bridge.PhoneVoice, workers int) {
	_, op, opRec := hostedRoom(t, bridge.Config{EncodeWorkers: workers, PhoneVoice: voice}, "06011113333")
	defer publishChord(t, op, 440, 5000)()

	wide := newChordPhone(true, 1500, 6000)
	narrow := newChordPhone(false, 1000)
	listener := newChordPhone(false) // silent: hears the common mix
	members := enterPhones(t, op.Room(), wide, narrow, listener)
	ev, _ := opRec.waitFor(t, 0, "the wideband leg's track", func(ev bridge.Event) bool {
		ta, ok := ev.(bridge.TrackAdded)
		return ok && ta.Track.Member() == members[0]
	})
	sink := &browserSink{pts: map[uint8]int{}}
	rate := 48000.0
	if voice == bridge.PhoneVoicePCMU {
		rate = 8000
		sink.decode = func(dst []int16, payload []byte) (int, error) { return media.PCMU.Decode(dst, payload), nil }
	} else {
		dec, _ := media.NewOpusDecoder(48000)
		sink.decode = dec.Decode
	}
	ev.(bridge.TrackAdded).Track.Subscribe(sink)

	time.Sleep(1500 * time.Millisecond)

	heard := wide.lastHeard(time.Second)
	for _, f := range []float64{440, 5000, 1000} {
		if l := e2e.PCMToneLevel(heard, 16000, f); l < -35 {
			t.Errorf("the wideband leg hears %.0f Hz at %.1f dBFS, want above -35", f, l)
		}
	}
	for _, f := range []float64{1500, 6000} {
		if l := e2e.PCMToneLevel(heard, 16000, f); l > -50 {
			t.Errorf("the wideband leg hears itself (%.0f Hz) at %.1f dBFS", f, l)
		}
	}
	heard = narrow.lastHeard(time.Second)
	for _, f := range []float64{440, 1500} {
		if l := e2e.PCMToneLevel(heard, 8000, f); l < -35 {
			t.Errorf("the narrowband phone hears %.0f Hz at %.1f dBFS, want above -35", f, l)
		}
	}
	// 6 kHz and 5 kHz folded into 8 kHz would land at 2 and 3 kHz.
	for _, f := range []float64{2000, 3000, 1000} {
		if l := e2e.PCMToneLevel(heard, 8000, f); l > -45 {
			t.Errorf("the narrowband phone hears %.0f Hz at %.1f dBFS: an alias, or itself", f, l)
		}
	}
	// A silent narrowband phone hears everyone, through the room's one
	// downsampler of the common mix.
	heard = listener.lastHeard(time.Second)
	for _, f := range []float64{440, 1500, 1000} {
		if l := e2e.PCMToneLevel(heard, 8000, f); l < -35 {
			t.Errorf("the silent narrowband phone hears %.0f Hz at %.1f dBFS, want above -35", f, l)
		}
	}
	for _, f := range []float64{2000, 3000} {
		if l := e2e.PCMToneLevel(heard, 8000, f); l > -45 {
			t.Errorf("the silent narrowband phone hears an alias at %.0f Hz, %.1f dBFS", f, l)
		}
	}

	sink.mu.Lock()
	got := append([]int16(nil), sink.pcm...)
	sink.mu.Unlock()
	if len(got) < int(rate) {
		t.Fatalf("the browser got %d samples of the wideband leg in 1.5 s", len(got))
	}
	got = got[len(got)/2:]
	if l := e2e.PCMToneLevel(got, rate, 1500); l < -35 {
		t.Errorf("the browser hears the wideband leg's 1500 Hz at %.1f dBFS", l)
	}
	if voice == bridge.PhoneVoiceOpus {
		if l := e2e.PCMToneLevel(got, rate, 6000); l < -35 {
			t.Errorf("the browser hears the wideband leg's 6000 Hz at %.1f dBFS, want it carried (16 kHz Opus)", l)
		}
	} else if l := e2e.PCMToneLevel(got, rate, 2000); l > -45 {
		t.Errorf("as G.711 the browser hears an alias of the wideband leg's 6 kHz at 2 kHz, %.1f dBFS", l)
	}

	// The wideband leg leaves: the narrowband phone still hears the browser
	// (its decoder back at 8 kHz).
	members[0].Leave("left")
	time.Sleep(600 * time.Millisecond)
	if l := e2e.PCMToneLevel(narrow.lastHeard(400*time.Millisecond), 8000, 440); l < -35 {
		t.Errorf("after the wideband leg left, the narrowband phone hears the browser's 440 Hz at %.1f dBFS", l)
	}
	members[1].Leave("left")
	members[2].Leave("left")
}
