package webclient

import (
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	dialroom "github.com/dialroom/dialroom"
	"github.com/dialroom/dialroom/bridge"
)

// What a browser costs the server: real pion peers on loopback, server side
// built by mediaAPI and newPeer exactly as sessions build them, client side a
// pion peer with a browser's interceptors (NACK, reports, TWCC) and a
// microphone track. Used by the tests and benchmarks below.

// costRoom is a bridge room with an operator member and helpers to add more.
type costRoom struct {
	tb     testing.TB
	engine *bridge.Engine
	num    *dialroom.Number
	op     *bridge.Member
	n      int
}

func newCostRoom(tb testing.TB) *costRoom {
	tb.Helper()
	e := bridge.NewEngine(bridge.Config{Logger: slog.New(slog.DiscardHandler), TickInterval: time.Hour})
	tb.Cleanup(e.Close)
	num := &dialroom.Number{Digits: "06077770000", Operator: "alice", IssuedAt: time.Now()}
	op, err := e.Host(num, "Alice", dialroom.Identity{Role: dialroom.RoleOperator, Kind: dialroom.MemberKindBrowser,
		Name: "Alice", Address: "198.51.100.7"}, nopEndpoint{})
	if err != nil {
		tb.Fatalf("Host: %v", err)
	}
	return &costRoom{tb: tb, engine: e, num: num, op: op}
}

// member admits one more browser guest.
func (r *costRoom) member() *bridge.Member {
	r.tb.Helper()
	r.n++
	q, err := r.engine.RequestJoin(r.num, "Alice", dialroom.Identity{Role: dialroom.RoleGuest, Kind: dialroom.MemberKindBrowser,
		Name: fmt.Sprintf("guest %d", r.n), Address: fmt.Sprintf("192.0.2.%d", r.n%250+1)}, nopEndpoint{})
	if err != nil {
		r.tb.Fatalf("RequestJoin: %v", err)
	}
	m, err := r.op.Admit(q.ID())
	if err != nil {
		r.tb.Fatalf("Admit: %v", err)
	}
	return m
}

// audioTrack publishes an Opus track (with the audio level extension, id 1)
// as a phone leg's or a browser's.
func (r *costRoom) audioTrack() *bridge.Track {
	return r.member().Publish(bridge.TrackSpec{Kind: bridge.KindAudio, AudioLevelExtID: 1,
		Codec: bridge.Codec{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"}})
}

// testBrowser is one server peer and the pion client standing in for the
// browser. Every peer method runs on loop, as on a session goroutine.
type testBrowser struct {
	p         *peer
	client    *webrtc.PeerConnection
	in        chan func()
	done      chan struct{}
	tracks    atomic.Int32  // tracks the client receives
	received  atomic.Int64  // RTP packets the client read
	videoSSRC atomic.Uint32 // SSRC of a received video track
}

// clientAPI is a browser's pion: default codecs and interceptors minus stats.
func clientAPI(tb testing.TB) *webrtc.API {
	tb.Helper()
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		tb.Fatal(err)
	}
	ir := &interceptor.Registry{}
	if err := webrtc.ConfigureNack(m, ir); err != nil {
		tb.Fatal(err)
	}
	if err := webrtc.ConfigureRTCPReports(ir); err != nil {
		tb.Fatal(err)
	}
	if err := webrtc.ConfigureTWCCHeaderExtensionSender(m, ir); err != nil {
		tb.Fatal(err)
	}
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))
}

func serverAPI(tb testing.TB) *peerAPI {
	tb.Helper()
	api, closer, err := mediaAPI(WebRTCConfig{IncludeLoopback: true}, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = closer() })
	return api
}

