package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// CarrierStyle is how a carrier addresses an incoming call to the trunk that
// registered for the dialed number. dialroom must accept both.
type CarrierStyle int

const (
	// RewriteNumber: the Request-URI is the trunk's registered Contact with
	// its user part replaced by the dialed number (sip:NUMBER@host:port).
	RewriteNumber CarrierStyle = iota
	// KeepContact: the Request-URI is the registered Contact unchanged; the
	// dialed number is only in the To header.
	KeepContact
)

// String names the style for test logs.
func (s CarrierStyle) String() string {
	switch s {
	case RewriteNumber:
		return "rewrite-number"
	case KeepContact:
		return "keep-contact"
	}
	return "CarrierStyle(" + strconv.Itoa(int(s)) + ")"
}

// CarrierOptions configures StartCarrier. The zero value is a carrier on a
// free port with no users, no routes and the RewriteNumber style.
type CarrierOptions struct {
	// Port is the UDP and TCP port on 127.0.0.1; 0 picks a free one. The
	// port stays the same across Stop and Start.
	Port int

	// Users maps each user that may register (and place calls to the PSTN)
	// to its digest password. Users, passwords, numbers and prefixes may use
	// letters, digits and ._~+*#!- only: they are written into the config.
	Users map[string]string

	// QOP makes the digest challenges ask for qop=auth (RFC 2617 §3.2.1);
	// without it they are RFC 2069 style, as some carriers still send.
	QOP bool

	// Expires is the longest registration the carrier grants (and the one it
	// grants when the client asks for none); 0 means 300 s. A trunk asking
	// for more is given this much, so a short value forces early refreshes.
	Expires time.Duration

	// Style is how calls to a DID address the trunk.
	Style CarrierStyle

	// TLS, when set, adds a SIP over TLS listener (RFC 3261 §26.2) on
	// 127.0.0.1:TLSPort that presents this certificate (see TestCA). It
	// does not ask clients for certificates. It needs Kamailio's tls
	// module: without it the test is skipped, or failed in CI
	// (RequireKamailioTLS).
	TLS *ServerCert
	// TLSClientCA, with TLS, is a PEM file of the CA whose certificates
	// clients must present (mutual TLS); "" asks clients for none.
	TLSClientCA string
	// TLSPort is the TLS listener's port; 0 picks a free one. It stays the
	// same across Stop and Start.
	TLSPort int

	// ReuseConnection makes calls to a DID go back over the connection the
	// trunk registered on (RFC 5923 style: nathelper's set_contact_alias
	// on REGISTER, handle_ruri_alias on the INVITE), not to the address in
	// its Contact. Over UDP that is the trunk's source address and port.
	ReuseConnection bool
}

// defaultCarrierExpires is what a carrier grants when CarrierOptions.Expires
// is 0: 300 s, the value TESTING.md describes, long enough that no test
// shorter than a few minutes sees a registration expire.
const defaultCarrierExpires = 300 * time.Second

// carrierStopGrace is how long Stop waits after SIGTERM before SIGKILL.
const carrierStopGrace = 5 * time.Second

// carrierReadyTimeout bounds how long Start waits for Kamailio to answer on
// its control socket; it starts in well under a second here.
const carrierReadyTimeout = 15 * time.Second

// Carrier is a Kamailio acting as a SIP carrier on 127.0.0.1: a registrar
// with digest auth and a proxy that routes calls to DIDs to the trunk
// registered for them, and calls from trunks to PSTN phones. Make one with
// StartCarrier.
//
// Its methods may be called from any goroutine; they fail the test (t.Fatal)
// on errors, so call them from the test goroutine unless noted.
type Carrier struct {
	t        testing.TB
	opts     CarrierOptions
	kamailio string
	kamcmd   string
	dir      string // configuration and logs
	ctl      string // ctl socket path

	mu   sync.Mutex
	dids map[string]string // number → trunk user
	pstn map[string]string // prefix → contact URI
	proc *exec.Cmd         // nil while stopped
	done chan struct{}     // closed when proc has exited
	out  *tailBuffer       // output of every run so far
}

