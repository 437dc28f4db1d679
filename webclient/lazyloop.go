package webclient

import (
	"slices"
	"sync"

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
