//go:build linux

package media

import (
	"net"
	"net/netip"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// testPoller returns a Poller on a clock of its own with a 10 ms sweep, so
// timeout tests stay quick. Endpoints close in t.Cleanup, which runs
// last-registered first: the poller and clock close after them.
func testPoller(t *testing.T) *Poller {
	t.Helper()
	c := NewClock(ClockConfig{})
	t.Cleanup(c.Close)
	p, err := NewPoller(PollerConfig{Clock: c, Sweep: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// A backlog larger than one recvmmsg batch (a stall, a burst) is read in
// full, in order, over the following ticks: the level-triggered registration
// reports the socket again.
func TestPollerDrainsBacklog(t *testing.T) {
	p := testPoller(t)
	r := newReceived()
	e := listen(t, p, testPorts(t, 1), EndpointConfig{}, r)
	peer := rawSender(t)
	e.SetRemote(addrOf(peer))
	const n = 5*recvBatchSize + 3
	for i := range n {
		peer.WriteToUDPAddrPort(rtpBytes(uint16(i)), e.LocalAddr())
	}
	pkts := r.wait(t, n)
	for i, pk := range pkts {
		if pk.SequenceNumber != uint16(i) {
			t.Fatalf("packet %d has sequence %d: out of order", i, pk.SequenceNumber)
		}
	}
}

// Bound to every address, a polled socket is dual-stack like the net
// package's: IPv4 and IPv6 peers reach it and are answered at their address.
func TestPollerDualStack(t *testing.T) {
	p := testPoller(t)
	r := newReceived()
	ports := testPorts(t, 1)
	e, err := Listen(EndpointConfig{Ports: ports, Poller: p, OnPacket: r.on})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	v6, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback})
	if err != nil {
		t.Skipf("no IPv6 loopback here: %v", err)
	}
	defer v6.Close()
	v4 := rawSender(t)
	e.SetRemote(addrOf(v4))
	v4.WriteToUDPAddrPort(rtpBytes(1), netip.AddrPortFrom(loopback, uint16(e.Port())))
	r.wait(t, 1)
	if err := e.WriteRTP(0, false, 0, []byte{9}); err != nil {
		t.Fatalf("send to the IPv4 peer: %v", err)
	}
	buf := make([]byte, 100)
	v4.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := v4.Read(buf); err != nil {
		t.Fatalf("IPv4 peer got nothing: %v", err)
	}
	e.SetRemote(addrOf(v6))
	v6.WriteToUDPAddrPort(rtpBytes(2), netip.AddrPortFrom(netip.IPv6Loopback(), uint16(e.Port())))
	r.wait(t, 1)
	if err := e.WriteRTP(0, false, 0, []byte{9}); err != nil {
		t.Fatalf("send to the IPv6 peer: %v", err)
	}
	v6.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := v6.Read(buf); err != nil {
		t.Fatalf("IPv6 peer got nothing: %v", err)
	}
}

// Endpoints opened and closed while packets pour in from everywhere: no
// callback after Close returns, no packet of a closed call delivered to the
// call that got its descriptor or port next, nothing lost on open ones, and
// the goroutine count does not grow with the endpoints.
func TestPollerChurn(t *testing.T) {
	p := testPoller(t)
	ports := testPorts(t, 64)
	peer := rawSender(t)
	var closed sync.Map // *Endpoint → true once Close returned
	var late atomic.Int32
	stop := make(chan struct{})
	var live sync.Map // netip.AddrPort → true
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // blast every live port
		defer wg.Done()
		pkt := rtpBytes(1)
		for {
			select {
			case <-stop:
				return
			default:
			}
			live.Range(func(k, _ any) bool {
				peer.WriteToUDPAddrPort(pkt, k.(netip.AddrPort))
				return true
			})
			time.Sleep(200 * time.Microsecond)
		}
	}()
	goroutines := runtime.NumGoroutine
	start := goroutines()
	for round := range 20 {
		var eps []*Endpoint
		for range 32 {
			var self *Endpoint
			var mu sync.Mutex
			e, err := Listen(EndpointConfig{Ports: ports, IP: loopback, Poller: p, OnPacket: func(*rtp.Packet, time.Time) {
				mu.Lock()
				me := self
				mu.Unlock()
				if _, done := closed.Load(me); done {
					late.Add(1)
				}
			}})
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
			mu.Lock()
			self = e
			mu.Unlock()
			e.SetRemote(addrOf(peer))
			live.Store(e.LocalAddr(), true)
			eps = append(eps, e)
		}
		if g := goroutines(); g > start+3 { // the clock's loop and workers
			t.Fatalf("%d goroutines with 32 polled endpoints, %d before", g, start)
		}
		time.Sleep(5 * time.Millisecond)
		for _, e := range eps {
			live.Delete(e.LocalAddr())
			if err := e.Close(); err != nil {
				t.Fatal(err)
			}
			closed.Store(e, true)
		}
	}
	close(stop)
	wg.Wait()
	if late.Load() != 0 {
		t.Errorf("%d callbacks after Close returned", late.Load())
	}
	if ports.Free() != 64 {
		t.Errorf("%d of 64 ports free after every Close", ports.Free())
	}
}

// Listen on a closed Poller fails and leaks no port.
func TestPollerClosed(t *testing.T) {
	c := NewClock(ClockConfig{})
	defer c.Close()
	p, err := NewPoller(PollerConfig{Clock: c})
	if err != nil {
		t.Fatal(err)
	}
	p.Close()
	p.Close() // twice is fine
	ports := testPorts(t, 1)
	if _, err := Listen(EndpointConfig{Ports: ports, IP: loopback, Poller: p, OnPacket: func(*rtp.Packet, time.Time) {}}); err == nil {
		t.Fatal("Listen on a closed Poller succeeded")
	}
	if ports.Free() != 1 {
		t.Errorf("port not returned after the failed Listen")
	}
}

// The kernel's arrival stamp reaches OnPacket, not the time of the tick that
// read the packet: a packet sent right after a tick is read up to 20 ms later
// but stamped when it arrived.
func TestPollerArrivalTime(t *testing.T) {
	p := testPoller(t)
	var mu sync.Mutex
	var at []time.Time
	got := make(chan struct{}, 10)
	e := listen(t, p, testPorts(t, 1), EndpointConfig{OnPacket: func(_ *rtp.Packet, arrival time.Time) {
		mu.Lock()
		at = append(at, arrival)
		mu.Unlock()
		got <- struct{}{}
	}}, nil)
	peer := rawSender(t)
	e.SetRemote(addrOf(peer))
	var sent []time.Time
	for i := range 5 {
		sent = append(sent, time.Now())
		peer.WriteToUDPAddrPort(rtpBytes(uint16(i)), e.LocalAddr())
		<-got
		time.Sleep(7 * time.Millisecond) // an arbitrary phase against the ticks
	}
	mu.Lock()
	defer mu.Unlock()
	for i := range sent {
		if d := at[i].Sub(sent[i]); d < 0 || d > 2*time.Millisecond {
			t.Errorf("packet %d: arrival %v after the send, want the kernel's stamp (under 2 ms)", i, d)
		}
	}
}

// The poller needs a clock; without one NewPoller says so.
func TestPollerNeedsClock(t *testing.T) {
	if _, err := NewPoller(PollerConfig{}); err == nil {
		t.Fatal("NewPoller without a Clock succeeded")
	}
}

// TestPollerHalfTickDrain: a packet that arrives just after a tick is read
// half-way to the next one, not at it (the drain between ticks, for voice
// sent on as it is read): over 20 packets sent 1 ms after a tick, the
// median wait from send to OnPacket is near 9 ms, where reading only at
// ticks would make it near 19 ms.
func TestPollerHalfTickDrain(t *testing.T) {
	p := testPoller(t)
	ticks := make(chan time.Time, 1)
	sub := p.clock.Subscribe(func(Tick) {
		select {
		case ticks <- time.Now():
		default:
		}
	})
	t.Cleanup(sub.Stop)
	got := make(chan time.Time, 1)
	e := listen(t, p, testPorts(t, 1), EndpointConfig{OnPacket: func(*rtp.Packet, time.Time) { got <- time.Now() }}, nil)
	peer := rawSender(t)
	e.SetRemote(addrOf(peer))
	var waits []time.Duration
	for i := range 20 {
		<-ticks // drop a tick that may be stale
		<-ticks
		time.Sleep(time.Millisecond)
		sent := time.Now()
		peer.WriteToUDPAddrPort(rtpBytes(uint16(i)), e.LocalAddr())
		waits = append(waits, (<-got).Sub(sent))
	}
	slices.Sort(waits)
	if med := waits[len(waits)/2]; med > 15*time.Millisecond {
		t.Errorf("median wait %v from send to read (all: %v), want about 9 ms: no drain between ticks?", med, waits)
	}
}

// WriteRTP allocates nothing, on a polled endpoint (the packet is built on
// the sender's stack) and on one with its own socket (its send buffer), and
// the packets arrive whole.
func TestWriteRTPAllocs(t *testing.T) {
	for _, polled := range []bool{true, false} {
		var e *Endpoint
		if polled {
			e = listen(t, testPoller(t), testPorts(t, 1), EndpointConfig{}, newReceived())
		} else {
			var err error
			if e, err = Listen(EndpointConfig{Ports: testPorts(t, 1), IP: loopback, OnPacket: func(*rtp.Packet, time.Time) {}}); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { e.Close() })
		}
		peer := rawSender(t)
		e.SetRemote(addrOf(peer))
		payload := make([]byte, 160)
		if a := testing.AllocsPerRun(100, func() { _ = e.WriteRTP(0, false, 160, payload) }); a != 0 {
			t.Errorf("polled %v: %.1f allocations per WriteRTP, want 0", polled, a)
		}
		buf := make([]byte, 2048)
		peer.SetReadDeadline(time.Now().Add(2 * time.Second))
		n, _, err := peer.ReadFromUDPAddrPort(buf)
		if err != nil {
			t.Fatalf("polled %v: %v", polled, err)
		}
		var pkt rtp.Packet
		if err := pkt.Unmarshal(buf[:n]); err != nil || len(pkt.Payload) != 160 || pkt.SSRC != e.SSRC() {
			t.Errorf("polled %v: got %d bytes, %v: payload %d, SSRC %x (want 160, %x)", polled, n, err, len(pkt.Payload), pkt.SSRC, e.SSRC())
		}
	}
}
