package dialplan

import (
	"fmt"
	"slices"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/dialroom/dialroom"
	"github.com/dialroom/dialroom/yamlcheck"
)

// Mode says how issued numbers relate to operators.
type Mode string

const (
	// PerConference issues a new number for every conference: every digit after
	// the prefix is random.
	PerConference Mode = "per_conference"
	// PerOperator gives each operator fixed leading digits (a stem, prefix
	// included) so their numbers look alike; only the last RandomDigits vary.
	PerOperator Mode = "per_operator"
)

// Limits and defaults of the numbering section.
const (
	prefixLength = 3 // 0X0

	// MinRandomDigits is the fewest random trailing digits a number may have:
	// the mission requires at least the last four digits to be random, so a
	// guest who learns one number cannot guess the next.
	MinRandomDigits = 4
	// MaxRandomDigits is every digit after the prefix.
	MaxRandomDigits = dialroom.NumberLength - prefixLength

	// DefaultRandomDigits applies in per_conference mode: all digits after the
	// prefix are random, which makes a number as hard to guess as 11 digits allow.
	DefaultRandomDigits = MaxRandomDigits
	// DefaultOperatorRandomDigits applies in per_operator mode: the patent's
	// "fixed per operator with only the last four digits varying". Four digits
	// still resist guessing because joins are rate-limited per address.
	DefaultOperatorRandomDigits = MinRandomDigits

	// DefaultLifetime is how long an issued number stays live. A number is told
	// to guests for a meeting that day: 24 hours covers the meeting, a late
	// start and guests in other time zones, while a number left in an old mail
	// or chat stops opening a room by the next day.
	DefaultLifetime = 24 * time.Hour
)

// DefaultPrefixes returns the prefixes used when the dialplan names none:
// 060, 030 and 040, which no real subscriber numbers used when this was
// written. 010 (the international call prefix) and 020 (M2M devices) are
// avoided on purpose; see [Load] for the prefixes that are refused.
func DefaultPrefixes() []string { return []string{"060", "030", "040"} }

// Numbering holds the rules for forming issued numbers. Load fills it from the
// numbering section of a dialplan; its methods do not modify it, so one value may
// be shared by any number of goroutines.
type Numbering struct {
	// Prefixes are the 3-digit 0X0 prefixes numbers start with (X from 1 to 9),
	// never 090, 080, 070 or 050. One is picked at random for each number or stem.
	Prefixes []string
	// RandomDigits is how many trailing digits are random: MinRandomDigits to
	// MaxRandomDigits in per_operator mode. In per_conference mode every digit
	// after the prefix is random and Load sets it to MaxRandomDigits.
	RandomDigits int
	// Mode is PerConference or PerOperator.
	Mode Mode
	// Lifetime is how long a number stays live after it is issued; 0 means
	// numbers never expire.
	Lifetime time.Duration
}

// DefaultNumbering returns the numbering used when a dialplan has no numbering
// section: per_conference, the default prefixes, 8 random digits, 24 hours.
func DefaultNumbering() Numbering {
	return Numbering{
		Prefixes:     DefaultPrefixes(),
		RandomDigits: DefaultRandomDigits,
		Mode:         PerConference,
		Lifetime:     DefaultLifetime,
	}
}

// ExpiresAt returns when a number issued at issued stops being live, or the zero
// time if numbers never expire.
func (n Numbering) ExpiresAt(issued time.Time) time.Time {
	if n.Lifetime == 0 {
		return time.Time{}
	}
	return issued.Add(n.Lifetime)
}

// forbiddenPrefix says why a prefix may never be used, or "" if it may.
func forbiddenPrefix(p string) string {
	switch p {
	case "090", "080", "070":
		return "it belongs to real mobile phone numbers, so an issued number could ring a stranger"
	case "050":
		return "it belongs to real IP-phone numbers, so an issued number could ring a stranger"
	}
	return ""
}

// discouragedPrefix says why a prefix is a poor choice, or "" if it is fine.
func discouragedPrefix(p string) string {
	switch p {
	case "010":
		return "010 is the international call prefix: a guest dialling the number from a phone would start an international call"
	case "020":
		return "020 is assigned to M2M and IoT devices: an issued number could be a real device's number"
	}
	return ""
}

