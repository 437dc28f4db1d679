package media

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
)

// RTP endpoint defaults; EndpointConfig's zero fields take them.
const (
	// DefaultLearnWindow is how long after a (re)negotiation the endpoint
	// accepts a new source address (symmetric RTP through NAT). Real peers
	// send within a few hundred milliseconds of the answer; the window is
	// kept short because during it anyone who guesses the port could take the
	// stream over.
	DefaultLearnWindow = 2 * time.Second
	// DefaultRTPTimeout is how long without a packet means the peer is gone.
	// 30 s: long enough for a peer's brief network trouble, short enough that a
	// vanished caller does not hold a conference seat for minutes; calls on
	// hold (which may send nothing) should call SetTimeout(-1).
	DefaultRTPTimeout = 30 * time.Second
)

// maxDatagram is the read buffer: a datagram that fills it is taken as too
// large for RTP over our MTU and dropped.
const maxDatagram = 1600

// Errors of the RTP endpoint.
var (
	ErrNoPorts  = errors.New("media: no free RTP port in the range")
	ErrNoRemote = errors.New("media: RTP endpoint has no remote address yet")
	ErrTooLarge = errors.New("media: RTP packet larger than the send buffer")
)

// PortAllocator hands out even UDP ports from a range for RTP, leaving each
// odd port above for RTCP (RFC 3550 §11). Freed ports go to the back of the
// queue, so a port is reused only after the others, giving stray packets of
// the last call on it time to stop. It is safe for concurrent use.
type PortAllocator struct {
	mu    sync.Mutex
	free  []int // FIFO
	inUse map[int]bool
}

// NewPortAllocator returns an allocator over the even ports p with
// min ≤ p and p+1 ≤ max.
func NewPortAllocator(min, max int) (*PortAllocator, error) {
	if min < 1024 || max > 65535 || min+1 > max {
		return nil, fmt.Errorf("media: RTP port range %d–%d: want 1024 ≤ min < max ≤ 65535", min, max)
	}
	a := &PortAllocator{inUse: make(map[int]bool)}
	for p := min + min&1; p+1 <= max; p += 2 {
		a.free = append(a.free, p)
	}
	return a, nil
}

// Free returns how many ports are free.
func (a *PortAllocator) Free() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.free)
}

// acquire binds a socket with open at the first free port that binds (another
// program may hold some), trying each free port at most once.
func (a *PortAllocator) acquire(open func(port int) error) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var lastErr error
	for range len(a.free) {
		p := a.free[0]
		a.free = a.free[1:]
		if err := open(p); err != nil {
			lastErr = err
			a.free = append(a.free, p)
			continue
		}
		a.inUse[p] = true
		return p, nil
	}
	if lastErr != nil {
		return 0, fmt.Errorf("%w (last: %v)", ErrNoPorts, lastErr)
	}
	return 0, ErrNoPorts
}

// listen binds a UDP socket of the net package on ip at a free port.
func (a *PortAllocator) listen(ip netip.Addr) (*net.UDPConn, int, error) {
	var conn *net.UDPConn
	port, err := a.acquire(func(p int) error {
		laddr := &net.UDPAddr{Port: p} // no IP: every address, dual-stack where there is IPv6
		if ip.IsValid() {
			laddr.IP = ip.AsSlice()
		}
		c, err := net.ListenUDP("udp", laddr)
		conn = c
		return err
	})
	return conn, port, err
}

func (a *PortAllocator) release(p int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.inUse[p] {
		delete(a.inUse, p)
		a.free = append(a.free, p)
	}
}

// EndpointConfig configures an RTP Endpoint.
type EndpointConfig struct {
	// Ports allocates the local port. Required.
	Ports *PortAllocator
	// IP is the local address to bind; the zero Addr binds every address.
	IP netip.Addr
	// LearnWindow: see DefaultLearnWindow. Zero takes the default.
	LearnWindow time.Duration
	// Timeout: see DefaultRTPTimeout. Zero takes the default; negative
	// disables timeout detection. Counting starts at SetRemote.
	Timeout time.Duration
	// Poller, when set, receives the endpoint's packets on one of its loops
	// instead of a reader goroutine of the endpoint's own (see Poller). Nil
	// gives the endpoint its own goroutine: portable, and what tests and
	// tools with a handful of legs use.
	Poller *Poller
	// OnPacket receives every RTP packet from the accepted source, on the
	// endpoint's reader goroutine (or its poller loop), with its arrival time. The packet and its
	// payload are reused for the next read: copy what must outlive the call
	// (a JitterBuffer.Push copies). It must return quickly and must not call
	// Close. Required.
	OnPacket func(p *rtp.Packet, arrival time.Time)
	// OnTimeout is called on the reader goroutine (or the poller loop, within
	// the poller's sweep period) when no packet came from the accepted source
	// for Timeout; again after packets resumed and stopped again. It must not call Close (hand the hang-up to the call's
	// goroutine). Optional.
	OnTimeout func()
}

