package main

import (
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/dialroom/dialroom/webclient"
)

// Payload types a browser would use. The server offers and picks its own; the
// answer follows the offer, so these only matter for matching codecs.
const (
	ptOpus = 111
	ptVP8  = 96
)

// newClientAPI builds the pion API every simulated browser shares.
//
// Like a browser it speaks Opus (and G.711 μ-law) and VP8, sends the RFC 6464 audio level
// extension (the server's talking indicator reads it) and transport-wide
// sequence numbers (so the server does the TWCC feedback work browsers cause),
// answers NACKs for video and sends RTCP receiver and sender reports. It skips
// pion's stats interceptor: browsers keep statistics too, but their cost is not
// the server's and would only take CPU from the machine being measured.
//
// ICE gathers and accepts loopback candidates only, UDP, no mDNS: the load
// never leaves this machine.
func newClientAPI() (*webrtc.API, error) {
	m := &webrtc.MediaEngine{}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2,
			SDPFmtpLine: "minptime=10;useinbandfec=1",
		},
		PayloadType: ptOpus,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, err
	}
	// G.711 μ-law after Opus, as browsers have it: a server with
	// phone_codec pcmu sends phone voice in it.
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000},
		PayloadType:        0,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, err
	}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeVP8, ClockRate: 90000,
			RTCPFeedback: []webrtc.RTCPFeedback{
				{Type: "nack"}, {Type: "nack", Parameter: "pli"}, {Type: "ccm", Parameter: "fir"},
				{Type: "goog-remb"}, {Type: "transport-cc"},
			},
		},
		PayloadType: ptVP8,
	}, webrtc.RTPCodecTypeVideo); err != nil {
		return nil, err
	}
	if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.AudioLevelURI},
		webrtc.RTPCodecTypeAudio); err != nil {
		return nil, err
	}
	ir := &interceptor.Registry{}
	// As the server does: each received packet's header parsed once for
	// the interceptors below, not once per interceptor with a fresh
	// allocation each (the load generator shares the machine's CPUs).
	ir.Add(webclient.HeaderOnceInterceptor())
	if err := webrtc.ConfigureNack(m, ir); err != nil {
		return nil, err
	}
	if err := webrtc.ConfigureRTCPReports(ir); err != nil {
		return nil, err
	}
	if err := webrtc.ConfigureTWCCHeaderExtensionSender(m, ir); err != nil {
		return nil, err
	}

	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(isLoopbackIP)
	se.SetRemoteIPFilter(isLoopbackIP)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6})
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir),
		webrtc.WithSettingEngine(se)), nil
}
