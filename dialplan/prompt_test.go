package dialplan

import (
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
		`t.yaml:4:6: prompts.a: unknown built-in prompt "wating" (expected one of enter-number, invalid-number, waiting, declined, not-in-service, goodbye; did you mean "waiting"?)`,
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
