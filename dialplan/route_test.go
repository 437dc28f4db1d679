package dialplan

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func mustLoad(t testing.TB, yaml string) *Plan {
	t.Helper()
	p, err := Load("t.yaml", []byte(yaml))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return p
}

const routeTestPlan = `
trunks:
  - name: carrier
    registrar: sip:sip.example.net
    sources: [192.0.2.1]
  - name: backup
    registrar: sip:backup.example.net
    sources: [192.0.2.2]
routes:
  - name: blocked           # line 10
    from: ["0311112222", "_0120XXXXXX", anonymous]
    action: reject
    status: 403
  - name: toll-free-re      # line 14
    to: "re:0800[0-9]{7}"
    action: reject
    status: 603
    prompt: goodbye
  - name: access            # line 19
    to: "0312345678"
    trunk: [carrier, backup]
    action: collect
    digits: 11
    terminator: "*"
    retries: 1
  - name: direct            # line 26
    to: _060XXXXXXXX
    action: conference
  - name: vip               # line 29, after direct: never wins for 060 numbers
    to: "06012345678"
    action: extension
    extension: "201"
  - name: operators         # line 33
    to: _2XX
    from_extension: _2XX
    action: extension
  - name: by-name           # line 37
    to: alice
    action: extension
    extension: alice
  - name: carrier-rest      # line 41
    trunk: carrier
    action: reject
    status: 404
    prompt: not-in-service
  - name: last              # line 46
    to: _X!
    action: reject
    status: 480
`

func TestRoute(t *testing.T) {
	p := mustLoad(t, routeTestPlan)
	tests := []struct {
		name string
		call Call
		rule string // "" for no rule
		want string // Decision.String without the rule
	}{
		{"issued number", Call{To: "06012345678"}, "direct", "conference 06012345678"},
		{"first rule in file order wins over a more specific later one", Call{To: "06012345678", Trunk: "carrier"}, "direct", "conference 06012345678"},
		{"issued number as +81", Call{To: "+816012345678"}, "direct", "conference 06012345678"},
		{"issued number with separators", Call{To: "060-1234-5678"}, "direct", "conference 06012345678"},
		{"issued number +81 with stray 0", Call{To: "+81 (0)60 1234 5678"}, "direct", "conference 06012345678"},
		{"access number from a trunk", Call{To: "0312345678", Trunk: "backup"}, "access", "collect 11 digits"},
		{"access number as +81", Call{To: "+81312345678", Trunk: "carrier"}, "access", "collect 11 digits"},
		{"access number without a trunk", Call{To: "0312345678"}, "last", "reject 480 Temporarily Unavailable"},
		{"access number from an unknown trunk", Call{To: "0312345678", Trunk: "other"}, "last", "reject 480 Temporarily Unavailable"},
		{"collected number skips collect rules", Call{To: "0312345678", Trunk: "carrier", Collected: true}, "carrier-rest", "reject 404 Not Found"},
		{"collected issued number", Call{To: "06012345678", Trunk: "carrier", Collected: true}, "direct", "conference 06012345678"},
		{"blocked caller before everything", Call{To: "06012345678", From: "03-1111-2222"}, "blocked", "reject 403 Forbidden"},
		{"blocked caller as +81", Call{To: "06012345678", From: "+81311112222"}, "blocked", "reject 403 Forbidden"},
		{"blocked caller pattern", Call{To: "06012345678", From: "0120123456"}, "blocked", "reject 403 Forbidden"},
		{"withheld caller", Call{To: "06012345678", From: "anonymous"}, "blocked", "reject 403 Forbidden"},
		{"caller not blocked", Call{To: "06012345678", From: "0311112223"}, "direct", "conference 06012345678"},
		{"regexp before the trie's match", Call{To: "08001234567"}, "toll-free-re", "reject 603 Decline"},
		{"regexp not matching", Call{To: "080012345678"}, "last", "reject 480 Temporarily Unavailable"},
		{"extension to extension", Call{To: "201", Extension: "205"}, "operators", "extension 201"},
		{"extension from a trunk", Call{To: "201", Trunk: "carrier"}, "carrier-rest", "reject 404 Not Found"},
		{"extension from a name", Call{To: "201", Extension: "alice"}, "last", "reject 480 Temporarily Unavailable"},
		{"a name", Call{To: "alice"}, "by-name", "extension alice"},
		{"a name no rule takes", Call{To: "bob"}, "", "reject 404 Not Found"},
		{"empty number: _X! needs a digit", Call{}, "", "reject 404 Not Found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := p.Route(tt.call)
			got := d.String()
			if tt.rule == "" {
				if d.Rule != nil {
					t.Fatalf("Route = %s, want no rule", got)
				}
			} else if d.Rule == nil || d.Rule.Name != tt.rule {
				t.Fatalf("Route = %s, want rule %q", got, tt.rule)
			}
			if !strings.HasPrefix(got, tt.want+" (") {
				t.Errorf("Route = %s, want %s", got, tt.want)
			}
			if want := linearRoute(p, tt.call); want != d.Rule {
				t.Errorf("index and linear scan disagree: %v vs %v", d.Rule, want)
			}
		})
	}
}

