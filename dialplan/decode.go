package dialplan

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Problem is one thing wrong in a dialplan file. [Load] returns every problem it
// finds, joined with errors.Join; use errors.As to get at the first one, or the
// Unwrap() []error method of the joined error to walk them all.
type Problem struct {
	File     string // the file name given to Load
	Line     int    // 1-based
	Column   int    // 1-based
	Path     string // where in the document, e.g. "numbering.prefixes[1]"; "" for the whole file
	Message  string // what is wrong
	Expected string // what would have been right; may be ""
}

// Error formats the problem as FILE:LINE:COL: PATH: MESSAGE (expected EXPECTED),
// the form editors and CI logs turn into links.
func (p *Problem) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s:%d:%d: ", p.File, p.Line, p.Column)
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

// decoder walks a yaml.Node tree and collects problems and warnings. It is used
// by one Load call on one goroutine.
type decoder struct {
	file     string
	opts     LoadOptions
	problems []*Problem
	warnings []*Problem // Expected is not used
}

func (d *decoder) errorf(n *yaml.Node, path, expected, format string, args ...any) {
	line, col := position(n)
	d.problems = append(d.problems, &Problem{
		File: d.file, Line: line, Column: col, Path: path,
		Message: fmt.Sprintf(format, args...), Expected: expected,
	})
}

func (d *decoder) warnf(n *yaml.Node, path, format string, args ...any) {
	line, col := position(n)
	d.warnings = append(d.warnings, &Problem{
		File: d.file, Line: line, Column: col, Path: path,
		Message: fmt.Sprintf(format, args...),
	})
}

// warningTexts returns the warnings in file order, each as
// FILE:LINE:COL: PATH: MESSAGE.
func (d *decoder) warningTexts() []string {
	sortProblems(d.warnings)
	var out []string
	for _, w := range d.warnings {
		out = append(out, w.Error())
	}
	return out
}

func sortProblems(ps []*Problem) {
	slices.SortStableFunc(ps, func(a, b *Problem) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
}

// err returns every problem found, in file order.
func (d *decoder) err() error {
	sortProblems(d.problems)
	errs := make([]error, len(d.problems))
	for i, p := range d.problems {
		errs[i] = p
	}
	return errors.Join(errs...)
}

func position(n *yaml.Node) (line, col int) {
	if n == nil || n.Line == 0 {
		return 1, 1
	}
	return n.Line, n.Column
}

// yamlLine matches the position yaml.v3 puts in its syntax errors; the library
// offers no structured error for them. It reports no column, an error on the
// first line carries no line at all, and for some parser errors the line is that
// of the enclosing construct counted from 0 (one line early). We pass on what it
// says rather than guess.
var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parse reads the single YAML document in data. It returns nil (and no problem)
// for a file without content, such as an empty file or one with only comments.
func (d *decoder) parse(data []byte) *yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if err != io.EOF {
			d.syntaxError(err)
		}
		return nil
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		d.errorf(&next, "", "a single document", "a second YAML document starts here")
	case err != io.EOF:
		d.syntaxError(err)
	}
	if len(doc.Content) == 0 {
		return nil
	}
	return doc.Content[0]
}

func (d *decoder) syntaxError(err error) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 1
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		if l, convErr := strconv.Atoi(m[1]); convErr == nil {
			line, msg = l, m[2]
		}
	}
	d.problems = append(d.problems, &Problem{
		File: d.file, Line: line, Column: 1,
		Message: "invalid YAML: " + msg, Expected: "well-formed YAML",
	})
}

