package dialplan

import (
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/dialroom/dialroom"
)

// ErrBadStem is returned (wrapped) by Generate in per_operator mode when the
// operator has no stem yet or the stem no longer fits the numbering rules (the
// admin changed prefixes or random_digits). The caller makes a new one with
// NewStem, stores it with the operator, and generates again.
var ErrBadStem = errors.New("operator stem missing or not valid for the numbering rules")

// maxRejects bounds how many random bytes one call may throw away before it
// gives up. A real random source rejects about one byte in forty, so reaching
// the bound means the reader is broken; without it a reader stuck on 0xFF
// would loop forever.
const maxRejects = 64

// Generate returns a new 11-digit number following the rules, reading
// randomness from r (crypto/rand.Reader in production; the mission requires a
// cryptographic source). Every random digit is uniform: bytes that would bias
// a digit are rejected rather than reduced modulo 10.
//
// In per_conference mode stem is ignored: the prefix is picked at random from
// Prefixes and all 8 following digits are random. In per_operator mode the
// number is stem followed by RandomDigits random digits; a stem that is empty or
// fails StemValid gives an error wrapping ErrBadStem.
//
// Generate does not know which numbers are live: the caller stores the number
// and, on a conflict, generates again.
func (n Numbering) Generate(r io.Reader, stem string) (string, error) {
	if err := n.check(); err != nil {
		return "", err
	}
	var buf [dialroom.NumberLength]byte
	var fixed int // leading digits that are already set
	switch n.Mode {
	case PerOperator:
		if stem == "" {
			return "", fmt.Errorf("dialplan: %w: the operator has no stem yet", ErrBadStem)
		}
		if !n.StemValid(stem) {
			return "", fmt.Errorf("dialplan: %w: stem %q", ErrBadStem, stem)
		}
		fixed = copy(buf[:], stem)
	default:
		if err := n.randomPrefix(r, buf[:prefixLength]); err != nil {
			return "", err
		}
		fixed = prefixLength
	}
	if err := randomDigits(r, buf[fixed:]); err != nil {
		return "", err
	}
	return string(buf[:]), nil
}

// NewStem returns new fixed leading digits for an operator in per_operator
// mode: a prefix picked at random from Prefixes followed by random digits, in
// all 11 - RandomDigits long. It is an error in per_conference mode.
func (n Numbering) NewStem(r io.Reader) (string, error) {
	if err := n.check(); err != nil {
		return "", err
	}
	if n.Mode != PerOperator {
		return "", fmt.Errorf("dialplan: stems are used only in %s mode, not %s", PerOperator, n.Mode)
	}
	buf := make([]byte, n.stemLength())
	if err := n.randomPrefix(r, buf[:prefixLength]); err != nil {
		return "", err
	}
	if err := randomDigits(r, buf[prefixLength:]); err != nil {
		return "", err
	}
	return string(buf), nil
}

// StemValid reports whether stem can be used by Generate under these rules: the
// mode is per_operator, and stem is 11 - RandomDigits digits starting with one
// of Prefixes. A stem made under an older configuration may fail; the caller
// then makes a new one with NewStem.
func (n Numbering) StemValid(stem string) bool {
	return n.Mode == PerOperator && n.check() == nil &&
		len(stem) == n.stemLength() && allDigits(stem) &&
		slices.Contains(n.Prefixes, stem[:prefixLength])
}

// Allows reports whether digits could be a number issued under these rules: 11
// ASCII digits starting with one of Prefixes. It lets a guest's typo be refused
// before any lookup; it does not say the number is live.
func (n Numbering) Allows(digits string) bool {
	return len(digits) == dialroom.NumberLength && allDigits(digits) &&
		slices.Contains(n.Prefixes, digits[:prefixLength])
}

func (n Numbering) stemLength() int { return dialroom.NumberLength - n.RandomDigits }

// check guards Generate and NewStem against a Numbering that did not come from
// Load (a literal in a test, a zero value): a number must never get a
// forbidden prefix, whatever the caller built.
func (n Numbering) check() error {
	if len(n.Prefixes) == 0 {
		return errors.New("dialplan: numbering has no prefixes")
	}
	for _, p := range n.Prefixes {
		if !validPrefixSyntax(p) || forbiddenPrefix(p) != "" {
			return fmt.Errorf("dialplan: numbering has an invalid prefix %q", p)
		}
	}
	switch n.Mode {
	case PerConference:
	case PerOperator:
		if n.RandomDigits < MinRandomDigits || n.RandomDigits > MaxRandomDigits {
			return fmt.Errorf("dialplan: numbering has random_digits %d, want %d to %d",
				n.RandomDigits, MinRandomDigits, MaxRandomDigits)
		}
	default:
		return fmt.Errorf("dialplan: numbering has an unknown mode %q", n.Mode)
	}
	return nil
}

// randomPrefix copies a prefix picked uniformly from n.Prefixes into dst.
func (n Numbering) randomPrefix(r io.Reader, dst []byte) error {
	count := len(n.Prefixes)
	i := 0
	if count > 1 {
		// Accept only bytes below the largest multiple of count that fits in a
		// byte, so that every prefix is equally likely.
		limit := 256 - 256%count
		var b [1]byte
		for rejects := 0; ; rejects++ {
			if rejects > maxRejects {
				return errBrokenReader
			}
			if _, err := io.ReadFull(r, b[:]); err != nil {
				return fmt.Errorf("dialplan: reading randomness: %w", err)
			}
			if int(b[0]) < limit {
				i = int(b[0]) % count
				break
			}
		}
	}
	copy(dst, n.Prefixes[i])
	return nil
}

var errBrokenReader = errors.New("dialplan: the randomness source returns too many unusable bytes; is it broken?")

// randomDigits fills dst (at most 11 bytes) with uniform ASCII digits from r.
func randomDigits(r io.Reader, dst []byte) error {
	var raw [dialroom.NumberLength]byte
	rejects := 0
	for len(dst) > 0 {
		b := raw[:len(dst)]
		if _, err := io.ReadFull(r, b); err != nil {
			return fmt.Errorf("dialplan: reading randomness: %w", err)
		}
		for _, x := range b {
			// 250 is the largest multiple of 10 below 256. Taking bytes
			// 250–255 modulo 10 would make 0–5 more likely than 6–9.
			if x >= 250 {
				rejects++
				continue
			}
			dst[0] = '0' + x%10
			dst = dst[1:]
		}
		if rejects > maxRejects {
			return errBrokenReader
		}
	}
	return nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
