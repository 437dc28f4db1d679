package webclient

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/pion/logging"
)

// The slog levels of pion's, one step down from their names: pion's Info
// is per connection state change of every peer ("Setting new connection
// state: Checking", …), its Warn and Error are about one peer connection (a
// browser that went away mid-handshake), which for the server is news
// rather than a fault. Before pionLogs the default factory printed pion's
// errors only; shifted, a server at Info shows pion's warnings and errors
// and nothing per connection. Trace and Debug go below our Debug, so a
// handler at Debug still leaves out pion's per-packet chatter.
const (
	levelTrace = slog.LevelDebug - 8
	levelDebug = slog.LevelDebug - 4
	levelInfo  = slog.LevelDebug
	levelWarn  = slog.LevelInfo
	levelError = slog.LevelWarn
)

// pionLogs is the logging.LoggerFactory of every peer connection of one
// server: it sends pion's log lines to the server's slog logger as records
// with component=pion and scope=<pion's scope> ("ice", "dtls", "pc", …).
//
// Why not pion's own: when SettingEngine.LoggerFactory is nil pion builds a
// DefaultLoggerFactory per peer connection, and even one shared
// DefaultLoggerFactory builds a new leveled logger with five log.Loggers on
// every NewLogger call, about a dozen per peer connection (the heap a browser
// costs, docs/benchmarks.md), and its lines bypass slog. pionLogs makes one
// logger per scope, the first time the scope is asked for, and hands the same
// one to every later peer; pion's scopes are a small fixed set ("pc", "ice",
// "dtls", "srtp", "mux", …), so the map stops growing after the first peer.
//
// pion's interceptors (NACK, reports, TWCC) take the factory as their own
// options (mediaAPI passes it). Not covered: ice.Agent makes one "ice"
// logger from a default factory before applying its options.
//
// pionLogs is safe for use by several goroutines. It belongs to the peerAPI
// that built it (mediaAPI) and lives as long as the server; its loggers are
// never closed and hold nothing but the slog handler. PION_LOG_* environment
// variables have no effect: the slog handler's level decides.
type pionLogs struct {
	log *slog.Logger

	mu     sync.Mutex
	scopes map[string]*pionLogger // guarded by mu
}

// newPionLogs returns a factory writing to log.
func newPionLogs(log *slog.Logger) *pionLogs {
	return &pionLogs{log: log, scopes: map[string]*pionLogger{}}
}

// NewLogger returns the logger for scope, the same one on every call.
func (f *pionLogs) NewLogger(scope string) logging.LeveledLogger {
	f.mu.Lock()
	defer f.mu.Unlock()
	if l, ok := f.scopes[scope]; ok {
		return l
	}
	l := &pionLogger{h: f.log.Handler().WithAttrs([]slog.Attr{
		slog.String("component", "pion"), slog.String("scope", scope),
	})}
	f.scopes[scope] = l
	return l
}

// pionLogger is pion's LeveledLogger for one scope. It is safe for use by
// several goroutines (slog handlers are). Each method asks the handler first
// and returns at once when the level is off, before formatting: pion calls
// Tracef and Debugf on per-packet paths.
type pionLogger struct {
	h slog.Handler // with the component and scope attributes
}

func (l *pionLogger) Trace(msg string)                  { l.write(levelTrace, msg) }
func (l *pionLogger) Tracef(format string, args ...any) { l.writef(levelTrace, format, args) }
func (l *pionLogger) Debug(msg string)                  { l.write(levelDebug, msg) }
func (l *pionLogger) Debugf(format string, args ...any) { l.writef(levelDebug, format, args) }
func (l *pionLogger) Info(msg string)                   { l.write(levelInfo, msg) }
func (l *pionLogger) Infof(format string, args ...any)  { l.writef(levelInfo, format, args) }
func (l *pionLogger) Warn(msg string)                   { l.write(levelWarn, msg) }
func (l *pionLogger) Warnf(format string, args ...any)  { l.writef(levelWarn, format, args) }
func (l *pionLogger) Error(msg string)                  { l.write(levelError, msg) }
func (l *pionLogger) Errorf(format string, args ...any) { l.writef(levelError, format, args) }

// write and writef must be called directly by a LeveledLogger method: the
// record's source is the caller three frames up (pion's call site).
func (l *pionLogger) write(level slog.Level, msg string) {
	if !l.h.Enabled(context.Background(), level) {
		return
	}
	l.handle(level, msg)
}

func (l *pionLogger) writef(level slog.Level, format string, args []any) {
	if !l.h.Enabled(context.Background(), level) {
		return
	}
	l.handle(level, fmt.Sprintf(format, args...))
}

func (l *pionLogger) handle(level slog.Level, msg string) {
	var pcs [1]uintptr
	runtime.Callers(4, pcs[:]) // runtime.Callers, handle, write(f), the LeveledLogger method
	r := slog.NewRecord(time.Now(), level, msg, pcs[0])
	// As slog.Logger does: a handler's error has nowhere better to go.
	_ = l.h.Handle(context.Background(), r)
}