// checkKey reports a key that is not a plain scalar or is a merge key, and a
// key seen before; it returns false for those. seen maps each key to its node.
func (d *decoder) checkKey(path string, k *yaml.Node, seen map[string]*yaml.Node) bool {
	switch {
	case k.Tag == "!!merge":
		d.errorf(k, path, "the keys written out", "merge keys (<<) are not supported")
		return false
	case k.Kind != yaml.ScalarNode:
		d.errorf(k, path, "a plain key", "found %s as a key", describe(k))
		return false
	}
	if first, dup := seen[k.Value]; dup {
		l, c := position(first)
		d.errorf(k, join(path, k.Value), "each key once", "duplicate key %q (first at line %d, column %d)", k.Value, l, c)
		return false
	}
	seen[k.Value] = k
	return true
}

// each calls fn for every entry of a mapping whose keys are names the admin
// chooses (the prompts section). Duplicate, merge and non-scalar keys are
// reported and skipped; values are passed as they are (null included).
func (d *decoder) each(path string, n *yaml.Node, fn func(kpath string, k, v *yaml.Node)) {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "a mapping of names to values", "found %s", describe(n))
		return
	}
	seen := make(map[string]*yaml.Node)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if d.checkKey(path, k, seen) {
			fn(join(path, k.Value), k, v)
		}
	}
}

// entry is a key of a record and its value.
type entry struct {
	path       string
	key, value *yaml.Node
}

// record decodes a mapping with the given keys into a map from key to entry,
// reporting unknown and duplicate keys. Keys whose value is null are left
// out, like keys that are missing: their default applies. Sections whose keys
// depend on one another (a route's parameters depend on its action) are
// decoded this way and checked afterwards.
func (d *decoder) record(path string, n *yaml.Node, keys ...string) map[string]entry {
	rec := make(map[string]entry)
	n = resolve(n)
	if isNull(n) {
		return rec
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "a mapping of keys to values", "found %s", describe(n))
		return rec
	}
	seen := make(map[string]*yaml.Node)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !d.checkKey(path, k, seen) {
			continue
		}
		if !slices.Contains(keys, k.Value) {
			expected := "one of " + strings.Join(keys, ", ") + didYouMean(k.Value, keys...)
			d.errorf(k, path, expected, "unknown key %q", k.Value)
			continue
		}
		if v = resolve(v); isNull(v) {
			continue
		}
		rec[k.Value] = entry{join(path, k.Value), k, v}
	}
	return rec
}

// list checks that n is a list and returns its items with aliases resolved.
func (d *decoder) list(path string, n *yaml.Node, expected string) ([]*yaml.Node, bool) {
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, path, expected, "found %s", describe(n))
		return nil, false
	}
	items := make([]*yaml.Node, len(n.Content))
	for i, item := range n.Content {
		items[i] = resolve(item)
	}
	return items, true
}

// oneOrMore returns the items of a list, or n itself when it is a single
// scalar: `to: "0312345678"` and `to: ["0312345678", "0312345679"]` both work.
// path gets an index for list items.
func (d *decoder) oneOrMore(path string, n *yaml.Node, expected string) (paths []string, items []*yaml.Node) {
	if n.Kind == yaml.ScalarNode {
		return []string{path}, []*yaml.Node{n}
	}
	list, ok := d.list(path, n, expected)
	if !ok {
		return nil, nil
	}
	if len(list) == 0 {
		d.errorf(n, path, expected, "the list is empty")
	}
	for i := range list {
		paths = append(paths, fmt.Sprintf("%s[%d]", path, i))
	}
	return paths, list
}

// boolean decodes true or false.
func (d *decoder) boolean(path string, n *yaml.Node) (bool, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
		d.errorf(n, path, "true or false", "found %s", describe(n))
		return false, false
	}
	return n.Value == "true" || n.Value == "True" || n.Value == "TRUE", true
}

// numberText returns the text of a scalar that holds a number or a pattern.
// Unquoted numbers are fine: YAML reads 0312345678 as a float and +81… as an
// integer, but the text is what counts.
func (d *decoder) numberText(path string, n *yaml.Node, expected string) (string, bool) {
	if n.Kind != yaml.ScalarNode || isNull(n) || n.Tag != "!!str" && n.Tag != "!!int" && n.Tag != "!!float" {
		d.errorf(n, path, expected, "found %s", describe(n))
		return "", false
	}
	return n.Value, true
}

