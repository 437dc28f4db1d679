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
	ssrc  uint32
	seq   uint16
	ts    uint32
	spurt bool // sending the talk tone (marker bit on the first packet)
	pkt   [rtpHeaderLen + phoneFrame]byte

	live atomic.Bool // answered: the clock sends for it

	// Receive side (the socket's reader): packets, and packets missing by
	// sequence number (RFC 3550 §A.3 style, without reordering tolerance:
	// loopback does not reorder).
	received atomic.Int64
	lost     atomic.Int64
	lastSeq  uint16
	haveSeq  bool
}

// send writes one 20 ms frame.
func (l *phoneLeg) send(payload []byte, marker bool) error {
	b := l.pkt[:]
	b[0] = 0x80 // version 2
	b[1] = 0    // PT 0 = PCMU
	if marker {
		b[1] |= 0x80
	}
	binary.BigEndian.PutUint16(b[2:], l.seq)
	binary.BigEndian.PutUint32(b[4:], l.ts)
	binary.BigEndian.PutUint32(b[8:], l.ssrc)
	copy(b[rtpHeaderLen:], payload)
	l.seq++
	l.ts += phoneFrame
	_, err := l.sock.conn.WriteToUDPAddrPort(b, l.dest)
	return err
}

// rtpSocket is one UDP socket many phone legs share, as a carrier's media
// gateway does: each leg's SDP names this socket's port, and the server's
// packets for a leg come from that leg's own server port, which tells the
// legs apart. One reader goroutine per socket.
type rtpSocket struct {
	conn *net.UDPConn
	port int

	mu   sync.RWMutex
	legs map[uint16]*phoneLeg // by the server's source port

	foreign atomic.Int64 // packets from a port no leg knows
	done    chan struct{}
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
	s := &rtpSocket{conn: conn, port: conn.LocalAddr().(*net.UDPAddr).Port, legs: map[uint16]*phoneLeg{},
		done: make(chan struct{})}
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
	_ = s.conn.Close()
	<-s.done
}

func (s *rtpSocket) read() {
	defer close(s.done)
	buf := make([]byte, 1500)
	for {
		n, from, err := s.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		if n < rtpHeaderLen || buf[0]>>6 != 2 {
			continue
		}
		s.mu.RLock()
		l := s.legs[from.Port()]
		s.mu.RUnlock()
		if l == nil {
			s.foreign.Add(1)
			continue
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

// sendTick sends tick k for every live leg and browser.
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
			if onset {
				l.room.markOnset(time.Now())
			}
			if err := l.send(frames[int(k)%len(frames)], talking && !l.spurt); err != nil {
				pc.failed.Add(1)
			}
			l.spurt = talking
		}
	}
	if bs := pc.browsers.Load(); bs != nil {
		for _, c := range *bs {
			c.sendTick(k, -1, 0)
		}
	}
}
