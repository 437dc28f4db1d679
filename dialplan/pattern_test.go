package dialplan

import (
	"math/rand/v2"
	"strings"
	"testing"
)

func mustPattern(t testing.TB, s string) *pattern {
	t.Helper()
	p, err := parsePattern(s, patternOptions{names: true})
	if err != nil {
		t.Fatalf("parsePattern(%q): %v", s, err)
	}
	return p
}

func TestPatternMatch(t *testing.T) {
	tests := []struct {
		pattern string
		match   []string
		noMatch []string
	}{
		{"0312345678", []string{"0312345678"}, []string{"031234567", "03123456789", "+81312345678"}},
		{"03-1234-5678", []string{"0312345678"}, []string{"03-1234-5678"}},
		{"(03) 1234 5678", []string{"0312345678"}, nil},
		{"+14155550100", []string{"+14155550100"}, []string{"14155550100"}},
		{"201", []string{"201"}, []string{"2010", "20"}},
		{"*67", []string{"*67"}, []string{"67"}},
		{"#7119", []string{"#7119"}, []string{"7119"}},
		{"_0X0XXXXXXXX", []string{"06012345678", "00000000000", "09099999999"}, []string{"0601234567", "060123456789", "16012345678", "0601234567a"}},
		{"_0x0xxxxxxxx", []string{"06012345678"}, []string{"0601234567"}},
		{"_0Z0XXXXXXXX", []string{"06012345678"}, []string{"00012345678"}},
		{"_0N0XXXXXXXX", []string{"02012345678", "09012345678"}, []string{"01012345678"}},
		{"_060-XXXX-XXXX", []string{"06012345678"}, []string{"060-1234-5678"}},
		{"_0[1-5]0X", []string{"0100", "0509"}, []string{"0000", "0600"}},
		{"_0[135]0X", []string{"0100", "0309", "0505"}, []string{"0200", "0400"}},
		{"_0[1-35]0X", []string{"0100", "0300", "0500"}, []string{"0400"}},
		{"_[*#]X", []string{"*1", "#9"}, []string{"11"}},
		{"_0X.", []string{"012", "0123456"}, []string{"01", "0"}},
		{"_0X!", []string{"01", "012", "0123456"}, []string{"0"}},
		{"_.", []string{"1", "alice", "+1"}, []string{""}},
		{"_!", []string{"", "1", "alice"}, nil},
		{"_2XX", []string{"200", "299"}, []string{"20", "2000", "300"}},
		{"_+1NXXNXXXXXX", []string{"+14155550100"}, []string{"+11155550100", "14155550100"}},
		{"_0X.", []string{"01a"}, nil}, // tails match any character
		{"re:0120[0-9]{6}", []string{"0120123456"}, []string{"01201234567", "x0120123456"}},
		{"re:0120|0800", []string{"0120", "0800"}, []string{"01200800", "0120x"}}, // anchored around the alternation
		{"alice", []string{"alice"}, []string{"Alice", "alice2"}},
		{"anonymous", []string{"anonymous"}, []string{""}},
	}
	for _, tt := range tests {
		p := mustPattern(t, tt.pattern)
		for _, s := range tt.match {
			if !p.match(s) {
				t.Errorf("%q does not match %q", tt.pattern, s)
			}
		}
		for _, s := range tt.noMatch {
			if p.match(s) {
				t.Errorf("%q matches %q", tt.pattern, s)
			}
		}
	}
}

func TestPatternErrors(t *testing.T) {
	tests := []struct {
		pattern string
		names   bool
		want    string // part of the message
	}{
		{"", true, "empty pattern"},
		{"_", true, "matches nothing"},
		{"_0X[1-5", true, "'[' at character 4 is not closed"},
		{"_0X1-5]", true, "']' at character 7 without '['"},
		{"_0.X", true, "'.' matches everything after it"},
		{"_0!X", true, "'!' matches everything after it"},
		{"_0.!", true, "'.' matches everything after it"},
		{"_0A", true, "'A' at character 3 is not allowed"},
		{"_0 0", true, "' ' at character 3 is not allowed"},
		{"_0\x01", true, "byte 0x01 at character 3"},
		{"_0[]", true, "empty set []"},
		{"_0[5-1]", true, `bad range "5-1"`},
		{"_0[a]", true, "'a' is not allowed inside [ ]"},
		{"_0[1-]", true, "incomplete range"},
		{"_0[-1]", true, "'-' is not allowed inside [ ]"},
		{"_0[*-5]", true, `bad range "*-5"`},
		{"0X0XXXXXXXX", true, "looks like a pattern, but patterns start with _"},
		{"0312.", true, "looks like a pattern"},
		{"_+81312345678", true, "starts with +81"},
		{"+81312345678", true, "starts with +81"},
		{"+81-3-1234-5678", true, "starts with +81"},
		{"re:", true, "empty regular expression"},
		{"re:(", true, "bad regular expression"},
		{"al ice", true, "neither a number nor a name"},
		{"alice", false, "is not a number"},
		{"--", true, "has no digits"},
		{"_" + strings.Repeat("X", maxPatternChars+1), true, "too long"},
		{strings.Repeat("1", maxPatternChars+1), true, "too long"},
	}
	for _, tt := range tests {
		_, err := parsePattern(tt.pattern, patternOptions{names: tt.names})
		if err == nil {
			t.Errorf("parsePattern(%q) succeeded, want %q", tt.pattern, tt.want)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("parsePattern(%q) = %q, want %q", tt.pattern, err, tt.want)
		}
		if err.(*patternError).expected == "" {
			t.Errorf("parsePattern(%q): no expected clause", tt.pattern)
		}
	}
}

