package e2e

import (
	"os"
	"testing"
)

// TestMain runs every test of the package in a network namespace that has only
// loopback; see RunIsolated.
func TestMain(m *testing.M) {
	os.Exit(RunIsolated(m))
}
