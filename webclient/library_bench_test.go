package webclient

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/dialroom/dialroom"
	"github.com/dialroom/dialroom/bridge"
	"github.com/dialroom/dialroom/e2e"
	"github.com/dialroom/dialroom/materials"
	"github.com/dialroom/dialroom/storage"
)

// BenchmarkLibraryConvert20Pages measures a 20-page A4 PDF through the API
// at the default page size (1600 px): POST /api/materials, then GET
// /api/materials/{id} every 10 ms until it is ready. It reports ms/page from
// the upload to the ready state, pdftoppm rendering and thumbnails included
// (docs/benchmarks.md).
func BenchmarkLibraryConvert20Pages(b *testing.B) {
	e2e.RequirePoppler(b)
	const pages = 20
	quiet := slog.New(slog.DiscardHandler)
	c, err := materials.New(materials.Config{Root: b.TempDir(), Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	db, err := storage.Open(filepath.Join(b.TempDir(), "dialroom.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	engine := bridge.NewEngine(bridge.Config{Logger: quiet})
	defer engine.Close()
	srv, err := New(Config{Store: db, Engine: engine, Numbering: func() NumberRules { return &testRules{} }, Logger: quiet,
		Converter: realConverter{c}, Materials: MaterialLimits{SpoolDir: b.TempDir()}})
	if err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	defer srv.Close()
	ctx := context.Background()
	if err := db.CreateOperator(ctx, &dialroom.Operator{Login: "alice", PasswordHash: "x"}); err != nil {
		b.Fatal(err)
	}
	token := "benchmark-session-token"
	if err := db.CreateSession(ctx, &dialroom.Session{TokenHash: hashToken(token), Operator: "alice",
		Created: time.Now(), Expires: time.Now().Add(time.Hour)}); err != nil {
		b.Fatal(err)
	}
	cookie := &http.Cookie{Name: sessionCookie, Value: token}
	pdf := e2e.MakePDF(e2e.Pages(pages), false)

	b.ResetTimer()
	for b.Loop() {
		req, _ := http.NewRequest(http.MethodPost, ts.URL+"/api/materials?name=bench.pdf", bytes.NewReader(pdf))
		req.AddCookie(cookie)
		resp, err := ts.Client().Do(req)
		if err != nil {
			b.Fatal(err)
		}
		var m jsonMaterial
		err = json.NewDecoder(resp.Body).Decode(&m)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusAccepted {
			b.Fatalf("upload: %d %v", resp.StatusCode, err)
		}
		for m.State == dialroom.MaterialConverting {
			time.Sleep(10 * time.Millisecond)
			req, _ := http.NewRequest(http.MethodGet, ts.URL+"/api/materials/"+m.ID, nil)
			req.AddCookie(cookie)
			resp, err := ts.Client().Do(req)
			if err != nil {
				b.Fatal(err)
			}
			err = json.NewDecoder(resp.Body).Decode(&m)
			resp.Body.Close()
			if err != nil {
				b.Fatal(err)
			}
		}
		if m.State != dialroom.MaterialReady || m.Pages != pages {
			b.Fatalf("converted: %+v", m)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N*pages), "ms/page")
}
