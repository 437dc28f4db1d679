package dialplan

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/dialroom/dialroom/yamlcheck"
)

var routeMatchKeys = []string{"name", "to", "from", "trunk", "from_extension", "action"}

// actionKeys are the keys each action takes besides the match keys.
var actionKeys = map[Action][]string{
	ActionConference: {"prompt", "not_live_prompt"},
	ActionCollect:    {"prompt", "digits", "terminator", "first_digit_timeout", "inter_digit_timeout", "retries", "invalid_prompt"},
	ActionExtension:  {"extension", "ring_timeout"},
	ActionReject:     {"status", "prompt"},
}

var actions = []Action{ActionConference, ActionCollect, ActionExtension, ActionReject}

func routeKeys() []string {
	keys := slices.Clone(routeMatchKeys)
	for _, a := range actions {
		for _, k := range actionKeys[a] {
			if !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	return keys
}

// sections is what later sections of a dialplan refer to.
type sections struct {
	numbering Numbering
	prompts   map[string]*Prompt
	trunks    map[string]*Trunk
}

func (s *sections) trunkNames() []string {
	names := make([]string, 0, len(s.trunks))
	for n := range s.trunks {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// decodeRoutes decodes the routes section: a list of rules, in order.
// nodes[i] is where rules[i] is written.
func decodeRoutes(d *decoder, path string, n *yaml.Node, s *sections) (rules []*Rule, nodes []*yaml.Node) {
	items, ok := d.list(path, n, "a list of routes, each a mapping starting with - name: …")
	if !ok {
		return nil, nil
	}
	first := make(map[string]*Rule)
	keys := routeKeys()
	for i, item := range items {
		ipath := fmt.Sprintf("%s[%d]", path, i)
		r := decodeRule(d, ipath, item, s, keys)
		if r == nil {
			continue
		}
		if prev := first[r.Name]; prev != nil {
			d.errorf(item, ipath, "each route name once", "duplicate route name %q (first at line %d)", r.Name, prev.Line)
			continue
		}
		first[r.Name] = r
		rules = append(rules, r)
		nodes = append(nodes, item)
	}
	return rules, nodes
}

func decodeRule(d *decoder, path string, n *yaml.Node, s *sections, keys []string) *Rule {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "a route: a mapping with name, what it matches and an action", "found %s", describe(n))
		return nil
	}
	rec := d.record(path, n, keys...)
	r := &Rule{Line: n.Line}
	bad := len(d.Problems)
	if e, has := rec["name"]; has {
		r.Name, _ = d.name(e.path, e.value, "route")
	} else {
		d.errorf(n, path, "name: a name for logs and call records", "missing key \"name\"")
	}
	withNames := patternOptions{names: true}
	if e, has := rec["to"]; has {
		r.to, _ = d.patterns(e.path, e.value, withNames)
	}
	if e, has := rec["from"]; has {
		r.from, _ = d.patterns(e.path, e.value, withNames)
	}
	if e, has := rec["trunk"]; has {
		r.Trunks = d.trunkRefs(e.path, e.value, s)
	}
	if e, has := rec["from_extension"]; has {
		r.exts, _ = d.patterns(e.path, e.value, withNames)
		if _, trunk := rec["trunk"]; trunk {
			d.errorf(e.key, path, "trunk or from_extension, not both", "a call comes from a trunk or from an extension, never both: this route could never match")
		}
	}
	r.To, r.From, r.FromExtensions = texts(r.to), texts(r.from), texts(r.exts)

	e, has := rec["action"]
	if !has {
		d.errorf(n, path, "action: conference, collect, extension or reject", "missing key \"action\"")
		return nil
	}
	const expected = "conference, collect, extension or reject"
	a, ok := d.str(e.path, e.value, expected)
	if !ok {
		return nil
	}
	r.Action = Action(a)
	if _, known := actionKeys[r.Action]; !known {
		names := make([]string, len(actions))
		for i, x := range actions {
			names[i] = string(x)
		}
		d.errorf(e.value, e.path, expected+yamlcheck.DidYouMean(a, names...), "unknown action %q", a)
		return nil
	}
	for k, e := range rec {
		if !slices.Contains(routeMatchKeys, k) && !slices.Contains(actionKeys[r.Action], k) {
			d.errorf(e.key, path, fmt.Sprintf("for action %s: %s", r.Action, strings.Join(actionKeys[r.Action], ", ")),
				"key %q does not apply to action %s", k, r.Action)
		}
	}
	switch r.Action {
	case ActionConference:
		r.Prompt = s.prompts[PromptWaiting]
		if e, has := rec["prompt"]; has {
			r.Prompt = d.promptRef(e.path, e.value, s.prompts)
		}
		if e, has := rec["not_live_prompt"]; has && !(e.value.Kind == yaml.ScalarNode && e.value.Value == "none") {
			r.NotLivePrompt = d.promptRef(e.path, e.value, s.prompts)
		}
		checkIssuedNumbers(d, path, n, r, s.numbering)
	case ActionCollect:
		r.Collect = decodeCollect(d, rec, s)
		r.Prompt = s.prompts[PromptEnterNumber]
		if e, has := rec["prompt"]; has {
			r.Prompt = d.promptRef(e.path, e.value, s.prompts)
		}
	case ActionExtension:
		if e, has := rec["extension"]; has {
			const expected = "an extension number like 201, or an operator's login"
			if x, ok := d.numberText(e.path, e.value, expected); ok {
				if !validName(x) {
					d.errorf(e.value, e.path, expected, "bad extension %q", x)
				}
				r.Extension = x
			}
		}
		if e, has := rec["ring_timeout"]; has {
			// Below 5 s nobody reaches a phone; above 5 min the carrier
			// gives up first.
			const expected = "a duration from 5s to 5m, e.g. 30s"
			if v, ok := d.duration(e.path, e.value, expected); ok {
				if v < 5*time.Second || v > 5*time.Minute {
					d.errorf(e.value, e.path, expected, "%s is out of range", e.value.Value)
				} else {
					r.RingTimeout = v
				}
			}
		}
	case ActionReject:
		if e, has := rec["status"]; has {
			if v, ok := d.integer(e.path, e.value, 400, 699); ok {
				if reason := sipReason(v); reason == "" {
					d.errorf(e.value, e.path, "one of "+sipStatusList(), "status %d is not one a route may reject with", v)
				} else {
					r.Status, r.Reason = v, reason
				}
			}
		} else {
			d.errorf(n, path, "status: the SIP status to reject with, e.g. 404 or 403", "missing key \"status\"")
		}
		if e, has := rec["prompt"]; has {
			r.Prompt = d.promptRef(e.path, e.value, s.prompts)
		}
	}
	if len(d.Problems) > bad {
		return nil
	}
	return r
}

func texts(ps []*pattern) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.text)
	}
	return out
}

