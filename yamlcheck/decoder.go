package yamlcheck

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Decoder parses one file and collects the problems found in it. Packages
// embed it in their own decoder, which walks the node tree and adds what it
// knows about the file. A Decoder is used by one load on one goroutine; the
// zero value with File set is ready to use.
type Decoder struct {
	File     string     // the file name for messages
	Problems []*Problem // in the order found; Err sorts them
}

// Reportf adds a problem at node n (see [Position]) about path.
func (d *Decoder) Reportf(n *yaml.Node, path, expected, format string, args ...any) {
	line, col := Position(n)
	d.Problems = append(d.Problems, &Problem{
		File: d.File, Line: line, Column: col, Path: path,
		Message: fmt.Sprintf(format, args...), Expected: expected,
	})
}

// Err returns every problem found, in file order, joined with errors.Join;
// nil if there is none.
func (d *Decoder) Err() error {
	Sort(d.Problems)
	errs := make([]error, len(d.Problems))
	for i, p := range d.Problems {
		errs[i] = p
	}
	return errors.Join(errs...)
}

// yamlLine matches the position yaml.v3 puts in its syntax errors; the library
// offers no structured error for them. It reports no column, an error on the
// first line carries no line at all, and for some parser errors the line is that
// of the enclosing construct counted from 0 (one line early). We pass on what it
// says rather than guess.
var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// Parse reads the single YAML document in data and returns its root node. It
// returns nil (and no problem) for a file without content, such as an empty
// file or one with only comments. A syntax error and a second document are
// problems.
func (d *Decoder) Parse(data []byte) *yaml.Node {
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
		d.Reportf(&next, "", "a single document", "a second YAML document starts here")
	case err != io.EOF:
		d.syntaxError(err)
	}
	if len(doc.Content) == 0 {
		return nil
	}
	return doc.Content[0]
}

func (d *Decoder) syntaxError(err error) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 1
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		if l, convErr := strconv.Atoi(m[1]); convErr == nil {
			line, msg = l, m[2]
		}
	}
	d.Problems = append(d.Problems, &Problem{
		File: d.File, Line: line, Column: 1,
		Message: "invalid YAML: " + msg, Expected: "well-formed YAML",
	})
}

// CheckKey reports a key of the mapping at path that is a merge key (<<) or
// not a plain scalar, and a key seen before; it returns false for those.
// seen maps each key to its node and gets k added.
func (d *Decoder) CheckKey(path string, k *yaml.Node, seen map[string]*yaml.Node) bool {
	switch {
	case k.Tag == "!!merge":
		d.Reportf(k, path, "the keys written out", "merge keys (<<) are not supported")
		return false
	case k.Kind != yaml.ScalarNode:
		d.Reportf(k, path, "a plain key", "found %s as a key", Describe(k))
		return false
	}
	if first, dup := seen[k.Value]; dup {
		l, c := Position(first)
		d.Reportf(k, Join(path, k.Value), "each key once", "duplicate key %q (first at line %d, column %d)", k.Value, l, c)
		return false
	}
	seen[k.Value] = k
	return true
}

// Entries calls fn, in file order, for every entry of the mapping n (which
// must be a MappingNode) whose key passes [Decoder.CheckKey]; kpath is the
// key's path. Values are passed as they are: aliases unresolved, null
// included.
func (d *Decoder) Entries(path string, n *yaml.Node, fn func(kpath string, k, v *yaml.Node)) {
	seen := make(map[string]*yaml.Node)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if d.CheckKey(path, k, seen) {
			fn(Join(path, k.Value), k, v)
		}
	}
}
