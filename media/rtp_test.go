package media

import (
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
)

var loopback = netip.MustParseAddr("127.0.0.1")

// testPorts returns an allocator over n RTP ports at a random place in
// 20000–59999, so parallel test runs on the machine rarely meet.
func testPorts(t testing.TB, n int) *PortAllocator {
	t.Helper()
	base := 20000 + 2*rand.IntN(20000-n)
	a, err := NewPortAllocator(base, base+2*n-1)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// received collects what an endpoint's OnPacket sees.
type received struct {
	mu   sync.Mutex
	pkts []rtp.Packet
	ch   chan struct{}
}

func newReceived() *received { return &received{ch: make(chan struct{}, 1000)} }

func (r *received) on(p *rtp.Packet, _ time.Time) {
	r.mu.Lock()
	c := *p
	c.Payload = append([]byte(nil), p.Payload...)
	r.pkts = append(r.pkts, c)
	r.mu.Unlock()
	r.ch <- struct{}{}
}

func (r *received) wait(t *testing.T, n int) []rtp.Packet {
	t.Helper()
	for range n {
		select {
		case <-r.ch:
		case <-time.After(2 * time.Second):
			t.Fatalf("timed out waiting for packet")
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]rtp.Packet(nil), r.pkts...)
}

func (r *received) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.pkts)
}

