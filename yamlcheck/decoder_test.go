package yamlcheck

import (
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// messages returns the problems of d as their Error texts, in file order.
func messages(d *Decoder) []string {
	err := d.Err()
	if err == nil {
		return nil
	}
	return strings.Split(err.Error(), "\n")
}

func TestParse(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		wantRoot bool
		want     []string
	}{
		{"empty", "", false, nil},
		{"comments only", "# nothing\n# here\n", false, nil},
		{"mapping", "a: 1\n", true, nil},
		{"second document", "a: 1\n---\nb: 2\n", true, []string{
			"f.yaml:2:1: a second YAML document starts here (expected a single document)",
		}},
		{"syntax error with line", "a: 1\nb: c: d\n", false, []string{
			"f.yaml:2:1: invalid YAML: mapping values are not allowed in this context (expected well-formed YAML)",
		}},
		// yaml.v3 counts this one from the line of the enclosing flow list,
		// from 0: one line early. We pass on what it says.
		{"syntax error a line early", "a: 1\nb: [1, 2\nc: 3\n", false, []string{
			"f.yaml:1:1: invalid YAML: did not find expected ',' or ']' (expected well-formed YAML)",
		}},
		{"syntax error without line", "\t", false, []string{
			"f.yaml:1:1: invalid YAML: found character that cannot start any token (expected well-formed YAML)",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &Decoder{File: "f.yaml"}
			root := d.Parse([]byte(tt.in))
			if (root != nil) != tt.wantRoot {
				t.Errorf("root = %v, want a root: %v", root, tt.wantRoot)
			}
			if got := messages(d); strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestEntries(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		paths []string // kpath of each entry handed to fn
		want  []string
	}{
		{"plain keys", "a: 1\nb: 2\n", []string{"top.a", "top.b"}, nil},
		{"duplicate key", "a: 1\nb: 2\na: 3\n", []string{"top.a", "top.b"}, []string{
			`f.yaml:3:1: top.a: duplicate key "a" (first at line 1, column 1) (expected each key once)`,
		}},
		{"duplicate key twice", "a: 1\na: 2\na: 3\n", []string{"top.a"}, []string{
			`f.yaml:2:1: top.a: duplicate key "a" (first at line 1, column 1) (expected each key once)`,
			`f.yaml:3:1: top.a: duplicate key "a" (first at line 1, column 1) (expected each key once)`,
		}},
		{"merge key", "base: &b {x: 1}\n<<: *b\n", []string{"top.base"}, []string{
			"f.yaml:2:1: top: merge keys (<<) are not supported (expected the keys written out)",
		}},
		{"list as key", "? [1, 2]\n: x\nb: 2\n", []string{"top.b"}, []string{
			"f.yaml:1:3: top: found a list as a key (expected a plain key)",
		}},
		{"null value passed on", "a:\nb: ~\n", []string{"top.a", "top.b"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &Decoder{File: "f.yaml"}
			root := d.Parse([]byte(tt.in))
			if root == nil {
				t.Fatalf("no root: %v", d.Err())
			}
			var paths []string
			d.Entries("top", root, func(kpath string, k, v *yaml.Node) {
				if kpath != Join("top", k.Value) {
					t.Errorf("kpath %q for key %q", kpath, k.Value)
				}
				paths = append(paths, kpath)
			})
			if strings.Join(paths, " ") != strings.Join(tt.paths, " ") {
				t.Errorf("entries %q, want %q", paths, tt.paths)
			}
			if got := messages(d); strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestReportfPosition(t *testing.T) {
	tests := []struct {
		name string
		n    *yaml.Node
		want string
	}{
		{"parsed node", &yaml.Node{Line: 4, Column: 9}, "f.yaml:4:9: k: bad 1 (expected good)"},
		{"nil node", nil, "f.yaml:1:1: k: bad 1 (expected good)"},
		{"node built in Go", &yaml.Node{Kind: yaml.ScalarNode}, "f.yaml:1:1: k: bad 1 (expected good)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &Decoder{File: "f.yaml"}
			d.Reportf(tt.n, "k", "good", "bad %d", 1)
			if got := d.Err().Error(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
