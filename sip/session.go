package sip

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Session timers (RFC 4028). When the caller supports them and asks for an
// interval, we accept it, leave the refreshing to the caller (refresher=uac:
// we never have to send re-INVITEs) and hang up if no refresh comes. A
// caller that does not support them gets none (RFC 4028 §9 lets the UAS
// refrain); the RTP timeout still catches vanished callers.

// DefaultMinSessionExpires is our Min-SE: the smallest interval RFC 4028 §4
// allows, so a caller's refreshes cost little and we never ask for more.
const DefaultMinSessionExpires = 90 * time.Second

// errSessionExpired ends a call whose caller stopped refreshing.
var errSessionExpired = errors.New("session timer expired (RFC 4028)")

// tooBrief is a Session-Expires below our Min-SE: 422 with Min-SE
// (RFC 4028 §8.1).
type tooBrief struct{ min time.Duration }

func (e *tooBrief) Error() string { return fmt.Sprintf("sip: Session-Expires below %v", e.min) }

// sessionTimer is what an INVITE asked of session timers: the interval, or
// zero for none.
type sessionTimer struct {
	interval time.Duration
}

// parseSessionTimer reads Session-Expires and Supported from an INVITE
// (RFC 4028 §4, §7.1). It returns zero when the caller does not support
// timers or asks for none, and a *tooBrief error when the interval is below
// min.
func parseSessionTimer(req *sip.Request, min time.Duration) (sessionTimer, error) {
	h := req.GetHeader("Session-Expires")
	if h == nil {
		h = req.GetHeader("x") // RFC 4028 §4: the compact form
	}
	if h == nil || !supportsTimer(req) {
		return sessionTimer{}, nil
	}
	val, _, _ := strings.Cut(h.Value(), ";")
	secs, err := strconv.ParseUint(strings.TrimSpace(val), 10, 32)
	if err != nil {
		return sessionTimer{}, fmt.Errorf("%w: Session-Expires %q", errMalformed, h.Value())
	}
	d := time.Duration(secs) * time.Second
	if d < min {
		return sessionTimer{}, &tooBrief{min: min}
	}
	return sessionTimer{interval: d}, nil
}

// supportsTimer reports whether the request lists the "timer" option tag
// in Supported or Require (RFC 4028 §7.1).
func supportsTimer(req *sip.Request) bool {
	for _, name := range []string{"Supported", "k", "Require"} {
		for _, h := range req.GetHeaders(name) {
			for tag := range strings.SplitSeq(h.Value(), ",") {
				if strings.EqualFold(strings.TrimSpace(tag), "timer") {
					return true
				}
			}
		}
	}
	return false
}

// headers are what our 2xx carries to accept the timer (RFC 4028 §9):
// the interval with the caller as refresher, and Require: timer.
func (st sessionTimer) headers() []sip.Header {
	if st.interval == 0 {
		return nil
	}
	return []sip.Header{
		sip.NewHeader("Session-Expires", fmt.Sprintf("%d;refresher=uac", int(st.interval/time.Second))),
		sip.NewHeader("Require", "timer"),
	}
}

// byeAfter is when the side that does not refresh hangs up without a
// refresh: before expiry by the lesser of 32 s and a third of the interval
// (RFC 4028 §10).
func (st sessionTimer) byeAfter() time.Duration {
	return st.interval - min(32*time.Second, st.interval/3)
}
