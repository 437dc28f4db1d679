package main

import (
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
)

// pprofEnv names the environment variable that turns on the Go profiler for
// load runs (docs/benchmarks.md): DIALROOM_PPROF=127.0.0.1:6060 serves
// /debug/pprof/ there. It is off by default and refuses anything but a
// loopback address: profiles show internals no network peer should see.
const pprofEnv = "DIALROOM_PPROF"

// startPprof serves the profiler on addr until the returned stop is called.
func startPprof(addr string) (stop func(), err error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil || !ap.Addr().IsLoopback() {
		return nil, fmt.Errorf("%s=%q: want a loopback host:port such as 127.0.0.1:6060", pprofEnv, addr)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: mux}
	// The profiler is a debugging aid: if it fails the server runs on.
	go func() { _ = srv.Serve(l) }()
	return func() { _ = srv.Close() }, nil
}
