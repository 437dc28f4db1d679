package webclient

import (
	"github.com/pion/interceptor"
	"github.com/pion/rtp"
)

// headerOnceFactory builds headerOnce interceptors. It must be the first
// factory in the registry: pion's chain wraps readers in registration order,
// so the first interceptor's reader is the innermost, the one the others read
// through.
//
// Why: every browser publishes its microphone (50 packets/s) and maybe a
// camera, and pion's receiver-report, TWCC-feedback and NACK interceptors
// each ask the packet's interceptor.Attributes for its parsed RTP header. The
// attributes reach the chain as nil, so each of them made a new map and a new
// rtp.Header for every packet: half of what the whole server allocated in
// steady state (docs/benchmarks.md, "what the server allocates"), and so half
// of the garbage collector's work and of its heap headroom.
type headerOnceFactory struct{}

// HeaderOnceInterceptor returns the factory of the interceptor that parses
// each incoming RTP packet's header once for all the others (headerOnce);
// register it first. Other pion peers of this module use it too (the load
// tool's simulated browsers).
func HeaderOnceInterceptor() interceptor.Factory { return headerOnceFactory{} }

// NewInterceptor implements interceptor.Factory.
func (headerOnceFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &headerOnce{}, nil
}

// headerOnce parses each incoming RTP packet's header once, into a header and
// an attribute map that belong to the stream and are reused for every packet,
// and hands both to the interceptors outside it.
//
// The contract this relies on (pion/interceptor v0.1.51): a remote stream is
// read by one goroutine at a time (its track's reader), and the interceptors
// above use the header only during their Read. twcc's sender interceptor puts
// the header's pointer in the packet it queues to its feedback loop, which
// never reads it; it copies the sequence number and arrival time it needs.
type headerOnce struct {
	interceptor.NoOp
}

// BindRemoteStream implements interceptor.Interceptor. The returned reader
// runs on the stream's reading goroutine.
func (*headerOnce) BindRemoteStream(_ *interceptor.StreamInfo, reader interceptor.RTPReader) interceptor.RTPReader {
	s := &headerOnceStream{attrs: interceptor.Attributes{}}
	return interceptor.RTPReaderFunc(s.read(reader))
}

// headerOnceStream is one remote stream's reused header and attributes.
type headerOnceStream struct {
	attrs  interceptor.Attributes
	header *rtp.Header // the one in attrs; nil until the first packet
}

func (s *headerOnceStream) read(reader interceptor.RTPReader) func([]byte, interceptor.Attributes) (int, interceptor.Attributes, error) {
	return func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		n, attrs, err := reader.Read(b, a)
		if err != nil || attrs != nil {
			// Attributes from below (none in pion today) are left alone: they
			// may carry a header of their own.
			return n, attrs, err
		}
		if s.header == nil {
			// The attribute key is pion's own; GetRTPHeader is the only way to
			// put a header under it. It parses b and stores the header in the
			// map, where it stays for every later packet of the stream.
			h, err := s.attrs.GetRTPHeader(b[:n])
			if err != nil {
				return 0, nil, err
			}
			s.header = h
			return n, s.attrs, nil
		}
		// Unmarshal reuses the header's CSRC and extension slices; extension
		// payloads point into b, valid until the next Read, like the packet.
		if _, err := s.header.Unmarshal(b[:n]); err != nil {
			return 0, nil, err
		}
		return n, s.attrs, nil
	}
}

// onHeader wraps reader so that fn sees the RTP header of each packet read
// (parsed once for the whole chain by headerOnce). A read error, or a
// header that does not parse, is returned instead; fn runs on the reading
// goroutine.
func onHeader(reader interceptor.RTPReader, fn func(h *rtp.Header)) interceptor.RTPReader {
	return interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		n, attr, err := reader.Read(b, a)
		if err != nil {
			return 0, nil, err
		}
		if attr == nil {
			attr = make(interceptor.Attributes)
		}
		h, err := attr.GetRTPHeader(b[:n])
		if err != nil {
			return 0, nil, err
		}
		fn(h)
		return n, attr, nil
	})
}
