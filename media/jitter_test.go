package media

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// jbHarness drives a JitterBuffer with a fake arrival clock: tick advances
// 20 ms and pops.
type jbHarness struct {
	t    testing.TB
	jb   *JitterBuffer
	now  time.Time
	ssrc uint32
	buf  []byte
	pkt  rtp.Packet
	pl   [3]byte
}

func newJB(t testing.TB, cfg JitterConfig) *jbHarness {
	t.Helper()
	if cfg.ClockRate == 0 {
		cfg.ClockRate = 8000
	}
	jb, err := NewJitterBuffer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &jbHarness{t: t, jb: jb, now: time.Unix(1000, 0), ssrc: 0x1234, buf: make([]byte, DefaultJitterMaxPayload)}
}

// push offers a packet whose payload is its sequence number, so frames can be
// identified after a Pop.
func (h *jbHarness) push(seq uint16, ts uint32) PushResult {
	h.pl = [3]byte{byte(seq >> 8), byte(seq), 0xAB}
	h.pkt = rtp.Packet{
		Header:  rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: ts, SSRC: h.ssrc},
		Payload: h.pl[:],
	}
	return h.jb.Push(&h.pkt, h.now)
}

func (h *jbHarness) tick() JitterFrame {
	h.now = h.now.Add(20 * time.Millisecond)
	return h.jb.Pop(h.buf)
}

// describe turns a frame into "p<seq>", "l<seq>" or "-" for compact tables.
func describe(f JitterFrame) string {
	switch f.Status {
	case FramePlay:
		return fmt.Sprintf("p%d", uint16(f.Payload[0])<<8|uint16(f.Payload[1]))
	case FrameLost:
		return fmt.Sprintf("l%d", f.SequenceNumber)
	}
	return "-"
}

// TestJitterScenarios runs packet arrival patterns tick by tick. In steps,
// each element is the sequence numbers arriving before that tick's Pop
// (timestamps follow the sequence numbers, 160 per frame); want is what each
// Pop returns.
func TestJitterScenarios(t *testing.T) {
	tests := []struct {
		name  string
		start uint16
		steps [][]int // offsets from start
		want  []string
	}{
		{
			name:  "in order",
			steps: [][]int{{0}, {1}, {2}, {3}, {4}},
			want:  []string{"-", "p0", "p1", "p2", "p3"},
		},
		{
			name:  "reordered within the delay",
			steps: [][]int{{0}, {2}, {1}, {4}, {3}, {5}},
			want:  []string{"-", "p0", "p1", "p2", "p3", "p4"},
		},
		{
			name:  "first packets reordered before playing",
			steps: [][]int{{1}, {0}, {2}, {3}},
			want:  []string{"-", "p0", "p1", "p2"},
		},
		{
			name:  "loss is concealed and the next packet offered for FEC",
			steps: [][]int{{0}, {1}, {3}, {4}, {5}, {6}},
			want:  []string{"-", "p0", "p1", "l2", "p3", "p4"},
		},
		{
			name:  "duplicates dropped",
			steps: [][]int{{0}, {1, 1}, {0, 2}, {3}, {3}},
			want:  []string{"-", "p0", "p1", "p2", "p3"},
		},
		{
			name:  "sequence wraps",
			start: 65533,
			steps: [][]int{{0}, {1}, {2}, {3}, {4}, {5}},
			want:  []string{"-", "p65533", "p65534", "p65535", "p0", "p1"},
		},
		{
			name:  "reordered across the wrap",
			start: 65534,
			steps: [][]int{{0}, {2}, {1}, {3}, {4}},
			want:  []string{"-", "p65534", "p65535", "p0", "p1"},
		},
		{
			name:  "burst after a stall plays everything in order",
			steps: [][]int{{0}, {1}, {}, {}, {}, {2, 3, 4, 5, 6}, {7}, {8}, {9}},
			want:  []string{"-", "p0", "p1", "-", "-", "p2", "p3", "p4", "p5"},
		},
		{
			name:  "underrun refills to the target (DTX gap)",
			steps: [][]int{{0}, {1}, {2}, {}, {}, {3}, {4}, {5}},
			want:  []string{"-", "p0", "p1", "p2", "-", "-", "p3", "p4"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newJB(t, JitterConfig{})
			var got []string
			for _, step := range tt.steps {
				for _, off := range step {
					h.push(tt.start+uint16(off), 5000+uint32(off)*160)
				}
				got = append(got, describe(h.tick()))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got  %v\nwant %v", got, tt.want)
			}
		})
	}
}

