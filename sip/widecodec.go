package sip

import (
	"fmt"
	"strings"

	"github.com/dialroom/dialroom/bridge"
	"github.com/dialroom/dialroom/dialplan"
	"github.com/dialroom/dialroom/media"
	"github.com/pion/rtp"
)

// Wideband calls. A call into a conference whose offer lists G.722 (RFC
// 3551 §4.5.2) or Opus (RFC 7587) before G.711 is answered with it (from a
// trunk only if the trunk's codecs allow it, below): desk phones and
// softphones (the operator's, typically) offer one of them first, and
// HD-voice trunks offer G.722. The leg then works at 16 kHz and its
// room mixes at 16 kHz while it is there (bridge.PhoneWideband), so the
// softphone and the browsers hear each other up to 7–8 kHz instead of the
// telephone band's 3.4. Dial-out offers the trunk's codecs in its order
// (dialout_sdp.go); extension calls carry G.722 between a wideband caller
// and softphone, passed through or transcoded by the relay
// (extension_media.go, extension_fork.go); late offers (our offer in the
// 200) stay G.711, which every carrier takes.
//
// Opus runs at 16 kHz here, not 48: the room mixes at 16 kHz at most (the
// phone side's cost, MEDIA-COSTS.md), and our answer tells the far end so
// (maxplaybackrate, sprop-maxcapturerate).

// Wideband codec names, as wideFormat.name and as a trunk's codecs list
// them (dialplan.Trunk.Codecs).
const (
	wideG722 = "G722"
	wideOpus = "opus"
)

// Who may get a wideband call: an operator's softphone always (it is the
// conference's host, and its user chose the codecs it offers); a trunk's
// calls only with the codecs its dialplan entry lists (dialplan.Trunk.Codecs,
// default PCMU and PCMA), so that an HD-voice carrier is the admin's choice
// and costs what the admin expects (a wideband leg decodes and encodes
// G.722 or Opus, and its room mixes at 16 kHz: docs/benchmarks.md).
func softphoneCodecs() codecChoice { return codecChoice{g722: true, opus: true} }

// trunkCodecChoice is what a trunk's calls into a conference may use.
func trunkCodecChoice(t *dialplan.Trunk) codecChoice {
	var c codecChoice
	if t == nil {
		return c
	}
	for _, name := range t.Codecs {
		switch {
		case strings.EqualFold(name, wideG722):
			c.g722 = true
		case strings.EqualFold(name, wideOpus):
			c.opus = true
		}
	}
	return c
}

// wideFormat is a wideband codec negotiated for a call: its name and
// payload type. The zero value means the call is G.711.
type wideFormat struct {
	name string
	pt   uint8
}

// opusFmtp is what we say about Opus in offers and answers (RFC 7587
// §6.1): we mix and send at 16 kHz, so the far end's encoder need not spend
// bits above 8 kHz, and we ask for in-band FEC.
const opusFmtp = "maxplaybackrate=16000;sprop-maxcapturerate=16000;useinbandfec=1"

// rtpClock is the codec's RTP clock rate (8000 for G.711 and, by RFC 3551's
// historical error, for G.722; 48000 for Opus whatever it samples at).
func (w wideFormat) rtpClock() int {
	if w.name == wideOpus {
		return 48000
	}
	return 8000
}

// ticksPerFrame is the RTP timestamp advance of one 20 ms frame.
func (w wideFormat) ticksPerFrame() uint32 { return uint32(w.rtpClock() / 50) }

// codecName names the offer's chosen codec, for logs.
func (o offer) codecName() string {
	if o.Wide.name != "" {
		return o.Wide.name
	}
	return o.Codec.String()
}

// rtpClock is the clock of the offer's chosen codec.
func (o offer) rtpClock() int { return o.Wide.rtpClock() }

// maxG711Payload is the largest G.711 payload a narrowband leg keeps: 60 ms,
// the longest packet time phones use. Larger packets are dropped (and
// counted) by the jitter buffer; the leg's buffers are sized to it, not to
// the largest Opus packet.
const maxG711Payload = 480

// jitterConfig is the configuration of the leg's jitter buffer.
func (o offer) jitterConfig() media.JitterConfig {
	cfg := media.JitterConfig{ClockRate: o.rtpClock()}
	if o.Wide.name == "" {
		cfg.MaxPayload = maxG711Payload
	}
	return cfg
}