func TestRouteDecision(t *testing.T) {
	p := mustLoad(t, routeTestPlan)

	d := p.Route(Call{To: "0312345678", Trunk: "carrier"})
	want := Collect{Digits: 11, Terminator: "*", FirstDigitTimeout: 10 * time.Second, InterDigitTimeout: 5 * time.Second,
		Retries: 1, InvalidPrompt: p.Prompt(PromptInvalidNumber)}
	if d.Collect == nil || *d.Collect != want {
		t.Errorf("collect = %+v, want %+v", d.Collect, want)
	}
	if d.Prompt != p.Prompt(PromptEnterNumber) || d.Rule.Line != 19 {
		t.Errorf("collect: prompt %v, line %d", d.Prompt, d.Rule.Line)
	}

	d = p.Route(Call{To: "06012345678"})
	if d.Prompt == nil || d.Prompt.Name != PromptWaiting || d.Rule.Line != 26 || d.Number != "06012345678" {
		t.Errorf("conference: %+v", d)
	}

	d = p.Route(Call{To: "08001234567"})
	if d.Status != 603 || d.Reason != "Decline" || d.Prompt.Name != PromptGoodbye || d.Rule.Line != 14 {
		t.Errorf("reject: %+v", d)
	}

	d = p.Route(Call{To: "0312345678", Trunk: "carrier", Collected: true})
	if d.Prompt.Name != PromptNotInService || d.Status != 404 {
		t.Errorf("reject with prompt: %+v", d)
	}
	if got, want := d.String(), `reject 404 Not Found (route "carrier-rest", line 41)`; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}

	d = mustLoad(t, "").Route(Call{To: "0312345678"})
	if d.Action != ActionReject || d.Status != 404 || d.Rule != nil || d.Prompt != nil {
		t.Errorf("empty plan: %+v", d)
	}
	if got, want := d.String(), "reject 404 Not Found (no route matched)"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
}

// TestRouteAllocations: routing a number already in national form allocates
// nothing.
func TestRouteAllocations(t *testing.T) {
	p := mustLoad(t, routeTestPlan)
	calls := []Call{
		{To: "06012345678", From: "0311112223"},
		{To: "0312345678", Trunk: "carrier"},
		{To: "201", Extension: "205"},
		{To: "08001234567"},
	}
	for _, c := range calls {
		if n := testing.AllocsPerRun(100, func() { p.Route(c) }); n != 0 {
			t.Errorf("Route(%+v) allocates %v times", c, n)
		}
	}
}

// linearRoute is the definition of Route: the first rule, in file order, that
// matches. The index must agree with it.
func linearRoute(p *Plan, c Call) *Rule {
	c.To, c.From = routeForm(c.To), routeForm(c.From)
	for _, r := range p.Routes {
		if r.matches(&c, fieldNone) {
			return r
		}
	}
	return nil
}