// newTestBrowser connects a server peer for m to a client that publishes a
// microphone track (returned, for the caller to feed or not).
func newTestBrowser(tb testing.TB, server *peerAPI, client *webrtc.API, m *bridge.Member) (*testBrowser, *webrtc.TrackLocalStaticRTP) {
	tb.Helper()
	b := &testBrowser{in: make(chan func(), 4096), done: make(chan struct{})}
	go func() {
		for {
			select {
			case f := <-b.in:
				f()
			case <-b.done:
				return
			}
		}
	}()
	post := func(f func()) {
		select {
		case b.in <- f:
		case <-b.done:
		}
	}
	signal := func(msg any) { post(func() { b.handle(tb, msg) }) }
	var err error
	b.client, err = client.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		tb.Fatal(err)
	}
	mic, err := webrtc.NewTrackLocalStaticRTP(opusCapability(), "mic", "mic")
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := b.client.AddTrack(mic); err != nil {
		tb.Fatal(err)
	}
	b.client.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c != nil {
			init := c.ToJSON()
			post(func() { _ = b.p.candidate(init) })
		}
	})
	b.client.OnTrack(func(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		if t.Kind() == webrtc.RTPCodecTypeVideo {
			b.videoSSRC.Store(uint32(t.SSRC()))
		}
		b.tracks.Add(1)
		buf := make([]byte, 1500)
		for {
			if _, _, err := t.Read(buf); err != nil {
				return
			}
			b.received.Add(1)
		}
	})
	ready := make(chan struct{})
	post(func() {
		b.p, err = newPeer(server, m, slog.New(slog.DiscardHandler), signal, post)
		close(ready)
	})
	<-ready
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(b.close)
	return b, mic
}

func (b *testBrowser) handle(tb testing.TB, msg any) {
	switch m := msg.(type) {
	case msgSDP:
		if err := b.client.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: m.SDP}); err != nil {
			tb.Errorf("client SetRemoteDescription: %v", err)
			return
		}
		answer, err := b.client.CreateAnswer(nil)
		if err == nil {
			err = b.client.SetLocalDescription(answer)
		}
		if err != nil {
			tb.Errorf("client answer: %v", err)
			return
		}
		if err := b.p.answer(answer.SDP); err != nil {
			tb.Errorf("server answer: %v", err)
		}
	case msgCandidate:
		if m.Candidate != nil {
			_ = b.client.AddICECandidate(*m.Candidate)
		}
	}
}

// do runs f on the browser's session loop and waits for it.
func (b *testBrowser) do(f func()) {
	done := make(chan struct{})
	b.in <- func() { f(); close(done) }
	<-done
}

func (b *testBrowser) close() {
	select {
	case <-b.done:
		return
	default:
	}
	b.do(b.p.close)
	close(b.done)
	_ = b.client.Close()
}

// subscribe has the server forward tracks to the browser (one renegotiation).
func (b *testBrowser) subscribe(ts ...*bridge.Track) {
	b.do(func() {
		for _, t := range ts {
			b.p.subscribe(t)
		}
		b.p.flush()
	})
}

// waitFor polls cond for up to 20 s.
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// opusPacket is a silent browser's 20 ms Opus packet (audio level 127).
func opusPacket(seq uint16) *rtp.Packet {
	p := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: ptOpus, SequenceNumber: seq,
		Timestamp: uint32(seq) * 960, SSRC: 1}, Payload: make([]byte, 80)}
	p.Payload[0] = 0x78 // Opus TOC: SILK-only wideband 20 ms
	_ = p.SetExtension(1, []byte{127})
	return p
}

// feed writes one packet every 20 ms to each track until stop is closed.
func feed(stop <-chan struct{}, ts []*bridge.Track, mics []*webrtc.TrackLocalStaticRTP) {
	every20ms(stop, func(seq uint16) {
		p := opusPacket(seq)
		for _, t := range ts {
			t.WriteRTP(p)
		}
		for _, m := range mics {
			_ = m.WriteRTP(p)
		}
	})
}

// every20ms calls send with a rising sequence number every 20 ms until stop
// is closed.
func every20ms(stop <-chan struct{}, send func(seq uint16)) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for seq := uint16(0); ; seq++ {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		send(seq)
	}
}

