package main

import (
	"crypto/sha256"
	"errors"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dialroom/dialroom/configs"
	"github.com/dialroom/dialroom/dialplan"
	"github.com/dialroom/dialroom/sip"
)

// Dialplan reload. The running server holds its plan in Main.plan, an atomic
// pointer: the telephony side takes the current plan when a call arrives and
// keeps the Decision it got, so swapping the pointer changes where new calls
// go and leaves calls in progress untouched. A file that does not load is
// refused as a whole: every problem is logged with its position, the failure
// is counted, and the running plan stays, so the admin is never left without
// a working plan.
//
// Two things trigger a reload when the dialplan is a file (the embedded
// default never changes):
//   - SIGHUP, which always reloads;
//   - a change of the file, found by polling its size, modification time and
//     SHA-256 every dialplanPollInterval. Polling is portable and cheap, and
//     sees changes that file-event APIs miss (network file systems, a
//     ConfigMap's symlink swap). A change applies once the file has read the
//     same on two polls in a row, so an editor caught half-way through
//     writing does not earn a "refused" in the log.

// dialplanPollInterval: 2 s makes an edit apply within a few seconds, and
// reading and hashing even a 10,000-route file (under 1 MB) every 2 s costs
// nothing noticeable.
const dialplanPollInterval = 2 * time.Second

// dialplanReloader is the reload state of a Main. Its mutex serialises
// reloads from the signal, the poller and ReloadDialplan callers.
type dialplanReloader struct {
	mu      sync.Mutex
	reloads *prometheus.CounterVec // dialroom_dialplan_reloads_total{result}
	last    fileState              // the file as last loaded, or refused
	pending fileState              // a change seen once, applied when seen again

	hup     chan os.Signal
	stop    chan struct{}
	done    chan struct{} // closed when the watcher goroutine returns
	started bool
}

// fileState identifies the content of the dialplan file, or why it could not
// be read.
type fileState struct {
	size    int64
	modTime int64 // nanoseconds
	sum     [sha256.Size]byte
	err     string
}

// dialplanLoadOptions resolves trunk passwords the server's way: ${NAME} from
// the process environment, password_file from the file system; and checks
// that every prompt file plays, so a bad recording is refused with its line
// rather than discovered by a caller.
func dialplanLoadOptions() dialplan.LoadOptions {
	return dialplan.LoadOptions{Getenv: os.LookupEnv, ReadFile: os.ReadFile, CheckPrompt: sip.CheckPromptFile}
}

// loadDialplanFile loads the dialplan at path, or the embedded default for "",
// with secrets resolved.
func loadDialplanFile(path string) (*dialplan.Plan, error) {
	if path == "" {
		return dialplan.LoadWith("(embedded dialplan.yaml)", configs.DefaultDialplanYAML, dialplanLoadOptions())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return dialplan.LoadWith(path, data, dialplanLoadOptions())
}

// Plan returns the dialplan in force. The returned Plan is never modified;
// a reload replaces it. Safe for concurrent use.
func (m *Main) Plan() *dialplan.Plan { return m.plan.Load() }

// watchDialplan registers the reload counter and, when the dialplan is a
// file, starts the goroutine that reloads it on SIGHUP and on change. Run
// calls it once the first plan is loaded and the metrics exist; Close stops
// it.
func (m *Main) watchDialplan() {
	r := &m.reloader
	r.reloads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "dialroom_dialplan_reloads_total",
		Help: "Dialplan reloads by result: ok (the new plan applies to new calls) or failed (the file was refused and the running plan stays).",
	}, []string{"result"})
	r.reloads.WithLabelValues("ok")
	r.reloads.WithLabelValues("failed")
	if m.metrics != nil {
		m.metrics.Registry().MustRegister(r.reloads)
	}
	path := m.Config.Dialplan
	if path == "" {
		return
	}
	r.last = readFileState(path)
	r.hup = make(chan os.Signal, 1)
	r.stop = make(chan struct{})
	r.done = make(chan struct{})
	r.started = true
	signal.Notify(r.hup, syscall.SIGHUP)
	go m.runDialplanWatcher()
	m.Logger.Info("watching the dialplan for changes; SIGHUP reloads it", "file", path, "poll", dialplanPollInterval)
}

