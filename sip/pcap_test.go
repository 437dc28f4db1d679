package sip

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dialroom/dialroom"
	"github.com/dialroom/dialroom/e2e"
	"github.com/dialroom/dialroom/media"
)

// TestTonePCAP checks the harness's pcap writer: its RTP payloads decode
// to the tone it was asked for.
func TestTonePCAP(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tone.pcap")
	if err := e2e.WriteRTPTonePCAP(path, 1000, 1, e2e.PayloadPCMU); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var pcm []int16
	frame := make([]int16, 160)
	packets := 0
	for off := 24; off+16 <= len(b); {
		n := int(binary.LittleEndian.Uint32(b[off+8:]))
		pkt := b[off+16 : off+16+n]
		off += 16 + n
		rtp := pkt[14+20+8:]
		if rtp[0] != 0x80 || rtp[1]&0x7f != 0 {
			t.Fatalf("RTP header % x", rtp[:12])
		}
		k := media.PCMU.Decode(frame, rtp[12:])
		pcm = append(pcm, frame[:k]...)
		packets++
	}
	if packets != 50 || len(pcm) != 8000 {
		t.Fatalf("%d packets, %d samples; want 50 and 8000", packets, len(pcm))
	}
	if hz, db := dominant(pcm, 440, 660, 1000); hz != 1000 || db < 30 {
		t.Errorf("pcap holds %v Hz (%.1f dB above the rest), want 1000", hz, db)
	}
}

// TestSIPpPlaysPCAP: the caller's audio comes from SIPp itself
// (play_pcap_audio, which needs CAP_NET_RAW: the tests run as root in their
// own network namespace), and the room hears it.
func TestSIPpPlaysPCAP(t *testing.T) {
	h := newHarness(t, harnessOptions{portBase: 32300})
	pcap := filepath.Join(h.dir, "tone.pcap")
	if err := e2e.WriteRTPTonePCAP(pcap, 1000, 4, e2e.PayloadPCMU); err != nil {
		t.Fatal(err)
	}
	num := h.numbers[liveNumber]
	op, opMember := h.hostAlice(num)
	listener := newTonePhone(t, 440)
	lm, err := h.engine.Enter(num, "Alice", dialroom.Identity{Role: dialroom.RoleGuest, Kind: dialroom.MemberKindPhone, Address: "listener"}, newRecorder())
	if err != nil {
		t.Fatal(err)
	}
	if err := lm.AttachPhoneAudio(listener); err != nil {
		t.Fatal(err)
	}
	play := `
  <nop><action><exec play_pcap_audio="` + pcap + `"/></action></nop>
  <pause milliseconds="3500"/>`
	scenario := strings.ReplaceAll(e2e.SIPpUAC(e2e.SIPpAnsweredThen(play+e2e.SIPpByeAfter(0))), "[rtpport]", "[media_port]")
	result := make(chan e2e.SIPpResult, 1)
	go func() { result <- h.sipp("pcap", scenario, e2e.SIPpRun{Service: liveNumber}) }()
	req := op.waitJoin(t)
	if _, err := opMember.Admit(req.ID); err != nil {
		t.Fatal(err)
	}
	res := <-result
	requireSIPpOK(t, res)
	h.waitIdle()
	heard := listener.heardCopy()
	// The caller was admitted within a few hundred ms of the answer and
	// played 3.5 s: look at the last 2 s of what the room gave the listener
	// before the caller left, skipping the silence after.
	var talk []int16
	for i := 0; i+160 <= len(heard); i += 160 {
		if media.MeanSquare(heard[i:i+160]) > 1e-6 {
			talk = append(talk, heard[i:i+160]...)
		}
	}
	if len(talk) < 8000 {
		t.Fatalf("the room heard only %d samples of audio from the caller", len(talk))
	}
	if hz, db := dominant(talk[len(talk)-8000:], 440, 660, 1000); hz != 1000 || db < 20 {
		t.Errorf("the room heard %v Hz (%.1f dB above the rest), want SIPp's 1000 Hz", hz, db)
	}
	lm.Leave("left")
	opMember.Leave("left")
}
