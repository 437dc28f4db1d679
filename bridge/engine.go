package bridge

import (
	"log/slog"
	"sync"
	"time"

	"github.com/dialroom/dialroom"
	"github.com/dialroom/dialroom/media"
)

// Config configures an Engine. Zero values take the defaults noted.
type Config struct {
	// LobbyTimeout is how long a guest may wait before the request times out;
	// 0 means 10 minutes (long enough for an operator finishing another call,
	// short enough that a forgotten phone guest does not hold a line for hours).
	LobbyTimeout time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Record receives a call record for every member session and every lobby
	// request that ended without admission. It is called with a room's lock held
	// and must not block (hand the record to a writer goroutine). Nil drops them.
	Record func(dialroom.CallRecord)
	// Metrics receives counters; nil means none.
	Metrics Metrics
	// Logger; nil means slog.Default().
	Logger *slog.Logger
	// Clock is the shared 20 ms media clock that drives every room's phone mix;
	// nil means the engine makes its own and closes it in Close.
	Clock *media.Clock
	// TickInterval is the housekeeping period (lobby timeouts, talking
	// indicator); 0 means 100 ms, fine enough for a talking light that feels live.
	TickInterval time.Duration
	// EncodeWorkers is how many goroutines encode phone voice for browsers
	// off the media clock's tick (browserencode.go); 0 encodes on the tick
	// itself, which keeps tests deterministic. The server uses one per core.
	EncodeWorkers int
	// PhoneVoice is the codec phone legs' voices reach browsers in: Opus
	// (the zero value) or G.711 μ-law (phonevoice.go).
	PhoneVoice PhoneVoice
	// RoomEnded is called once for each conference that ends, by End or
	// because everyone left, with its number, after the room is dropped and
	// without any lock held, on the goroutine that ended it. It must not
	// block (webclient deletes the conference's dropped files on a goroutine
	// of its own). Nil: nothing is called.
	RoomEnded func(number string)
}

// Metrics receives the engine's counters. Implementations must be cheap and safe
// for concurrent use (e.g. Prometheus collectors).
type Metrics interface {
	MemberJoined()
	MemberLeft()
	LobbyEntered()
	// LobbyLeft is called when a request leaves the lobby with outcome
	// "admitted", "declined", "abandoned", "timeout" or "ended".
	LobbyLeft(outcome string, waited time.Duration)
	// PhoneVoiceSent is called for each phone frame sent to a room's
	// browsers with the delay the server added: from the arrival of the
	// caller's packet to the write towards the browsers (jitter buffer,
	// tick phase, encoding). Only for legs whose PhoneAudio implements
	// PhoneFrameArrival, and not for concealed frames. It is called on the
	// media clock or an encode worker: it must be cheap.
	PhoneVoiceSent(added time.Duration)
}

// Engine owns the conferences of this node, one Room per issued number.
type Engine struct {
	cfg      Config
	metrics  metricsOrNop
	clock    *media.Clock
	ownClock bool
	encoders *encodeWorkers // nil: phone voice for browsers is encoded on the tick
	// spareEncoders are reset Opus encoders for phone legs that start
	// talking to browsers, shared by every room (roomaudio.go).
	spareEncoders encoderPool

	mu    sync.Mutex
	rooms map[string]*Room

	stop chan struct{}
	done chan struct{}
}

