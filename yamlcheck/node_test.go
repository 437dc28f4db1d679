package yamlcheck

import (
	"testing"

	"go.yaml.in/yaml/v3"
)

// parse returns the root node of a document that must parse.
func parse(t *testing.T, in string) *yaml.Node {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(in), &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Content[0]
}

func TestDescribe(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"{a: 1}", "a mapping"},
		{"[1]", "a list"},
		{`"x"`, `the text "x"`},
		{"hello", `the text "hello"`},
		{"42", "the integer 42"},
		{"+81", "the integer +81"},
		{"0312345678", "the number 0312345678"},
		{"1.5", "the number 1.5"},
		{"true", "the boolean true"},
		{"~", "no value"},
		{"null", "no value"},
		{`!!int "x\ny"`, `the integer "x\ny"`},
		{"!custom v", `"v" tagged "!custom"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := Describe(parse(t, tt.in)); got != tt.want {
				t.Errorf("Describe(%s) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
	if got := Describe(&yaml.Node{}); got != "something else" {
		t.Errorf("Describe of an empty node = %q", got)
	}
}

func TestResolve(t *testing.T) {
	root := parse(t, "base: &b\n  x: 1\nuse: *b\nplain: 2\n")
	base, alias, plain := root.Content[1], root.Content[3], root.Content[5]
	tests := []struct {
		name     string
		n        *yaml.Node
		kind     yaml.Kind
		line     int
		column   int
		original bool // the node itself comes back
	}{
		{"alias takes the target and keeps its own position", alias, yaml.MappingNode, 3, 6, false},
		{"anchored node", base, yaml.MappingNode, 1, 7, true}, // where its anchor is
		{"scalar", plain, yaml.ScalarNode, 4, 8, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Resolve(tt.n)
			if got.Kind != tt.kind || got.Line != tt.line || got.Column != tt.column {
				t.Errorf("got kind %v at %d:%d, want kind %v at %d:%d", got.Kind, got.Line, got.Column, tt.kind, tt.line, tt.column)
			}
			if (got == tt.n) != tt.original {
				t.Errorf("returned the node itself: %v, want %v", got == tt.n, tt.original)
			}
		})
	}
	if r := Resolve(alias); len(r.Content) != 2 || r.Content[0].Value != "x" {
		t.Errorf("resolved alias has content %v, want the anchored mapping's", r.Content)
	}
	if base.Line != 1 || base.Column != 7 {
		t.Errorf("Resolve moved the anchored node to %d:%d", base.Line, base.Column)
	}
	if Resolve(nil) != nil {
		t.Error("Resolve(nil) is not nil")
	}
}

func TestIsNull(t *testing.T) {
	root := parse(t, "a:\nb: ~\nc: null\nd: \"\"\ne: 0\nf: []\n")
	want := map[string]bool{"a": true, "b": true, "c": true, "d": false, "e": false, "f": false}
	for i := 0; i < len(root.Content); i += 2 {
		k, v := root.Content[i].Value, root.Content[i+1]
		if got := IsNull(v); got != want[k] {
			t.Errorf("IsNull(%s) = %v, want %v", k, got, want[k])
		}
	}
	if !IsNull(nil) || !IsNull(&yaml.Node{}) {
		t.Error("nil or empty node is not null")
	}
}

func TestPosition(t *testing.T) {
	tests := []struct {
		name      string
		n         *yaml.Node
		line, col int
	}{
		{"parsed", &yaml.Node{Line: 7, Column: 3}, 7, 3},
		{"nil", nil, 1, 1},
		{"no position", &yaml.Node{Column: 5}, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if l, c := Position(tt.n); l != tt.line || c != tt.col {
				t.Errorf("got %d:%d, want %d:%d", l, c, tt.line, tt.col)
			}
		})
	}
}

func TestJoin(t *testing.T) {
	tests := []struct{ path, key, want string }{
		{"", "http", "http"},
		{"http", "tls", "http.tls"},
		{"routes[2]", "match", "routes[2].match"},
	}
	for _, tt := range tests {
		if got := Join(tt.path, tt.key); got != tt.want {
			t.Errorf("Join(%q, %q) = %q, want %q", tt.path, tt.key, got, tt.want)
		}
	}
}
