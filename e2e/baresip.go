package e2e

import (
	"cmp"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// PhoneOptions configures StartPhone.
type PhoneOptions struct {
	// Name prefixes the phone's lines in the test log; default "phone".
	Name string

	// User is the account's user part; default Name. Password is its digest
	// password (used for REGISTER and for 401/407 challenges on calls).
	User, Password string

	// Registrar is "HOST:PORT" of the registrar (a Carrier's Addr). With it
	// the account is sip:User@Registrar and registers every RegInterval;
	// without it the account is sip:User@127.0.0.1:Port and never
	// registers (a phone reached directly, like a PSTN phone).
	Registrar string

	// RegInterval is the registration lifetime the phone asks for (baresip's
	// regint); 0 means 60 s. baresip refreshes before it runs out, so a
	// short one (with a carrier granting it) makes re-registration quick.
	RegInterval time.Duration

	// AudioWAV is what the phone plays in calls (baresip's aufile source).
	// It is played once, not looped, and when it ends baresip hangs up the
	// call (CALL_CLOSED "end of file"): make it longer than the call. aufile
	// does not resample: 8 kHz mono for G.711, 16 kHz for G722, 48 kHz
	// stereo for opus. Empty plays a minute of silence.
	AudioWAV string

	// Codecs are the audio codecs offered, in order, by baresip name ("PCMU",
	// "PCMA", "G722", "opus"); default PCMU.
	Codecs []string

	// AutoAnswer answers incoming calls at once.
	AutoAnswer bool

	// Numbers are Request-URI users the phone answers besides its
	// registered contact, as a trunk whose carrier addresses calls to the
	// dialed number (RewriteNumber): baresip 1.0.0 answers 404 to a request
	// whose user is neither its contact user nor an account's user, so each
	// number gets a local account (sip:NUMBER@127.0.0.1:Port, never
	// registered) with the same answer mode and codecs.
	Numbers []string

	// Port is the SIP port on 127.0.0.1 (UDP and TCP). baresip may also bind
	// Port+1, so space the ports of several phones by 2; 0 picks a free
	// pair.
	Port int
}

// defaultRegInterval is the registration lifetime a phone asks for by
// default: a minute keeps a test's phone registered through any test
// without refreshing it often.
const defaultRegInterval = 60 * time.Second

// phoneStopGrace is how long Stop waits after each SIGTERM: the first makes
// baresip un-register, which needs the registrar; the second makes it give
// up on that.
const phoneStopGrace = 2 * time.Second

// phoneCommandTimeout bounds one ctrl_tcp command.
const phoneCommandTimeout = 5 * time.Second

// Phone is a baresip softphone with one account, controlled over ctrl_tcp.
// Make one with StartPhone. Its methods may be called from any goroutine;
// those that take no error result fail the test on errors, so call them
// from the test goroutine.
type Phone struct {
	t      testing.TB
	name   string
	opts   PhoneOptions
	dir    string // config directory
	sndDir string // where sndfile writes its recordings
	cmd    *exec.Cmd
	done   chan struct{} // closed when cmd has exited
	ctrl   *ctrlConn
	out    *tailBuffer
}

// RequireBaresip returns the path of the baresip executable. When it is
// missing it fails the test in CI (see [InCI]) and skips it elsewhere.
func RequireBaresip(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("baresip"); err == nil {
		return p
	}
	const msg = "baresip not found (install the Debian package baresip: make deps)"
	if InCI() {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// baresipModuleDir is where Debian's baresip-core keeps the modules.
const baresipModuleDir = "/usr/lib/baresip/modules"

// codecModule returns the baresip module that provides codec.
func codecModule(codec string) (module string, ok bool) {
	switch codec {
	case "PCMU", "PCMA":
		return "g711", true
	case "G722":
		return "g722", true
	case "opus":
		return "opus", true
	case "L16":
		return "l16", true
	}
	return "", false
}

// codecRate returns the sample rate and channel count baresip's aufile must
// be given for codec (it does not resample).
func codecRate(codec string) (rate, channels int) {
	switch codec {
	case "opus":
		return 48000, 2
	case "G722":
		return 16000, 1
	}
	return 8000, 1
}

// phoneToken is what user names and passwords may contain: they go into
// baresip's accounts line, where ';', '>' and spaces are syntax.
var phoneToken = regexp.MustCompile(`^[A-Za-z0-9._~+*#!-]*$`)

// StartPhone writes a baresip configuration for opts under t.TempDir(),
// starts `baresip -f DIR` and returns once its ctrl_tcp socket accepts the
// harness. It does not wait for registration: wait for REGISTER_OK with
// WaitEvent. The phone is stopped in t.Cleanup (see Stop); its output is
// logged if the test failed.
//
// Without baresip the test is skipped, or failed in CI (RequireBaresip).
// Call it from the test goroutine.
func StartPhone(t testing.TB, opts PhoneOptions) *Phone {
	t.Helper()
	exe := RequireBaresip(t)
	name := cmp.Or(opts.Name, "phone")
	opts.User = cmp.Or(opts.User, name)
	if len(opts.Codecs) == 0 {
		opts.Codecs = []string{"PCMU"}
	}
	if opts.RegInterval == 0 {
		opts.RegInterval = defaultRegInterval
	}
	for _, tok := range append([]string{opts.User, opts.Password}, opts.Numbers...) {
		if !phoneToken.MatchString(tok) {
			t.Fatalf("%s: user, password or number %q: want %s", name, tok, phoneToken)
		}
	}
	if opts.AudioWAV != "" {
		wav, err := filepath.Abs(opts.AudioWAV)
		if err == nil {
			_, err = os.Stat(wav)
		}
		if err != nil {
			t.Fatalf("%s: audio WAV: %v", name, err)
		}
		opts.AudioWAV = wav
	}
	p := &Phone{
		t:    t,
		name: name,
		opts: opts,
		dir:  t.TempDir(),
		out:  &tailBuffer{max: 64 << 10},
	}
	p.sndDir = filepath.Join(p.dir, "recordings")
	if err := os.Mkdir(p.sndDir, 0o755); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if opts.AudioWAV == "" {
		// aufile needs a file; a silent one at the first codec's rate. A
		// minute outlasts any call of these tests and stays small (1 MB at
		// 8 kHz; 11 MB for opus).
		rate, channels := codecRate(opts.Codecs[0])
		p.opts.AudioWAV = filepath.Join(p.dir, "silence.wav")
		if err := writeSilenceWAV(p.opts.AudioWAV, time.Minute, rate, channels); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			t.Logf("%s: baresip output (tail):\n%s", name, p.out.String())
		}
	})
	// The ports are free when picked but released before baresip binds
	// them, so another process (a parallel test's phone, SIPp, the kernel's
	// ephemeral ports) can take one in between; baresip then exits at once.
	// Ports the harness picked are picked again, a few times.
	const startTries = 3
	for try := 1; ; try++ {
		err := p.start(exe, opts.Port == 0)
		if err == nil {
			break
		}
		if !errors.Is(err, errPortTaken) || try == startTries {
			t.Fatalf("%s: %v\n%s", name, err, p.out.String())
		}
		t.Logf("%s: %v; trying other ports", name, err)
	}
	// The main account first: it is the current one, which dial uses.
	for _, acc := range append([]string{p.account()}, p.numberAccounts()...) {
		if _, err := p.Command("uanew", acc); err != nil {
			t.Fatalf("%s: creating the account %s: %v", name, acc, err)
		}
	}
	return p
}

// errPortTaken is start's error when baresip could not bind a port.
var errPortTaken = errors.New("a port was taken before baresip bound it")

// baresipExitAddrInUse is baresip's exit status when it cannot bind a
// listening socket: the EADDRINUSE errno it returns from main.
const baresipExitAddrInUse = 98

// start picks the ports (the SIP pair too when pickSIP), writes the config,
// starts baresip and waits until its ctrl_tcp socket accepts the harness.
// It returns errPortTaken (wrapped) when baresip exited because a port was
// in use; the process has then exited and p can start again.
func (p *Phone) start(exe string, pickSIP bool) error {
	if pickSIP {
		port, err := freeLoopbackPort(2)
		if err != nil {
			return err
		}
		p.opts.Port = port
	}
	// The SIP ports were released, so the kernel may hand them out again:
	// keep the control port off them.
	ctrlPort := p.opts.Port
	for ctrlPort == p.opts.Port || ctrlPort == p.opts.Port+1 {
		var err error
		if ctrlPort, err = freeLoopbackPort(1); err != nil {
			return err
		}
	}
	config, err := p.config(ctrlPort)
	if err != nil {
		return err
	}
	// The account is created over ctrl_tcp once the harness listens (see
	// StartPhone), not from the accounts file: baresip registers as soon as
	// it has read that file, and ctrl_tcp does not repeat events to a client
	// that connects later, so REGISTER_OK would be lost.
	for file, text := range map[string]string{"config": config, "accounts": "", "contacts": ""} {
		if err := os.WriteFile(filepath.Join(p.dir, file), []byte(text), 0o644); err != nil {
			return err
		}
	}

	p.cmd = exec.Command(exe, "-f", p.dir)
	p.cmd.Dir = p.dir
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		return fmt.Errorf("starting baresip: %w", err)
	}
	done := make(chan struct{})
	p.done = done
	cmd := p.cmd
	go func() {
		cmd.Wait()
		close(done)
	}()

	// ctrl_tcp listens once every module is loaded.
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(ctrlPort))
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			p.ctrl = newCtrlConn(conn)
			return nil
		}
		select {
		case <-done:
			if cmd.ProcessState.ExitCode() == baresipExitAddrInUse {
				return fmt.Errorf("baresip exited at start-up (%v): %w", cmd.ProcessState, errPortTaken)
			}
			return fmt.Errorf("baresip exited at start-up (%v)", cmd.ProcessState)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("ctrl_tcp %s not listening after 10s: %v", addr, err)
		}
	}
}