func TestJitterLostFrameCarriesNextPayload(t *testing.T) {
	h := newJB(t, JitterConfig{})
	h.push(10, 1600)
	h.push(12, 1920)
	h.tick() // 3 frames span: plays 10
	f := h.tick()
	if f.Status != FrameLost || f.SequenceNumber != 11 {
		t.Fatalf("got %v seq %d, want lost 11", f.Status, f.SequenceNumber)
	}
	if f.Timestamp != 1760 {
		t.Errorf("estimated timestamp %d, want 1760", f.Timestamp)
	}
	if len(f.Payload) != 3 || f.Payload[1] != 12 {
		t.Errorf("FEC payload %v, want packet 12's", f.Payload)
	}
	if f2 := h.tick(); describe(f2) != "p12" {
		t.Errorf("next = %s, want p12", describe(f2))
	}
}

func TestJitterPushResults(t *testing.T) {
	h := newJB(t, JitterConfig{})
	if r := h.push(100, 0); r != PushStored {
		t.Fatalf("first = %v", r)
	}
	if r := h.push(100, 0); r != PushDuplicate {
		t.Errorf("duplicate = %v", r)
	}
	h.push(101, 160)
	h.tick() // plays 100
	if r := h.push(100, 0); r != PushDuplicate {
		t.Errorf("duplicate of a played packet = %v", r)
	}
	h.push(103, 480)
	h.tick() // 101
	h.tick() // lost 102
	if r := h.push(102, 320); r != PushLate {
		t.Errorf("late = %v", r)
	}
	big := rtp.Packet{Header: rtp.Header{SSRC: h.ssrc, SequenceNumber: 104}, Payload: make([]byte, DefaultJitterMaxPayload+1)}
	if r := h.jb.Push(&big, h.now); r != PushOversize {
		t.Errorf("oversize = %v", r)
	}
	s := h.jb.Stats()
	if s.Duplicates != 2 || s.Late != 1 || s.Dropped != 1 || s.Lost != 1 || s.Played != 2 {
		t.Errorf("stats %+v", s)
	}
}

func TestJitterSSRCChangeResets(t *testing.T) {
	h := newJB(t, JitterConfig{})
	for i := range 5 {
		h.push(uint16(i), uint32(i)*160)
		h.tick()
	}
	h.ssrc = 0x9999
	var got []string
	for i := range 4 {
		h.push(uint16(5000+i), uint32(777+i*160))
		got = append(got, describe(h.tick()))
	}
	if want := []string{"-", "p5000", "p5001", "p5002"}; !slices.Equal(got, want) {
		t.Errorf("after SSRC change got %v, want %v", got, want)
	}
	// A packet of the old source is now the new source again: another reset.
	h.ssrc = 0x1234
	h.push(5, 800)
	if s := h.jb.Stats(); s.Resets != 2 {
		t.Errorf("resets = %d, want 2", s.Resets)
	}
}

func TestJitterSequenceJump(t *testing.T) {
	h := newJB(t, JitterConfig{})
	h.push(10, 0)
	h.push(11, 160)
	if r := h.push(30000, 320); r != PushJump {
		t.Errorf("single jump = %v, want PushJump", r)
	}
	if r := h.push(12, 480); r != PushStored {
		t.Errorf("stream after a stray packet = %v", r)
	}
	// Two sequential packets after a jump: the sender restarted.
	h.push(40000, 640)
	if r := h.push(40001, 800); r != PushStored {
		t.Errorf("confirmed restart = %v", r)
	}
	h.push(40002, 960)
	var got []string
	for range 2 {
		got = append(got, describe(h.tick()))
	}
	// RFC 3550 §A.1 restarts with the second packet of the new sequence.
	if want := []string{"p40001", "p40002"}; !slices.Equal(got, want) {
		t.Errorf("after restart got %v, want %v", got, want)
	}
	if s := h.jb.Stats(); s.Resets != 1 {
		t.Errorf("resets = %d, want 1", s.Resets)
	}
}

