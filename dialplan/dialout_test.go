package dialplan

import (
	"strings"
	"testing"
)

const dialoutTestPlan = `
trunks:
  - name: carrier
    registrar: sip:sip.example.net
  - name: spare
    enabled: false
    registrar: sip:spare.example.net
dialout:
  limits:
    per_operator: 3
    per_trunk: 20
  rules:
    - name: no-navidial
      deny: _0570XXXXXX
    - name: mallory-nothing
      deny: _!
      operators: [mallory]
    - name: teledome-for-alice
      allow: _0180XXXXXX
      operators: [alice]
      trunk: carrier
      allow_premium: true
    - name: spare-line
      allow: "03-1111-0000"
      trunk: spare
    - name: japan
      allow: ["_0ZXXXXXXXX", "_0Z0XXXXXXXX"]
      trunk: carrier
    - name: us-for-alice
      allow: _+1NXXNXXXXXX
      operators: [alice, carol]
      trunk: carrier
      allow_international: true
    - name: uk-without-opt-in
      allow: _+44X.
      trunk: carrier
    - name: emergency
      allow: ["110", "119"]
      trunk: carrier
      allow_service: true
    - name: directory
      allow: "104"
      trunk: carrier
`

func TestDialout(t *testing.T) {
	p := mustLoad(t, dialoutTestPlan)
	tests := []struct {
		name, operator, number string
		allowed                bool
		rule                   string // "" for none
		number164, category    string
		reason                 string // part of Reason
	}{
		{"domestic fixed line", "alice", "03-1234-5678", true, "japan", "+81312345678", "domestic", "allowed by rule"},
		{"typed as +81", "bob", "+81 3 1234 5678", true, "japan", "+81312345678", "domestic", ""},
		{"typed as +81 (0)", "bob", "+81 (0)3-1234-5678", true, "japan", "+81312345678", "domestic", ""},
		{"full-width digits", "bob", "０３−１２３４−５６７８", true, "japan", "+81312345678", "domestic", ""},
		{"mobile", "bob", "090-1234-5678", true, "japan", "+819012345678", "domestic", ""},
		{"toll-free", "bob", "0120-123-456", true, "japan", "+81120123456", "domestic", ""},
		{"deny rule for one operator", "mallory", "0312345678", false, "mallory-nothing", "", "domestic", `denied by rule "mallory-nothing"`},
		{"deny rule before allow", "alice", "0570-123-456", false, "no-navidial", "", "premium", `denied by rule "no-navidial"`},
		{"premium without opt-in", "bob", "0990-123-456", false, "japan", "", "premium", `premium (0990 Dial Q2 information service) number, and rule "japan" does not set allow_premium: true`},
		{"premium with opt-in", "alice", "0180-123-456", true, "teledome-for-alice", "+81180123456", "premium", ""},
		{"premium opt-in is per operator", "bob", "0180-123-456", false, "japan", "", "premium", "allow_premium"},
		{"international with opt-in", "alice", "+1 415 555 0100", true, "us-for-alice", "+14155550100", "international", ""},
		{"international via 010", "carol", "010-1-415-555-0100", true, "us-for-alice", "+14155550100", "international", ""},
		{"international, operator not named", "bob", "+14155550100", false, "", "", "international", "no dial-out rule allows bob"},
		{"international without opt-in", "alice", "+44 20 7123 4567", false, "uk-without-opt-in", "", "international", "allow_international"},
		{"international no rule", "alice", "+33 1 23 45 67 89", false, "", "", "international", "no dial-out rule"},
		{"service with opt-in", "bob", "110", true, "emergency", "110", "service", ""},
		{"service without opt-in", "bob", "104", false, "directory", "", "service", "allow_service"},
		{"caller-ID prefix is a service number", "bob", "184-03-1234-5678", false, "", "", "service", "no dial-out rule"},
		{"disabled trunk", "bob", "0311110000", false, "spare-line", "", "domestic", `trunk "spare" is disabled`},
		{"carrier selection", "alice", "0033-010-1-415-555-0100", false, "", "", "", "carrier selection"},
		{"too short", "alice", "031234567", false, "", "", "", "10 or 11 digits"},
		{"too long", "alice", "031234567890", false, "", "", "", "10 or 11 digits"},
		{"E.164 too long", "alice", "+1234567890123456", false, "", "", "", "at most 15 digits"},
		{"not a number", "alice", "hello", false, "", "", "", "not a phone number"},
		{"plus inside", "alice", "03+1234", false, "", "", "", "not a phone number"},
		{"only a plus", "alice", "+", false, "", "", "", "not a phone number"},
		{"empty", "alice", "", false, "", "", "", "not a phone number"},
		{"no operator", "", "0312345678", false, "", "", "", "no operator"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := p.Dialout(tt.operator, tt.number)
			if d.Allowed != tt.allowed {
				t.Fatalf("Dialout(%q, %q) = %s, want allowed=%v", tt.operator, tt.number, d, tt.allowed)
			}
			switch {
			case tt.rule == "" && d.Rule != nil:
				t.Errorf("rule %q, want none (%s)", d.Rule.Name, d)
			case tt.rule != "" && (d.Rule == nil || d.Rule.Name != tt.rule):
				t.Errorf("%s: want rule %q", d, tt.rule)
			}
			if d.Number != tt.number164 || string(d.Category) != tt.category {
				t.Errorf("number %q category %q, want %q %q", d.Number, d.Category, tt.number164, tt.category)
			}
			if !strings.Contains(d.Reason, tt.reason) {
				t.Errorf("reason %q, want %q", d.Reason, tt.reason)
			}
			if d.Allowed && (d.Trunk == nil || d.Trunk.Name != "carrier") {
				t.Errorf("trunk %v, want carrier", d.Trunk)
			}
			if !d.Allowed && d.Trunk != nil {
				t.Errorf("denied with trunk %v", d.Trunk.Name)
			}
		})
	}
	if p.DialoutLimits != (DialoutLimits{PerOperator: 3, PerTrunk: 20}) {
		t.Errorf("limits %+v", p.DialoutLimits)
	}
	if len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0], `trunk "spare" is disabled`) {
		t.Errorf("warnings %q, want one about the disabled trunk", p.Warnings)
	}
}