// config returns the text of baresip's config file.
func (p *Phone) config(ctrlPort int) (string, error) {
	modules := []string{"g711"}
	for _, c := range p.opts.Codecs {
		m, ok := codecModule(c)
		if !ok {
			return "", fmt.Errorf("codec %q: want one of PCMU, PCMA, G722, opus, L16", c)
		}
		if !slices.Contains(modules, m) {
			modules = append(modules, m)
		}
	}
	source := "aufile," + p.opts.AudioWAV
	var b strings.Builder
	line := func(k string, v any) { fmt.Fprintf(&b, "%-20s %v\n", k, v) }
	line("poll_method", "epoll")
	line("sip_listen", net.JoinHostPort("127.0.0.1", strconv.Itoa(p.opts.Port)))
	// baresip 1.0.0 takes an interface name or an address here. "lo" fails
	// (it skips loopback interfaces when it looks names up); the address
	// works, inside the loopback-only namespace and on a host with a network,
	// where it keeps baresip from putting another address in SDP.
	line("net_interface", "127.0.0.1")
	// A range below Linux's ephemeral ports (32768-60999), where the
	// harness picks SIP ports; each phone binds a free pair in it.
	line("rtp_ports", "20000-29999")
	line("call_local_timeout", 120)
	line("audio_source", source)
	// ALSA's "null" device accepts and discards audio without a sound card.
	line("audio_player", "alsa,null")
	line("audio_alert", "alsa,null")
	line("module_path", baresipModuleDir)
	for _, m := range append(modules, "aufile", "alsa", "sndfile") {
		line("module", m+".so")
	}
	line("module_tmp", "account.so")
	line("module_app", "menu.so")
	line("module_app", "ctrl_tcp.so")
	line("ctrl_tcp_listen", net.JoinHostPort("127.0.0.1", strconv.Itoa(ctrlPort)))
	line("snd_path", p.sndDir)
	return b.String(), nil
}

