package main

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

// One or two phones of a room talk at any tick, every phone gets turns, and
// each spurt has exactly one onset.
func TestTalkTurn(t *testing.T) {
	for _, offset := range []uint32{0, 37, 74} {
		onsets := map[int]int{}
		for tick := uint32(0); tick < 20*talkEvery; tick++ {
			talking := 0
			for i := range phonesPerRoom {
				on, onset := talkTurn(tick, offset, i, phonesPerRoom)
				if on {
					talking++
				}
				if onset {
					onsets[i]++
				}
			}
			// The very first turn of a room has no predecessor still talking.
			if talking < 1 || talking > 2 {
				t.Fatalf("offset %d tick %d: %d talkers, want 1 or 2", offset, tick, talking)
			}
		}
		for i := range phonesPerRoom {
			if onsets[i] < 2 {
				t.Errorf("offset %d: phone %d started %d spurts in 20 turns", offset, i, onsets[i])
			}
		}
	}
}

func TestParseSIPResponse(t *testing.T) {
	msg := "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKx;rport=5070\r\n" +
		"From: <sip:09000000001@127.0.0.1>;tag=abc\r\nt: <sip:06012345678@127.0.0.1>;tag=srv1\r\n" +
		"i: call-1@load\r\nCSeq: 1 INVITE\r\nContact: <sip:dialroom@127.0.0.1:5060>\r\n" +
		"Content-Type: application/sdp\r\nContent-Length: 99\r\n\r\n" +
		"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40002 RTP/AVP 0\r\n"
	m, ok := parseSIP([]byte(msg))
	if !ok || m.status != 200 {
		t.Fatalf("parse: ok %v status %d", ok, m.status)
	}
	if got := m.header("call-id"); got != "call-1@load" {
		t.Errorf("Call-ID (compact i:) = %q", got)
	}
	if got := tagOf(m.header("to")); got != "srv1" {
		t.Errorf("To tag = %q", got)
	}
	if n, method := m.cseq(); n != 1 || method != "INVITE" {
		t.Errorf("CSeq = %d %s", n, method)
	}
	if got := uriOf(m.header("contact")); got != "sip:dialroom@127.0.0.1:5060" {
		t.Errorf("Contact URI = %q", got)
	}
	if got, want := sdpMedia(m.body), netip.MustParseAddrPort("127.0.0.1:40002"); got != want {
		t.Errorf("media = %v, want %v", got, want)
	}
	for _, bad := range []string{"", "hello", "SIP/2.0 abc OK\r\n\r\n", "m=audio\r\n"} {
		if m, ok := parseSIP([]byte(bad)); ok && m.status == 0 && m.method == "" {
			t.Errorf("parseSIP(%q) accepted an empty message", bad)
		}
	}
	if sdpMedia("m=audio \r\nc=IN IP4 192.0.2.1\r\n").IsValid() {
		t.Error("sdpMedia accepted a non-loopback or portless answer")
	}
}

func TestServerMetricsWindow(t *testing.T) {
	const before = `# HELP x
dialroom_media_clock_late_seconds_bucket{le="0.001"} 90
dialroom_media_clock_late_seconds_bucket{le="0.005"} 99
dialroom_media_clock_late_seconds_bucket{le="0.01"} 100
dialroom_media_clock_late_seconds_bucket{le="+Inf"} 100
dialroom_media_clock_skipped_ticks_total 2
`
	const after = `dialroom_media_clock_late_seconds_bucket{le="0.001"} 140
dialroom_media_clock_late_seconds_bucket{le="0.005"} 197
dialroom_media_clock_late_seconds_bucket{le="0.01"} 199
dialroom_media_clock_late_seconds_bucket{le="0.02"} 200
dialroom_media_clock_late_seconds_bucket{le="+Inf"} 200
dialroom_media_clock_skipped_ticks_total 2
`
	a, err := parseServerMetrics(strings.NewReader(before))
	if err != nil {
		t.Fatal(err)
	}
	b, err := parseServerMetrics(strings.NewReader(after))
	if err != nil {
		t.Fatal(err)
	}
	w := b.late.sub(a.late)
	if w.count() != 100 {
		t.Fatalf("window count %v, want 100", w.count())
	}
	if got := w.quantile(0.5); got != time.Millisecond {
		t.Errorf("p50 %v, want 1ms (50 of 100 below 1 ms)", got)
	}
	if got := w.quantile(0.99); got != 10*time.Millisecond {
		t.Errorf("p99 %v, want 10ms", got)
	}
	if got := w.above(5 * time.Millisecond); got != 2 {
		t.Errorf("above 5 ms: %v, want 2", got)
	}
	if b.values["dialroom_media_clock_skipped_ticks_total"] != 2 {
		t.Error("skipped counter not read")
	}
	if _, err := parseServerMetrics(strings.NewReader("go_goroutines 5\n")); err == nil {
		t.Error("metrics without the clock histogram accepted")
	}
}

func TestQuantile(t *testing.T) {
	s := []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	if quantile(s, 0.5) != 5 || quantile(s, 0.99) != 10 || quantile(nil, 0.5) != 0 {
		t.Errorf("quantile: %v %v", quantile(s, 0.5), quantile(s, 0.99))
	}
}