// widebandOpus is the leg's encoder for Opus to a softphone: 16 kHz, the
// media default complexity (one leg per softphone call: quality first),
// in-band FEC for lossy Wi-Fi.
func widebandOpus() media.OpusEncoderConfig {
	return media.OpusEncoderConfig{Rate: 16000, Complexity: media.DefaultOpusComplexity, FEC: true, PacketLossPercent: 5}
}

// wideCodec is the codec state of one direction of a wideband leg: an
// encoder (what the caller hears; under the leg's sendMu) or a decoder (what
// the caller says, decoded once as each packet arrives, on the receive
// goroutine).
type wideCodec struct {
	format wideFormat
	g722e  *media.G722Encoder
	g722d  *media.G722Decoder
	opusE  *media.OpusEncoder
	opusD  *media.OpusDecoder
}

// newWideEncoder returns the encoder of format f.
func newWideEncoder(f wideFormat) (*wideCodec, error) {
	w := &wideCodec{format: f}
	switch f.name {
	case wideG722:
		w.g722e = media.NewG722Encoder()
	case wideOpus:
		var err error
		if w.opusE, err = media.NewOpusEncoder(widebandOpus()); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("sip: no wideband codec %q", f.name)
	}
	return w, nil
}

// newWideDecoder returns the decoder of format f. A wideband leg decodes
// every packet once, as it arrives (sip/leg.go onPacket): the PCM goes into
// the jitter buffer for the mix and to the voice tap for the browsers.
func newWideDecoder(f wideFormat) (*wideCodec, error) {
	w := &wideCodec{format: f}
	switch f.name {
	case wideG722:
		w.g722d = media.NewG722Decoder()
	case wideOpus:
		var err error
		if w.opusD, err = media.NewOpusDecoder(16000); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("sip: no wideband codec %q", f.name)
	}
	return w, nil
}

// decodeAll decodes one packet of any length (up to len(dst) samples) into
// dst and returns the samples written; 0 when it could not.
func (w *wideCodec) decodeAll(dst []int16, payload []byte) int {
	if w.g722d != nil {
		if 2*len(payload) > len(dst) {
			return 0
		}
		return w.g722d.Decode(dst, payload)
	}
	n, err := w.opusD.Decode(dst, payload)
	if err != nil {
		return 0
	}
	return n
}

// ts16 converts an RTP timestamp of the codec's clock to 16 kHz units.
func (w wideFormat) ts16(ts uint32) uint32 {
	if w.name == wideOpus {
		return ts / 3 // 48000 → 16000 (a wrap, every 25 h, reads as a restart)
	}
	return ts * 2 // 8000 → 16000 (G.722's RTP clock)
}

// encode encodes one 20 ms frame of 16 kHz PCM into dst; 0 when it could
// not (the frame is then not sent).
func (w *wideCodec) encode(dst []byte, pcm []int16) int {
	if w.g722e != nil {
		return w.g722e.Encode(dst, pcm)
	}
	n, err := w.opusE.Encode(dst, pcm)
	if err != nil {
		return 0
	}
	return n
}

// wideRx is a wideband leg's receive side: each packet decoded once as it
// arrives (dec into pcm, up to 60 ms), and the PCM as the packet pushed
// into the jitter buffer (pkt, little-endian samples in pcmBuf). The
// receive goroutine's.
type wideRx struct {
	dec    *wideCodec
	pcm    [960]int16
	pcmBuf [2 * bridge.WidebandFrameSamples]byte
	pkt    rtp.Packet
}

// upsampled plays an 8 kHz source (a prompt, a confirmation tone) to a
// wideband leg at 16 kHz. Read on the leg's tick only.
type upsampled struct {
	src media.Source
	up  *media.Upsampler2
	buf [bridge.PhoneFrameSamples]int16
}

func newUpsampled(src media.Source) *upsampled {
	return &upsampled{src: src, up: media.NewUpsampler2()}
}

func (u *upsampled) Read(dst []int16) (int, error) {
	n, err := u.src.Read(u.buf[:min(len(dst)/2, len(u.buf))])
	return u.up.Upsample(dst, u.buf[:n]), err
}
