package configs

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/dialroom/dialroom/yamlcheck"
)

// Problem is one thing wrong in a server config. [Load] and [Config.Validate]
// return every problem they find, joined with errors.Join; use errors.As to get
// at the first one, or the Unwrap() []error method of the joined error to walk
// them all. File is the file name given to Load; problems from Validate have
// no File, Line or Column, and their Error starts at the key. Path is the key,
// e.g. "http.tls.key_file" or "webrtc.ice_servers[1].urls[0]".
//
// It is the same type as dialplan.Problem: both files share their decoding
// (package yamlcheck).
type Problem = yamlcheck.Problem

// decoder walks a yaml.Node tree and collects problems. It remembers where each
// key's value was, so that problems Validate finds later can be placed, and which
// keys failed to decode, so that Validate does not add noise about them. It is
// used by one Load call on one goroutine.
type decoder struct {
	yamlcheck.Decoder
	pos    map[string]*yaml.Node // path → value node
	failed map[string]bool       // paths with a decoding problem
}

func newDecoder(file string) *decoder {
	return &decoder{Decoder: yamlcheck.Decoder{File: file}, pos: make(map[string]*yaml.Node), failed: make(map[string]bool)}
}

// errorf reports a value at path that could not be decoded: it keeps its
// default, so Validate's findings about it would be noise. Problems that leave
// the values as they are, such as an unknown key, are reported with Reportf.
func (d *decoder) errorf(n *yaml.Node, path, expected, format string, args ...any) {
	d.failed[path] = true
	d.Reportf(n, path, expected, format, args...)
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
		d.errorf(n, path, "a mapping of keys to values", "found %s", yamlcheck.Describe(n))
		return
	}
	d.Entries(path, n, func(kpath string, k, v *yaml.Node) {
		i := slices.IndexFunc(fields, func(f field) bool { return f.key == k.Value })
		if i < 0 {
			d.Reportf(k, path, expectedKey(fields, k.Value), "unknown key %q", k.Value)
			return
		}
		if v = yamlcheck.Resolve(v); yamlcheck.IsNull(v) {
			return
		}
		d.pos[kpath] = v
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

// Scalar decoders. Each reports a problem and leaves *dst alone when the value
// is of the wrong type; checks of the value itself belong to Validate, so that
// a Config built in Go gets them too.

func (d *decoder) str(path string, n *yaml.Node, dst *string) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
		expected := "text"
		if n.Kind == yaml.ScalarNode {
			expected = "text; put the value in quotes if it is meant as text"
		}
		d.errorf(n, path, expected, "found %s", yamlcheck.Describe(n))
		return
	}
	*dst = n.Value
}

func (d *decoder) boolean(path string, n *yaml.Node, dst *bool) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
		d.errorf(n, path, "true or false", "found %s", yamlcheck.Describe(n))
		return
	}
	*dst = strings.EqualFold(n.Value, "true")
}

// integer decodes a decimal integer within [lo, hi].
func (d *decoder) integer(path string, n *yaml.Node, lo, hi int64, expected string) (int64, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
		d.errorf(n, path, expected, "found %s", yamlcheck.Describe(n))
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
		d.errorf(n, path, expected, "found %s", yamlcheck.Describe(n))
		return
	}
	v, err := yamlcheck.ParseDuration(n.Value)
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
		d.errorf(n, path, "a list", "found %s", yamlcheck.Describe(n))
		return
	}
	reset()
	for i, item := range n.Content {
		ipath := fmt.Sprintf("%s[%d]", path, i)
		item = yamlcheck.Resolve(item)
		d.pos[ipath] = item
		if yamlcheck.IsNull(item) {
			d.errorf(item, ipath, "a value", "empty list item")
			continue
		}
		decodeItem(ipath, item)
	}
}
