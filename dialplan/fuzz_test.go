package dialplan

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoad feeds arbitrary bytes to Load. Load must never panic; what it
// accepts must generate valid numbers, route every call to the first rule
// that matches it (the trie agrees with a linear scan) and never allow a
// dial-out call a rule did not opt in to; what it refuses must be explained
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
				checkProblem(t, e)
			}
			return
		}
		for _, w := range plan.Warnings {
			if !strings.HasPrefix(w, "fuzz.yaml:") || strings.Contains(w, "\n") {
				t.Fatalf("bad warning %q", w)
			}
		}
		checkNumbering(t, plan.Numbering)
		checkRouting(t, plan)
		checkDialout(t, plan)
	})
}

func checkProblem(t *testing.T, e error) {
	t.Helper()
	var p *Problem
	if !errors.As(e, &p) || p.File != "fuzz.yaml" || p.Line < 1 || p.Column < 1 {
		t.Fatalf("problem without a position: %#v", e)
	}
	if strings.Contains(p.Error(), "\n") {
		t.Fatalf("problem spans lines: %q", p.Error())
	}
}

func checkNumbering(t *testing.T, num Numbering) {
	t.Helper()
	stem := ""
	var err error
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
}

// checkRouting routes an example number of every pattern in the plan, from
// every trunk, and compares with the linear definition.
func checkRouting(t *testing.T, plan *Plan) {
	t.Helper()
	var numbers []string
	for _, r := range plan.Routes {
		for _, ps := range [][]*pattern{r.to, r.from, r.exts} {
			for _, p := range ps {
				if len(numbers) < 64 {
					numbers = append(numbers, p.example())
				}
			}
		}
	}
	numbers = append(numbers, "", "06012345678", "+816012345678", "anonymous")
	origins := []Call{{}, {Collected: true}}
	for _, tr := range plan.Trunks {
		origins = append(origins, Call{Trunk: tr.Name})
	}
	for _, o := range origins {
		for _, to := range numbers {
			for _, from := range numbers[:min(len(numbers), 4)] {
				c := o
				c.To, c.From = to, from
				d := plan.Route(c)
				if want := linearRoute(plan, c); d.Rule != want {
					t.Fatalf("%+v: Route chose %s, the first matching rule is %s", c, ruleName(d.Rule), ruleName(want))
				}
				if d.Rule == nil && (d.Action != ActionReject || d.Status != 404) {
					t.Fatalf("%+v: no rule, decision %v", c, d)
				}
				if d.Action == ActionCollect && (c.Collected || d.Collect == nil) {
					t.Fatalf("%+v: %v", c, d)
				}
			}
		}
	}
}

// checkDialout checks the toll-fraud invariants on an example number of
// every dial-out rule.
func checkDialout(t *testing.T, plan *Plan) {
	t.Helper()
	numbers := []string{"0312345678", "+14155550100", "0990123456", "110"}
	for _, r := range plan.DialoutRules {
		for _, p := range r.to {
			numbers = append(numbers, p.example())
		}
	}
	for _, n := range numbers {
		for _, op := range []string{"alice", "mallory"} {
			d := plan.Dialout(op, n)
			if !d.Allowed {
				continue
			}
			if d.Rule == nil || !d.Rule.Allow || !d.Rule.allows(d.Category) || d.Trunk == nil || !d.Trunk.Enabled || d.Number == "" {
				t.Fatalf("Dialout(%s, %s) = %s: allowed without a rule that allows it", op, n, d)
			}
			if len(d.Rule.Operators) > 0 && !containsString(d.Rule.Operators, op) {
				t.Fatalf("Dialout(%s, %s) = %s: operator not named by the rule", op, n, d)
			}
		}
	}
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// FuzzPattern compiles arbitrary patterns. Compiling must never panic; a
// pattern that compiles must match its own example, contain itself, and be
// found by the trie exactly where it matches.
func FuzzPattern(f *testing.F) {
	for _, s := range []string{
		"_0X0XXXXXXXX", "_0[1-5]0X.", "_0[135-7]X!", "re:0120[0-9]{6}", "0312345678", "03-1234-5678",
		"alice", "_+1NXXNXXXXXX", "_X!", "_.", "_[", "_0[5-1]", "re:(", "+81312345678", "_060-XXXX-XXXX",
		"0X0XXXXXXXX", "_*#+", "", "_",
	} {
		f.Add(s, "06012345678")
	}
	f.Fuzz(func(t *testing.T, s, probe string) {
		for _, opt := range []patternOptions{{}, {names: true}} {
			p, err := parsePattern(s, opt)
			if err != nil {
				var pe *patternError
				if !errors.As(err, &pe) || pe.msg == "" || pe.expected == "" {
					t.Fatalf("parsePattern(%q): error without message or expected: %#v", s, err)
				}
				continue
			}
			if p.kind == patRegexp {
				p.match(probe)
				continue
			}
			ex := p.example()
			if !p.match(ex) {
				t.Fatalf("%q does not match its example %q", s, ex)
			}
			if !p.within(p) || !p.intersects(p) {
				t.Fatalf("%q does not contain itself", s)
			}
			// A trie holding p as rule 1 finds it exactly where p matches.
			var ix index
			ix.add(1, p)
			m := matcher{}
			for _, x := range []string{ex, probe, ex + probe, probe + ex} {
				want := noRule
				if p.match(x) {
					want = 1
				}
				if got := ix.lookup(x, &m, noRule); got != want {
					t.Fatalf("pattern %q, string %q: lookup %d, match %v", s, x, got, p.match(x))
				}
				var rules []int32
				rules = ix.containing(p, 2, rules)
				if !containsRule(rules, 1) {
					t.Fatalf("pattern %q is not found containing itself", s)
				}
			}
		}
	})
}

func containsRule(rules []int32, r int32) bool {
	for _, x := range rules {
		if x == r {
			return true
		}
	}
	return false
}
