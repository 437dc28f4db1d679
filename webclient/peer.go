package webclient

import (
	"errors"
	"io"
	"log/slog"
	"strings"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/dialroom/dialroom/bridge"
)

// peer is one browser's RTCPeerConnection acting as a bridge member: it
// publishes the browser's tracks to the room and subscribes to everyone else's
// (an SFU: packets are forwarded, never decoded).
//
// A peer is owned by its session goroutine: every method except the pion
// callbacks runs there. Callbacks reach the session through post.
type peer struct {
	pc     *webrtc.PeerConnection
	rtcp   *rtcpRouter // where RTCP about each forwarded track goes
	pace   *feedbackPace
	member *bridge.Member
	log    *slog.Logger
	signal func(msg any)  // queue a message to the browser; never blocks
	post   func(f func()) // run f on the session goroutine

	subs map[*bridge.Track]*subscription
	// streams maps the MediaStream id of each subscribed track to its member.
	streams map[string]string

	awaitingAnswer bool // an offer is out
	dirty          bool // tracks changed since the last offer
	pendingICE     []webrtc.ICECandidateInit
}

type subscription struct {
	sender      *webrtc.RTPSender
	ssrc        uint32 // the sender's; its RTCP is dropped for audio
	unsubscribe func()
}

// newPeer creates the peer connection with one receive-only audio and one
// receive-only video transceiver, for the browser's microphone and camera.
// The first offer is sent by the first flush.
func newPeer(api *peerAPI, m *bridge.Member, log *slog.Logger, signal func(any), post func(func())) (*peer, error) {
	router, pace := newRTCPRouter(), &feedbackPace{}
	pc, err := api.newPeerConnection(router, pace)
	if err != nil {
		return nil, err
	}
	p := &peer{pc: pc, rtcp: router, pace: pace, member: m, log: log, signal: signal, post: post,
		subs: map[*bridge.Track]*subscription{}, streams: map[string]string{}, dirty: true}
	// The microphone's section offers every audio codec of the media engine,
	// Opus first, so browsers send Opus. G.711 (when phone voice is sent so)
	// must be in this first audio section: pion limits the audio sections
	// added later (each phone leg's track) to the codecs negotiated here.
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
		if _, err := pc.AddTransceiverFromKind(kind, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			_ = pc.Close()
			return nil, err
		}
	}
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c == nil {
			return // end of gathering; browsers do not need to be told
		}
		init := c.ToJSON()
		signal(msgCandidate{Type: "candidate", Candidate: &init})
	})
	pc.OnTrack(p.publish) // pion calls this on a goroutine of its own per track
	return p, nil
}

// publish forwards one of the browser's tracks into the room until the track
// ends. It runs on the goroutine pion started for the track (the one reader).
func (p *peer) publish(remote *webrtc.TrackRemote, receiver *webrtc.RTPReceiver) {
	codec := remote.Codec()
	spec := bridge.TrackSpec{
		Kind: remote.Kind().String(),
		Codec: bridge.Codec{MimeType: codec.MimeType, ClockRate: codec.ClockRate,
			Channels: codec.Channels, SDPFmtpLine: codec.SDPFmtpLine},
		StreamID: p.member.ID(),
	}
	for _, ext := range receiver.GetParameters().HeaderExtensions {
		if ext.URI == sdp.AudioLevelURI {
			spec.AudioLevelExtID = uint8(ext.ID)
		}
	}
	if remote.Kind() == webrtc.RTPCodecTypeVideo {
		p.pace.videoPublished()
		ssrc := uint32(remote.SSRC())
		spec.RequestKeyframe = func() {
			_ = p.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}})
		}
	}
	track := p.member.Publish(spec)
	defer track.Close()
	p.log.Debug("publishing", "kind", spec.Kind, "codec", codec.MimeType, "track", track.ID())
	if spec.RequestKeyframe != nil {
		spec.RequestKeyframe() // start subscribers with a decodable picture
	}
	buf := make([]byte, 1500) // one MTU; WebRTC packets never exceed it
	var pkt rtp.Packet
	for {
		n, _, err := remote.Read(buf)
		if err != nil {
			if !errors.Is(err, io.EOF) {
				p.log.Debug("track read ended", "err", err)
			}
			return
		}
		if pkt.Unmarshal(buf[:n]) != nil {
			continue
		}
		track.WriteRTP(&pkt)
	}
}

