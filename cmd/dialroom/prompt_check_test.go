package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dialroom/dialroom/e2e"
)

// TestDialplanCheckPrompts: `dialroom dialplan check` plays every prompt
// file through the server's decoder: a good recording (any common rate,
// stereo) passes, and a missing file or one that is not a playable WAV is
// an error naming the file's line, the file and why; the plan is refused.
func TestDialplanCheckPrompts(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "prompts"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := e2e.WriteToneWAV(filepath.Join(dir, "prompts", "welcome.wav"), 440, 0.5, 44100, 2); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "prompts", "notes.wav"), []byte("not a recording"), 0o644); err != nil {
		t.Fatal(err)
	}
	write := func(text string) string {
		file := filepath.Join(dir, "dialplan.yaml")
		if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return file
	}

	good := write("prompts:\n  welcome: prompts/welcome.wav\n")
	if code, out, errs := runDialplanCmd(t, "check", good); code != 0 || !strings.Contains(out, ": ok:") {
		t.Errorf("a plan with a good recording: exit %d\n%s%s", code, out, errs)
	}

	bad := write(`prompts:
  welcome: prompts/welcome.wav
  gone: prompts/gone.wav
  notes: prompts/notes.wav
`)
	code, out, errs := runDialplanCmd(t, "check", bad)
	want := []string{
		bad + `:3:9: prompts.gone: prompt file ` + filepath.Join(dir, "prompts", "gone.wav") + ` cannot be played: no such file or directory (expected a readable WAV file of 16-bit linear PCM`,
		bad + `:4:10: prompts.notes: prompt file ` + filepath.Join(dir, "prompts", "notes.wav") + ` cannot be played: media: bad WAV file: not RIFF/WAVE (expected`,
	}
	// The problems, then a summary line.
	lines := strings.Split(strings.TrimSpace(errs), "\n")
	if code != 1 || out != "" || len(lines) != len(want)+1 || !strings.Contains(lines[len(want)], "not valid (2 problems)") {
		t.Fatalf("exit %d, stdout %q, stderr:\n%s", code, out, errs)
	}
	for i := range want {
		if !strings.HasPrefix(lines[i], want[i]) {
			t.Errorf("got  %s\nwant %s…", lines[i], want[i])
		}
	}
}
