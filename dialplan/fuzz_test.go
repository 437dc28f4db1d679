package dialplan

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoad feeds arbitrary bytes to Load. Load must never panic; what it
// accepts must generate valid numbers, and what it refuses must be explained
// by positioned problems. Seeds: testdata/fuzz/FuzzLoad and every YAML file
// under testdata.
func FuzzLoad(f *testing.F) {
	for _, pattern := range []string{"testdata/*/*.yaml", "../configs/dialplan.yaml"} {
		files, err := filepath.Glob(pattern)
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		plan, err := Load("fuzz.yaml", data)
		if err != nil {
			if plan != nil {
				t.Fatal("Load returned a plan and an error")
			}
			for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
				var p *Problem
				if !errors.As(e, &p) || p.File != "fuzz.yaml" || p.Line < 1 || p.Column < 1 {
					t.Fatalf("problem without a position: %#v", e)
				}
				if strings.Contains(p.Error(), "\n") {
					t.Fatalf("problem spans lines: %q", p.Error())
				}
			}
			return
		}
		num := plan.Numbering
		stem := ""
		if num.Mode == PerOperator {
			if stem, err = num.NewStem(seeded(7)); err != nil {
				t.Fatalf("NewStem: %v", err)
			}
		}
		s, err := num.Generate(seeded(8), stem)
		if err != nil {
			t.Fatalf("Generate: %v", err)
		}
		if !num.Allows(s) || forbiddenPrefix(s[:3]) != "" || !strings.HasPrefix(s, stem) {
			t.Fatalf("Generate = %q with %+v", s, num)
		}
	})
}
