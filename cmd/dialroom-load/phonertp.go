package main

import (
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/ipv4"
)

// rtpHeaderLen is a fixed RTP header without CSRCs or extensions (RFC 3550 §5.1).
const rtpHeaderLen = 12

// phoneLeg is the media of one simulated phone: what it sends (written by the
// phone clock goroutine only) and what it received (written by its socket's
// reader goroutine only, read atomically by the coordinator).
type phoneLeg struct {
	room  *phoneRoom
	index int // 0..7 within the room
	sock  *rtpSocket
	call  *sipCall
	dest  netip.AddrPort // the server's RTP port for this call
	addr  *net.UDPAddr   // dest, for sendmmsg
	ssrc  uint32
	seq   uint16
	ts    uint32
	spurt bool // sending the talk tone (marker bit on the first packet)
	// hdr is the leg's RTP header, rewritten per frame (marker, sequence
	// number, timestamp); bufs is the packet as two pieces for the batch
	// write: hdr and the frame's shared, pre-encoded payload.
	hdr  [rtpHeaderLen]byte
	bufs [2][]byte

	live atomic.Bool // answered: the clock sends for it

	// Receive side (the socket's reader): packets, and packets missing by
	// sequence number (RFC 3550 §A.3 style, without reordering tolerance:
	// loopback does not reorder).
	received atomic.Int64
	lost     atomic.Int64
	lastSeq  uint16
	haveSeq  bool
}

// frame returns the leg's next 20 ms packet, header and payload, as the
// pieces of one datagram, and advances its sequence number and timestamp.
// The payload is shared (pre-encoded) and only read.
func (l *phoneLeg) frame(pt byte, payload []byte, marker bool) [][]byte {
	b := l.hdr[:]
	b[0] = 0x80 // version 2
	b[1] = pt   // 0 = PCMU, 9 = G.722
	if marker {
		b[1] |= 0x80
	}
	binary.BigEndian.PutUint16(b[2:], l.seq)
	binary.BigEndian.PutUint32(b[4:], l.ts)
	binary.BigEndian.PutUint32(b[8:], l.ssrc)
	l.seq++
	l.ts += phoneFrame
	l.bufs = [2][]byte{b, payload}
	return l.bufs[:]
}

// rtpSocket is one UDP socket many phone legs share, as a carrier's media
// gateway does: each leg's SDP names this socket's port, and the server's
// packets for a leg come from that leg's own server port, which tells the
// legs apart. One reader goroutine per socket. The phone clock writes each
// tick's packets of the socket's legs in one batch (sendmmsg), so the load
// generator spends one system call per socket and tick instead of one per
// packet. (Reading in batches, recvmmsg through x/net/ipv4, measured twice
// as expensive as one read per packet: the server's packets for one socket
// trickle in over the tick, so batches are small, and x/net allocates an
// address per datagram.)
type rtpSocket struct {
	conn *net.UDPConn
	pc   *ipv4.PacketConn // conn, for batch writes
	port int

	out []ipv4.Message // this tick's packets not yet written; phone clock only

	mu   sync.RWMutex
	legs map[uint16]*phoneLeg // by the server's source port

	foreign atomic.Int64 // packets from a port no leg knows
	closing atomic.Bool
	done    chan struct{}
}

// queue adds l's next packet to the socket's batch and returns the batch's
// length. Only the phone clock calls it.
func (s *rtpSocket) queue(l *phoneLeg, pt byte, payload []byte, marker bool) int {
	s.out = append(s.out, ipv4.Message{Buffers: l.frame(pt, payload, marker), Addr: l.addr})
	return len(s.out)
}

// flush writes the batch (sendmmsg, as often as it takes) and returns how
// many packets could not be written. Only the phone clock calls it.
func (s *rtpSocket) flush() (failed int64) {
	ms := s.out
	for len(ms) > 0 {
		n, err := s.pc.WriteBatch(ms, 0)
		if err != nil {
			// The first message failed; count it and go on with the rest
			// (loopback does not fail for one destination and not others,
			// but a closed socket fails them all, one by one, cheaply).
			failed++
			n = max(n, 1)
		}
		ms = ms[n:]
	}
	clear(s.out) // drop the references to payloads and addresses
	s.out = s.out[:0]
	return failed
}

// newRTPSocket opens a socket on 127.0.0.1 with buffers big enough for a
// burst of a few hundred legs.
func newRTPSocket() (*rtpSocket, error) {
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	_ = conn.SetReadBuffer(4 << 20)
	_ = conn.SetWriteBuffer(4 << 20)
	s := &rtpSocket{conn: conn, pc: ipv4.NewPacketConn(conn), port: conn.LocalAddr().(*net.UDPAddr).Port,
		legs: map[uint16]*phoneLeg{}, done: make(chan struct{})}
	go s.read()
	return s, nil
}

// newLeg returns a leg on this socket.
func (s *rtpSocket) newLeg(r *phoneRoom, index int) *phoneLeg {
	return &phoneLeg{room: r, index: index, sock: s, ssrc: rand.Uint32(), seq: uint16(rand.Uint32()),
		ts: rand.Uint32()}
}

// attach routes the server's packets from dest to l.
func (s *rtpSocket) attach(l *phoneLeg, dest netip.AddrPort) {
	l.dest = dest
	l.addr = net.UDPAddrFromAddrPort(dest)
	s.mu.Lock()
	s.legs[dest.Port()] = l
	s.mu.Unlock()
}

