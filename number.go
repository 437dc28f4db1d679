package dialroom

import (
	"strings"
	"time"
)

// NumberLength is the length of an issued number: 11 digits, like a Japanese
// mobile number 0X0-XXXX-XXXX.
const NumberLength = 11

// Number is an issued communication number. It belongs to the operator who asked
// for it; guests reach that operator's conference by it. A number is live while it
// is neither revoked nor past ExpiresAt.
type Number struct {
	Digits    string    // 11 ASCII digits, e.g. "06012345678"
	Operator  string    // login ID of the operator it was issued to
	IssuedAt  time.Time // UTC
	ExpiresAt time.Time // UTC; zero means it never expires
	RevokedAt time.Time // UTC; zero while not revoked
}

// Live reports whether the number routes to its operator at time now.
func (n *Number) Live(now time.Time) bool {
	if !n.RevokedAt.IsZero() {
		return false
	}
	return n.ExpiresAt.IsZero() || now.Before(n.ExpiresAt)
}

// State returns "active", "revoked" or "expired" at time now.
func (n *Number) State(now time.Time) string {
	switch {
	case !n.RevokedAt.IsZero():
		return "revoked"
	case !n.ExpiresAt.IsZero() && !now.Before(n.ExpiresAt):
		return "expired"
	}
	return "active"
}

// Formatted returns the number as people write it: 0X0-XXXX-XXXX.
func (n *Number) Formatted() string { return FormatNumber(n.Digits) }

// FormatNumber formats 11 digits as 0X0-XXXX-XXXX; anything else is returned as is.
func FormatNumber(digits string) string {
	if len(digits) != NumberLength {
		return digits
	}
	return digits[:3] + "-" + digits[3:7] + "-" + digits[7:]
}

// NormalizeNumber turns a number as a person typed it into 11 ASCII digits.
// It accepts ASCII and full-width digits (U+FF10–U+FF19, common with Japanese
// input methods), and ignores spaces (including the ideographic space), dashes of
// every common kind, dots, slashes and parentheses. Anything else, or a result
// that is not exactly 11 digits, is an EINVALID error with a message a guest
// can act on.
func NormalizeNumber(typed string) (string, error) {
	var b strings.Builder
	for _, r := range typed {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r >= '０' && r <= '９':
			b.WriteRune('0' + (r - '０'))
		case strings.ContainsRune(" \t\u3000-‐‑‒–—―−ー－.．/()（）", r):
			// separators people type or paste; ー (katakana prolonged sound mark)
			// is what Japanese IMEs often produce for a dash.
		default:
			return "", Errorf(EINVALID, "A number contains only digits, like 060-1234-5678.")
		}
	}
	s := b.String()
	if len(s) != NumberLength {
		return "", Errorf(EINVALID, "A number has 11 digits, like 060-1234-5678.")
	}
	return s, nil
}
