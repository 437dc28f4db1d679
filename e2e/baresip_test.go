package e2e

import (
	"errors"
	"net"
	"strings"
	"testing"
	"time"
)

// TestPhoneStartPortTaken proves StartPhone's retry has something to catch:
// a baresip whose SIP port another socket holds exits at start-up with
// errPortTaken, and the same phone then starts on ports picked afresh.
func TestPhoneStartPortTaken(t *testing.T) {
	exe := RequireBaresip(t)
	holder, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	taken := holder.LocalAddr().(*net.UDPAddr).Port

	p := &Phone{
		t:    t,
		name: "phone",
		opts: PhoneOptions{User: "phone", Codecs: []string{"PCMU"}, RegInterval: defaultRegInterval, Port: taken},
		dir:  t.TempDir(),
		out:  &tailBuffer{max: 64 << 10},
	}
	p.sndDir = p.dir
	p.opts.AudioWAV = p.dir + "/silence.wav"
	if err := writeSilenceWAV(p.opts.AudioWAV, time.Second, 8000, 1); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)

	err = p.start(exe, false)
	if !errors.Is(err, errPortTaken) {
		t.Fatalf("start on a taken SIP port: %v, want errPortTaken\n%s", err, p.out.String())
	}
	if err := p.start(exe, true); err != nil {
		t.Fatalf("start on fresh ports: %v\n%s", err, p.out.String())
	}
	if p.opts.Port == taken {
		t.Fatalf("the fresh SIP port is the taken one (%d)", taken)
	}
	if out, err := p.Command("uanew", p.account()); err != nil || strings.Contains(strings.ToLower(out), "error") {
		t.Fatalf("uanew after the retry: %q, %v", out, err)
	}
}
