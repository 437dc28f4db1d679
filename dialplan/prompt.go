package dialplan

import (
	"errors"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/dialroom/dialroom/yamlcheck"
)

// Prompt is a recording played to a caller. Rules name prompts; the telephony
// side plays them. A prompt is either one of the built-in recordings dialroom
// ships (Builtin) or a sound file (File).
type Prompt struct {
	Name    string // how rules refer to it
	Builtin string // the built-in recording, e.g. "enter-number"; "" for a file
	File    string // path of the sound file, made absolute against the dialplan's directory; "" for a built-in
	Line    int    // where the prompts section defines it; 0 for a built-in used as is
}

// String describes the prompt for people: "enter-number (built-in)" or
// "welcome (file /srv/prompts/welcome.wav)".
func (p *Prompt) String() string {
	if p == nil {
		return "none"
	}
	if p.File != "" {
		return p.Name + " (file " + p.File + ")"
	}
	if p.Builtin != p.Name {
		return p.Name + " (built-in " + p.Builtin + ")"
	}
	return p.Name + " (built-in)"
}

// The built-in prompts. Each is available under its own name without being
// declared; the prompts section may give a name a file instead (to record
// the words in the admin's own voice or language).
const (
	// PromptEnterNumber asks the caller to key the conference number and #.
	PromptEnterNumber = "enter-number"
	// PromptInvalidNumber says the keyed number is not valid and asks again.
	PromptInvalidNumber = "invalid-number"
	// PromptWaiting is played in the lobby while the operator decides.
	PromptWaiting = "waiting"
	// PromptDeclined tells the caller the operator did not let them in.
	PromptDeclined = "declined"
	// PromptNotInService says the dialled number is not in service.
	PromptNotInService = "not-in-service"
	// PromptGoodbye ends a call.
	PromptGoodbye = "goodbye"
	// PromptRingback is the ringing tone an extension call's caller hears
	// from us once a ringing softphone's early media has stopped and others
	// still ring (looped). A network tone, not words: admins outside Japan
	// give it their country's ringing tone.
	PromptRingback = "ringback"
	// PromptHold is what an extension call's caller hears while the
	// operator's softphone holds the call (looped): music on hold, once an
	// admin gives it a recording.
	PromptHold = "hold"
)

// BuiltinPrompts returns the names of the built-in prompts.
func BuiltinPrompts() []string {
	return []string{PromptEnterNumber, PromptInvalidNumber, PromptWaiting, PromptDeclined, PromptNotInService, PromptGoodbye, PromptRingback, PromptHold}
}

const builtinScheme = "builtin:"

// expectedFile says what a prompt file must be; the telephony side's check
// (LoadOptions.CheckPrompt) decides.
const expectedFile = "a readable WAV file of 16-bit linear PCM, mono or stereo, at 8, 11.025, 16, 22.05, 24, 32, 44.1 or 48 kHz"

// decodePrompts decodes the prompts section (name → "builtin:NAME" or a file
// path) into a map that also holds every built-in under its own name.
func decodePrompts(d *decoder, path string, n *yaml.Node) map[string]*Prompt {
	prompts := make(map[string]*Prompt)
	for _, b := range BuiltinPrompts() {
		prompts[b] = &Prompt{Name: b, Builtin: b}
	}
	if n == nil {
		return prompts
	}
	const expected = "a sound file path, or builtin: and the name of a built-in prompt, e.g. builtin:enter-number"
	d.each(path, n, func(kpath string, k, v *yaml.Node) {
		if !validName(k.Value) {
			d.errorf(k, path, "a name of letters, digits, '.', '_', '-' and '@'", "bad prompt name %q", k.Value)
			return
		}
		if v = yamlcheck.Resolve(v); yamlcheck.IsNull(v) {
			d.errorf(v, kpath, expected, "missing value")
			return
		}
		s, ok := d.str(kpath, v, expected)
		if !ok {
			return
		}
		p := &Prompt{Name: k.Value, Line: k.Line}
		switch {
		case strings.HasPrefix(s, builtinScheme):
			b := strings.TrimPrefix(s, builtinScheme)
			if !slices.Contains(BuiltinPrompts(), b) {
				d.errorf(v, kpath, "one of "+strings.Join(BuiltinPrompts(), ", ")+yamlcheck.DidYouMean(b, BuiltinPrompts()...), "unknown built-in prompt %q", b)
				return
			}
			p.Builtin = b
		case s == "" || strings.ContainsRune(s, 0):
			d.errorf(v, kpath, expected, "bad file name %q", s)
			return
		default:
			if !filepath.IsAbs(s) {
				s = filepath.Join(filepath.Dir(d.File), s)
			}
			if d.opts.CheckPrompt != nil {
				if err := d.opts.CheckPrompt(s); err != nil {
					var pe *fs.PathError
					if errors.As(err, &pe) {
						err = pe.Err // the path is in the message already
					}
					d.errorf(v, kpath, expectedFile, "prompt file %s cannot be played: %v", s, err)
					return
				}
			}
			p.File = s
		}
		prompts[p.Name] = p
	})
	return prompts
}

// promptRef decodes a reference to a prompt by name.
func (d *decoder) promptRef(path string, n *yaml.Node, prompts map[string]*Prompt) *Prompt {
	names := make([]string, 0, len(prompts))
	for name := range prompts {
		names = append(names, name)
	}
	slices.Sort(names)
	expected := "the name of a prompt: a built-in (" + strings.Join(BuiltinPrompts(), ", ") + ") or one defined under prompts"
	s, ok := d.str(path, n, expected)
	if !ok {
		return nil
	}
	p := prompts[s]
	if p == nil {
		if strings.HasPrefix(s, builtinScheme) {
			d.errorf(n, path, expected, "write the prompt's name without builtin: here; builtin: is for the prompts section")
			return nil
		}
		d.errorf(n, path, expected+yamlcheck.DidYouMean(s, names...), "undefined prompt %q", s)
	}
	return p
}