// patterns decodes one pattern or a list of them.
func (d *decoder) patterns(path string, n *yaml.Node, opt patternOptions) ([]*pattern, bool) {
	items, ok := d.patternItems(path, n, opt)
	out := make([]*pattern, len(items))
	for i, it := range items {
		out[i] = it.p
	}
	return out, ok
}

// patternItem is a compiled pattern and where it is written.
type patternItem struct {
	p    *pattern
	node *yaml.Node
	path string
}

// patternItems is patterns with each pattern's position, for checks that
// depend on the field. Items that do not compile are reported and left out.
func (d *decoder) patternItems(path string, n *yaml.Node, opt patternOptions) ([]patternItem, bool) {
	expected := patternSyntax + ", or a list of them"
	paths, items := d.oneOrMore(path, n, expected)
	if items == nil {
		return nil, false
	}
	ok := len(items) > 0
	var out []patternItem
	for i, item := range items {
		s, good := d.numberText(paths[i], item, patternSyntax)
		if !good {
			ok = false
			continue
		}
		p, err := parsePattern(s, opt)
		if err != nil {
			pe := err.(*patternError)
			d.errorf(item, paths[i], pe.expected, "%s", pe.msg)
			ok = false
			continue
		}
		out = append(out, patternItem{p, item, paths[i]})
	}
	return out, ok
}

// name decodes the name of a rule, trunk or prompt.
func (d *decoder) name(path string, n *yaml.Node, what string) (string, bool) {
	const expected = "a name of letters, digits, '.', '_', '-' and '@', starting with a letter or digit"
	s, ok := d.numberText(path, n, expected)
	if !ok {
		return "", false
	}
	if !validName(s) {
		d.errorf(n, path, expected, "bad %s name %q", what, s)
		return "", false
	}
	return s, true
}

// field is one known key of a mapping and what to do with its value.
type field struct {
	key    string
	decode func(path string, value *yaml.Node)
}

// mapping checks that n is a mapping (or null, which stands for an empty one),
// reports duplicate and unknown keys, and hands each known key's value to its
// field. Null values are skipped: a key without a value keeps its default.
func (d *decoder) mapping(path string, n *yaml.Node, fields []field) {
	n = resolve(n)
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "a mapping of keys to values", "found %s", describe(n))
		return
	}
	seen := make(map[string]*yaml.Node)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !d.checkKey(path, k, seen) {
			continue
		}
		kpath := join(path, k.Value)
		f := findField(fields, k.Value)
		if f == nil {
			d.errorf(k, path, expectedKey(fields, k.Value), "unknown key %q", k.Value)
			continue
		}
		if v = resolve(v); isNull(v) {
			continue
		}
		f.decode(kpath, v)
	}
}

func findField(fields []field, key string) *field {
	for i := range fields {
		if fields[i].key == key {
			return &fields[i]
		}
	}
	return nil
}

// oneOf lists the valid keys of a mapping for an "expected" clause.
func oneOf(fields []field) string {
	keys := make([]string, len(fields))
	for i, f := range fields {
		keys[i] = f.key
	}
	if len(keys) == 1 {
		return keys[0]
	}
	return "one of " + strings.Join(keys, ", ")
}

// expectedKey lists the valid keys and, for a likely typo, the one meant.
func expectedKey(fields []field, got string) string {
	keys := make([]string, len(fields))
	for i, f := range fields {
		keys[i] = f.key
	}
	return oneOf(fields) + didYouMean(got, keys...)
}

