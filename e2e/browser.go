package e2e

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// ChromiumEnv names the environment variable that overrides the Chromium
// executable RequireChromium looks for.
const ChromiumEnv = "CHROMIUM"

// RequireChromium returns the path of the Chromium executable: $CHROMIUM if
// set, else "chromium" on PATH, else /usr/bin/chromium. When there is none it
// fails the test in CI (see [InCI]) and skips it elsewhere.
func RequireChromium(t testing.TB) string {
	t.Helper()
	if p := os.Getenv(ChromiumEnv); p != "" {
		path, err := exec.LookPath(p)
		if err != nil {
			t.Fatalf("$%s=%q is not an executable: %v", ChromiumEnv, p, err)
		}
		return path
	}
	if path, err := exec.LookPath("chromium"); err == nil {
		return path
	}
	const debianPath = "/usr/bin/chromium"
	if _, err := os.Stat(debianPath); err == nil {
		return debianPath
	}
	const msg = "Chromium not found (set $CHROMIUM, or install the Debian package chromium: make deps)"
	if InCI() {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// BrowserOptions configures NewBrowser. The zero value is a usable browser
// whose fake microphone plays Chromium's built-in beeps.
type BrowserOptions struct {
	// Name prefixes the browser's lines in the test log ("alice", "guest");
	// it tells browsers apart when a test starts several. Default "browser".
	Name string

	// FakeAudioWAV is a WAV file (see WriteToneWAV) that the fake microphone
	// loops; 48 kHz 16-bit PCM works best. Empty keeps Chromium's beeps.
	FakeAudioWAV string

	// DisableFeatures are Chromium features to turn off (for example
	// "WebRtcHideLocalIpsWithMdns"). They are added to chromedp's default
	// list, which a plain "disable-features" flag would replace.
	DisableFeatures []string

	// Flags are extra command-line switches, applied last: the name without
	// "--", and a string value (--name=value) or a bool (--name when true;
	// false removes a default).
	Flags map[string]any
}

// chromedpDisabledFeatures is the disable-features value of chromedp
// v0.23.0's DefaultExecAllocatorOptions; Chromium keeps only the last
// --disable-features, so ours must repeat it.
const chromedpDisabledFeatures = "Translate,BlinkGenPropertyTrees"

// browserStartTimeout bounds Chromium's start-up in NewBrowser.
const browserStartTimeout = time.Minute

// NewBrowser starts a headless Chromium for the test and returns the chromedp
// context of its first tab; pass it to chromedp.Run and to AnalyseAudio. The
// browser is closed in t.Cleanup; the context must not be used after the test.
//
// The browser runs with the flags TESTING.md lists for WebRTC against loopback
// peers (fake media devices and permission prompts, loopback ICE candidates,
// autoplay without a gesture, no background networking, no QUIC), on top of
// chromedp's defaults, with a fresh profile under t.TempDir(). The tab's
// console messages, uncaught exceptions and browser log entries go to t.Log,
// prefixed with opts.Name; Chromium's own stderr is logged only if the test
// fails.
//
// Start-up errors fail the test. Call it from the test goroutine.
func NewBrowser(t testing.TB, opts BrowserOptions) context.Context {
	t.Helper()
	exe := RequireChromium(t)
	name := cmp.Or(opts.Name, "browser")

	// Before the cleanup below is registered, so that the directory is removed
	// only after the browser has exited.
	profile := filepath.Join(t.TempDir(), "chromium-profile")
	sink := &testLog{t: t}
	stderr := &tailBuffer{max: 32 << 10}

	flags := slices.Clone(chromedp.DefaultExecAllocatorOptions[:])
	flags = append(flags,
		chromedp.ExecPath(exe),
		chromedp.Flag("headless", "new"),
		chromedp.Flag("no-sandbox", true), // we run as root in CI
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("allow-loopback-in-peer-connection", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(profile),
		chromedp.CombinedOutput(stderr),
	)
	if opts.FakeAudioWAV != "" {
		wav, err := filepath.Abs(opts.FakeAudioWAV)
		if err == nil {
			_, err = os.Stat(wav)
		}
		if err != nil {
			// Chromium would silently fall back to its beeps.
			t.Fatalf("%s: fake audio WAV: %v", name, err)
		}
		flags = append(flags, chromedp.Flag("use-file-for-fake-audio-capture", wav))
	}
	if len(opts.DisableFeatures) > 0 {
		flags = append(flags, chromedp.Flag("disable-features",
			chromedpDisabledFeatures+","+strings.Join(opts.DisableFeatures, ",")))
	}
	for _, k := range slices.Sorted(maps.Keys(opts.Flags)) {
		flags = append(flags, chromedp.Flag(k, opts.Flags[k]))
	}

	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), flags...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx,
		chromedp.WithLogf(func(f string, a ...any) { sink.logf(name+": chromedp: "+f, a...) }),
		chromedp.WithErrorf(func(f string, a ...any) { sink.logf(name+": chromedp error: "+f, a...) }),
	)

	start := time.Now()
	// The first Run starts the browser and binds it to ctx, which therefore
	// carries no timeout (see chromedp.NewContext); a watchdog bounds it
	// instead. Chromium starts in about a second here; a minute covers a
	// loaded CI machine running -race.
	watchdog := time.AfterFunc(browserStartTimeout, cancelAlloc)
	err := chromedp.Do(ctx)
	if !watchdog.Stop() {
		err = fmt.Errorf("not started within %v (%v)", browserStartTimeout, err)
	}
	if err != nil {
		cancelCtx()
		cancelAlloc()
		sink.close()
		t.Fatalf("%s: starting Chromium (%s): %v\nstderr:\n%s", name, exe, err, withoutDBusNoise(stderr.String()))
	}
	t.Logf("%s: Chromium started in %v", name, time.Since(start).Round(time.Millisecond))

	consoleDone := make(chan struct{})
	messages := chromedp.Console(ctx)
	go func() {
		defer close(consoleDone)
		for m, err := range messages {
			if err != nil {
				return
			}
			sink.logf("%s", formatConsole(name, m))
		}
	}()

	t.Cleanup(func() {
		// Close gracefully, so the profile is flushed and child processes
		// exit; the cancels below kill whatever is left.
		closeCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := chromedp.Cancel(closeCtx)
		cancel()
		cancelCtx()
		cancelAlloc()
		<-consoleDone
		sink.close()
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Logf("%s: closing Chromium: %v", name, err)
		}
		if out := withoutDBusNoise(stderr.String()); t.Failed() && out != "" {
			t.Logf("%s: Chromium stderr (tail, D-Bus errors left out):\n%s", name, out)
		}
		// Chromium's helper processes may still write to the profile for a
		// moment after the browser exits; t.TempDir's removal does not retry.
		if err := removeAllRetry(profile, 5*time.Second); err != nil {
			t.Logf("%s: removing the profile: %v", name, err)
		}
	})
	return ctx
}

