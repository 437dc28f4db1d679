//go:build linux

package media

import (
	"errors"
	"fmt"
	"net/netip"
	"time"
	"unsafe"

	"github.com/pion/rtp"
	"golang.org/x/sys/unix"
)

// rawSocket is a polled endpoint's non-blocking UDP socket, outside the Go
// netpoller. The Poller's loop reads it; WriteRTP sends on it.
type rawSocket struct {
	fd    int
	v6    bool // AF_INET6 (dual-stack when bound to every address): IPv4 peers are v4-mapped
	local netip.AddrPort
}

// openRawUDP binds a non-blocking UDP socket to ip:port that stamps each
// datagram with its arrival time; the zero ip binds every address, dual-stack
// where the host has IPv6 (as the net package does for "udp").
func openRawUDP(ip netip.Addr, port int) (*rawSocket, error) {
	s, err := bindRawUDP(ip, port)
	if err != nil {
		return nil, err
	}
	if err := unix.SetsockoptInt(s.fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
		_ = unix.Close(s.fd)
		return nil, fmt.Errorf("media: SO_TIMESTAMPNS: %w", err)
	}
	return s, nil
}

func bindRawUDP(ip netip.Addr, port int) (*rawSocket, error) {
	const flags = unix.SOCK_DGRAM | unix.SOCK_NONBLOCK | unix.SOCK_CLOEXEC
	ip = ip.Unmap()
	if !ip.IsValid() {
		fd, err := unix.Socket(unix.AF_INET6, flags, unix.IPPROTO_UDP)
		if err == nil {
			if err = unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 0); err == nil {
				err = unix.Bind(fd, &unix.SockaddrInet6{Port: port})
			}
			if err != nil {
				_ = unix.Close(fd)
				return nil, fmt.Errorf("media: bind [::]:%d: %w", port, err)
			}
			return &rawSocket{fd: fd, v6: true, local: netip.AddrPortFrom(netip.IPv6Unspecified(), uint16(port))}, nil
		}
		if !errors.Is(err, unix.EAFNOSUPPORT) {
			return nil, fmt.Errorf("media: UDP socket: %w", err)
		}
		ip = netip.IPv4Unspecified() // a host without IPv6
	}
	family := unix.AF_INET
	var sa unix.Sockaddr = &unix.SockaddrInet4{Port: port, Addr: ip.As4()}
	if ip.Is6() {
		family = unix.AF_INET6
		sa = &unix.SockaddrInet6{Port: port, Addr: ip.As16()}
	}
	fd, err := unix.Socket(family, flags, unix.IPPROTO_UDP)
	if err != nil {
		return nil, fmt.Errorf("media: UDP socket: %w", err)
	}
	if err := unix.Bind(fd, sa); err != nil {
		_ = unix.Close(fd)
		return nil, fmt.Errorf("media: bind %v: %w", netip.AddrPortFrom(ip, uint16(port)), err)
	}
	return &rawSocket{fd: fd, v6: family == unix.AF_INET6, local: netip.AddrPortFrom(ip, uint16(port))}, nil
}

// sendTo sends one datagram without blocking: a full socket buffer drops it
// (EAGAIN), which for real-time media is better than a late packet. It does
// not allocate: the address is built on the stack.
func (s *rawSocket) sendTo(b []byte, dst netip.AddrPort) error {
	if len(b) == 0 {
		return nil
	}
	var errno unix.Errno
	if s.v6 {
		var sa unix.RawSockaddrInet6
		sa.Family = unix.AF_INET6
		putPort(&sa.Port, dst.Port())
		sa.Addr = dst.Addr().As16() // IPv4 as ::ffff:a.b.c.d on the dual-stack socket
		_, _, errno = unix.RawSyscall6(unix.SYS_SENDTO, uintptr(s.fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)),
			unix.MSG_DONTWAIT, uintptr(unsafe.Pointer(&sa)), unix.SizeofSockaddrInet6)
	} else {
		a := dst.Addr().Unmap()
		if !a.Is4() {
			return fmt.Errorf("media: send to %v from an IPv4 socket: %w", dst, unix.EAFNOSUPPORT)
		}
		var sa unix.RawSockaddrInet4
		sa.Family = unix.AF_INET
		putPort(&sa.Port, dst.Port())
		sa.Addr = a.As4()
		_, _, errno = unix.RawSyscall6(unix.SYS_SENDTO, uintptr(s.fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)),
			unix.MSG_DONTWAIT, uintptr(unsafe.Pointer(&sa)), unix.SizeofSockaddrInet4)
	}
	if errno != 0 {
		return fmt.Errorf("media: sendto %v: %w", dst, errno)
	}
	return nil
}

