package dialroom

import (
	"errors"
	"fmt"
)

// Error codes. Each adapter maps them to its protocol once: HTTP statuses in
// webclient, SIP statuses in sip. Compare with ErrorCode, never with strings
// taken from messages.
const (
	ECONFLICT     = "conflict"     // the thing already exists (e.g. a login)
	EINTERNAL     = "internal"     // a bug or an unavailable dependency
	EINVALID      = "invalid"      // the request is malformed or fails validation
	ENOTFOUND     = "not_found"    // no such thing (or: not one you may know about)
	EUNAUTHORIZED = "unauthorized" // who you are is unknown or wrong
	EDENIED       = "denied"       // you are known but may not do this
	ETHROTTLED    = "throttled"    // too many attempts; retry later
	EGONE         = "gone"         // the conference or request ended
)

// Error is a domain error: a code for programs and a message for people.
// Message is safe to show to the user who caused the error; Err (optional) is
// the underlying cause for logs only.
type Error struct {
	Code    string
	Message string
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and a formatted user-facing message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for
// any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user-facing message of the first *Error in err's
// chain, or a generic message for any other error (whose text may hold details
// a user must not see).
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error."
}