// formatConsole renders a console message as one log entry: where it came
// from, its type and text, and for an exception its stack.
func formatConsole(name string, m chromedp.ConsoleMessage) string {
	var b strings.Builder
	if m.IsException() {
		fmt.Fprintf(&b, "%s: UNCAUGHT %s", name, m.Text)
	} else {
		fmt.Fprintf(&b, "%s: console.%s: %s", name, m.Type, m.Text)
	}
	if m.URL != "" {
		fmt.Fprintf(&b, " (%s:%d)", m.URL, m.Line+1)
	}
	if m.IsException() && m.Stack != nil {
		for _, f := range m.Stack.CallFrames {
			fmt.Fprintf(&b, "\n\tat %s (%s:%d:%d)", cmp.Or(f.FunctionName, "<anonymous>"), f.URL, f.LineNumber+1, f.ColumnNumber+1)
		}
	}
	return b.String()
}

// testLog forwards to t.Logf until closed. Browser goroutines outlive the
// test by a little, and t.Logf after the test has completed panics.
type testLog struct {
	t      testing.TB
	mu     sync.Mutex
	closed bool
}

func (l *testLog) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.closed {
		l.t.Logf(format, args...)
	}
}

func (l *testLog) close() {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
}

// tailBuffer keeps the last max bytes written to it; safe for concurrent use.
type tailBuffer struct {
	max int
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	if over := b.buf.Len() - b.max; over > 0 {
		b.buf.Next(over)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// withoutDBusNoise drops the lines Chromium logs because there is no D-Bus
// here (dozens per start, never relevant to a test).
func withoutDBusNoise(s string) string {
	var b strings.Builder
	for line := range strings.Lines(s) {
		if !strings.Contains(line, ":ERROR:dbus/") {
			b.WriteString(line)
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

// removeAllRetry is os.RemoveAll, retried until limit while something keeps
// writing into dir.
func removeAllRetry(dir string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		err := os.RemoveAll(dir)
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}
