//go:build !linux

package media

import (
	"errors"
	"net/netip"
)

// Poller is available on Linux only (epoll); elsewhere NewPoller fails and
// endpoints keep a reader goroutine each.
type Poller struct{}

// ErrNoPoller is NewPoller's error where there is no epoll.
var ErrNoPoller = errors.New("media: the RTP poller needs Linux (epoll)")

// NewPoller fails outside Linux; callers use endpoints without a Poller.
func NewPoller(PollerConfig) (*Poller, error) { return nil, ErrNoPoller }

// Close does nothing.
func (p *Poller) Close() error { return nil }

func (p *Poller) add(*Endpoint) error    { return ErrNoPoller }
func (p *Poller) remove(*Endpoint) error { return nil }

// rawSocket exists only on Linux.
type rawSocket struct{}

func (s *rawSocket) sendTo([]byte, netip.AddrPort) error { return ErrNoPoller }
