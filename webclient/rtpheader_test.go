package webclient

import (
	"testing"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// remoteChain binds one remote stream through the registry's chain, as pion
// binds a browser's microphone, and returns a function reading the next of
// the packets given (each a marshalled RTP packet).
func remoteChain(t testing.TB, reg *interceptor.Registry, packets [][]byte, seen func(*rtp.Header)) func() {
	t.Helper()
	chain, err := reg.Build("test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { chain.Close() })
	chain.BindRTCPWriter(interceptor.RTCPWriterFunc(func([]rtcp.Packet, interceptor.Attributes) (int, error) { return 0, nil }))
	info := &interceptor.StreamInfo{SSRC: 0x1234, ClockRate: 48000, MimeType: "audio/opus",
		RTPHeaderExtensions: []interceptor.RTPHeaderExtension{{URI: "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01", ID: 5}}}
	next := 0
	raw := interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		n := copy(b, packets[next%len(packets)])
		next++
		return n, a, nil
	})
	reader := chain.BindRemoteStream(info, raw)
	buf := make([]byte, 1500)
	return func() {
		n, attrs, err := reader.Read(buf, nil)
		if err != nil {
			t.Fatal(err)
		}
		if seen != nil {
			h, err := attrs.GetRTPHeader(buf[:n])
			if err != nil {
				t.Fatal(err)
			}
			seen(h)
		}
	}
}

// opusPackets are n packets of one stream with a transport-cc extension, as
// a browser sends its microphone.
func opusPackets(t testing.TB, n int) [][]byte {
	t.Helper()
	var out [][]byte
	for i := range n {
		p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: uint16(65530 + i),
			Timestamp: uint32(960 * i), SSRC: 0x1234, Marker: i == 0}, Payload: make([]byte, 60)}
		ext, err := (&rtp.TransportCCExtension{TransportSequence: uint16(100 + i)}).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Header.SetExtension(5, ext); err != nil {
			t.Fatal(err)
		}
		b, err := p.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

func pionReceiveRegistry(t testing.TB, first bool) *interceptor.Registry {
	t.Helper()
	reg := &interceptor.Registry{}
	if first {
		reg.Add(headerOnceFactory{})
	}
	rr, err := report.NewReceiverInterceptor()
	if err != nil {
		t.Fatal(err)
	}
	reg.Add(rr)
	fb, err := twcc.NewSenderInterceptor()
	if err != nil {
		t.Fatal(err)
	}
	reg.Add(fb)
	return reg
}

// The interceptors above see each packet's own header (sequence numbers
// across the wrap, marker, extension), not the previous packet's.
func TestHeaderOnceEachPacket(t *testing.T) {
	packets := opusPackets(t, 12)
	var got []rtp.Header
	var tccs []uint16
	read := remoteChain(t, pionReceiveRegistry(t, true), packets, func(h *rtp.Header) {
		// The extension's payload lies in the read buffer: read it now.
		var tcc rtp.TransportCCExtension
		if err := tcc.Unmarshal(h.GetExtension(5)); err != nil {
			t.Errorf("transport-cc: %v", err)
		}
		got = append(got, *h)
		tccs = append(tccs, tcc.TransportSequence)
	})
	for range packets {
		read()
	}
	for i, h := range got {
		var want rtp.Header
		if _, err := want.Unmarshal(packets[i]); err != nil {
			t.Fatal(err)
		}
		if h.SequenceNumber != want.SequenceNumber || h.Timestamp != want.Timestamp || h.Marker != want.Marker {
			t.Errorf("packet %d: header seq %d ts %d marker %v, want %d %d %v", i, h.SequenceNumber, h.Timestamp, h.Marker,
				want.SequenceNumber, want.Timestamp, want.Marker)
		}
		if tccs[i] != uint16(100+i) {
			t.Errorf("packet %d: transport-cc %d, want %d", i, tccs[i], 100+i)
		}
	}
}

// With headerOnce first, reading a packet through pion's receiver-report
// and TWCC-feedback interceptors allocates nothing; without it, each packet
// cost a map and a header per interceptor.
func TestHeaderOnceAllocations(t *testing.T) {
	packets := opusPackets(t, 50)
	without := testing.AllocsPerRun(500, remoteChain(t, pionReceiveRegistry(t, false), packets, nil))
	with := testing.AllocsPerRun(500, remoteChain(t, pionReceiveRegistry(t, true), packets, nil))
	t.Logf("allocations per packet: %.1f without headerOnce, %.1f with", without, with)
	if with != 0 {
		t.Errorf("%.1f allocations per packet with headerOnce, want 0", with)
	}
	if without < 2 {
		t.Errorf("%.1f allocations per packet without headerOnce: the comparison no longer shows pion's cost", without)
	}
}

func BenchmarkReceiveInterceptors(b *testing.B) {
	packets := opusPackets(b, 50)
	for _, first := range []bool{false, true} {
		name := "pion"
		if first {
			name = "headerOnce"
		}
		b.Run(name, func(b *testing.B) {
			read := remoteChain(b, pionReceiveRegistry(b, first), packets, nil)
			b.ReportAllocs()
			for b.Loop() {
				read()
			}
		})
	}
}
