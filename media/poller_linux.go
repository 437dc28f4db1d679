//go:build linux

package media

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/pion/rtp"
	"golang.org/x/sys/unix"
)

// Poller receives RTP for many endpoints without a goroutine per endpoint:
// their sockets are registered in one epoll instance, and at the start of
// every media clock tick, before any room mixes (and once more half-way to
// the next tick, see tick), the Poller asks epoll which
// sockets have data (without blocking) and reads each with one recvmmsg,
// running the datagrams through the same checks and OnPacket as an endpoint's
// own reader goroutine would. The kernel stamps each datagram's arrival
// (SO_TIMESTAMPNS), so OnPacket gets the true arrival time, not the tick's.
// RTP timeouts are found by a sweep of the endpoints every PollerConfig.Sweep.
//
// Why at the tick: the tick is where received audio is consumed (jitter
// buffers are popped by the mix), so reading earlier only moves packets from
// the socket's queue to the jitter buffer's sooner. Reading at the tick costs
// no wakeup at all: no parked goroutine per packet, no netpoller round trip,
// no extra recvfrom returning EAGAIN, no thread waking in epoll_wait (a
// blocking poll loop measured twice the CPU per packet of the goroutines it
// replaced, docs/benchmarks.md). And every packet that arrived before the tick
// is in its jitter buffer when the tick pops it, whatever the scheduler was
// doing. One recvmmsg takes at most recvBatchSize datagrams per socket per
// tick, which also bounds what a flood on one port can cost.
//
// Polled endpoints' sockets are made with the unix package rather than the net
// package, so the Go netpoller does not also watch them; sends go out with
// sendto on the same socket (symmetric RTP needs the port the SDP names).
//
// Endpoints are added by Listen with EndpointConfig.Poller set and removed by
// their Close. The Poller keeps the clock running while it has endpoints.
// Close every endpoint before closing the Poller.
type Poller struct {
	clock      *Clock
	sweepTicks uint64 // sweep for timeouts every this many ticks
	epfd       int

	mu      sync.Mutex
	idle    *sync.Cond // signalled when busy goes back to nil
	eps     map[int32]*Endpoint
	busy    *Endpoint // whose callbacks the poller is running now
	sub     *Subscription
	closed  bool
	closeMu sync.Once

	// drainMu makes the tick's drain and sweep and the half-tick drain take
	// turns; the fields after it are theirs.
	drainMu sync.Mutex
	events  []unix.EpollEvent
	batch   *recvBatch
	pkt     rtp.Packet
	due     []*Endpoint
	ticks   uint64

	half *time.Timer // the half-tick drain
}

// NewPoller makes a Poller on cfg.Clock. The caller must Close it after
// closing its endpoints.
func NewPoller(cfg PollerConfig) (*Poller, error) {
	if cfg.Clock == nil {
		return nil, errors.New("media: a Poller needs a Clock")
	}
	if cfg.Sweep <= 0 {
		cfg.Sweep = DefaultTimeoutSweep
	}
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("media: epoll: %w", err)
	}
	p := &Poller{
		clock:      cfg.Clock,
		sweepTicks: uint64(max(cfg.Sweep/cfg.Clock.period, 1)),
		epfd:       epfd,
		eps:        make(map[int32]*Endpoint),
		events:     make([]unix.EpollEvent, 256),
		batch:      newRecvBatch(),
	}
	p.idle = sync.NewCond(&p.mu)
	return p, nil
}

// Close stops polling and releases the epoll instance. Endpoints still open
// stop receiving (their Close still frees their socket and port). It must not
// be called from a clock tick.
func (p *Poller) Close() error {
	p.closeMu.Do(func() {
		p.mu.Lock()
		p.closed = true
		sub := p.sub
		p.sub = nil
		p.mu.Unlock()
		if sub != nil {
			sub.Stop()
			<-sub.Done()
		}
		p.drainMu.Lock() // a half-tick drain running now finishes first; later ones see closed
		if p.half != nil {
			p.half.Stop()
		}
		_ = unix.Close(p.epfd)
		p.drainMu.Unlock()
	})
	return nil
}

// errPollerClosed is Listen's error for a Poller that was closed.
var errPollerClosed = errors.New("media: RTP poller closed")

// add opens e's socket on a free port and registers it.
func (p *Poller) add(e *Endpoint) error {
	var sock *rawSocket
	port, err := e.ports.acquire(func(port int) error {
		s, err := openRawUDP(e.cfg.IP, port)
		sock = s
		return err
	})
	if err != nil {
		return err
	}
	e.sock, e.port, e.local = sock, port, sock.local
	if err := p.register(e); err != nil {
		_ = unix.Close(sock.fd)
		e.ports.release(port)
		return err
	}
	return nil
}

