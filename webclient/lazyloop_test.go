package webclient

import (
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
)

// loopCounter is an interceptor that counts BindRTCPWriter calls (where
// pion's interceptors start their loops) and the streams bound to it.
type loopCounter struct {
	interceptor.NoOp
	loops, streams int
}

func (c *loopCounter) BindRTCPWriter(w interceptor.RTCPWriter) interceptor.RTCPWriter {
	c.loops++
	return w
}

func (c *loopCounter) BindRemoteStream(_ *interceptor.StreamInfo, r interceptor.RTPReader) interceptor.RTPReader {
	c.streams++
	return r
}

// TestLazyLoop: the wrapped interceptor gets the writer (starts its loop)
// only when a stream it serves is bound, and once; every stream still
// reaches it.
func TestLazyLoop(t *testing.T) {
	inner := &loopCounter{}
	l := &lazyLoop{Interceptor: inner, serves: nackStream}
	w := interceptor.RTCPWriterFunc(func([]rtcp.Packet, interceptor.Attributes) (int, error) { return 0, nil })
	if got := l.BindRTCPWriter(w); got == nil {
		t.Fatal("BindRTCPWriter returned no writer")
	}
	audio := &interceptor.StreamInfo{SSRC: 1, MimeType: "audio/opus",
		RTPHeaderExtensions: []interceptor.RTPHeaderExtension{{URI: sdp.TransportCCURI, ID: 3}}}
	video := &interceptor.StreamInfo{SSRC: 2, MimeType: "video/VP8",
		RTCPFeedback: []interceptor.RTCPFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}}}
	l.BindRemoteStream(audio, nil)
	if inner.loops != 0 || inner.streams != 1 {
		t.Fatalf("after an audio stream without nack: %d loops, %d streams; want 0 and 1", inner.loops, inner.streams)
	}
	l.BindRemoteStream(video, nil)
	l.BindRemoteStream(&interceptor.StreamInfo{SSRC: 3, RTCPFeedback: video.RTCPFeedback}, nil)
	if inner.loops != 1 || inner.streams != 3 {
		t.Fatalf("after two video streams with nack: %d loops, %d streams; want 1 and 3", inner.loops, inner.streams)
	}
	for name, tc := range map[string]struct {
		serves func(*interceptor.StreamInfo) bool
		info   *interceptor.StreamInfo
		want   bool
	}{
		"nack pli only": {nackStream, &interceptor.StreamInfo{RTCPFeedback: []interceptor.RTCPFeedback{{Type: "nack", Parameter: "pli"}}}, false},
	} {
		if got := tc.serves(tc.info); got != tc.want {
			t.Errorf("%s: %v, want %v", name, got, tc.want)
		}
	}
}

// TestLazyResponder: no NACK responder for a peer until a stream with NACK
// is bound to it; then pion's responder keeps that stream's packets and
// answers the browser's NACK (RFC 4585 §6.2.1) read through the RTCP
// reader bound before it existed.
func TestLazyResponder(t *testing.T) {
	f, err := nack.NewResponderInterceptor()
	if err != nil {
		t.Fatal(err)
	}
	i, err := lazyResponderFactory{f, nackStream}.NewInterceptor("")
	if err != nil {
		t.Fatal(err)
	}
	l := i.(*lazyResponder)
	defer l.Close()
	incoming := make(chan []byte, 1)
	reader := l.BindRTCPReader(interceptor.RTCPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		return copy(b, <-incoming), a, nil
	}))
	sent := make(chan uint16, 16)
	writer := interceptor.RTPWriterFunc(func(h *rtp.Header, _ []byte, _ interceptor.Attributes) (int, error) {
		sent <- h.SequenceNumber
		return 0, nil
	})
	audio := &interceptor.StreamInfo{SSRC: 1, MimeType: "audio/opus"}
	video := &interceptor.StreamInfo{SSRC: 2, MimeType: "video/VP8",
		RTCPFeedback: []interceptor.RTCPFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}}}
	l.BindLocalStream(audio, writer)
	if l.inner != nil {
		t.Fatal("a responder was made for a stream without NACK")
	}
	w := l.BindLocalStream(video, writer)
	if l.inner == nil {
		t.Fatal("no responder for a stream with NACK")
	}
	for seq := uint16(1); seq <= 5; seq++ {
		if _, err := w.Write(&rtp.Header{SSRC: 2, SequenceNumber: seq}, []byte{1, 2, 3}, nil); err != nil {
			t.Fatal(err)
		}
		<-sent
	}
	nackPkt, err := (&rtcp.TransportLayerNack{MediaSSRC: 2, Nacks: rtcp.NackPairsFromSequenceNumbers([]uint16{3})}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	incoming <- nackPkt
	if _, _, err := reader.Read(make([]byte, 1500), nil); err != nil {
		t.Fatal(err)
	}
	select {
	case seq := <-sent:
		if seq != 3 {
			t.Errorf("resent %d, want 3", seq)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the NACK for 3 was not answered")
	}
}