func validPrefixSyntax(p string) bool {
	return len(p) == prefixLength && p[0] == '0' && p[1] >= '1' && p[1] <= '9' && p[2] == '0'
}

const expectedPrefix = `a prefix 0X0 with X from 1 to 9, not 050, 070, 080 or 090, e.g. "060"`

// decodeNumbering decodes the numbering section into a Numbering that starts
// from the defaults.
func decodeNumbering(d *decoder, path string, n *yaml.Node) Numbering {
	num := DefaultNumbering()
	var digitsNode *yaml.Node
	d.mapping(path, n, []field{
		{"prefixes", func(p string, v *yaml.Node) {
			if prefixes, ok := d.prefixes(p, v); ok {
				num.Prefixes = prefixes
			}
		}},
		{"random_digits", func(p string, v *yaml.Node) {
			digitsNode = v
			if x, ok := d.integer(p, v, MinRandomDigits, MaxRandomDigits); ok {
				num.RandomDigits = x
			}
		}},
		{"mode", func(p string, v *yaml.Node) {
			const expected = "per_conference or per_operator"
			s, ok := d.str(p, v, expected)
			if !ok {
				return
			}
			switch m := Mode(s); m {
			case PerConference, PerOperator:
				num.Mode = m
			default:
				d.errorf(v, p, expected+yamlcheck.DidYouMean(s, string(PerConference), string(PerOperator)), "unknown mode %q", s)
			}
		}},
		{"lifetime", func(p string, v *yaml.Node) {
			if life, ok := d.duration(p, v, "a duration like 24h, 90m or 7d, or 0 for numbers that never expire"); ok {
				num.Lifetime = life
			}
		}},
	})
	switch {
	case digitsNode == nil && num.Mode == PerOperator:
		num.RandomDigits = DefaultOperatorRandomDigits
	case num.Mode == PerConference:
		if digitsNode != nil && num.RandomDigits != MaxRandomDigits {
			d.warnf(digitsNode, yamlcheck.Join(path, "random_digits"),
				"has no effect in per_conference mode, where all %d digits after the prefix are random", MaxRandomDigits)
		}
		num.RandomDigits = MaxRandomDigits
	}
	return num
}

// prefixes decodes the list of prefixes. Unquoted prefixes are fine: YAML reads
// 060 as an octal integer and 080 as a float, but the text is what counts.
func (d *decoder) prefixes(path string, n *yaml.Node) ([]string, bool) {
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, path, `a list of prefixes, e.g. ["060", "030"]`, "found %s", describe(n))
		return nil, false
	}
	if len(n.Content) == 0 {
		d.errorf(n, path, `at least one prefix, e.g. ["060"]`, "the list is empty")
		return nil, false
	}
	ok := true
	var prefixes []string
	first := make(map[string]*yaml.Node)
	for i, item := range n.Content {
		ipath := fmt.Sprintf("%s[%d]", path, i)
		item = yamlcheck.Resolve(item)
		if item.Kind != yaml.ScalarNode || yamlcheck.IsNull(item) || !validPrefixSyntax(item.Value) {
			if yamlcheck.IsNull(item) {
				d.errorf(item, ipath, expectedPrefix, "missing prefix")
			} else {
				d.errorf(item, ipath, expectedPrefix, "found %s", describe(item))
			}
			ok = false
			continue
		}
		p := item.Value
		if why := forbiddenPrefix(p); why != "" {
			d.errorf(item, ipath, expectedPrefix, "prefix %s is forbidden: %s", p, why)
			ok = false
			continue
		}
		if prev, dup := first[p]; dup {
			l, c := yamlcheck.Position(prev)
			d.errorf(item, ipath, "each prefix once", "duplicate prefix %s (first at line %d, column %d)", p, l, c)
			ok = false
			continue
		}
		first[p] = item
		if why := discouragedPrefix(p); why != "" {
			d.warnf(item, ipath, "prefix %s is best avoided: %s", p, why)
		}
		prefixes = append(prefixes, p)
	}
	return slices.Clip(prefixes), ok
}