// subscribe starts sending another member's track to this browser.
func (p *peer) subscribe(t *bridge.Track) {
	if _, ok := p.subs[t]; ok {
		return
	}
	spec := t.Spec()
	capability := webrtc.RTPCodecCapability{MimeType: spec.Codec.MimeType, ClockRate: spec.Codec.ClockRate,
		Channels: spec.Codec.Channels, SDPFmtpLine: spec.Codec.SDPFmtpLine}
	if strings.EqualFold(spec.Codec.MimeType, webrtc.MimeTypeVP8) {
		capability.RTCPFeedback = vp8Capability().RTCPFeedback
	}
	local, err := webrtc.NewTrackLocalStaticRTP(capability, t.ID(), spec.StreamID)
	if err != nil {
		p.log.Warn("cannot forward track", "track", t.ID(), "err", err)
		return
	}
	tr, err := p.pc.AddTransceiverFromTrack(local, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		p.log.Warn("cannot add track", "track", t.ID(), "err", err)
		return
	}
	if codec, ok := audioCodecParameters(spec.Codec); ok {
		// Offer the track's own codec alone: the audio media engine also
		// knows the other (Opus or G.711), which this track never carries.
		if err := tr.SetCodecPreferences([]webrtc.RTPCodecParameters{codec}); err != nil {
			p.log.Warn("cannot set the track's codec", "track", t.ID(), "err", err)
		}
	}
	sender := tr.Sender()
	s := &subscription{sender: sender}
	if spec.Kind == bridge.KindAudio {
		// Nothing in an audio track's RTCP needs an answer (rtcpbuf.go): drop
		// it on arrival instead of keeping a goroutine per track to read it.
		if enc := sender.GetParameters().Encodings; len(enc) > 0 {
			s.ssrc = uint32(enc[0].SSRC)
			p.rtcp.dropRTCP(s.ssrc)
		}
	}
	if s.ssrc == 0 {
		go readSenderRTCP(sender, t)
	}
	s.unsubscribe = t.Subscribe(local)
	p.subs[t] = s
	p.streams[spec.StreamID] = t.Member().ID()
	p.dirty = true
}

// readSenderRTCP reads the browser's RTCP about a forwarded video track.
// Reading is also what lets the NACK interceptor answer retransmission
// requests. Key frame requests (PLI, FIR) are passed to the publisher. It ends
// when the sender stops.
func readSenderRTCP(sender *webrtc.RTPSender, t *bridge.Track) {
	for {
		pkts, _, err := sender.ReadRTCP()
		if err != nil {
			return
		}
		for _, pkt := range pkts {
			switch pkt.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				t.RequestKeyframe()
			}
		}
	}
}

// unsubscribe stops sending a track that left the room.
func (p *peer) unsubscribe(t *bridge.Track) {
	s, ok := p.subs[t]
	if !ok {
		return
	}
	delete(p.subs, t)
	s.unsubscribe()
	if err := p.pc.RemoveTrack(s.sender); err != nil {
		p.log.Debug("remove track", "err", err)
	}
	if s.ssrc != 0 {
		p.rtcp.forget(s.ssrc)
	}
	p.dirty = true
}

// flush sends a new offer if tracks changed and no offer is outstanding. The
// server is always the offerer, which rules out glare (JSEP §4.1.8).
func (p *peer) flush() {
	if !p.dirty || p.awaitingAnswer || p.pc.ConnectionState() == webrtc.PeerConnectionStateClosed {
		return
	}
	p.dirty = false
	streams := make(map[string]string, len(p.streams))
	for k, v := range p.streams {
		streams[k] = v
	}
	p.signal(msgTracks{Type: "tracks", Streams: streams})
	offer, err := p.pc.CreateOffer(nil)
	if err == nil {
		err = p.pc.SetLocalDescription(offer)
	}
	if err != nil {
		p.log.Warn("cannot create offer", "err", err)
		return
	}
	p.awaitingAnswer = true
	p.signal(msgSDP{Type: "offer", SDP: offer.SDP})
}

// renegotiate sends a new offer, e.g. after the browser added a camera track.
func (p *peer) renegotiate() {
	p.dirty = true
	p.flush()
}

// answer applies the browser's answer.
func (p *peer) answer(sdpText string) error {
	if !p.awaitingAnswer {
		return errState("There is no offer to answer.")
	}
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sdpText}); err != nil {
		return errInvalid("The SDP answer was not accepted: %v", err)
	}
	p.awaitingAnswer = false
	for _, c := range p.pendingICE {
		_ = p.pc.AddICECandidate(c)
	}
	p.pendingICE = nil
	p.flush()
	return nil
}

// candidate applies one of the browser's ICE candidates (trickle ICE).
func (p *peer) candidate(c webrtc.ICECandidateInit) error {
	if p.pc.RemoteDescription() == nil {
		p.pendingICE = append(p.pendingICE, c)
		return nil
	}
	if err := p.pc.AddICECandidate(c); err != nil {
		return errInvalid("The ICE candidate was not accepted: %v", err)
	}
	return nil
}

// close ends the peer connection and every subscription.
func (p *peer) close() {
	for t, s := range p.subs {
		s.unsubscribe()
		delete(p.subs, t)
	}
	_ = p.pc.Close()
}
