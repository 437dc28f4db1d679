package dialplan

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

// problems returns the text of each problem in a joined error, checking that
// every one is a *Problem.
func problems(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	var out []string
	for _, e := range errs {
		var p *Problem
		if !errors.As(e, &p) {
			t.Errorf("error %q is a %T, want *Problem", e, e)
		}
		out = append(out, e.Error())
	}
	return out
}

func TestLoad(t *testing.T) {
	perOperator := DefaultNumbering()
	perOperator.Mode = PerOperator
	perOperator.RandomDigits = 4

	tests := []struct {
		name  string
		yaml  string
		want  Numbering // compared when no errors are expected
		errs  []string
		warns []string
	}{
		{name: "empty file", yaml: "", want: DefaultNumbering()},
		{name: "only comments", yaml: "# nothing here\n", want: DefaultNumbering()},
		{name: "empty document", yaml: "---\n", want: DefaultNumbering()},
		{name: "numbering without value", yaml: "numbering:\n", want: DefaultNumbering()},
		{name: "key without value keeps default", yaml: "numbering:\n  lifetime:\n", want: DefaultNumbering()},
		{
			name: "everything set",
			yaml: "numbering:\n  prefixes: [\"030\"]\n  random_digits: 6\n  mode: per_operator\n  lifetime: 7d\n",
			want: Numbering{Prefixes: []string{"030"}, RandomDigits: 6, Mode: PerOperator, Lifetime: 7 * 24 * time.Hour},
		},
		{name: "per_operator defaults to 4 random digits", yaml: "numbering:\n  mode: per_operator\n", want: perOperator},
		{
			name: "unquoted prefixes are read as written",
			yaml: "numbering:\n  prefixes:\n    - 060\n    - 040\n",
			want: Numbering{Prefixes: []string{"060", "040"}, RandomDigits: 8, Mode: PerConference, Lifetime: DefaultLifetime},
		},
		{
			name: "lifetime zero never expires",
			yaml: "numbering:\n  lifetime: 0\n",
			want: Numbering{Prefixes: DefaultPrefixes(), RandomDigits: 8, Mode: PerConference},
		},
		{
			name: "lifetime days and hours",
			yaml: "numbering:\n  lifetime: 1d12h\n",
			want: Numbering{Prefixes: DefaultPrefixes(), RandomDigits: 8, Mode: PerConference, Lifetime: 36 * time.Hour},
		},
		{
			name: "warning for 010 and 020",
			yaml: "numbering:\n  prefixes: [\"010\", \"020\", \"060\"]\n",
			want: Numbering{Prefixes: []string{"010", "020", "060"}, RandomDigits: 8, Mode: PerConference, Lifetime: DefaultLifetime},
			warns: []string{
				"t.yaml:2:14: numbering.prefixes[0]: prefix 010 is best avoided: 010 is the international call prefix: a guest dialling the number from a phone would start an international call",
				"t.yaml:2:21: numbering.prefixes[1]: prefix 020 is best avoided: 020 is assigned to M2M and IoT devices: an issued number could be a real device's number",
			},
		},
		{
			name:  "warning for random_digits in per_conference mode",
			yaml:  "numbering:\n  random_digits: 5\n",
			want:  DefaultNumbering(),
			warns: []string{"t.yaml:2:18: numbering.random_digits: has no effect in per_conference mode, where all 8 digits after the prefix are random"},
		},
		{
			name: "unknown top-level key",
			yaml: "numbering: {}\nnumbers: {}\n",
			errs: []string{`t.yaml:2:1: unknown key "numbers" (expected one of numbering, prompts, trunks, routes, dialout)`},
		},
		{
			name: "every section empty",
			yaml: "numbering:\nprompts:\ntrunks: []\nroutes: []\ndialout: {}\n",
			want: DefaultNumbering(),
		},
		{
			name: "typo in a key",
			yaml: "numbering:\n  prefixs: [\"060\"]\n",
			errs: []string{`t.yaml:2:3: numbering: unknown key "prefixs" (expected one of prefixes, random_digits, mode, lifetime; did you mean "prefixes"?)`},
		},
		{
			name: "forbidden prefix",
			yaml: "numbering:\n  prefixes: [060, 090]\n",
			errs: []string{`t.yaml:2:19: numbering.prefixes[1]: prefix 090 is forbidden: it belongs to real mobile phone numbers, so an issued number could ring a stranger (expected ` + expectedPrefix + `)`},
		},
		{
			name: "IP-phone prefix",
			yaml: "numbering:\n  prefixes: [\"050\"]\n",
			errs: []string{`t.yaml:2:14: numbering.prefixes[0]: prefix 050 is forbidden: it belongs to real IP-phone numbers, so an issued number could ring a stranger (expected ` + expectedPrefix + `)`},
		},
		{
			name: "malformed prefixes",
			yaml: "numbering:\n  prefixes: [\"600\", \"00\", \"000\", \"0a0\", [\"060\"], ~]\n",
			errs: []string{
				`t.yaml:2:14: numbering.prefixes[0]: found the text "600" (expected ` + expectedPrefix + `)`,
				`t.yaml:2:21: numbering.prefixes[1]: found the text "00" (expected ` + expectedPrefix + `)`,
				`t.yaml:2:27: numbering.prefixes[2]: found the text "000" (expected ` + expectedPrefix + `)`,
				`t.yaml:2:34: numbering.prefixes[3]: found the text "0a0" (expected ` + expectedPrefix + `)`,
				`t.yaml:2:41: numbering.prefixes[4]: found a list (expected ` + expectedPrefix + `)`,
				`t.yaml:2:50: numbering.prefixes[5]: missing prefix (expected ` + expectedPrefix + `)`,
			},
		},
		{
			name: "duplicate prefix",
			yaml: "numbering:\n  prefixes: [\"060\", \"060\"]\n",
			errs: []string{`t.yaml:2:21: numbering.prefixes[1]: duplicate prefix 060 (first at line 2, column 14) (expected each prefix once)`},
		},
		{
			name: "no prefixes",
			yaml: "numbering:\n  prefixes: []\n",
			errs: []string{`t.yaml:2:13: numbering.prefixes: the list is empty (expected at least one prefix, e.g. ["060"])`},
		},
		{
			name: "prefixes not a list",
			yaml: "numbering:\n  prefixes: \"060\"\n",
			errs: []string{`t.yaml:2:13: numbering.prefixes: found the text "060" (expected a list of prefixes, e.g. ["060", "030"])`},
		},
		{
			name: "random_digits out of range",
			yaml: "numbering:\n  random_digits: 3\n",
			errs: []string{`t.yaml:2:18: numbering.random_digits: 3 is out of range (expected an integer from 4 to 8)`},
		},
		{
			name: "random_digits too large",
			yaml: "numbering:\n  mode: per_operator\n  random_digits: 9\n",
			errs: []string{`t.yaml:3:18: numbering.random_digits: 9 is out of range (expected an integer from 4 to 8)`},
		},
		{
			name: "random_digits wrong type",
			yaml: "numbering:\n  random_digits: \"8\"\n",
			errs: []string{`t.yaml:2:18: numbering.random_digits: found the text "8" (expected an integer from 4 to 8)`},
		},
		{
			name: "random_digits not decimal",
			yaml: "numbering:\n  random_digits: 0x8\n",
			errs: []string{`t.yaml:2:18: numbering.random_digits: "0x8" is not a decimal integer (expected an integer from 4 to 8)`},
		},
		{
			name: "unknown mode",
			yaml: "numbering:\n  mode: per_room\n",
			errs: []string{`t.yaml:2:9: numbering.mode: unknown mode "per_room" (expected per_conference or per_operator)`},
		},
		{
			name: "mode wrong type",
			yaml: "numbering:\n  mode: true\n",
			errs: []string{`t.yaml:2:9: numbering.mode: found the boolean true (expected per_conference or per_operator)`},
		},
		{
			name: "lifetime not a duration",
			yaml: "numbering:\n  lifetime: 24\n",
			errs: []string{`t.yaml:2:13: numbering.lifetime: "24" is not a duration (expected a duration like 24h, 90m or 7d, or 0 for numbers that never expire)`},
		},
		{
			name: "negative lifetime",
			yaml: "numbering:\n  lifetime: -1h\n",
			errs: []string{`t.yaml:2:13: numbering.lifetime: -1h is negative (expected a duration like 24h, 90m or 7d, or 0 for numbers that never expire)`},
		},
		{
			name: "numbering not a mapping",
			yaml: "numbering: [060]\n",
			errs: []string{`t.yaml:1:12: numbering: found a list (expected a mapping of keys to values)`},
		},
		{
			name: "document not a mapping",
			yaml: "- numbering\n",
			errs: []string{`t.yaml:1:1: found a list (expected a mapping of keys to values)`},
		},
		{
			name: "duplicate key",
			yaml: "numbering:\n  mode: per_operator\n  mode: per_conference\n",
			errs: []string{`t.yaml:3:3: numbering.mode: duplicate key "mode" (first at line 2, column 3) (expected each key once)`},
		},
		{
			name: "merge key",
			yaml: "numbering:\n  <<: {mode: per_operator}\n",
			errs: []string{`t.yaml:2:3: numbering: merge keys (<<) are not supported (expected the keys written out)`},
		},
		{
			name: "two documents",
			yaml: "numbering: {}\n---\nnumbering: {}\n",
			errs: []string{`t.yaml:2:1: a second YAML document starts here (expected a single document)`},
		},
		{
			// yaml.v3 reports the line of the unclosed bracket counting from 0.
			name: "syntax error",
			yaml: "numbering:\n  prefixes: [\"060\"\n",
			errs: []string{`t.yaml:1:1: invalid YAML: did not find expected ',' or ']' (expected well-formed YAML)`},
		},
		{
			name: "syntax error on the first line",
			yaml: "numbering: mode: x\n",
			errs: []string{`t.yaml:1:1: invalid YAML: mapping values are not allowed in this context (expected well-formed YAML)`},
		},
		{
			name: "tab indentation",
			yaml: "numbering:\n\tmode: per_operator\n",
			errs: []string{`t.yaml:2:1: invalid YAML: found character that cannot start any token (expected well-formed YAML)`},
		},
		{
			name: "every problem at once",
			yaml: "numbering:\n  prefixes: [\"090\", \"6\"]\n  random_digits: 2\n  mode: fixed\n  lifetime: soon\n  colour: red\nroutes: none\n",
			errs: []string{
				`t.yaml:2:14: numbering.prefixes[0]: prefix 090 is forbidden: it belongs to real mobile phone numbers, so an issued number could ring a stranger (expected ` + expectedPrefix + `)`,
				`t.yaml:2:21: numbering.prefixes[1]: found the text "6" (expected ` + expectedPrefix + `)`,
				`t.yaml:3:18: numbering.random_digits: 2 is out of range (expected an integer from 4 to 8)`,
				`t.yaml:4:9: numbering.mode: unknown mode "fixed" (expected per_conference or per_operator)`,
				`t.yaml:5:13: numbering.lifetime: "soon" is not a duration (expected a duration like 24h, 90m or 7d, or 0 for numbers that never expire)`,
				`t.yaml:6:3: numbering: unknown key "colour" (expected one of prefixes, random_digits, mode, lifetime)`,
				`t.yaml:7:9: routes: found the text "none" (expected a list of routes, each a mapping starting with - name: …)`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, err := Load("t.yaml", []byte(tt.yaml))
			got := problems(t, err)
			if !reflect.DeepEqual(got, tt.errs) {
				t.Fatalf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.errs, "\n"))
			}
			if err != nil {
				if plan != nil {
					t.Errorf("Load returned a plan and an error")
				}
				return
			}
			if !reflect.DeepEqual(plan.Numbering, tt.want) {
				t.Errorf("numbering = %+v, want %+v", plan.Numbering, tt.want)
			}
			if !reflect.DeepEqual(plan.Warnings, tt.warns) {
				t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(plan.Warnings, "\n"), strings.Join(tt.warns, "\n"))
			}
		})
	}
}

// The default dialplan that configs embeds must load cleanly and say what
// DefaultNumbering says. It is read from disk, not imported: dialplan imports
// nothing of ours but the root package.
func TestDefaultDialplanFile(t *testing.T) {
	const file = "../configs/dialplan.yaml"
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := Load(file, data)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Warnings) > 0 {
		t.Errorf("warnings: %q", plan.Warnings)
	}
	if !reflect.DeepEqual(plan.Numbering, DefaultNumbering()) {
		t.Errorf("numbering = %+v, want DefaultNumbering() %+v", plan.Numbering, DefaultNumbering())
	}
}
