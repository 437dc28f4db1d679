package sip

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/dialroom/dialroom/media"
)

// sdpOf joins lines with CRLF, as SDP is written (RFC 4566 §5).
func sdpOf(lines ...string) []byte { return []byte(strings.Join(lines, "\r\n") + "\r\n") }

var (
	offerPCMU = sdpOf("v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-", "c=IN IP4 192.0.2.1", "t=0 0",
		"m=audio 4000 RTP/AVP 0 8 101", "a=rtpmap:0 PCMU/8000", "a=rtpmap:8 PCMA/8000",
		"a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-15", "a=ptime:20", "a=sendrecv")
	offerPCMAFirst = sdpOf("v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-", "t=0 0",
		"m=video 5000 RTP/AVP 96", "c=IN IP4 192.0.2.9", "a=rtpmap:96 VP8/90000",
		"m=audio 4002 RTP/AVP 8 0", "c=IN IP4 192.0.2.2", "a=sendonly")
	offerOpusOnly = sdpOf("v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-", "c=IN IP4 192.0.2.1", "t=0 0",
		"m=audio 4000 RTP/AVP 111", "a=rtpmap:111 opus/48000/2")
	offerG729Only = sdpOf("v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-", "c=IN IP4 192.0.2.1", "t=0 0",
		"m=audio 4000 RTP/AVP 18", "a=rtpmap:18 G729/8000")
	offerG722First = sdpOf("v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-", "c=IN IP4 192.0.2.1", "t=0 0",
		"m=audio 4000 RTP/AVP 9 0 101", "a=rtpmap:9 G722/8000", "a=rtpmap:0 PCMU/8000", "a=rtpmap:101 telephone-event/8000", "a=sendrecv")
	offerOpusFirst = sdpOf("v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-", "c=IN IP4 192.0.2.1", "t=0 0",
		"m=audio 4000 RTP/AVP 96 9 0 101 102", "a=rtpmap:96 opus/48000/2", "a=fmtp:96 useinbandfec=1",
		"a=rtpmap:9 G722/8000", "a=rtpmap:101 telephone-event/8000", "a=rtpmap:102 telephone-event/48000")
	offerPCMUThenG722 = sdpOf("v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-", "c=IN IP4 192.0.2.1", "t=0 0",
		"m=audio 4000 RTP/AVP 0 9", "a=rtpmap:0 PCMU/8000", "a=rtpmap:9 G722/8000")
	offerHoldOld = sdpOf("v=0", "o=- 1 2 IN IP4 192.0.2.1", "s=-", "c=IN IP4 0.0.0.0", "t=0 0",
		"m=audio 4000 RTP/AVP 0")
	offerDynamicPCMU = sdpOf("v=0", "o=- 1 1 IN IP6 2001:db8::1", "s=-", "c=IN IP6 2001:db8::1", "t=0 0",
		"m=audio 4000 RTP/AVP 97 98", "a=rtpmap:97 PCMU/8000", "a=rtpmap:98 telephone-event/8000", "a=inactive")
)

