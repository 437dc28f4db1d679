package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// clientEnv is what every simulated browser shares. It is read-only once the
// first client starts, apart from plan, which is published once.
type clientEnv struct {
	api          *webrtc.API
	operatorHTTP *http.Client // carries the operator's session cookie
	guestHTTP    *http.Client
	wsURL        string // ws://127.0.0.1:PORT/ws
	origin       string // what a browser on the server's own page sends
	plan         *atomic.Pointer[windowPlan]
	windows      int // measurement windows of all steps together
	log          *slog.Logger

	// Phone mode (phonerun.go): opus, when set, is what every client sends
	// instead of stamped random payloads (real Opus, since the server decodes
	// browser audio for the phone mix); onAudio, when set, receives every
	// audio packet instead of the stamp counting, on the track's reader
	// goroutine, with the sending member's id.
	opus    [][]byte
	onAudio func(c *client, member string, pkt *rtp.Packet, at time.Time)
}

// client is one simulated browser participant: a signalling WebSocket and a
// pion peer connection that answers the server's offers, sends Opus-sized
// audio (and optionally VP8-sized video) when the pacer ticks, and counts what
// it receives from every other member.
//
// Goroutines: the reader (read) owns the signalling state and the peer's
// negotiation; pion's callbacks only write to the socket, flip connected or
// start one receive loop per remote track; the pacer goroutine alone calls
// sendTick. Fields under mu are shared with the coordinator.
type client struct {
	env      *clientEnv
	room     *room
	index    int // position in the room; 0 is the operator
	name     string
	operator bool
	talker   bool

	conn  *websocket.Conn
	pc    *webrtc.PeerConnection
	audio *outStream
	video *outStream // nil when this member sends no video

	live      atomic.Bool   // start succeeded: conn and pc are set
	connected atomic.Bool   // the peer connection is up (DTLS done, SRTP keyed)
	inRoom    chan struct{} // closed on hosting or admitted
	inOnce    sync.Once
	done      chan struct{} // closed when the reader ends

	mu          sync.Mutex
	self        string            // member id from hosting or admitted
	streams     map[string]string // MediaStream id → member id (tracks messages)
	announced   int               // streams in the last tracks message (all the server sends us)
	negotiated  int               // announced when the last offer was answered
	recv        map[streamKey]*streamCount
	lastTalking []string
	errs        []string // protocol error messages received
	endCause    error
}

// newClient prepares a participant; start connects it.
func newClient(env *clientEnv, r *room, index int, talker, video bool) *client {
	c := &client{env: env, room: r, index: index, operator: index == 0, talker: talker,
		name:   fmt.Sprintf("load-r%d-m%d", r.index+1, index+1),
		inRoom: make(chan struct{}), done: make(chan struct{}),
		streams: map[string]string{}, recv: map[streamKey]*streamCount{}}
	c.audio = newOutStream(kindAudio, env.windows)
	if video {
		c.video = newOutStream(kindVideo, env.windows)
	}
	return c
}

// start opens the WebSocket and the peer connection and sends host (operator)
// or join (guest). It returns once the request is on its way; the reader takes
// it from there.
func (c *client) start(ctx context.Context) error {
	hc := c.env.guestHTTP
	if c.operator {
		hc = c.env.operatorHTTP
	}
	dialCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(dialCtx, c.env.wsURL, &websocket.DialOptions{
		HTTPClient: hc, HTTPHeader: http.Header{"Origin": {c.env.origin}}})
	if err != nil {
		return fmt.Errorf("%s: %w", c.name, err)
	}
	// An offer grows by about 600 bytes per forwarded track; the server's own
	// limit on what we send is 64 KiB.
	conn.SetReadLimit(1 << 20)
	c.conn = conn
	if err := c.newPeer(); err != nil {
		conn.Close(websocket.StatusInternalError, "")
		return fmt.Errorf("%s: %w", c.name, err)
	}
	go c.read()
	c.live.Store(true)
	if c.operator {
		return c.write(outMsg{Type: "host", Number: c.room.number.Number})
	}
	return c.write(outMsg{Type: "join", Number: c.room.number.Formatted, Name: c.name})
}

