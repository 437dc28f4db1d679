package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// The members of pointer mode (pointerrun.go): signalling only, no peer
// connection; the server's offers go unanswered.

// arrival is one relayed move as a receiver saw it.
type arrival struct {
	seq int
	at  time.Time
}

// pointerMember is one WebSocket-only member. Its reader goroutine owns
// arrivals until done is closed.
type pointerMember struct {
	name     string
	operator bool
	conn     *websocket.Conn
	inRoom   chan struct{} // closed on hosting or admitted
	selected chan struct{} // closed on material_selected
	done     chan struct{} // closed when the reader ends
	log      *slog.Logger

	mu       sync.Mutex
	arrivals []arrival
	errs     []string
}

// dialPointerMember opens the member's socket and starts its reader.
func dialPointerMember(ctx context.Context, wsURL, origin string, hc *http.Client, name string,
	operator bool, log *slog.Logger) (*pointerMember, error) {
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(dctx, wsURL, &websocket.DialOptions{
		HTTPClient: hc, HTTPHeader: http.Header{"Origin": {origin}}})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	conn.SetReadLimit(1 << 20)
	m := &pointerMember{name: name, operator: operator, conn: conn, log: log,
		inRoom: make(chan struct{}), selected: make(chan struct{}), done: make(chan struct{})}
	go m.read()
	return m, nil
}

// write sends one message; coder/websocket serialises concurrent writers.
func (m *pointerMember) write(msg pointerOut) error {
	data, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return m.conn.Write(ctx, websocket.MessageText, data)
}

// read handles server messages until the socket closes.
func (m *pointerMember) read() {
	defer close(m.done)
	var inOnce, selOnce sync.Once
	for {
		_, data, err := m.conn.Read(context.Background())
		at := time.Now()
		if err != nil {
			return
		}
		var in pointerIn
		if json.Unmarshal(data, &in) != nil {
			m.problem("not a JSON message")
			continue
		}
		switch in.Type {
		case "material_pointer":
			m.mu.Lock()
			m.arrivals = append(m.arrivals, arrival{seq: pointerSeq(in.X), at: at})
			m.mu.Unlock()
		case "hosting", "admitted":
			inOnce.Do(func() { close(m.inRoom) })
		case "material_selected":
			selOnce.Do(func() { close(m.selected) })
		case "join_request":
			var q lobbyRequest
			if json.Unmarshal(in.Request, &q) == nil && q.ID != "" && m.operator {
				_ = m.write(pointerOut{Type: "admit", Request: q.ID})
			}
		case "error", "declined", "removed", "ended":
			m.problem(in.Type + ": " + in.Code + " " + in.Message)
		}
	}
}

// problem records an unexpected message.
func (m *pointerMember) problem(s string) {
	m.mu.Lock()
	m.errs = append(m.errs, s)
	m.mu.Unlock()
	m.log.Warn("pointer member", "member", m.name, "problem", s)
}

// waitAll waits until ch(m) is closed for every member, or timeout.
func waitAll(ctx context.Context, members []*pointerMember, ch func(*pointerMember) chan struct{},
	what string, timeout time.Duration) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for _, m := range members {
		select {
		case <-ch(m):
		case <-m.done:
			return fmt.Errorf("%s: socket closed before %s", m.name, what)
		case <-t.C:
			return fmt.Errorf("%s: no %s within %v", m.name, what, timeout)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}
