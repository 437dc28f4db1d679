package main

import (
	"os"
	"testing"

	"github.com/dialroom/dialroom/e2e"
)

// TestMain runs this package's tests in a network namespace that has only
// loopback, so headless Chromium's ICE never leaves 127.0.0.1 (see e2e.RunIsolated).
func TestMain(m *testing.M) { os.Exit(e2e.RunIsolated(m)) }
