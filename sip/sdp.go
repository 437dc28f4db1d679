package sip

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/dialroom/dialroom/media"
	"github.com/pion/sdp/v3"
)

// SDP errors. status.go maps them to SIP statuses.
var (
	// errBadSDP: the body is not SDP we can read (400 Bad Request).
	errBadSDP = errors.New("sip: malformed SDP")
	// errNoCodec: the offer has no audio stream with a codec we take
	// (PCMU or PCMA; G.722 or Opus where wideband is allowed; on a
	// re-INVITE, the call's codec) (488 Not Acceptable Here, RFC 3261
	// §21.4.26).
	errNoCodec = errors.New("sip: no common codec")
)

// Media direction attributes (RFC 3264 §5.1, §6.1).
const (
	dirSendRecv = "sendrecv"
	dirSendOnly = "sendonly"
	dirRecvOnly = "recvonly"
	dirInactive = "inactive"
)

// ptime is the only packetisation we send and expect: one 20 ms frame per
// packet, the frame of the shared media clock (media.JitterBuffer assumes it).
const ptime = 20

// maxSDP bounds the offers we parse; real audio offers are well under 4 KiB.
const maxSDP = 16 << 10

// offer is what dialroom takes from an SDP offer: where to send the audio,
// in which G.711 law, with which telephone-event payload type, and in which
// direction the offerer wants media to flow.
type offer struct {
	// Remote is the address for RTP (c= and the m= port). An address of
	// 0.0.0.0 (old-style hold, RFC 3264 §8.4) is kept as it is.
	Remote netip.AddrPort
	Codec  media.G711
	// Wide is the wideband codec chosen instead of Codec (G.722 or Opus),
	// zero for a G.711 call (widecodec.go).
	Wide wideFormat
	// DTMF is the payload type of telephone-event (RFC 4733 §7), or -1
	// when the offer has none; DTMFClock its clock rate (pickFormats).
	DTMF      int
	DTMFClock int
	// Direction is the offerer's: sendrecv, sendonly, recvonly or inactive.
	Direction string
	// late: the INVITE carried no offer (RFC 3261 §13.2.1); ours goes in
	// the 200 and the answer comes in the ACK. Nothing else is set.
	late bool
	// mline is the index of the chosen m= line; lines lists every m= line's
	// media and formats, which the answer must repeat (RFC 3264 §6).
	mline int
	lines []mline
}

type mline struct {
	media   string
	proto   string
	formats []string
}

// onHold reports whether the offerer is not going to send us audio.
func (o *offer) onHold() bool {
	return o.Direction == dirSendOnly || o.Direction == dirInactive || !o.Remote.Addr().IsValid() || o.Remote.Addr().IsUnspecified()
}

// parseOffer reads an SDP offer (RFC 4566, offer/answer RFC 3264). It takes
// the first audio stream on RTP/AVP that offers PCMU or PCMA, preferring the
// offerer's order (RFC 3264 §6.1: the answerer should use the offerer's
// preference). Errors wrap errBadSDP or errNoCodec.
func parseOffer(body []byte) (offer, error) { return parseOfferWith(body, codecChoice{}) }

// Which codecs parseOfferWith may choose.
type codecChoice struct {
	// g722 and opus allow those wideband codecs (calls into a conference:
	// softphones always, a trunk's calls when its codecs list them;
	// widecodec.go).
	g722, opus bool
	// only, when set, is the one codec acceptable: a wideband call's
	// re-INVITE must keep its codec (the room mixes the leg at its rate,
	// and the leg's codec state runs on).
	only *wideFormat
}

