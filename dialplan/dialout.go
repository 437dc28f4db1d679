package dialplan

import (
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Dial-out is the toll-fraud wall. Its rules, in order:
//
//  1. A number that no dial-out rule matches is denied. There is no
//     default allow: an empty dialout section denies everything.
//  2. The first rule whose numbers (and operators, if it names any) match
//     decides. A deny rule denies.
//  3. An allow rule allows domestic numbers only, unless it opts in by name
//     to each other category: allow_international, allow_premium,
//     allow_service. A broad pattern such as _X. or _+X. therefore never
//     opens calls abroad or to premium-rate numbers by accident: the rule
//     that matches such a number denies it, and says why.
//  4. Carrier selection codes (00XY…) are always denied, and an allow rule
//     whose trunk is disabled denies.
//
// Numbers are matched in national form (see numberplan.go), so a rule sees
// 0312345678 whether the operator typed 03-1234-5678 or +81 3 1234 5678, and
// +14155550100 whether they typed +1 415… or 010 1 415….

// DialoutRule is one rule of the dialout section.
type DialoutRule struct {
	Name string
	Line int // where the rule starts in the file
	// Allow is true for an allow rule, false for a deny rule.
	Allow bool
	// Numbers are the patterns of the numbers the rule applies to, as written.
	Numbers []string
	// Operators are the logins the rule applies to; empty means every operator.
	Operators []string
	// Trunk is the trunk an allow rule places calls through.
	Trunk *Trunk
	// The categories beyond Domestic an allow rule may allow.
	AllowInternational bool
	AllowPremium       bool
	AllowService       bool

	to []*pattern
}

// allows reports whether the rule opts in to category c.
func (r *DialoutRule) allows(c Category) bool {
	switch c {
	case Domestic:
		return true
	case International:
		return r.AllowInternational
	case Premium:
		return r.AllowPremium
	case Service:
		return r.AllowService
	}
	return false
}

// DialoutLimits bound concurrent dial-out calls. They are data for the
// telephony side, which counts calls and enforces them: a call over a limit
// is refused as busy.
type DialoutLimits struct {
	// PerOperator is how many dial-out calls one operator may have at once.
	PerOperator int
	// PerTrunk is how many dial-out calls one trunk may carry at once.
	PerTrunk int
}

// DefaultDialoutLimits returns the limits when the dialout section sets none.
// Two calls per operator: calling a guest while another call still rings is
// normal, a third is unusual for a person and is what a stolen account
// placing fraudulent calls looks like. Ten per trunk caps the damage any
// number of stolen accounts can do; set it to the channels in the carrier
// contract.
func DefaultDialoutLimits() DialoutLimits { return DialoutLimits{PerOperator: 2, PerTrunk: 10} }

// maxDialoutLimit bounds the limits to catch typos (2000 for 20).
const maxDialoutLimit = 1000

// DialoutDecision says whether an operator may call a number, and why.
type DialoutDecision struct {
	Allowed bool
	// Operator is the login that asked.
	Operator string
	// Matched is the number as the rules saw it, in national form
	// (0312345678, +14155550100); "" when the input was not a number.
	Matched string
	// Number is what to dial through Trunk: the E.164 form (+81312345678),
	// or for a service number (110, #7119) its digits. Set when Allowed.
	Number   string
	Category Category
	// Trunk is the trunk to call through. Set when Allowed.
	Trunk *Trunk
	// Rule is the rule that allowed or denied the number, nil when none
	// matched (denied by default) or the input was refused before the rules.
	Rule *DialoutRule
	// Reason explains the decision for the operator and the logs.
	Reason string
}

// String describes the decision on one line for logs and the CLI.
func (d DialoutDecision) String() string {
	where := "no rule matched: dial-out is denied unless a rule allows it"
	if d.Rule != nil {
		where = fmt.Sprintf("rule %q, line %d", d.Rule.Name, d.Rule.Line)
	} else if d.Matched == "" || d.Category == "" {
		where = "refused before the rules"
	}
	if d.Allowed {
		return fmt.Sprintf("allowed: %s as %s via trunk %q (%s)", d.Matched, d.Number, d.Trunk.Name, where)
	}
	return fmt.Sprintf("denied: %s (%s)", d.Reason, where)
}

// Dialout decides whether operator may call number, through which trunk, and
// in which form. number may be typed as people do: 03-1234-5678,
// +81 3 1234 5678, full-width digits. The decision names the rule that
// allowed or denied the call. Dialout is safe for concurrent use.
func (p *Plan) Dialout(operator, number string) DialoutDecision {
	d := DialoutDecision{Operator: operator}
	if operator == "" {
		d.Reason = "no operator given"
		return d
	}
	clean, ok := cleanDialString(number)
	if !ok || clean == "" || clean == "+" {
		d.Reason = fmt.Sprintf("%q is not a phone number", number)
		return d
	}
	matched := nationalForm(clean)
	cat, e164, detail, problem := classify(matched)
	if problem != "" {
		d.Reason = fmt.Sprintf("%s: %s", matched, problem)
		return d
	}
	d.Matched, d.Category = matched, cat
	m := matcher{dialout: p.DialoutRules, operator: operator}
	best := p.dialoutIndex.lookup(matched, &m, noRule)
	if best == noRule {
		d.Reason = fmt.Sprintf("no dial-out rule allows %s to call %s", operator, matched)
		return d
	}
	r := p.DialoutRules[best]
	d.Rule = r
	switch {
	case !r.Allow:
		d.Reason = fmt.Sprintf("%s is denied by rule %q", matched, r.Name)
	case !r.allows(cat):
		what := string(cat)
		if detail != "" {
			what += " (" + detail + ")"
		}
		d.Reason = fmt.Sprintf("%s is a %s number, and rule %q does not set allow_%s: true", matched, what, r.Name, cat)
	case !r.Trunk.Enabled:
		d.Reason = fmt.Sprintf("rule %q allows %s, but its trunk %q is disabled", r.Name, matched, r.Trunk.Name)
	default:
		d.Allowed, d.Trunk = true, r.Trunk
		d.Number = e164
		if d.Number == "" {
			d.Number = matched
		}
		d.Reason = fmt.Sprintf("%s is allowed by rule %q", matched, r.Name)
	}
	return d
}

var dialoutRuleKeys = []string{"name", "allow", "deny", "operators", "trunk", "allow_international", "allow_premium", "allow_service"}

// decodeDialout decodes the dialout section. nodes[i] is where rules[i] is
// written.
func decodeDialout(d *decoder, path string, n *yaml.Node, s *sections) (limits DialoutLimits, prefix string, rules []*DialoutRule, nodes []*yaml.Node) {
	limits = DefaultDialoutLimits()
	rec := d.record(path, n, "limits", "outside_prefix", "rules")
	if e, has := rec["outside_prefix"]; has {
		const expected = `one to three of the digits 0-9, * and #, e.g. "0"`
		if p, ok := d.str(e.path, e.value, expected); ok {
			if p == "" || len(p) > 3 || strings.Trim(p, "0123456789*#") != "" {
				d.errorf(e.value, e.path, expected, "%q cannot be dialled before a number", p)
			} else {
				prefix = p
			}
		}
	}
	if e, has := rec["limits"]; has {
		d.mapping(e.path, e.value, []field{
			{"per_operator", func(p string, v *yaml.Node) {
				if x, ok := d.integer(p, v, 1, maxDialoutLimit); ok {
					limits.PerOperator = x
				}
			}},
			{"per_trunk", func(p string, v *yaml.Node) {
				if x, ok := d.integer(p, v, 1, maxDialoutLimit); ok {
					limits.PerTrunk = x
				}
			}},
		})
	}
	e, has := rec["rules"]
	if !has {
		return limits, prefix, nil, nil
	}
	items, ok := d.list(e.path, e.value, "a list of dial-out rules, each a mapping starting with - name: …")
	if !ok {
		return limits, prefix, nil, nil
	}
	first := make(map[string]*DialoutRule)
	for i, item := range items {
		ipath := fmt.Sprintf("%s[%d]", e.path, i)
		r := decodeDialoutRule(d, ipath, item, s)
		if r == nil {
			continue
		}
		if prev := first[r.Name]; prev != nil {
			d.errorf(item, ipath, "each dial-out rule name once", "duplicate dial-out rule name %q (first at line %d)", r.Name, prev.Line)
			continue
		}
		first[r.Name] = r
		rules = append(rules, r)
		nodes = append(nodes, item)
	}
	return limits, prefix, rules, nodes
}

func decodeDialoutRule(d *decoder, path string, n *yaml.Node, s *sections) *DialoutRule {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "a dial-out rule: a mapping with name, allow or deny, and so on", "found %s", describe(n))
		return nil
	}
	rec := d.record(path, n, dialoutRuleKeys...)
	r := &DialoutRule{Line: n.Line}
	bad := len(d.Problems)
	if e, has := rec["name"]; has {
		r.Name, _ = d.name(e.path, e.value, "dial-out rule")
	} else {
		d.errorf(n, path, "name: a name for logs and for operators to read", "missing key \"name\"")
	}
	allow, hasAllow := rec["allow"]
	deny, hasDeny := rec["deny"]
	var numbers entry
	switch {
	case hasAllow && hasDeny:
		d.errorf(deny.key, path, "either allow or deny", "a rule either allows or denies: both allow and deny are set")
		return nil
	case hasAllow:
		r.Allow, numbers = true, allow
	case hasDeny:
		numbers = deny
	default:
		d.errorf(n, path, "allow: NUMBERS (with trunk) or deny: NUMBERS", "missing key \"allow\" or \"deny\": say which numbers this rule allows or denies")
		return nil
	}
	items, _ := d.patternItems(numbers.path, numbers.value, patternOptions{})
	for _, it := range items {
		checkDialoutPattern(d, it)
		r.to = append(r.to, it.p)
	}
	r.Numbers = texts(r.to)
	if e, has := rec["operators"]; has {
		r.Operators = d.operators(e.path, e.value)
	}
	if e, has := rec["trunk"]; has {
		if !r.Allow {
			d.errorf(e.key, path, "trunk only on an allow rule", "a deny rule places no calls: trunk does not apply")
		} else if names := d.trunkRefs(e.path, e.value, s); len(names) > 1 {
			d.errorf(e.value, e.path, "one trunk", "a rule places calls through one trunk")
		} else if len(names) == 1 {
			r.Trunk = s.trunks[names[0]]
			if !r.Trunk.Enabled {
				d.warnf(e.value, e.path, "trunk %q is disabled: numbers rule %q allows are denied until it is enabled", r.Trunk.Name, r.Name)
			}
		}
	} else if r.Allow {
		d.errorf(n, path, "trunk: the trunk to call through", "missing key \"trunk\" on an allow rule")
	}
	for _, key := range []string{"allow_international", "allow_premium", "allow_service"} {
		e, has := rec[key]
		if !has {
			continue
		}
		v, ok := d.boolean(e.path, e.value)
		if !ok {
			continue
		}
		if !r.Allow {
			d.errorf(e.key, path, key+" only on an allow rule", "a deny rule denies every number it matches: %s does not apply", key)
			continue
		}
		switch key {
		case "allow_international":
			r.AllowInternational = v
		case "allow_premium":
			r.AllowPremium = v
		case "allow_service":
			r.AllowService = v
		}
	}
	if len(d.Problems) > bad {
		return nil
	}
	return r
}

