package sip

import (
	"context"
	"fmt"
	"math"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/dialroom/dialroom/e2e"
	"github.com/dialroom/dialroom/media"
	"github.com/emiago/sipgo/sip"
)

// inviteSDP sends an INVITE from the raw UA for number whose SDP offer
// has the media lines media (on 127.0.0.1) and returns the Request-URI and
// the final response.
func (u *rawUA) inviteSDP(number, callID, media string) (string, *sip.Response) {
	u.t.Helper()
	u.cseq++
	uri := fmt.Sprintf("sip:%s@%s", number, u.srv)
	sdp := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" + media
	return uri, u.roundTrip(fmt.Sprintf("INVITE %s SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-%s\r\nMax-Forwards: 70\r\n"+
		"From: <sip:09012345678@127.0.0.1>;tag=w-%s\r\nTo: <%s>\r\nCall-ID: %s\r\nCSeq: %d INVITE\r\n"+
		"Contact: <sip:caller@127.0.0.1:%d>\r\nContent-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s",
		uri, u.port(), callID, callID, uri, callID, u.cseq, u.port(), len(sdp), sdp))
}

// readRTP reads n RTP packets from conn, each of payload type pt and 160
// bytes (20 ms of G.711 or G.722), failing the test otherwise.
func readRTP(t *testing.T, conn *net.UDPConn, n int, pt uint8) []rtp.Packet {
	t.Helper()
	var pkts []rtp.Packet
	buf := make([]byte, 1500)
	for len(pkts) < n {
		_ = conn.SetReadDeadline(time.Now().Add(waitTimeout))
		k, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("after %d packets: %v", len(pkts), err)
		}
		var p rtp.Packet
		if p.Unmarshal(append([]byte(nil), buf[:k]...)) != nil {
			continue
		}
		if p.PayloadType != pt || len(p.Payload) != 160 {
			t.Fatalf("packet of payload type %d with %d bytes, want %d with 160", p.PayloadType, len(p.Payload), pt)
		}
		pkts = append(pkts, p)
	}
	return pkts
}

// decodeG722 decodes pkts, in order, to 16 kHz PCM.
func decodeG722(pkts []rtp.Packet) []int16 {
	dec := media.NewG722Decoder()
	var pcm []int16
	out := make([]int16, 320)
	for _, p := range pkts {
		pcm = append(pcm, out[:dec.Decode(out, p.Payload)]...)
	}
	return pcm
}

// TestWidebandTrunkCodecs: a carrier offering G.722 first into a conference
// gets G.711 unless its trunk lists G722 in codecs; with it the call is
// answered G.722 and what the caller hears (the waiting prompt) arrives as
// G.722: payload type 9, 160 bytes per 20 ms packet, the timestamp
// advancing 160 (RFC 3551's 8000 clock), decoding to a 16 kHz signal.
func TestWidebandTrunkCodecs(t *testing.T) {
	for i, tt := range []struct {
		name   string
		codecs string
		wantPT uint8
	}{
		{"default codecs", "", 0},
		{"codecs with G722", "    codecs: [G722, PCMU]\n", 9},
	} {
		t.Run(tt.name, func(t *testing.T) {
			plan := strings.Replace(testPlan, `    sources: ["127.0.0.1"]`+"\n", `    sources: ["127.0.0.1"]`+"\n"+tt.codecs, 1)
			h := newHarness(t, harnessOptions{portBase: 34480 + 40*i, plan: plan})
			rtpConn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				t.Fatal(err)
			}
			defer rtpConn.Close()
			rtpPort := rtpConn.LocalAddr().(*net.UDPAddr).Port

			u := newRawUAAt(t, h, "127.0.0.1")
			callID := fmt.Sprintf("wide-%d", i)
			uri, res := u.inviteSDP(liveNumber, callID, fmt.Sprintf("m=audio %d RTP/AVP 9 0 101\r\na=rtpmap:9 G722/8000\r\n"+
				"a=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=ptime:20\r\na=sendrecv\r\n", rtpPort))
			if res.StatusCode != 200 {
				t.Fatalf("INVITE: %d %s", res.StatusCode, res.Reason)
			}
			u.ack(uri, callID, res)
			if want := fmt.Sprintf("RTP/AVP %d 101", tt.wantPT); !strings.Contains(string(res.Body()), want) {
				t.Errorf("answer lacks %q:\n%s", want, res.Body())
			}

			// What the caller hears in the lobby: the waiting prompt.
			pkts := readRTP(t, rtpConn, 50, tt.wantPT)
			for i := 1; i < len(pkts); i++ {
				if d := pkts[i].Timestamp - pkts[i-1].Timestamp; d != 160 {
					t.Errorf("timestamp advanced %d, want 160", d)
				}
			}
			if tt.wantPT == 9 {
				pcm := decodeG722(pkts)
				// The built-in waiting prompt: a 200 ms beep of 440 Hz at
				// -20 dBFS every 2 s, the first at once; played at 8 kHz and
				// upsampled, so nothing of it may show at its image,
				// 8000 - 440 Hz.
				if l := e2e.PCMToneLevel(pcm, 16000, 440); l < -35 {
					t.Errorf("the waiting prompt's 440 Hz at %.1f dBFS in the G.722 the caller hears", l)
				}
				if l := e2e.PCMToneLevel(pcm, 16000, 7560); l > -60 {
					t.Errorf("the upsampled prompt has an image at 7560 Hz, %.1f dBFS", l)
				}
			}
			if res := u.bye(uri, callID, res); res.StatusCode != 200 {
				t.Errorf("BYE: %d", res.StatusCode)
			}
			h.waitIdle()
		})
	}
}