// EndpointStats are an Endpoint's counters.
type EndpointStats struct {
	PacketsIn, BytesIn   uint64 // RTP accepted and handed to OnPacket
	PacketsOut, BytesOut uint64
	Foreign              uint64 // dropped: from an address other than the accepted source
	Malformed            uint64 // dropped: not RTP version 2, or too large
	RTCP                 uint64 // dropped: RTCP multiplexed on the RTP port (RFC 5761 §4)
	Timeouts             uint64
	SendErrors           uint64
}

// Endpoint is one leg's RTP socket: a UDP port from a PortAllocator, a
// receive path that hands packets to OnPacket (a reader goroutine of its own
// reading into one reused buffer, or a Poller's loop), and a send path that
// marshals into one reused buffer.
//
// Symmetric RTP with protection against hijacking: packets are sent to the
// source the endpoint has accepted, else to the address signalling gave
// (SetRemote). Packets from the signalled address are always accepted; a packet
// from any other address is accepted (and becomes where packets are sent) only
// within LearnWindow of the endpoint's creation or of the last SetRemote, and
// only if no source was accepted since. Everything else is dropped and counted
// as Foreign.
//
// Timeouts are detected by the reader's own deadline, set once per Timeout
// rather than per packet, or by the poller's sweep; there is no timer or
// ticker per leg.
//
// WriteRTP, SetRemote, SetTimeout, Stats and Close may be called from any
// goroutine.
type Endpoint struct {
	conn  *net.UDPConn // the reader goroutine's socket; nil when polled
	sock  *rawSocket   // the poller's socket; nil with a reader goroutine
	local netip.AddrPort
	port  int
	ports *PortAllocator
	cfg   EndpointConfig

	remote atomic.Pointer[remoteState]
	mu     sync.Mutex // serialises changes of remote

	negotiated atomic.Bool
	lastRx     atomic.Int64 // unix ns of the last accepted packet or SetRemote
	timeout    atomic.Int64 // ns; ≤ 0 disabled
	firedAt    int64        // polled: lastRx when the timeout last fired; the loop's alone

	sendMu sync.Mutex
	// connBuf is the send buffer of an endpoint with its own socket; a
	// polled one builds its packets on the sender's stack instead (1.6 KiB
	// less per phone leg).
	connBuf *[maxDatagram]byte
	ssrc    uint32
	seq     uint16

	packetsIn, bytesIn, packetsOut, bytesOut atomic.Uint64
	foreign, malformed, rtcp, timeouts       atomic.Uint64
	sendErrors                               atomic.Uint64

	closeOnce sync.Once
	done      chan struct{}
}

// remoteState is replaced whole, so the reader and senders read it without a
// lock.
type remoteState struct {
	signalled netip.AddrPort // from SDP; may be invalid
	accepted  netip.AddrPort // learned source; may be invalid
	learnEnd  time.Time
}

func (s *remoteState) dest() netip.AddrPort {
	if s.accepted.IsValid() {
		return s.accepted
	}
	return s.signalled
}

// Listen opens an endpoint on a port from cfg.Ports and starts its reader. The
// caller must Close it to stop the reader and free the port. Its SSRC and first
// sequence number are random (RFC 3550 §5.1).
func Listen(cfg EndpointConfig) (*Endpoint, error) {
	if cfg.Ports == nil || cfg.OnPacket == nil {
		return nil, errors.New("media: RTP endpoint needs Ports and OnPacket")
	}
	if cfg.LearnWindow == 0 {
		cfg.LearnWindow = DefaultLearnWindow
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultRTPTimeout
	}
	e := &Endpoint{
		ports: cfg.Ports,
		cfg:   cfg,
		ssrc:  rand.Uint32(),
		seq:   uint16(rand.Uint32()),
		done:  make(chan struct{}),
	}
	e.timeout.Store(int64(cfg.Timeout))
	e.remote.Store(&remoteState{learnEnd: time.Now().Add(cfg.LearnWindow)})
	if cfg.Poller != nil {
		return e, cfg.Poller.add(e)
	}
	conn, port, err := cfg.Ports.listen(cfg.IP)
	if err != nil {
		return nil, err
	}
	e.conn, e.port, e.connBuf = conn, port, new([maxDatagram]byte)
	e.local = conn.LocalAddr().(*net.UDPAddr).AddrPort()
	go e.read()
	return e, nil
}

