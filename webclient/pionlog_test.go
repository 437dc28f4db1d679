package webclient

import (
	"bufio"
	"bytes"
	"encoding/json"
	"log/slog"
	"maps"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/pion/logging"
	"github.com/pion/webrtc/v4"

	"github.com/dialroom/dialroom/bridge"
	"github.com/dialroom/dialroom/e2e"
)

// pionRecord is one JSON line of slog.JSONHandler, the fields the tests read.
type pionRecord struct {
	Level     string `json:"level"`
	Msg       string `json:"msg"`
	Component string `json:"component"`
	Scope     string `json:"scope"`
	Source    struct {
		File string `json:"file"`
	} `json:"source"`
}

func decodePionRecords(t *testing.T, buf *bytes.Buffer) []pionRecord {
	t.Helper()
	var rs []pionRecord
	sc := bufio.NewScanner(buf)
	for sc.Scan() {
		var r pionRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%q: %v", sc.Text(), err)
		}
		rs = append(rs, r)
	}
	return rs
}

// pionLogBuffer is a factory writing JSON lines at level and above to a buffer.
func pionLogBuffer(level slog.Level) (*pionLogs, *bytes.Buffer) {
	var buf bytes.Buffer
	h := slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: level, AddSource: true})
	return newPionLogs(slog.New(h)), &buf
}

func TestPionLogsLevels(t *testing.T) {
	for _, tc := range []struct {
		name  string
		log   func(l logging.LeveledLogger)
		level string
		msg   string
	}{
		{"Trace", func(l logging.LeveledLogger) { l.Trace("t") }, "DEBUG-8", "t"},
		{"Tracef", func(l logging.LeveledLogger) { l.Tracef("t %d", 1) }, "DEBUG-8", "t 1"},
		{"Debug", func(l logging.LeveledLogger) { l.Debug("d") }, "DEBUG-4", "d"},
		{"Debugf", func(l logging.LeveledLogger) { l.Debugf("d %d", 2) }, "DEBUG-4", "d 2"},
		{"Info", func(l logging.LeveledLogger) { l.Info("i") }, "DEBUG", "i"},
		{"Infof", func(l logging.LeveledLogger) { l.Infof("i %d", 3) }, "DEBUG", "i 3"},
		{"Warn", func(l logging.LeveledLogger) { l.Warn("w") }, "INFO", "w"},
		{"Warnf", func(l logging.LeveledLogger) { l.Warnf("w %d", 4) }, "INFO", "w 4"},
		{"Error", func(l logging.LeveledLogger) { l.Error("e") }, "WARN", "e"},
		{"Errorf", func(l logging.LeveledLogger) { l.Errorf("e %d", 5) }, "WARN", "e 5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, buf := pionLogBuffer(levelTrace)
			tc.log(f.NewLogger("dtls"))
			rs := decodePionRecords(t, buf)
			if len(rs) != 1 {
				t.Fatalf("%d records, want 1", len(rs))
			}
			r := rs[0]
			if r.Level != tc.level || r.Msg != tc.msg || r.Component != "pion" || r.Scope != "dtls" {
				t.Errorf("got level=%s msg=%q component=%q scope=%q, want level=%s msg=%q component=pion scope=dtls",
					r.Level, r.Msg, r.Component, r.Scope, tc.level, tc.msg)
			}
			// The source is the caller of the LeveledLogger method (pion's
			// call site), not pionlog.go.
			if got := filepath.Base(r.Source.File); got != "pionlog_test.go" {
				t.Errorf("source %s, want pionlog_test.go", r.Source.File)
			}
		})
	}
}

// countingStringer counts how often it is formatted.
type countingStringer struct{ calls int }

func (c *countingStringer) String() string { c.calls++; return "x" }

