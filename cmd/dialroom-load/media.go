package main

import (
	"crypto/rand"
	"sync/atomic"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// What the simulated browsers send. Payloads are random bytes behind a real
// codec byte: the SFU forwards without decoding, so only sizes and rates
// matter to its cost.
const (
	kindAudio = "audio"
	kindVideo = "video"

	// Opus at 20 ms frames, as browsers send it: 50 packets/s.
	opusTicksPerFrame = 960 // 48 kHz RTP clock × 20 ms (RFC 7587 §4.1)
	// opusTOC is an Opus table-of-contents byte: config 15 (hybrid,
	// full band, 20 ms), mono, one frame (RFC 6716 §3.1).
	opusTOC = 0x78
	// minAudioPayload and maxAudioPayload bound an Opus packet; speech at the
	// 32–48 kbit/s browsers use is 80–120 bytes per 20 ms.
	minAudioPayload = 80
	maxAudioPayload = 120

	// RFC 6464 §3 audio levels in -dBov: speech around 30 with the voice
	// activity bit set, digital silence 127 without it. The server counts a
	// member as talking below 60.
	audioLevelTalking = 0x80 | 30
	audioLevelSilent  = 127

	// Video: one VP8-sized frame per 20 ms tick in videoParts packets of
	// videoPayload bytes, 50 × 2 × 1,200 × 8 ≈ 0.96 Mbit/s of payload.
	vp8TicksPerFrame = 1800 // 90 kHz × 20 ms
	videoParts       = 2
	videoPayload     = 1200
	// vp8Start is a VP8 payload descriptor with S set: start of a partition (RFC 7741 §4.2).
	vp8Start = 0x10
)

// partsOf returns the packets per tick of a kind.
func partsOf(kind string) int {
	if kind == kindVideo {
		return videoParts
	}
	return 1
}

// outStream is one RTP stream a client sends. The pacer goroutine owns pkt and
// payload; extID is set by the client's reader once the answer is applied.
type outStream struct {
	kind    string
	track   *webrtc.TrackLocalStaticRTP
	sender  *webrtc.RTPSender
	extID   atomic.Uint32 // negotiated RFC 6464 extension id; 0 until known
	pkt     rtp.Packet
	level   [1]byte
	payload []byte
	sent    []atomic.Int64 // packets written per window
	failed  atomic.Int64   // writes that returned an error
}

// newOutStream returns a stream with a payload buffer of random bytes.
func newOutStream(kind string, windows int) *outStream {
	size := maxAudioPayload
	if kind == kindVideo {
		size = videoPayload
	}
	s := &outStream{kind: kind, payload: make([]byte, size), sent: make([]atomic.Int64, windows)}
	_, _ = rand.Read(s.payload) // crypto/rand never fails on Linux
	s.pkt.Version = 2
	s.pkt.SequenceNumber = uint16(s.payload[payloadHeader])<<8 | uint16(s.payload[payloadHeader+1])
	return s
}

// attach adds the stream's track to a peer connection and starts reading the
// sender's RTCP, which is what lets the NACK interceptor answer
// retransmission requests. The reader ends when the peer connection closes.
func (s *outStream) attach(pc *webrtc.PeerConnection, streamID string) error {
	capability := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}
	if s.kind == kindVideo {
		capability = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}
	}
	track, err := webrtc.NewTrackLocalStaticRTP(capability, s.kind, streamID)
	if err != nil {
		return err
	}
	sender, err := pc.AddTrack(track)
	if err != nil {
		return err
	}
	s.track, s.sender = track, sender
	go func() {
		buf := make([]byte, 1500)
		for {
			if _, _, err := sender.Read(buf); err != nil {
				return
			}
		}
	}()
	return nil
}

// writeAudio sends one Opus-sized packet of size payload bytes carrying level.
func (s *outStream) writeAudio(tick uint32, win int, level uint8, size int) {
	p := &s.pkt
	p.SequenceNumber++
	p.Timestamp = tick * opusTicksPerFrame
	if id := s.extID.Load(); id != 0 {
		s.level[0] = level
		_ = p.Header.SetExtension(uint8(id), s.level[:]) // one byte, id 1–14: always valid
	}
	p.Payload = s.payload[:size]
	p.Payload[0] = opusTOC
	putStamp(p.Payload, tick, 0)
	s.write(win)
}

// writeFrame sends one prepared audio payload as it is (no stamp).
func (s *outStream) writeFrame(tick uint32, level uint8, payload []byte) {
	p := &s.pkt
	p.SequenceNumber++
	p.Timestamp = tick * opusTicksPerFrame
	if id := s.extID.Load(); id != 0 {
		s.level[0] = level
		_ = p.Header.SetExtension(uint8(id), s.level[:])
	}
	p.Payload = payload
	s.write(-1)
}

// writeVideo sends one VP8-sized frame.
func (s *outStream) writeVideo(tick uint32, win int) {
	p := &s.pkt
	p.Timestamp = tick * vp8TicksPerFrame
	p.Payload = s.payload
	for part := range videoParts {
		p.SequenceNumber++
		p.Marker = part == videoParts-1 // RFC 7741 §4.1: last packet of the frame
		p.Payload[0] = 0
		if part == 0 {
			p.Payload[0] = vp8Start
		}
		putStamp(p.Payload, tick, uint8(part))
		s.write(win)
	}
}

func (s *outStream) write(win int) {
	if err := s.track.WriteRTP(&s.pkt); err != nil {
		s.failed.Add(1)
		return
	}
	if win >= 0 {
		s.sent[win].Add(1)
	}
}

// streamKey names a remote stream: the sending member and the media kind.
type streamKey struct{ member, kind string }

// streamCount counts what a client received of one remote stream. The
// stream's reader goroutine writes it; the coordinator reads it at the end.
type streamCount struct {
	windows []atomic.Int64 // distinct packets per window
	dups    atomic.Int64   // packets seen twice (retransmissions)
	foreign atomic.Int64   // packets without our stamp
}

func newStreamCount(windows int) *streamCount {
	return &streamCount{windows: make([]atomic.Int64, windows)}
}
