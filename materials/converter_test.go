package materials

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dialroom/dialroom"
)

// needPoppler skips a test when poppler-utils is missing, except in CI, where
// a missing dependency must fail the run instead of passing it silently.
func needPoppler(t testing.TB) {
	t.Helper()
	for _, bin := range []string{"pdftoppm", "pdfinfo"} {
		if _, err := exec.LookPath(bin); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s not found (scripts/deps.sh installs poppler-utils): %v", bin, err)
			}
			t.Skipf("%s not found; run scripts/deps.sh", bin)
		}
	}
}

func newTestConverter(t testing.TB, cfg Config) *Converter {
	t.Helper()
	needPoppler(t)
	if cfg.Root == "" {
		cfg.Root = t.TempDir()
	}
	cfg.Logger = slog.New(slog.DiscardHandler)
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// rootEntries lists what is in the converter's root: after a failed
// conversion it must be nothing.
func rootEntries(t *testing.T, c *Converter) []string {
	t.Helper()
	entries, err := os.ReadDir(c.cfg.Root)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func decodePNGFile(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img
}

func near(a, b int) bool { return a-b <= 1 && b-a <= 1 }

type progressCall struct{ done, total int }

func TestConvertPDF(t *testing.T) {
	c := newTestConverter(t, Config{})
	var calls []progressCall
	doc, err := c.Convert(t.Context(), bytes.NewReader(makePDF([]testPage{a4, a4Wide, smallCard}, false)), `C:\Users\op\slides.pdf`,
		func(done, total int) { calls = append(calls, progressCall{done, total}) })
	if err != nil {
		t.Fatal(err)
	}
	if !validID(doc.ID) || doc.Name != "slides.pdf" || doc.Type != "pdf" || doc.Bytes == 0 {
		t.Errorf("document = %+v", doc)
	}
	if want := []progressCall{{1, 3}, {2, 3}, {3, 3}}; !slices.Equal(calls, want) {
		t.Errorf("progress calls = %v, want %v", calls, want)
	}
	// Long side 1600 px, aspect ratio kept; the small card is scaled up.
	want := []Page{{1131, 1600}, {1600, 1131}, {1600, 914}}
	if len(doc.Pages) != len(want) {
		t.Fatalf("pages = %v, want %v", doc.Pages, want)
	}
	for i, w := range want {
		n := i + 1
		if p := doc.Pages[i]; !near(p.Width, w.Width) || !near(p.Height, w.Height) {
			t.Errorf("page %d is %dx%d, want %dx%d", n, p.Width, p.Height, w.Width, w.Height)
		}
		path, err := c.PagePath(doc.ID, n)
		if err != nil {
			t.Fatal(err)
		}
		img := decodePNGFile(t, path)
		if b := img.Bounds(); b.Dx() != doc.Pages[i].Width || b.Dy() != doc.Pages[i].Height {
			t.Errorf("page %d file is %v, document says %+v", n, b, doc.Pages[i])
		}
		// The blue rectangle makePDF draws is rendered: probe its centre.
		spec := []testPage{a4, a4Wide, smallCard}[i]
		b := img.Bounds()
		px := int((36 + spec.W/4) / spec.W * float64(b.Dx()))
		py := int((1 - (36+spec.H/6)/spec.H) * float64(b.Dy()))
		if r, g, bl, _ := img.At(px, py).RGBA(); !(bl > 0xa000 && r < 0x5000 && g < 0x8000) {
			t.Errorf("page %d: no blue rectangle at the bottom left (%x %x %x)", n, r, g, bl)
		}
		thumb, err := c.ThumbPath(doc.ID, n)
		if err != nil {
			t.Fatal(err)
		}
		tb := decodePNGFile(t, thumb).Bounds()
		if max(tb.Dx(), tb.Dy()) != DefaultThumbSize {
			t.Errorf("thumbnail %d is %v, want a long side of %d", n, tb, DefaultThumbSize)
		}
	}
	if _, err := c.PagePath(doc.ID, 4); dialroom.ErrorCode(err) != dialroom.ENOTFOUND {
		t.Errorf("PagePath(page 4 of 3) = %v, want ENOTFOUND", err)
	}
	// Only the document is left: no work directories.
	if got := rootEntries(t, c); !slices.Equal(got, []string{doc.ID}) {
		t.Errorf("root holds %v, want only %s", got, doc.ID)
	}
	files, _ := os.ReadDir(filepath.Join(c.cfg.Root, doc.ID))
	if len(files) != 6 {
		t.Errorf("document directory holds %d files, want 3 pages and 3 thumbnails", len(files))
	}
	if err := c.Remove(doc.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PagePath(doc.ID, 1); dialroom.ErrorCode(err) != dialroom.ENOTFOUND {
		t.Errorf("PagePath after Remove = %v, want ENOTFOUND", err)
	}
	if err := c.Remove(doc.ID); dialroom.ErrorCode(err) != dialroom.ENOTFOUND {
		t.Errorf("second Remove = %v, want ENOTFOUND", err)
	}
}

func encodePNG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodeJPEG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func filled(w, h int, c color.Color) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, c)
		}
	}
	return img
}

