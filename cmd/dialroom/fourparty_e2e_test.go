package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/dialroom/dialroom/e2e"
)

// Each party's tone. The phones' are inside G.711's narrow band (300–3400
// Hz) and apart from the browsers'; none is the lobby's 440 Hz waiting beep
// heard by phones before they are in, except the operator's, which is only
// measured once everyone is in.
const (
	fourOperator = 440.0
	fourGuest    = 660.0
	fourPhone1   = 1000.0
	fourPhone2   = 1400.0
)

var fourTones = []float64{fourOperator, fourGuest, fourPhone1, fourPhone2}

// fourPartyPlan sends every issued number to its conference.
func fourPartyPlan(carrierAddr string) string {
	return carrierPlan(carrierAddr, `["_0X0XXXXXXXX"]`, `
routes:
  - name: direct-dial
    to: "_0X0XXXXXXXX"
    action: conference
`)
}

// TestFourPartyConference is issue 4's "two phones and two browsers in one
// room: each hears the other three". dialroom registers with a Kamailio
// carrier as a trunk; two baresip phones call the operator's issued number
// through the carrier; the operator (headless Chromium) admits them and a
// browser guest. Then every phone's recording holds the other phone's and
// both browsers' tones at a sane level and not its own (the mix is minus
// self), and every browser hears each phone and the other browser, each on
// its own track, as the tone of that party alone.
func TestFourPartyConference(t *testing.T) {
	e2e.RequireChromium(t)
	e2e.RequireBaresip(t)
	e2e.RequireKamailio(t)
	start := time.Now()

	srv, carrier := startWithCarrier(t, fourPartyPlan, map[string][]byte{})
	op := newParticipant(t, "operator", fourOperator)
	guest := newParticipant(t, "guest", fourGuest)
	number := op.openConference(srv.URL(), srv.AdminPassword)
	carrier.Route(number, carrierTrunkUser)

	// The phones' caller numbers, as the console shows them masked.
	const (
		caller1, masked1 = "09011111111", "090-****-1111"
		caller2, masked2 = "08022222222", "080-****-2222"
	)
	phone1 := startTonePhone(t, "phone1", caller1, fourPhone1)
	phone2 := startTonePhone(t, "phone2", caller2, fourPhone2)
	for _, p := range []*e2e.Phone{phone1, phone2} {
		p.Dial("sip:" + number + "@" + carrier.Addr())
	}
	for _, p := range []*e2e.Phone{phone1, phone2} {
		waitPhoneEvent(t, p, "CALL_ESTABLISHED")
	}

	guest.run("join",
		chromedp.Navigate(srv.URL()+"/join?testaudio=1"),
		chromedp.WaitVisible(chromedp.CSS("#number")),
		chromedp.SendKeys(chromedp.CSS("#number"), number),
		chromedp.SendKeys(chromedp.CSS("#name"), "Guest"),
		chromedp.Click(chromedp.CSS("#join")),
	)
	guest.waitFor("waiting", `window.dialroom && window.dialroom.state === 'waiting'`, 10*time.Second)
	sel := `window.dialroom.lobby.find(r => r.name === 'Guest')`
	op.waitFor("guest in the lobby", sel, 10*time.Second)
	var guestReq string
	op.eval(sel+`.id`, &guestReq)
	op.waitFor("guest's lobby row", fmt.Sprintf(`document.querySelector('[data-request-id=%q] .admit')`, guestReq), 5*time.Second)
	op.run("admit guest", chromedp.Click(chromedp.CSS(fmt.Sprintf(`[data-request-id=%q] .admit`, guestReq))))
	guest.waitFor("admitted", `window.dialroom.state === 'in'`, 10*time.Second)
	admitPhone(op, masked1)
	admitPhone(op, masked2)
	t.Logf("everyone in after %v", time.Since(start).Round(time.Millisecond))

	// Each browser hears three tracks: both phones and the other browser.
	guest.waitFor("both phones listed", fmt.Sprintf(`[%q, %q].every(a => window.dialroom.members.some(m => m.address === a))`, masked1, masked2), 10*time.Second)
	ids := map[*participant]map[float64]string{op: {}, guest: {}}
	for p := range ids {
		ids[p][fourPhone1] = memberByAddress(p, masked1)
		ids[p][fourPhone2] = memberByAddress(p, masked2)
	}
	ids[op][fourGuest] = op.memberID("Guest")
	ids[guest][fourOperator] = guest.operatorID()
	time.Sleep(1500 * time.Millisecond) // jitter buffers fill, the mix settles
	for p, members := range ids {
		for tone, id := range members {
			sp := hearsTones(p, id, fourTones)
			expectOnly(t, fmt.Sprintf("%s hearing the %.0f Hz party", p.name, tone), sp, tone, fourTones)
		}
	}

	// The phones hang up; their recordings end with everyone in the room.
	for _, p := range []*e2e.Phone{phone1, phone2} {
		p.Hangup()
	}
	for _, p := range []*e2e.Phone{phone1, phone2} {
		waitPhoneEvent(t, p, "CALL_CLOSED")
	}
	tones := map[*e2e.Phone]float64{phone1: fourPhone1, phone2: fourPhone2}
	for p, own := range tones {
		rec := readRecording(t, p)
		// 1.5 s that end 0.3 s before the hang-up: well after the last
		// admission (the browser analysis took longer than that).
		w := rec.window(-1800*time.Millisecond, -300*time.Millisecond)
		if len(w) < 12000 {
			t.Fatalf("%s: recording of %v is too short", p.Name(), rec.duration())
		}
		median, weak := map[float64]float64{}, map[float64]float64{}
		for _, f := range fourTones {
			median[f], weak[f] = blockLevels(w, f)
		}
		self := pcmLevel(w, own)
		heard := ""
		for _, f := range fourTones {
			if f != own {
				heard += fmt.Sprintf("%.0f Hz %.1f dBFS (%.0f%% weak), ", f, median[f], 100*weak[f])
			}
		}
		t.Logf("%s hears (median of 60 ms blocks): %sits own %.0f Hz %.1f dBFS over the window; peak %.1f dBFS", p.Name(), heard, own, self, peak(w))
		quietest := 0.0
		for _, f := range fourTones {
			if f == own {
				continue
			}
			quietest = min(quietest, median[f])
			// Sent at -12 dBFS each; G.711, Opus and the mix cost a few dB.
			if median[f] < -20 || median[f] > -6 {
				t.Errorf("%s: the %.0f Hz party at %.1f dBFS, want between -20 and -6", p.Name(), f, median[f])
			}
			// A frame lost now and then is fine on a loaded machine; a
			// party breaking up most of the time is not.
			if weak[f] > 1.0/3 {
				t.Errorf("%s: the %.0f Hz party is weak in %.0f%% of 60 ms blocks: it breaks up", p.Name(), f, 100*weak[f])
			}
		}
		if self > quietest-30 {
			t.Errorf("%s: its own %.0f Hz comes back at %.1f dBFS, want 30 dB below the others (%.1f): the mix must be minus self", p.Name(), own, self, quietest)
		}
		if pk := peak(w); pk > -0.5 {
			t.Errorf("%s: peak %.1f dBFS: clipping", p.Name(), pk)
		}
	}
	t.Logf("done in %v", time.Since(start).Round(time.Millisecond))
}
