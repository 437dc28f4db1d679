package webclient

import (
	"testing"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
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