// TestForwardedAudioNeedsNoReader: audio reaches the browser, the server
// keeps no RTCP reader goroutine per forwarded audio track (its RTCP is
// dropped on arrival, rtcpbuf.go), and unsubscribing forgets the SSRC.
func TestForwardedAudioNeedsNoReader(t *testing.T) {
	r := newCostRoom(t)
	tracks := []*bridge.Track{r.audioTrack(), r.audioTrack(), r.audioTrack()}
	b, _ := newTestBrowser(t, serverAPI(t), clientAPI(t), r.member())
	b.subscribe(tracks...)
	stop := make(chan struct{})
	defer close(stop)
	go feed(stop, tracks, nil)
	waitFor(t, "audio at the browser", func() bool { return b.tracks.Load() == 3 && b.received.Load() > 30 })
	// pion's report interceptor sends a receiver report per track every
	// second: let some arrive and be dropped.
	time.Sleep(1500 * time.Millisecond)
	var stacks []byte
	for n := 1 << 16; ; n *= 2 {
		stacks = make([]byte, n)
		if m := runtime.Stack(stacks, true); m < n {
			stacks = stacks[:m]
			break
		}
	}
	if n := strings.Count(string(stacks), "webclient.readSenderRTCP"); n != 0 {
		t.Errorf("%d RTCP reader goroutines for forwarded audio, want 0", n)
	}
	b.do(func() {
		if n := len(b.p.rtcp.drop); n != 3 {
			t.Errorf("%d SSRCs whose RTCP is dropped, want 3", n)
		}
		b.p.unsubscribe(tracks[0])
		if n := len(b.p.rtcp.drop); n != 2 {
			t.Errorf("after unsubscribing: %d SSRCs whose RTCP is dropped, want 2", n)
		}
	})
}

// TestForwardedVideoKeyframeRequest: a forwarded video track still has its
// RTCP read, so a browser's PLI reaches the publisher.
func TestForwardedVideoKeyframeRequest(t *testing.T) {
	r := newCostRoom(t)
	var requests atomic.Int32
	video := r.member().Publish(bridge.TrackSpec{Kind: bridge.KindVideo,
		Codec:           bridge.Codec{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000},
		RequestKeyframe: func() { requests.Add(1) }})
	b, _ := newTestBrowser(t, serverAPI(t), clientAPI(t), r.member())
	b.subscribe(video)
	stop := make(chan struct{})
	defer close(stop)
	go every20ms(stop, func(seq uint16) {
		video.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: ptVP8, SequenceNumber: seq,
			Timestamp: uint32(seq) * 1800, SSRC: 2, Marker: true}, Payload: []byte{0x10, 0, 0x9d, 0x01, 0x2a}})
	})
	waitFor(t, "video at the browser", func() bool { return b.videoSSRC.Load() != 0 && b.received.Load() > 5 })
	before := requests.Load()
	if err := b.client.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: b.videoSSRC.Load()}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the key frame request at the publisher", func() bool { return requests.Load() > before })
}

type memSnapshot struct {
	heap, stack uint64 // live heap objects, goroutine stacks
	goroutines  int
}

func snapshot() memSnapshot {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return memSnapshot{heap: ms.HeapAlloc, stack: ms.StackInuse, goroutines: runtime.NumGoroutine()}
}

