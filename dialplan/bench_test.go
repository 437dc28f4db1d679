package dialplan

import (
	"fmt"
	"strings"
	"testing"
)

// largePlanYAML returns a dialplan with n routes of four kinds, the shape of a
// large real plan (many DIDs, number blocks, blocked callers), and a final
// catch-all:
//
//	i%4 == 0: a DID, 03 and 8 digits           → extension
//	i%4 == 1: a block of issued numbers, _060NNNNXXXX → conference
//	i%4 == 2: a blocked caller, from 090 and 8 digits → reject 403
//	i%4 == 3: a toll-free block, _0120NNXXXX on trunk carrier → collect
//
// It also has n/10 dial-out rules allowing blocks of numbers.
func largePlanYAML(n int) []byte {
	var b strings.Builder
	b.WriteString("trunks:\n  - name: carrier\n    registrar: sip:sip.example.net\n    sources: [192.0.2.1]\n")
	b.WriteString("routes:\n")
	for i := range n - 1 {
		fmt.Fprintf(&b, "  - name: r%d\n", i)
		switch i % 4 {
		case 0:
			fmt.Fprintf(&b, "    to: \"03%08d\"\n    action: extension\n    extension: \"%d\"\n", i, 200+i%100)
		case 1:
			fmt.Fprintf(&b, "    to: \"_060%04dXXXX\"\n    action: conference\n", i%10000)
		case 2:
			fmt.Fprintf(&b, "    from: \"090%08d\"\n    action: reject\n    status: 403\n", i)
		case 3:
			fmt.Fprintf(&b, "    to: \"_0120%02d%02dXX\"\n    trunk: carrier\n    action: collect\n", i/100%100, i%100)
		}
	}
	b.WriteString("  - name: rest\n    action: reject\n    status: 404\n")
	b.WriteString("dialout:\n  rules:\n")
	for i := range max(n/10, 1) {
		fmt.Fprintf(&b, "    - name: d%d\n      allow: \"_03%04dXXXX\"\n      trunk: carrier\n", i, i)
	}
	return []byte(b.String())
}

func loadLarge(tb testing.TB, n int) *Plan {
	tb.Helper()
	p, err := Load("large.yaml", largePlanYAML(n))
	if err != nil {
		tb.Fatal(err)
	}
	if len(p.Routes) != n {
		tb.Fatalf("%d routes, want %d", len(p.Routes), n)
	}
	return p
}

// BenchmarkRoute routes four kinds of call through plans of 10, 1,000 and
// 10,000 routes: a DID in the middle of the plan, an issued number, a
// blocked caller, and a number only the final catch-all matches.
func BenchmarkRoute(b *testing.B) {
	for _, n := range []int{10, 1000, 10000} {
		p := loadLarge(b, n)
		mid := n / 2 / 4 * 4 // a DID rule near the middle
		calls := []struct {
			name string
			call Call
			rule string
		}{
			{"did", Call{To: fmt.Sprintf("03%08d", mid), From: "0312345678"}, fmt.Sprintf("r%d", mid)},
			{"issued", Call{To: fmt.Sprintf("060%04d1234", (mid+1)%10000), From: "0312345678"}, fmt.Sprintf("r%d", mid+1)},
			{"blocked", Call{To: "0600000000", From: fmt.Sprintf("090%08d", mid+2)}, fmt.Sprintf("r%d", mid+2)},
			{"catchall", Call{To: "0501234567", From: "0312345678"}, "rest"},
		}
		for _, c := range calls {
			if d := p.Route(c.call); d.Rule == nil || d.Rule.Name != c.rule {
				b.Fatalf("%d rules, %+v: decision %v, want rule %s", n, c.call, d, c.rule)
			}
			b.Run(fmt.Sprintf("rules=%d/%s", n, c.name), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					p.Route(c.call)
				}
			})
		}
	}
}

// BenchmarkRouteRegexp shows the cost of a route written as a regular
// expression ahead of the rule that matches: it is tried one by one.
func BenchmarkRouteRegexp(b *testing.B) {
	p, err := Load("re.yaml", []byte(`
routes:
  - name: toll-free
    to: "re:0120[0-9]{6}"
    action: reject
    status: 403
  - name: rest
    action: reject
    status: 404
`))
	if err != nil {
		b.Fatal(err)
	}
	c := Call{To: "0312345678"}
	b.ReportAllocs()
	for b.Loop() {
		p.Route(c)
	}
}

// BenchmarkLoad loads and validates a 10,000-route file (about 800 KB), shadow
// check included.
func BenchmarkLoad(b *testing.B) {
	data := largePlanYAML(10000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Load("large.yaml", data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDialout(b *testing.B) {
	p := loadLarge(b, 1000)
	b.ReportAllocs()
	for b.Loop() {
		p.Dialout("alice", "03-0050-1234")
	}
}
