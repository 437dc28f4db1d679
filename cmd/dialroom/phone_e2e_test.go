package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pion/rtp"

	"github.com/dialroom/dialroom/configs"
	"github.com/dialroom/dialroom/e2e"
	"github.com/dialroom/dialroom/media"
)

// phoneDialplan trusts calls from 127.0.0.1 as the carrier and sends every
// issued number to its conference's lobby.
const phoneDialplan = `
trunks:
  - name: carrier
    registrar: sip:127.0.0.1:5060
    register_interval: 0
    sources: ["127.0.0.1"]
    dids: ["_0X0XXXXXXXX"]
routes:
  - name: direct-dial
    to: "_0X0XXXXXXXX"
    action: conference
`

// rtpPhone is the media side of a SIPp caller: it sends a PCMU tone from a
// local UDP port (the one SIPp's SDP names) to wherever the server's RTP comes
// from, and keeps what it hears.
type rtpPhone struct {
	conn *net.UDPConn

	mu     sync.Mutex
	remote *net.UDPAddr
	heard  []int16
}

func newRTPPhone(t *testing.T, freq float64) *rtpPhone {
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	p := &rtpPhone{conn: conn}
	done := make(chan struct{})
	t.Cleanup(func() { conn.Close(); <-done })
	go func() { // reader: learn the server's address, decode what it sends
		defer close(done)
		buf := make([]byte, 1500)
		pcm := make([]int16, 1500)
		var pkt rtp.Packet
		for {
			n, from, err := conn.ReadFromUDP(buf)
			if err != nil {
				return
			}
			if pkt.Unmarshal(buf[:n]) != nil || pkt.PayloadType != 0 {
				continue
			}
			k := media.PCMU.Decode(pcm, pkt.Payload)
			p.mu.Lock()
			p.remote = from
			p.heard = append(p.heard, pcm[:k]...)
			p.mu.Unlock()
		}
	}()
	go func() { // sender: 20 ms PCMU frames of the tone once the server is known
		tone, _ := media.NewTone(8000, -12, freq)
		pcm := make([]int16, 160)
		payload := make([]byte, 160)
		pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SSRC: 0x5eed}}
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for range tick.C {
			select {
			case <-done:
				return
			default:
			}
			p.mu.Lock()
			to := p.remote
			p.mu.Unlock()
			_, _ = tone.Read(pcm)
			media.PCMU.Encode(payload, pcm)
			pkt.SequenceNumber++
			pkt.Timestamp += 160
			pkt.Payload = payload
			if to == nil {
				continue
			}
			b, _ := pkt.Marshal()
			_, _ = conn.WriteToUDP(b, to)
		}
	}()
	return p
}

func (p *rtpPhone) port() int { return p.conn.LocalAddr().(*net.UDPAddr).Port }

// lastSecond returns the last second the phone heard.
func (p *rtpPhone) lastSecond() []int16 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.heard) < 8000 {
		return append([]int16(nil), p.heard...)
	}
	return append([]int16(nil), p.heard[len(p.heard)-8000:]...)
}

// TestPhoneAndBrowserTalk is issue 4's direct-dial journey through the whole
// server: a phone (SIPp signalling, RTP from this test) calls the operator's
// issued number, waits in the lobby, the operator admits it in the browser,
// and then the phone's 1 kHz tone is heard in the browser at 1 kHz and the
// browser's 440 Hz tone is heard on the phone. It runs once for each
// webrtc.phone_codec, and checks that Chromium decoded the phone's voice in
// that codec.
func TestPhoneAndBrowserTalk(t *testing.T) {
	e2e.RequireChromium(t)
	sipp := e2e.RequireSIPp(t)
	for _, c := range []struct{ codec, mime string }{
		{configs.PhoneCodecOpus, "audio/opus"},
		{configs.PhoneCodecPCMU, "audio/PCMU"},
	} {
		t.Run(c.codec, func(t *testing.T) { testPhoneAndBrowserTalk(t, sipp, c.codec, c.mime) })
	}
}

