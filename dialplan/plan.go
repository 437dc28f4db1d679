package dialplan

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/dialroom/dialroom/yamlcheck"
)

// Plan is a validated dialplan. Load returns a new Plan for each file; a Plan is
// not modified afterwards, so it may be shared between goroutines, and a reload
// swaps the whole Plan rather than changing one in place. The slices and
// pointers it holds, and those in the decisions it returns, are shared: callers
// must not modify them.
type Plan struct {
	// Numbering holds the rules for issued numbers (the numbering section).
	Numbering Numbering
	// Trunks are the carrier connections, in file order.
	Trunks []*Trunk
	// Routes are the rules for incoming calls, in file order: the first that
	// matches a call decides (see Route).
	Routes []*Rule
	// DialoutRules decide which numbers operators may call (see Dialout), in
	// file order; DialoutLimits bound concurrent dial-out calls.
	DialoutRules  []*DialoutRule
	DialoutLimits DialoutLimits
	// OutsidePrefix is what operators' softphones dial before an outside
	// number (dialout.outside_prefix, e.g. "0" as on Japanese office PBXs);
	// "" when they dial the number as it is. See SoftphoneOutside.
	OutsidePrefix string

	// Warnings are things that are allowed but probably not meant, each as
	// FILE:LINE:COL: message. The caller shows them to the admin (a log line).
	Warnings []string

	prompts      map[string]*Prompt
	trunks       map[string]*Trunk
	routeIndex   routeIndex
	dialoutIndex index
}

// Load parses and validates the dialplan in data. filename is only used in
// messages and to resolve relative paths. An empty file gives the defaults:
// DefaultNumbering, no trunks, no routes (every call is rejected with 404)
// and no dial-out rules (every number is denied).
//
// Load resolves no secrets: an enabled trunk whose password is ${NAME} or a
// password_file is an error. The server uses LoadWith.
//
// On any problem Load returns a nil Plan and all problems joined with
// errors.Join, each a *Problem that reads FILE:LINE:COL: what is wrong
// (expected ...). Load is safe to call from several goroutines.
func Load(filename string, data []byte) (*Plan, error) {
	return LoadWith(filename, data, LoadOptions{})
}

// topLevel are the sections of a dialplan, in the order they are decoded:
// each may refer to the ones before it.
var topLevel = []string{"numbering", "prompts", "trunks", "routes", "dialout"}

// LoadWith is Load with the means to resolve secrets (see LoadOptions).
func LoadWith(filename string, data []byte, opts LoadOptions) (*Plan, error) {
	d := &decoder{Decoder: yamlcheck.Decoder{File: filename}, opts: opts}
	plan := &Plan{Numbering: DefaultNumbering(), DialoutLimits: DefaultDialoutLimits()}
	secs := map[string]entry{}
	if root := d.Parse(data); root != nil {
		secs = d.record("", root, topLevel...)
	}
	if e, ok := secs["numbering"]; ok {
		plan.Numbering = decodeNumbering(d, e.path, e.value)
	}
	var promptsNode *yaml.Node
	if e, ok := secs["prompts"]; ok {
		promptsNode = e.value
	}
	plan.prompts = decodePrompts(d, "prompts", promptsNode)
	plan.trunks = make(map[string]*Trunk)
	if e, ok := secs["trunks"]; ok {
		plan.Trunks = decodeTrunks(d, e.path, e.value)
		for _, t := range plan.Trunks {
			plan.trunks[t.Name] = t
		}
	}
	s := &sections{numbering: plan.Numbering, prompts: plan.prompts, trunks: plan.trunks}
	if e, ok := secs["routes"]; ok {
		var nodes []*yaml.Node
		plan.Routes, nodes = decodeRoutes(d, e.path, e.value, s)
		plan.routeIndex = buildRouteIndex(plan.Routes)
		checkShadowedRoutes(d, e.path, plan.Routes, nodes, &plan.routeIndex)
	}
	if e, ok := secs["dialout"]; ok {
		var nodes []*yaml.Node
		plan.DialoutLimits, plan.OutsidePrefix, plan.DialoutRules, nodes = decodeDialout(d, e.path, e.value, s)
		for i, r := range plan.DialoutRules {
			for _, p := range r.to {
				plan.dialoutIndex.add(int32(i), p)
			}
		}
		checkShadowedDialout(d, "dialout.rules", plan.DialoutRules, nodes, &plan.dialoutIndex)
	}
	if err := d.Err(); err != nil {
		return nil, err
	}
	checkCoverage(d, plan, secs)
	plan.Warnings = d.warningTexts()
	return plan, nil
}

