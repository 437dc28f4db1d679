package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const cliPlan = `
trunks:
  - name: carrier
    registrar: sip:sip.example.net
    sources: [192.0.2.10]
    username: "0312345678"
    password: ${DIALROOM_TEST_CARRIER_PASSWORD}
    dids: ["0312345678", "_060XXXXXXXX"]
routes:
  - name: direct-dial
    to: _060XXXXXXXX
    action: conference
  - name: access-number
    to: "0312345678"
    trunk: carrier
    action: collect
  - name: operators
    to: _2XX
    from_extension: _2XX
    action: extension
  - name: rest
    action: reject
    status: 404
    prompt: goodbye
dialout:
  rules:
    - name: japan
      allow: ["_0ZXXXXXXXX", "_0Z0XXXXXXXX"]
      trunk: carrier
`

// The password the CLI must never print.
const cliSecret = "cli-secret-never-printed"

func writePlan(t *testing.T, content string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "dialplan.yaml")
	if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

func runDialplanCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(append([]string{"dialplan"}, args...), strings.NewReader(""), &out, &errb)
	if strings.Contains(out.String()+errb.String(), cliSecret) {
		t.Fatalf("dialplan %q printed the password:\n%s%s", args, out.String(), errb.String())
	}
	return code, out.String(), errb.String()
}

func TestDialplanCheck(t *testing.T) {
	t.Setenv("DIALROOM_TEST_CARRIER_PASSWORD", cliSecret)
	good := writePlan(t, cliPlan)

	code, out, errs := runDialplanCmd(t, "check", good)
	if code != 0 || errs != "" {
		t.Fatalf("check: exit %d\n%s%s", code, out, errs)
	}
	want := good + ": ok: numbering per_conference with prefixes 060, 030, 040; 1 trunk (1 enabled); 4 routes; 1 dial-out rule (1 allow)\n"
	if out != want {
		t.Errorf("check output:\n got %q\nwant %q", out, want)
	}

	// The embedded default is valid and says so in one line.
	code, out, _ = runDialplanCmd(t, "check", "../../configs/dialplan.yaml")
	if code != 0 || strings.Count(out, "\n") != 1 {
		t.Errorf("default: exit %d, %q", code, out)
	}

	// Every problem, each with its position, and exit 1.
	bad := writePlan(t, "routes:\n  - name: x\n    to: _0X[\n    action: conference\n  - name: y\n    trunk: nope\n    action: reject\n    status: 404\n")
	code, out, errs = runDialplanCmd(t, "check", bad)
	if code != 1 || out != "" {
		t.Fatalf("bad: exit %d, stdout %q", code, out)
	}
	lines := strings.Split(strings.TrimSpace(errs), "\n")
	if len(lines) != 3 ||
		!strings.HasPrefix(lines[0], bad+":3:9: routes[0].to: pattern \"_0X[\"") ||
		!strings.HasPrefix(lines[1], bad+":6:12: routes[1].trunk: undefined trunk \"nope\"") ||
		lines[2] != "dialroom: "+bad+": the dialplan is not valid (2 problems)" {
		t.Errorf("bad: stderr\n%s", errs)
	}

	// Warnings are printed and do not fail the check; an inline password is
	// warned about but not shown.
	warn := writePlan(t, strings.Replace(strings.Replace(cliPlan, "${DIALROOM_TEST_CARRIER_PASSWORD}", cliSecret, 1),
		"  - name: rest\n", "  - name: shadowed\n    to: _06012XXXXXX\n    action: conference\n  - name: rest\n", 1))
	code, out, errs = runDialplanCmd(t, "check", warn)
	if code != 0 || !strings.Contains(out, ": ok: ") ||
		!strings.Contains(errs, `warning: `+warn+`:21:5: routes[3]: route "shadowed" can never match: route "direct-dial" (line 10) matches every call it would`) ||
		!strings.Contains(errs, "password written inline") {
		t.Errorf("warnings: exit %d\n%s%s", code, out, errs)
	}

	// Without the variable the server would refuse the file, and so does
	// check; --skip-secrets checks everything else.
	os.Unsetenv("DIALROOM_TEST_CARRIER_PASSWORD")
	code, _, errs = runDialplanCmd(t, "check", good)
	if code != 1 || !strings.Contains(errs, "environment variable DIALROOM_TEST_CARRIER_PASSWORD is not set") {
		t.Errorf("no variable: exit %d, %q", code, errs)
	}
	if code, _, errs = runDialplanCmd(t, "check", good, "--skip-secrets"); code != 0 {
		t.Errorf("--skip-secrets: exit %d, %q", code, errs)
	}

	if code, _, errs = runDialplanCmd(t, "check", filepath.Join(t.TempDir(), "missing.yaml")); code != 1 || !strings.Contains(errs, "no such file") {
		t.Errorf("missing file: exit %d, %q", code, errs)
	}
}

