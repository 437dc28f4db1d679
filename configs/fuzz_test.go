package configs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoad feeds arbitrary bytes to Load. Load must never panic; what it
// accepts must pass Validate, and what it refuses must be explained by
// positioned problems. Seeds: testdata/fuzz/FuzzLoad, the embedded default and
// every broken file under testdata.
func FuzzLoad(f *testing.F) {
	f.Add(DefaultYAML)
	files, err := filepath.Glob("testdata/broken/*.yaml")
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
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Load("fuzz.yaml", data)
		if err != nil {
			if c != nil {
				t.Fatal("Load returned a Config and an error")
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
		if err := c.Validate(); err != nil {
			t.Fatalf("Load accepted a Config that Validate refuses: %v", err)
		}
	})
}