func (p *Poller) register(e *Endpoint) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return errPollerClosed
	}
	fd := int32(e.sock.fd)
	// Level-triggered: a socket with datagrams left after one recvmmsg is
	// reported again at the next tick.
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: fd}
	if err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, int(fd), &ev); err != nil {
		return fmt.Errorf("media: epoll add: %w", err)
	}
	e.firedAt = -1
	p.eps[fd] = e
	if p.sub == nil {
		p.sub = p.clock.SubscribeFirst(p.tick)
	}
	return nil
}

// remove takes e off the poller (waiting if the poller is running e's
// callbacks right now) and closes its socket. Only after the removal may the
// descriptor be closed: the kernel would hand the number to the next socket
// opened, and a stale registration would deliver that call's packets here.
func (p *Poller) remove(e *Endpoint) error {
	p.mu.Lock()
	fd := int32(e.sock.fd)
	if p.eps[fd] == e {
		delete(p.eps, fd)
		if !p.closed {
			_ = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, int(fd), nil)
		}
		if len(p.eps) == 0 && p.sub != nil {
			p.sub.Stop() // the clock may stop; the next add subscribes again
			p.sub = nil
		}
	}
	for p.busy == e {
		p.idle.Wait()
	}
	p.mu.Unlock()
	return unix.Close(int(fd))
}

// take marks the endpoint registered for fd as busy and returns it (nil if
// none is).
func (p *Poller) take(fd int32) *Endpoint {
	p.mu.Lock()
	e := p.eps[fd]
	p.busy = e
	p.mu.Unlock()
	return e
}

// release ends the busy mark and wakes a remove waiting for it.
func (p *Poller) release() {
	p.mu.Lock()
	p.busy = nil
	p.idle.Broadcast()
	p.mu.Unlock()
}

// tick is the poller's clock subscription: read everything ready, now and
// then sweep for timeouts, and set the half-tick drain.
//
// Why a second drain half-way between ticks: a packet waits in its socket
// until the next drain, and for the mix that costs nothing (the mix takes
// its frame at the tick), but phone voice that goes on to browsers as it is
// read (bridge's voice tap) waits the whole phase, up to 20 ms, which is most
// of the delay the server adds; reading again at the half halves it. It
// costs one more epoll_wait per tick: every datagram is still read once.
func (p *Poller) tick(t Tick) {
	p.drainMu.Lock()
	p.drain()
	p.ticks++
	if p.ticks%p.sweepTicks == 0 {
		p.sweepTimeouts(t.Scheduled.Add(t.Late).UnixNano())
	}
	wait := time.Until(t.Scheduled.Add(p.clock.period / 2))
	if p.half == nil {
		p.half = time.AfterFunc(wait, p.halfDrain)
	} else {
		p.half.Reset(wait)
	}
	p.drainMu.Unlock()
}

// halfDrain is the drain half-way between ticks (see tick), on a timer's
// goroutine.
func (p *Poller) halfDrain() {
	p.drainMu.Lock()
	defer p.drainMu.Unlock()
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if !closed {
		p.drain()
	}
}

// drain reads every socket epoll reports readable. A pass that fills the
// event list may leave ready sockets unreported, so it polls again; the
// number of passes is bounded so that sockets flooded faster than they are
// read cannot hold the tick.
func (p *Poller) drain() {
	p.mu.Lock()
	n := len(p.eps)
	p.mu.Unlock()
	for pass := 0; pass <= n/len(p.events)+1; pass++ {
		ready, err := unix.EpollWait(p.epfd, p.events, 0)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return // EBADF after Close
		}
		for _, ev := range p.events[:ready] {
			if e := p.take(ev.Fd); e != nil {
				p.batch.read(e, &p.pkt)
				p.release()
			}
		}
		if ready < len(p.events) {
			return
		}
	}
}

// sweepTimeouts fires OnTimeout for every endpoint whose silence has reached
// its timeout, once per silence (the same rule as the reader goroutine's
// deadline).
func (p *Poller) sweepTimeouts(now int64) {
	p.mu.Lock()
	for _, e := range p.eps {
		to := e.timeout.Load()
		if to <= 0 || !e.negotiated.Load() {
			continue
		}
		if last := e.lastRx.Load(); last != e.firedAt && now-last >= to {
			p.due = append(p.due, e)
		}
	}
	p.mu.Unlock()
	for i, e := range p.due {
		p.due[i] = nil
		if p.take(int32(e.sock.fd)) != e {
			p.release()
			continue // closed meanwhile
		}
		e.firedAt = e.lastRx.Load()
		e.timeouts.Add(1)
		if e.cfg.OnTimeout != nil {
			e.cfg.OnTimeout()
		}
		p.release()
	}
	p.due = p.due[:0]
}