// newPeer creates the peer connection with the local tracks already added, as
// a browser that got microphone (and camera) access before answering.
func (c *client) newPeer() error {
	pc, err := c.env.api.NewPeerConnection(webrtc.Configuration{}) // no STUN/TURN: loopback only
	if err != nil {
		return err
	}
	c.pc = pc
	for _, s := range []*outStream{c.audio, c.video} {
		if s == nil {
			continue
		}
		if err := s.attach(pc, c.name); err != nil {
			_ = pc.Close()
			return err
		}
	}
	pc.OnICECandidate(func(cand *webrtc.ICECandidate) {
		if cand == nil {
			_ = c.write(endOfCandidates{Type: "candidate"})
			return
		}
		init := cand.ToJSON()
		_ = c.write(outMsg{Type: "candidate", Candidate: &init})
	})
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		c.connected.Store(st == webrtc.PeerConnectionStateConnected)
		c.env.log.Debug("peer state", "client", c.name, "state", st.String())
	})
	pc.OnTrack(c.receive) // pion runs this on a goroutine of its own per track
	return nil
}

// write sends one message; coder/websocket serialises concurrent writers.
func (c *client) write(msg any) error {
	data, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return c.conn.Write(ctx, websocket.MessageText, data)
}

// read handles server messages in order until the socket closes.
func (c *client) read() {
	defer close(c.done)
	for {
		typ, data, err := c.conn.Read(context.Background())
		if err != nil {
			c.end(err)
			return
		}
		var m inMsg
		if typ != websocket.MessageText || json.Unmarshal(data, &m) != nil {
			c.protocolError("server sent a frame that is not a JSON message")
			continue
		}
		c.env.log.Debug("received", "client", c.name, "type", m.Type)
		c.handle(m)
	}
}

// handle acts on one server message (docs/protocol.md, server → client).
func (c *client) handle(m inMsg) {
	switch m.Type {
	case "hosting":
		c.entered(m.Self)
		for _, q := range m.Lobby {
			_ = c.write(outMsg{Type: "admit", Request: q.ID})
		}
	case "admitted":
		c.entered(m.Self)
	case "join_request":
		var q lobbyRequest
		if json.Unmarshal(m.Request, &q) != nil || q.ID == "" {
			c.protocolError("join_request without a request object")
			return
		}
		_ = c.write(outMsg{Type: "admit", Request: q.ID})
	case "tracks":
		c.mu.Lock()
		for stream, member := range m.Streams {
			c.streams[stream] = member
		}
		c.announced = len(m.Streams)
		c.mu.Unlock()
	case "offer":
		// The server sends the tracks message right before its offer
		// (webclient peer.flush): once answered, those tracks are ours.
		if err := c.answer(m.SDP); err != nil {
			c.protocolError("cannot answer the offer: " + err.Error())
			return
		}
		c.mu.Lock()
		c.negotiated = c.announced
		c.mu.Unlock()
	case "candidate":
		// The remote IP filter (peer.go) drops anything not on loopback.
		if m.Candidate != nil && m.Candidate.Candidate != "" {
			if err := c.pc.AddICECandidate(*m.Candidate); err != nil {
				c.env.log.Debug("candidate refused", "client", c.name, "err", err)
			}
		}
	case "talking":
		var ids []string
		_ = json.Unmarshal(m.Members, &ids)
		c.mu.Lock()
		c.lastTalking = ids
		c.mu.Unlock()
	case "error":
		c.protocolError(m.Code + ": " + m.Message)
	case "declined", "removed", "ended":
		c.end(fmt.Errorf("%s: %s", m.Type, m.Message))
	}
}

// entered records the member id and wakes whoever waits for it.
func (c *client) entered(self *identification) {
	if self == nil || self.ID == "" {
		c.protocolError("hosting/admitted without self")
		return
	}
	c.mu.Lock()
	c.self = self.ID
	c.mu.Unlock()
	c.inOnce.Do(func() { close(c.inRoom) })
}

// answer applies a server offer and sends the answer. The local tracks were
// added before the first offer, so the first answer is sendonly for them
// (the server's m-lines are recvonly) and later ones add recvonly m-lines for
// every forwarded track.
func (c *client) answer(offer string) error {
	if err := c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return err
	}
	ans, err := c.pc.CreateAnswer(nil)
	if err != nil {
		return err
	}
	if err := c.pc.SetLocalDescription(ans); err != nil {
		return err
	}
	if c.audio.extID.Load() == 0 {
		for _, e := range c.audio.sender.GetParameters().HeaderExtensions {
			if e.URI == sdp.AudioLevelURI {
				c.audio.extID.Store(uint32(e.ID))
			}
		}
	}
	return c.write(outMsg{Type: "answer", SDP: ans.SDP})
}