// detach stops counting for l.
func (s *rtpSocket) detach(l *phoneLeg) {
	s.mu.Lock()
	if s.legs[l.dest.Port()] == l {
		delete(s.legs, l.dest.Port())
	}
	s.mu.Unlock()
}

// Close stops the reader.
func (s *rtpSocket) Close() {
	s.closing.Store(true)
	_ = s.conn.Close()
	<-s.done
}

// read counts what the server sends to the socket's legs.
func (s *rtpSocket) read() {
	defer close(s.done)
	buf := make([]byte, 1500)
	for {
		n, from, err := s.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if s.closing.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		s.mu.RLock()
		s.count(buf[:n], from.Port())
		s.mu.RUnlock()
	}
}

// count counts one datagram from the server's port from; s.mu is
// read-locked.
func (s *rtpSocket) count(buf []byte, from uint16) {
	if len(buf) < rtpHeaderLen || buf[0]>>6 != 2 {
		return
	}
	l := s.legs[from]
	if l == nil {
		s.foreign.Add(1)
		return
	}
	seq := binary.BigEndian.Uint16(buf[2:])
	if l.haveSeq {
		if gap := seq - l.lastSeq; gap > 1 && gap < 3000 {
			l.lost.Add(int64(gap - 1))
		}
	}
	l.lastSeq, l.haveSeq = seq, true
	l.received.Add(1)
}

// phoneClock is the one 20 ms loop that sends every phone leg's frame: a
// tone while the leg's turn to talk lasts, quiet noise otherwise. Like a
// real phone, every leg sends every 20 ms whether its user talks or not.
// Talk turns rotate within each room so that one or two phones talk at a
// time (see talkTurn).
type phoneClock struct {
	payloads *loadPayloads
	legs     atomic.Pointer[[]*phoneLeg] // replaced as legs are added
	browsers atomic.Pointer[[]*client]   // browser clients of every room
	tick     atomic.Uint32
	failed   atomic.Int64 // sends that failed
	lagged   atomic.Int64 // ticks sent more than maxLag late (skipped)

	touched []*rtpSocket // sockets with a batch this tick; clock goroutine only
}

// add appends legs and browser clients to what the clock drives.
func (pc *phoneClock) add(legs []*phoneLeg, browsers []*client) {
	var nl []*phoneLeg
	if old := pc.legs.Load(); old != nil {
		nl = append(nl, *old...)
	}
	nl = append(nl, legs...)
	pc.legs.Store(&nl)
	var nb []*client
	if old := pc.browsers.Load(); old != nil {
		nb = append(nb, *old...)
	}
	nb = append(nb, browsers...)
	pc.browsers.Store(&nb)
}

// Talk turns, in ticks: a phone's spurt lasts talkSpurt; a new spurt starts
// in each room every talkEvery, the room's phones taking turns, so one or two
// talk at any time (two during 60% of it).
const (
	talkEvery = 75  // 1.5 s
	talkSpurt = 120 // 2.4 s
)

// talkTurn reports whether leg index of a room with offset talks at tick,
// and whether tick starts its spurt.
func talkTurn(tick uint32, offset uint32, index, phones int) (talking, onset bool) {
	t := tick + offset
	turn := t / talkEvery
	for back := uint32(0); back*talkEvery <= talkSpurt && back <= turn; back++ {
		k := turn - back
		if int(k%uint32(phones)) != index {
			continue
		}
		start := k * talkEvery
		if t < start+talkSpurt {
			return true, t == start
		}
	}
	return false, false
}

// run sends ticks until stop closes.
func (pc *phoneClock) run(stop <-chan struct{}) {
	timer := time.NewTimer(tickInterval)
	defer timer.Stop()
	due := time.Now()
	for {
		due = due.Add(tickInterval)
		if wait := time.Until(due); wait > 0 {
			timer.Reset(wait)
			select {
			case <-stop:
				return
			case <-timer.C:
			}
		} else if -wait > maxLag {
			pc.lagged.Add(int64(-wait / tickInterval))
			due = time.Now()
		}
		k := pc.tick.Load()
		pc.sendTick(k)
		pc.tick.Store(k + 1)
	}
}

// sendTick sends tick k for every live leg and browser. Phone packets go
// out in one batch per socket (sendmmsg), except a talk spurt's first
// packet: its onset time is taken just before it is written in a batch of
// its own, so the latency measured from it starts when the packet leaves,
// as it did with one write per packet.
func (pc *phoneClock) sendTick(k uint32) {
	if legs := pc.legs.Load(); legs != nil {
		for _, l := range *legs {
			if !l.live.Load() {
				continue
			}
			talking, onset := talkTurn(k, l.room.offset, l.index, phonesPerRoom)
			frames := pc.payloads.quiet
			if talking {
				frames = pc.payloads.talk
			}
			payload, marker := frames[int(k)%len(frames)], talking && !l.spurt
			l.spurt = talking
			if onset {
				pc.failed.Add(l.sock.flush())
				l.room.markOnset(time.Now())
				l.sock.queue(l, pc.payloads.pt, payload, marker)
				pc.failed.Add(l.sock.flush())
				continue
			}
			if l.sock.queue(l, pc.payloads.pt, payload, marker) == 1 {
				pc.touched = append(pc.touched, l.sock)
			}
		}
		for _, s := range pc.touched {
			pc.failed.Add(s.flush())
		}
		clear(pc.touched)
		pc.touched = pc.touched[:0]
	}
	if bs := pc.browsers.Load(); bs != nil {
		for _, c := range *bs {
			c.sendTick(k, -1, 0)
		}
	}
}