func TestDialoutString(t *testing.T) {
	p := mustLoad(t, dialoutTestPlan)
	tests := []struct{ operator, number, want string }{
		{"bob", "0312345678", `allowed: 0312345678 as +81312345678 via trunk "carrier" (rule "japan", line 26)`},
		{"bob", "0990123456", `denied: 0990123456 is a premium (0990 Dial Q2 information service) number, and rule "japan" does not set allow_premium: true (rule "japan", line 26)`},
		{"bob", "+33123456789", `denied: no dial-out rule allows bob to call +33123456789 (no rule matched: dial-out is denied unless a rule allows it)`},
		{"bob", "x", `denied: "x" is not a phone number (refused before the rules)`},
	}
	for _, tt := range tests {
		if got := p.Dialout(tt.operator, tt.number).String(); got != tt.want {
			t.Errorf("Dialout(%q, %q):\n got %s\nwant %s", tt.operator, tt.number, got, tt.want)
		}
	}
}

// TestDialoutDefaultDeny: without rules nothing is allowed, and a rule that
// allows "everything" still allows only domestic numbers.
func TestDialoutDefaultDeny(t *testing.T) {
	for _, yaml := range []string{"", "dialout:\n", "dialout:\n  rules: []\n", "trunks: [{name: c, registrar: c.example}]\n"} {
		p := mustLoad(t, yaml)
		for _, n := range []string{"0312345678", "+14155550100", "110", "0990123456"} {
			if d := p.Dialout("alice", n); d.Allowed || d.Rule != nil {
				t.Errorf("%q: Dialout(%s) = %s, want denied by default", yaml, n, d)
			}
		}
	}
	p := mustLoad(t, `
trunks: [{name: c, registrar: c.example}]
dialout:
  rules:
    - name: everything
      allow: ["_!", "_+!", "_#!", "_*!"]
      trunk: c
`)
	for n, allowed := range map[string]bool{
		"0312345678": true, "09012345678": true, "0120123456": true,
		"+14155550100": false, "01014155550100": false, "+882123456": false,
		"0990123456": false, "0570123456": false, "0180123456": false, "0170123456": false,
		"110": false, "119": false, "104": false, "#7119": false, "1840312345678": false,
	} {
		if d := p.Dialout("alice", n); d.Allowed != allowed {
			t.Errorf("Dialout(%s) = %s, want allowed=%v", n, d, allowed)
		}
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		in, cat, e164 string
	}{
		{"0312345678", "domestic", "+81312345678"},
		{"09012345678", "domestic", "+819012345678"},
		{"05012345678", "domestic", "+815012345678"},
		{"08001234567", "domestic", "+818001234567"},
		{"0570123456", "premium", "+81570123456"},
		{"0990123456", "premium", "+81990123456"},
		{"0180123456", "premium", "+81180123456"},
		{"0170123456", "premium", "+81170123456"},
		{"+14155550100", "international", "+14155550100"},
		{"110", "service", ""},
		{"#7119", "service", ""},
		{"0012", "", ""},
		{"03123456", "", ""},
		{"03*2345678", "", ""},
		{"+1*", "", ""},
		{"+81", "", ""},
	}
	for _, tt := range tests {
		cat, e164, _, problem := classify(tt.in)
		if string(cat) != tt.cat || e164 != tt.e164 || (problem == "") != (tt.cat != "") {
			t.Errorf("classify(%q) = %q, %q, %q; want %q, %q", tt.in, cat, e164, problem, tt.cat, tt.e164)
		}
	}
}

