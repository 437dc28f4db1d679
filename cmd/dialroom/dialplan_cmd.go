package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/dialroom/dialroom"
	"github.com/dialroom/dialroom/dialplan"
	"github.com/dialroom/dialroom/sip"
)

const dialplanUsage = `Usage:
  dialroom dialplan check FILE [--skip-secrets]
        Validate FILE. Exit 0 with a one-line summary, or 1 with every error.
  dialroom dialplan route FILE --to NUMBER [--from NUMBER] [--trunk NAME | --extension N] [--collected]
        Show where an incoming call goes, the route that decides (name and
        line), and for a collect route what happens next.
  dialroom dialplan dialout FILE --operator LOGIN --to NUMBER [--softphone]
        Show whether an operator may call a number, through which trunk and
        as which E.164 number, or which rule denies it. With --softphone, NUMBER
        is what the operator's desk phone dials (after dialout.outside_prefix).
Warnings go to standard error either way. Trunk passwords are resolved as the
server resolves them (environment variables, password files) and never
printed. route and dialout exit 0 once they have answered, allowed or not.
See docs/dialplan.md.
`

// errInvalid reports a dialplan that did not load; its problems are printed.
var errInvalid = errors.New("the dialplan is not valid")

func runDialplan(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "--help" || args[0] == "-h" || args[0] == "help" {
		fmt.Fprint(stdout, dialplanUsage)
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	sub := args[0]
	fs := flag.NewFlagSet("dialplan "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		skipSecrets                      bool
		to, from, trunk, ext, operator   string
		collected, softphone             bool
		needTo, needOperator, routeFlags bool
	)
	switch sub {
	case "check":
		fs.BoolVar(&skipSecrets, "skip-secrets", false, "check how passwords are written but do not read them (for a machine without the server's environment)")
	case "route":
		fs.StringVar(&to, "to", "", "the dialled number (required)")
		fs.StringVar(&from, "from", "", "the calling number")
		fs.StringVar(&trunk, "trunk", "", "the trunk the call comes from")
		fs.StringVar(&ext, "extension", "", "the extension the call comes from")
		fs.BoolVar(&collected, "collected", false, "the number was keyed in after a collect route")
		needTo, routeFlags = true, true
	case "dialout":
		fs.StringVar(&operator, "operator", "", "the operator's login ID (required)")
		fs.StringVar(&to, "to", "", "the number to call (required)")
		fs.BoolVar(&softphone, "softphone", false, "read --to as the operator's softphone dials it (after dialout.outside_prefix)")
		needTo, needOperator = true, true
	default:
		fmt.Fprintf(stderr, "dialroom dialplan: unknown subcommand %q\n\n%s", sub, dialplanUsage)
		return errUsage
	}
	positional, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return err
	}
	switch {
	case len(positional) != 1:
		fmt.Fprintf(stderr, "dialroom dialplan %s: give one dialplan FILE\n\n%s", sub, dialplanUsage)
		return errUsage
	case needTo && to == "":
		fmt.Fprintf(stderr, "dialroom dialplan %s: --to is required\n", sub)
		return errUsage
	case needOperator && operator == "":
		fmt.Fprintf(stderr, "dialroom dialplan %s: --operator is required\n", sub)
		return errUsage
	case routeFlags && trunk != "" && ext != "":
		fmt.Fprintf(stderr, "dialroom dialplan %s: a call comes from a trunk or an extension, not both\n", sub)
		return errUsage
	}
	file := positional[0]
	plan, err := loadDialplanCLI(file, skipSecrets, stderr)
	if err != nil {
		return err
	}
	switch sub {
	case "check":
		fmt.Fprintf(stdout, "%s: ok: %s\n", file, plan.Summary())
		return nil
	case "route":
		if trunk != "" && plan.Trunk(trunk) == nil {
			return dialroom.Errorf(dialroom.EINVALID, "%s defines no trunk %q", file, trunk)
		}
		printRoute(stdout, file, plan, dialplan.Call{To: to, From: from, Trunk: trunk, Extension: ext, Collected: collected})
	case "dialout":
		if softphone {
			number, ok := plan.SoftphoneOutside(to)
			if !ok {
				fmt.Fprintf(stdout, "operator: %s\ndecision: denied: a softphone dials %s before an outside number\n", operator, plan.OutsidePrefix)
				return nil
			}
			fmt.Fprintf(stdout, "dialled:  %s (outside prefix %q)\n", to, plan.OutsidePrefix)
			to = number
		}
		printDialout(stdout, plan, plan.Dialout(operator, to))
	}
	return nil
}

// loadDialplanCLI loads file the way the server does, printing every problem
// and warning to stderr.
func loadDialplanCLI(file string, skipSecrets bool, stderr io.Writer) (*dialplan.Plan, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	opts := dialplanLoadOptions()
	opts.SkipSecrets = skipSecrets
	plan, err := dialplan.LoadWith(file, data, opts)
	if err != nil {
		n := 0
		for _, e := range unwrapAll(err) {
			fmt.Fprintln(stderr, e)
			n++
		}
		return nil, fmt.Errorf("%s: %w (%s)", file, errInvalid, countProblems(n))
	}
	for _, w := range plan.Warnings {
		fmt.Fprintln(stderr, "warning:", w)
	}
	return plan, nil
}

