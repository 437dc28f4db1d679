package sip

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
)

// DefaultConnsPerAddress is how many SIP connections (TCP and TLS) one
// address may hold open at once when Config.ConnsPerAddress is zero: room
// for an office of desk phones behind one NAT, each keeping its own
// connection, while one scanner's flood of idle connections stops there.
const DefaultConnsPerAddress = 256

// connLimit is a listener that holds at most perAddress accepted
// connections from one address at a time. sipgo gives each connection a
// goroutine and a 64 KiB read buffer for as long as the peer keeps it open,
// so without a cap one host opening connections and leaving them idle holds
// the server's memory without bound (SIP scanners do). A connection over
// the cap is closed as soon as it is accepted, before TLS or SIP, and
// onRefuse is called (on the accepting goroutine) with its address.
//
// For TLS it sits under tls.NewListener, so refused connections cost no
// handshake. Close of a returned connection gives its slot back (once).
type connLimit struct {
	net.Listener
	perAddress int
	onRefuse   func(netip.Addr)

	mu     sync.Mutex
	byAddr map[netip.Addr]int

	refused atomic.Uint64
}

func newConnLimit(l net.Listener, perAddress int, onRefuse func(netip.Addr)) *connLimit {
	if perAddress <= 0 {
		perAddress = DefaultConnsPerAddress
	}
	return &connLimit{Listener: l, perAddress: perAddress, onRefuse: onRefuse, byAddr: make(map[netip.Addr]int)}
}

// Accept returns the next connection within the cap; those over it are
// closed and skipped.
func (l *connLimit) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		addr := netipAddrPort(c.RemoteAddr()).Addr().Unmap()
		l.mu.Lock()
		ok := l.byAddr[addr] < l.perAddress
		if ok {
			l.byAddr[addr]++
		}
		l.mu.Unlock()
		if ok {
			return &limitedConn{Conn: c, limit: l, addr: addr}, nil
		}
		// Counted before the close: whoever sees the connection end may
		// read the count.
		l.refused.Add(1)
		_ = c.Close()
		if l.onRefuse != nil {
			l.onRefuse(addr)
		}
	}
}

func (l *connLimit) release(addr netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.byAddr[addr]--; l.byAddr[addr] <= 0 {
		delete(l.byAddr, addr)
	}
}

// limitedConn gives its slot back on its first Close.
type limitedConn struct {
	net.Conn
	limit *connLimit
	addr  netip.Addr
	once  sync.Once
}

func (c *limitedConn) Close() error {
	c.once.Do(func() { c.limit.release(c.addr) })
	return c.Conn.Close()
}
