package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/coder/websocket"
)

// Pointer mode: server CPU and relay latency for one room whose presenter
// moves the shared pointer (docs/benchmarks.md, "Materials: pointer relay").
// Members speak signalling only: they never answer the server's offers, since
// material_pointer travels over the WebSocket and no media is needed. The
// operator presents; every move's x carries its sequence number (pointerX),
// the send times stay in this process, so latency needs no clock sync.

// pointerIdle is the quiet window measured before the moves start.
const pointerIdle = 5 * time.Second

// material is the part of the API's material object pointer mode reads.
type material struct {
	ID    string `json:"id"`
	State string `json:"state"`
	Error string `json:"error"`
}

// pointerOut is a client → server message of pointer mode.
type pointerOut struct {
	Type     string   `json:"type"`
	Number   string   `json:"number,omitempty"`
	Name     string   `json:"name,omitempty"`
	Request  string   `json:"request,omitempty"`
	Material string   `json:"material,omitempty"`
	X        *float64 `json:"x,omitempty"`
	Y        *float64 `json:"y,omitempty"`
}

// pointerIn is a server → client message, as far as pointer mode reads it.
type pointerIn struct {
	Type    string          `json:"type"`
	Request json.RawMessage `json:"request"`
	X       float64         `json:"x"`
	Code    string          `json:"code"`
	Message string          `json:"message"`
}

// uploadMaterial puts a one-page PDF into the operator's library and waits
// until it is converted.
func uploadMaterial(ctx context.Context, api *apiClient) (string, error) {
	u := api.base.JoinPath("/api/materials")
	u.RawQuery = "name=pointer.pdf"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(onePagePDF()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/pdf")
	req.Header.Set("Origin", api.base.String())
	resp, err := api.http.Do(req)
	if err != nil {
		return "", fmt.Errorf("upload: %w", err)
	}
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return "", fmt.Errorf("upload: HTTP %s: %s", resp.Status, data)
	}
	var mat material
	if err := json.Unmarshal(data, &mat); err != nil || mat.ID == "" {
		return "", fmt.Errorf("upload: answer has no material id")
	}
	deadline := time.Now().Add(60 * time.Second)
	for mat.State != "ready" {
		if mat.State == "failed" {
			return "", fmt.Errorf("conversion failed: %s", mat.Error)
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("material not ready after 60s (state %q)", mat.State)
		}
		time.Sleep(200 * time.Millisecond)
		if err := api.call(ctx, http.MethodGet, "/api/materials/"+mat.ID, nil, http.StatusOK, &mat); err != nil {
			return "", err
		}
	}
	return mat.ID, nil
}

// runPointer runs pointer mode and prints its report to out.
func runPointer(ctx context.Context, cfg Config, out, stderr io.Writer, log *slog.Logger) error {
	tg, err := resolveTarget(ctx, cfg, stderr, log)
	if err != nil {
		return err
	}
	if tg.spawned != nil {
		defer tg.spawned.Stop()
	}
	opHTTP := newHTTPClient(true)
	api := &apiClient{base: tg.base, http: opHTTP}
	login := cfg.Login
	if cfg.Spawn {
		login = "admin"
	}
	if err := api.login(ctx, login, tg.password); err != nil {
		return fmt.Errorf("log in as %q: %w", login, err)
	}
	matID, err := uploadMaterial(ctx, api)
	if err != nil {
		return err
	}
	num, err := api.issueNumber(ctx)
	if err != nil {
		return err
	}
	wsURL, origin := "ws://"+tg.base.Host+"/ws", tg.base.String()
	op, err := dialPointerMember(ctx, wsURL, origin, opHTTP, "operator", true, log)
	if err != nil {
		return err
	}
	members := []*pointerMember{op}
	defer func() {
		for _, m := range members {
			_ = m.conn.Close(websocket.StatusNormalClosure, "")
		}
	}()
	if err := op.write(pointerOut{Type: "host", Number: num.Number}); err != nil {
		return err
	}
	if err := waitAll(ctx, members, func(m *pointerMember) chan struct{} { return m.inRoom }, "hosting", 10*time.Second); err != nil {
		return err
	}
	guestHTTP := newHTTPClient(false)
	for i := 1; i < cfg.PointerMembers; i++ {
		g, err := dialPointerMember(ctx, wsURL, origin, guestHTTP, fmt.Sprintf("guest-%d", i), false, log)
		if err != nil {
			return err
		}
		members = append(members, g)
		if err := g.write(pointerOut{Type: "join", Number: num.Formatted, Name: g.name}); err != nil {
			return err
		}
	}
	if err := waitAll(ctx, members, func(m *pointerMember) chan struct{} { return m.inRoom }, "admission", 30*time.Second); err != nil {
		return err
	}
	if err := op.write(pointerOut{Type: "material_select", Material: matID}); err != nil {
		return err
	}
	if err := waitAll(ctx, members, func(m *pointerMember) chan struct{} { return m.selected }, "material_selected", 10*time.Second); err != nil {
		return err
	}
	log.Info("room ready", "members", len(members), "material", matID)
	kctx, stopPings := context.WithCancel(ctx)
	defer stopPings()
	go pingMembers(kctx, members)

	// Quiet window: the room with the document shown, nobody moving.
	idle0, err := takeSample(tg.pid)
	if err != nil {
		return err
	}
	time.Sleep(pointerIdle)
	idle1, err := takeSample(tg.pid)
	if err != nil {
		return err
	}

	// Pointer window.
	n := cfg.PointerRate * int(cfg.Duration/time.Second)
	if n > pointerScale {
		n = pointerScale
	}
	sent := make([]time.Time, n+1) // by sequence number, from 1
	y := 0.5
	s0, err := takeSample(tg.pid)
	if err != nil {
		return err
	}
	tick := time.NewTicker(time.Second / time.Duration(cfg.PointerRate))
	for seq := 1; seq <= n; seq++ {
		<-tick.C
		x := pointerX(seq)
		sent[seq] = time.Now()
		if err := op.write(pointerOut{Type: "material_pointer", X: &x, Y: &y}); err != nil {
			tick.Stop()
			return fmt.Errorf("pointer move %d: %w", seq, err)
		}
	}
	tick.Stop()
	s1, err := takeSample(tg.pid)
	if err != nil {
		return err
	}
	time.Sleep(drainTime)
	printPointer(out, cfg, members, sent, [2]sample{idle0, idle1}, [2]sample{s0, s1})
	return nil
}

