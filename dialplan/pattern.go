package dialplan

import (
	"fmt"
	"regexp"
	"strings"
)

// Number patterns, as written in `to`, `from`, `from_extension` and dial-out
// `allow`/`deny` lists. Three forms:
//
//   - A literal: 0312345678, 03-1234-5678, +14155550100, 201. Dashes, spaces and
//     parentheses are ignored. Where a name is allowed (extensions, a SIP user
//     such as "alice" or "anonymous"), a literal may also be a name, matched
//     exactly.
//   - An Asterisk-style pattern, starting with _: X is any digit, Z is 1–9, N is
//     2–9, [1-5] or [135] is one digit of a set, digits and * # + stand for
//     themselves, dashes are ignored, and a final . matches one or more further
//     characters, a final ! zero or more.
//   - A regular expression, starting with re: (Go RE2 syntax). It must match the
//     whole number; the anchors are implied.
//
// Literals and Asterisk patterns compile to a sequence of symbol sets that a
// trie indexes (index.go); regular expressions are kept aside and tried in rule
// order, which is why they are for the rare case.

// The pattern alphabet: the ten digits and * # +. A symset is a set of symbols.
const (
	symStar    = 10
	symHash    = 11
	symPlus    = 12
	numSymbols = 13
)

type symset uint16

const (
	digitSet symset = 1<<10 - 1 // X
	nzSet    symset = digitSet &^ 1
	nSet     symset = digitSet &^ 3
)

// symbolOf returns the symbol of byte c, or -1 for a byte outside the alphabet.
func symbolOf(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c == '*':
		return symStar
	case c == '#':
		return symHash
	case c == '+':
		return symPlus
	}
	return -1
}

func symbolChar(s int) byte {
	switch s {
	case symStar:
		return '*'
	case symHash:
		return '#'
	case symPlus:
		return '+'
	}
	return '0' + byte(s)
}

// tail is what may follow the fixed positions of a pattern.
type tail uint8

const (
	tailNone       tail = iota // nothing: the number has exactly the fixed positions
	tailOneOrMore              // '.': one or more further characters, any
	tailZeroOrMore             // '!': zero or more further characters, any
)

// maxPatternChars bounds the fixed positions of a pattern, and so the depth of
// the trie and of its recursive walk. E.164 numbers have at most 15 digits;
// 64 leaves room for prefixes and long extension numbers.
const maxPatternChars = 64

// need is how many characters the tail needs at least.
func (t tail) need() int {
	if t == tailOneOrMore {
		return 1
	}
	return 0
}

type patternKind uint8

const (
	patDigits patternKind = iota // a literal number or an Asterisk pattern: classes + tail
	patName                      // a literal name, matched exactly
	patRegexp                    // re:...
)

// pattern is one compiled pattern. It is immutable once parsed.
type pattern struct {
	text    string // as written, for messages
	kind    patternKind
	classes []symset // patDigits: one set per fixed position
	tail    tail     // patDigits
	name    string   // patName
	re      *regexp.Regexp
}

// minLen is the length of the shortest string the pattern matches.
func (p *pattern) minLen() int { return len(p.classes) + p.tail.need() }

// match reports whether s matches the pattern. Tails match any characters;
// fixed positions match only symbols of their set.
func (p *pattern) match(s string) bool {
	switch p.kind {
	case patName:
		return s == p.name
	case patRegexp:
		return p.re.MatchString(s)
	}
	n := len(p.classes)
	if len(s) < n+p.tail.need() || (p.tail == tailNone && len(s) != n) {
		return false
	}
	for i, set := range p.classes {
		sym := symbolOf(s[i])
		if sym < 0 || set&(1<<sym) == 0 {
			return false
		}
	}
	return true
}

// within reports whether every string p matches is also matched by q (p ⊆ q).
// It is exact for literals and Asterisk patterns; a regular expression is only
// known to contain itself.
func (p *pattern) within(q *pattern) bool {
	switch {
	case q.kind == patRegexp:
		return p.kind == patRegexp && p.text == q.text
	case p.kind == patRegexp:
		return false
	case q.kind == patName:
		return p.kind == patName && p.name == q.name
	case p.kind == patName:
		return q.match(p.name)
	}
	n := len(q.classes)
	if q.tail == tailNone {
		if p.tail != tailNone || len(p.classes) != n {
			return false
		}
	} else if len(p.classes) < n || p.minLen() < n+q.tail.need() {
		return false
	}
	for i := range n {
		if p.classes[i]&^q.classes[i] != 0 {
			return false
		}
	}
	return true
}