// RequireKamailio returns the paths of kamailio and kamcmd (on PATH or in
// /usr/sbin). When either is missing it fails the test in CI (see [InCI])
// and skips it elsewhere.
func RequireKamailio(t testing.TB) (kamailio, kamcmd string) {
	t.Helper()
	var missing []string
	kamailio, err := lookPathSbin("kamailio")
	if err != nil {
		missing = append(missing, "kamailio")
	}
	kamcmd, err = lookPathSbin("kamcmd")
	if err != nil {
		missing = append(missing, "kamcmd")
	}
	if len(missing) > 0 {
		msg := strings.Join(missing, " and ") + " not found (install the Debian package kamailio: make deps)"
		if InCI() {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return kamailio, kamcmd
}

// StartCarrier writes a Kamailio configuration for opts into t.TempDir(),
// checks it (kamailio -c; a bad config fails the test with the checker's
// output), starts `kamailio -DD -E` in the foreground and returns once it
// answers on its control socket. It is stopped in t.Cleanup (SIGTERM, then
// SIGKILL after 5 s); its output is logged if the test failed.
//
// Without kamailio the test is skipped, or failed in CI (RequireKamailio).
// Call it from the test goroutine.
func StartCarrier(t testing.TB, opts CarrierOptions) *Carrier {
	t.Helper()
	kam, kamcmd := RequireKamailio(t)
	if opts.Expires == 0 {
		opts.Expires = defaultCarrierExpires
	}
	if opts.Expires < time.Second {
		t.Fatalf("carrier: Expires %v: want at least 1s", opts.Expires)
	}
	if opts.TLS != nil {
		RequireKamailioTLS(t)
		if opts.TLSPort == 0 {
			p, err := freeLoopbackPort(1)
			if err != nil {
				t.Fatalf("carrier: %v", err)
			}
			opts.TLSPort = p
		}
	}
	opts.Users = maps.Clone(opts.Users)
	if opts.Port == 0 {
		p, err := freeLoopbackPort(1)
		if err != nil {
			t.Fatalf("carrier: %v", err)
		}
		opts.Port = p
	}
	// The ctl socket lives in a short directory of its own: a unix socket
	// path must fit in 108 bytes, and t.TempDir() paths carry the test name.
	sockDir, err := os.MkdirTemp("", "kam")
	if err != nil {
		t.Fatalf("carrier: %v", err)
	}
	c := &Carrier{
		t:        t,
		opts:     opts,
		kamailio: kam,
		kamcmd:   kamcmd,
		dir:      t.TempDir(),
		ctl:      filepath.Join(sockDir, "ctl"),
		dids:     map[string]string{},
		pstn:     map[string]string{},
		out:      &tailBuffer{max: 64 << 10},
	}
	t.Cleanup(func() {
		c.stop()
		os.RemoveAll(sockDir)
		if t.Failed() {
			t.Logf("carrier: Kamailio output (tail):\n%s", c.out.String())
		}
	})
	c.Start()
	return c
}

// Addr returns the carrier's address, "127.0.0.1:PORT", for UDP and TCP.
func (c *Carrier) Addr() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(c.opts.Port))
}

// TLSAddr returns the carrier's TLS address, "127.0.0.1:PORT"; "" when
// CarrierOptions.TLS was not set.
func (c *Carrier) TLSAddr() string {
	if c.opts.TLS == nil {
		return ""
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(c.opts.TLSPort))
}

// kamailioModuleDirs are where Debian and source builds put Kamailio's
// modules.
var kamailioModuleDirs = []string{"/usr/lib/x86_64-linux-gnu/kamailio/modules", "/usr/lib/aarch64-linux-gnu/kamailio/modules",
	"/usr/lib/kamailio/modules", "/usr/local/lib64/kamailio/modules", "/usr/local/lib/kamailio/modules"}