// NewEngine starts an engine and its housekeeping goroutine; Close stops it.
func NewEngine(cfg Config) *Engine {
	if cfg.LobbyTimeout == 0 {
		cfg.LobbyTimeout = 10 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.TickInterval == 0 {
		cfg.TickInterval = 100 * time.Millisecond
	}
	e := &Engine{cfg: cfg, metrics: metricsOrNop{cfg.Metrics}, rooms: map[string]*Room{},
		stop: make(chan struct{}), done: make(chan struct{}), clock: cfg.Clock}
	if e.clock == nil {
		e.clock, e.ownClock = media.NewClock(media.ClockConfig{}), true
	}
	if cfg.EncodeWorkers > 0 {
		e.encoders = startEncodeWorkers(cfg.EncodeWorkers)
	}
	go e.housekeep()
	return e
}

// Room returns the room of a live number, creating it on first use. The caller
// must have checked that the number is live (patent claim 2: the number is
// validated before anything reaches the operator).
func (e *Engine) Room(n *dialroom.Number, operatorName string) *Room {
	e.mu.Lock()
	defer e.mu.Unlock()
	if r, ok := e.rooms[n.Digits]; ok {
		return r
	}
	r := &Room{engine: e, number: n.Digits, operator: n.Operator, operatorName: operatorName}
	e.rooms[n.Digits] = r
	return r
}

// RequestJoin puts a guest in the lobby of a live number's room (see
// Room.RequestJoin), opening the room if needed.
func (e *Engine) RequestJoin(n *dialroom.Number, operatorName string, id dialroom.Identity, ep Endpoint) (*Request, error) {
	return inRoom(e, n, operatorName, func(r *Room) (*Request, error) { return r.RequestJoin(id, ep) })
}

// Host puts the number's operator in its room (see Room.Host), opening the room
// if needed.
func (e *Engine) Host(n *dialroom.Number, operatorName string, id dialroom.Identity, ep Endpoint) (*Member, error) {
	return inRoom(e, n, operatorName, func(r *Room) (*Member, error) { return r.Host(id, ep) })
}

// Enter puts a participant in a live number's room without the lobby (see
// Room.Enter), opening the room if needed.
func (e *Engine) Enter(n *dialroom.Number, operatorName string, id dialroom.Identity, ep Endpoint) (*Member, error) {
	return inRoom(e, n, operatorName, func(r *Room) (*Member, error) { return r.Enter(id, ep) })
}

// inRoom runs f on the number's room, opening it if needed, and runs it again
// on a fresh room if the one it got was closed for being empty meanwhile.
func inRoom[T any](e *Engine, n *dialroom.Number, operatorName string, f func(*Room) (T, error)) (T, error) {
	for {
		r := e.Room(n, operatorName)
		v, err := f(r)
		if !r.closedIdle(err) {
			return v, err
		}
	}
}

// Lookup returns the open room of a number, or nil.
func (e *Engine) Lookup(digits string) *Room {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.rooms[digits]
}

// EndRoom ends the room of a number, if one is open (e.g. the number was revoked).
func (e *Engine) EndRoom(digits, message string) {
	if r := e.Lookup(digits); r != nil {
		r.End(message)
	}
}

// Stats is a snapshot of the engine's size.
type Stats struct {
	Rooms, Members, Waiting int
}

// Stats returns the current number of rooms, members and waiting guests.
func (e *Engine) Stats() Stats {
	e.mu.Lock()
	rooms := make([]*Room, 0, len(e.rooms))
	for _, r := range e.rooms {
		rooms = append(rooms, r)
	}
	e.mu.Unlock()
	s := Stats{Rooms: len(rooms)}
	for _, r := range rooms {
		r.mu.Lock()
		s.Members += len(r.members)
		s.Waiting += len(r.lobby)
		r.mu.Unlock()
	}
	return s
}

// Close ends every room (members and waiting guests receive Ended) and stops the
// housekeeping goroutine. The engine must not be used afterwards.
func (e *Engine) Close() {
	select {
	case <-e.stop:
		return
	default:
	}
	close(e.stop)
	<-e.done
	e.mu.Lock()
	rooms := make([]*Room, 0, len(e.rooms))
	for _, r := range e.rooms {
		rooms = append(rooms, r)
	}
	e.mu.Unlock()
	for _, r := range rooms {
		r.End("The server is shutting down. Please join again in a moment.")
	}
	if e.ownClock {
		e.clock.Close()
	}
	if e.encoders != nil {
		e.encoders.stop() // every room has ended: nothing is left to encode
	}
}

// Clock returns the shared media clock, for adapters that play media (prompts,
// tones) before a leg is mixed.
func (e *Engine) Clock() *media.Clock { return e.clock }

// ClockStats reports the shared media clock's lateness and load.
func (e *Engine) ClockStats() media.ClockStats { return e.clock.Stats() }

func (e *Engine) housekeep() {
	defer close(e.done)
	t := time.NewTicker(e.cfg.TickInterval)
	defer t.Stop()
	for {
		select {
		case <-e.stop:
			return
		case <-t.C:
			e.tick()
		}
	}
}

func (e *Engine) tick() {
	now := e.now()
	e.mu.Lock()
	rooms := make([]*Room, 0, len(e.rooms))
	for _, r := range e.rooms {
		rooms = append(rooms, r)
	}
	e.mu.Unlock()
	for _, r := range rooms {
		r.tick(now, e.cfg.LobbyTimeout)
		if r.empty() {
			e.forgetIfEmpty(r)
		}
	}
}

func (e *Engine) now() time.Time { return e.cfg.Now() }

func (e *Engine) record(rec dialroom.CallRecord) {
	if e.cfg.Record != nil {
		e.cfg.Record(rec)
	}
}

// forget drops an ended room so a new conference on the same number starts fresh.
func (e *Engine) forget(r *Room) {
	e.mu.Lock()
	if e.rooms[r.number] == r {
		delete(e.rooms, r.number)
	}
	e.mu.Unlock()
	e.roomEnded(r.number)
}

// roomEnded calls Config.RoomEnded; the caller holds no lock.
func (e *Engine) roomEnded(number string) {
	if e.cfg.RoomEnded != nil {
		e.cfg.RoomEnded(number)
	}
}

// forgetIfEmpty drops a room nobody is in or waiting for. Checked under the
// engine lock then the room lock, the same order as everywhere, so a guest
// arriving concurrently either finds the room still registered or a new one.
func (e *Engine) forgetIfEmpty(r *Room) {
	e.mu.Lock()
	r.mu.Lock()
	empty := len(r.members) == 0 && len(r.lobby) == 0
	endsNow := empty && !r.ended
	if endsNow {
		r.ended = true
		r.idle = true
	}
	r.mu.Unlock()
	if empty && e.rooms[r.number] == r {
		delete(e.rooms, r.number)
	}
	e.mu.Unlock()
	if endsNow {
		e.roomEnded(r.number)
	}
}

type metricsOrNop struct{ m Metrics }

func (n metricsOrNop) memberJoined() {
	if n.m != nil {
		n.m.MemberJoined()
	}
}
func (n metricsOrNop) memberLeft() {
	if n.m != nil {
		n.m.MemberLeft()
	}
}
func (n metricsOrNop) lobbyEntered() {
	if n.m != nil {
		n.m.LobbyEntered()
	}
}
func (n metricsOrNop) lobbyLeft(outcome string, waited time.Duration) {
	if n.m != nil {
		n.m.LobbyLeft(outcome, waited)
	}
}
func (n metricsOrNop) phoneVoiceSent(added time.Duration) {
	if n.m != nil {
		n.m.PhoneVoiceSent(added)
	}
}