// example returns one string the pattern matches ("" for a regular
// expression): the smallest symbol of each set, then '0's for a tail.
func (p *pattern) example() string {
	switch p.kind {
	case patName:
		return p.name
	case patRegexp:
		return ""
	}
	b := make([]byte, 0, p.minLen())
	for _, set := range p.classes {
		for s := range numSymbols {
			if set&(1<<s) != 0 {
				b = append(b, symbolChar(s))
				break
			}
		}
	}
	for range p.tail.need() {
		b = append(b, '0')
	}
	return string(b)
}

// patternSyntax names what may be written in a pattern, for "expected" clauses.
const patternSyntax = `a number like 0312345678, a pattern like _0X0XXXXXXXX (X any digit, Z 1-9, N 2-9, [1-5] a set, a final . one or more, a final ! zero or more), or re:REGEXP`

// patternError is what is wrong with a pattern.
type patternError struct {
	msg      string
	expected string
}

func (e *patternError) Error() string { return e.msg }

func badPattern(expected, format string, args ...any) *patternError {
	return &patternError{msg: fmt.Sprintf(format, args...), expected: expected}
}

// patternOptions says what a field accepts.
type patternOptions struct {
	names bool // a literal may be a name (extensions, SIP users)
}

// parsePattern compiles one pattern. The error, a *patternError, says what is
// wrong and what was expected.
func parsePattern(s string, opt patternOptions) (*pattern, error) {
	switch {
	case s == "":
		return nil, badPattern(patternSyntax, "empty pattern")
	case strings.HasPrefix(s, "re:"):
		return parseRegexp(s)
	case s[0] == '_':
		return parseAsterisk(s)
	}
	return parseLiteral(s, opt)
}

func parseRegexp(s string) (*pattern, error) {
	expr := s[len("re:"):]
	if expr == "" {
		return nil, badPattern("re: followed by a regular expression, e.g. re:0120[0-9]{6}", "empty regular expression")
	}
	if _, err := regexp.Compile(expr); err != nil {
		// Compiled alone first, so that the message quotes what the admin
		// wrote. regexp's messages start with "error parsing regexp: ".
		msg := strings.TrimPrefix(err.Error(), "error parsing regexp: ")
		return nil, badPattern("a Go (RE2) regular expression", "bad regular expression %q: %s", expr, escapeLineBreaks(msg))
	}
	re, err := regexp.Compile(`^(?:` + expr + `)$`)
	if err != nil {
		return nil, badPattern("a Go (RE2) regular expression", "bad regular expression %q: %s", expr, escapeLineBreaks(err.Error()))
	}
	return &pattern{text: s, kind: patRegexp, re: re}, nil
}

func parseAsterisk(s string) (*pattern, error) {
	p := &pattern{text: s, kind: patDigits}
	body := s[1:]
	for i := 0; i < len(body); i++ {
		c := body[i]
		if p.tail != tailNone {
			return nil, badPattern(patternSyntax, "pattern %q: %q matches everything after it, so it must come last", s, body[i-1])
		}
		var set symset
		switch {
		case c == '-':
			continue // a visual separator, as in _060-XXXX-XXXX
		case symbolOf(c) >= 0:
			set = 1 << symbolOf(c)
		case c == 'X' || c == 'x':
			set = digitSet
		case c == 'Z' || c == 'z':
			set = nzSet
		case c == 'N' || c == 'n':
			set = nSet
		case c == '.':
			p.tail = tailOneOrMore
			continue
		case c == '!':
			p.tail = tailZeroOrMore
			continue
		case c == '[':
			end := strings.IndexByte(body[i:], ']')
			if end < 0 {
				return nil, badPattern(patternSyntax, "pattern %q: '[' at character %d is not closed by ']'", s, i+2)
			}
			var err error
			if set, err = parseClass(s, body[i+1:i+end], i+2); err != nil {
				return nil, err
			}
			i += end
		case c == ']':
			return nil, badPattern(patternSyntax, "pattern %q: ']' at character %d without '['", s, i+2)
		default:
			return nil, badPattern(patternSyntax, "pattern %q: %s at character %d is not allowed in a pattern", s, quoteChar(c), i+2)
		}
		if len(p.classes) == maxPatternChars {
			return nil, badPattern(fmt.Sprintf("at most %d characters", maxPatternChars), "pattern %q is too long", s)
		}
		p.classes = append(p.classes, set)
	}
	if len(p.classes) == 0 && p.tail == tailNone {
		return nil, badPattern(patternSyntax, "pattern %q matches nothing: write the digits after _", s)
	}
	if err := checkNational(s, p.classes); err != nil {
		return nil, err
	}
	return p, nil
}