// RequireKamailioTLS checks that Kamailio's tls module is installed (the
// Debian package kamailio-tls-modules). When it is missing it fails the
// test in CI (see [InCI]) and skips it elsewhere.
func RequireKamailioTLS(t testing.TB) {
	t.Helper()
	for _, dir := range kamailioModuleDirs {
		if _, err := os.Stat(filepath.Join(dir, "tls.so")); err == nil {
			return
		}
	}
	msg := "Kamailio's tls module not found (install the Debian package kamailio-tls-modules: make deps)"
	if InCI() {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// Port returns the carrier's UDP and TCP port.
func (c *Carrier) Port() int { return c.opts.Port }

// Style returns how the carrier addresses calls to DIDs.
func (c *Carrier) Style() CarrierStyle { return c.opts.Style }

// Route makes calls to number (the Request-URI user of an INVITE the carrier
// receives) go to the trunk registered as trunkUser. It takes effect at once,
// also while the carrier runs, and survives Stop/Start. A call to a number
// whose trunk is not registered is answered 480.
func (c *Carrier) Route(number, trunkUser string) {
	c.t.Helper()
	c.setRoute(c.dids, "dids", number, trunkUser)
}

// RoutePSTN makes calls from an authenticated user (proxy auth against
// Users) to numbers starting with numberPrefix go to contact, a SIP URI such
// as "sip:phone@127.0.0.1:5080": the Request-URI becomes contact, the To
// header keeps the dialed number. The longest matching prefix wins. It takes
// effect at once and survives Stop/Start.
func (c *Carrier) RoutePSTN(numberPrefix, contact string) {
	c.t.Helper()
	c.setRoute(c.pstn, "pstn", numberPrefix, contact)
}

func (c *Carrier) setRoute(table map[string]string, name, key, value string) {
	c.t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	table[key] = value
	if err := c.configLocked().validate(); err != nil {
		delete(table, key)
		c.t.Fatal(err)
	}
	if c.proc == nil {
		return // written into the configuration by the next Start
	}
	// "s:" keeps kamcmd from sending a number-like key or value as an int.
	if out, err := c.kamcmdRun("htable.sets", name, "s:"+key, "s:"+value); err != nil {
		c.t.Fatalf("carrier: setting %s[%s]: %v: %s", name, key, err, out)
	}
}

// configLocked returns the configuration for the current options and
// routes. c.mu must be held.
func (c *Carrier) configLocked() *carrierConfig {
	qop := "0"
	if c.opts.QOP {
		qop = "1"
	}
	cfg := &carrierConfig{
		Port:          c.opts.Port,
		CtlSocket:     c.ctl,
		ExpiresSec:    int(c.opts.Expires / time.Second),
		QOPFlag:       qop,
		RewriteNumber: c.opts.Style == RewriteNumber,
		Users:         c.opts.Users,
		DIDs:          maps.Clone(c.dids),
		PSTN:          maps.Clone(c.pstn),
		ReuseConn:     c.opts.ReuseConnection,
	}
	if c.opts.TLS != nil {
		cfg.TLSPort, cfg.TLSCert, cfg.TLSKey = c.opts.TLSPort, c.opts.TLS.CertFile, c.opts.TLS.KeyFile
		cfg.TLSClientCA = c.opts.TLSClientCA
	}
	return cfg
}

// Start starts Kamailio again after Stop, on the same port and with the
// same users and routes, but with no registrations (they are kept in memory
// only). StartCarrier calls it; calling it while the carrier runs fails the
// test.
func (c *Carrier) Start() {
	c.t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.proc != nil {
		c.t.Fatal("carrier: Start while running")
	}
	cfg, err := c.configLocked().render()
	if err != nil {
		c.t.Fatal(err)
	}
	path := filepath.Join(c.dir, "carrier.cfg")
	if err := os.WriteFile(path, cfg, 0o644); err != nil {
		c.t.Fatalf("carrier: %v", err)
	}
	if out, err := exec.Command(c.kamailio, "-c", "-f", path).CombinedOutput(); err != nil {
		c.t.Fatalf("carrier: kamailio -c -f %s: %v\n%s\nconfig:\n%s", path, err, out, numberLines(cfg))
	}
	os.Remove(c.ctl) // a socket left by a killed run would stop ctl's bind

	// -DD: stay in the foreground (children are still forked); -E: log to
	// stderr; -Y: runtime files here, not in /run/kamailio; -m: 32 MB of
	// shared memory is plenty for a test and kinder to a small machine.
	cmd := exec.Command(c.kamailio, "-DD", "-E", "-f", path, "-Y", c.dir, "-m", "32")
	cmd.Stdout, cmd.Stderr = c.out, c.out
	// Its own process group, so that SIGKILL reaches the forked children.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		c.t.Fatalf("carrier: %v", err)
	}
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		close(done)
	}()
	c.proc, c.done = cmd, done

	deadline := time.Now().Add(carrierReadyTimeout)
	for {
		_, err := c.kamcmdRun("core.uptime")
		if err == nil {
			return
		}
		select {
		case <-done:
			c.proc = nil
			c.t.Fatalf("carrier: Kamailio exited at start-up (%v):\n%s", cmd.ProcessState, c.out.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			c.stopLocked()
			c.t.Fatalf("carrier: no answer on %s within %v: %v\n%s", c.ctl, carrierReadyTimeout, err, c.out.String())
		}
	}
}

// Stop stops Kamailio (SIGTERM, SIGKILL after 5 s) and returns once it has
// exited; the port is free again. Registrations are lost. Stopping a
// stopped carrier does nothing.
func (c *Carrier) Stop() {
	c.stop()
}

func (c *Carrier) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopLocked()
}

