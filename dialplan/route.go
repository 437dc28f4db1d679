package dialplan

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dialroom/dialroom"
)

// Action is what a route does with a call.
type Action string

const (
	// ActionConference puts the caller in the lobby of the conference whose
	// issued number was dialled (Decision.Number). The telephony side checks
	// that the number is live.
	ActionConference Action = "conference"
	// ActionCollect answers, plays a prompt and collects a number by DTMF
	// (Decision.Collect), then routes the collected number.
	ActionCollect Action = "collect"
	// ActionExtension rings an operator's registered softphone
	// (Decision.Extension).
	ActionExtension Action = "extension"
	// ActionReject refuses the call with a SIP status (Decision.Status),
	// after an optional prompt.
	ActionReject Action = "reject"
)

// Call is what Route needs to know about an incoming call. Numbers may be in
// any common form: +81…, with dashes or dots; Route matches them in national
// form (see numberplan.go).
type Call struct {
	To        string // the dialled number: the user part of the Request-URI
	From      string // the calling number; "" or "anonymous" when withheld
	Trunk     string // the trunk the call came from (Trunk.Name), or ""
	Extension string // the extension that placed the call, or ""
	// Collected marks a number the caller keyed in after a collect decision.
	// Collect rules never match such a call, so a caller is never sent from
	// prompt to prompt.
	Collected bool
}

// WithCollected returns the call to route for the number a caller keyed in
// after a collect decision: the same caller and origin, To set to digits, and
// Collected set, so that collect routes are skipped.
func (c Call) WithCollected(digits string) Call {
	c.To, c.Collected = digits, true
	return c
}

// Decision is where a call goes, and the rule that sent it there. Its pointers
// point into the Plan; they are shared and must not be modified.
type Decision struct {
	Action Action
	// Rule is the route that matched: its Name and Line say, in logs and call
	// records, why the call went where it went. nil when no route matched:
	// the call is then rejected with 404 Not Found.
	Rule *Rule
	// Number is the dialled number in national form: for ActionConference,
	// the issued number whose lobby the caller joins.
	Number string
	// Extension is the extension to ring (ActionExtension).
	Extension string
	// RingTimeout is how long to ring the extension (ActionExtension); 0
	// means the telephony side's default.
	RingTimeout time.Duration
	// Prompt is played first: the lobby's waiting prompt (conference), the
	// question (collect), or an announcement before the status (reject).
	// nil for none.
	Prompt *Prompt
	// NotLivePrompt (ActionConference) is played as early media before a
	// number that is not live is refused; nil refuses at once (the carrier
	// then plays its own announcement for the status).
	NotLivePrompt *Prompt
	// Status and Reason are the SIP final response (ActionReject), e.g. 404
	// and "Not Found".
	Status int
	Reason string
	// Collect says how to collect digits (ActionCollect).
	Collect *Collect
}

// String describes the decision on one line for logs and the CLI, e.g.
// `conference 06012345678 (route "direct-dial", line 40)`.
func (d Decision) String() string {
	var b strings.Builder
	b.WriteString(string(d.Action))
	switch d.Action {
	case ActionConference:
		b.WriteString(" " + d.Number)
	case ActionExtension:
		b.WriteString(" " + d.Extension)
	case ActionReject:
		fmt.Fprintf(&b, " %d %s", d.Status, d.Reason)
	case ActionCollect:
		fmt.Fprintf(&b, " %d digits", d.Collect.Digits)
	}
	if d.Rule == nil {
		b.WriteString(" (no route matched)")
	} else {
		fmt.Fprintf(&b, " (route %q, line %d)", d.Rule.Name, d.Rule.Line)
	}
	return b.String()
}

// Collect is how a collect route gathers a number by DTMF (RFC 4733). The
// telephony side plays the prompt and collects up to Digits digits; the
// number is complete when Digits digits are in, the terminator is pressed, or
// InterDigitTimeout passes after a digit. It then routes the number with
// Route(call.WithCollected(digits)). A number that is incomplete, or that is rejected or not live,
// is an invalid attempt: InvalidPrompt is played and the caller tries again,
// Retries more times; after the last, the call ends with PromptGoodbye.
type Collect struct {
	Digits     int    // how many digits to collect at most
	Terminator string // the key that ends input early: "#", "*" or "" for none
	// FirstDigitTimeout is how long to wait for the first key after the
	// prompt; InterDigitTimeout how long between keys.
	FirstDigitTimeout time.Duration
	InterDigitTimeout time.Duration
	Retries           int     // further attempts after the first
	InvalidPrompt     *Prompt // played after an invalid attempt
}

// Defaults of collect routes.
const (
	// DefaultCollectDigits is the length of an issued number.
	DefaultCollectDigits = dialroom.NumberLength
	// DefaultFirstDigitTimeout leaves time to find the number in a mail
	// after the prompt ends.
	DefaultFirstDigitTimeout = 10 * time.Second
	// DefaultInterDigitTimeout is the pause between keys after which input
	// counts as finished, the usual value in IVRs: long enough to read the
	// next group of digits, short enough not to leave the caller wondering.
	DefaultInterDigitTimeout = 5 * time.Second
	// DefaultCollectRetries gives a caller three tries in all: enough for a
	// typo or two, few enough that guessing numbers by phone is slow.
	DefaultCollectRetries = 2
)

