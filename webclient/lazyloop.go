package webclient

import (
	"slices"
	"sync"
	"sync/atomic"

	"github.com/pion/interceptor"
)

// lazyLoop defers an interceptor's BindRTCPWriter until the peer connection
// binds a remote stream the interceptor serves. pion's NACK generator
// starts a goroutine there that ticks 10 times a second for the peer's
// life, with nothing to do until the browser sends a stream with NACK:
// Opus is offered without it, so only a camera needs one. In rooms of
// phones that is a goroutine (and its stack and timer) per browser that no
// longer exists (docs/benchmarks.md). (RTCP reports and TWCC feedback have
// no goroutine per peer at all: senderreports.go, receiverreports.go,
// twccfeedback.go.)
//
// Only for interceptors whose BindRTCPWriter returns the writer it was
// given (it would otherwise be left out of the chain): pion's NACK
// generator does.
// The wrapped interceptor's other methods pass through.
type lazyLoop struct {
	interceptor.Interceptor
	serves func(*interceptor.StreamInfo) bool

	mu     sync.Mutex
	writer interceptor.RTCPWriter // nil until the chain binds it
	bound  bool                   // the writer went to the wrapped interceptor
}

// BindRTCPWriter keeps the writer for the first stream served.
func (l *lazyLoop) BindRTCPWriter(writer interceptor.RTCPWriter) interceptor.RTCPWriter {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.writer = writer
	return writer
}

// BindRemoteStream starts the wrapped interceptor's loop (its
// BindRTCPWriter) before binding the first stream it serves, so that the
// loop runs before the stream's first read.
func (l *lazyLoop) BindRemoteStream(info *interceptor.StreamInfo, reader interceptor.RTPReader) interceptor.RTPReader {
	if l.serves(info) {
		l.mu.Lock()
		if !l.bound && l.writer != nil {
			l.bound = true
			l.Interceptor.BindRTCPWriter(l.writer)
		}
		l.mu.Unlock()
	}
	return l.Interceptor.BindRemoteStream(info, reader)
}

// lazyLoopFactory makes lazyLoops around inner's interceptors.
type lazyLoopFactory struct {
	inner  interceptor.Factory
	serves func(*interceptor.StreamInfo) bool
}

func (f lazyLoopFactory) NewInterceptor(id string) (interceptor.Interceptor, error) {
	i, err := f.inner.NewInterceptor(id)
	if err != nil {
		return nil, err
	}
	return &lazyLoop{Interceptor: i, serves: f.serves}, nil
}

// nackStream reports whether the stream negotiated generic NACK (RFC 4585
// §4.2), the streams pion's NACK generator binds.
func nackStream(info *interceptor.StreamInfo) bool {
	return slices.ContainsFunc(info.RTCPFeedback, func(fb interceptor.RTCPFeedback) bool {
		return fb.Type == "nack" && fb.Parameter == ""
	})
}

// lazyResponder creates pion's NACK responder for a peer connection when it
// first binds a local stream the responder serves (one that negotiated NACK:
// video to this browser). The responder is ~8 KiB per peer before it holds
// any packet (its retransmission-rate window), and in rooms of phones most
// browsers receive no video at all. Until then RTCP passes through
// untouched: there is nothing to retransmit.
type lazyResponder struct {
	interceptor.NoOp
	factory interceptor.Factory
	id      string
	serves  func(*interceptor.StreamInfo) bool

	mu       sync.Mutex
	rtcpIn   interceptor.RTCPReader // the chain's reader, from BindRTCPReader
	inner    interceptor.Interceptor
	innerErr error
	// reader is the inner responder's RTCP reader once it exists: the
	// peer's RTCP goes through it from then on.
	reader atomic.Pointer[interceptor.RTCPReader]
}

// BindRTCPReader keeps the chain's reader for the inner responder and reads
// through it once it exists.
func (l *lazyResponder) BindRTCPReader(reader interceptor.RTCPReader) interceptor.RTCPReader {
	l.mu.Lock()
	l.rtcpIn = reader
	l.mu.Unlock()
	return interceptor.RTCPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		if r := l.reader.Load(); r != nil {
			return (*r).Read(b, a)
		}
		return reader.Read(b, a)
	})
}

// BindLocalStream creates the responder for the first stream it serves.
func (l *lazyResponder) BindLocalStream(info *interceptor.StreamInfo, writer interceptor.RTPWriter) interceptor.RTPWriter {
	if !l.serves(info) {
		return writer
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.inner == nil && l.innerErr == nil && l.rtcpIn != nil {
		if l.inner, l.innerErr = l.factory.NewInterceptor(l.id); l.innerErr == nil {
			r := l.inner.BindRTCPReader(l.rtcpIn)
			l.reader.Store(&r)
		}
	}
	if l.inner == nil {
		return writer // no responder: the browser's NACKs go unanswered, as without the interceptor
	}
	return l.inner.BindLocalStream(info, writer)
}

// UnbindLocalStream passes to the responder, if there is one.
func (l *lazyResponder) UnbindLocalStream(info *interceptor.StreamInfo) {
	l.mu.Lock()
	inner := l.inner
	l.mu.Unlock()
	if inner != nil {
		inner.UnbindLocalStream(info)
	}
}

// Close closes the responder, if there is one.
func (l *lazyResponder) Close() error {
	l.mu.Lock()
	inner := l.inner
	l.mu.Unlock()
	if inner != nil {
		return inner.Close()
	}
	return nil
}

// lazyResponderFactory makes lazyResponders around inner's responders.
type lazyResponderFactory struct {
	inner  interceptor.Factory
	serves func(*interceptor.StreamInfo) bool
}

func (f lazyResponderFactory) NewInterceptor(id string) (interceptor.Interceptor, error) {
	return &lazyResponder{factory: f.inner, id: id, serves: f.serves}, nil
}
