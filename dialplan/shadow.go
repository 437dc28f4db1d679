package dialplan

import (
	"fmt"
	"slices"

	"go.yaml.in/yaml/v3"
)

// A rule is shadowed when an earlier rule matches every call (or dial-out
// number) it would: it can never apply, which is almost always a mistake
// in the order of the rules. Load reports each shadowed rule as a warning
// naming both lines.
//
// The check is exact for literals and Asterisk patterns and finds a rule
// shadowed by one earlier rule; a rule covered only by several earlier rules
// together, or by a regular expression other than the same one, is not
// reported. Candidates come from the same tries that route calls, so the
// check stays fast on large plans.

// maxShadowCandidates bounds the work per rule in pathological plans (thousands
// of rules that overlap but never cover each other); real plans have a handful.
const maxShadowCandidates = 1000

// shadowedBy returns the first candidate that covers rule b, or -1.
func shadowedBy(b int32, candidates []int32, covers func(a int32) bool) int32 {
	slices.Sort(candidates)
	candidates = slices.Compact(candidates)
	for i, a := range candidates {
		if i == maxShadowCandidates {
			break
		}
		if covers(a) {
			return a
		}
	}
	return -1
}

// patternsCover reports whether every string matched by one of b is matched
// by one of a; an empty list matches anything.
func patternsCover(a, b []*pattern) bool {
	if len(a) == 0 {
		return true
	}
	if len(b) == 0 {
		return false
	}
	for _, pb := range b {
		covered := false
		for _, pa := range a {
			if pb.within(pa) {
				covered = true
				break
			}
		}
		if !covered {
			return false
		}
	}
	return true
}

// routeCovers reports whether route a matches every call route b matches.
func routeCovers(a, b *Rule) bool {
	if a.Action == ActionCollect && b.Action != ActionCollect {
		return false // a does not match collected numbers; b does
	}
	if len(a.Trunks) > 0 {
		if len(b.Trunks) == 0 {
			return false
		}
		for _, t := range b.Trunks {
			if !slices.Contains(a.Trunks, t) {
				return false
			}
		}
	}
	return patternsCover(a.exts, b.exts) && patternsCover(a.to, b.to) && patternsCover(a.from, b.from)
}

// checkShadowedRoutes warns about every route an earlier route shadows.
func checkShadowedRoutes(d *decoder, path string, rules []*Rule, nodes []*yaml.Node, ix *routeIndex) {
	var cand []int32
	for i, b := range rules {
		bi := int32(i)
		cand = cand[:0]
		if len(b.to) > 0 {
			cand = ix.to.containing(b.to[0], bi, cand)
		}
		if len(b.from) > 0 {
			cand = ix.from.containing(b.from[0], bi, cand)
		}
		for _, r := range ix.rest {
			if r >= bi || len(cand) > maxShadowCandidates {
				break
			}
			cand = append(cand, r)
		}
		a := shadowedBy(bi, cand, func(a int32) bool { return routeCovers(rules[a], b) })
		if a >= 0 {
			d.warnf(nodes[i], fmt.Sprintf("%s[%d]", path, i), "route %q can never match: route %q (line %d) matches every call it would",
				b.Name, rules[a].Name, rules[a].Line)
		}
	}
}

// dialoutCovers reports whether dial-out rule a matches every operator and
// number rule b matches.
func dialoutCovers(a, b *DialoutRule) bool {
	if len(a.Operators) > 0 {
		if len(b.Operators) == 0 {
			return false
		}
		for _, op := range b.Operators {
			if !slices.Contains(a.Operators, op) {
				return false
			}
		}
	}
	return patternsCover(a.to, b.to)
}

// checkShadowedDialout warns about every dial-out rule an earlier rule shadows.
func checkShadowedDialout(d *decoder, path string, rules []*DialoutRule, nodes []*yaml.Node, ix *index) {
	var cand []int32
	for i, b := range rules {
		if len(b.to) == 0 {
			continue
		}
		bi := int32(i)
		cand = ix.containing(b.to[0], bi, cand[:0])
		a := shadowedBy(bi, cand, func(a int32) bool { return dialoutCovers(rules[a], b) })
		if a >= 0 {
			verb := "allows"
			if !rules[a].Allow {
				verb = "denies"
			}
			d.warnf(nodes[i], fmt.Sprintf("%s[%d]", path, i), "dial-out rule %q never applies: rule %q (line %d) %s every number it would match, for every operator it names",
				b.Name, rules[a].Name, rules[a].Line, verb)
		}
	}
}
