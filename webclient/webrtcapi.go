package webclient

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/dialroom/dialroom/bridge"
)

// WebRTCConfig is how the server's peer connections reach browsers.
type WebRTCConfig struct {
	// PublicIPs are announced as extra host candidates (1:1 NAT, e.g. a cloud VM
	// behind an elastic IP); the private addresses stay announced for LAN peers.
	PublicIPs []string
	// ICENetworks, when not empty, limit host candidates to this machine's
	// addresses inside them (webrtc.ice_networks). Each candidate costs every
	// browser a socket, a receive goroutine and an 8 KiB buffer in pion.
	ICENetworks []netip.Prefix
	// UDPPortMin and UDPPortMax bound the ports of per-peer ICE sockets (0, 0: any).
	UDPPortMin, UDPPortMax uint16
	// UDPPort, when set, carries every peer on one UDP port (ICE UDP mux): one
	// firewall rule instead of a range.
	UDPPort uint16
	// UDPAddr is the address UDPPort binds; "" means all interfaces.
	UDPAddr string
	// IncludeLoopback offers 127.0.0.1 candidates; needed when browser and server
	// share a machine (tests, a laptop trial).
	IncludeLoopback bool
	// ICEServers are handed to browsers in the hello message (STUN/TURN).
	ICEServers []webrtc.ICEServer
	// PCMU offers G.711 μ-law to browsers, for phone voice when the bridge
	// publishes it so (bridge.PhoneVoicePCMU, webrtc.phone_codec: pcmu).
	PCMU bool
}

// Payload types we offer. The numbers match what browsers use, which keeps
// SDP readable in captures; any would do since the server always offers.
const (
	ptOpus = 111
	ptVP8  = 96
	ptPCMU = 0 // static (RFC 3551 §6)
)

// peerAPI holds what every peer connection shares: the media engine, the
// interceptor registry and the settings. Each peer connection gets an API of
// its own built from them (webrtc.NewAPI only stores pointers and copies the
// settings), because the settings carry a per-peer SRTCP buffer factory
// (rtcpRouter, rtcpbuf.go).
type peerAPI struct {
	media        *webrtc.MediaEngine
	interceptors *interceptor.Registry // shared by every peer; the per-peer ones are added in newPeerConnection
	logs         *pionLogs
	settings     webrtc.SettingEngine
	reports      *senderReports // every peer's RTCP reports (senderreports.go, receiverreports.go)
	feedback     *twccFeedback  // every peer's TWCC feedback (twccfeedback.go)
}

// newPeerConnection creates a peer connection whose decrypted RTCP and RTP go
// to the buffers router hands out.
func (a *peerAPI) newPeerConnection(router *rtcpRouter, pace *feedbackPace) (*webrtc.PeerConnection, error) {
	se := a.settings
	se.BufferFactory = router.buffer
	// The shared interceptors first (innermost: headerOnce parses each
	// packet's header for all), then the peer's RTCP reports and TWCC
	// feedback around them.
	ir := &interceptor.Registry{}
	ir.Add(chainFactory{a.interceptors})
	ir.Add(a.reports.factory(router))
	ir.Add(a.feedback.factory(pace))
	api := webrtc.NewAPI(webrtc.WithMediaEngine(a.media), webrtc.WithInterceptorRegistry(ir),
		webrtc.WithSettingEngine(se))
	return api.NewPeerConnection(webrtc.Configuration{})
}

// nackHistory is how many packets the NACK responder keeps per forwarded
// video track per browser, to answer retransmission requests. pion's default
// is 1,024, a copy of each packet (up to ~1.5 KB) in a ring. A retransmission
// is only useful within a few round trips, before the frame is due; 256
// packets is 2.5 s of 1 Mbit/s VP8 (~100 packets/s).
// BenchmarkVideoSubscriberMemory, heap per subscriber of one video track once
// the ring is full: 1.78 MiB with 1,024, 0.44 MiB with 256. Audio is not
// affected: Opus is offered without nack, and pion's NACK interceptors bind
// only to streams that negotiated it.
const nackHistory = 256

