package bridge_test

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/dialroom/dialroom"
	"github.com/dialroom/dialroom/bridge"
)

// chanEndpoint forwards the events a goroutine acts on to channels, dropping
// nothing it needs (the channels are large) and never blocking.
type chanEndpoint struct {
	requests chan string       // JoinRequested ids (operators)
	outcome  chan bridge.Event // Admitted, Declined, Ended, Removed
	tracks   chan *bridge.Track
}

func newChanEndpoint() *chanEndpoint {
	return &chanEndpoint{requests: make(chan string, 4096), outcome: make(chan bridge.Event, 8), tracks: make(chan *bridge.Track, 1024)}
}

func (c *chanEndpoint) Deliver(ev bridge.Event) {
	var ok bool
	switch ev := ev.(type) {
	case bridge.JoinRequested:
		select {
		case c.requests <- ev.Request.ID:
			ok = true
		default:
		}
	case bridge.Admitted, bridge.Declined, bridge.Ended, bridge.Removed:
		select {
		case c.outcome <- ev:
			ok = true
		default:
		}
	case bridge.TrackAdded:
		select {
		case c.tracks <- ev.Track:
		default: // a guest that stopped reading: fine to drop
		}
		return
	default:
		return
	}
	if !ok {
		panic(fmt.Sprintf("test endpoint overflow on %T", ev))
	}
}

// TestConcurrency runs operators admitting and declining, guests joining,
// publishing, subscribing, talking and leaving, lone guests whose rooms open
// and close under them, and readers of the engine's state, all at once. Under
// -race it must finish without a race, a deadlock or a lost event.
func TestConcurrency(t *testing.T) {
	const (
		rooms      = 3
		guests     = 6 // per room
		iterations = 15
	)
	e := newEngine(t, bridge.Config{Now: time.Now, TickInterval: time.Millisecond})
	stop := make(chan struct{})
	var wg, workers sync.WaitGroup
	errs := make(chan error, 1024)
	report := func(format string, args ...any) {
		select {
		case errs <- fmt.Errorf(format, args...):
		default:
		}
	}

	ops := make([]*bridge.Member, rooms)
	for i := range rooms {
		n := testNumber(fmt.Sprintf("060880000%02d", i))
		ep := newChanEndpoint()
		op, err := e.Host(n, operatorName, operatorID(), ep)
		if err != nil {
			t.Fatal(err)
		}
		ops[i] = op

		// The operator admits every other request and declines the rest.
		wg.Add(1)
		go func() {
			defer wg.Done()
			k := 0
			for {
				select {
				case <-stop:
					return
				case id := <-ep.requests:
					var err error
					if k++; k%3 == 0 {
						err = op.Decline(id)
					} else {
						_, err = op.Admit(id)
					}
					if err != nil && dialroom.ErrorCode(err) != dialroom.ENOTFOUND {
						report("operator %d: %v", i, err)
					}
				}
			}
		}()
		// The operator mutes and unmutes whoever is in.
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; ; k++ {
				select {
				case <-stop:
					return
				default:
				}
				for _, m := range op.Room().Members() {
					if m.ID != op.ID() {
						_ = op.Mute(m.ID, k%2 == 0) // the member may have left meanwhile
					}
				}
				runtime.Gosched()
			}
		}()

		for g := range guests {
			workers.Add(1)
			go func() {
				defer workers.Done()
				for it := range iterations {
					guestSession(n, e, fmt.Sprintf("g%d-%d", g, it), it%4 == 3, report)
				}
			}()
		}
	}

	// Lone guests on a number without an operator: each withdrawal may empty
	// the room while another guest is about to join it (Engine.RequestJoin's
	// retry path). No join may fail.
	lone := testNumber("06088009999")
	for g := range 4 {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for it := range 50 {
				q, err := e.RequestJoin(lone, operatorName, guestID(fmt.Sprintf("lone%d-%d", g, it), "192.0.2.200"), newChanEndpoint())
				if err != nil {
					report("lone RequestJoin: %v", err)
					return
				}
				q.Withdraw()
			}
		}()
	}

	// Readers of the engine's state.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			s := e.Stats()
			if s.Rooms < 0 || s.Members < 0 || s.Waiting < 0 {
				report("Stats = %+v", s)
			}
			for _, op := range ops {
				_ = op.Room().Lobby()
			}
			runtime.Gosched()
		}
	}()

	finished := make(chan struct{})
	go func() { workers.Wait(); close(stop); wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(60 * time.Second):
		buf := make([]byte, 1<<20)
		t.Fatalf("deadlock: not finished after 60 s\n%s", buf[:runtime.Stack(buf, true)])
	}
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	if got, want := e.Stats(), (bridge.Stats{Rooms: rooms, Members: rooms}); got != want {
		t.Errorf("Stats after every guest left = %+v, want %+v (only the operators)", got, want)
	}
	for _, op := range ops {
		if err := op.EndRoom(); err != nil {
			t.Error(err)
		}
	}
	if got := e.Stats(); got != (bridge.Stats{}) {
		t.Errorf("Stats after ending every room = %+v", got)
	}
}

// guestSession is one guest's visit: ask to join, maybe give up at once,
// otherwise wait for the decision; once in, publish audio, subscribe to what is
// offered, talk a little and leave.
func guestSession(n *dialroom.Number, e *bridge.Engine, name string, withdraw bool, report func(string, ...any)) {
	ep := newChanEndpoint()
	q, err := e.RequestJoin(n, operatorName, guestID(name, "192.0.2.100"), ep)
	if err != nil {
		report("%s: RequestJoin: %v", name, err)
		return
	}
	if withdraw {
		// The operator may have decided first: Withdraw is then a no-op and
		// the decision is already queued (it was delivered before Withdraw
		// could take the room's lock). An admitted guest who gave up leaves,
		// as an adapter must, or they would stay in the room as a ghost.
		q.Withdraw()
		select {
		case ev := <-ep.outcome:
			if ad, ok := ev.(bridge.Admitted); ok {
				ad.Member.Leave("left")
			}
		default:
		}
		return
	}
	var ev bridge.Event
	select {
	case ev = <-ep.outcome:
	case <-time.After(20 * time.Second):
		report("%s: no decision on %s", name, q.ID())
		q.Withdraw()
		return
	}
	switch ev := ev.(type) {
	case bridge.Declined:
		return
	case bridge.Admitted:
		m := ev.Member
		tr := m.Publish(bridge.TrackSpec{Kind: bridge.KindAudio, Codec: opus, AudioLevelExtID: 1})
		var unsubs []func()
		s := &discard{}
		for seq := range uint16(20) {
			select {
			case other := <-ep.tracks:
				unsubs = append(unsubs, other.Subscribe(s))
				other.RequestKeyframe()
			default:
			}
			tr.WriteRTP(audioPacketNoTB(seq))
		}
		for _, u := range unsubs {
			u()
		}
		if len(unsubs)%2 == 0 {
			tr.Close() // sometimes before leaving, sometimes by leaving
		}
		m.Leave("left")
	default:
		report("%s: unexpected outcome %T", name, ev)
	}
}

// audioPacketNoTB is a voiced audioPacket, for goroutines without a testing.TB.
func audioPacketNoTB(seq uint16) *rtp.Packet {
	p := &rtp.Packet{}
	p.Version = 2
	p.PayloadType = 111
	p.SequenceNumber = seq
	p.Payload = []byte{1, 2, 3}
	p.Extension = true
	p.ExtensionProfile = 0xBEDE
	_ = p.SetExtension(1, []byte{0x80 | 25})
	return p
}