// unwrapAll returns the errors joined in err (errors.Join), or err alone.
func unwrapAll(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func countProblems(n int) string {
	if n == 1 {
		return "1 problem"
	}
	return fmt.Sprintf("%d problems", n)
}

func printRoute(w io.Writer, file string, plan *dialplan.Plan, c dialplan.Call) {
	call := "to " + c.To
	if c.From != "" {
		call += " from " + c.From
	}
	switch {
	case c.Trunk != "":
		call += " via trunk " + c.Trunk
	case c.Extension != "":
		call += " from extension " + c.Extension
	}
	if c.Collected {
		call += " (keyed in by the caller)"
	}
	d := plan.Route(c)
	fmt.Fprintf(w, "call:     %s\n", call)
	if d.Rule != nil {
		fmt.Fprintf(w, "route:    %q, line %d\n", d.Rule.Name, d.Rule.Line)
	} else {
		fmt.Fprintf(w, "route:    none matched (a call no route matches is rejected with 404)\n")
	}
	switch d.Action {
	case dialplan.ActionConference:
		fmt.Fprintf(w, "decision: conference %s\n", dialroom.FormatNumber(d.Number))
		fmt.Fprintf(w, "next:     the caller hears %s and waits in the lobby of %s, if that number is issued and live, until its operator admits or declines them\n",
			d.Prompt, dialroom.FormatNumber(d.Number))
		if !plan.Numbering.Allows(d.Number) {
			fmt.Fprintf(w, "note:     %s cannot be an issued number under the numbering rules, so no lobby will be found\n", d.Number)
		}
	case dialplan.ActionCollect:
		cl := d.Collect
		fmt.Fprintf(w, "decision: collect a number by DTMF\n")
		fmt.Fprintf(w, "prompt:   %s\n", d.Prompt)
		end := "when " + plural(cl.Digits, "digit") + " are in"
		if cl.Terminator != "" {
			end += " or " + cl.Terminator + " is pressed"
		}
		fmt.Fprintf(w, "collect:  up to %s, complete %s or after %s without a key; the first key within %s\n",
			plural(cl.Digits, "digit"), end, cl.InterDigitTimeout, cl.FirstDigitTimeout)
		fmt.Fprintf(w, "retries:  %d, each after %s; then %s and hang up\n", cl.Retries, cl.InvalidPrompt, plan.Prompt(dialplan.PromptGoodbye))
		origin := ""
		switch {
		case c.Trunk != "":
			origin = " --trunk " + c.Trunk
		case c.Extension != "":
			origin = " --extension " + c.Extension
		}
		if c.From != "" {
			origin += " --from " + c.From
		}
		fmt.Fprintf(w, "next:     the keyed number is routed again by the routes, skipping collect routes; try:\n")
		fmt.Fprintf(w, "          dialroom dialplan route %s --to DIGITS%s --collected\n", file, origin)
	case dialplan.ActionExtension:
		fmt.Fprintf(w, "decision: extension %s\n", d.Extension)
		ring := sip.DefaultExtensionRingTimeout.String() + " (the default)"
		if d.RingTimeout > 0 {
			ring = d.RingTimeout.String()
		}
		fmt.Fprintf(w, "next:     rings every softphone registered for extension %s (an extension number, else a login) for up to %s\n", d.Extension, ring)
	case dialplan.ActionReject:
		fmt.Fprintf(w, "decision: reject %d %s\n", d.Status, d.Reason)
		if d.Prompt != nil {
			fmt.Fprintf(w, "next:     the caller hears %s, then the call is rejected\n", d.Prompt)
		}
	}
}

func printDialout(w io.Writer, plan *dialplan.Plan, d dialplan.DialoutDecision) {
	fmt.Fprintf(w, "operator: %s\n", d.Operator)
	if d.Matched != "" {
		fmt.Fprintf(w, "number:   %s (%s)\n", d.Matched, d.Category)
	}
	if d.Allowed {
		fmt.Fprintf(w, "decision: allowed: dial %s via trunk %q\n", d.Number, d.Trunk.Name)
	} else {
		fmt.Fprintf(w, "decision: denied: %s\n", d.Reason)
	}
	switch {
	case d.Rule != nil:
		verb := "deny"
		if d.Rule.Allow {
			verb = "allow " + joinCategories(d.Rule.Categories())
		}
		fmt.Fprintf(w, "rule:     %q, line %d (%s)\n", d.Rule.Name, d.Rule.Line, verb)
	case d.Matched != "" && d.Category != "":
		fmt.Fprintf(w, "rule:     none matched; dial-out is denied unless a rule allows it\n")
	}
	if d.Allowed {
		l := plan.DialoutLimits
		fmt.Fprintf(w, "limits:   %d concurrent dial-out calls per operator, %d per trunk\n", l.PerOperator, l.PerTrunk)
	}
}

func joinCategories(cats []dialplan.Category) string {
	s := make([]string, len(cats))
	for i, c := range cats {
		s[i] = string(c)
	}
	return strings.Join(s, ", ")
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