func listen(t *testing.T, poller *Poller, ports *PortAllocator, cfg EndpointConfig, r *received) *Endpoint {
	t.Helper()
	cfg.Ports = ports
	cfg.IP = loopback
	cfg.Poller = poller
	if cfg.OnPacket == nil {
		cfg.OnPacket = r.on
	}
	e, err := Listen(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// bothModes runs an endpoint test with a reader goroutine per endpoint and
// with a Poller (short sweep, so timeout tests stay quick).
func bothModes(t *testing.T, test func(*testing.T, *Poller)) {
	t.Run("goroutine", func(t *testing.T) { test(t, nil) })
	t.Run("poller", func(t *testing.T) {
		test(t, testPoller(t))
	})
}

// rawSender is a plain UDP socket standing in for a peer (or an attacker).
func rawSender(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func rtpBytes(seq uint16) []byte {
	p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: seq, Timestamp: uint32(seq) * 160, SSRC: 42}, Payload: []byte{1, 2, 3}}
	b, _ := p.Marshal()
	return b
}

func addrOf(c *net.UDPConn) netip.AddrPort { return c.LocalAddr().(*net.UDPAddr).AddrPort() }

func TestPortAllocator(t *testing.T) { bothModes(t, testPortAllocator) }

func testPortAllocator(t *testing.T, poller *Poller) {
	if _, err := NewPortAllocator(100, 200); err == nil {
		t.Error("privileged range accepted")
	}
	if _, err := NewPortAllocator(30000, 30000); err == nil {
		t.Error("range without room for RTCP accepted")
	}
	a, _ := NewPortAllocator(30001, 30006)
	if a.Free() != 2 { // 30002 and 30004; 30006 would need 30007
		t.Errorf("odd range: %d ports, want 2", a.Free())
	}

	ports := testPorts(t, 3)
	r := newReceived()
	var eps []*Endpoint
	for range 3 {
		e := listen(t, poller, ports, EndpointConfig{}, r)
		if e.Port()%2 != 0 {
			t.Errorf("odd RTP port %d", e.Port())
		}
		eps = append(eps, e)
	}
	if _, err := Listen(EndpointConfig{Ports: ports, IP: loopback, Poller: poller, OnPacket: r.on}); !errors.Is(err, ErrNoPorts) {
		t.Fatalf("fourth endpoint: %v, want ErrNoPorts", err)
	}
	freed := eps[0].Port()
	if err := eps[0].Close(); err != nil {
		t.Fatal(err)
	}
	eps[0].Close() // twice is fine
	if ports.Free() != 1 {
		t.Errorf("after Close %d free, want 1", ports.Free())
	}
	e := listen(t, poller, ports, EndpointConfig{}, r)
	if e.Port() != freed {
		t.Errorf("reused port %d, want the freed %d", e.Port(), freed)
	}
}

func TestPortAllocatorReusesLast(t *testing.T) { bothModes(t, testPortAllocatorReusesLast) }

func testPortAllocatorReusesLast(t *testing.T, poller *Poller) {
	ports := testPorts(t, 3)
	r := newReceived()
	a := listen(t, poller, ports, EndpointConfig{}, r)
	b := listen(t, poller, ports, EndpointConfig{}, r)
	first, second := a.Port(), b.Port()
	a.Close()
	c := listen(t, poller, ports, EndpointConfig{}, r)
	d := listen(t, poller, ports, EndpointConfig{}, r)
	if c.Port() == first || d.Port() != first {
		t.Errorf("ports %d, %d after freeing %d (and %d in use): a freed port should come last", c.Port(), d.Port(), first, second)
	}
}

func TestEndpointSendReceive(t *testing.T) { bothModes(t, testEndpointSendReceive) }

func testEndpointSendReceive(t *testing.T, poller *Poller) {
	ports := testPorts(t, 2)
	ra, rb := newReceived(), newReceived()
	a := listen(t, poller, ports, EndpointConfig{}, ra)
	b := listen(t, poller, ports, EndpointConfig{}, rb)
	if err := a.WriteRTP(0, false, 0, []byte{1}); !errors.Is(err, ErrNoRemote) {
		t.Errorf("send before SetRemote: %v", err)
	}
	a.SetRemote(b.LocalAddr())
	b.SetRemote(a.LocalAddr())
	for i := range 3 {
		if err := a.WriteRTP(8, i == 0, uint32(1000+160*i), []byte{byte(i), 0xD5}); err != nil {
			t.Fatal(err)
		}
	}
	got := rb.wait(t, 3)
	for i, p := range got {
		if p.SSRC != a.SSRC() || p.PayloadType != 8 || p.Timestamp != uint32(1000+160*i) ||
			p.Marker != (i == 0) || p.Payload[0] != byte(i) || p.SequenceNumber != got[0].SequenceNumber+uint16(i) {
			t.Errorf("packet %d: %+v", i, p.Header)
		}
	}
	b.WriteRTP(0, false, 0, []byte{9})
	ra.wait(t, 1)
	if err := a.WriteRTP(0, false, 0, make([]byte, maxDatagram)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("oversize payload: %v", err)
	}
	s := a.Stats()
	if s.PacketsOut != 3 || s.PacketsIn != 1 || s.BytesOut != 3*(12+2) {
		t.Errorf("stats %+v", s)
	}
}

// TestEndpointLearnsSource: a peer behind NAT signals an address packets
// never come from; the endpoint learns the real source within the window and
// sends there.
func TestEndpointLearnsSource(t *testing.T) { bothModes(t, testEndpointLearnsSource) }

func testEndpointLearnsSource(t *testing.T, poller *Poller) {
	ports := testPorts(t, 1)
	r := newReceived()
	e := listen(t, poller, ports, EndpointConfig{}, r)
	peer := rawSender(t)
	e.SetRemote(netip.MustParseAddrPort("127.0.0.1:9")) // what SDP said
	if _, err := peer.WriteToUDPAddrPort(rtpBytes(1), e.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	r.wait(t, 1)
	if e.Remote() != addrOf(peer) {
		t.Fatalf("remote %v, want the learned %v", e.Remote(), addrOf(peer))
	}
	e.WriteRTP(0, false, 0, []byte{7})
	buf := make([]byte, 100)
	peer.SetReadDeadline(time.Now().Add(2 * time.Second))
	n, err := peer.Read(buf)
	if err != nil || n != 13 || buf[12] != 7 {
		t.Errorf("symmetric send: %d bytes, %v", n, err)
	}
}

func TestEndpointHijack(t *testing.T) { bothModes(t, testEndpointHijack) }

func testEndpointHijack(t *testing.T, poller *Poller) {
	const window = 150 * time.Millisecond
	send := func(t *testing.T, c *net.UDPConn, e *Endpoint, seq uint16) {
		t.Helper()
		if _, err := c.WriteToUDPAddrPort(rtpBytes(seq), e.LocalAddr()); err != nil {
			t.Fatal(err)
		}
	}
	waitForeign := func(t *testing.T, e *Endpoint, n uint64) {
		t.Helper()
		deadline := time.Now().Add(2 * time.Second)
		for e.Stats().Foreign < n {
			if time.Now().After(deadline) {
				t.Fatalf("foreign = %d, want %d", e.Stats().Foreign, n)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}

	t.Run("another source while latched, and after the window", func(t *testing.T) {
		r := newReceived()
		e := listen(t, poller, testPorts(t, 1), EndpointConfig{LearnWindow: window}, r)
		peer, attacker := rawSender(t), rawSender(t)
		e.SetRemote(netip.MustParseAddrPort("127.0.0.1:9"))
		send(t, peer, e, 1)
		r.wait(t, 1)
		send(t, attacker, e, 2) // within the window, but a source is accepted
		waitForeign(t, e, 1)
		time.Sleep(window)
		send(t, attacker, e, 3)
		waitForeign(t, e, 2)
		send(t, peer, e, 4)
		r.wait(t, 1)
		if e.Remote() != addrOf(peer) || r.count() != 2 {
			t.Errorf("remote %v after hijack attempts, %d packets", e.Remote(), r.count())
		}
	})
	t.Run("nothing learned before the window closed", func(t *testing.T) {
		r := newReceived()
		e := listen(t, poller, testPorts(t, 1), EndpointConfig{LearnWindow: window}, r)
		signalled := rawSender(t)
		attacker := rawSender(t)
		e.SetRemote(addrOf(signalled))
		time.Sleep(window + 20*time.Millisecond)
		send(t, attacker, e, 1)
		waitForeign(t, e, 1)
		// The signalled address is always accepted.
		send(t, signalled, e, 2)
		r.wait(t, 1)
		if e.Remote() != addrOf(signalled) {
			t.Errorf("remote %v, want the signalled %v", e.Remote(), addrOf(signalled))
		}
	})
	t.Run("the signalled address wins over a learned one", func(t *testing.T) {
		r := newReceived()
		e := listen(t, poller, testPorts(t, 1), EndpointConfig{LearnWindow: window}, r)
		signalled, early := rawSender(t), rawSender(t)
		e.SetRemote(addrOf(signalled))
		send(t, early, e, 1) // someone fast got in first
		r.wait(t, 1)
		send(t, signalled, e, 2)
		r.wait(t, 1)
		if e.Remote() != addrOf(signalled) {
			t.Errorf("remote %v, want the signalled %v", e.Remote(), addrOf(signalled))
		}
		send(t, early, e, 3)
		waitForeign(t, e, 1)
	})
	t.Run("renegotiation opens a new window", func(t *testing.T) {
		r := newReceived()
		e := listen(t, poller, testPorts(t, 1), EndpointConfig{LearnWindow: window}, r)
		old, moved := rawSender(t), rawSender(t)
		e.SetRemote(netip.MustParseAddrPort("127.0.0.1:9"))
		send(t, old, e, 1)
		r.wait(t, 1)
		time.Sleep(window)
		e.SetRemote(netip.MustParseAddrPort("127.0.0.1:11")) // re-INVITE
		send(t, moved, e, 2)
		r.wait(t, 1)
		if e.Remote() != addrOf(moved) {
			t.Errorf("remote %v after renegotiation, want %v", e.Remote(), addrOf(moved))
		}
	})
}

func TestEndpointTimeout(t *testing.T) { bothModes(t, testEndpointTimeout) }

func testEndpointTimeout(t *testing.T, poller *Poller) {
	var fired atomic.Int32
	r := newReceived()
	e := listen(t, poller, testPorts(t, 1), EndpointConfig{Timeout: 100 * time.Millisecond, OnTimeout: func() { fired.Add(1) }}, r)
	peer := rawSender(t)
	time.Sleep(200 * time.Millisecond)
	if fired.Load() != 0 {
		t.Fatal("timeout fired before negotiation")
	}
	e.SetRemote(addrOf(peer))
	start := time.Now()
	for fired.Load() == 0 && time.Since(start) < 2*time.Second {
		time.Sleep(5 * time.Millisecond)
	}
	if took := time.Since(start); fired.Load() != 1 || took < 100*time.Millisecond {
		t.Fatalf("fired %d times after %v", fired.Load(), took)
	}
	time.Sleep(250 * time.Millisecond)
	if fired.Load() != 1 {
		t.Fatalf("fired %d times for one silence", fired.Load())
	}
	// Packets flow for a while (no timeout), then stop: it fires again.
	for i := range 10 {
		peer.WriteToUDPAddrPort(rtpBytes(uint16(i)), e.LocalAddr())
		time.Sleep(20 * time.Millisecond)
	}
	if fired.Load() != 1 {
		t.Fatalf("fired while packets flowed")
	}
	start = time.Now()
	for fired.Load() == 1 && time.Since(start) < 2*time.Second {
		time.Sleep(5 * time.Millisecond)
	}
	if fired.Load() != 2 {
		t.Fatalf("did not fire again after packets stopped")
	}
	// Disabled (a call on hold): silence is fine.
	e.SetTimeout(-1)
	peer.WriteToUDPAddrPort(rtpBytes(100), e.LocalAddr())
	time.Sleep(300 * time.Millisecond)
	if fired.Load() != 2 || e.Stats().Timeouts != 2 {
		t.Errorf("fired %d with timeouts disabled", fired.Load())
	}
}

func TestEndpointDropsMalformedAndRTCP(t *testing.T) { bothModes(t, testEndpointDropsMalformedAndRTCP) }

func testEndpointDropsMalformedAndRTCP(t *testing.T, poller *Poller) {
	r := newReceived()
	e := listen(t, poller, testPorts(t, 1), EndpointConfig{}, r)
	peer := rawSender(t)
	e.SetRemote(addrOf(peer))
	rr := []byte{0x80, 201, 0, 1, 0, 0, 0, 42} // RTCP receiver report header
	for _, b := range [][]byte{{1, 2, 3}, make([]byte, 20), rr, {0x90, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xBE}} {
		peer.WriteToUDPAddrPort(b, e.LocalAddr())
	}
	peer.WriteToUDPAddrPort(rtpBytes(1), e.LocalAddr())
	r.wait(t, 1)
	s := e.Stats()
	if s.Malformed != 3 || s.RTCP != 1 || s.PacketsIn != 1 {
		t.Errorf("stats %+v, want 3 malformed, 1 RTCP, 1 packet", s)
	}
}

func TestEndpointCloseStopsCallbacks(t *testing.T) { bothModes(t, testEndpointCloseStopsCallbacks) }

func testEndpointCloseStopsCallbacks(t *testing.T, poller *Poller) {
	var calls atomic.Int32
	ports := testPorts(t, 1)
	e, err := Listen(EndpointConfig{Ports: ports, IP: loopback, Poller: poller, OnPacket: func(*rtp.Packet, time.Time) { calls.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	peer := rawSender(t)
	addr := e.LocalAddr()
	e.SetRemote(addrOf(peer))
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	n := calls.Load()
	peer.WriteToUDPAddrPort(rtpBytes(1), addr)
	time.Sleep(50 * time.Millisecond)
	if calls.Load() != n || ports.Free() != 1 {
		t.Errorf("callbacks after Close, or port not freed (%d free)", ports.Free())
	}
}

func TestEndpointWriteAllocs(t *testing.T) { bothModes(t, testEndpointWriteAllocs) }

func testEndpointWriteAllocs(t *testing.T, poller *Poller) {
	ports := testPorts(t, 2)
	r := newReceived()
	a := listen(t, poller, ports, EndpointConfig{}, r)
	sink := rawSender(t)
	a.SetRemote(addrOf(sink))
	payload := make([]byte, 160)
	ts := uint32(0)
	allocs := testing.AllocsPerRun(200, func() {
		a.WriteRTP(0, false, ts, payload)
		ts += 160
	})
	if allocs != 0 {
		t.Errorf("allocs per WriteRTP = %v, want 0", allocs)
	}
}

// FuzzRTPPacket feeds arbitrary datagrams through what an endpoint does with
// them: classify and parse, then (as a phone leg would) push into a jitter
// buffer, pop, parse as a telephone-event and decode as G.711. Nothing may
// panic, and a popped payload never exceeds what the buffer keeps.
func FuzzRTPPacket(f *testing.F) {
	f.Add(rtpBytes(1))
	f.Add([]byte{0x80, 200, 0, 6, 0, 0, 0, 1})
	f.Add([]byte{0xB1, 0x65, 0xFF, 0xFF, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 1, 0xBE, 0xDE, 0, 1, 0x10, 0xAA, 0, 0, 5, 0x8A, 0, 160, 0, 0, 2})
	f.Add([]byte{0xA0, 101, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 5, 10, 0, 160, 0, 0, 0, 4})
	f.Fuzz(func(t *testing.T, b []byte) {
		jb8, _ := NewJitterBuffer(JitterConfig{ClockRate: 8000, MaxPayload: 200})
		var pkt rtp.Packet
		if parseDatagram(b, &pkt) != datagramRTP {
			return
		}
		if len(pkt.Payload) > len(b) {
			t.Fatalf("payload longer than the datagram")
		}
		jb8.Push(&pkt, time.Unix(0, 0))
		buf := make([]byte, 200)
		for range 3 {
			if f := jb8.Pop(buf); len(f.Payload) > 200 {
				t.Fatalf("popped %d bytes", len(f.Payload))
			}
		}
		var r DTMFReceiver
		r.Receive(pkt.Timestamp, pkt.Marker, pkt.Payload)
		pcm := make([]int16, len(pkt.Payload))
		PCMU.Decode(pcm, pkt.Payload)
	})
}

// FuzzJitterBuffer drives a jitter buffer with an arbitrary schedule: each
// 4-byte step is a sequence delta, a timestamp delta, an SSRC choice and a
// number of Pops. Per source, played sequence numbers must never repeat and
// must go forward.
func FuzzJitterBuffer(f *testing.F) {
	f.Add([]byte{1, 1, 0, 1, 1, 1, 0, 1, 2, 1, 0, 2, 0xFF, 0, 0, 1})
	f.Add([]byte{0x80, 0, 0, 0, 0x7F, 3, 1, 3, 1, 1, 1, 9})
	f.Fuzz(func(t *testing.T, steps []byte) {
		jb, _ := NewJitterBuffer(JitterConfig{ClockRate: 8000, MaxPayload: 4})
		now := time.Unix(0, 0)
		seq, ts := uint16(0), uint32(0)
		var pkt rtp.Packet
		payload := make([]byte, 2)
		buf := make([]byte, 4)
		var lastExt int64 = -1
		var cycles int64
		var prevSeq uint16
		ssrc := uint32(0)
		for i := 0; i+4 <= len(steps); i += 4 {
			seq += uint16(int8(steps[i]))
			ts += uint32(int8(steps[i+1])) * 160
			if s := uint32(steps[i+2] & 1); s != ssrc {
				ssrc, lastExt, cycles = s, -1, 0
			}
			payload[0], payload[1] = byte(seq>>8), byte(seq)
			pkt = rtp.Packet{Header: rtp.Header{SequenceNumber: seq, Timestamp: ts, SSRC: ssrc}, Payload: payload}
			jb.Push(&pkt, now)
			for range steps[i+3] % 4 {
				now = now.Add(20 * time.Millisecond)
				fr := jb.Pop(buf)
				if fr.Status != FramePlay {
					continue
				}
				got := uint16(fr.Payload[0])<<8 | uint16(fr.Payload[1])
				if got != fr.SequenceNumber {
					t.Fatalf("frame %d carries packet %d", fr.SequenceNumber, got)
				}
				if lastExt >= 0 && got < prevSeq && prevSeq-got > 1<<15 {
					cycles++
				}
				ext := cycles<<16 | int64(got)
				if lastExt >= 0 && ext <= lastExt && jb.Stats().Resets == 0 {
					t.Fatalf("played %d after %d", ext, lastExt)
				}
				lastExt, prevSeq = ext, got
			}
		}
	})
}

// BenchmarkEndpointWriteRTP sends 160-byte G.711 frames over loopback:
// header marshal into the reused buffer plus the UDP write, through the net
// package (reader-goroutine endpoints) and through sendto on a polled
// endpoint's raw socket.
func BenchmarkEndpointWriteRTP(b *testing.B) {
	sink, _ := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	defer sink.Close()
	go func() { // drain, so the socket buffer never fills
		buf := make([]byte, 2000)
		for {
			if _, err := sink.Read(buf); err != nil {
				return
			}
		}
	}()
	clock := NewClock(ClockConfig{})
	defer clock.Close()
	poller, err := NewPoller(PollerConfig{Clock: clock})
	if err != nil {
		b.Fatal(err)
	}
	defer poller.Close()
	payload := make([]byte, 160)
	for _, mode := range []struct {
		name   string
		poller *Poller
	}{{"endpoint", nil}, {"polled", poller}} {
		b.Run(mode.name, func(b *testing.B) {
			e, err := Listen(EndpointConfig{Ports: testPorts(b, 1), IP: loopback, Poller: mode.poller, OnPacket: func(*rtp.Packet, time.Time) {}})
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			e.SetRemote(addrOf(sink))
			b.ReportAllocs()
			ts := uint32(0)
			for b.Loop() {
				if err := e.WriteRTP(0, false, ts, payload); err != nil {
					b.Fatal(err)
				}
				ts += 160
			}
		})
	}
	// The same datagram written straight to the socket: the floor the
	// endpoint adds its marshalling and locking to.
	b.Run("raw-udp", func(b *testing.B) {
		raw, _ := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		defer raw.Close()
		d := make([]byte, 172)
		to := addrOf(sink)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := raw.WriteToUDPAddrPort(d, to); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkParseDatagram(b *testing.B) {
	d := rtpBytes(7)
	var pkt rtp.Packet
	b.ReportAllocs()
	for b.Loop() {
		parseDatagram(d, &pkt)
	}
}