// parseOfferWith is parseOffer choosing among the codecs of choice.
func parseOfferWith(body []byte, choice codecChoice) (offer, error) {
	var o offer
	if len(body) == 0 {
		return o, fmt.Errorf("%w: empty body", errBadSDP)
	}
	if len(body) > maxSDP {
		return o, fmt.Errorf("%w: %d bytes", errBadSDP, len(body))
	}
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(string(body)); err != nil {
		return o, fmt.Errorf("%w: %v", errBadSDP, err)
	}
	sessionDir := direction(sd.Attributes)
	o.mline = -1
	for i, md := range sd.MediaDescriptions {
		o.lines = append(o.lines, mline{
			media:   md.MediaName.Media,
			proto:   strings.Join(md.MediaName.Protos, "/"),
			formats: md.MediaName.Formats,
		})
		if o.mline >= 0 || md.MediaName.Media != "audio" || md.MediaName.Port.Value == 0 {
			continue
		}
		if strings.Join(md.MediaName.Protos, "/") != "RTP/AVP" {
			continue // SRTP (RTP/SAVP) and others are not ours to answer
		}
		codec, wide, dtmf, dtmfClock, ok := pickFormats(md, choice)
		if !ok {
			continue
		}
		ci := md.ConnectionInformation
		if ci == nil {
			ci = sd.ConnectionInformation
		}
		if ci == nil || ci.Address == nil {
			return o, fmt.Errorf("%w: audio stream without c=", errBadSDP)
		}
		addr, err := netip.ParseAddr(ci.Address.Address)
		if err != nil {
			return o, fmt.Errorf("%w: c= address %q is not an IP address", errBadSDP, ci.Address.Address)
		}
		port := md.MediaName.Port.Value
		if port < 0 || port > 65535 {
			return o, fmt.Errorf("%w: m= port %d", errBadSDP, port)
		}
		o.mline = i
		o.Remote = netip.AddrPortFrom(addr.Unmap(), uint16(port))
		o.Codec, o.Wide, o.DTMF, o.DTMFClock = codec, wide, dtmf, dtmfClock
		o.Direction = direction(md.Attributes)
		if o.Direction == "" {
			o.Direction = sessionDir
		}
		if o.Direction == "" {
			o.Direction = dirSendRecv // RFC 3264 §5.1: the default
		}
	}
	if o.mline < 0 {
		return o, errNoCodec
	}
	return o, nil
}

// pickFormats returns the first codec of choice in the stream's format list
// (the offerer's preference, RFC 3264 §6.1): a G.711 law, or with
// choice G.722 or Opus; and the payload type and clock of telephone-event,
// if offered: at the codec's RTP clock as RFC 4733 §2.1 has it, else at
// 8000, which softphones offer beside Opus's 48000 often enough (keys
// would not work at all otherwise; the DTMF receiver does not depend on
// the clock).
func pickFormats(md *sdp.MediaDescription, choice codecChoice) (codec media.G711, wide wideFormat, dtmf, dtmfClock int, ok bool) {
	rtpmap := map[int]string{}
	for _, a := range md.Attributes {
		if a.Key != "rtpmap" {
			continue
		}
		pt, enc, found := strings.Cut(a.Value, " ")
		n, err := strconv.Atoi(pt)
		if !found || err != nil {
			continue
		}
		rtpmap[n] = strings.ToLower(strings.TrimSpace(enc))
	}
	events := map[int]int{} // telephone-event's clock → its payload type (the first)
	for _, f := range md.MediaName.Formats {
		pt, err := strconv.Atoi(f)
		if err != nil || pt < 0 || pt > 127 {
			continue
		}
		enc, mapped := rtpmap[pt]
		if clock, isEvent := strings.CutPrefix(enc, "telephone-event/"); isEvent {
			if c, err := strconv.Atoi(clock); err == nil {
				if _, seen := events[c]; !seen {
					events[c] = pt
				}
			}
			continue
		}
		if ok {
			continue
		}
		var law media.G711
		var w wideFormat
		switch {
		case pt == 0 && !mapped || strings.HasPrefix(enc, "pcmu/8000"):
			// RFC 3551 §6: 0 is PCMU statically; a dynamic type may map it too.
			law = media.PCMU
		case pt == 8 && !mapped || strings.HasPrefix(enc, "pcma/8000"):
			law = media.PCMA
		case pt == media.G722PayloadType && !mapped || strings.HasPrefix(enc, "g722/8000"):
			// RFC 3551 §4.5.2: G.722's RTP clock is 8000 though it samples at 16 kHz.
			w = wideFormat{name: wideG722, pt: uint8(pt)}
		case strings.HasPrefix(enc, "opus/48000"):
			w = wideFormat{name: wideOpus, pt: uint8(pt)} // RFC 7587 §7: always opus/48000/2
		default:
			continue
		}
		switch {
		case choice.only != nil:
			ok = w == *choice.only
		case w.name == wideG722:
			ok = choice.g722
		case w.name == wideOpus:
			ok = choice.opus
		default:
			ok = true
		}
		if ok {
			codec, wide = law, w
		}
	}
	dtmf = -1
	for _, clock := range []int{wide.rtpClock(), 8000} {
		if pt, has := events[clock]; has {
			return codec, wide, pt, clock, ok
		}
	}
	return codec, wide, dtmf, 0, ok
}

