package sip

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/dialroom/dialroom"
	"github.com/dialroom/dialroom/media"
	"github.com/emiago/sipgo/sip"
)

// Errors of call setup that are not SDP's (sdp.go) or the domain's
// (dialroom.Error). Each maps to one SIP status in statusOf.
var (
	// errMalformed: a request lacks what RFC 3261 §8.1.1 requires of it, or
	// carries it in a form we cannot use (400).
	errMalformed = errors.New("sip: malformed request")
	// errNotTrunk: the request came from an address that is no enabled
	// trunk's source (403). Nothing about the call is kept.
	errNotTrunk = errors.New("sip: source is not a trunk")
	// errUnsupportedBody: a body that is not application/sdp (415 with
	// Accept, RFC 3261 §21.4.13).
	errUnsupportedBody = errors.New("sip: body is not application/sdp")
	// errNotImplemented: a dialplan action this server does not carry out
	// (none today; extension calls go to ringExtension): 480, so a carrier
	// may try elsewhere.
	errNotImplemented = errors.New("sip: action not available")
	// errShuttingDown: the server is closing (503).
	errShuttingDown = errors.New("sip: server shutting down")
	// errNoDialog: an in-dialog request for a dialog we do not know
	// (481, RFC 3261 §12.2.2).
	errNoDialog = errors.New("sip: no such dialog")
)

// rejection is a final status decided by policy (a dialplan reject route, a
// number that is not live).
type rejection struct {
	Status int
	Reason string
}

func (r *rejection) Error() string { return fmt.Sprintf("sip: rejected %d %s", r.Status, r.Reason) }

// statusOf maps an error of call setup to the SIP final response that
// reports it. It is the one place where failures become statuses: every
// handler answers through it, so the same failure always reads the same on
// the wire. Unknown errors are 500.
func statusOf(err error) (int, string) {
	var rej *rejection
	var brief *tooBrief
	switch {
	case errors.As(err, &brief):
		return 422, "Session Interval Too Small" // RFC 4028 §6
	case errors.As(err, &rej):
		return rej.Status, rej.Reason
	case errors.Is(err, errMalformed), errors.Is(err, errBadSDP):
		return 400, "Bad Request"
	case errors.Is(err, errNotTrunk):
		return 403, "Forbidden"
	case errors.Is(err, errNoDialog):
		// RFC 3261 §12.2.2
		return 481, "Call/Transaction Does Not Exist"
	case errors.Is(err, errUnsupportedBody):
		return 415, "Unsupported Media Type"
	case errors.Is(err, errNoCodec):
		// RFC 3261 §21.4.26: nothing in the session description is acceptable.
		return 488, "Not Acceptable Here"
	case errors.Is(err, errNotImplemented):
		return 480, "Temporarily Unavailable"
	case errors.Is(err, errShuttingDown), errors.Is(err, media.ErrNoPorts):
		// RFC 3261 §21.5.4: temporary overload; the carrier retries elsewhere.
		return 503, "Service Unavailable"
	}
	switch dialroom.ErrorCode(err) {
	case dialroom.ENOTFOUND, dialroom.EGONE:
		// A number that is unknown, revoked or expired reads the same, so a
		// caller cannot tell which numbers once existed.
		return 404, "Not Found"
	case dialroom.EINVALID:
		return 484, "Address Incomplete"
	case dialroom.EDENIED, dialroom.EUNAUTHORIZED:
		return 403, "Forbidden"
	case dialroom.ETHROTTLED, dialroom.ECONFLICT:
		return 486, "Busy Here"
	}
	return 500, "Server Internal Error"
}

// statusHeaders are the headers a status of statusOf must carry: Min-SE
// with 422 (RFC 4028 §6), Allow with 405 (RFC 3261 §21.4.6).
func statusHeaders(err error) []sip.Header {
	var brief *tooBrief
	if errors.As(err, &brief) {
		return []sip.Header{sip.NewHeader("Min-SE", strconv.Itoa(int(brief.min/time.Second)))}
	}
	if errors.Is(err, errUnsupportedBody) {
		return []sip.Header{sip.NewHeader("Accept", "application/sdp")}
	}
	return nil
}