// putPort stores a port in a sockaddr's network-byte-order field.
func putPort(field *uint16, port uint16) {
	b := (*[2]byte)(unsafe.Pointer(field))
	b[0], b[1] = byte(port>>8), byte(port)
}

func getPort(field *uint16) uint16 {
	b := (*[2]byte)(unsafe.Pointer(field))
	return uint16(b[0])<<8 | uint16(b[1])
}

// recvBatchSize is how many datagrams one recvmmsg may take from a socket in
// one tick. A phone sends one packet per 20 ms, so more than one is queued
// only after a stall or a burst; 16 clears such a backlog at once, and more
// than that waits for the next tick (a flood cannot hold the tick).
const recvBatchSize = 16

// timestampSpace is the control buffer for one SCM_TIMESTAMPNS message.
var timestampSpace = unix.CmsgSpace(int(unsafe.Sizeof(unix.Timespec{})))

// recvBatch is the Poller's receive buffers and the recvmmsg headers pointing
// into them, set up once. Only the clock goroutine uses it.
type recvBatch struct {
	msgs  [recvBatchSize]unix.Mmsghdr
	iovs  [recvBatchSize]unix.Iovec
	names [recvBatchSize]unix.RawSockaddrInet6 // large enough for IPv4 too
	oob   [recvBatchSize][64]byte
	bufs  [recvBatchSize][maxDatagram]byte
}

func newRecvBatch() *recvBatch {
	b := new(recvBatch)
	for i := range b.msgs {
		b.iovs[i].Base = &b.bufs[i][0]
		b.iovs[i].SetLen(maxDatagram)
		b.msgs[i].Hdr.Iov = &b.iovs[i]
		b.msgs[i].Hdr.SetIovlen(1)
		b.msgs[i].Hdr.Name = (*byte)(unsafe.Pointer(&b.names[i]))
		b.msgs[i].Hdr.Control = &b.oob[i][0]
	}
	return b
}

// read takes what one recvmmsg returns from e's socket and hands each
// datagram to e.receive with its kernel arrival time. Errors (EAGAIN, or a
// pending ICMP error such as ECONNREFUSED, which the read clears) are ignored:
// the next readiness brings the next packet.
func (b *recvBatch) read(e *Endpoint, pkt *rtp.Packet) {
	for i := range b.msgs {
		b.msgs[i].Hdr.Namelen = unix.SizeofSockaddrInet6
		b.msgs[i].Hdr.SetControllen(timestampSpace)
		b.msgs[i].Hdr.Flags = 0
		b.msgs[i].Len = 0
	}
	r, _, errno := unix.RawSyscall6(unix.SYS_RECVMMSG, uintptr(e.sock.fd), uintptr(unsafe.Pointer(&b.msgs[0])), recvBatchSize,
		unix.MSG_DONTWAIT, 0, 0)
	if errno != 0 {
		return
	}
	var now time.Time // for a datagram without a timestamp, taken once
	for i := range int(r) {
		m := &b.msgs[i]
		n := int(m.Len)
		if m.Hdr.Flags&unix.MSG_TRUNC != 0 {
			n = maxDatagram // longer than the buffer: counted as malformed
		}
		at, ok := b.arrival(i)
		if !ok {
			if now.IsZero() {
				now = time.Now()
			}
			at = now
		}
		e.receive(b.bufs[i][:n], b.source(i), pkt, at)
	}
}

// arrival returns the kernel's receive time of datagram i (SO_TIMESTAMPNS).
func (b *recvBatch) arrival(i int) (time.Time, bool) {
	m := &b.msgs[i].Hdr
	if m.Controllen < uint64(unix.CmsgLen(int(unsafe.Sizeof(unix.Timespec{})))) {
		return time.Time{}, false
	}
	h := (*unix.Cmsghdr)(unsafe.Pointer(&b.oob[i][0]))
	if h.Level != unix.SOL_SOCKET || h.Type != unix.SCM_TIMESTAMPNS {
		return time.Time{}, false
	}
	ts := (*unix.Timespec)(unsafe.Pointer(&b.oob[i][unix.CmsgLen(0)]))
	return time.Unix(ts.Sec, ts.Nsec), true
}

// source decodes the sender address recvmmsg stored for datagram i.
func (b *recvBatch) source(i int) netip.AddrPort {
	sa := &b.names[i]
	switch sa.Family {
	case unix.AF_INET6:
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr).Unmap(), getPort(&sa.Port))
	case unix.AF_INET:
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		return netip.AddrPortFrom(netip.AddrFrom4(sa4.Addr), getPort(&sa4.Port))
	}
	return netip.AddrPort{}
}