func TestNationalForm(t *testing.T) {
	tests := map[string]string{
		"+81312345678":     "0312345678",
		"+810312345678":    "0312345678",
		"+81":              "+81",
		"01014155550100":   "+14155550100",
		"010810312345678":  "0312345678",
		"010":              "010",
		"0312345678":       "0312345678",
		"+14155550100":     "+14155550100",
		"110":              "110",
		"01081312345678":   "0312345678",
		"0101":             "+1",
		"+811":             "01",
		"+81012":           "012",
		"+8100":            "00",
		"+4401234":         "+4401234",
		"0033010141555501": "0033010141555501",
	}
	for in, want := range tests {
		if got := nationalForm(in); got != want {
			t.Errorf("nationalForm(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"+81-90-1234-5678": "09012345678",
		"090.1234.5678":    "09012345678",
		"(03) 1234-5678":   "0312345678",
		"alice":            "alice",
		"anonymous":        "anonymous",
		"0101415":          "0101415", // calls arrive without the 010
		"":                 "",
	} {
		if got := routeForm(in); got != want {
			t.Errorf("routeForm(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestOutsidePrefix: dialout.outside_prefix, what softphones dial before an
// outside number, and what is left of what they dialled.
func TestOutsidePrefix(t *testing.T) {
	p := mustLoad(t, "dialout:\n  outside_prefix: \"0\"\n")
	if p.OutsidePrefix != "0" {
		t.Fatalf("OutsidePrefix %q, want 0", p.OutsidePrefix)
	}
	for dialled, want := range map[string]string{"00312345678": "0312345678", "0+14155550100": "+14155550100", "0110": "110"} {
		if got, ok := p.SoftphoneOutside(dialled); !ok || got != want {
			t.Errorf("SoftphoneOutside(%q) = %q, %v; want %q", dialled, got, ok, want)
		}
	}
	if got, ok := p.SoftphoneOutside("+14155550100"); ok {
		t.Errorf("SoftphoneOutside without the prefix = %q, ok; want refused", got)
	}
	none := mustLoad(t, "dialout:\n  rules: []\n")
	if got, ok := none.SoftphoneOutside("0312345678"); !ok || got != "0312345678" {
		t.Errorf("without a prefix: %q, %v; want the number as dialled", got, ok)
	}
	for _, bad := range []string{`outside_prefix: 0`, `outside_prefix: "9a"`, `outside_prefix: "0000"`, `outside_prefix: ""`} {
		_, err := Load("t.yaml", []byte("dialout:\n  "+bad+"\n"))
		if err == nil || !strings.Contains(err.Error(), "dialout.outside_prefix") {
			t.Errorf("%s: error %v, want one naming dialout.outside_prefix", bad, err)
		}
	}
}
