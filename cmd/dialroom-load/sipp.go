package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Call setup rate (issue 4): SIPp places INVITE → 200 → ACK → BYE calls at a
// fixed rate, first against dialroom on a direct route (an issued number:
// the call is answered, gets an RTP port and its waiting prompt, joins the
// room's lobby, and leaves it on BYE; nobody admits it), then against a SIPp
// UAS on the same machine with the same scenario, which is the machine's
// ceiling (TESTING.md: ~12,000 calls/s).

// sippUAC is the caller's scenario: an offer SIPp does not play media for,
// the 200 within 5 s or the call fails (rrs keeps its Contact for
// [next_url]: without it the ACK and BYE go out with an empty Request-URI),
// ACK, BYE at once, the 200 to the BYE within 5 s. [service] is the dialled
// number.
const sippUAC = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="dialroom-load setup">
  <send retrans="500">
    <![CDATA[
INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
From: <sip:09000001234@[local_ip]>;tag=[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: <sip:09000001234@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: [len]

v=0
o=- 1 1 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 0 101
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-16
a=ptime:20
    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="200" rtd="true" rrs="true" timeout="5000"/>
  <send>
    <![CDATA[
ACK [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
From: <sip:09000001234@[local_ip]>;tag=[call_number]
[last_To:]
[routes]
Call-ID: [call_id]
CSeq: 1 ACK
Contact: <sip:09000001234@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Length: 0

    ]]>
  </send>
  <send retrans="500">
    <![CDATA[
BYE [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
From: <sip:09000001234@[local_ip]>;tag=[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: 2 BYE
Max-Forwards: 70
Content-Length: 0

    ]]>
  </send>
  <recv response="200" crlf="true" timeout="5000"/>
</scenario>
`

// sippRun is one SIPp UAC run's outcome.
type sippRun struct {
	rate              int
	succeeded, failed int
	elapsed           time.Duration
	serverCPU         time.Duration // dialroom's CPU during the run; 0 against SIPp
	exitCode          int
	rtd               time.Duration // mean INVITE → 200 (SIPp's ResponseTime1)
}

// runSetupRates measures every rate against dialroom, then against a SIPp UAS.
func runSetupRates(ctx context.Context, cfg Config, api *apiClient, sipAddr netip.AddrPort, tg target,
	out io.Writer, log *slog.Logger) error {
	n, err := api.issueNumber(ctx)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "dialroom-sipp-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	scenario := filepath.Join(dir, "uac.xml")
	if err := os.WriteFile(scenario, []byte(sippUAC), 0o644); err != nil {
		return err
	}
	var dialroom, baseline []sippRun
	for _, rate := range cfg.SIPpRates {
		before, _ := processCPU(tg.pid)
		r, err := runSIPpUAC(ctx, cfg, dir, scenario, n.Number, sipAddr, rate)
		if err != nil {
			return err
		}
		after, _ := processCPU(tg.pid)
		r.serverCPU = after - before
		log.Info("sipp against dialroom", "rate", rate, "ok", r.succeeded, "failed", r.failed, "elapsed", r.elapsed)
		dialroom = append(dialroom, r)
		// Let the server finish tearing the calls down before the next rate.
		time.Sleep(2 * time.Second)
	}
	uasPort, err := freeUDPPort()
	if err != nil {
		return err
	}
	uas := exec.CommandContext(ctx, cfg.SIPpBin, "-sn", "uas", "-i", "127.0.0.1", "-p", strconv.Itoa(uasPort),
		"-buff_size", "8388608", "-nostdin", "-trace_err", "-error_file", filepath.Join(dir, "uas-errors.log"))
	uas.Dir = dir
	if err := uas.Start(); err != nil {
		return fmt.Errorf("start SIPp UAS: %w", err)
	}
	defer func() {
		_ = uas.Process.Kill()
		_ = uas.Wait()
	}()
	time.Sleep(500 * time.Millisecond)
	uasAddr := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(uasPort))
	for _, rate := range cfg.SIPpRates {
		r, err := runSIPpUAC(ctx, cfg, dir, scenario, n.Number, uasAddr, rate)
		if err != nil {
			return err
		}
		log.Info("sipp against sipp", "rate", rate, "ok", r.succeeded, "failed", r.failed, "elapsed", r.elapsed)
		baseline = append(baseline, r)
	}
	printSetupRates(out, cfg, dialroom, baseline)
	return nil
}

// runSIPpUAC places rate calls per second for cfg.SIPpDuration against
// target and reads SIPp's final statistics.
func runSIPpUAC(ctx context.Context, cfg Config, dir, scenario, number string, target netip.AddrPort, rate int) (sippRun, error) {
	r := sippRun{rate: rate}
	port, err := freeUDPPort()
	if err != nil {
		return r, err
	}
	total := rate * int(cfg.SIPpDuration/time.Second)
	stat := filepath.Join(dir, fmt.Sprintf("stat-%d-%d.csv", target.Port(), rate))
	ctx, cancel := context.WithTimeout(ctx, cfg.SIPpDuration+60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, cfg.SIPpBin, "-sf", scenario, "-s", number, target.String(),
		"-i", "127.0.0.1", "-p", strconv.Itoa(port), "-mp", strconv.Itoa(port+2),
		"-r", strconv.Itoa(rate), "-rp", "1000", "-m", strconv.Itoa(total), "-l", strconv.Itoa(max(rate*10, 100)),
		"-buff_size", "8388608", "-nostdin", "-trace_stat", "-stf", stat, "-fd", "1",
		"-timeout", strconv.Itoa(int((cfg.SIPpDuration+30*time.Second)/time.Second))+"s")
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	t0 := time.Now()
	err = cmd.Run()
	r.elapsed = time.Since(t0)
	if ee, ok := err.(*exec.ExitError); ok {
		r.exitCode = ee.ExitCode()
	} else if err != nil {
		return r, fmt.Errorf("sipp: %w", err)
	}
	if err := readSIPpStat(stat, &r); err != nil {
		return r, fmt.Errorf("sipp at %d calls/s (exit %d, %s): %w", rate, r.exitCode,
			strings.TrimSpace(stderr.String()), err)
	}
	return r, nil
}

// readSIPpStat reads the cumulative counters of the last line of SIPp's
// statistics file (semicolon-separated, a header line first).
func readSIPpStat(path string, r *sippRun) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	rd := csv.NewReader(bytes.NewReader(data))
	rd.Comma = ';'
	rd.FieldsPerRecord = -1
	rows, err := rd.ReadAll()
	if err != nil {
		return err
	}
	if len(rows) < 2 {
		return fmt.Errorf("%s: no statistics", path)
	}
	head, last := rows[0], rows[len(rows)-1]
	col := func(name string) string {
		for i, h := range head {
			if h == name && i < len(last) {
				return last[i]
			}
		}
		return ""
	}
	r.succeeded, _ = strconv.Atoi(col("SuccessfulCall(C)"))
	r.failed, _ = strconv.Atoi(col("FailedCall(C)"))
	r.rtd = parseSIPpDuration(col("ResponseTime1(C)"))
	return nil
}

// parseSIPpDuration reads SIPp's HH:MM:SS:uuuuuu statistics durations.
func parseSIPpDuration(s string) time.Duration {
	f := strings.Split(s, ":")
	if len(f) != 4 {
		return 0
	}
	var d time.Duration
	for i, unit := range []time.Duration{time.Hour, time.Minute, time.Second, time.Microsecond} {
		n, err := strconv.Atoi(f[i])
		if err != nil {
			return 0
		}
		d += time.Duration(n) * unit
	}
	return d
}

func printSetupRates(out io.Writer, cfg Config, dialroom, baseline []sippRun) {
	fmt.Fprintf(out, "\ncall setup: SIPp UAC, INVITE → 200 → ACK → BYE, %v per rate, calls wait in the lobby (not admitted)\n", cfg.SIPpDuration)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "offered calls/s\tdialroom ok\tfailed\tserver CPU µs/call\tserver CPU % of a core\tmean INVITE→200\tSIPp UAS ok\tfailed\tmean INVITE→200\t")
	for i, d := range dialroom {
		var b sippRun
		if i < len(baseline) {
			b = baseline[i]
		}
		us := 0.0
		if d.succeeded > 0 {
			us = float64(d.serverCPU.Microseconds()) / float64(d.succeeded)
		}
		fmt.Fprintf(tw, "%d\t%d\t%d\t%.0f\t%.1f\t%v\t%d\t%d\t%v\t\n", d.rate, d.succeeded, d.failed,
			us, 100*d.serverCPU.Seconds()/d.elapsed.Seconds(), d.rtd, b.succeeded, b.failed, b.rtd)
	}
	tw.Flush()
	best := 0
	for _, d := range dialroom {
		if d.failed == 0 && d.exitCode == 0 && d.rate > best {
			best = d.rate
		}
	}
	fmt.Fprintf(out, "highest offered rate with no failed call against dialroom: %d calls/s\n", best)
}