// checkDialoutPattern refuses patterns written for a form rules never see.
func checkDialoutPattern(d *decoder, it patternItem) {
	p := it.p
	if p.kind != patDigits || len(p.classes) < 2 {
		return
	}
	c := p.classes
	switch {
	case len(c) >= 3 && c[0] == 1 && c[1] == 1<<1 && c[2] == 1:
		d.errorf(it.node, it.path, "the + form, e.g. _+1X. instead of _0101X.",
			"%q starts with 010, but international numbers are matched as +, country code, number", p.text)
	case c[0] == 1 && c[1] == 1:
		d.warnf(it.node, it.path, "%q can never match: numbers with a carrier selection code (00XY…) are always denied", p.text)
	}
}

// operators decodes one login or a list of them.
func (d *decoder) operators(path string, n *yaml.Node) []string {
	const expected = "an operator's login ID"
	paths, items := d.oneOrMore(path, n, "a list of operators' login IDs, e.g. [alice, bob]")
	var out []string
	for i, item := range items {
		s, ok := d.numberText(paths[i], item, expected)
		if !ok {
			continue
		}
		if !validName(s) {
			d.errorf(item, paths[i], "a login ID of letters, digits, '.', '_', '-' and '@'", "bad login %q", s)
			continue
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// Categories lists the categories an allow rule lets through.
func (r *DialoutRule) Categories() []Category {
	cats := []Category{Domestic}
	if r.AllowInternational {
		cats = append(cats, International)
	}
	if r.AllowPremium {
		cats = append(cats, Premium)
	}
	if r.AllowService {
		cats = append(cats, Service)
	}
	return cats
}

// SoftphoneOutside reads what an operator's softphone dialled as an outside
// number: without OutsidePrefix set, the dialled string as it is; with it,
// what follows the prefix, and ok false when the prefix is missing (on such
// a PBX "0312345678" without the line prefix is no outside number).
func (p *Plan) SoftphoneOutside(dialled string) (number string, ok bool) {
	if p.OutsidePrefix == "" {
		return dialled, true
	}
	return strings.CutPrefix(dialled, p.OutsidePrefix)
}
