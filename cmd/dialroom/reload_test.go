package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dialroom/dialroom/configs"
	"github.com/dialroom/dialroom/dialplan"
)

// reloadPlan is a dialplan whose issued numbers start with prefix and whose
// one conference route is named after it.
func reloadPlan(prefix string) string {
	return fmt.Sprintf(`numbering:
  prefixes: ["%[1]s"]
routes:
  - name: issued-%[1]s
    to: _%[1]sXXXXXXXX
    action: conference
  - name: rest
    action: reject
    status: 404
`, prefix)
}

// brokenPlan has two problems; the reload must log both with positions.
const brokenPlan = `numbering:
  prefixes: ["090"]
routes:
  - name: issued
    to: _0[60XXXXXXXX
    action: conference
`

// writeFileAtomic replaces file the way careful editors and config managers
// do, so that the server never reads it half-written.
func writeFileAtomic(t *testing.T, file, content string) {
	t.Helper()
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, file); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// reloads returns dialroom_dialplan_reloads_total{result} from the server's
// /metrics, as Prometheus scrapes it.
func (ts *testServer) reloads(t *testing.T, result string) int {
	t.Helper()
	return ts.metric(t, `dialroom_dialplan_reloads_total{result="`+result+`"}`)
}

// metric returns the value of one sample (name with labels, as written) of
// the server's /metrics, as Prometheus scrapes it; the test fails without it.
func (ts *testServer) metric(t *testing.T, sample string) int {
	t.Helper()
	resp, err := http.Get(ts.URL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var n int
	prefix := sample + " "
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, prefix) {
			fmt.Sscan(strings.TrimPrefix(line, prefix), &n)
			return n
		}
	}
	t.Fatalf("no %s… in /metrics", prefix)
	return 0
}

func (ts *testServer) routeRule(number string) string {
	d := ts.Plan().Route(dialplan.Call{To: number})
	if d.Rule == nil {
		return ""
	}
	return d.Rule.Name
}

// issuePrefix issues a number to admin, as the console does, and returns its
// prefix: the numbering rules in force.
func (ts *testServer) issuePrefix(t *testing.T) string {
	t.Helper()
	op, err := ts.DB.OperatorByLogin(context.Background(), "admin")
	if err != nil {
		t.Fatal(err)
	}
	n, err := ts.Web.Issue(context.Background(), op)
	if err != nil {
		t.Fatal(err)
	}
	return n.Digits[:3]
}

// TestReloadDialplan runs a real server on a dialplan file and changes the
// file under it: a valid file applies to new calls and numbers (by file
// change and by SIGHUP), a broken one is refused with every problem logged at
// its position, counted, and the old plan keeps routing.
func TestReloadDialplan(t *testing.T) {
	file := filepath.Join(t.TempDir(), "dialplan.yaml")
	writeFileAtomic(t, file, reloadPlan("060"))
	ts := startServer(t, "", func(c *configs.Config) { c.Dialplan = file })

	if got := ts.routeRule("06012345678"); got != "issued-060" {
		t.Fatalf("first plan: route %q", got)
	}
	if got := ts.issuePrefix(t); got != "060" {
		t.Fatalf("first plan: issued %s", got)
	}
	inProgress := ts.Plan() // what a call that arrived now keeps using

	// 1. The file changes: the poller applies it within a few seconds.
	writeFileAtomic(t, file, reloadPlan("030"))
	waitFor(t, 15*time.Second, "the changed file to apply", func() bool { return ts.routeRule("03012345678") == "issued-030" })
	if got := ts.issuePrefix(t); got != "030" {
		t.Errorf("after the change: issued %s, want 030", got)
	}
	if got := ts.routeRule("06012345678"); got != "rest" {
		t.Errorf("after the change: 060 routes to %q, want rest", got)
	}
	if d := inProgress.Route(dialplan.Call{To: "06012345678"}); d.Rule == nil || d.Rule.Name != "issued-060" {
		t.Errorf("the plan a call in progress holds changed: %v", d)
	}
	if n := ts.reloads(t, "ok"); n != 1 {
		t.Errorf("reloads ok = %d, want 1", n)
	}

	// 2. SIGHUP reloads, even an unchanged file.
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "SIGHUP to reload", func() bool { return ts.reloads(t, "ok") == 2 })

	// 3. A broken file is refused: the running plan stays, every problem is
	// logged with its position, and the failure is counted.
	good := ts.Plan()
	writeFileAtomic(t, file, brokenPlan)
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the broken file to be refused", func() bool { return ts.reloads(t, "failed") == 1 })
	if ts.Plan() != good {
		t.Fatal("a broken file replaced the plan")
	}
	if got := ts.routeRule("03012345678"); got != "issued-030" {
		t.Errorf("after the broken file: route %q, want issued-030", got)
	}
	if got := ts.issuePrefix(t); got != "030" {
		t.Errorf("after the broken file: issued %s, want 030", got)
	}
	logs := ts.logs.String()
	for _, want := range []string{
		file + `:2:14: numbering.prefixes[0]: prefix 090 is forbidden`,
		file + `:5:9: routes[0].to: pattern \"_0[60XXXXXXXX\": '[' at character 3 is not closed`,
		"dialplan reload failed: the running plan stays in force",
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}

	// The poller does not report the same broken file again.
	time.Sleep(2*dialplanPollInterval + 500*time.Millisecond)
	if n := ts.reloads(t, "failed"); n != 1 {
		t.Errorf("reloads failed = %d after polls of the same file, want 1", n)
	}

	// ReloadDialplan says why.
	err := ts.ReloadDialplan()
	var p *dialplan.Problem
	if !errors.As(err, &p) || p.Line != 2 {
		t.Errorf("ReloadDialplan = %v, want the problems", err)
	}
	if n := ts.reloads(t, "failed"); n != 2 {
		t.Errorf("reloads failed = %d, want 2", n)
	}

	// 4. Fixed: applies at once through ReloadDialplan.
	writeFileAtomic(t, file, reloadPlan("040"))
	if err := ts.ReloadDialplan(); err != nil {
		t.Fatal(err)
	}
	if got := ts.issuePrefix(t); got != "040" {
		t.Errorf("after the fix: issued %s, want 040", got)
	}
	if n := ts.reloads(t, "ok"); n != 3 {
		t.Errorf("reloads ok = %d, want 3", n)
	}
}

// TestReloadEmbeddedDialplan: the embedded default has no file to watch.
func TestReloadEmbeddedDialplan(t *testing.T) {
	ts := startServer(t, "", nil)
	if ts.reloader.started {
		t.Error("watching the embedded dialplan")
	}
	if err := ts.ReloadDialplan(); !errors.Is(err, errNoDialplanFile) {
		t.Errorf("ReloadDialplan = %v", err)
	}
	if n := ts.reloads(t, "ok") + ts.reloads(t, "failed"); n != 0 {
		t.Errorf("%d reloads counted", n)
	}
	if ts.Plan() == nil || ts.routeRule("06012345678") != "direct-dial" {
		t.Errorf("embedded plan: %v", ts.routeRule("06012345678"))
	}
}
