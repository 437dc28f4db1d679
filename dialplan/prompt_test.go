package dialplan

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
)

func TestPrompts(t *testing.T) {
	p, err := Load("/etc/dialroom/dialplan.yaml", []byte(`
prompts:
  welcome: prompts/welcome.wav
  enter-number: /srv/prompts/enter-number-ja.wav
  closed: builtin:not-in-service
routes:
  - name: r
    action: collect
    prompt: welcome
    invalid_prompt: closed
`))
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]Prompt{
		"welcome":      {Name: "welcome", File: "/etc/dialroom/prompts/welcome.wav", Line: 3},
		"enter-number": {Name: "enter-number", File: "/srv/prompts/enter-number-ja.wav", Line: 4},
		"closed":       {Name: "closed", Builtin: "not-in-service", Line: 5},
		"waiting":      {Name: "waiting", Builtin: "waiting"},
		"goodbye":      {Name: "goodbye", Builtin: "goodbye"},
	}
	for name, want := range tests {
		if got := p.Prompt(name); got == nil || *got != want {
			t.Errorf("Prompt(%q) = %+v, want %+v", name, got, want)
		}
	}
	if p.Prompt("nope") != nil {
		t.Error("Prompt of an unknown name")
	}
	if n := len(p.Prompts()); n != len(BuiltinPrompts())+2 {
		t.Errorf("%d prompts", n)
	}
	d := p.Route(Call{To: "1"})
	if d.Prompt.Name != "welcome" || d.Collect.InvalidPrompt.Name != "closed" {
		t.Errorf("decision prompts: %v, %v", d.Prompt, d.Collect.InvalidPrompt)
	}
	for pr, want := range map[*Prompt]string{
		p.Prompt("welcome"): "welcome (file /etc/dialroom/prompts/welcome.wav)",
		p.Prompt("closed"):  "closed (built-in not-in-service)",
		p.Prompt("waiting"): "waiting (built-in)",
		nil:                 "none",
	} {
		if got := pr.String(); got != want {
			t.Errorf("String() = %q, want %q", got, want)
		}
	}
}

func TestPromptErrors(t *testing.T) {
	_, err := Load("t.yaml", []byte(`
prompts:
  bad name: x.wav
  a: builtin:wating
  b: ""
  c:
  d: [x.wav]
`))
	want := []string{
		`t.yaml:3:3: prompts: bad prompt name "bad name"`,
		`t.yaml:4:6: prompts.a: unknown built-in prompt "wating" (expected one of enter-number, invalid-number, waiting, declined, not-in-service, goodbye, ringback, hold; did you mean "waiting"?)`,
		`t.yaml:5:6: prompts.b: bad file name ""`,
		`t.yaml:6:5: prompts.c: missing value`,
		`t.yaml:7:6: prompts.d: found a list`,
	}
	got := problems(t, err)
	if len(got) != len(want) {
		t.Fatalf("errors:\n%s", strings.Join(got, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("got  %s\nwant %s", got[i], want[i])
		}
	}
}

// TestPromptFileCheck: with LoadOptions.CheckPrompt, a prompt file that
// cannot be played is a problem at its line, naming the file and why; the
// check sees the absolute path; built-ins are not checked.
func TestPromptFileCheck(t *testing.T) {
	var checked []string
	opts := LoadOptions{CheckPrompt: func(path string) error {
		checked = append(checked, path)
		switch path {
		case "/etc/dialroom/prompts/missing.wav":
			return &fs.PathError{Op: "open", Path: path, Err: fs.ErrNotExist}
		case "/srv/bad.wav":
			return errors.New("media: bad WAV file: not RIFF/WAVE")
		}
		return nil
	}}
	_, err := LoadWith("/etc/dialroom/dialplan.yaml", []byte(`
prompts:
  welcome: prompts/welcome.wav
  gone: prompts/missing.wav
  bad: /srv/bad.wav
  closed: builtin:not-in-service
`), opts)
	want := []string{
		`/etc/dialroom/dialplan.yaml:4:9: prompts.gone: prompt file /etc/dialroom/prompts/missing.wav cannot be played: file does not exist (expected a readable WAV file`,
		`/etc/dialroom/dialplan.yaml:5:8: prompts.bad: prompt file /srv/bad.wav cannot be played: media: bad WAV file: not RIFF/WAVE (expected`,
	}
	got := problems(t, err)
	if len(got) != len(want) {
		t.Fatalf("errors:\n%s", strings.Join(got, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("got  %s\nwant %s", got[i], want[i])
		}
	}
	if strings.Join(checked, " ") != "/etc/dialroom/prompts/welcome.wav /etc/dialroom/prompts/missing.wav /srv/bad.wav" {
		t.Errorf("checked %q", checked)
	}
	// Without the check, the same file loads (the call falls back later).
	if _, err := Load("/etc/dialroom/dialplan.yaml", []byte("prompts:\n  gone: prompts/missing.wav\n")); err != nil {
		t.Error(err)
	}
}
