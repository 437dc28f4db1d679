package media

import (
	"fmt"
	"net"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// BenchmarkEndpointReceive measures what receiving costs the process the way
// phone legs receive: legs endpoints, each sent one 172-byte packet per 20 ms
// frame (one b.N iteration is one frame, paced in real time so that the
// receivers sleep between packets as they do in a call). It reports the
// CPU time the process spent receiving per packet (user+system from
// getrusage, less the sending thread's own, which on loopback also carries
// the kernel's delivery of each datagram) and the goroutines per endpoint,
// with a reader goroutine per endpoint and with a Poller.
func BenchmarkEndpointReceive(b *testing.B) {
	for _, legs := range []int{100, 400} {
		for _, polled := range []bool{false, true} {
			name := fmt.Sprintf("legs=%d/goroutine", legs)
			if polled {
				name = fmt.Sprintf("legs=%d/poller", legs)
			}
			b.Run(name, func(b *testing.B) { benchReceive(b, legs, polled) })
		}
	}
}

func benchReceive(b *testing.B, legs int, polled bool) {
	var poller *Poller
	if polled {
		c := NewClock(ClockConfig{})
		defer c.Close()
		p, err := NewPoller(PollerConfig{Clock: c})
		if err != nil {
			b.Fatal(err)
		}
		defer p.Close()
		poller = p
	}
	before := runtime.NumGoroutine()
	var got atomic.Int64
	sender, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer sender.Close()
	ports := testPorts(b, legs)
	eps := make([]*Endpoint, legs)
	for i := range eps {
		e, err := Listen(EndpointConfig{Ports: ports, IP: loopback, Poller: poller,
			OnPacket: func(*rtp.Packet, time.Time) { got.Add(1) }})
		if err != nil {
			b.Fatal(err)
		}
		defer e.Close()
		e.SetRemote(addrOf(sender))
		eps[i] = e
	}
	perLeg := float64(runtime.NumGoroutine()-before) / float64(legs)
	pkt := rtpBytes(1)
	// The sender stays on one thread, so that thread's CPU is the sender's.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ResetTimer()
	cpu0, send0 := processCPU(), threadCPU()
	next := time.Now()
	for b.Loop() {
		for _, e := range eps {
			if _, err := sender.WriteToUDPAddrPort(pkt, e.LocalAddr()); err != nil {
				b.Fatal(err)
			}
		}
		next = next.Add(20 * time.Millisecond)
		time.Sleep(time.Until(next))
	}
	send := threadCPU() - send0
	cpu := processCPU() - cpu0 - send
	b.StopTimer()
	time.Sleep(20 * time.Millisecond)
	sent := int64(b.N) * int64(legs)
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(sent), "recv-cpu-ns/pkt")
	b.ReportMetric(perLeg, "goroutines/leg")
	b.ReportMetric(100*float64(got.Load())/float64(sent), "%received")
}

// processCPU is the process's user+system CPU time so far.
func processCPU() time.Duration { return rusage(syscall.RUSAGE_SELF) }

// threadCPU is the calling thread's user+system CPU time so far.
func threadCPU() time.Duration { return rusage(1) } // RUSAGE_THREAD (Linux)

func rusage(who int) time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(who, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