func TestPatternWithin(t *testing.T) {
	tests := []struct {
		p, q string
		want bool
	}{
		{"0312345678", "0312345678", true},
		{"0312345678", "_03XXXXXXXX", true},
		{"_03XXXXXXXX", "0312345678", false},
		{"_0601234XXXX", "_060XXXXXXXX", true},
		{"_060XXXXXXXX", "_0601234XXXX", false},
		{"_060XXXXXXXX", "_0X.", true},
		{"_060XXXXXXXX", "_0X!", true},
		{"_0X", "_0X.", false}, // '.' needs one more character
		{"_0X", "_0X!", true},
		{"_0X.", "_0X!", true},
		{"_0X!", "_0X.", false},
		{"_0X.", "_0XX!", false}, // p has 01a, q needs a digit there
		{"_0XX!", "_0X.", true},
		{"_0X.", "_0XX.", false},
		{"_0X.", "_0XXX", false},
		{"_0Z0XXXXXXXX", "_0X0XXXXXXXX", true},
		{"_0X0XXXXXXXX", "_0Z0XXXXXXXX", false},
		{"_0[1-3]", "_0[1-5]", true},
		{"_0[1-5]", "_0[1-3]", false},
		{"_0N", "_0Z", true},
		{"alice", "_.", true},
		{"alice", "alice", true},
		{"alice", "_X.", false},
		{"re:0120.*", "re:0120.*", true},
		{"re:0120.*", "_0.", false},
		{"0120123456", "re:0120.*", false}, // only a regexp contains a regexp
	}
	for _, tt := range tests {
		if got := mustPattern(t, tt.p).within(mustPattern(t, tt.q)); got != tt.want {
			t.Errorf("%q within %q = %v, want %v", tt.p, tt.q, got, tt.want)
		}
	}
}

func TestPatternIntersects(t *testing.T) {
	tests := []struct {
		p, q string
		want bool
	}{
		{"_060XXXXXXXX", "_0X0XXXXXXXX", true},
		{"_060XXXXXXXX", "_030XXXXXXXX", false},
		{"0312345678", "_060XXXXXXXX", false},
		{"_0X.", "_060XXXXXXXX", true},
		{"_0X", "_0X.", false},
		{"_0X!", "_0X", true},
		{"_06.", "_03.", false},
		{"alice", "_.", true},
		{"re:.*", "_1", true},
	}
	for _, tt := range tests {
		p, q := mustPattern(t, tt.p), mustPattern(t, tt.q)
		if got := p.intersects(q); got != tt.want {
			t.Errorf("%q intersects %q = %v, want %v", tt.p, tt.q, got, tt.want)
		}
		if got := q.intersects(p); got != tt.want {
			t.Errorf("%q intersects %q = %v, want %v (reversed)", tt.q, tt.p, got, tt.want)
		}
	}
}

// TestPatternWithinBruteForce checks within and intersects against their
// definitions on random patterns, and that example() gives a matching string.
func TestPatternWithinBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		p := mustPattern(t, randomPattern(r))
		q := mustPattern(t, randomPattern(r))
		if ex := p.example(); !p.match(ex) {
			t.Fatalf("%q does not match its example %q", p.text, ex)
		}
		// within claims p ⊆ q: no string of p may escape q.
		within := p.within(q)
		for _, s := range stringsUpTo(4) {
			if within && p.match(s) && !q.match(s) {
				t.Fatalf("%q within %q, but %q matches only the first", p.text, q.text, s)
			}
		}
		if p.intersects(q) {
			continue
		}
		for _, s := range stringsUpTo(4) {
			if p.match(s) && q.match(s) {
				t.Fatalf("%q and %q do not intersect, but both match %q", p.text, q.text, s)
			}
		}
	}
}

// randomPattern returns a short pattern over the digits 0–2, so that
// stringsUpTo can enumerate everything it might match.
func randomPattern(r *rand.Rand) string {
	var b strings.Builder
	b.WriteByte('_')
	n := r.IntN(4)
	for range n {
		switch r.IntN(4) {
		case 0:
			b.WriteString("X")
		case 1:
			b.WriteString("[12]")
		default:
			b.WriteByte('0' + byte(r.IntN(3)))
		}
	}
	switch r.IntN(4) {
	case 0:
		b.WriteByte('.')
	case 1:
		b.WriteByte('!')
	default:
		if n == 0 {
			b.WriteByte('1')
		}
	}
	return b.String()
}

var stringsCache = map[int][]string{}

// stringsUpTo returns every string of the digits 0–3 up to n characters (3
// stands in for every other digit).
func stringsUpTo(n int) []string {
	if s, ok := stringsCache[n]; ok {
		return s
	}
	out := []string{""}
	level := []string{""}
	for range n {
		var next []string
		for _, s := range level {
			for c := byte('0'); c <= '3'; c++ {
				next = append(next, s+string(c))
			}
		}
		out = append(out, next...)
		level = next
	}
	stringsCache[n] = out
	return out
}