// account returns baresip's accounts line for the main account.
func (p *Phone) account() string {
	return p.accountLine(p.opts.User, p.opts.Registrar)
}

// numberAccounts returns the accounts lines for opts.Numbers.
func (p *Phone) numberAccounts() []string {
	var lines []string
	for _, n := range p.opts.Numbers {
		lines = append(lines, p.accountLine(n, ""))
	}
	return lines
}

// accountLine returns an accounts line for user; it registers with
// registrar unless that is empty.
func (p *Phone) accountLine(user, registrar string) string {
	o := p.opts
	var b strings.Builder
	if registrar != "" {
		fmt.Fprintf(&b, "<sip:%s@%s>", user, registrar)
		fmt.Fprintf(&b, ";regint=%d", int(o.RegInterval/time.Second))
	} else {
		fmt.Fprintf(&b, "<sip:%s@127.0.0.1:%d>;regint=0", user, o.Port)
	}
	if o.Password != "" {
		fmt.Fprintf(&b, ";auth_pass=%s", o.Password)
	}
	if o.AutoAnswer {
		b.WriteString(";answermode=auto")
	} else {
		b.WriteString(";answermode=manual")
	}
	fmt.Fprintf(&b, ";audio_codecs=%s", AccountCodecs(o.Codecs))
	return b.String()
}

// Name returns the phone's name in the test log.
func (p *Phone) Name() string { return p.name }

// Port returns the phone's SIP port on 127.0.0.1.
func (p *Phone) Port() int { return p.opts.Port }

// URI returns the phone's direct SIP URI, sip:User@127.0.0.1:Port, which
// reaches it without a registrar (for Carrier.RoutePSTN, say).
func (p *Phone) URI() string {
	return fmt.Sprintf("sip:%s@127.0.0.1:%d", p.opts.User, p.opts.Port)
}