func TestDialplanRoute(t *testing.T) {
	t.Setenv("DIALROOM_TEST_CARRIER_PASSWORD", cliSecret)
	file := writePlan(t, cliPlan)
	tests := []struct {
		args []string
		want []string // lines of the output, in order
	}{
		{[]string{"--to", "+81 60 1234 5678"}, []string{
			"call:     to +81 60 1234 5678",
			`route:    "direct-dial", line 10`,
			"decision: conference 060-1234-5678",
			"next:     the caller hears waiting (built-in) and waits in the lobby of 060-1234-5678",
		}},
		{[]string{"--to", "03-1234-5678", "--from", "09011112222", "--trunk", "carrier"}, []string{
			"call:     to 03-1234-5678 from 09011112222 via trunk carrier",
			`route:    "access-number", line 13`,
			"decision: collect a number by DTMF",
			"prompt:   enter-number (built-in)",
			"collect:  up to 11 digits, complete when 11 digits are in or # is pressed or after 5s without a key; the first key within 10s",
			"retries:  2, each after invalid-number (built-in); then goodbye (built-in) and hang up",
			"next:     the keyed number is routed again by the routes, skipping collect routes; try:",
			"          dialroom dialplan route " + file + " --to DIGITS --trunk carrier --from 09011112222 --collected",
		}},
		{[]string{"--to", "0312345678", "--trunk", "carrier", "--collected"}, []string{
			`route:    "rest", line 21`,
			"decision: reject 404 Not Found",
			"next:     the caller hears goodbye (built-in), then the call is rejected",
		}},
		{[]string{"--to", "205", "--extension", "201"}, []string{
			`route:    "operators", line 17`,
			"decision: extension 205",
		}},
	}
	for _, tt := range tests {
		code, out, errs := runDialplanCmd(t, append([]string{"route", file}, tt.args...)...)
		if code != 0 || errs != "" {
			t.Errorf("route %q: exit %d\n%s%s", tt.args, code, out, errs)
			continue
		}
		if !containsInOrder(out, tt.want) {
			t.Errorf("route %q:\n%s\nwant lines:\n%s", tt.args, out, strings.Join(tt.want, "\n"))
		}
	}

	// No route matched.
	empty := writePlan(t, "")
	if code, out, _ := runDialplanCmd(t, "route", empty, "--to", "0312345678"); code != 0 ||
		!strings.Contains(out, "route:    none matched") || !strings.Contains(out, "decision: reject 404 Not Found") {
		t.Errorf("empty plan: exit %d\n%s", code, out)
	}

	// Usage errors exit 2; an unknown trunk is an error.
	for _, args := range [][]string{
		{"route", file},
		{"route", "--to", "1"},
		{"route", file, "other.yaml", "--to", "1"},
		{"route", file, "--to", "1", "--trunk", "carrier", "--extension", "201"},
		{"route", file, "--bogus"},
		{"frobnicate", file},
		{},
	} {
		if code, _, _ := runDialplanCmd(t, args...); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
	if code, _, errs := runDialplanCmd(t, "route", file, "--to", "1", "--trunk", "carier"); code != 1 || !strings.Contains(errs, `defines no trunk "carier"`) {
		t.Errorf("unknown trunk: exit %d, %q", code, errs)
	}
}

func TestDialplanDialout(t *testing.T) {
	t.Setenv("DIALROOM_TEST_CARRIER_PASSWORD", cliSecret)
	file := writePlan(t, cliPlan)
	tests := []struct {
		number string
		want   []string
	}{
		{"03-1234-5678", []string{
			"operator: alice",
			"number:   0312345678 (domestic)",
			`decision: allowed: dial +81312345678 via trunk "carrier"`,
			`rule:     "japan", line 27 (allow domestic)`,
			"limits:   2 concurrent dial-out calls per operator, 10 per trunk",
		}},
		{"0570-123-456", []string{
			"number:   0570123456 (premium)",
			`decision: denied: 0570123456 is a premium (0570 NaviDial) number, and rule "japan" does not set allow_premium: true`,
			`rule:     "japan", line 27 (allow domestic)`,
		}},
		{"+1 415 555 0100", []string{
			"number:   +14155550100 (international)",
			"decision: denied: no dial-out rule allows alice to call +14155550100",
			"rule:     none matched; dial-out is denied unless a rule allows it",
		}},
		{"0033-010-1-415", []string{
			"decision: denied: 00330101415: carrier selection codes (00XY…) are not allowed: dial the number without it",
		}},
	}
	for _, tt := range tests {
		code, out, errs := runDialplanCmd(t, "dialout", file, "--operator", "alice", "--to", tt.number)
		if code != 0 || errs != "" {
			t.Errorf("dialout %s: exit %d\n%s%s", tt.number, code, out, errs)
			continue
		}
		if !containsInOrder(out, tt.want) {
			t.Errorf("dialout %s:\n%s\nwant lines:\n%s", tt.number, out, strings.Join(tt.want, "\n"))
		}
	}
	for _, args := range [][]string{
		{"dialout", file, "--to", "0312345678"},
		{"dialout", file, "--operator", "alice"},
	} {
		if code, _, _ := runDialplanCmd(t, args...); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
}

// TestDialplanDialoutSoftphone: --softphone reads the number as a desk
// phone dials it, after dialout.outside_prefix.
func TestDialplanDialoutSoftphone(t *testing.T) {
	t.Setenv("DIALROOM_TEST_CARRIER_PASSWORD", cliSecret)
	file := writePlan(t, strings.Replace(cliPlan, "dialout:\n", "dialout:\n  outside_prefix: \"0\"\n", 1))
	for number, want := range map[string][]string{
		"0 03-1234-5678":  {`dialled:  0 03-1234-5678 (outside prefix "0")`, "number:   0312345678 (domestic)", `decision: allowed: dial +81312345678 via trunk "carrier"`},
		"+1 415 555 0100": {"decision: denied: a softphone dials 0 before an outside number"},
	} {
		code, out, errs := runDialplanCmd(t, "dialout", file, "--operator", "alice", "--to", number, "--softphone")
		if code != 0 || errs != "" || !containsInOrder(out, want) {
			t.Errorf("dialout --softphone %s: exit %d\n%s%s\nwant lines:\n%s", number, code, out, errs, strings.Join(want, "\n"))
		}
	}
}

func TestDialplanHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"help"}, {"check", "--help"}, {"route", "-h"}, {"dialout", "--help"}} {
		code, out, errs := runDialplanCmd(t, args...)
		if code != 0 || !regexp.MustCompile(`(?i)usage`).MatchString(out+errs) {
			t.Errorf("%q: exit %d\n%s%s", args, code, out, errs)
		}
	}
}

// containsInOrder reports whether every line of want is a line of out (for
// the last, a prefix of one), in order.
func containsInOrder(out string, want []string) bool {
	lines := strings.Split(out, "\n")
	i := 0
	for _, w := range want {
		for i < len(lines) && !strings.HasPrefix(lines[i], w) {
			i++
		}
		if i == len(lines) {
			return false
		}
		i++
	}
	return true
}
