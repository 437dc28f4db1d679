// Command dialroom is the dialroom IP-PBX and WebRTC gateway.
//
//	dialroom serve [--config FILE] [--data DIR] [--http ADDR]
//	dialroom operator add|passwd|list|remove …
//
// Every command has --help. See README.md and docs/.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

const usage = `dialroom: IP-PBX and WebRTC gateway for operator-approved conferences.

Usage:
  dialroom serve [--config FILE] [--data DIR] [--http ADDR] [--sip ADDR]
  dialroom operator add LOGIN [--name NAME]    (password read from stdin)
  dialroom operator passwd LOGIN               (password read from stdin)
  dialroom operator list
  dialroom operator remove LOGIN
  dialroom dialplan check|route|dialout FILE …  (check a dialplan, try a call)
  dialroom version

Every command takes --config and --data so it acts on the database serve uses,
and --help for details.
`

// run dispatches a command line; it returns the process exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = runServe(args[1:], stdout, stderr)
	case "operator":
		err = runOperator(args[1:], stdin, stdout, stderr)
	case "dialplan":
		err = runDialplan(args[1:], stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "dialroom", version)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "dialroom: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	}
	fmt.Fprintln(stderr, "dialroom:", err)
	return 1
}

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// errUsage marks an error already explained to the user by a flag set.
var errUsage = errors.New("usage")

// commonFlags are the flags every command shares.
type commonFlags struct {
	config string
	data   string
}

func (c *commonFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.config, "config", "", "server configuration YAML (default: the embedded default)")
	fs.StringVar(&c.data, "data", "", "data directory holding dialroom.db (default: data_dir from the config, ./data)")
}

// parseFlags parses args, returning errUsage (already printed) on bad flags.
func parseFlags(fs *flag.FlagSet, args []string) error {
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage of dialroom %s:\n", fs.Name())
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	return nil
}

func runServe(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var common commonFlags
	common.register(fs)
	httpAddr := fs.String("http", "", "HTTP listen address (default: http.listen from the config, 127.0.0.1:8080)")
	sipAddr := fs.String("sip", "", "SIP listen address for UDP and TCP (default: sip.udp and sip.tcp from the config, 127.0.0.1:5060)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if addr := os.Getenv(pprofEnv); addr != "" {
		stopPprof, err := startPprof(addr)
		if err != nil {
			return err
		}
		defer stopPprof()
		fmt.Fprintf(stderr, "dialroom: profiler on http://%s/debug/pprof/\n", addr)
	}
	m := NewMain()
	m.ConfigPath, m.DataDir, m.HTTPAddr, m.SIPAddr = common.config, common.data, *httpAddr, *sipAddr
	m.Stdout, m.Stderr = stdout, stderr
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := m.Run(ctx); err != nil {
		m.Close()
		return err
	}
	<-ctx.Done()
	fmt.Fprintln(stderr, "dialroom: shutting down")
	return m.Close()
}

// parseInterspersed parses args with fs and returns the positional arguments,
// which may stand before, between or after the flags (Go's flag package stops
// at the first non-flag: "operator add bob --name Bob" would lose --name).
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return positional, nil
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
}