// packet builds the next RTP packet in buf and returns its length. sendMu
// is held.
func (e *Endpoint) packet(buf []byte, pt uint8, marker bool, timestamp uint32, payload []byte) (int, error) {
	h := rtp.Header{
		Version:        2,
		Marker:         marker,
		PayloadType:    pt,
		SequenceNumber: e.seq,
		Timestamp:      timestamp,
		SSRC:           e.ssrc,
	}
	n, err := h.MarshalTo(buf)
	if err != nil {
		return 0, fmt.Errorf("media: RTP header: %w", err)
	}
	if n+len(payload) > len(buf) {
		return 0, ErrTooLarge
	}
	n += copy(buf[n:], payload)
	e.seq++
	return n, nil
}

// Port returns the local RTP port (RTCP would be Port()+1).
func (e *Endpoint) Port() int { return e.port }

// LocalAddr returns the bound address and port.
func (e *Endpoint) LocalAddr() netip.AddrPort { return e.local }

// SSRC returns the SSRC of the packets the endpoint sends.
func (e *Endpoint) SSRC() uint32 { return e.ssrc }

// Remote returns where packets are sent: the accepted source, else the
// signalled address (invalid if neither is known).
func (e *Endpoint) Remote() netip.AddrPort { return e.remote.Load().dest() }

// SetRemote records the address signalling (SDP) gave for the peer after a
// (re)negotiation: it forgets the source accepted so far, opens a new
// LearnWindow and starts timeout detection.
func (e *Endpoint) SetRemote(addr netip.AddrPort) {
	now := time.Now()
	e.mu.Lock()
	e.remote.Store(&remoteState{
		signalled: netip.AddrPortFrom(addr.Addr().Unmap(), addr.Port()),
		learnEnd:  now.Add(e.cfg.LearnWindow),
	})
	e.mu.Unlock()
	e.lastRx.Store(now.UnixNano())
	e.negotiated.Store(true)
	e.wakeReader()
}

// SetTimeout changes the timeout (≤ 0 disables it), e.g. while the call is on
// hold.
func (e *Endpoint) SetTimeout(d time.Duration) {
	e.timeout.Store(int64(d))
	e.wakeReader()
}

// wakeReader makes the reader's blocked read return now, so it recomputes
// its deadline. A polled endpoint has no deadline: the sweep reads the new
// values.
func (e *Endpoint) wakeReader() {
	if e.conn != nil {
		_ = e.conn.SetReadDeadline(time.Now())
	}
}

// WriteRTP sends one packet to the remote: the endpoint's SSRC and next
// sequence number, with the caller's payload type, marker bit and timestamp
// (the caller owns the media timeline). The payload is copied into the
// packet, so the caller may reuse it at once. It does not allocate.
func (e *Endpoint) WriteRTP(pt uint8, marker bool, timestamp uint32, payload []byte) error {
	dst := e.remote.Load().dest()
	if !dst.IsValid() {
		return ErrNoRemote
	}
	e.sendMu.Lock()
	defer e.sendMu.Unlock()
	var n int
	var err error
	if e.sock != nil {
		var b [maxDatagram]byte // stays on the stack: sendTo hands the kernel a pointer, it keeps none
		if n, err = e.packet(b[:], pt, marker, timestamp, payload); err != nil {
			return err
		}
		err = e.sock.sendTo(b[:n], dst)
	} else {
		if n, err = e.packet(e.connBuf[:], pt, marker, timestamp, payload); err != nil {
			return err
		}
		_, err = e.conn.WriteToUDPAddrPort(e.connBuf[:n], dst)
	}
	if err != nil {
		e.sendErrors.Add(1)
		return err
	}
	e.packetsOut.Add(1)
	e.bytesOut.Add(uint64(n))
	return nil
}

// Stats returns the counters.
func (e *Endpoint) Stats() EndpointStats {
	return EndpointStats{
		PacketsIn:  e.packetsIn.Load(),
		BytesIn:    e.bytesIn.Load(),
		PacketsOut: e.packetsOut.Load(),
		BytesOut:   e.bytesOut.Load(),
		Foreign:    e.foreign.Load(),
		Malformed:  e.malformed.Load(),
		RTCP:       e.rtcp.Load(),
		Timeouts:   e.timeouts.Load(),
		SendErrors: e.sendErrors.Load(),
	}
}

