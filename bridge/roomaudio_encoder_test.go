package bridge

import (
	"math"
	"testing"

	"github.com/pion/rtp"

	"github.com/dialroom/dialroom"
	"github.com/dialroom/dialroom/e2e"
	"github.com/dialroom/dialroom/media"
)

// rtpLog records what a phone leg's Opus track sends, decoded to 8 kHz.
type rtpLog struct {
	dec     *media.OpusDecoder
	now     *uint64 // the tick being run
	tick    []uint64
	seq, ts []uint32
	marker  []bool
	pcm     []int16
}

func (l *rtpLog) WriteRTP(p *rtp.Packet) error {
	l.tick = append(l.tick, *l.now)
	l.seq = append(l.seq, uint32(p.SequenceNumber))
	l.ts = append(l.ts, p.Timestamp)
	l.marker = append(l.marker, p.Marker)
	buf := make([]int16, PhoneFrameSamples)
	if n, err := l.dec.Decode(buf, p.Payload); err == nil {
		l.pcm = append(l.pcm, buf[:n]...)
	}
	return nil
}

// TestPhoneEncoderHandOver: phone legs take an Opus encoder when they start
// talking and give it back (reset, to the room's pool) after encoderIdleFrames
// of quiet; the next talker reuses it. Each leg's RTP stream to browsers stays
// continuous across the hand-over: sequence numbers without gaps, timestamps
// advancing 960 per 20 ms tick including the silent ones, the marker bit on
// the first packet of each talk spurt, and the tone heard at its level.
func TestPhoneEncoderHandOver(t *testing.T) {
	clock := media.NewClock(media.ClockConfig{})
	clock.Close() // the test drives ticks itself
	e := NewEngine(Config{Clock: clock})
	t.Cleanup(e.Close)
	r := e.Room(&dialroom.Number{Digits: "06000000000", Operator: "op"}, "Op")
	b, _ := r.Enter(dialroom.Identity{Kind: dialroom.MemberKindBrowser}, nopEndpoint{})
	b.Publish(TrackSpec{Kind: KindAudio, Codec: Codec{MimeType: "audio/opus", ClockRate: 48000, Channels: 2}})
	var seq uint64
	var phones []*benchPhone
	var logs []*rtpLog
	for range 3 {
		m, _ := r.Enter(dialroom.Identity{Kind: dialroom.MemberKindPhone}, nopEndpoint{})
		p := &benchPhone{}
		if err := m.AttachPhoneAudio(p); err != nil {
			t.Fatal(err)
		}
		dec, _ := media.NewOpusDecoder(8000)
		l := &rtpLog{dec: dec, now: &seq}
		m.tracks[0].Subscribe(l)
		phones, logs = append(phones, p), append(logs, l)
	}
	ra := r.audio
	parts := *ra.parts.Load()
	encoders := func() (held int) {
		for _, p := range parts {
			if p.phone != nil && p.enc != nil {
				held++
			}
		}
		return held
	}
	if held := encoders(); held != 0 {
		t.Fatalf("%d encoders held before anyone talked, want 0", held)
	}

	run := func(frames int) {
		for range frames {
			seq++
			ra.tick(media.Tick{Seq: seq})
		}
	}
	// Phone 0 talks 1 s, then phone 1 takes over while 0's encoder is still
	// held (two encoders), then after 0's quiet second its encoder is pooled.
	phones[0].talking = true
	run(50)
	if held := encoders(); held != 1 {
		t.Fatalf("%d encoders held with one talker, want 1", held)
	}
	// The VAD's hangover (media.DefaultVADHangover) sends 10 more frames.
	const hangover = 10
	phones[0].talking, phones[1].talking = false, true
	run(hangover + encoderIdleFrames)
	if held, pooled := encoders(), r.engine.spareEncoders.size(); held != 1 || pooled != 1 {
		t.Fatalf("after phone 0's quiet second: %d held, %d pooled, want 1 and 1", held, pooled)
	}
	// Phone 2 takes the pooled encoder; phone 0 talks again, with a new one.
	phones[1].talking, phones[2].talking = false, true
	run(20)
	if pooled := r.engine.spareEncoders.size(); pooled != 0 {
		t.Fatalf("phone 2 did not take the pooled encoder: %d pooled", pooled)
	}
	phones[0].talking = true
	run(50)
	phones[0].talking, phones[2].talking = false, false
	run(3 * encoderIdleFrames)
	// Three encoders were ever made (phone 0's first went on to phone 2);
	// all are kept for the engine's next talkers.
	if held, pooled := encoders(), r.engine.spareEncoders.size(); held != 0 || pooled != 3 {
		t.Fatalf("all quiet: %d held, %d pooled, want 0 and 3", held, pooled)
	}

	for i, l := range logs {
		if len(l.seq) == 0 {
			t.Fatalf("phone %d sent nothing", i)
		}
		spurts := 0
		for k := range l.seq {
			if l.marker[k] {
				spurts++
			}
			if k == 0 {
				continue
			}
			if d := uint16(l.seq[k] - l.seq[k-1]); d != 1 {
				t.Errorf("phone %d: sequence jumps by %d at packet %d", i, d, k)
			}
			// The timestamp follows the tick, silent ticks included.
			if d, want := l.ts[k]-l.ts[0], uint32(l.tick[k]-l.tick[0])*opusTicksPerFrame; d != want {
				t.Errorf("phone %d: packet %d at timestamp +%d, want +%d", i, k, d, want)
			}
			if !l.marker[k] && l.tick[k] != l.tick[k-1]+1 {
				t.Errorf("phone %d: packet %d after a gap without the marker bit", i, k)
			}
		}
		if want := map[int]int{0: 2, 1: 1, 2: 1}[i]; spurts != want || !l.marker[0] {
			t.Errorf("phone %d: %d talk spurts marked, want %d", i, spurts, want)
		}
		// A 440 Hz tone at 6000 (-14.7 dBFS) comes out at its level, also
		// from a reused or fresh encoder (phone 0's second spurt is the end).
		tail := l.pcm[len(l.pcm)-40*PhoneFrameSamples:]
		want := 20 * math.Log10(6000/32768.0)
		if lvl := e2e.PCMToneLevel(tail, 8000, 440); math.Abs(lvl-want) > 3 {
			t.Errorf("phone %d: browsers hear the 440 Hz tone at %.1f dBFS, want %.1f", i, lvl, want)
		}
	}
}

// The engine's pool of spare encoders is bounded: past encoderPoolSize a
// released encoder is left to the collector, and get takes the newest.
func TestEncoderPoolBound(t *testing.T) {
	var p encoderPool
	if p.get() != nil {
		t.Fatal("an empty pool gave an encoder")
	}
	var last *media.OpusEncoder
	for range encoderPoolSize + 3 {
		enc, err := media.NewOpusEncoder(phoneOpusEncoder)
		if err != nil {
			t.Fatal(err)
		}
		if p.size() < encoderPoolSize {
			last = enc // kept; the ones after it are not
		}
		p.put(enc)
	}
	if n := p.size(); n != encoderPoolSize {
		t.Fatalf("pool holds %d, want %d", n, encoderPoolSize)
	}
	if got := p.get(); got != last {
		t.Error("get did not return the last encoder kept")
	}
}