func TestJitterOverflowDropsOldest(t *testing.T) {
	h := newJB(t, JitterConfig{MaxDelay: 100 * time.Millisecond}) // 16 slots
	for i := range 40 {
		h.push(uint16(i), uint32(i)*160)
	}
	s := h.jb.Stats()
	if s.Discarded != 24 {
		t.Errorf("discarded %d, want 24", s.Discarded)
	}
	// Far over MaxDelay: each Pop drops a frame and plays the next until
	// the depth is back near the target.
	var plays []string
	for range 8 {
		plays = append(plays, describe(h.tick()))
	}
	if want := []string{"p25", "p27", "p29", "p31", "p33", "p35", "p36", "p37"}; !slices.Equal(plays, want) {
		t.Errorf("draining got %v, want %v", plays, want)
	}
}

func TestJitterTimestampWrap(t *testing.T) {
	h := newJB(t, JitterConfig{})
	ts := uint32(1<<32 - 3*160)
	for i := range 10 {
		h.push(uint16(i), ts)
		ts += 160
		h.tick()
	}
	if s := h.jb.Stats(); s.JitterRTP != 0 || s.Played != 9 {
		t.Errorf("across a timestamp wrap: jitter %d, played %d", s.JitterRTP, s.Played)
	}
}

// TestJitterAdapts feeds packets with heavy random delay: the target grows
// within the bounds and few frames are lost; then a quiet network brings it
// back to the minimum.
func TestJitterAdapts(t *testing.T) {
	h := newJB(t, JitterConfig{MinDelay: 40 * time.Millisecond, MaxDelay: 200 * time.Millisecond})
	rng := rand.New(rand.NewPCG(1, 2))
	start := h.now
	type arrival struct {
		at  time.Time
		seq uint16
	}
	var pending []arrival
	for i := range 500 {
		// Each packet is sent at i*20 ms and delayed 0–60 ms.
		delay := time.Duration(rng.IntN(60)) * time.Millisecond
		pending = append(pending, arrival{start.Add(time.Duration(i)*20*time.Millisecond + delay), uint16(i)})
	}
	slices.SortFunc(pending, func(a, b arrival) int { return a.at.Compare(b.at) })
	for tick := range 520 {
		until := start.Add(time.Duration(tick) * 20 * time.Millisecond)
		for len(pending) > 0 && !pending[0].at.After(until) {
			h.now = pending[0].at
			h.push(pending[0].seq, uint32(pending[0].seq)*160)
			pending = pending[1:]
		}
		h.now = until
		h.jb.Pop(h.buf)
	}
	s := h.jb.Stats()
	t.Logf("after 0–60 ms jitter: %+v", s)
	if s.Target <= 40*time.Millisecond || s.Target > 200*time.Millisecond {
		t.Errorf("target %v after 0–60 ms jitter, want above the minimum and within the maximum", s.Target)
	}
	if s.Jitter < 5*time.Millisecond || s.Jitter > 30*time.Millisecond {
		t.Errorf("jitter estimate %v for uniform 0–60 ms delays (about 20 ms expected)", s.Jitter)
	}
	if loss := float64(s.Lost) / 500; loss > 0.05 {
		t.Errorf("lost %.1f%% of frames with an adapting buffer (%+v)", 100*loss, s)
	}

	// Quiet network: the estimate decays and the target returns to minimum.
	for i := 500; i < 800; i++ {
		h.now = h.now.Add(20 * time.Millisecond)
		h.push(uint16(i), uint32(i)*160)
		h.jb.Pop(h.buf)
	}
	s = h.jb.Stats()
	if s.Target != 40*time.Millisecond {
		t.Errorf("target %v after 6 s without jitter, want 40ms", s.Target)
	}
	if s.Depth > 80*time.Millisecond {
		t.Errorf("depth %v after 6 s without jitter: the excess delay was not drained", s.Depth)
	}
}

func TestJitterConfigErrors(t *testing.T) {
	for _, cfg := range []JitterConfig{
		{},
		{ClockRate: 8001},
		{ClockRate: 8000, MinDelay: 100 * time.Millisecond, MaxDelay: 50 * time.Millisecond},
	} {
		if _, err := NewJitterBuffer(cfg); err == nil {
			t.Errorf("NewJitterBuffer(%+v) accepted", cfg)
		}
	}
}

func TestJitterAllocs(t *testing.T) {
	h := newJB(t, JitterConfig{ClockRate: 48000})
	seq := uint16(0)
	allocs := testing.AllocsPerRun(200, func() {
		h.push(seq, uint32(seq)*960)
		seq++
		h.tick()
	})
	if allocs != 0 {
		t.Errorf("allocs per push+pop = %v, want 0", allocs)
	}
}