// receive counts one remote track's packets per window until it ends. It is
// the track's only reader.
func (c *client) receive(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	kind := t.Kind().String()
	c.mu.Lock()
	member := c.streams[t.StreamID()]
	if member == "" {
		member = t.StreamID() // the server uses the member id as stream id
	}
	key := streamKey{member: member, kind: kind}
	sc := c.recv[key]
	if sc == nil {
		sc = newStreamCount(c.env.windows)
		c.recv[key] = sc
	}
	c.mu.Unlock()
	parts := partsOf(kind)

	buf := make([]byte, 1500) // one MTU
	var pkt rtp.Packet
	if kind == kindAudio && c.env.onAudio != nil {
		for {
			n, _, err := t.Read(buf)
			if err != nil {
				return
			}
			if pkt.Unmarshal(buf[:n]) == nil {
				c.env.onAudio(c, member, &pkt, time.Now())
			}
		}
	}
	var seen bitset
	var seenPlan *windowPlan // the plan seen is sized for
	for {
		n, _, err := t.Read(buf)
		if err != nil {
			return
		}
		if pkt.Unmarshal(buf[:n]) != nil {
			continue
		}
		tick, part, ok := readStamp(pkt.Payload)
		if !ok || int(part) >= parts {
			sc.foreign.Add(1)
			continue
		}
		plan := c.env.plan.Load()
		w := plan.index(tick)
		if w < 0 {
			continue
		}
		if plan != seenPlan {
			seen, seenPlan = newBitset(int(plan.Ticks)*plan.Count*parts), plan
		}
		if !seen.add(int(tick-plan.Start)*parts + int(part)) {
			sc.dups.Add(1)
			continue
		}
		sc.windows[w].Add(1)
	}
}

// sendTick sends this tick's packets. Only the pacer goroutine calls it.
func (c *client) sendTick(tick uint32, win int, size int) {
	if !c.connected.Load() {
		return
	}
	level := uint8(audioLevelSilent)
	if c.talker {
		level = audioLevelTalking
	}
	if c.env.opus != nil {
		c.audio.writeFrame(tick, level, c.env.opus[int(tick)%len(c.env.opus)])
	} else {
		c.audio.writeAudio(tick, win, level, size)
	}
	if c.video != nil {
		c.video.writeVideo(tick, win)
	}
}

// started reports whether start succeeded.
func (c *client) started() bool { return c.live.Load() }

// selfID returns the member id, "" before hosting or admitted.
func (c *client) selfID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.self
}

// negotiatedStreams returns how many remote streams the client's last
// answered offer carried.
func (c *client) negotiatedStreams() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.negotiated
}

// missing returns how many of the expected streams this client has not
// received a packet of yet.
func (c *client) missing(expected []streamKey) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, k := range expected {
		if c.recv[k] == nil {
			n++
		}
	}
	return n
}

// count returns the counter of one remote stream, nil if none arrived.
func (c *client) count(k streamKey) *streamCount {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.recv[k]
}

// protocolError records an error the server reported or a message we could not use.
func (c *client) protocolError(msg string) {
	c.env.log.Debug("protocol error", "client", c.name, "msg", msg)
	c.mu.Lock()
	c.errs = append(c.errs, msg)
	c.mu.Unlock()
}

// protocolErrors returns the protocol errors recorded so far.
func (c *client) protocolErrors() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.errs...)
}

// talkingSeen returns the member ids of the last talking message.
func (c *client) talkingSeen() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.lastTalking...)
}

// end records the first reason the session ended.
func (c *client) end(cause error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.endCause == nil {
		c.endCause = cause
	}
}

// ended returns why the session ended, nil while it runs.
func (c *client) ended() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.endCause
}

// errLeaving marks the end we caused.
var errLeaving = errors.New("left")

// close leaves the conference and releases the socket and the peer. Safe to
// call on a client that never started.
func (c *client) close() {
	if c.conn == nil {
		return
	}
	c.end(errLeaving)
	_ = c.write(outMsg{Type: "leave"})
	if c.pc != nil {
		_ = c.pc.Close()
	}
	c.conn.Close(websocket.StatusNormalClosure, "")
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
	}
}
