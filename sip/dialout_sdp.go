package sip

import (
	"strconv"
	"strings"

	"github.com/dialroom/dialroom/dialplan"
	"github.com/dialroom/dialroom/media"
	"github.com/pion/sdp/v3"
)

// dialoutDTMF is the payload type we offer telephone-event/8000 on (RFC 4733
// §7.1.1); 101 is what most phones and carriers use, which keeps traces
// familiar.
const dialoutDTMF = 101

// dialoutOpusPT is the dynamic payload type we offer Opus on (RFC 7587 §7;
// 111 is what browsers and most softphones use).
const dialoutOpusPT = 111

// offerFormat is one codec of an offer of ours: a G.711 law, or a wideband
// format when wide.name is set.
type offerFormat struct {
	law  media.G711
	wide wideFormat
}

// addTo adds f to md's formats with its rtpmap (and fmtp): G.722's RTP
// clock is 8000 (RFC 3551 §4.5.2), Opus's always 48000/2 (RFC 7587 §7).
func (f offerFormat) addTo(md *sdp.MediaDescription) {
	switch f.wide.name {
	case wideG722:
		md.WithCodec(f.wide.pt, "G722", 8000, 0, "")
	case wideOpus:
		md.WithCodec(f.wide.pt, "opus", 48000, 2, opusFmtp)
	default:
		md.WithCodec(f.law.PayloadType(), f.law.String(), media.G711Rate, 0, "")
	}
}

// g711Formats are laws as offer formats.
func g711Formats(laws ...media.G711) []offerFormat {
	out := make([]offerFormat, len(laws))
	for i, l := range laws {
		out[i] = offerFormat{law: l}
	}
	return out
}

// trunkCodecs returns a trunk's codecs list as offer formats, in its order:
// the G.711 laws, and G.722 and Opus (wideband: the callee then joins the
// room at 16 kHz, widecodec.go). A list without either G.711 law still
// offers PCMU then PCMA after its wideband codecs, which every carrier takes.
func trunkCodecs(t *dialplan.Trunk) []offerFormat {
	var out []offerFormat
	g711 := false
	for _, name := range t.Codecs {
		switch strings.ToUpper(name) {
		case "PCMU":
			out, g711 = append(out, offerFormat{law: media.PCMU}), true
		case "PCMA":
			out, g711 = append(out, offerFormat{law: media.PCMA}), true
		case strings.ToUpper(wideG722):
			out = append(out, offerFormat{wide: wideFormat{name: wideG722, pt: media.G722PayloadType}})
		case strings.ToUpper(wideOpus):
			out = append(out, offerFormat{wide: wideFormat{name: wideOpus, pt: dialoutOpusPT}})
		}
	}
	if !g711 {
		out = append(out, g711Formats(media.PCMU, media.PCMA)...)
	}
	return out
}

// offer builds an SDP offer of ours (RFC 3264 §5): one audio stream on
// RTP/AVP with formats in preference order, telephone-event/8000 on dtmfPT,
// ptime 20 (the shared clock's frame) and sendrecv. The answer is read with
// parseOfferWith, which takes the first format the answerer kept.
func (s *sdpSession) offer(formats []offerFormat, dtmfPT uint8) ([]byte, error) {
	sd := s.next()
	md := &sdp.MediaDescription{MediaName: sdp.MediaName{
		Media: "audio", Port: sdp.RangedPort{Value: int(s.local.Port())}, Protos: []string{"RTP", "AVP"},
	}}
	for _, f := range formats {
		f.addTo(md)
	}
	md.WithCodec(dtmfPT, "telephone-event", media.G711Rate, 0, "0-15")
	md.WithValueAttribute("ptime", strconv.Itoa(ptime))
	md.WithPropertyAttribute(dirSendRecv)
	sd.MediaDescriptions = append(sd.MediaDescriptions, md)
	return sd.Marshal()
}