// trunkRefs decodes one trunk name or a list of them, each naming a trunk.
func (d *decoder) trunkRefs(path string, n *yaml.Node, s *sections) []string {
	names := s.trunkNames()
	expected := "the name of a trunk defined under trunks"
	if len(names) > 0 {
		expected += " (" + strings.Join(names, ", ") + ")"
	}
	paths, items := d.oneOrMore(path, n, expected+", or a list of them")
	var out []string
	for i, item := range items {
		name, ok := d.str(paths[i], item, expected)
		if !ok {
			continue
		}
		if s.trunks[name] == nil {
			d.errorf(item, paths[i], expected+yamlcheck.DidYouMean(name, names...), "undefined trunk %q", name)
			continue
		}
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out
}

// decodeCollect decodes the parameters of a collect route.
func decodeCollect(d *decoder, rec map[string]entry, s *sections) *Collect {
	c := &Collect{
		Digits:            DefaultCollectDigits,
		Terminator:        "#",
		FirstDigitTimeout: DefaultFirstDigitTimeout,
		InterDigitTimeout: DefaultInterDigitTimeout,
		Retries:           DefaultCollectRetries,
		InvalidPrompt:     s.prompts[PromptInvalidNumber],
	}
	if e, has := rec["digits"]; has {
		if v, ok := d.integer(e.path, e.value, 1, 32); ok {
			c.Digits = v
		}
	}
	if e, has := rec["terminator"]; has {
		const expected = `"#", "*" or none (quote # and *: unquoted, # starts a YAML comment)`
		if v, ok := d.str(e.path, e.value, expected); ok {
			switch v {
			case "#", "*":
				c.Terminator = v
			case "none":
				c.Terminator = ""
			default:
				d.errorf(e.value, e.path, expected, "bad terminator %q", v)
			}
		}
	}
	timeout := func(key string, dst *time.Duration) {
		e, has := rec[key]
		if !has {
			return
		}
		const expected = "a duration from 1s to 60s, e.g. 5s"
		if v, ok := d.duration(e.path, e.value, expected); ok {
			if v < time.Second || v > time.Minute {
				d.errorf(e.value, e.path, expected, "%s is out of range", e.value.Value)
				return
			}
			*dst = v
		}
	}
	timeout("first_digit_timeout", &c.FirstDigitTimeout)
	timeout("inter_digit_timeout", &c.InterDigitTimeout)
	if e, has := rec["retries"]; has {
		if v, ok := d.integer(e.path, e.value, 0, 9); ok {
			c.Retries = v
		}
	}
	if e, has := rec["invalid_prompt"]; has {
		c.InvalidPrompt = d.promptRef(e.path, e.value, s.prompts)
	}
	return c
}

// checkIssuedNumbers warns about a conference route that can match no issued
// number: its lobby would never be found.
func checkIssuedNumbers(d *decoder, path string, n *yaml.Node, r *Rule, num Numbering) {
	if len(r.to) == 0 {
		return
	}
	for _, p := range r.to {
		for _, prefix := range num.Prefixes {
			if p.kind == patRegexp || p.intersects(issuedPattern(prefix)) {
				return
			}
		}
	}
	d.warnf(n, path, "route %q sends calls to a conference, but no number it matches can be an issued number (11 digits starting %s)",
		r.Name, strings.Join(num.Prefixes, ", "))
}

// issuedPattern is the pattern of every number issued with prefix.
func issuedPattern(prefix string) *pattern {
	p := &pattern{text: "_" + prefix + "XXXXXXXX", kind: patDigits}
	for i := 0; i < len(prefix); i++ {
		p.classes = append(p.classes, 1<<symbolOf(prefix[i]))
	}
	for len(p.classes) < MaxRandomDigits+prefixLength {
		p.classes = append(p.classes, digitSet)
	}
	return p
}

// intersects reports whether some string matches both p and q. A regular
// expression is assumed to intersect everything.
func (p *pattern) intersects(q *pattern) bool {
	switch {
	case p.kind == patRegexp || q.kind == patRegexp:
		return true
	case p.kind == patName && q.kind == patName:
		return p.name == q.name
	case p.kind == patName:
		return q.match(p.name)
	case q.kind == patName:
		return p.match(q.name)
	}
	lo := max(p.minLen(), q.minLen())
	if p.tail == tailNone && len(p.classes) < lo || q.tail == tailNone && len(q.classes) < lo {
		return false
	}
	for i := range min(len(p.classes), len(q.classes)) {
		if p.classes[i]&q.classes[i] == 0 {
			return false
		}
	}
	return true
}
