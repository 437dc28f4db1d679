package yamlcheck

import (
	"fmt"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// Position returns where n is written, 1-based. A nil node or one without a
// position (built in Go, not parsed) gives 1, 1: the start of the file.
func Position(n *yaml.Node) (line, col int) {
	if n == nil || n.Line == 0 {
		return 1, 1
	}
	return n.Line, n.Column
}

// Join returns the path of key inside the mapping at path ("" is the root).
func Join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// Resolve follows an alias to the node it names. The result carries the alias's
// position, so that a problem with the value is reported where it is used.
// Other nodes, nil included, are returned as they are.
func Resolve(n *yaml.Node) *yaml.Node {
	if n != nil && n.Kind == yaml.AliasNode && n.Alias != nil {
		target := *n.Alias // shallow: Content is shared and only read
		target.Line, target.Column = n.Line, n.Column
		return &target
	}
	return n
}

// IsNull reports whether n stands for no value: nil, an empty node or a YAML
// null (~, null or nothing after the colon). Callers treat a key with a null
// value as missing.
func IsNull(n *yaml.Node) bool {
	return n == nil || n.Kind == 0 || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

// Describe names what a node is, for "found ..." messages: "a mapping",
// "a list", `the text "x"`, "the integer 5", "no value" and so on.
func Describe(n *yaml.Node) string {
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
