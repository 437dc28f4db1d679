package dialplan

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/dialroom/dialroom/yamlcheck"
)

// Problem is one thing wrong in a dialplan file. [Load] returns every problem it
// finds, joined with errors.Join; use errors.As to get at the first one, or the
// Unwrap() []error method of the joined error to walk them all. File is the
// file name given to Load; Line and Column are 1-based and always set; Path is
// where in the document, e.g. "numbering.prefixes[1]", or "" for the whole
// file.
//
// It is the same type as configs.Problem: both files share their decoding
// (package yamlcheck).
type Problem = yamlcheck.Problem

// decoder walks a yaml.Node tree and collects problems and warnings. It is used
// by one Load call on one goroutine.
type decoder struct {
	yamlcheck.Decoder
	opts     LoadOptions
	warnings []*Problem // Expected is not used
}

// errorf reports a problem at node n about path.
func (d *decoder) errorf(n *yaml.Node, path, expected, format string, args ...any) {
	d.Reportf(n, path, expected, format, args...)
}

func (d *decoder) warnf(n *yaml.Node, path, format string, args ...any) {
	line, col := yamlcheck.Position(n)
	d.warnings = append(d.warnings, &Problem{
		File: d.File, Line: line, Column: col, Path: path,
		Message: fmt.Sprintf(format, args...),
	})
}

// warningTexts returns the warnings in file order, each as
// FILE:LINE:COL: PATH: MESSAGE.
func (d *decoder) warningTexts() []string {
	yamlcheck.Sort(d.warnings)
	var out []string
	for _, w := range d.warnings {
		out = append(out, w.Error())
	}
	return out
}

// each calls fn for every entry of a mapping whose keys are names the admin
// chooses (the prompts section). Duplicate, merge and non-scalar keys are
// reported and skipped; values are passed as they are (null included).
func (d *decoder) each(path string, n *yaml.Node, fn func(kpath string, k, v *yaml.Node)) {
	n = yamlcheck.Resolve(n)
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "a mapping of names to values", "found %s", describe(n))
		return
	}
	d.Entries(path, n, fn)
}

// describe is yamlcheck.Describe, except that a YAML null is shown as written
// with its tag (`"~" tagged "!!null"`), as dialplan messages always have,
// where configs says "no value".
func describe(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return fmt.Sprintf("%q tagged %q", n.Value, n.Tag)
	}
	return yamlcheck.Describe(n)
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
	n = yamlcheck.Resolve(n)
	if yamlcheck.IsNull(n) {
		return rec
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "a mapping of keys to values", "found %s", describe(n))
		return rec
	}
	d.Entries(path, n, func(kpath string, k, v *yaml.Node) {
		if !slices.Contains(keys, k.Value) {
			expected := "one of " + strings.Join(keys, ", ") + yamlcheck.DidYouMean(k.Value, keys...)
			d.errorf(k, path, expected, "unknown key %q", k.Value)
			return
		}
		if v = yamlcheck.Resolve(v); yamlcheck.IsNull(v) {
			return
		}
		rec[k.Value] = entry{kpath, k, v}
	})
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
		items[i] = yamlcheck.Resolve(item)
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
	if n.Kind != yaml.ScalarNode || yamlcheck.IsNull(n) || n.Tag != "!!str" && n.Tag != "!!int" && n.Tag != "!!float" {
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
	n = yamlcheck.Resolve(n)
	if yamlcheck.IsNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "a mapping of keys to values", "found %s", describe(n))
		return
	}
	d.Entries(path, n, func(kpath string, k, v *yaml.Node) {
		i := slices.IndexFunc(fields, func(f field) bool { return f.key == k.Value })
		if i < 0 {
			d.errorf(k, path, expectedKey(fields, k.Value), "unknown key %q", k.Value)
			return
		}
		if v = yamlcheck.Resolve(v); yamlcheck.IsNull(v) {
			return
		}
		fields[i].decode(kpath, v)
	})
}

// expectedKey lists the valid keys and, for a likely typo, the one meant.
func expectedKey(fields []field, got string) string {
	keys := make([]string, len(fields))
	for i, f := range fields {
		keys[i] = f.key
	}
	return yamlcheck.ExpectedKey(got, keys...)
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

// duration decodes a duration scalar (see yamlcheck.ParseDuration) that is not negative.
func (d *decoder) duration(path string, n *yaml.Node, expected string) (time.Duration, bool) {
	if n.Kind != yaml.ScalarNode || (n.Tag != "!!str" && n.Tag != "!!int") {
		d.errorf(n, path, expected, "found %s", describe(n))
		return 0, false
	}
	v, err := yamlcheck.ParseDuration(n.Value)
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