func direction(attrs []sdp.Attribute) string {
	for _, a := range attrs {
		switch a.Key {
		case dirSendRecv, dirSendOnly, dirRecvOnly, dirInactive:
			return a.Key
		}
	}
	return ""
}

// answerDirection is the direction that answers an offer's (RFC 3264 §6.1).
func answerDirection(offered string) string {
	switch offered {
	case dirSendOnly:
		return dirRecvOnly
	case dirRecvOnly:
		return dirSendOnly
	case dirInactive:
		return dirInactive
	}
	return dirSendRecv
}

// sdpSession is our side of one call's SDP: the o= line's identity and
// version (RFC 4566 §5.2: the version grows with every new answer) and the
// local RTP address. It belongs to the goroutine that answers (the call's).
type sdpSession struct {
	id      uint64
	version uint64
	local   netip.AddrPort // advertised media IP and RTP port
}

// answer builds the SDP answer to o (RFC 3264 §6): one m= line per offered
// line, in order, every one but the chosen audio stream refused with port 0;
// the chosen one with our codec, telephone-event if offered, ptime 20 and the
// answering direction.
func (s *sdpSession) answer(o offer) ([]byte, error) {
	sd := s.next()
	for i, l := range o.lines {
		md := &sdp.MediaDescription{MediaName: sdp.MediaName{
			Media: l.media, Protos: strings.Split(l.proto, "/"), Formats: l.formats,
		}}
		if i != o.mline {
			if len(md.MediaName.Formats) == 0 {
				md.MediaName.Formats = []string{"0"}
			}
			sd.MediaDescriptions = append(sd.MediaDescriptions, md) // port 0: refused
			continue
		}
		md.MediaName.Port = sdp.RangedPort{Value: int(s.local.Port())}
		md.MediaName.Formats = nil // WithCodec adds each format
		offerFormat{law: o.Codec, wide: o.Wide}.addTo(md)
		if o.DTMF >= 0 {
			clock := o.DTMFClock
			if clock == 0 {
				clock = media.G711Rate
			}
			md.WithCodec(uint8(o.DTMF), "telephone-event", uint32(clock), 0, "0-15")
		}
		md.WithValueAttribute("ptime", strconv.Itoa(ptime))
		md.WithPropertyAttribute(answerDirection(o.Direction))
		sd.MediaDescriptions = append(sd.MediaDescriptions, md)
	}
	return sd.Marshal()
}

// next starts our next session description (offer or answer): a new o=
// version (RFC 4566 §5.2), our address in o= and c=, no media yet.
func (s *sdpSession) next() *sdp.SessionDescription {
	s.version++
	ip := s.local.Addr()
	addrType := "IP4"
	if ip.Is6() {
		addrType = "IP6"
	}
	return &sdp.SessionDescription{
		Origin: sdp.Origin{
			Username: "dialroom", SessionID: s.id, SessionVersion: s.version,
			NetworkType: "IN", AddressType: addrType, UnicastAddress: ip.String(),
		},
		SessionName: "dialroom",
		ConnectionInformation: &sdp.ConnectionInformation{
			NetworkType: "IN", AddressType: addrType, Address: &sdp.Address{Address: ip.String()},
		},
		TimeDescriptions: []sdp.TimeDescription{{}},
	}
}
