package yamlcheck

import (
	"errors"
	"testing"
)

func TestProblemError(t *testing.T) {
	tests := []struct {
		name string
		p    Problem
		want string
	}{
		{"message only", Problem{File: "f.yaml", Line: 3, Column: 7, Message: "bad"}, "f.yaml:3:7: bad"},
		{"path and expected", Problem{File: "f.yaml", Line: 3, Column: 7, Path: "a.b", Message: "bad", Expected: "good"}, "f.yaml:3:7: a.b: bad (expected good)"},
		{"no position", Problem{Path: "log.level", Message: `unknown level "x"`, Expected: "debug"}, `log.level: unknown level "x" (expected debug)`},
		{"no position, no path", Problem{Message: "bad"}, "bad"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.Error(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestErrSortsByPosition(t *testing.T) {
	d := &Decoder{File: "f.yaml"}
	if d.Err() != nil {
		t.Fatal("Err without problems is not nil")
	}
	d.Problems = []*Problem{
		{File: "f.yaml", Line: 4, Column: 1, Message: "c"},
		{File: "f.yaml", Line: 2, Column: 5, Message: "b"},
		{File: "f.yaml", Line: 2, Column: 1, Message: "a"},
		{File: "f.yaml", Line: 4, Column: 1, Message: "d"}, // same place: stays after c
	}
	want := "f.yaml:2:1: a\nf.yaml:2:5: b\nf.yaml:4:1: c\nf.yaml:4:1: d"
	err := d.Err()
	if got := err.Error(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	var p *Problem
	if !errors.As(err, &p) || p.Message != "a" {
		t.Errorf("errors.As gave %v, want the first problem", p)
	}
}