// Close closes the socket, waits for the reader goroutine to end, or takes
// the endpoint off its poller loop (either way OnPacket and OnTimeout are not
// running and will not run), and returns the port to the allocator. It must
// not be called from OnPacket or OnTimeout. It is safe to call more than
// once.
func (e *Endpoint) Close() error {
	var err error
	e.closeOnce.Do(func() {
		if e.sock != nil {
			err = e.cfg.Poller.remove(e)
		} else {
			err = e.conn.Close()
			<-e.done
		}
		e.ports.release(e.port)
	})
	return err
}

// accept decides on a packet from an address other than the accepted source.
func (e *Endpoint) accept(from netip.AddrPort, now time.Time) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	st := e.remote.Load()
	switch {
	case from == st.accepted:
		return true
	case from == st.signalled,
		!st.accepted.IsValid() && now.Before(st.learnEnd):
		e.remote.Store(&remoteState{signalled: st.signalled, accepted: from, learnEnd: st.learnEnd})
		return true
	}
	return false
}

// read is the reader goroutine.
func (e *Endpoint) read() {
	defer close(e.done)
	buf := make([]byte, maxDatagram)
	var pkt rtp.Packet
	var firedAt int64 = -1 // lastRx when the timeout last fired
	for {
		n, from, err := e.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				firedAt = e.checkTimeout(firedAt)
				continue
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // transient (e.g. ICMP errors on some systems)
		}
		if e.receive(buf[:n], from, &pkt, time.Now()) && firedAt != -1 {
			// Packets resumed after a timeout: arm the deadline again.
			firedAt = -1
			e.armDeadline(e.lastRx.Load())
		}
	}
}

// receive runs one datagram through classification, the source check and
// OnPacket, counting what it drops; it reports whether the packet was
// accepted. It runs on the reader goroutine or the poller loop.
func (e *Endpoint) receive(b []byte, from netip.AddrPort, pkt *rtp.Packet, now time.Time) bool {
	switch parseDatagram(b, pkt) {
	case datagramMalformed:
		e.malformed.Add(1)
		return false
	case datagramRTCP:
		e.rtcp.Add(1)
		return false
	}
	from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
	if from != e.remote.Load().accepted && !e.accept(from, now) {
		e.foreign.Add(1)
		return false
	}
	e.packetsIn.Add(1)
	e.bytesIn.Add(uint64(len(b)))
	e.lastRx.Store(now.UnixNano())
	e.cfg.OnPacket(pkt, now)
	return true
}

type datagramKind uint8

const (
	datagramRTP datagramKind = iota
	datagramRTCP
	datagramMalformed
)

// parseDatagram classifies one received datagram and, for RTP, parses it into
// pkt (whose payload then aliases b). RTCP multiplexed on the port is told
// apart by its packet type (RFC 5761 §4: 192–223 in the second byte).
func parseDatagram(b []byte, pkt *rtp.Packet) datagramKind {
	if len(b) >= maxDatagram || len(b) < 8 || b[0]>>6 != 2 {
		return datagramMalformed
	}
	if pt := b[1]; pt >= 192 && pt <= 223 {
		return datagramRTCP // the smallest RTCP packet is 8 bytes
	}
	if len(b) < 12 {
		return datagramMalformed
	}
	if err := pkt.Unmarshal(b); err != nil {
		return datagramMalformed
	}
	return datagramRTP
}

// checkTimeout runs when the read deadline passed: it fires OnTimeout once per
// silence, or sets the deadline to when the silence would become a timeout.
func (e *Endpoint) checkTimeout(firedAt int64) int64 {
	to := e.timeout.Load()
	last := e.lastRx.Load()
	if to <= 0 || !e.negotiated.Load() {
		_ = e.conn.SetReadDeadline(time.Time{})
		return firedAt
	}
	if last == firedAt {
		_ = e.conn.SetReadDeadline(time.Time{}) // already told; wait for packets
		return firedAt
	}
	if time.Now().UnixNano()-last >= to {
		e.timeouts.Add(1)
		_ = e.conn.SetReadDeadline(time.Time{})
		if e.cfg.OnTimeout != nil {
			e.cfg.OnTimeout()
		}
		return last
	}
	e.armDeadline(last)
	return firedAt
}

func (e *Endpoint) armDeadline(last int64) {
	if to := e.timeout.Load(); to > 0 && e.negotiated.Load() {
		_ = e.conn.SetReadDeadline(time.Unix(0, last+to))
	}
}