func TestPionLogsSkipsDisabledLevels(t *testing.T) {
	f, buf := pionLogBuffer(slog.LevelInfo)
	l := f.NewLogger("ice")
	arg := &countingStringer{}
	l.Tracef("%v", arg)
	l.Debugf("%v", arg)
	l.Trace("t")
	l.Debug("d")
	if arg.calls != 0 {
		t.Errorf("disabled levels formatted their argument %d times", arg.calls)
	}
	if buf.Len() != 0 {
		t.Errorf("disabled levels wrote %q", buf)
	}
	l.Infof("%v", arg) // pion's Info is our Debug: off too
	if arg.calls != 0 {
		t.Errorf("Infof formatted its argument at Info (pion's Info is our Debug)")
	}
	l.Warnf("%v", arg)
	if arg.calls != 1 {
		t.Errorf("Warnf formatted its argument %d times, want 1", arg.calls)
	}
	if rs := decodePionRecords(t, buf); len(rs) != 1 || rs[0].Msg != "x" {
		t.Errorf("records %+v, want one with msg x", rs)
	}
}

func TestPionLogsOneLoggerPerScope(t *testing.T) {
	f, _ := pionLogBuffer(slog.LevelInfo)
	ice := f.NewLogger("ice")
	if f.NewLogger("ice") != ice {
		t.Error("a second NewLogger(ice) made a new logger")
	}
	if f.NewLogger("dtls") == ice {
		t.Error("dtls and ice share a logger")
	}

	// Goroutines asking at once (run with -race) all get the same one.
	var wg sync.WaitGroup
	got := make([]logging.LeveledLogger, 8)
	for i := range got {
		wg.Go(func() { got[i] = f.NewLogger("sctp") })
	}
	wg.Wait()
	for i, l := range got {
		if l != got[0] {
			t.Errorf("goroutine %d got another sctp logger", i)
		}
	}
}

// TestPionLogsSharedByPeers connects two browsers to server peers built as
// sessions build them, and checks that pion's own lines reach slog with
// their scope, and that the second peer made no logger: every scope it
// asked for, the first had created.
func TestPionLogsSharedByPeers(t *testing.T) {
	var out e2e.SyncBuffer // pion's goroutines write it while the test runs
	log := slog.New(slog.NewJSONHandler(&out, &slog.HandlerOptions{Level: levelTrace}))
	api, closer, err := mediaAPI(WebRTCConfig{IncludeLoopback: true}, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = closer() })
	f := api.settings.LoggerFactory.(*pionLogs)
	loggers := func() map[string]*pionLogger {
		f.mu.Lock()
		defer f.mu.Unlock()
		return maps.Clone(f.scopes)
	}
	r := newCostRoom(t)
	track := r.audioTrack()
	client := clientAPI(t)
	connect := func() {
		b, mic := newTestBrowser(t, api, client, r.member())
		b.subscribe(track)
		stop := make(chan struct{})
		defer close(stop)
		go feed(stop, []*bridge.Track{track}, []*webrtc.TrackLocalStaticRTP{mic})
		waitFor(t, "the forwarded track", func() bool { return b.tracks.Load() == 1 && b.received.Load() > 10 })
	}

	connect()
	first := loggers()
	scopes := map[string]bool{}
	for _, rec := range decodePionRecords(t, bytes.NewBufferString(out.String())) {
		if rec.Component != "pion" || rec.Scope == "" {
			t.Errorf("record without component=pion and a scope: %+v", rec)
		}
		scopes[rec.Scope] = true
	}
	if len(scopes) == 0 {
		t.Error("pion's lines did not reach slog")
	}
	for s := range scopes {
		if first[s] == nil {
			t.Errorf("a line of scope %q from no logger of the factory", s)
		}
	}

	connect()
	if second := loggers(); !maps.Equal(first, second) {
		t.Errorf("the second peer changed the factory's loggers:\n%v\n%v", first, second)
	}
	t.Logf("%d scopes (%d with lines): %v", len(first), len(scopes), slices.Sorted(maps.Keys(first)))
}
