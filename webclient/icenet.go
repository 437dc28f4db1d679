package webclient

import (
	"sync"
	"time"

	"github.com/pion/transport/v5"
	"github.com/pion/transport/v5/stdnet"
)

// interfaceRefresh is how old the shared interface list may get before a
// peer's ICE gathering reads it afresh. Addresses change rarely (DHCP, a new
// VPN); a peer created within this long of a change still offers the old
// list, as it would have a moment earlier. One netlink dump per interval
// instead of one per browser.
const interfaceRefresh = 10 * time.Second

// hostNet is the transport.Net every peer's ICE agent uses: the standard
// network, with one list of the machine's interfaces shared by all of them.
// Without it pion builds a stdnet.Net per peer connection, each a netlink
// dump of every interface and address, kept for the peer's life (~7 KiB per
// browser here, more on a host with many addresses: docs/benchmarks.md).
//
// Sockets, dialing and resolving go to the embedded stdnet.Net, which uses
// no interface list for them. Safe for concurrent use.
type hostNet struct {
	*stdnet.Net // sockets, dialers, resolvers

	mu   sync.Mutex
	list *stdnet.Net // the current interface list; replaced whole, never changed
	at   time.Time   // when list was read
	now  func() time.Time
}

var _ transport.Net = (*hostNet)(nil)

// newHostNet reads the interfaces once.
func newHostNet() (*hostNet, error) {
	n, err := stdnet.NewNet()
	if err != nil {
		return nil, err
	}
	return &hostNet{Net: n, list: n, at: time.Now(), now: time.Now}, nil
}

// current returns the interface list, reading it again when it is older
// than interfaceRefresh. A failed read keeps the previous list.
func (h *hostNet) current() *stdnet.Net {
	h.mu.Lock()
	defer h.mu.Unlock()
	if now := h.now(); now.Sub(h.at) >= interfaceRefresh {
		h.at = now
		if n, err := stdnet.NewNet(); err == nil {
			h.list = n
		}
	}
	return h.list
}

// Interfaces returns the machine's interfaces with their addresses.
func (h *hostNet) Interfaces() ([]*transport.Interface, error) {
	return h.current().Interfaces()
}

// InterfaceByIndex returns the interface with that index.
func (h *hostNet) InterfaceByIndex(index int) (*transport.Interface, error) {
	return h.current().InterfaceByIndex(index)
}

// InterfaceByName returns the interface with that name.
func (h *hostNet) InterfaceByName(name string) (*transport.Interface, error) {
	return h.current().InterfaceByName(name)
}
