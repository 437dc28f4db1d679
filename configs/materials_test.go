package configs

import (
	"strings"
	"testing"
	"time"
)

func TestMaterialsSection(t *testing.T) {
	c, err := Load("m.yaml", []byte("materials:\n  max_bytes: 10MB\n  max_pages: 20\n  page_size: 800\n  concurrency: 1\n  timeout: 30s\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := Materials{MaxBytes: 10 << 20, MaxPages: 20, PageSize: 800, Concurrency: 1, Timeout: 30 * time.Second}
	if c.Materials != want {
		t.Errorf("materials = %+v, want %+v", c.Materials, want)
	}
	if c, err := Load("m.yaml", []byte("materials:\n  max_bytes: 4096\n")); err != nil || c.Materials.MaxBytes != 4096 {
		t.Errorf("plain bytes: %+v, %v", c, err)
	}
	_, err = Load("m.yaml", []byte("materials:\n  max_bytes: 50 parsecs\n  max_pages: 0\n  page_size: 100000\n  concurrency: 0\n  timeout: 0s\n  dpi: 150\n"))
	got := strings.Join(problems(t, err), "\n")
	for _, want := range []string{
		`m.yaml:2:14: materials.max_bytes: "50 parsecs" is not a size`,
		`m.yaml:3:14: materials.max_pages: 0 is out of range`,
		`m.yaml:4:14: materials.page_size: 100000 is out of range`,
		`m.yaml:5:16: materials.concurrency: 0 is out of range`,
		`m.yaml:6:12: materials.timeout: 0s is not positive`,
		`m.yaml:7:3: materials: unknown key "dpi"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
}
