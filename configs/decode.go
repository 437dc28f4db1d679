package configs

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Problem is one thing wrong in a server config. [Load] and [Config.Validate]
// return every problem they find, joined with errors.Join; use errors.As to get
// at the first one, or the Unwrap() []error method of the joined error to walk
// them all.
type Problem struct {
	File     string // the file name given to Load; "" from Validate
	Line     int    // 1-based; 0 from Validate
	Column   int    // 1-based; 0 from Validate
	Path     string // the key, e.g. "http.tls.key_file" or "webrtc.ice_servers[1].urls[0]"
	Message  string // what is wrong
	Expected string // what would have been right; may be ""
}

// Error formats the problem as FILE:LINE:COL: PATH: MESSAGE (expected
// EXPECTED), the form editors and CI logs turn into links. Without a position
// (from Validate) it starts at PATH.
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

// decoder walks a yaml.Node tree and collects problems. It remembers where each
// key's value was, so that problems Validate finds later can be placed, and which
// keys failed to decode, so that Validate does not add noise about them. It is
// used by one Load call on one goroutine.
type decoder struct {
	file     string
	problems []*Problem
	pos      map[string]*yaml.Node // path → value node
	failed   map[string]bool       // paths with a decoding problem
}

func newDecoder(file string) *decoder {
	return &decoder{file: file, pos: make(map[string]*yaml.Node), failed: make(map[string]bool)}
}

// errorf reports a value at path that could not be decoded: it keeps its
// default, so Validate's findings about it would be noise.
func (d *decoder) errorf(n *yaml.Node, path, expected, format string, args ...any) {
	d.failed[path] = true
	d.reportf(n, path, expected, format, args...)
}

// reportf reports a problem that leaves the values as they are, such as an
// unknown key.
func (d *decoder) reportf(n *yaml.Node, path, expected, format string, args ...any) {
	line, col := position(n)
	d.problems = append(d.problems, &Problem{
		File: d.file, Line: line, Column: col, Path: path,
		Message: fmt.Sprintf(format, args...), Expected: expected,
	})
}

// err returns every problem found, in file order.
func (d *decoder) err() error {
	slices.SortStableFunc(d.problems, func(a, b *Problem) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
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

// locate returns the node of path or, failing that, of the nearest enclosing
// key that was in the file.
func (d *decoder) locate(path string) *yaml.Node {
	for path != "" {
		if n, ok := d.pos[path]; ok {
			return n
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return nil
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
		d.reportf(&next, "", "a single document", "a second YAML document starts here")
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
		switch {
		case k.Tag == "!!merge":
			d.reportf(k, path, "the keys written out", "merge keys (<<) are not supported")
			continue
		case k.Kind != yaml.ScalarNode:
			d.reportf(k, path, "a plain key", "found %s as a key", describe(k))
			continue
		}
		kpath := join(path, k.Value)
		if first, dup := seen[k.Value]; dup {
			l, c := position(first)
			d.reportf(k, kpath, "each key once", "duplicate key %q (first at line %d, column %d)", k.Value, l, c)
			continue
		}
		seen[k.Value] = k
		f := findField(fields, k.Value)
		if f == nil {
			d.reportf(k, path, expectedKey(fields, k.Value), "unknown key %q", k.Value)
			continue
		}
		if v = resolve(v); isNull(v) {
			continue
		}
		d.pos[kpath] = v
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

// expectedKey lists the valid keys and, for a likely typo, the one meant.
func expectedKey(fields []field, got string) string {
	keys := make([]string, len(fields))
	for i, f := range fields {
		keys[i] = f.key
	}
	exp := "one of " + strings.Join(keys, ", ")
	if len(keys) == 1 {
		exp = keys[0]
	}
	return exp + didYouMean(got, keys...)
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
		case "!!null":
			return "no value"
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

// Scalar decoders. Each reports a problem and leaves *dst alone when the value
// is of the wrong type; checks of the value itself belong to Validate, so that
// a Config built in Go gets them too.

func (d *decoder) str(path string, n *yaml.Node, dst *string) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
		expected := "text"
		if n.Kind == yaml.ScalarNode {
			expected = "text; put the value in quotes if it is meant as text"
		}
		d.errorf(n, path, expected, "found %s", describe(n))
		return
	}
	*dst = n.Value
}

func (d *decoder) boolean(path string, n *yaml.Node, dst *bool) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
		d.errorf(n, path, "true or false", "found %s", describe(n))
		return
	}
	*dst = strings.EqualFold(n.Value, "true")
}

// integer decodes a decimal integer within [lo, hi].
func (d *decoder) integer(path string, n *yaml.Node, lo, hi int64, expected string) (int64, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
		d.errorf(n, path, expected, "found %s", describe(n))
		return 0, false
	}
	v, err := strconv.ParseInt(strings.TrimPrefix(n.Value, "+"), 10, 64)
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

func (d *decoder) port(path string, n *yaml.Node, dst *uint16) {
	if v, ok := d.integer(path, n, 0, math.MaxUint16, "a port number from 0 to 65535"); ok {
		*dst = uint16(v)
	}
}

func (d *decoder) count(path string, n *yaml.Node, dst *int) {
	if v, ok := d.integer(path, n, 0, math.MaxInt32, "a whole number"); ok {
		*dst = int(v)
	}
}

func (d *decoder) duration(path string, n *yaml.Node, dst *time.Duration) {
	const expected = "a duration like 30s, 10m, 12h or 7d"
	if n.Kind != yaml.ScalarNode || (n.Tag != "!!str" && n.Tag != "!!int") {
		d.errorf(n, path, expected, "found %s", describe(n))
		return
	}
	v, err := parseDuration(n.Value)
	if err != nil {
		d.errorf(n, path, expected, "%q is not a duration", n.Value)
		return
	}
	*dst = v
}

// texts decodes a list of text values. An empty list gives nil, the same as a
// missing key.
func (d *decoder) texts(path string, n *yaml.Node, dst *[]string) {
	d.list(path, n, func(ipath string, item *yaml.Node) {
		var s string
		d.str(ipath, item, &s)
		*dst = append(*dst, s)
	}, func() { *dst = nil })
}

// list checks that n is a list, resets the destination with reset, and hands
// each item to decodeItem. Items that are null are problems: a list with a
// hole is a typo.
func (d *decoder) list(path string, n *yaml.Node, decodeItem func(ipath string, item *yaml.Node), reset func()) {
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, path, "a list", "found %s", describe(n))
		return
	}
	reset()
	for i, item := range n.Content {
		ipath := fmt.Sprintf("%s[%d]", path, i)
		item = resolve(item)
		d.pos[ipath] = item
		if isNull(item) {
			d.errorf(item, ipath, "a value", "empty list item")
			continue
		}
		decodeItem(ipath, item)
	}
}

// parseDuration accepts Go duration syntax ("90m", "1h30m", "0") and a leading
// whole number of days ("7d", "1d12h"), since admins think of long lifetimes in
// days and time.ParseDuration has no unit for them.
func parseDuration(s string) (time.Duration, error) {
	rest, neg := s, false
	if rest != "" && (rest[0] == '-' || rest[0] == '+') {
		rest, neg = rest[1:], rest[0] == '-'
	}
	var days time.Duration
	if i := strings.IndexByte(rest, 'd'); i >= 0 {
		n, err := strconv.ParseUint(rest[:i], 10, 32)
		const maxDays = uint64(math.MaxInt64) / uint64(24*time.Hour)
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
	if v > math.MaxInt64-days {
		return 0, fmt.Errorf("duration %q is too long", s)
	}
	if neg {
		return -(days + v), nil
	}
	return days + v, nil
}