// Command runs a baresip command (a menu command such as "dial",
// "hangup", "reginfo") with params over ctrl_tcp and returns the response
// text; a command baresip reports as failed is an error.
func (p *Phone) Command(cmd, params string) (string, error) {
	return p.ctrl.command(cmd, params, phoneCommandTimeout)
}

// Dial calls uri ("sip:15551230001@127.0.0.1:5060"). It returns once
// baresip has accepted the command; wait for CALL_ESTABLISHED or
// CALL_CLOSED with WaitEvent.
func (p *Phone) Dial(uri string) {
	p.t.Helper()
	if _, err := p.Command("dial", uri); err != nil {
		p.t.Fatalf("%s: %v", p.name, err)
	}
}

// Hangup ends the current call (or rejects a ringing one); wait for
// CALL_CLOSED with WaitEvent.
func (p *Phone) Hangup() {
	p.t.Helper()
	if _, err := p.Command("hangup", ""); err != nil {
		p.t.Fatalf("%s: %v", p.name, err)
	}
}

// dtmfGap is the pause between two digits of SendDTMF. baresip sends one
// RFC 4733 event per key press and ends it on the key release that follows;
// 200 ms gives each digit a whole event of its own.
const dtmfGap = 200 * time.Millisecond

// SendDTMF sends digits (0-9, *, #, A-D) in the current call as RFC 4733
// telephone events, one after another (baresip's sndcode command), and
// returns after the last one.
func (p *Phone) SendDTMF(digits string) {
	p.t.Helper()
	for i, d := range digits {
		if !strings.ContainsRune("0123456789*#ABCD", d) {
			p.t.Fatalf("%s: DTMF digit %q: want 0-9, *, #, A-D", p.name, d)
		}
		if i > 0 {
			time.Sleep(dtmfGap)
		}
		if _, err := p.Command("sndcode", string(d)); err != nil {
			p.t.Fatalf("%s: %v", p.name, err)
		}
	}
	time.Sleep(dtmfGap)
}

// WaitEvent removes and returns the oldest event of type typ that the phone
// has reported and no WaitEvent has returned yet (REGISTER_OK,
// REGISTER_FAIL, CALL_INCOMING, CALL_RINGING, CALL_ESTABLISHED,
// CALL_CLOSED, CALL_DTMF_START …), waiting up to timeout for one. Events
// of other types stay queued. It returns an error on timeout or when the
// phone's control connection ends.
func (p *Phone) WaitEvent(typ string, timeout time.Duration) (PhoneEvent, error) {
	e, err := p.ctrl.waitEvent(typ, timeout)
	if err != nil {
		return e, fmt.Errorf("%s: %w", p.name, err)
	}
	p.t.Logf("%s: event %v", p.name, e)
	return e, nil
}

// DiscardEvents drops every event not yet returned by WaitEvent, so that
// the next WaitEvent sees only what happens from now on (a fresh
// REGISTER_OK rather than an earlier refresh's).
func (p *Phone) DiscardEvents() { p.ctrl.discardEvents() }

// Recorded returns the path of the newest WAV the phone recorded of the
// audio it received (sndfile's dump-…-dec.wav, 16-bit PCM at the codec's
// rate), or "" if there is none yet. The file is complete once the call
// has closed; while the call runs its header may not have its final length
// yet (ReadWAV copes with that). sndfile names the files after the second
// the audio started: a second call started within the same second as the
// previous one overwrites its recording.
func (p *Phone) Recorded() string {
	files, _ := filepath.Glob(filepath.Join(p.sndDir, "dump-*-dec.wav"))
	var newest string
	var newestTime time.Time
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil && !fi.ModTime().Before(newestTime) {
			newest, newestTime = f, fi.ModTime()
		}
	}
	return newest
}

// Stop ends baresip: SIGTERM (it un-registers), SIGTERM again after 2 s (it
// can hang un-registering from a registrar that is gone), SIGKILL after 2 s
// more. It returns once baresip has exited; calling it again does nothing.
// t.Cleanup calls it. Stop phones before their registrar when a test cares
// about a clean exit.
func (p *Phone) Stop() {
	if p.done == nil { // never started
		return
	}
	select {
	case <-p.done:
	default:
	signals:
		for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGTERM, syscall.SIGKILL} {
			_ = p.cmd.Process.Signal(sig)
			select {
			case <-p.done:
				break signals
			case <-time.After(phoneStopGrace):
			}
		}
		<-p.done
	}
	if p.ctrl != nil {
		p.ctrl.close()
	}
}