func testPhoneAndBrowserTalk(t *testing.T, sipp, codec, wantMime string) {
	dir := t.TempDir()
	plan := filepath.Join(dir, "dialplan.yaml")
	if err := os.WriteFile(plan, []byte(phoneDialplan), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, "", func(c *configs.Config) { c.Dialplan = plan; c.WebRTC.PhoneCodec = codec })
	if srv.SIP == nil {
		t.Fatal("SIP is not running")
	}

	// The operator says 660 Hz here: the lobby's waiting beep is 440 Hz.
	const opTone = toneGuest1
	op := newParticipant(t, "operator", opTone)
	number := op.openConference(srv.URL(), srv.AdminPassword)
	// The console lists the phone line (this trunk does not register: the
	// carrier knows it by address).
	op.waitFor("phone lines", `!document.getElementById('trunks-panel').hidden && document.querySelector('#trunks [data-trunk="carrier"]').textContent.includes('not registering')`, 5*time.Second)

	phone := newRTPPhone(t, 1000)
	scenario := filepath.Join(dir, "call.xml")
	if err := os.WriteFile(scenario, []byte(e2e.SIPpUAC(e2e.SIPpAnsweredThen(e2e.SIPpByeAfter(15000)))), 0o644); err != nil {
		t.Fatal(err)
	}
	result := make(chan e2e.SIPpResult, 1)
	go func() {
		res, err := e2e.RunSIPp(context.Background(), sipp, dir, e2e.SIPpRun{
			Scenario: scenario, Target: srv.SIP.UDPAddrs()[0].String(), Service: number,
			Keys: map[string]string{"rtpport": strconv.Itoa(phone.port())}, Timeout: 40 * time.Second,
		})
		if err != nil {
			t.Errorf("sipp: %v", err)
		}
		result <- res
	}()

	// The console shows the phone guest: masked caller number, the trunk.
	op.waitFor("phone in the lobby", `window.dialroom.lobby.some(r => r.kind === 'phone' && r.address === '090-****-5678')`, 15*time.Second)
	var reqID string
	op.eval(`window.dialroom.lobby.find(r => r.kind === 'phone').id`, &reqID)
	// Before admission the phone hears only the waiting tone, never the room.
	time.Sleep(time.Second)
	if l := e2e.PCMToneLevel(phone.lastSecond(), 8000, opTone); l > -45 {
		t.Errorf("the phone in the lobby hears the operator's %.0f Hz at %.1f dBFS", opTone, l)
	}
	op.run("admit phone", chromedp.Click(chromedp.CSS(fmt.Sprintf(`[data-request-id=%q] .admit`, reqID))))
	op.waitFor("phone member", `window.dialroom.members.some(m => m.kind === 'phone')`, 10*time.Second)
	var phoneID string
	op.eval(`window.dialroom.members.find(m => m.kind === 'phone').id`, &phoneID)

	op.waitFor("phone audio element", fmt.Sprintf(`document.querySelector('audio[data-member-id=%q]')`, phoneID), 10*time.Second)
	time.Sleep(1500 * time.Millisecond) // jitter buffers fill, the mix settles
	sp := op.hears(phoneID)
	t.Logf("browser hears the phone: %s", sp)
	expectTone(t, "browser hearing the phone", sp, toneGuest3) // 1000 Hz
	// The codecs of the audio the browser received (only the phone's here).
	var mimes []string
	op.eval(`(async () => {
		const stats = await window.dialroom.pc.getStats(), out = new Set();
		stats.forEach(r => { if (r.type === 'inbound-rtp' && r.kind === 'audio' && r.packetsReceived > 0 && r.codecId) out.add(stats.get(r.codecId).mimeType); });
		return [...out];
	})()`, &mimes)
	if len(mimes) != 1 || !strings.EqualFold(mimes[0], wantMime) {
		t.Errorf("the browser received the phone's voice as %v, want %s (phone_codec %s)", mimes, wantMime, codec)
	}
	t.Logf("the browser received the phone's voice as %v", mimes)
	// Our RTCP sender reports (webclient/senderreports.go) reach the
	// browser: it keeps remote-outbound-rtp statistics for the phone's
	// stream only from them, with the packets our reports counted.
	// And our receiver reports (webclient/receiverreports.go) about the
	// browser's microphone: remote-inbound-rtp comes only from them, and its
	// round-trip time only when they echo the browser's own sender reports
	// (LSR, DLSR: RFC 3550 §6.4.1), which the server reads as they arrive
	// (webclient/rtcpbuf.go).
	var sr struct {
		Reports, Packets float64 // remote-outbound-rtp: our sender reports
		RRs, Lost        float64 // remote-inbound-rtp: our receiver reports
		RTTs, RTT        float64 // … round-trip time measurements, the last (s)
		Entry            string
	}
	for end := time.Now().Add(8 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		op.eval(`(async () => {
			const stats = await window.dialroom.pc.getStats(); const out = {reports: 0, packets: 0, rrs: 0, lost: -1, rtts: 0, rtt: -1};
			stats.forEach(r => {
				if (r.type === 'remote-outbound-rtp' && r.kind === 'audio') { out.reports = r.reportsSent || 0; out.packets = r.packetsSent || 0; }
				if (r.type === 'remote-inbound-rtp' && r.kind === 'audio') {
					out.rrs = 1; out.lost = r.packetsLost; out.entry = JSON.stringify(r);
					out.rtts = r.roundTripTimeMeasurements || 0; if (r.roundTripTime !== undefined) out.rtt = r.roundTripTime;
				}
			});
			return out;
		})()`, &sr)
		if sr.Reports > 0 && sr.RRs > 0 && sr.RTTs > 0 || time.Now().After(end) {
			break
		}
	}
	if sr.RTTs < 1 || sr.RTT < 0 || sr.RTT > 0.2 {
		t.Errorf("the browser measured %v round trips of its microphone's stream (last %v s) from our receiver reports; want some, under 0.2 s on loopback", sr.RTTs, sr.RTT)
	}
	// And the server measures its round trip to the browser from the
	// browser's receiver reports about our streams (webclient/rtcpbuf.go).
	if n := srv.metric(t, "dialroom_webrtc_rtt_seconds_count"); n < 1 {
		t.Errorf("dialroom_webrtc_rtt_seconds has %d samples, want the browser's round trips", n)
	}
	if sr.Reports < 1 || sr.Packets < 1 {
		t.Errorf("the browser got %v sender reports counting %v packets of the phone's voice, want some", sr.Reports, sr.Packets)
	}
	if sr.RRs < 1 || sr.Lost != 0 {
		t.Errorf("the browser has no statistics from our receiver reports about its microphone (%v), or %v packets lost; want them, none lost on loopback", sr.RRs, sr.Lost)
	}
	t.Logf("the browser got %v sender reports for the phone's voice (%v packets sent); from our receiver reports about its microphone: %s",
		sr.Reports, sr.Packets, sr.Entry)
	heard := phone.lastSecond()
	lOp, l1000 := e2e.PCMToneLevel(heard, 8000, opTone), e2e.PCMToneLevel(heard, 8000, 1000)
	t.Logf("phone hears the browser's %.0f Hz at %.1f dBFS, its own 1000 Hz at %.1f dBFS", opTone, lOp, l1000)
	if lOp < -30 {
		t.Errorf("the phone hears the browser's %.0f Hz at %.1f dBFS, want above -30", opTone, lOp)
	}
	if l1000 > lOp-20 {
		t.Errorf("the phone hears itself (1000 Hz at %.1f dBFS) within 20 dB of the room", l1000)
	}

	res := <-result
	if res.ExitCode != 0 {
		t.Errorf("sipp exit %d:\n%s\n%s", res.ExitCode, res.Output, res.Errors)
	}
	op.waitFor("phone left", `!window.dialroom.members.some(m => m.kind === 'phone')`, 10*time.Second)

	// The call record keeps the masked caller and the rule that routed it.
	c := waitCallRecord(t, srv, func(c callRecordJSON) bool { return c.Kind == "phone" })
	if c.Party != "090-****-5678" || c.Rule != "direct-dial" || c.Outcome != "admitted" {
		t.Errorf("phone call record %+v, want 090-****-5678, rule direct-dial, admitted", c)
	}
}

// callRecordJSON is a call record as GET /api/calls lists it (docs/api.md).
type callRecordJSON struct{ Kind, Party, Outcome, Rule string }

// waitCallRecord polls the admin's GET /api/calls for up to 5 s until a
// record matches and returns it; the test fails without one.
func waitCallRecord(t *testing.T, srv *testServer, match func(callRecordJSON) bool) callRecordJSON {
	t.Helper()
	api := newAPIClient(t, srv.URL())
	api.login("admin", srv.AdminPassword)
	deadline := time.Now().Add(5 * time.Second)
	for {
		var calls struct {
			Calls []callRecordJSON `json:"calls"`
		}
		api.do("GET", "/api/calls", nil, &calls)
		for _, c := range calls.Calls {
			if match(c) {
				return c
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no matching call record in %+v", calls.Calls)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