// didYouMean suggests the option closest to got, if one is close enough to be a
// typo, as "; did you mean ...?" for an expected clause; otherwise "".
func didYouMean(got string, options ...string) string {
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

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// resolve follows an alias to the node it names. The result carries the alias's
// position, so that a problem with the value is reported where it is used.
func resolve(n *yaml.Node) *yaml.Node {
	if n != nil && n.Kind == yaml.AliasNode && n.Alias != nil {
		target := *n.Alias // shallow: Content is shared and only read
		target.Line, target.Column = n.Line, n.Column
		return &target
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || n.Kind == 0 || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

// describe names what a node is, for "found ..." messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!str":
			return fmt.Sprintf("the text %q", n.Value)
		case "!!int":
			return "the integer " + plain(n.Value)
		case "!!float":
			return "the number " + plain(n.Value)
		case "!!bool":
			return "the boolean " + plain(n.Value)
		}
		return fmt.Sprintf("%q tagged %q", n.Value, n.Tag)
	}
	return "something else"
}

// plain returns s as it is if it is printable on one line, else quoted. An
// explicit tag (!!int "x\ny") can put anything in a scalar of any type.
func plain(s string) string {
	if q := strconv.Quote(s); q[1:len(q)-1] != s {
		return q
	}
	return s
}

// str decodes a string scalar.
func (d *decoder) str(path string, n *yaml.Node, expected string) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
		d.errorf(n, path, expected, "found %s", describe(n))
		return "", false
	}
	return n.Value, true
}

// integer decodes a decimal integer scalar within [lo, hi].
func (d *decoder) integer(path string, n *yaml.Node, lo, hi int) (int, bool) {
	expected := fmt.Sprintf("an integer from %d to %d", lo, hi)
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
		d.errorf(n, path, expected, "found %s", describe(n))
		return 0, false
	}
	v, err := strconv.Atoi(strings.TrimPrefix(n.Value, "+"))
	if err != nil {
		d.errorf(n, path, expected, "%q is not a decimal integer", n.Value)
		return 0, false
	}
	if v < lo || v > hi {
		d.errorf(n, path, expected, "%d is out of range", v)
		return 0, false
	}
	return v, true
}

// duration decodes a duration scalar (see parseDuration) that is not negative.
func (d *decoder) duration(path string, n *yaml.Node, expected string) (time.Duration, bool) {
	if n.Kind != yaml.ScalarNode || (n.Tag != "!!str" && n.Tag != "!!int") {
		d.errorf(n, path, expected, "found %s", describe(n))
		return 0, false
	}
	v, err := parseDuration(n.Value)
	if err != nil {
		d.errorf(n, path, expected, "%q is not a duration", n.Value)
		return 0, false
	}
	if v < 0 {
		d.errorf(n, path, expected, "%s is negative", n.Value)
		return 0, false
	}
	return v, true
}

// parseDuration accepts Go duration syntax ("90m", "1h30m", "0") and a leading
// whole number of days ("7d", "1d12h"), since admins think of number lifetimes
// in days and time.ParseDuration has no unit for them.
func parseDuration(s string) (time.Duration, error) {
	rest, neg := s, false
	if rest != "" && (rest[0] == '-' || rest[0] == '+') {
		rest, neg = rest[1:], rest[0] == '-'
	}
	var days time.Duration
	if i := strings.IndexByte(rest, 'd'); i >= 0 {
		n, err := strconv.ParseUint(rest[:i], 10, 32)
		const maxDays = uint64(1<<63-1) / uint64(24*time.Hour)
		if err != nil || n > maxDays {
			return 0, fmt.Errorf("invalid number of days in %q", s)
		}
		days = time.Duration(n) * 24 * time.Hour
		rest = rest[i+1:]
		if rest == "" {
			if neg {
				return -days, nil
			}
			return days, nil
		}
	}
	if rest == "" || rest[0] == '+' || rest[0] == '-' {
		return 0, fmt.Errorf("invalid duration %q", s)
	}
	v, err := time.ParseDuration(rest)
	if err != nil {
		return 0, err
	}
	if v > 1<<63-1-days {
		return 0, fmt.Errorf("duration %q is too long", s)
	}
	if neg {
		return -(days + v), nil
	}
	return days + v, nil
}