// stopLocked stops the running Kamailio, if any. c.mu must be held.
func (c *Carrier) stopLocked() {
	if c.proc == nil {
		return
	}
	pgid := c.proc.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-c.done:
		// On SIGTERM the main process stops its children and waits for
		// them before it exits, so the port is free now.
	case <-time.After(carrierStopGrace):
		// The main process is not reaped yet, so the group still exists:
		// this reaches the children too.
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-c.done
	}
	c.proc, c.done = nil, nil
}

// Registration is one contact bound to an address of record.
type Registration struct {
	AOR     string // the user part, as usrloc keys it ("trunk")
	Contact string // the Contact URI the client registered
	Expires int    // seconds left, as Kamailio reported it
}

// Registrations returns the current bindings (kamcmd ul.dump). A stopped
// carrier has none.
func (c *Carrier) Registrations() ([]Registration, error) {
	c.mu.Lock()
	running := c.proc != nil
	c.mu.Unlock()
	if !running {
		return nil, nil
	}
	out, err := c.kamcmdRun("ul.dump")
	if err != nil {
		return nil, fmt.Errorf("carrier: ul.dump: %v: %s", err, out)
	}
	return parseULDump(out), nil
}

// WaitRegistered waits until aor has a binding and returns it; it gives up
// after timeout with an error.
func (c *Carrier) WaitRegistered(aor string, timeout time.Duration) (Registration, error) {
	deadline := time.Now().Add(timeout)
	for {
		regs, err := c.Registrations()
		if err != nil {
			return Registration{}, err
		}
		for _, r := range regs {
			if r.AOR == aor {
				return r, nil
			}
		}
		if time.Now().After(deadline) {
			return Registration{}, fmt.Errorf("carrier: %s not registered within %v (bindings: %v)", aor, timeout, regs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// parseULDump reads kamcmd's rendering of ul.dump: nested "Key: value"
// lines, where each "AoR:" starts a record and each "Address:" inside it is
// a contact followed by its "Expires:" (Kamailio 5.6).
func parseULDump(out []byte) []Registration {
	var regs []Registration
	aor := ""
	for line := range strings.Lines(string(out)) {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch k {
		case "AoR":
			aor = v
		case "Address":
			regs = append(regs, Registration{AOR: aor, Contact: v})
		case "Expires":
			if n := len(regs); n > 0 && regs[n-1].AOR == aor {
				regs[n-1].Expires, _ = strconv.Atoi(v)
			}
		}
	}
	return regs
}

// kamcmdRun runs one RPC command on the ctl socket, with a timeout.
func (c *Carrier) kamcmdRun(args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.kamcmd, append([]string{"-s", "unix:" + c.ctl}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err == nil && bytes.HasPrefix(out.Bytes(), []byte("error:")) {
		err = errors.New(strings.TrimSpace(out.String()))
	}
	return out.Bytes(), err
}

// numberLines prefixes each line of b with its number, for error messages
// that cite config lines.
func numberLines(b []byte) string {
	var s strings.Builder
	n := 0
	for line := range strings.Lines(string(b)) {
		n++
		fmt.Fprintf(&s, "%4d  %s", n, line)
	}
	return s.String()
}