// TestRouteIndexMatchesLinear compares Route with linearRoute on random plans
// and calls over a small alphabet, where patterns overlap a lot.
func TestRouteIndexMatchesLinear(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	rounds := 200
	if testing.Short() {
		rounds = 20
	}
	for range rounds {
		yaml := randomRoutes(r, 1+r.IntN(30))
		p, err := Load("random.yaml", []byte(yaml))
		if err != nil {
			t.Fatalf("Load: %v\n%s", err, yaml)
		}
		for range 200 {
			c := randomCall(r)
			got, want := p.Route(c).Rule, linearRoute(p, c)
			if got != want {
				t.Fatalf("%+v: Route chose %v, the first matching rule is %v\n%s", c, ruleName(got), ruleName(want), yaml)
			}
		}
	}
}

func ruleName(r *Rule) string {
	if r == nil {
		return "none"
	}
	return r.Name
}

func randomRoutes(r *rand.Rand, n int) string {
	var b strings.Builder
	b.WriteString("trunks:\n  - {name: t1, registrar: a.example}\n  - {name: t2, registrar: b.example}\nroutes:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - name: r%d\n", i)
		if r.IntN(4) > 0 {
			fmt.Fprintf(&b, "    to: [%q", randomPatternText(r))
			for range r.IntN(2) {
				fmt.Fprintf(&b, ", %q", randomPatternText(r))
			}
			b.WriteString("]\n")
		}
		if r.IntN(3) == 0 {
			fmt.Fprintf(&b, "    from: %q\n", randomPatternText(r))
		}
		switch r.IntN(5) {
		case 0:
			b.WriteString("    trunk: t1\n")
		case 1:
			b.WriteString("    trunk: [t1, t2]\n")
		case 2:
			fmt.Fprintf(&b, "    from_extension: %q\n", randomPatternText(r))
		}
		switch r.IntN(3) {
		case 0:
			b.WriteString("    action: collect\n")
		case 1:
			b.WriteString("    action: extension\n")
		default:
			b.WriteString("    action: reject\n    status: 404\n")
		}
	}
	return b.String()
}

func randomPatternText(r *rand.Rand) string {
	switch r.IntN(8) {
	case 0:
		return "re:[01]+2?"
	case 1:
		return "alice"
	case 2, 3:
		var b strings.Builder
		for range 1 + r.IntN(3) {
			b.WriteByte('0' + byte(r.IntN(3)))
		}
		return b.String()
	}
	return randomPattern(r)
}

func randomCall(r *rand.Rand) Call {
	num := func() string {
		switch r.IntN(10) {
		case 0:
			return "alice"
		case 1:
			return ""
		case 2:
			return "+810" + randomDigits012(r)
		}
		return randomDigits012(r)
	}
	c := Call{To: num(), From: num(), Collected: r.IntN(4) == 0}
	switch r.IntN(4) {
	case 0:
		c.Trunk = "t1"
	case 1:
		c.Trunk = "t2"
	case 2:
		c.Extension = num()
	}
	return c
}

func randomDigits012(r *rand.Rand) string {
	b := make([]byte, r.IntN(5))
	for i := range b {
		b[i] = '0' + byte(r.IntN(3))
	}
	return string(b)
}

// TestRouteExtensionRingTimeout: an extension route's ring_timeout reaches
// the decision; without it the decision leaves the default to the
// telephony side (0).
func TestRouteExtensionRingTimeout(t *testing.T) {
	p := mustLoad(t, `
routes:
  - name: front-desk
    to: "0312345679"
    action: extension
    extension: "201"
    ring_timeout: 45s
  - name: operators
    to: _2XX
    action: extension
`)
	if d := p.Route(Call{To: "0312345679"}); d.Action != ActionExtension || d.Extension != "201" || d.RingTimeout != 45*time.Second {
		t.Errorf("front desk: %+v", d)
	}
	if d := p.Route(Call{To: "202"}); d.Extension != "202" || d.RingTimeout != 0 {
		t.Errorf("operators: %+v", d)
	}
}