func ExampleJitterBuffer() {
	jb, _ := NewJitterBuffer(JitterConfig{ClockRate: 8000})
	arrival := time.Unix(0, 0)
	send := func(seq uint16) {
		p := &rtp.Packet{Header: rtp.Header{SSRC: 1, SequenceNumber: seq, Timestamp: uint32(seq) * 160}, Payload: []byte{byte(seq)}}
		jb.Push(p, arrival) // the RTP reader goroutine, as packets arrive
	}
	buf := make([]byte, DefaultJitterMaxPayload)
	tick := func() {
		arrival = arrival.Add(20 * time.Millisecond)
		f := jb.Pop(buf) // the clock's tick, every 20 ms
		switch f.Status {
		case FramePlay:
			fmt.Println("play", f.SequenceNumber, f.Payload)
		case FrameLost:
			fmt.Println("conceal", f.SequenceNumber)
		case FrameEmpty:
			fmt.Println("silence")
		}
	}
	send(1)
	tick()
	send(3) // 2 is lost; 3 came first
	tick()
	send(4)
	tick()
	tick()
	// Output:
	// silence
	// play 1 [1]
	// conceal 2
	// play 3 [3]
}

func BenchmarkJitterPushPop(b *testing.B) {
	benchPushPop(b, func(h *jbHarness) { h.jb.Pop(h.buf) })
}

// benchPushPop pushes one 20 ms G.711 packet per iteration, arriving on
// time, and calls pop after each.
func benchPushPop(b *testing.B, pop func(h *jbHarness)) {
	h := newJB(b, JitterConfig{ClockRate: 8000})
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, SSRC: 1}, Payload: make([]byte, 160)}
	b.ReportAllocs()
	seq := uint16(0)
	for b.Loop() {
		pkt.SequenceNumber = seq
		pkt.Timestamp = uint32(seq) * 160
		seq++
		h.now = h.now.Add(20 * time.Millisecond)
		h.jb.Push(&pkt, h.now)
		pop(h)
	}
}

// TestJitterPhase: packets arrive at a steady phase of the 20 ms tick. PopAt
// plays one frame earlier once a window showed every newest frame arriving
// well before the tick, and a packet that then comes too late grows the
// delay back without losing a frame for good.
func TestJitterPhase(t *testing.T) {
	for _, tc := range []struct {
		name      string
		phase     time.Duration // how long before each tick the packet arrives
		wantDelay int           // frames between the newest arrival and what plays, at the end
	}{
		{"arrives 12 ms before the tick", 12 * time.Millisecond, 0},
		{"arrives 1 ms before the tick", time.Millisecond, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newJB(t, JitterConfig{})
			start := h.now
			var last JitterFrame
			seq := uint16(0)
			for tick := 1; tick <= 4*jitterWindow; tick++ {
				due := start.Add(time.Duration(tick) * 20 * time.Millisecond)
				h.now = due.Add(-tc.phase)
				h.push(seq, uint32(seq)*160)
				// A little jitter (±0.3 ms) as a real sender has, so the
				// target is the usual two frames.
				if tick%2 == 0 {
					h.now = h.now.Add(300 * time.Microsecond)
				}
				seq++
				h.now = due
				last = h.jb.PopAt(h.buf, due)
			}
			if last.Status != FramePlay {
				t.Fatalf("last pop %v", last.Status)
			}
			played := uint16(last.Payload[0])<<8 | uint16(last.Payload[1])
			if got := int(seq - 1 - played); got != tc.wantDelay {
				t.Errorf("plays frame %d with %d arrived: %d frames behind, want %d", played, seq-1, got, tc.wantDelay)
			}
			s := h.jb.Stats()
			if s.Lost != 0 {
				t.Errorf("lost %d frames at a steady phase", s.Lost)
			}
		})
	}

	t.Run("late packet after tightening", func(t *testing.T) {
		h := newJB(t, JitterConfig{})
		start := h.now
		seq := uint16(0)
		var frames []string
		for tick := 1; tick <= 3*jitterWindow+10; tick++ {
			due := start.Add(time.Duration(tick) * 20 * time.Millisecond)
			late := tick == 3*jitterWindow // this one packet comes 5 ms after its tick
			if !late {
				h.now = due.Add(-12 * time.Millisecond)
				h.push(seq, uint32(seq)*160)
			}
			h.now = due
			f := h.jb.PopAt(h.buf, due)
			if late {
				h.now = due.Add(5 * time.Millisecond)
				h.push(seq, uint32(seq)*160)
			}
			seq++
			if tick > 3*jitterWindow-3 {
				frames = append(frames, describe(f))
			}
		}
		s := h.jb.Stats()
		t.Logf("around the late packet: %v; %+v", frames, s)
		if s.Lost > 1 {
			t.Errorf("lost %d frames for one late packet", s.Lost)
		}
		if frames[len(frames)-1] == "-" {
			t.Errorf("not playing again after the late packet: %v", frames)
		}
	})
}

