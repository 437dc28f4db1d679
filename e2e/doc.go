// Package e2e holds dialroom's end-to-end tests and the harness they share:
// a network namespace with only loopback for the whole test binary, real peers
// (headless Chromium: NewBrowser; Kamailio as the carrier: StartCarrier, optionally with a TLS listener whose certificate comes from a NewTestCA; baresip as a phone: StartPhone; SIPp: RunSIPp with the SIPpUAC scenarios), test tones, and
// audio analysis inside the browser.
//
// It is test-only code. Nothing outside e2e may import it; its non-_test.go
// files exist so that helpers can be split by concept and documented.
//
// # Isolation
//
// Chromium offers ICE candidates on every interface it sees, so a browser
// test on a machine with a real network could connect over it and hide a
// loopback bug. TestMain therefore re-executes the test binary in a fresh
// network namespace where only lo exists and is up (see [RunIsolated]).
// Inside it, 127.0.0.1 is the only address: servers started by tests listen
// there, and nothing can reach the outside.
//
// # Peers
//
// A test that needs a peer program asks for it ([RequireChromium]). When the
// program is missing, the test is skipped on a developer machine and fails in
// CI (CI=true), so CI never passes by skipping.
//
// # A browser test
//
//	wav := filepath.Join(t.TempDir(), "alice.wav")
//	if err := e2e.WriteToneWAV(wav, 440, 1, 48000, 1); err != nil {
//		t.Fatal(err)
//	}
//	ctx := e2e.NewBrowser(t, e2e.BrowserOptions{Name: "alice", FakeAudioWAV: wav})
//	// ... chromedp.Do(ctx, chromedp.Navigate(url)), join, wait for the call ...
//	spec, err := e2e.AnalyseAudio(ctx, "window.remoteStream", []float64{440, 660}, time.Second)
//	// spec.DominantHz ≈ 660, spec.Levels[660]-spec.Levels[440] >= 20 (dB)
//
// Tests in other packages that start browsers get the same isolation by
// calling RunIsolated from their own TestMain.
package e2e
