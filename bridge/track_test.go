package bridge_test

import (
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/dialroom/dialroom/bridge"
)

var opus = bridge.Codec{MimeType: "audio/opus", ClockRate: 48000, Channels: 2}

// TestPublishAnnounces checks who hears of a published track, and that a
// newcomer learns the tracks already there after its Admitted.
func TestPublishAnnounces(t *testing.T) {
	e := newEngine(t, bridge.Config{})
	n := testNumber("06066661111")
	op, opEP := host(t, e, n)
	bob, bobEP := admitted(t, e, n, op, "Bob", "192.0.2.10")

	opMark, bobMark := opEP.Len(), bobEP.Len()
	spec := bridge.TrackSpec{Kind: bridge.KindAudio, Codec: opus, StreamID: bob.ID(), AudioLevelExtID: 1}
	tr := bob.Publish(spec)
	if tr.Member() != bob || tr.Spec().Codec != opus || tr.ID() == "" {
		t.Errorf("track = %s of %v, spec %+v", tr.ID(), tr.Member(), tr.Spec())
	}
	if ta := one[bridge.TrackAdded](t, "operator", opEP.Since(opMark)); ta.Track != tr {
		t.Errorf("operator TrackAdded = %v", ta.Track)
	}
	if evs := bobEP.Since(bobMark); len(evs) != 0 {
		t.Errorf("publisher was told of its own track: %s", describe(evs))
	}
	video := op.Publish(bridge.TrackSpec{Kind: bridge.KindVideo, StreamID: op.ID()})

	_, carolEP := admitted(t, e, n, op, "Carol", "192.0.2.11")
	evs := carolEP.Events()
	admittedAt := slices.IndexFunc(evs, func(ev bridge.Event) bool { _, ok := ev.(bridge.Admitted); return ok })
	var got []*bridge.Track
	for i, ev := range evs {
		if ta, ok := ev.(bridge.TrackAdded); ok {
			if admittedAt < 0 || i < admittedAt {
				t.Errorf("TrackAdded at %d before Admitted (at %d): %v", i, admittedAt, types(evs))
			}
			got = append(got, ta.Track)
		}
	}
	if len(got) != 2 || !slices.Contains(got, tr) || !slices.Contains(got, video) {
		t.Errorf("newcomer TrackAdded = %v, want the two existing tracks", got)
	}
}

// TestFanOut checks that WriteRTP reaches every subscriber in order, and
// unsubscribing stops it.
func TestFanOut(t *testing.T) {
	e := newEngine(t, bridge.Config{})
	n := testNumber("06066662222")
	op, _ := host(t, e, n)
	bob, _ := admitted(t, e, n, op, "Bob", "192.0.2.10")
	tr := bob.Publish(bridge.TrackSpec{Kind: bridge.KindVideo})

	sinks := []*sink{{}, {}, {}}
	unsub := make([]func(), len(sinks))
	for i, s := range sinks {
		unsub[i] = tr.Subscribe(s)
	}
	for seq := uint16(1); seq <= 5; seq++ {
		tr.WriteRTP(audioPacket(t, seq, -1))
	}
	want := []uint16{1, 2, 3, 4, 5}
	for i, s := range sinks {
		if got := s.Seqs(); !slices.Equal(got, want) {
			t.Errorf("sink %d got %v, want %v", i, got, want)
		}
	}
	unsub[1]()
	unsub[1]() // idempotent
	tr.WriteRTP(audioPacket(t, 6, -1))
	if got := sinks[1].Seqs(); len(got) != 5 {
		t.Errorf("unsubscribed sink got %v", got)
	}
	if got := sinks[0].Seqs(); len(got) != 6 {
		t.Errorf("subscribed sink got %v", got)
	}
}

// TestMutedAudioNotForwarded checks that the operator's mute stops a member's
// audio (not their video) within one packet, and unmute restores it.
func TestMutedAudioNotForwarded(t *testing.T) {
	e := newEngine(t, bridge.Config{})
	n := testNumber("06066663333")
	op, _ := host(t, e, n)
	bob, _ := admitted(t, e, n, op, "Bob", "192.0.2.10")
	audio := bob.Publish(bridge.TrackSpec{Kind: bridge.KindAudio, Codec: opus})
	video := bob.Publish(bridge.TrackSpec{Kind: bridge.KindVideo})
	as, vs := &sink{}, &sink{}
	audio.Subscribe(as)
	video.Subscribe(vs)

	audio.WriteRTP(audioPacket(t, 1, -1))
	if err := op.Mute(bob.ID(), true); err != nil {
		t.Fatal(err)
	}
	audio.WriteRTP(audioPacket(t, 2, -1))
	video.WriteRTP(audioPacket(t, 2, -1))
	if err := op.Mute(bob.ID(), false); err != nil {
		t.Fatal(err)
	}
	audio.WriteRTP(audioPacket(t, 3, -1))
	bob.SetMuted(true) // the member themselves
	audio.WriteRTP(audioPacket(t, 4, -1))

	if got := as.Seqs(); !slices.Equal(got, []uint16{1, 3}) {
		t.Errorf("audio forwarded %v, want [1 3] (2 and 4 sent while muted)", got)
	}
	if got := vs.Seqs(); !slices.Equal(got, []uint16{2}) {
		t.Errorf("video forwarded %v, want [2]: mute is audio only", got)
	}
}