func TestParseOffer(t *testing.T) {
	tests := []struct {
		name      string
		body      []byte
		err       error
		remote    string
		codec     media.G711
		dtmf      int
		direction string
		hold      bool
	}{
		{name: "pcmu with events", body: offerPCMU, remote: "192.0.2.1:4000", codec: media.PCMU, dtmf: 101, direction: dirSendRecv},
		{name: "offerer prefers pcma, media-level c", body: offerPCMAFirst, remote: "192.0.2.2:4002", codec: media.PCMA, dtmf: -1, direction: dirSendOnly, hold: true},
		{name: "old-style hold", body: offerHoldOld, remote: "0.0.0.0:4000", codec: media.PCMU, dtmf: -1, direction: dirSendRecv, hold: true},
		{name: "dynamic pcmu, ipv6, inactive", body: offerDynamicPCMU, remote: "[2001:db8::1]:4000", codec: media.PCMU, dtmf: 98, direction: dirInactive, hold: true},
		{name: "opus only", body: offerOpusOnly, err: errNoCodec},
		{name: "empty", body: nil, err: errBadSDP},
		{name: "garbage", body: []byte("hello\r\n"), err: errBadSDP},
		{name: "no c=", body: sdpOf("v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-", "t=0 0", "m=audio 4000 RTP/AVP 0"), err: errBadSDP},
		{name: "host name in c=", body: sdpOf("v=0", "o=- 1 1 IN IP4 x", "s=-", "c=IN IP4 pbx.example", "t=0 0", "m=audio 4000 RTP/AVP 0"), err: errBadSDP},
		{name: "srtp only", body: sdpOf("v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-", "c=IN IP4 192.0.2.1", "t=0 0", "m=audio 4000 RTP/SAVP 0"), err: errNoCodec},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseOffer(tt.body)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if o.Remote.String() != tt.remote || o.Codec != tt.codec || o.DTMF != tt.dtmf || o.Direction != tt.direction || o.onHold() != tt.hold {
				t.Errorf("got remote %s codec %s dtmf %d dir %s hold %v", o.Remote, o.Codec, o.DTMF, o.Direction, o.onHold())
			}
		})
	}
}

// TestParseOfferWideband: into a conference the offerer's first codec of
// G.722, Opus, PCMU and PCMA wins (RFC 3264 §6.1), with telephone-event at
// that codec's clock; a wideband call's re-INVITE must keep its codec; the
// answer names the codec as RFC 3551 and RFC 7587 write it.
func TestParseOfferWideband(t *testing.T) {
	wide := softphoneCodecs()
	opus := wideFormat{name: wideOpus, pt: 96}
	for _, tt := range []struct {
		name   string
		body   []byte
		choice codecChoice
		err    error
		wide   wideFormat
		codec  media.G711
		dtmf   int
		answer []string
	}{
		{name: "g722 first", body: offerG722First, choice: wide, wide: wideFormat{name: wideG722, pt: 9}, dtmf: 101,
			answer: []string{"m=audio 20000 RTP/AVP 9 101", "a=rtpmap:9 G722/8000", "a=rtpmap:101 telephone-event/8000"}},
		{name: "opus first, events at 48 kHz", body: offerOpusFirst, choice: wide, wide: opus, dtmf: 102,
			answer: []string{"m=audio 20000 RTP/AVP 96 102", "a=rtpmap:96 opus/48000/2", "a=fmtp:96 maxplaybackrate=16000;sprop-maxcapturerate=16000;useinbandfec=1",
				"a=rtpmap:102 telephone-event/48000"}},
		{name: "opus with telephone-event at 8000 only", body: sdpOf("v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-", "c=IN IP4 192.0.2.1", "t=0 0",
			"m=audio 4000 RTP/AVP 96 101", "a=rtpmap:96 opus/48000/2", "a=rtpmap:101 telephone-event/8000"), choice: wide, wide: opus, dtmf: 101,
			answer: []string{"m=audio 20000 RTP/AVP 96 101", "a=rtpmap:101 telephone-event/8000"}},
		{name: "pcmu preferred over g722", body: offerPCMUThenG722, choice: wide, codec: media.PCMU, dtmf: -1,
			answer: []string{"m=audio 20000 RTP/AVP 0\r\n"}},
		{name: "g711 only (an extension call) skips g722", body: offerG722First, choice: codecChoice{}, codec: media.PCMU, dtmf: 101},
		{name: "g711 only refuses opus", body: offerOpusOnly, choice: codecChoice{}, err: errNoCodec},
		{name: "re-INVITE keeps opus", body: offerOpusFirst, choice: codecChoice{only: &opus}, wide: opus, dtmf: 102},
		{name: "re-INVITE without the call's codec", body: offerG722First, choice: codecChoice{only: &opus}, err: errNoCodec},
		{name: "g729 only", body: offerG729Only, choice: wide, err: errNoCodec},
	} {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseOfferWith(tt.body, tt.choice)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if o.Wide != tt.wide || (tt.wide.name == "" && o.Codec != tt.codec) || o.DTMF != tt.dtmf {
				t.Errorf("got wide %+v codec %s dtmf %d, want %+v %s %d", o.Wide, o.Codec, o.DTMF, tt.wide, tt.codec, tt.dtmf)
			}
			s := sdpSession{id: 7, local: netip.MustParseAddrPort("198.51.100.7:20000")}
			body, err := s.answer(o)
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range tt.answer {
				if !strings.Contains(string(body), want) {
					t.Errorf("answer lacks %q:\n%s", want, body)
				}
			}
			// Our answer parses back to the same choice.
			if back, err := parseOfferWith(body, tt.choice); err != nil || back.Wide != o.Wide || back.DTMF != o.DTMF {
				t.Errorf("the answer parses back as %+v, %v", back, err)
			}
		})
	}
}