// pingMembers keeps the members' sockets from the server's idle timeout (60 s)
// as the browsers do: guests send nothing else.
func pingMembers(ctx context.Context, members []*pointerMember) {
	everyKeepalive(ctx, func() {
		for _, m := range members {
			_ = m.write(pointerOut{Type: "ping"})
		}
	})
}

// cpuPct is the server's CPU over [a, b] in % of one core, the load
// generator's likewise, and the whole machine's busy share in %.
func cpuPct(a, b sample) (server, self, machine float64) {
	wall := b.at.Sub(a.at).Seconds()
	server = (b.serverCPU - a.serverCPU).Seconds() / wall * 100
	self = (b.selfCPU - a.selfCPU).Seconds() / wall * 100
	if dt := b.machine.total - a.machine.total; dt > 0 {
		machine = float64(b.machine.busy-a.machine.busy) / float64(dt) * 100
	}
	return server, self, machine
}

// printPointer writes the report: CPU, per-receiver counts and order, and
// relay latency over every receiver.
func printPointer(out io.Writer, cfg Config, members []*pointerMember, sent []time.Time, idle, win [2]sample) {
	n := len(sent) - 1
	is, iself, imach := cpuPct(idle[0], idle[1])
	ws, wself, wmach := cpuPct(win[0], win[1])
	fmt.Fprintf(out, "pointer relay: %d members (operator presenting, %d receivers), %d moves at %d/s over %.1f s\n",
		len(members), len(members)-1, n, cfg.PointerRate, win[1].at.Sub(win[0].at).Seconds())
	fmt.Fprintf(out, "server CPU: %.2f %% of a core while moving (idle room %.2f %%); RSS %.1f MiB\n",
		ws, is, float64(win[1].serverRSS)/(1<<20))
	fmt.Fprintf(out, "load generator CPU: %.1f %% (idle %.1f %%); machine busy: %.0f %% moving, %.0f %% idle window (%d cores)\n",
		wself, iself, wmach, imach, win[1].machine.cores)
	var lat []time.Duration
	total := 0
	for _, m := range members[1:] {
		m.mu.Lock()
		arr := append([]arrival(nil), m.arrivals...)
		errs := len(m.errs)
		m.mu.Unlock()
		inOrder, last := true, 0
		for _, a := range arr {
			if a.seq <= last {
				inOrder = false
			}
			last = a.seq
			if a.seq >= 1 && a.seq <= n {
				lat = append(lat, a.at.Sub(sent[a.seq]))
			}
		}
		total += len(arr)
		fmt.Fprintf(out, "  %-9s received %d/%d, in order %v, errors %d\n", m.name, len(arr), n, inOrder, errs)
	}
	p50, p99, maxD := durationQuantiles(lat)
	want := n * (len(members) - 1)
	fmt.Fprintf(out, "received %d of %d (%.2f %%; a move not received was overtaken: latest wins); "+
		"relay latency median %.2f ms, p99 %.2f ms, max %.2f ms\n",
		total, want, 100*float64(total)/float64(max(1, want)), ms(p50), ms(p99), ms(maxD))
	if wall := win[1].at.Sub(win[0].at).Seconds(); total > 0 {
		// Above the idle room: what the moves themselves cost.
		perMsg := (ws - is) / 100 * wall / float64(total) * 1e6
		fmt.Fprintf(out, "server CPU above the idle room: %.0f µs per delivered move\n", perMsg)
	}
	if cfg.Markdown {
		fmt.Fprintf(out, "| %d | %d | %.2f %% | %.2f %% | %d/%d | %.2f ms | %.2f ms | %.2f ms | %.0f %% |\n",
			len(members), n, ws, is, total, n*(len(members)-1), ms(p50), ms(p99), ms(maxD), wmach)
	}
}

// ms is d in milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