// BenchmarkBrowserPeerCost reports what one browser costs the server in a
// phone room (each browser receives 9 forwarded Opus tracks: 8 phones and
// the other browser, and publishes its microphone), with media flowing for
// 3 s: live Go heap, goroutine stacks and goroutines per browser, differenced
// against the process before the browsers connected. The test's pion clients
// live in the same process, so the figures include them (about half): compare
// runs, not absolute numbers. Run with -benchtime 1x.
func BenchmarkBrowserPeerCost(b *testing.B) {
	const browsers, forwarded = 10, 9
	for b.Loop() {
		r := newCostRoom(b)
		var tracks []*bridge.Track
		for range forwarded {
			tracks = append(tracks, r.audioTrack())
		}
		server, client := serverAPI(b), clientAPI(b)
		before := snapshot()
		var bs []*testBrowser
		var mics []*webrtc.TrackLocalStaticRTP
		for range browsers {
			tb, mic := newTestBrowser(b, server, client, r.member())
			tb.subscribe(tracks...)
			bs = append(bs, tb)
			mics = append(mics, mic)
		}
		stop := make(chan struct{})
		go feed(stop, tracks, mics)
		for _, tb := range bs {
			waitFor(b, "forwarded tracks", func() bool { return tb.tracks.Load() == forwarded && tb.received.Load() > forwarded*10 })
		}
		time.Sleep(3 * time.Second)
		after := snapshot()
		close(stop)
		b.ReportMetric(float64(after.heap-before.heap)/browsers/1024, "heapKiB/browser")
		b.ReportMetric(float64(after.stack-before.stack)/browsers/1024, "stackKiB/browser")
		b.ReportMetric(float64(after.goroutines-before.goroutines)/browsers, "goroutines/browser")
		for _, tb := range bs {
			tb.close()
		}
	}
}

// BenchmarkForwardToBrowsers measures the server's send path: one Opus
// packet written to a track that subs browsers receive (fan-out, pion's
// interceptors, SRTP, one sendto each). ns/op is per packet written; the
// per-subscriber cost is reported too.
func BenchmarkForwardToBrowsers(b *testing.B) {
	for _, subs := range []int{1, 10} {
		b.Run(fmt.Sprintf("subs=%d", subs), func(b *testing.B) {
			r := newCostRoom(b)
			track := r.audioTrack()
			server, client := serverAPI(b), clientAPI(b)
			var bs []*testBrowser
			for range subs {
				tb, _ := newTestBrowser(b, server, client, r.member())
				tb.subscribe(track)
				bs = append(bs, tb)
			}
			for i := uint16(0); ; i++ {
				track.WriteRTP(opusPacket(i))
				done := true
				for _, tb := range bs {
					done = done && tb.received.Load() > 0
				}
				if done {
					break
				}
				time.Sleep(5 * time.Millisecond)
			}
			p := opusPacket(0)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				p.SequenceNumber++
				p.Timestamp += 960
				track.WriteRTP(p)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(subs), "ns/delivery")
		})
	}
}

// BenchmarkVideoSubscriberMemory reports the live heap per browser receiving
// one forwarded video track once the NACK responder's history is full
// (3,000 packets of 1,200 bytes: more than its ring holds). Run with
// -benchtime 1x.
func BenchmarkVideoSubscriberMemory(b *testing.B) {
	const browsers, packets = 10, 3000
	for b.Loop() {
		r := newCostRoom(b)
		video := r.member().Publish(bridge.TrackSpec{Kind: bridge.KindVideo,
			Codec: bridge.Codec{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}})
		server, client := serverAPI(b), clientAPI(b)
		var bs []*testBrowser
		for range browsers {
			tb, _ := newTestBrowser(b, server, client, r.member())
			tb.subscribe(video)
			bs = append(bs, tb)
		}
		p := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: ptVP8, SSRC: 2}, Payload: make([]byte, 1200)}
		for _, tb := range bs {
			waitFor(b, "video at the browser", func() bool {
				p.SequenceNumber++
				video.WriteRTP(p)
				return tb.received.Load() > 0
			})
		}
		before := snapshot()
		for range packets {
			p.SequenceNumber++
			p.Timestamp += 90
			video.WriteRTP(p)
			time.Sleep(200 * time.Microsecond) // ~4,000 packets/s: the clients keep up
		}
		after := snapshot()
		b.ReportMetric(float64(after.heap-before.heap)/browsers/1024, "heapKiB/browser")
		for _, tb := range bs {
			tb.close()
		}
	}
}