func TestConvertImage(t *testing.T) {
	red := color.NRGBA{200, 10, 10, 255}
	tests := []struct {
		name     string
		data     []byte
		typ      string
		w, h     int
		centre   color.RGBA // the page's centre pixel
		withJunk bool
	}{
		{"big.png", encodePNG(t, filled(3200, 1000, red)), "png", 1600, 500, color.RGBA{200, 10, 10, 255}, false},
		{"tall.jpg", encodeJPEG(t, filled(600, 2400, red)), "jpeg", 400, 1600, color.RGBA{200, 10, 10, 255}, false},
		{"small.jpg", encodeJPEG(t, filled(800, 600, red)), "jpeg", 800, 600, color.RGBA{200, 10, 10, 255}, false},
		// Transparency becomes paper white.
		{"clear.png", encodePNG(t, filled(300, 200, color.NRGBA{0, 0, 0, 0})), "png", 300, 200, color.RGBA{255, 255, 255, 255}, false},
		// Bytes after IEND (a hidden payload) do not survive re-encoding.
		{"named-like.pdf", append(encodePNG(t, filled(100, 100, red)), "SECRET-TRAILER"...), "png", 100, 100, color.RGBA{200, 10, 10, 255}, true},
	}
	c := newTestConverter(t, Config{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls []progressCall
			doc, err := c.Convert(t.Context(), bytes.NewReader(tt.data), tt.name, func(d, n int) { calls = append(calls, progressCall{d, n}) })
			if err != nil {
				t.Fatal(err)
			}
			if doc.Type != tt.typ || len(doc.Pages) != 1 || doc.Pages[0] != (Page{tt.w, tt.h}) {
				t.Errorf("document = %+v, want one %s page of %dx%d", doc, tt.typ, tt.w, tt.h)
			}
			if !slices.Equal(calls, []progressCall{{1, 1}}) {
				t.Errorf("progress calls = %v", calls)
			}
			path, err := c.PagePath(doc.ID, 1)
			if err != nil {
				t.Fatal(err)
			}
			img := decodePNGFile(t, path)
			got := color.RGBAModel.Convert(img.At(tt.w/2, tt.h/2)).(color.RGBA)
			d := func(a, b uint8) int { return max(int(a)-int(b), int(b)-int(a)) }
			if d(got.R, tt.centre.R) > 8 || d(got.G, tt.centre.G) > 8 || d(got.B, tt.centre.B) > 8 || got.A != 255 {
				t.Errorf("centre pixel = %v, want about %v", got, tt.centre)
			}
			raw, _ := os.ReadFile(path)
			if tt.withJunk && bytes.Contains(raw, []byte("SECRET")) {
				t.Error("trailing bytes of the upload survived")
			}
			thumb, _ := c.ThumbPath(doc.ID, 1)
			if tb := decodePNGFile(t, thumb).Bounds(); max(tb.Dx(), tb.Dy()) != min(DefaultThumbSize, max(tt.w, tt.h)) {
				t.Errorf("thumbnail is %v", tb)
			}
		})
	}
}

