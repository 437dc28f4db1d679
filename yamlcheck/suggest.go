package yamlcheck

import (
	"fmt"
	"strings"
)

// ExpectedKey is the expected clause for an unknown key got of a mapping
// whose keys are keys: "one of a, b, c" (or the only key) and, for a likely
// typo, the key meant (see [DidYouMean]).
func ExpectedKey(got string, keys ...string) string {
	return OneOf(keys...) + DidYouMean(got, keys...)
}

// OneOf lists options for an expected clause: "one of a, b, c", or the only
// option as it is.
func OneOf(options ...string) string {
	if len(options) == 1 {
		return options[0]
	}
	return "one of " + strings.Join(options, ", ")
}

// DidYouMean suggests the option closest to got, if one is close enough to be
// a typo, as "; did you mean ...?" for an expected clause; otherwise "". got
// is compared in lower case, so options should be lower case.
func DidYouMean(got string, options ...string) string {
	best, bestDist := "", 3 // two edits at most: further off is not a typo
	for _, o := range options {
		if dist := editDistance(strings.ToLower(got), o); dist < bestDist {
			best, bestDist = o, dist
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf("; did you mean %q?", best)
}

// editDistance is the Levenshtein distance between a and b (bytes; keys are ASCII).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
