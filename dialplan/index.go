package dialplan

import (
	"math"
	"slices"
)

// index finds, among the patterns of many rules, the first rule in rule order
// whose pattern matches a string, without trying the rules one by one.
//
// Literal numbers and Asterisk patterns go into a trie whose edges are symbol
// sets: walking a number of length L visits the paths whose sets accept its
// digits, which for real dialplans (DIDs, prefixes, a few catch-alls) is a
// handful per level, however many rules there are. Every node knows the
// smallest rule below it, so a walk skips subtrees that cannot beat the best
// rule found so far: precedence costs nothing extra. Names are looked up in a
// map; regular expressions are tried one by one, in rule order, only for
// rules before the best found by the trie.
//
// An index is built once by Load and only read afterwards, so any number of
// goroutines may look up concurrently.
type index struct {
	nodes   []trieNode // nodes[0] is the root once a pattern was added
	names   map[string][]int32
	regexps []regexpRule // ascending by rule
}

type trieNode struct {
	// edges lead to children; a child's min is never below an earlier
	// edge's child's min (rules are added in order), so a walk can stop at
	// the first child that cannot improve on the best rule.
	edges []trieEdge
	end   []int32    // rules with a pattern ending exactly here, ascending
	tails []tailRule // rules with a pattern whose . or ! tail starts here, ascending
	min   int32      // the smallest rule in this subtree
}

type trieEdge struct {
	set   symset
	child int32
}

type tailRule struct {
	rule int32
	need uint8 // characters the tail needs at least: 1 for '.', 0 for '!'
}

type regexpRule struct {
	rule int32
	p    *pattern
}

// noRule is larger than any rule number: "nothing found yet".
const noRule = int32(math.MaxInt32)

// add indexes pattern p of rule. Rules must be added in ascending order (a
// rule's several patterns in any order).
func (ix *index) add(rule int32, p *pattern) {
	switch p.kind {
	case patName:
		if ix.names == nil {
			ix.names = make(map[string][]int32)
		}
		ix.names[p.name] = appendRule(ix.names[p.name], rule)
		return
	case patRegexp:
		ix.regexps = append(ix.regexps, regexpRule{rule, p})
		return
	}
	if len(ix.nodes) == 0 {
		ix.nodes = append(ix.nodes, trieNode{min: rule})
	}
	ni := int32(0)
	for _, set := range p.classes {
		next := int32(-1)
		for _, e := range ix.nodes[ni].edges {
			if e.set == set {
				next = e.child
				break
			}
		}
		if next < 0 {
			next = int32(len(ix.nodes))
			ix.nodes = append(ix.nodes, trieNode{min: rule})
			ix.nodes[ni].edges = append(ix.nodes[ni].edges, trieEdge{set, next})
		}
		ni = next
	}
	nd := &ix.nodes[ni]
	if p.tail == tailNone {
		nd.end = appendRule(nd.end, rule)
		return
	}
	need := uint8(p.tail.need())
	for _, t := range nd.tails {
		if t.rule == rule && t.need <= need {
			return // the rule already has a pattern at least as wide here
		}
	}
	nd.tails = append(nd.tails, tailRule{rule, need})
}

// appendRule appends rule unless it is already the last one (a rule with two
// patterns that compile alike).
func appendRule(rules []int32, rule int32) []int32 {
	if n := len(rules); n > 0 && rules[n-1] == rule {
		return rules
	}
	return append(rules, rule)
}

// matcher decides whether a rule whose pattern matched really applies: its
// other conditions. It is one concrete type for routes and dial-out rules,
// not an interface or a type parameter, so that escape analysis sees through
// the walk and a lookup allocates nothing.
type matcher struct {
	routes []*Rule
	call   Call       // numbers in route form
	skip   matchField // the field the index has matched

	dialout  []*DialoutRule
	operator string
}

func (m *matcher) accept(rule int32) bool {
	switch {
	case m.routes != nil:
		return m.routes[rule].matches(&m.call, m.skip)
	case m.dialout != nil:
		r := m.dialout[rule]
		return len(r.Operators) == 0 || slices.Contains(r.Operators, m.operator)
	}
	return true
}