// mediaAPI builds what every peer connection shares: Opus and VP8 from
// browsers (so forwarded packets never need transcoding between browsers),
// with cfg.PCMU also G.711 μ-law, registered after Opus so browsers keep
// sending Opus, for phone voice towards browsers (subscribe offers each
// forwarded track exactly its own codec), the RFC 6464
// audio level extension for the talking indicator, NACK generation and
// response (video only), RTCP reports and TWCC feedback.
// pion's log lines go to log (pionLogs, pionlog.go).
// The returned closer stops the sender reports' and TWCC feedback's
// goroutines and releases the shared UDP mux socket, if any.
// rtt, if not nil, gets the round-trip times to browsers their RTCP tells.
func mediaAPI(cfg WebRTCConfig, log *slog.Logger, rtt func(time.Duration)) (*peerAPI, func() error, error) {
	m := &webrtc.MediaEngine{}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: opusCapability(),
		PayloadType:        ptOpus,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, nil, err
	}
	if cfg.PCMU {
		if err := m.RegisterCodec(webrtc.RTPCodecParameters{
			RTPCodecCapability: pcmuCapability(),
			PayloadType:        ptPCMU,
		}, webrtc.RTPCodecTypeAudio); err != nil {
			return nil, nil, err
		}
	}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: vp8Capability(),
		PayloadType:        ptVP8,
	}, webrtc.RTPCodecTypeVideo); err != nil {
		return nil, nil, err
	}
	if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.AudioLevelURI}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, nil, err
	}
	// The default interceptors minus the stats interceptor: nothing reads its
	// statistics and it cost 8 % of the server's CPU when forwarding for 100
	// participants (docs/benchmarks.md). NACK (retransmissions), RTCP reports
	// and TWCC feedback (browsers' congestion control) stay.
	// The interceptors log through the same factory as the rest of pion
	// (they take it as an option, not from the SettingEngine).
	logs := newPionLogs(log)
	ir := &interceptor.Registry{}
	ir.Add(headerOnceFactory{}) // first: innermost reader (rtpheader.go)
	// As webrtc.ConfigureNackWithOptions, with the NACK generator started
	// only once a browser sends a stream it serves, and the responder made
	// only once we send the browser one (lazyloop.go). RTCP
	// reports come from senderReports below.
	m.RegisterFeedback(webrtc.RTCPFeedback{Type: "nack"}, webrtc.RTPCodecTypeVideo)
	m.RegisterFeedback(webrtc.RTCPFeedback{Type: "nack", Parameter: "pli"}, webrtc.RTPCodecTypeVideo)
	responder, err := nack.NewResponderInterceptor(nack.ResponderSize(nackHistory), nack.WithResponderLoggerFactory(logs))
	if err != nil {
		return nil, nil, err
	}
	generator, err := nack.NewGeneratorInterceptor(nack.WithGeneratorLoggerFactory(logs))
	if err != nil {
		return nil, nil, err
	}
	ir.Add(lazyResponderFactory{responder, nackStream})
	ir.Add(lazyLoopFactory{generator, nackStream})
	// TWCC feedback is registered per peer (newPeerConnection: its interval
	// follows what the browser sends, feedbackpace.go); the media engine
	// offers it for both kinds here, as ConfigureTWCCSender would.
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
		m.RegisterFeedback(webrtc.RTCPFeedback{Type: webrtc.TypeRTCPFBTransportCC}, kind)
		if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.TransportCCURI}, kind); err != nil {
			return nil, nil, err
		}
	}

	se := webrtc.SettingEngine{}
	// One logger factory for every peer, and one logger per scope in it:
	// without it each per-peer API would build its own factory, and pion's
	// default factory builds new loggers for every peer.
	se.LoggerFactory = logs
	hn, err := newHostNet()
	if err != nil {
		return nil, nil, fmt.Errorf("network interfaces: %w", err)
	}
	se.SetNet(hn) // one interface list for every peer (icenet.go)
	se.SetIncludeLoopbackCandidate(cfg.IncludeLoopback)
	// mDNS candidates only help browsers hide their addresses; the server's are
	// not secret and resolving .local names fails in containers.
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6})
	if len(cfg.ICENetworks) > 0 {
		networks := slices.Clone(cfg.ICENetworks)
		se.SetIPFilter(func(ip net.IP) bool { return inNetworks(networks, ip) })
	}
	if len(cfg.PublicIPs) > 0 {
		if err := se.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{
			External:        cfg.PublicIPs,
			AsCandidateType: webrtc.ICECandidateTypeHost,
			Mode:            webrtc.ICEAddressRewriteAppend,
		}); err != nil {
			return nil, nil, fmt.Errorf("public IPs: %w", err)
		}
	}
	// Sender and receiver reports from one goroutine for every peer
	// (senderreports.go, receiverreports.go), not two goroutines per peer
	// as pion's report interceptors run.
	// Started last: every error below stops it again.
	// Registered per peer (newPeerConnection), as TWCC feedback is: each
	// peer's reports are tied to its RTCP buffers.
	senderReports := newSenderReports(rtt)
	feedback := newTWCCFeedback()
	stop := func() {
		senderReports.Close()
		feedback.Close()
	}
	closeMux := func() error { return nil }
	switch {
	case cfg.UDPPort != 0:
		conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(cfg.UDPAddr), Port: int(cfg.UDPPort)})
		if err != nil {
			stop()
			return nil, nil, fmt.Errorf("WebRTC UDP port %d: %w", cfg.UDPPort, err)
		}
		mux := webrtc.NewICEUDPMux(se.LoggerFactory.NewLogger("ice"), conn)
		se.SetICEUDPMux(mux)
		closeMux = mux.Close
	case cfg.UDPPortMin != 0 || cfg.UDPPortMax != 0:
		if err := se.SetEphemeralUDPPortRange(cfg.UDPPortMin, cfg.UDPPortMax); err != nil {
			stop()
			return nil, nil, fmt.Errorf("WebRTC UDP port range: %w", err)
		}
	}
	closer := func() error {
		stop()
		return closeMux()
	}
	return &peerAPI{media: m, interceptors: ir, logs: logs, settings: se, reports: senderReports, feedback: feedback}, closer, nil
}

