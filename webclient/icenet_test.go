package webclient

import (
	"testing"
	"time"
)

// TestHostNet: every caller shares one interface list, which is read again
// only once it is interfaceRefresh old.
func TestHostNet(t *testing.T) {
	h, err := newHostNet()
	if err != nil {
		t.Fatal(err)
	}
	now := h.at
	h.now = func() time.Time { return now }

	first := h.current()
	ifs, err := h.Interfaces()
	if err != nil || len(ifs) == 0 {
		t.Fatalf("Interfaces: %d, %v; want the loopback interface at least", len(ifs), err)
	}
	lo, err := h.InterfaceByName(ifs[0].Name)
	if err != nil || lo.Index != ifs[0].Index {
		t.Fatalf("InterfaceByName(%q): %v, %v", ifs[0].Name, lo, err)
	}
	if byIndex, err := h.InterfaceByIndex(ifs[0].Index); err != nil || byIndex.Name != ifs[0].Name {
		t.Fatalf("InterfaceByIndex(%d): %v, %v", ifs[0].Index, byIndex, err)
	}

	now = now.Add(interfaceRefresh - time.Millisecond)
	if h.current() != first {
		t.Fatal("the list was read again before it was interfaceRefresh old")
	}
	now = now.Add(time.Millisecond)
	if h.current() == first {
		t.Fatal("the list was not read again once interfaceRefresh old")
	}
}