func (m *Main) runDialplanWatcher() {
	r := &m.reloader
	defer close(r.done)
	tick := time.NewTicker(dialplanPollInterval)
	defer tick.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-r.hup:
			m.Logger.Info("SIGHUP: reloading the dialplan", "file", m.Config.Dialplan)
			_ = m.ReloadDialplan() // logged and counted
		case <-tick.C:
			m.pollDialplan()
		}
	}
}

// stopDialplanWatcher stops the watcher goroutine, if it runs, and waits for
// it. Close calls it.
func (m *Main) stopDialplanWatcher() {
	r := &m.reloader
	if !r.started {
		return
	}
	signal.Stop(r.hup)
	close(r.stop)
	<-r.done
	r.started = false
}

// pollDialplan reloads the dialplan file if it changed and has stayed the
// same since the previous poll.
func (m *Main) pollDialplan() {
	r := &m.reloader
	r.mu.Lock()
	defer r.mu.Unlock()
	st := readFileState(m.Config.Dialplan)
	switch {
	case st == r.last:
		r.pending = fileState{}
		return
	case st != r.pending:
		r.pending = st // changed: wait one more poll for the writer to finish
		return
	}
	r.pending = fileState{}
	_ = m.reloadDialplanLocked() // logged and counted
}

// ReloadDialplan loads the dialplan file again and, if it is valid, makes it
// the plan for new calls; calls in progress keep the decisions they have. If
// it is not valid, the running plan stays, every problem is logged with its
// position, the failure is counted in dialroom_dialplan_reloads_total, and
// the joined problems are returned. Safe for concurrent use.
func (m *Main) ReloadDialplan() error {
	r := &m.reloader
	r.mu.Lock()
	defer r.mu.Unlock()
	return m.reloadDialplanLocked()
}

// errNoDialplanFile is returned by ReloadDialplan when the server runs the
// embedded default dialplan.
var errNoDialplanFile = errors.New("the dialplan is the embedded default: there is no file to reload (set dialplan: in the server config)")

// reloadDialplanLocked is ReloadDialplan; r.mu must be held.
func (m *Main) reloadDialplanLocked() error {
	r := &m.reloader
	path := m.Config.Dialplan
	if path == "" {
		return errNoDialplanFile
	}
	r.last = readFileState(path)
	plan, err := loadDialplanFile(path)
	if err != nil {
		r.count("failed")
		problems := unwrapAll(err)
		for _, e := range problems {
			m.Logger.Error("dialplan refused", "error", e.Error())
		}
		m.Logger.Error("dialplan reload failed: the running plan stays in force", "file", path, "problems", len(problems))
		return err
	}
	for _, w := range plan.Warnings {
		m.Logger.Warn("dialplan", "warning", w)
	}
	m.plan.Store(plan)
	if m.SIP != nil {
		m.SIP.SyncTrunks() // registrations follow the new trunks
	}
	r.count("ok")
	m.Logger.Info("dialplan reloaded: new calls follow it", "file", path, "plan", plan.Summary())
	return nil
}

func (r *dialplanReloader) count(result string) {
	if r.reloads != nil {
		r.reloads.WithLabelValues(result).Inc()
	}
}

// readFileState reads path and identifies its content.
func readFileState(path string) fileState {
	fi, err := os.Stat(path)
	if err != nil {
		return fileState{err: err.Error()}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return fileState{err: err.Error()}
	}
	return fileState{size: int64(len(data)), modTime: fi.ModTime().UnixNano(), sum: sha256.Sum256(data)}
}