// lookup returns the smallest rule below best that has a pattern matching s
// and that m accepts, or best if there is none.
func (ix *index) lookup(s string, m *matcher, best int32) int32 {
	if len(ix.nodes) > 0 {
		best = ix.walk(0, s, 0, m, best)
	}
	if len(ix.names) > 0 {
		best = first(ix.names[s], m, best)
	}
	for _, r := range ix.regexps {
		if r.rule >= best {
			break
		}
		if r.p.re.MatchString(s) && m.accept(r.rule) {
			best = r.rule
			break
		}
	}
	return best
}

func (ix *index) walk(ni int32, s string, pos int, m *matcher, best int32) int32 {
	nd := &ix.nodes[ni]
	rest := len(s) - pos
	for _, t := range nd.tails {
		if t.rule >= best {
			break
		}
		if rest >= int(t.need) && m.accept(t.rule) {
			best = t.rule
			break
		}
	}
	if rest == 0 {
		return first(nd.end, m, best)
	}
	sym := symbolOf(s[pos])
	if sym < 0 {
		return best
	}
	bit := symset(1) << sym
	for _, e := range nd.edges {
		if ix.nodes[e.child].min >= best {
			break
		}
		if e.set&bit != 0 {
			best = ix.walk(e.child, s, pos+1, m, best)
		}
	}
	return best
}

// first returns the first rule of the ascending list below best that m
// accepts, or best.
func first(rules []int32, m *matcher, best int32) int32 {
	for _, r := range rules {
		if r >= best {
			break
		}
		if m.accept(r) {
			return r
		}
	}
	return best
}

// containing appends to out every rule below limit that has a pattern q with
// p ⊆ q: every string p matches, q matches too. The result may hold a rule
// more than once and is not sorted. Load uses it to find shadowed rules.
func (ix *index) containing(p *pattern, limit int32, out []int32) []int32 {
	switch p.kind {
	case patRegexp:
		for _, r := range ix.regexps {
			if r.rule < limit && r.p.text == p.text {
				out = append(out, r.rule)
			}
		}
		return out
	case patName:
		// A name is one string: every pattern that matches it contains it.
		for _, r := range ix.names[p.name] {
			if r < limit {
				out = append(out, r)
			}
		}
		for _, r := range ix.regexps {
			if r.rule < limit && r.p.re.MatchString(p.name) {
				out = append(out, r.rule)
			}
		}
		if len(ix.nodes) > 0 {
			out = ix.matchingAll(0, p.name, 0, limit, out)
		}
		return out
	}
	if len(ix.nodes) > 0 {
		out = ix.walkWithin(0, p, 0, limit, out)
	}
	return out
}

// walkWithin is containing for a pattern of symbol sets: it follows the edges
// whose set includes p's set at each depth.
func (ix *index) walkWithin(ni int32, p *pattern, depth int, limit int32, out []int32) []int32 {
	nd := &ix.nodes[ni]
	for _, t := range nd.tails {
		if t.rule >= limit {
			break
		}
		// q is the path so far (a superset of p's first depth sets) and a
		// tail needing t.need more characters: p's strings are long enough.
		if p.minLen() >= depth+int(t.need) {
			out = append(out, t.rule)
		}
	}
	if depth == len(p.classes) {
		if p.tail == tailNone {
			for _, r := range nd.end {
				if r >= limit {
					break
				}
				out = append(out, r)
			}
		}
		// Deeper patterns fix characters that p's tail leaves free.
		return out
	}
	set := p.classes[depth]
	for _, e := range nd.edges {
		if ix.nodes[e.child].min >= limit {
			break
		}
		if set&^e.set == 0 {
			out = ix.walkWithin(e.child, p, depth+1, limit, out)
		}
	}
	return out
}

// matchingAll appends every rule below limit with a trie pattern matching s.
func (ix *index) matchingAll(ni int32, s string, pos int, limit int32, out []int32) []int32 {
	nd := &ix.nodes[ni]
	rest := len(s) - pos
	for _, t := range nd.tails {
		if t.rule < limit && rest >= int(t.need) {
			out = append(out, t.rule)
		}
	}
	if rest == 0 {
		for _, r := range nd.end {
			if r < limit {
				out = append(out, r)
			}
		}
		return out
	}
	sym := symbolOf(s[pos])
	if sym < 0 {
		return out
	}
	for _, e := range nd.edges {
		if ix.nodes[e.child].min >= limit {
			break
		}
		if e.set&(1<<sym) != 0 {
			out = ix.matchingAll(e.child, s, pos+1, limit, out)
		}
	}
	return out
}