// TestTalking checks the RFC 6464 audio level drives the talking indicator.
func TestTalking(t *testing.T) {
	clk := newClock()
	e := newEngine(t, bridge.Config{Now: clk.Now, TickInterval: time.Millisecond})
	n := testNumber("06066664444")
	op, opEP := host(t, e, n)
	bob, bobEP := admitted(t, e, n, op, "Bob", "192.0.2.10")
	tr := bob.Publish(bridge.TrackSpec{Kind: bridge.KindAudio, Codec: opus, AudioLevelExtID: 1})
	isTalking := func(ids ...string) func(bridge.Event) bool {
		return func(ev bridge.Event) bool {
			tk, ok := ev.(bridge.Talking)
			return ok && slices.Equal(tk.MemberIDs, ids)
		}
	}

	// Silence (127 -dBov) and packets without the extension are not talking.
	tr.WriteRTP(audioPacket(t, 1, 127))
	tr.WriteRTP(audioPacket(t, 2, -1))
	// Speech (30 -dBov) is.
	tr.WriteRTP(audioPacket(t, 3, 30))
	_, i := opEP.waitFor(t, 0, "Talking [bob]", isTalking(bob.ID()))
	bobEP.waitFor(t, 0, "Talking [bob]", isTalking(bob.ID()))
	if prior := only[bridge.Talking](opEP.Events()[:i]); len(prior) != 0 {
		t.Errorf("Talking before speech: %+v", prior)
	}

	// 400 ms without voice: nobody is talking.
	clk.Advance(time.Second)
	opEP.waitFor(t, i+1, "Talking []", isTalking())

	// A muted member's voiced audio does not count as talking, even once they
	// unmute: the packet was never heard.
	bob.SetMuted(true)
	mark := opEP.Len()
	tr.WriteRTP(audioPacket(t, 4, 20))
	bob.SetMuted(false)
	// The operator speaks, so a tick is known to have looked at Bob since.
	opTrack := op.Publish(bridge.TrackSpec{Kind: bridge.KindAudio, Codec: opus, AudioLevelExtID: 1})
	opTrack.WriteRTP(audioPacket(t, 1, 25))
	opEP.waitFor(t, mark, "Talking [operator]", isTalking(op.ID()))
	for _, tk := range only[bridge.Talking](opEP.Since(mark)) {
		if slices.Contains(tk.MemberIDs, bob.ID()) {
			t.Errorf("Talking %v includes Bob, whose voice was sent while muted", tk.MemberIDs)
		}
	}
}

// TestLeaveClosesTracks checks that a member's tracks go with them.
func TestLeaveClosesTracks(t *testing.T) {
	e := newEngine(t, bridge.Config{})
	n := testNumber("06066665555")
	op, opEP := host(t, e, n)
	bob, _ := admitted(t, e, n, op, "Bob", "192.0.2.10")
	audio := bob.Publish(bridge.TrackSpec{Kind: bridge.KindAudio, Codec: opus})
	video := bob.Publish(bridge.TrackSpec{Kind: bridge.KindVideo})
	s := &sink{}
	audio.Subscribe(s)

	mark := opEP.Len()
	bob.Leave("left")
	evs := opEP.Since(mark)
	var removed []*bridge.Track
	for _, tr := range only[bridge.TrackRemoved](evs) {
		removed = append(removed, tr.Track)
	}
	if len(removed) != 2 || !slices.Contains(removed, audio) || !slices.Contains(removed, video) {
		t.Errorf("TrackRemoved = %v, want both of Bob's tracks", removed)
	}
	if ml := one[bridge.MemberLeft](t, "operator", evs); ml.MemberID != bob.ID() || ml.Reason != "left" {
		t.Errorf("MemberLeft = %+v", ml)
	}
	audio.WriteRTP(audioPacket(t, 1, -1))
	late := &sink{}
	audio.Subscribe(late)()
	audio.WriteRTP(audioPacket(t, 2, -1))
	if len(s.Seqs())+len(late.Seqs()) != 0 {
		t.Errorf("a closed track forwarded packets: %v %v", s.Seqs(), late.Seqs())
	}
	audio.Close() // after Leave: nothing happens
	if got := len(only[bridge.TrackRemoved](opEP.Since(mark))); got != 2 {
		t.Errorf("%d TrackRemoved after a late Close, want 2", got)
	}
	if tr := bob.Publish(bridge.TrackSpec{Kind: bridge.KindAudio}); tr == nil {
		t.Error("Publish after Leave returned nil")
	} else {
		tr.WriteRTP(audioPacket(t, 3, -1)) // closed: a no-op
	}
	if got := len(only[bridge.TrackAdded](opEP.Since(mark))); got != 0 {
		t.Errorf("Publish after Leave announced %d tracks", got)
	}
}

