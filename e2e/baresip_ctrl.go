package e2e

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"
)

// PhoneEvent is one event baresip reported over ctrl_tcp, such as
// {"event":true,"type":"CALL_ESTABLISHED","class":"call",...}.
type PhoneEvent struct {
	Type       string `json:"type"`       // REGISTER_OK, CALL_ESTABLISHED, CALL_CLOSED, CALL_DTMF_START …
	Class      string `json:"class"`      // "register", "call", …
	AccountAOR string `json:"accountaor"` // the account it concerns
	Direction  string `json:"direction"`  // "incoming" or "outgoing", for calls
	PeerURI    string `json:"peeruri"`    // the other party, for calls
	Param      string `json:"param"`      // e.g. the status line of a failure, or the DTMF digit
	// Raw is the whole event as baresip sent it.
	Raw json.RawMessage `json:"-"`
	// At is when the harness received it.
	At time.Time `json:"-"`
}

// String renders e for test logs.
func (e PhoneEvent) String() string {
	return fmt.Sprintf("%s %s %s %q", e.Type, e.Direction, e.PeerURI, e.Param)
}

// ctrlMessage is any message on ctrl_tcp: an event or a command response.
type ctrlMessage struct {
	Event    bool   `json:"event"`
	Response bool   `json:"response"`
	OK       bool   `json:"ok"`
	Data     string `json:"data"`
	Token    string `json:"token"`
}

// ctrlConn speaks baresip's ctrl_tcp protocol: JSON objects framed as
// netstrings ("LEN:JSON,") in both directions. One goroutine reads; any
// goroutine may send commands and wait for events.
type ctrlConn struct {
	conn net.Conn

	mu        sync.Mutex
	cond      *sync.Cond // signalled on every message and on close
	events    []PhoneEvent
	responses map[string]ctrlMessage
	nextToken int
	err       error // why the reader stopped; set once
}

func newCtrlConn(conn net.Conn) *ctrlConn {
	c := &ctrlConn{conn: conn, responses: map[string]ctrlMessage{}}
	c.cond = sync.NewCond(&c.mu)
	go c.read()
	return c
}

// read decodes messages until the connection ends.
func (c *ctrlConn) read() {
	r := bufio.NewReader(c.conn)
	var err error
	for {
		var msg []byte
		if msg, err = readNetstring(r); err != nil {
			break
		}
		var m ctrlMessage
		if err = json.Unmarshal(msg, &m); err != nil {
			err = fmt.Errorf("ctrl_tcp: %w in %q", err, msg)
			break
		}
		c.mu.Lock()
		switch {
		case m.Event:
			var e PhoneEvent
			if json.Unmarshal(msg, &e) == nil {
				e.Raw, e.At = msg, time.Now()
				c.events = append(c.events, e)
			}
		case m.Response:
			c.responses[m.Token] = m
		}
		c.cond.Broadcast()
		c.mu.Unlock()
	}
	c.mu.Lock()
	c.err = err
	c.cond.Broadcast()
	c.mu.Unlock()
}

// readNetstring reads one "LEN:DATA," frame.
func readNetstring(r *bufio.Reader) ([]byte, error) {
	head, err := r.ReadString(':')
	if err != nil {
		return nil, err
	}
	n, err := strconv.Atoi(head[:len(head)-1])
	if err != nil || n < 0 || n > 1<<20 {
		return nil, fmt.Errorf("ctrl_tcp: bad netstring length %q", head)
	}
	buf := make([]byte, n+1)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, err
	}
	if buf[n] != ',' {
		return nil, errors.New("ctrl_tcp: netstring not terminated by ','")
	}
	return buf[:n], nil
}

// command sends {"command":cmd,"params":params} and waits up to timeout for
// its response, returning the response's data; a response with ok=false is
// an error carrying the data.
func (c *ctrlConn) command(cmd, params string, timeout time.Duration) (string, error) {
	c.mu.Lock()
	c.nextToken++
	token := strconv.Itoa(c.nextToken)
	c.mu.Unlock()
	msg, err := json.Marshal(map[string]string{"command": cmd, "params": params, "token": token})
	if err != nil {
		return "", err
	}
	frame := append(strconv.AppendInt(nil, int64(len(msg)), 10), ':')
	frame = append(append(frame, msg...), ',')
	c.conn.SetWriteDeadline(time.Now().Add(timeout))
	if _, err := c.conn.Write(frame); err != nil {
		return "", fmt.Errorf("ctrl_tcp: sending %s: %w", cmd, err)
	}

	stop := time.AfterFunc(timeout, func() {
		c.mu.Lock()
		c.cond.Broadcast()
		c.mu.Unlock()
	})
	defer stop.Stop()
	deadline := time.Now().Add(timeout)
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		if m, ok := c.responses[token]; ok {
			delete(c.responses, token)
			if !m.OK {
				return m.Data, fmt.Errorf("ctrl_tcp: %s %s: failed: %s", cmd, params, m.Data)
			}
			return m.Data, nil
		}
		if c.err != nil {
			return "", fmt.Errorf("ctrl_tcp: %s: connection ended: %w", cmd, c.err)
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("ctrl_tcp: %s %s: no response within %v", cmd, params, timeout)
		}
		c.cond.Wait()
	}
}

// waitEvent removes and returns the oldest queued event of type typ, waiting
// up to timeout for one to arrive.
func (c *ctrlConn) waitEvent(typ string, timeout time.Duration) (PhoneEvent, error) {
	stop := time.AfterFunc(timeout, func() {
		c.mu.Lock()
		c.cond.Broadcast()
		c.mu.Unlock()
	})
	defer stop.Stop()
	deadline := time.Now().Add(timeout)
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		for i, e := range c.events {
			if e.Type == typ {
				c.events = append(c.events[:i:i], c.events[i+1:]...)
				return e, nil
			}
		}
		if c.err != nil {
			return PhoneEvent{}, fmt.Errorf("waiting for %s: connection ended: %w", typ, c.err)
		}
		if time.Now().After(deadline) {
			return PhoneEvent{}, fmt.Errorf("no %s within %v (queued: %v)", typ, timeout, c.events)
		}
		c.cond.Wait()
	}
}

// discardEvents drops every queued event.
func (c *ctrlConn) discardEvents() {
	c.mu.Lock()
	c.events = nil
	c.mu.Unlock()
}

// close ends the connection; the reader goroutine then stops.
func (c *ctrlConn) close() { c.conn.Close() }
