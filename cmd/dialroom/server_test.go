package main

import (
	"context"
	"regexp"
	"testing"

	"github.com/dialroom/dialroom/configs"
	"github.com/dialroom/dialroom/e2e"
)

// syncBuffer is a buffer safe for the server's log goroutines.
type syncBuffer = e2e.SyncBuffer

// testServer is a real dialroom server on a loopback port with its own data
// directory, started through the same Main as `dialroom serve`.
type testServer struct {
	*Main
	stdout *syncBuffer
	logs   *syncBuffer
	// AdminPassword is the password printed on the first start.
	AdminPassword string
}

// startServer starts a server in dir (a fresh t.TempDir() if empty) and closes
// it when the test ends. configure may adjust the configuration.
func startServer(t testing.TB, dir string, configure func(*configs.Config)) *testServer {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	ts := &testServer{Main: NewMain(), stdout: &syncBuffer{}, logs: &syncBuffer{}}
	ts.DataDir = dir
	ts.HTTPAddr = "127.0.0.1:0"
	ts.SIPAddr = "127.0.0.1:0" // several test servers run side by side
	ts.Stdout, ts.Stderr = ts.stdout, ts.logs
	ts.Configure = func(c *configs.Config) {
		c.Log.Level = "debug"
		if configure != nil {
			configure(c)
		}
	}
	if err := ts.Run(context.Background()); err != nil {
		ts.Close()
		t.Fatalf("server did not start: %v\n%s", err, ts.logs)
	}
	t.Cleanup(func() {
		if err := ts.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
		if t.Failed() {
			t.Logf("server log:\n%s", ts.logs)
		}
	})
	if m := regexp.MustCompile(`Password:\s+(\S+)`).FindStringSubmatch(ts.stdout.String()); m != nil {
		ts.AdminPassword = m[1]
	}
	return ts
}
