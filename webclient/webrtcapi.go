package webclient

import (
	"fmt"
	"net"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/logging"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// WebRTCConfig is how the server's peer connections reach browsers.
type WebRTCConfig struct {
	// PublicIPs are announced as extra host candidates (1:1 NAT, e.g. a cloud VM
	// behind an elastic IP); the private addresses stay announced for LAN peers.
	PublicIPs []string
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
}

// Payload types we offer. The numbers match what browsers use, which keeps
// SDP readable in captures; any would do since the server always offers.
const (
	ptOpus = 111
	ptVP8  = 96
)

// mediaAPI builds the pion API shared by every peer connection: Opus and VP8
// only (so forwarded packets never need transcoding between browsers), the RFC
// 6464 audio level extension for the talking indicator, NACK generation and
// response, RTCP reports and TWCC feedback.
// The returned closer releases the shared UDP mux socket, if any.
func mediaAPI(cfg WebRTCConfig) (*webrtc.API, func() error, error) {
	m := &webrtc.MediaEngine{}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: opusCapability(),
		PayloadType:        ptOpus,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, nil, err
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
	ir := &interceptor.Registry{}
	if err := webrtc.ConfigureNack(m, ir); err != nil {
		return nil, nil, err
	}
	if err := webrtc.ConfigureRTCPReports(ir); err != nil {
		return nil, nil, err
	}
	if err := webrtc.ConfigureTWCCSender(m, ir); err != nil {
		return nil, nil, err
	}

	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(cfg.IncludeLoopback)
	// mDNS candidates only help browsers hide their addresses; the server's are
	// not secret and resolving .local names fails in containers.
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6})
	if len(cfg.PublicIPs) > 0 {
		if err := se.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{
			External:        cfg.PublicIPs,
			AsCandidateType: webrtc.ICECandidateTypeHost,
			Mode:            webrtc.ICEAddressRewriteAppend,
		}); err != nil {
			return nil, nil, fmt.Errorf("public IPs: %w", err)
		}
	}
	closer := func() error { return nil }
	switch {
	case cfg.UDPPort != 0:
		conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(cfg.UDPAddr), Port: int(cfg.UDPPort)})
		if err != nil {
			return nil, nil, fmt.Errorf("WebRTC UDP port %d: %w", cfg.UDPPort, err)
		}
		mux := webrtc.NewICEUDPMux(logging.NewDefaultLoggerFactory().NewLogger("ice"), conn)
		se.SetICEUDPMux(mux)
		closer = mux.Close
	case cfg.UDPPortMin != 0 || cfg.UDPPortMax != 0:
		if err := se.SetEphemeralUDPPortRange(cfg.UDPPortMin, cfg.UDPPortMax); err != nil {
			return nil, nil, fmt.Errorf("WebRTC UDP port range: %w", err)
		}
	}
	api := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))
	return api, closer, nil
}

// opusCapability is Opus as browsers send it: in-band FEC on, 10 ms minimum
// packet time (RFC 7587 §7).
func opusCapability() webrtc.RTPCodecCapability {
	return webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2,
		SDPFmtpLine: "minptime=10;useinbandfec=1",
	}
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
