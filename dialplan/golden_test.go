package dialplan

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// TestGolden loads every file under testdata/broken (each must fail) and
// testdata/warn (each must load with warnings) and compares what an admin would
// read with the .golden file beside it. Run with -update after a deliberate
// change of wording, and review the diff.
func TestGolden(t *testing.T) {
	for _, dir := range []string{"broken", "warn"} {
		files, err := filepath.Glob(filepath.Join("testdata", dir, "*.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if len(files) == 0 {
			t.Fatalf("no files in testdata/%s", dir)
		}
		for _, file := range files {
			name := filepath.ToSlash(file)
			t.Run(name, func(t *testing.T) {
				data, err := os.ReadFile(file)
				if err != nil {
					t.Fatal(err)
				}
				plan, err := Load(name, data)
				var got strings.Builder
				switch {
				case dir == "broken" && err == nil:
					t.Fatal("Load succeeded, want errors")
				case dir == "warn" && err != nil:
					t.Fatalf("Load: %v", err)
				case err != nil:
					got.WriteString(err.Error() + "\n")
				default:
					if len(plan.Warnings) == 0 {
						t.Fatal("no warnings")
					}
					for _, w := range plan.Warnings {
						got.WriteString("warning: " + w + "\n")
					}
				}
				// Passwords written in the broken files must never be echoed.
				for _, secret := range []string{"inline-secret-do-not-print", "s3cr3t-value", "BACKUP PASSWORD"} {
					if strings.Contains(got.String(), secret) {
						t.Errorf("the output shows the password %q:\n%s", secret, got.String())
					}
				}
				golden := strings.TrimSuffix(file, ".yaml") + ".golden"
				if *update {
					if err := os.WriteFile(golden, []byte(got.String()), 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run go test -run TestGolden -update to create it)", err)
				}
				if got.String() != string(want) {
					t.Errorf("got:\n%s\nwant (%s):\n%s", got.String(), golden, want)
				}
			})
		}
	}
}