// TestTrackClose checks unpublishing one track while the member stays.
func TestTrackClose(t *testing.T) {
	e := newEngine(t, bridge.Config{})
	n := testNumber("06066666666")
	op, opEP := host(t, e, n)
	bob, _ := admitted(t, e, n, op, "Bob", "192.0.2.10")
	video := bob.Publish(bridge.TrackSpec{Kind: bridge.KindVideo})
	s := &sink{}
	video.Subscribe(s)
	mark := opEP.Len()
	video.Close()
	video.Close()
	if got := only[bridge.TrackRemoved](opEP.Since(mark)); len(got) != 1 || got[0].Track != video {
		t.Errorf("TrackRemoved = %+v", got)
	}
	video.WriteRTP(audioPacket(t, 1, -1))
	if len(s.Seqs()) != 0 {
		t.Error("closed track forwarded a packet")
	}
	_, carolEP := admitted(t, e, n, op, "Carol", "192.0.2.11")
	if got := len(only[bridge.TrackAdded](carolEP.Events())); got != 0 {
		t.Errorf("newcomer was offered %d closed tracks", got)
	}
}

// TestRequestKeyframe checks the key frame requests towards a publisher are
// rate-limited to one per 500 ms.
func TestRequestKeyframe(t *testing.T) {
	clk := newClock()
	e := newEngine(t, bridge.Config{Now: clk.Now})
	n := testNumber("06066667777")
	op, _ := host(t, e, n)
	bob, _ := admitted(t, e, n, op, "Bob", "192.0.2.10")
	var plis atomic.Int32
	video := bob.Publish(bridge.TrackSpec{Kind: bridge.KindVideo, RequestKeyframe: func() { plis.Add(1) }})
	audio := bob.Publish(bridge.TrackSpec{Kind: bridge.KindAudio})
	audio.RequestKeyframe() // no callback: nothing to do, no panic

	steps := []struct {
		advance time.Duration
		calls   int
		want    int32
	}{
		{0, 3, 1},                      // three subscribers lose the same frame: one PLI
		{499 * time.Millisecond, 1, 1}, // still inside the window
		{time.Millisecond, 2, 2},       // 500 ms after the first: one more
		{10 * time.Second, 1, 3},
	}
	for i, s := range steps {
		clk.Advance(s.advance)
		for range s.calls {
			video.RequestKeyframe()
		}
		if got := plis.Load(); got != s.want {
			t.Fatalf("step %d: %d key frame requests, want %d", i, got, s.want)
		}
	}
	video.Close()
	clk.Advance(time.Minute)
	video.RequestKeyframe()
	if got := plis.Load(); got != 3 {
		t.Errorf("closed track asked for a key frame (%d requests)", got)
	}
}

// TestWriteRTPAllocs keeps the forwarding path free of allocations.
func TestWriteRTPAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	tr, p := fanOutTrack(t, 10)
	if allocs := testing.AllocsPerRun(1000, func() { tr.WriteRTP(p) }); allocs != 0 {
		t.Errorf("WriteRTP to 10 subscribers: %v allocs per packet, want 0", allocs)
	}
}

// discard is an RTPSink that counts and drops packets, like a sink that only
// copies into a socket.
type discard struct{ n atomic.Int64 }

func (d *discard) WriteRTP(*rtp.Packet) error { d.n.Add(1); return nil }

// fanOutTrack returns an unmuted audio track with the audio level extension
// and subs subscribers, and a voiced packet to write to it.
func fanOutTrack(tb testing.TB, subs int) (*bridge.Track, *rtp.Packet) {
	e := newEngine(tb, bridge.Config{Now: time.Now})
	n := testNumber("06077770000")
	op, _ := host(tb, e, n)
	bob, _ := admitted(tb, e, n, op, "Bob", "192.0.2.10")
	tr := bob.Publish(bridge.TrackSpec{Kind: bridge.KindAudio, Codec: opus, AudioLevelExtID: 1})
	for range subs {
		tr.Subscribe(&discard{})
	}
	p := audioPacket(tb, 1, 30)
	p.Payload = make([]byte, 160)
	return tr, p
}

// BenchmarkTrackWriteRTP measures forwarding one audio packet to 10
// subscribers (the hot path of the SFU; it must not allocate).
func BenchmarkTrackWriteRTP(b *testing.B) {
	tr, p := fanOutTrack(b, 10)
	b.ReportAllocs()
	for b.Loop() {
		tr.WriteRTP(p)
	}
}