func TestAnswer(t *testing.T) {
	o, err := parseOffer(offerPCMAFirst)
	if err != nil {
		t.Fatal(err)
	}
	s := sdpSession{id: 42, local: netip.MustParseAddrPort("198.51.100.7:20000")}
	body, err := s.answer(o)
	if err != nil {
		t.Fatal(err)
	}
	got := string(body)
	for _, want := range []string{
		"o=dialroom 42 1 IN IP4 198.51.100.7",
		"c=IN IP4 198.51.100.7",
		"m=video 0 RTP/AVP 96", // refused, kept in place (RFC 3264 §6)
		"m=audio 20000 RTP/AVP 8\r\n",
		"a=rtpmap:8 PCMA/8000",
		"a=ptime:20",
		"a=recvonly", // answers sendonly
	} {
		if !strings.Contains(got, want) {
			t.Errorf("answer lacks %q:\n%s", want, got)
		}
	}
	// The answer must be an offer we would accept ourselves.
	o2, err := parseOffer(body)
	if err != nil || o2.Codec != media.PCMA || o2.Remote.Port() != 20000 {
		t.Errorf("answer does not parse back: %+v %v", o2, err)
	}
	body2, _ := s.answer(o)
	if !strings.Contains(string(body2), "o=dialroom 42 2 ") {
		t.Errorf("second answer did not raise the version:\n%s", body2)
	}

	o, _ = parseOffer(offerPCMU)
	body, _ = s.answer(o)
	for _, want := range []string{"m=audio 20000 RTP/AVP 0 101", "a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-15", "a=sendrecv"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("answer lacks %q:\n%s", want, body)
		}
	}
}

func FuzzParseOffer(f *testing.F) {
	for _, b := range [][]byte{offerPCMU, offerPCMAFirst, offerOpusOnly, offerHoldOld, offerDynamicPCMU, offerG722First, offerOpusFirst} {
		f.Add(b)
	}
	s := sdpSession{id: 1, local: netip.MustParseAddrPort("127.0.0.1:20000")}
	f.Fuzz(func(t *testing.T, body []byte) {
		o, err := parseOffer(body)
		if err != nil {
			if !errors.Is(err, errBadSDP) && !errors.Is(err, errNoCodec) {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		if o.Codec != media.PCMU && o.Codec != media.PCMA {
			t.Fatalf("codec %v", o.Codec)
		}
		if _, err := s.answer(o); err != nil {
			t.Fatalf("answer to an accepted offer: %v", err)
		}
		w, err := parseOfferWith(body, softphoneCodecs())
		if err != nil {
			t.Fatalf("accepted as G.711 but not with wideband allowed: %v", err)
		}
		if w.Wide.name != "" && w.Wide.name != wideG722 && w.Wide.name != wideOpus {
			t.Fatalf("wide codec %+v", w.Wide)
		}
		if _, err := s.answer(w); err != nil {
			t.Fatalf("answer to an accepted wideband offer: %v", err)
		}
	})
}
