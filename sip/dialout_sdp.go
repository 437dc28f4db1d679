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

// trunkCodecs returns the G.711 laws of a trunk's codecs list, in its order.
// Opus is skipped: phone legs are G.711 (bridge.PhoneAudio mixes at 8 kHz).
// A list without either law offers PCMU then PCMA, which every carrier
// takes.
func trunkCodecs(t *dialplan.Trunk) []media.G711 {
	var out []media.G711
	for _, name := range t.Codecs {
		switch strings.ToUpper(name) {
		case "PCMU":
			out = append(out, media.PCMU)
		case "PCMA":
			out = append(out, media.PCMA)
		}
	}
	if len(out) == 0 {
		out = []media.G711{media.PCMU, media.PCMA}
	}
	return out
}

// offer builds the SDP offer of a call we place (RFC 3264 §5): one audio
// stream on RTP/AVP with the given laws in preference order, telephone-event
// on dtmfPT, ptime 20 (the shared clock's frame) and sendrecv. The answer is
// read with parseOffer, which takes the first law the answerer kept.
func (s *sdpSession) offer(codecs []media.G711, dtmfPT uint8) ([]byte, error) {
	sd := s.next()
	md := &sdp.MediaDescription{MediaName: sdp.MediaName{
		Media: "audio", Port: sdp.RangedPort{Value: int(s.local.Port())}, Protos: []string{"RTP", "AVP"},
	}}
	for _, c := range codecs {
		md.WithCodec(c.PayloadType(), c.String(), media.G711Rate, 0, "")
	}
	md.WithCodec(dtmfPT, "telephone-event", media.G711Rate, 0, "0-15")
	md.WithValueAttribute("ptime", strconv.Itoa(ptime))
	md.WithPropertyAttribute(dirSendRecv)
	sd.MediaDescriptions = append(sd.MediaDescriptions, md)
	return sd.Marshal()
}
