package webclient

import (
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
)

// hostCandidates gathers the server's ICE candidates for one peer built from
// cfg and returns their addresses.
func hostCandidates(t *testing.T, cfg WebRTCConfig) []string {
	t.Helper()
	api, closer, err := mediaAPI(cfg, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer closer()
	pc, err := api.newPeerConnection(newRTCPRouter(), &feedbackPace{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio); err != nil {
		t.Fatal(err)
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	select {
	case <-gathered:
	case <-time.After(10 * time.Second):
		t.Fatal("gathering did not complete")
	}
	var addrs []string
	for line := range strings.SplitSeq(pc.LocalDescription().SDP, "\n") {
		// a=candidate:FOUNDATION COMPONENT udp PRIORITY ADDRESS PORT typ host;
		// pion lists component 2 (RTCP) too, on the same socket.
		if f := strings.Fields(line); len(f) > 7 && strings.HasPrefix(f[0], "a=candidate:") && f[1] == "1" {
			addrs = append(addrs, f[4])
		}
	}
	return addrs
}

// webrtc.ice_networks: only this machine's addresses inside the listed
// networks become host candidates.
func TestICENetworks(t *testing.T) {
	all := hostCandidates(t, WebRTCConfig{IncludeLoopback: true})
	only := hostCandidates(t, WebRTCConfig{IncludeLoopback: true, ICENetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	t.Logf("candidates: %v without ice_networks, %v with 127.0.0.1", all, only)
	if len(only) != 1 || only[0] != "127.0.0.1" {
		t.Errorf("with ice_networks [127.0.0.1]: candidates %v, want [127.0.0.1]", only)
	}
	if len(all) < 2 && hasRoutableAddress(t) {
		t.Errorf("without ice_networks: candidates %v, want every interface's (127.0.0.1 and at least one other)", all)
	}
	none := hostCandidates(t, WebRTCConfig{IncludeLoopback: true, ICENetworks: []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}})
	if len(none) != 0 {
		t.Errorf("with ice_networks [198.51.100.0/24] (no such address here): candidates %v, want none", none)
	}
}

// hasRoutableAddress reports whether this machine has an address besides
// loopback and link-local ones, which pion would gather without a filter.
func hasRoutableAddress(t *testing.T) bool {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() {
			return true
		}
	}
	t.Log("no address but loopback here: the unfiltered case shows nothing")
	return false
}