// TestDialoutWideband: a trunk whose codecs list G722 first offers it when
// the operator calls out; SIPp, answering G.722, gets a wideband leg in the
// room: what it hears arrives as G.722 (payload type 9, 160 bytes per
// 20 ms).
func TestDialoutWideband(t *testing.T) {
	port := freeUDPPort(t)
	plan := strings.Replace(dialPlan(port, ""), `    sources: ["127.0.0.2"]`+"\n", `    sources: ["127.0.0.2"]`+"\n    codecs: [G722, PCMU]\n", 1)
	h := newDialHarness(t, plan)
	_, op := h.hostAlice(h.numbers[liveNumber])
	rtpConn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer rtpConn.Close()
	answer := strings.NewReplacer("[media_port]", fmt.Sprint(rtpConn.LocalAddr().(*net.UDPAddr).Port),
		"RTP/AVP 8 101\na=rtpmap:8 PCMA/8000", "RTP/AVP 9 101\na=rtpmap:9 G722/8000").Replace(uasAnswerSDP)
	u := startUAS(t, port, uasHead+`  <recv request="INVITE">
    <action><ereg regexp="RTP/AVP 9 0 101" search_in="body" check_it="true" assign_to="offer"/></action>
  </recv>
`+uasResponse("200 OK", "X-Offer: [$offer]\n", answer)+`  <recv request="ACK"/>
  <recv request="BYE"/>
`+uasResponse("200 OK", "", "")+`</scenario>
`)
	st := newStatuses()
	call, err := h.dial(context.Background(), st, dialCallee, 0)
	if err != nil {
		t.Fatal(err)
	}
	st.until(t, DialAnswered)
	l := call.legp.Load()
	if l == nil || !l.Wideband() || l.wide.format.name != wideG722 {
		t.Fatalf("the callee's leg is not G.722: %+v", l)
	}
	// The callee hears the operator's room: G.722 packets.
	readRTP(t, rtpConn, 10, media.G722PayloadType)
	call.Hangup()
	st.until(t, DialEnded)
	<-call.Done()
	u.wait(t) // SIPp saw our offer with G.722 first (its check) and our BYE
	h.waitIdle()
	op.Leave("left")
}

// TestWidebandCallInRoom: an admitted G.722 caller and a narrowband phone
// in one room hear each other. The caller's 1.5 kHz, decoded once as each
// packet arrives and mixed at 16 kHz, reaches the G.711 phone (through the
// room's downsampling); the phone's 1 kHz reaches the caller as G.722.
func TestWidebandCallInRoom(t *testing.T) {
	plan := strings.Replace(testPlan, `    sources: ["127.0.0.1"]`+"\n", `    sources: ["127.0.0.1"]`+"\n    codecs: [G722]\n", 1)
	h := newHarness(t, harnessOptions{portBase: 34560, plan: plan})
	num := h.numbers[liveNumber]
	op, opMember := h.hostAlice(num)
	tonePeer, toneMember := h.addTonePhone(num, 1000)
	rtpConn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer rtpConn.Close()

	u := newRawUAAt(t, h, "127.0.0.1")
	const callID = "wide-room"
	uri, res := u.inviteSDP(liveNumber, callID, fmt.Sprintf("m=audio %d RTP/AVP 9 0\r\na=rtpmap:9 G722/8000\r\n"+
		"a=rtpmap:0 PCMU/8000\r\na=ptime:20\r\na=sendrecv\r\n", rtpConn.LocalAddr().(*net.UDPAddr).Port))
	if res.StatusCode != 200 {
		t.Fatalf("INVITE: %d %s", res.StatusCode, res.Reason)
	}
	u.ack(uri, callID, res)
	ans, err := parseOfferWith(res.Body(), softphoneCodecs())
	if err != nil || ans.Wide.name != wideG722 {
		t.Fatalf("answer %+v %v, want G.722", ans, err)
	}
	req := op.waitJoin(t)
	if _, err := opMember.Admit(req.ID); err != nil {
		t.Fatal(err)
	}

	// The caller says 1.5 kHz as G.722, and keeps what it hears.
	stop := make(chan struct{})
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		enc := media.NewG722Encoder()
		pcm, payload := make([]int16, 320), make([]byte, 160)
		pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 9, SSRC: 0x1234}}
		dst := net.UDPAddrFromAddrPort(ans.Remote)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for k := 0; ; k++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			for i := range pcm {
				pcm[i] = int16(8000 * math.Sin(2*math.Pi*1500*float64(k*320+i)/16000))
			}
			enc.Encode(payload, pcm)
			pkt.SequenceNumber++
			pkt.Timestamp += 160
			pkt.Payload = payload
			b, _ := pkt.Marshal()
			_, _ = rtpConn.WriteToUDP(b, dst)
		}
	}()
	heard := decodeG722(readRTP(t, rtpConn, 100, media.G722PayloadType)) // 2 s
	close(stop)
	<-sent
	last := heard[len(heard)-16000/2:]
	if l := e2e.PCMToneLevel(last, 16000, 1000); l < -30 {
		t.Errorf("the G.722 caller hears the room's 1 kHz at %.1f dBFS", l)
	}
	room := tonePeer.heardCopy()
	if len(room) > 4000 {
		room = room[len(room)-4000:]
	}
	if hz, db := dominant(room, 440, 1000, 1500); hz != 1500 || db < 20 {
		t.Errorf("the G.711 phone hears %v Hz (%.1f dB above the rest), want the G.722 caller's 1500", hz, db)
	}
	if res := u.bye(uri, callID, res); res.StatusCode != 200 {
		t.Errorf("BYE: %d", res.StatusCode)
	}
	h.waitIdle()
	toneMember.Leave("left")
	opMember.Leave("left")
}
