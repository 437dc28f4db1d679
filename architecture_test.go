package dialroom_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// allowedDeps is the package map of docs/architecture.md: which of our packages
// each package may depend on, directly or indirectly. cmd/dialroom may use
// everything and is not listed.
var allowedDeps = map[string][]string{
	"":          {},
	"media":     {},
	"yamlcheck": {},
	"dialplan":  {"", "yamlcheck"},
	"bridge":    {"", "media"},
	"sip":       {"", "media", "dialplan", "bridge", "yamlcheck"},
	"webclient": {"", "media", "bridge"},
	"storage":   {""},
	"materials": {""},
	"configs":   {"", "yamlcheck"},
	"e2e":       {""},
}

// TestArchitecture keeps the import rules true: media, dialplan and yamlcheck
// do no I/O of ours, configs and dialplan never import each other, bridge
// knows nothing of SIP or browsers, sip and webclient never import each other.
func TestArchitecture(t *testing.T) {
	const module = "github.com/dialroom/dialroom"
	out, err := exec.Command("go", "list", "-deps=false", "-f", `{{.ImportPath}}{{range .Deps}} {{.}}{{end}}`, "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(strings.TrimPrefix(fields[0], module), "/")
		if strings.HasPrefix(pkg, "cmd/") {
			continue
		}
		allowed, known := allowedDeps[pkg]
		if !known {
			t.Errorf("package %q is not in the package map (docs/architecture.md, allowedDeps)", pkg)
			continue
		}
		for _, dep := range fields[1:] {
			if dep != module && !strings.HasPrefix(dep, module+"/") {
				continue
			}
			d := strings.TrimPrefix(strings.TrimPrefix(dep, module), "/")
			if !slices.Contains(allowed, d) {
				t.Errorf("package %q depends on %q, which the package map forbids", pkg, d)
			}
		}
	}
}
