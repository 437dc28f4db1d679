package yamlcheck

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Problem is one thing wrong in a YAML file an admin edits. Loaders return
// every problem they find, joined with errors.Join; use errors.As to get at
// the first one, or the Unwrap() []error method of the joined error to walk
// them all.
type Problem struct {
	File     string // the file name given to the loader; "" for a problem found outside any file
	Line     int    // 1-based; 0 when the problem has no position
	Column   int    // 1-based; 0 when the problem has no position
	Path     string // where in the document, e.g. "http.tls.key_file" or "numbering.prefixes[1]"; "" for the whole file
	Message  string // what is wrong
	Expected string // what would have been right; may be ""
}

// Error formats the problem as FILE:LINE:COL: PATH: MESSAGE (expected
// EXPECTED), the form editors and CI logs turn into links. Without a position
// (Line 0) it starts at PATH; without a path, at MESSAGE.
func (p *Problem) Error() string {
	var b strings.Builder
	if p.Line > 0 {
		fmt.Fprintf(&b, "%s:%d:%d: ", p.File, p.Line, p.Column)
	}
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	if p.Expected != "" {
		b.WriteString(" (expected ")
		b.WriteString(p.Expected)
		b.WriteString(")")
	}
	return b.String()
}

// Sort puts problems in file order (line, then column), keeping the order in
// which they were found for problems at the same place.
func Sort(ps []*Problem) {
	slices.SortStableFunc(ps, func(a, b *Problem) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
}