// pngClaiming returns a valid small PNG whose header claims w×h pixels, with
// the IHDR checksum fixed so only the size is a lie (a decompression bomb's
// header).
func pngClaiming(t testing.TB, w, h uint32) []byte {
	b := encodePNG(t, filled(4, 4, color.Black))
	// Signature (8), length (4), "IHDR" (4), then width and height.
	ihdr := b[12 : 12+4+13]
	put := func(o int, v uint32) {
		ihdr[o], ihdr[o+1], ihdr[o+2], ihdr[o+3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
	}
	put(4, w)
	put(8, h)
	sum := crc32.ChecksumIEEE(ihdr)
	crc := b[12+4+13:]
	crc[0], crc[1], crc[2], crc[3] = byte(sum>>24), byte(sum>>16), byte(sum>>8), byte(sum)
	return b
}

// ooxml builds an Office Open XML package whose [Content_Types].xml declares
// mainType for its main part.
func ooxml(t testing.TB, part, mainType string) []byte {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	files := []struct{ name, body string }{
		{"[Content_Types].xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/` + part + `" ContentType="` + mainType + `"/>
</Types>`},
		{"_rels/.rels", `<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"/>`},
		{part, `<?xml version="1.0"?><root/>`},
	}
	for _, f := range files {
		w, err := zw.Create(f.name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(f.body))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

const (
	docxType = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
	pptxType = "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml"
)

func TestConvertRefuses(t *testing.T) {
	plainZip := func() []byte {
		var b bytes.Buffer
		zw := zip.NewWriter(&b)
		w, _ := zw.Create("notes.txt")
		w.Write([]byte("hello"))
		zw.Close()
		return b.Bytes()
	}()
	gif := []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;")
	tests := []struct {
		name string
		cfg  Config
		data []byte
		msg  string // in the user-facing message
	}{
		{"corrupt pdf", Config{}, []byte("%PDF-1.4 garbage"), "could not be read; it may be damaged"},
		{"encrypted pdf", Config{}, makePDF([]testPage{a4}, true), "protected by a password"},
		{"too large", Config{MaxBytes: 1 << 20}, bytes.Repeat([]byte("%PDF-1.4\n"), 1<<18), "larger than 1 MB"},
		{"too many pages", Config{MaxPages: 2}, makePDF([]testPage{a4, a4, a4}, false), "has 3 pages; at most 2"},
		{"docx without libreoffice", Config{}, ooxml(t, "word/document.xml", docxType), "Office documents need LibreOffice on the server; upload a PDF instead"},
		{"pptx without libreoffice", Config{}, ooxml(t, "ppt/presentation.xml", pptxType), "need LibreOffice"},
		{"plain zip", Config{}, plainZip, "unsupported file type (application/zip)"},
		{"gif", Config{}, gif, "unsupported file type (image/gif)"},
		{"text named .pdf", Config{}, []byte("just some text, not a PDF"), "unsupported file type (text/plain; charset=utf-8)"},
		{"empty", Config{}, nil, "the file is empty"},
		{"png bomb", Config{}, pngClaiming(t, 100000, 100000), "too large (100000×100000 pixels; at most 40 megapixels)"},
		{"broken png", Config{}, encodePNG(t, filled(10, 10, color.Black))[:40], "png image could not be read"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestConverter(t, tt.cfg)
			called := false
			doc, err := c.Convert(t.Context(), bytes.NewReader(tt.data), "upload.pdf", func(int, int) { called = true })
			if err == nil {
				t.Fatalf("Convert = %+v, want an error", doc)
			}
			if code := dialroom.ErrorCode(err); code != dialroom.EINVALID {
				t.Errorf("code = %s (%v), want EINVALID", code, err)
			}
			if msg := dialroom.ErrorMessage(err); !strings.Contains(msg, tt.msg) {
				t.Errorf("message = %q, want it to contain %q", msg, tt.msg)
			}
			if called {
				t.Error("progress was called for a refused document")
			}
			if got := rootEntries(t, c); len(got) != 0 {
				t.Errorf("a failed conversion left %v behind", got)
			}
		})
	}
}

func TestConvertCancel(t *testing.T) {
	c := newTestConverter(t, Config{})
	ctx, cancel := context.WithCancel(t.Context())
	var calls []progressCall
	_, err := c.Convert(ctx, bytes.NewReader(makePDF([]testPage{a4, a4, a4, a4}, false)), "x.pdf", func(d, n int) {
		calls = append(calls, progressCall{d, n})
		cancel() // the operator gives up after the first page
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Convert = %v, want context.Canceled", err)
	}
	if len(calls) != 1 {
		t.Errorf("progress calls after cancel = %v", calls)
	}
	if got := rootEntries(t, c); len(got) != 0 {
		t.Errorf("a cancelled conversion left %v behind", got)
	}

	// A cancelled context before the start converts nothing.
	if _, err := c.Convert(ctx, bytes.NewReader(makePDF([]testPage{a4}, false)), "y.pdf", nil); !errors.Is(err, context.Canceled) {
		t.Errorf("Convert with a cancelled context = %v", err)
	}
	if got := rootEntries(t, c); len(got) != 0 {
		t.Errorf("left %v behind", got)
	}
}

func TestConvertTimeout(t *testing.T) {
	c := newTestConverter(t, Config{Timeout: 1}) // 1 ns: over before it starts
	_, err := c.Convert(t.Context(), bytes.NewReader(makePDF([]testPage{a4}, false)), "slow.pdf", nil)
	if dialroom.ErrorCode(err) != dialroom.EINVALID || !strings.Contains(dialroom.ErrorMessage(err), "too long") {
		t.Errorf("Convert = %v, want EINVALID: too long", err)
	}
	if got := rootEntries(t, c); len(got) != 0 {
		t.Errorf("left %v behind", got)
	}
}

// TestConvertOffice drives the LibreOffice path with a stand-in soffice that
// answers like the real one (a PDF named after the input in --outdir).
func TestConvertOffice(t *testing.T) {
	dir := t.TempDir()
	fixture := filepath.Join(dir, "fixture.pdf")
	if err := os.WriteFile(fixture, makePDF([]testPage{a4Wide, a4Wide}, false), 0o600); err != nil {
		t.Fatal(err)
	}
	argsFile := filepath.Join(dir, "args")
	script := fmt.Sprintf(`#!/bin/sh
echo "$@" > %q
out=""; in=""
while [ $# -gt 0 ]; do
  case "$1" in --outdir) out="$2"; shift;; *) in="$1";; esac
  shift
done
base=$(basename "$in"); cp %q "$out/${base%%.*}.pdf"
`, argsFile, fixture)
	soffice := filepath.Join(dir, "soffice")
	if err := os.WriteFile(soffice, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	c := newTestConverter(t, Config{LibreOffice: soffice})
	doc, err := c.Convert(t.Context(), bytes.NewReader(ooxml(t, "ppt/presentation.xml", pptxType)), "deck.pptx", nil)
	if err != nil {
		t.Fatal(err)
	}
	if doc.Type != "pptx" || len(doc.Pages) != 2 || doc.Pages[0].Width != 1600 {
		t.Errorf("document = %+v", doc)
	}
	args, _ := os.ReadFile(argsFile)
	for _, want := range []string{"--headless", "--convert-to pdf", "-env:UserInstallation=file:///", "source.pptx"} {
		if !bytes.Contains(args, []byte(want)) {
			t.Errorf("soffice arguments %q lack %q", args, want)
		}
	}

	// A converter that fails to produce a PDF is the user's problem to solve.
	if err := os.WriteFile(soffice, []byte("#!/bin/sh\necho 'Error: source file could not be loaded' >&2\nexit 1\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	_, err = c.Convert(t.Context(), bytes.NewReader(ooxml(t, "word/document.xml", docxType)), "memo.docx", nil)
	if dialroom.ErrorCode(err) != dialroom.EINVALID || !strings.Contains(dialroom.ErrorMessage(err), "docx document could not be converted") {
		t.Errorf("Convert = %v", err)
	}
	if got := rootEntries(t, c); !slices.Equal(got, []string{doc.ID}) {
		t.Errorf("root holds %v", got)
	}
}

func TestPathsRefuseTraversal(t *testing.T) {
	c := newTestConverter(t, Config{})
	doc, err := c.Convert(t.Context(), bytes.NewReader(encodePNG(t, filled(10, 10, color.Black))), "a.png", nil)
	if err != nil {
		t.Fatal(err)
	}
	// A file beside root that traversal would reach.
	secret := filepath.Join(filepath.Dir(c.cfg.Root), "page-0001.png")
	os.WriteFile(secret, []byte("secret"), 0o600)

	tests := []struct {
		id   string
		page int
		code string
	}{
		{"..", 1, dialroom.EINVALID},
		{"../" + doc.ID, 1, dialroom.EINVALID},
		{doc.ID[:30] + "/.", 1, dialroom.EINVALID},
		{"/etc/passwd", 1, dialroom.EINVALID},
		{"", 1, dialroom.EINVALID},
		{strings.ToUpper(doc.ID), 1, dialroom.EINVALID},
		{doc.ID + "00", 1, dialroom.EINVALID},
		{strings.Repeat("g", 32), 1, dialroom.EINVALID},
		{strings.Repeat("0", 32), 1, dialroom.ENOTFOUND},
		{doc.ID, 0, dialroom.ENOTFOUND},
		{doc.ID, -1, dialroom.ENOTFOUND},
		{doc.ID, 2, dialroom.ENOTFOUND},
		{doc.ID, 1 << 40, dialroom.ENOTFOUND},
	}
	for _, tt := range tests {
		for _, f := range []func(string, int) (string, error){c.PagePath, c.ThumbPath} {
			if p, err := f(tt.id, tt.page); dialroom.ErrorCode(err) != tt.code {
				t.Errorf("path(%q, %d) = %q, %v; want %s", tt.id, tt.page, p, err, tt.code)
			}
		}
		if tt.page == 1 {
			if err := c.Remove(tt.id); dialroom.ErrorCode(err) != tt.code {
				t.Errorf("Remove(%q) = %v; want %s", tt.id, err, tt.code)
			}
		}
	}
	p, err := c.PagePath(doc.ID, 1)
	if err != nil || p != filepath.Join(c.cfg.Root, doc.ID, "page-0001.png") {
		t.Errorf("PagePath = %q, %v", p, err)
	}
	if _, err := os.Stat(secret); err != nil {
		t.Errorf("the file beside root is gone: %v", err)
	}
}

// TestConvertConcurrent converts several documents at once (run with -race):
// each gets its own ID and directory.
func TestConvertConcurrent(t *testing.T) {
	c := newTestConverter(t, Config{})
	inputs := [][]byte{
		makePDF([]testPage{a4, letter}, false),
		encodePNG(t, filled(50, 40, color.White)),
		encodeJPEG(t, filled(60, 40, color.White)),
		makePDF([]testPage{a4Wide}, false),
	}
	docs := make([]*Document, len(inputs))
	var wg sync.WaitGroup
	for i, in := range inputs {
		wg.Go(func() {
			d, err := c.Convert(t.Context(), bytes.NewReader(in), "f", nil)
			if err != nil {
				t.Error(err)
			}
			docs[i] = d
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, d := range docs {
		if d == nil || seen[d.ID] {
			t.Fatalf("documents = %+v", docs)
		}
		seen[d.ID] = true
	}
	if got := rootEntries(t, c); len(got) != len(inputs) {
		t.Errorf("root holds %v", got)
	}
}

func TestNewValidates(t *testing.T) {
	_, err := New(Config{Pdftoppm: "/nonexistent/pdftoppm", PageSize: 8, MaxPages: -1})
	if err == nil {
		t.Fatal("New accepted a bad config")
	}
	for _, want := range []string{"root: a data directory is required", "pdftoppm", "pdfinfo", "page size", "max pages"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestNewRemovesStaleWork(t *testing.T) {
	needPoppler(t)
	root := t.TempDir()
	stale := filepath.Join(root, tempPrefix+"123")
	os.MkdirAll(filepath.Join(stale, "out"), 0o750)
	old := timeAgo(2 * time.Hour)
	os.Chtimes(stale, old, old)
	fresh := filepath.Join(root, tempPrefix+"456")
	os.Mkdir(fresh, 0o750)
	if _, err := New(Config{Root: root}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale work directory kept: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("fresh work directory removed: %v", err)
	}
}

func TestCleanName(t *testing.T) {
	tests := map[string]string{
		"report.pdf":             "report.pdf",
		`C:\Users\a\deck.pptx`:   "deck.pptx",
		"../../etc/passwd":       "passwd",
		"a\x00b\nc.pdf":          "abc.pdf",
		"  ":                     "document",
		"bad\xffutf8.pdf":        "bad\uFFFDutf8.pdf",
		strings.Repeat("é", 150): strings.Repeat("é", 100),
	}
	for in, want := range tests {
		if got := cleanName(in); got != want {
			t.Errorf("cleanName(%q) = %q, want %q", in, got, want)
		}
	}
}

func BenchmarkConvertPDF(b *testing.B) {
	pages := make([]testPage, 20)
	for i := range pages {
		pages[i] = []testPage{a4, a4Wide}[i%2]
	}
	pdf := makePDF(pages, false)
	c := newTestConverter(b, Config{})
	b.ResetTimer()
	for b.Loop() {
		doc, err := c.Convert(b.Context(), bytes.NewReader(pdf), "bench.pdf", nil)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		c.Remove(doc.ID)
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N*len(pages)), "ms/page")
}

func timeAgo(d time.Duration) time.Time { return time.Now().Add(-d) }
