package e2e

import (
	"errors"
	"fmt"
	"net"
	"strconv"
)

// freeLoopbackPort returns the first of n consecutive ports on 127.0.0.1
// that are free for both UDP and TCP at the time of the call. Peers such as
// Kamailio and baresip take a port number, not a socket, so the port is
// released before they bind it: another process could take it in between,
// which the ephemeral range makes unlikely in a test.
func freeLoopbackPort(n int) (int, error) {
	if n < 1 {
		return 0, fmt.Errorf("free port: want at least 1 port, got %d", n)
	}
	var lastErr error
	for range 50 {
		// Let the kernel pick the first port, then check the run after it.
		uc, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("free port: %w", err)
		}
		first := uc.LocalAddr().(*net.UDPAddr).Port
		uc.Close()
		if first+n-1 > 65535 {
			continue
		}
		if lastErr = portsFree(first, n); lastErr == nil {
			return first, nil
		}
	}
	return 0, fmt.Errorf("free port: no %d consecutive free ports found: %w", n, lastErr)
}

// portsFree reports an error if any port in [first, first+n) cannot be bound
// on 127.0.0.1 for UDP or TCP.
func portsFree(first, n int) error {
	var closers []func() error
	defer func() {
		for _, c := range closers {
			c()
		}
	}()
	for p := first; p < first+n; p++ {
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(p))
		uc, err := net.ListenPacket("udp4", addr)
		if err != nil {
			return err
		}
		closers = append(closers, uc.Close)
		tc, err := net.Listen("tcp4", addr)
		if err != nil {
			return err
		}
		closers = append(closers, tc.Close)
	}
	if len(closers) == 0 {
		return errors.New("no ports")
	}
	return nil
}