// opusCapability is Opus as browsers send it: in-band FEC on, 10 ms minimum
// packet time (RFC 7587 §7).
func opusCapability() webrtc.RTPCodecCapability {
	return webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2,
		SDPFmtpLine: "minptime=10;useinbandfec=1",
	}
}

// pcmuCapability is G.711 μ-law, 8 kHz mono (RFC 3551 §4.5.14).
func pcmuCapability() webrtc.RTPCodecCapability {
	return webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000}
}

// audioCodecParameters returns the registered audio codec matching c, the
// one a forwarded audio track is offered with.
func audioCodecParameters(c bridge.Codec) (webrtc.RTPCodecParameters, bool) {
	switch {
	case strings.EqualFold(c.MimeType, webrtc.MimeTypeOpus):
		return webrtc.RTPCodecParameters{RTPCodecCapability: opusCapability(), PayloadType: ptOpus}, true
	case strings.EqualFold(c.MimeType, webrtc.MimeTypePCMU):
		return webrtc.RTPCodecParameters{RTPCodecCapability: pcmuCapability(), PayloadType: ptPCMU}, true
	}
	return webrtc.RTPCodecParameters{}, false
}

// vp8Capability asks for NACK (retransmission), PLI and FIR so forwarded video
// recovers from loss (RFC 4585 §6.3.1, RFC 5104 §4.3.1).
func vp8Capability() webrtc.RTPCodecCapability {
	return webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeVP8, ClockRate: 90000,
		RTCPFeedback: []webrtc.RTCPFeedback{
			{Type: "nack"}, {Type: "nack", Parameter: "pli"}, {Type: "ccm", Parameter: "fir"}, {Type: "goog-remb"},
		},
	}
}

// inNetworks reports whether ip lies in one of networks. pion calls it for
// each interface address while gathering, on the gathering goroutine.
func inNetworks(networks []netip.Prefix, ip net.IP) bool {
	addr, ok := netip.AddrFromSlice(ip)
	if !ok {
		return false
	}
	addr = addr.Unmap()
	for _, n := range networks {
		if n.Contains(addr) {
			return true
		}
	}
	return false
}