// Rule is one route of the plan: which calls it matches and what it does with
// them. Load returns rules in file order; the first that matches a call wins.
type Rule struct {
	Name string
	Line int // where the rule starts in the file

	// What the rule matches; an empty list matches anything. Patterns are as
	// written in the file.
	To, From       []string
	Trunks         []string // the call came from one of these trunks
	FromExtensions []string // the call came from one of these extensions (patterns)

	Action Action
	Prompt *Prompt // see Decision.Prompt
	// NotLivePrompt (ActionConference) is announced as early media before
	// the refusal of a number that is not live; nil refuses at once.
	NotLivePrompt *Prompt
	Collect       *Collect // ActionCollect
	Extension     string   // ActionExtension: the extension to ring; "" rings the dialled number
	// RingTimeout (ActionExtension) is how long the extension rings before
	// the caller gets 480; 0 leaves it to the telephony side's default.
	RingTimeout time.Duration
	Status      int    // ActionReject
	Reason      string // ActionReject: the reason phrase of Status

	to, from, exts []*pattern
}

// matchField names a field a rule is indexed by, so that a rule found through
// the index is not matched on that field a second time.
type matchField uint8

const (
	fieldNone matchField = iota
	fieldTo
	fieldFrom
)

// matches reports whether the rule applies to call c, whose numbers are in
// route form, except for field skip, which the index has matched.
func (r *Rule) matches(c *Call, skip matchField) bool {
	to, from := c.To, c.From
	if c.Collected && r.Action == ActionCollect {
		return false
	}
	if len(r.Trunks) > 0 && (c.Trunk == "" || !slices.Contains(r.Trunks, c.Trunk)) {
		return false
	}
	if len(r.exts) > 0 && (c.Extension == "" || !anyMatch(r.exts, c.Extension)) {
		return false
	}
	if skip != fieldTo && len(r.to) > 0 && !anyMatch(r.to, to) {
		return false
	}
	if skip != fieldFrom && len(r.from) > 0 && !anyMatch(r.from, from) {
		return false
	}
	return true
}

func anyMatch(ps []*pattern, s string) bool {
	for _, p := range ps {
		if p.match(s) {
			return true
		}
	}
	return false
}

// routeIndex finds the first matching route. A rule with a `to` is indexed by
// its to patterns; one without `to` but with `from`, by its from patterns;
// the rest (conditions on the trunk or extension only, or none) are few in
// real plans and are tried in order.
type routeIndex struct {
	to, from index
	rest     []int32
}

// Route decides where a call goes: the first route in file order that matches
// it, or a 404 rejection when none does. It is safe for concurrent use, does
// not allocate unless the numbers need rewriting to national form, and takes
// time proportional to the length of the number, not to the number of
// routes (routes written as regular expressions are the exception: they are
// tried one by one).
func (p *Plan) Route(c Call) Decision {
	c.To, c.From = routeForm(c.To), routeForm(c.From)
	best := p.routeFirst(c)
	to := c.To
	if best == noRule {
		return Decision{Action: ActionReject, Number: to, Status: 404, Reason: sipReason(404)}
	}
	r := p.Routes[best]
	d := Decision{Action: r.Action, Rule: r, Number: to, Prompt: r.Prompt, NotLivePrompt: r.NotLivePrompt}
	switch r.Action {
	case ActionCollect:
		d.Collect = r.Collect
	case ActionExtension:
		d.Extension, d.RingTimeout = r.Extension, r.RingTimeout
		if d.Extension == "" {
			d.Extension = to
		}
	case ActionReject:
		d.Status, d.Reason = r.Status, r.Reason
	}
	return d
}

// routeFirst returns the index of the first route matching c, whose numbers
// are in route form, or noRule.
func (p *Plan) routeFirst(c Call) int32 {
	ix := &p.routeIndex
	m := matcher{routes: p.Routes, call: c, skip: fieldTo}
	best := ix.to.lookup(c.To, &m, noRule)
	m.skip = fieldFrom
	best = ix.from.lookup(c.From, &m, best)
	m.skip = fieldNone
	return first(ix.rest, &m, best)
}

// sipStatuses are the statuses a reject route may use, with their reason
// phrases (RFC 3261 §21.4–21.6). Others make no sense for refusing a call by
// policy: 401/407 are authentication challenges, 487 answers a CANCEL.
var sipStatuses = map[int]string{
	403: "Forbidden",
	404: "Not Found",
	410: "Gone",
	480: "Temporarily Unavailable",
	484: "Address Incomplete",
	486: "Busy Here",
	503: "Service Unavailable",
	600: "Busy Everywhere",
	603: "Decline",
	604: "Does Not Exist Anywhere",
}

func sipReason(status int) string { return sipStatuses[status] }

func sipStatusList() string {
	codes := make([]int, 0, len(sipStatuses))
	for c := range sipStatuses {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	var b strings.Builder
	for i, c := range codes {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Itoa(c) + " " + sipStatuses[c])
	}
	return b.String()
}