func buildRouteIndex(rules []*Rule) routeIndex {
	var ix routeIndex
	for i, r := range rules {
		switch {
		case len(r.to) > 0:
			for _, p := range r.to {
				ix.to.add(int32(i), p)
			}
		case len(r.from) > 0:
			for _, p := range r.from {
				ix.from.add(int32(i), p)
			}
		default:
			ix.rest = append(ix.rest, int32(i))
		}
	}
	return ix
}

// checkCoverage warns about numbers that exist but that no route takes: an
// issued-number prefix no conference route matches, and a DID of an enabled
// trunk that no route matches.
func checkCoverage(d *decoder, plan *Plan, secs map[string]entry) {
	if e, ok := secs["numbering"]; ok && slices.ContainsFunc(plan.Routes, func(r *Rule) bool { return r.Action == ActionConference }) {
		var prefixNodes []*yaml.Node
		if pe := findKey(e.value, "prefixes"); pe != nil && pe.Kind == yaml.SequenceNode {
			prefixNodes = pe.Content
		}
		for i, prefix := range plan.Numbering.Prefixes {
			issued := issuedPattern(prefix)
			covered := slices.ContainsFunc(plan.Routes, func(r *Rule) bool {
				return r.Action == ActionConference && (len(r.to) == 0 || slices.ContainsFunc(r.to, issued.intersects))
			})
			if !covered && i < len(prefixNodes) {
				d.warnf(prefixNodes[i], fmt.Sprintf("numbering.prefixes[%d]", i),
					"no conference route matches numbers starting %s: guests who phone them are refused", prefix)
			}
		}
	}
	for _, t := range plan.Trunks {
		if !t.Enabled {
			continue
		}
		for _, p := range t.dids {
			if !p.isLiteral() {
				continue
			}
			did := p.example()
			if dec := plan.Route(Call{To: did, Trunk: t.Name}); dec.Rule == nil {
				d.warnf(&yaml.Node{Line: t.Line, Column: t.column}, t.path, "trunk %q delivers %s, but no route matches calls to it: they are rejected with 404", t.Name, did)
			}
		}
	}
}

// isLiteral reports whether p matches exactly one string of symbols.
func (p *pattern) isLiteral() bool {
	if p.kind != patDigits || p.tail != tailNone {
		return false
	}
	for _, c := range p.classes {
		if c&(c-1) != 0 {
			return false
		}
	}
	return true
}

// findKey returns the value of key in mapping n, or nil.
func findKey(n *yaml.Node, key string) *yaml.Node {
	n = yamlcheck.Resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return yamlcheck.Resolve(n.Content[i+1])
		}
	}
	return nil
}

// Prompt returns the prompt named name (a built-in or one the prompts section
// defines), or nil.
func (p *Plan) Prompt(name string) *Prompt { return p.prompts[name] }

// Prompts returns every prompt, built-ins included, sorted by name.
func (p *Plan) Prompts() []*Prompt {
	out := make([]*Prompt, 0, len(p.prompts))
	for _, pr := range p.prompts {
		out = append(out, pr)
	}
	slices.SortFunc(out, func(a, b *Prompt) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Trunk returns the trunk named name, or nil.
func (p *Plan) Trunk(name string) *Trunk { return p.trunks[name] }

// TrunkFrom returns the enabled trunk whose sources include addr, or nil: a
// call from any other address comes from no trunk. Sources of enabled trunks
// never overlap, so at most one trunk matches.
func (p *Plan) TrunkFrom(addr netip.Addr) *Trunk {
	for _, t := range p.Trunks {
		if t.Enabled && t.From(addr) {
			return t
		}
	}
	return nil
}

// TrunkByUser returns the enabled trunk with inbound_auth whose username is
// user, or nil: the trunk a peer authenticating as user calls in on.
func (p *Plan) TrunkByUser(user string) *Trunk {
	for _, t := range p.Trunks {
		if t.Enabled && t.InboundAuth && t.Username == user {
			return t
		}
	}
	return nil
}

// Summary describes the plan in one line, for logs and `dialroom dialplan
// check`. It never includes secrets.
func (p *Plan) Summary() string {
	enabled := 0
	for _, t := range p.Trunks {
		if t.Enabled {
			enabled++
		}
	}
	allow := 0
	for _, r := range p.DialoutRules {
		if r.Allow {
			allow++
		}
	}
	return fmt.Sprintf("numbering %s with prefixes %s; %s (%d enabled); %s; %s (%d allow)",
		p.Numbering.Mode, strings.Join(p.Numbering.Prefixes, ", "),
		plural(len(p.Trunks), "trunk"), enabled, plural(len(p.Routes), "route"),
		plural(len(p.DialoutRules), "dial-out rule"), allow)
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