// parseClass parses the inside of [...]: digits, * # +, and ranges of digits
// like 1-5. at is the position of '[' in the pattern, for messages.
func parseClass(s, class string, at int) (symset, error) {
	if class == "" {
		return 0, badPattern(patternSyntax, "pattern %q: empty set [] at character %d", s, at)
	}
	var set symset
	for j := 0; j < len(class); j++ {
		c := class[j]
		sym := symbolOf(c)
		if sym < 0 {
			return 0, badPattern("digits, * # + and ranges like 1-5 inside [ ]", "pattern %q: %s is not allowed inside [ ]", s, quoteChar(c))
		}
		if j+2 < len(class) && class[j+1] == '-' {
			hi := class[j+2]
			if c < '0' || c > '9' || hi < '0' || hi > '9' || hi < c {
				return 0, badPattern("a range of digits from low to high, like [1-5]", "pattern %q: bad range %q", s, class[j:j+3])
			}
			for d := c; d <= hi; d++ {
				set |= 1 << (d - '0')
			}
			j += 2
			continue
		}
		if c == '-' || (j+1 < len(class) && class[j+1] == '-') {
			return 0, badPattern("a range of digits from low to high, like [1-5]", "pattern %q: incomplete range in [%s]", s, class)
		}
		set |= 1 << sym
	}
	return set, nil
}

// numberSeparators are ignored in literal numbers: 03-1234-5678, (03) 1234 5678.
const numberSeparators = "- ()"

func parseLiteral(s string, opt patternOptions) (*pattern, error) {
	number := true
	for i := 0; i < len(s); i++ {
		if symbolOf(s[i]) < 0 && strings.IndexByte(numberSeparators, s[i]) < 0 {
			number = false
			break
		}
	}
	if number {
		p := &pattern{text: s, kind: patDigits}
		for i := 0; i < len(s); i++ {
			if sym := symbolOf(s[i]); sym >= 0 {
				p.classes = append(p.classes, 1<<sym)
			}
		}
		switch {
		case len(p.classes) == 0:
			return nil, badPattern(patternSyntax, "%q has no digits", s)
		case len(p.classes) > maxPatternChars:
			return nil, badPattern(fmt.Sprintf("at most %d characters", maxPatternChars), "number %q is too long", s)
		}
		if err := checkNational(s, p.classes); err != nil {
			return nil, err
		}
		return p, nil
	}
	if looksLikePattern(s) {
		return nil, badPattern("_"+s, "%q looks like a pattern, but patterns start with _", s)
	}
	if !opt.names {
		return nil, badPattern(patternSyntax, "%q is not a number", s)
	}
	if !validName(s) {
		return nil, badPattern("a number, or a name of letters, digits, '.', '_', '-' and '@'", "%q is neither a number nor a name", s)
	}
	return &pattern{text: s, kind: patName, name: s}, nil
}

// looksLikePattern reports whether s uses only pattern characters and at least
// one that a literal never has: an admin who wrote 0X0XXXXXXXX meant _0X0XXXXXXXX.
func looksLikePattern(s string) bool {
	meta := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case symbolOf(c) >= 0 || c == '-':
		case strings.IndexByte("XxZzNn[].!", c) >= 0:
			meta = true
		default:
			return false
		}
	}
	return meta
}

// checkNational refuses a pattern that starts with +81: calls and dial-out
// numbers are matched in national form (0AB…), so it could never match.
func checkNational(s string, classes []symset) error {
	if len(classes) >= 3 && classes[0] == 1<<symPlus && classes[1] == 1<<8 && classes[2] == 1<<1 {
		return badPattern("the national form, 0 instead of +81", "%q starts with +81, but Japanese numbers are matched in national form (+81 3… arrives as 03…)", s)
	}
	return nil
}

// validName accepts 1–64 letters, digits, '.', '_', '-' and '@' starting with
// a letter or digit: logins, SIP user names and the names of rules, trunks
// and prompts.
func validName(s string) bool {
	if len(s) == 0 || len(s) > 64 || !isAlnum(s[0]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '.' && c != '_' && c != '-' && c != '@' {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func quoteChar(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return fmt.Sprintf("'%c'", c)
	}
	return fmt.Sprintf("byte 0x%02x", c)
}

// escapeLineBreaks returns s on one line: regexp quotes the offending part
// of an expression raw, and a YAML string may hold any character (found by
// FuzzLoad), but a problem is one line.
func escapeLineBreaks(s string) string {
	return strings.NewReplacer("\n", `\n`, "\r", `\r`, "\v", `\v`, "\f", `\f`,
		"\u2028", `\u2028`, "\u2029", `\u2029`).Replace(s)
}