// BenchmarkJitterPushPopAt is BenchmarkJitterPushPop with the tick's time
// given (the phase tracking of PopAt), packets arriving 12 ms before it.
func BenchmarkJitterPushPopAt(b *testing.B) {
	benchPushPop(b, func(h *jbHarness) { h.jb.PopAt(h.buf, h.now.Add(12*time.Millisecond)) })
}

// TestJitterGrowsSlots: a buffer starts with slots for a G.711 frame and
// grows them when a larger payload comes, keeping what it holds.
func TestJitterGrowsSlots(t *testing.T) {
	jb, err := NewJitterBuffer(JitterConfig{ClockRate: 48000})
	if err != nil {
		t.Fatal(err)
	}
	if len(jb.data) != len(jb.slots)*initialStride {
		t.Fatalf("starts with %d bytes, want %d", len(jb.data), len(jb.slots)*initialStride)
	}
	now := time.Unix(1000, 0)
	sizes := []int{100, 160, 700, 90, DefaultJitterMaxPayload}
	for i, n := range sizes {
		payload := make([]byte, n)
		for k := range payload {
			payload[k] = byte(i + k)
		}
		p := rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(i), Timestamp: uint32(i) * 960, SSRC: 7}, Payload: payload}
		if r := jb.Push(&p, now); r != PushStored {
			t.Fatalf("push %d: %v", i, r)
		}
	}
	buf := make([]byte, DefaultJitterMaxPayload)
	for i, n := range sizes {
		f := jb.Pop(buf)
		for f.Status == FrameEmpty {
			f = jb.Pop(buf)
		}
		if f.Status != FramePlay || len(f.Payload) != n || f.Payload[0] != byte(i) || f.Payload[n-1] != byte(i+n-1) {
			t.Fatalf("frame %d: %v, %d bytes, want %d intact", i, f.Status, len(f.Payload), n)
		}
	}
	if jb.stride != DefaultJitterMaxPayload {
		t.Errorf("stride %d after a %d-byte payload", jb.stride, DefaultJitterMaxPayload)
	}
}

// The ring starts at initialSlots and doubles for a burst that needs it, up
// to twice the largest delay: with the default 300 ms (15 frames) a burst of
// 28 frames after a stall is kept whole in a 32-slot ring, played in order,
// and one of 40 loses its 8 oldest.
func TestJitterRingGrowsForBursts(t *testing.T) {
	h := newJB(t, JitterConfig{})
	if n := len(h.jb.slots); n != initialSlots {
		t.Fatalf("a new buffer has %d slots, want %d", n, initialSlots)
	}
	for i := range 28 {
		h.push(uint16(i), uint32(i)*160)
	}
	if n, s := len(h.jb.slots), h.jb.Stats(); n != 32 || s.Discarded != 0 {
		t.Fatalf("after a burst of 28: %d slots, %d discarded; want 32 and 0", n, s.Discarded)
	}
	var plays []string
	for range 3 {
		plays = append(plays, describe(h.tick()))
	}
	// Far over the target, each Pop drops a frame and plays the next (as in
	// TestJitterOverflowDropsOldest), from the start of the burst: a
	// 16-slot ring would have discarded frames 0–11.
	if want := []string{"p1", "p3", "p5"}; !slices.Equal(plays, want) {
		t.Errorf("after the burst got %v, want %v", plays, want)
	}

	h = newJB(t, JitterConfig{})
	for i := range 40 {
		h.push(uint16(i), uint32(i)*160)
	}
	if n, s := len(h.jb.slots), h.jb.Stats(); n != 32 || s.Discarded != 8 {
		t.Errorf("after a burst of 40: %d slots, %d discarded; want 32 and 8", n, s.Discarded)
	}
	// A duplicate of a frame still in the ring is told from a late one.
	if r := h.push(39, 39*160); r != PushDuplicate {
		t.Errorf("duplicate of 39: %v, want PushDuplicate", r)
	}
}
