// Package materials keeps the documents operators share in a conference on
// disk, and converts each uploaded file into the one fixed format every
// participant's browser shows: one PNG image per page, plus a small thumbnail
// per page (patent claim 7).
//
// It owns the files under Config.Root and nothing else: which documents belong
// to which operator, and who may see them, are for the caller to store. It
// sniffs the file type from content, never from the name; renders PDFs with
// poppler's pdftoppm; converts Office Open XML (docx, pptx, xlsx) to PDF with
// LibreOffice when the server has it; and decodes PNG and JPEG with the
// standard library, re-encoding them (which drops their metadata).
package materials

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
	"unicode"

	"github.com/dialroom/dialroom"
)

// Defaults for Config. Why these numbers:
const (
	// 50 MiB holds a long slide deck with photos; beyond that an upload is
	// more likely a mistake than a material.
	DefaultMaxBytes = 50 << 20
	// 200 pages is more than anyone presents in one conference, and bounds
	// both the conversion time and the disk a document takes (~40 MB).
	DefaultMaxPages = 200
	// 1600 px on the long side is sharp on a full-HD screen and keeps a page
	// PNG around 100-300 KB for every participant to download.
	DefaultPageSize = 1600
	// 240 px is enough to recognise a page in the page strip.
	DefaultThumbSize = 240
	// 40 megapixels is more than any phone camera, and it is checked from the
	// header before decoding (a decompression bomb guard: a few KB of PNG can
	// claim gigapixels). Decoding and flattening take 8-12 bytes a pixel, so
	// one image needs at most ~480 MB while it converts.
	DefaultMaxPixels = 40_000_000
	// Two minutes renders 200 pages on a slow machine; a document that takes
	// longer is hostile or broken.
	DefaultTimeout = 2 * time.Minute
	// Two conversions at a time: each rendering process keeps a core busy, and
	// the server's calls must keep theirs.
	DefaultConcurrency = 2
)

// Config configures a Converter. The zero value of every field except Root
// means its default; defaults live in withDefaults only.
type Config struct {
	// Root is the data directory: each document is the directory Root/ID.
	// It is created if missing. One Converter (one process) owns a Root.
	Root string
	// MaxBytes is the largest upload accepted (DefaultMaxBytes).
	MaxBytes int64
	// MaxPages is the most pages a document may have (DefaultMaxPages).
	MaxPages int
	// PageSize is the long side of a page image in pixels (DefaultPageSize).
	PageSize int
	// ThumbSize is the long side of a thumbnail in pixels (DefaultThumbSize).
	ThumbSize int
	// MaxPixels is the largest PNG or JPEG accepted, in pixels (DefaultMaxPixels).
	MaxPixels int64
	// Pdftoppm is poppler's pdftoppm, a path or a name looked up on PATH
	// ("pdftoppm"). Pdfinfo is its sibling; by default "pdfinfo" next to
	// Pdftoppm.
	Pdftoppm string
	Pdfinfo  string
	// LibreOffice is soffice, to convert docx/pptx/xlsx; empty means Office
	// documents are refused with a message asking for a PDF. See
	// LookLibreOffice.
	LibreOffice string
	// Timeout bounds the conversion of one document (DefaultTimeout).
	Timeout time.Duration
	// Concurrency is how many documents convert at once; more wait for their
	// turn (DefaultConcurrency).
	Concurrency int
	// Logger receives conversion failures (slog.Default()).
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.MaxBytes == 0 {
		c.MaxBytes = DefaultMaxBytes
	}
	if c.MaxPages == 0 {
		c.MaxPages = DefaultMaxPages
	}
	if c.PageSize == 0 {
		c.PageSize = DefaultPageSize
	}
	if c.ThumbSize == 0 {
		c.ThumbSize = DefaultThumbSize
	}
	if c.MaxPixels == 0 {
		c.MaxPixels = DefaultMaxPixels
	}
	if c.Pdftoppm == "" {
		c.Pdftoppm = "pdftoppm"
	}
	if c.Pdfinfo == "" {
		c.Pdfinfo = "pdfinfo"
		if strings.ContainsRune(c.Pdftoppm, filepath.Separator) {
			c.Pdfinfo = filepath.Join(filepath.Dir(c.Pdftoppm), "pdfinfo")
		}
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Concurrency == 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Validate reports every problem of c (after defaults), joined.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, dialroom.Errorf(dialroom.EINVALID, "materials: "+format, args...))
	}
	if c.Root == "" {
		bad("root: a data directory is required")
	}
	if c.MaxBytes < 0 {
		bad("max bytes: %d is negative", c.MaxBytes)
	}
	if c.MaxPages < 0 || c.MaxPages > maxPageNumber {
		bad("max pages: %d is not between 1 and %d", c.MaxPages, maxPageNumber)
	}
	if c.PageSize < 16 {
		bad("page size: %d px is too small", c.PageSize)
	}
	if c.ThumbSize < 16 || c.ThumbSize > c.PageSize {
		bad("thumbnail size: %d px must be between 16 and the page size", c.ThumbSize)
	}
	if c.MaxPixels < 0 {
		bad("max pixels: %d is negative", c.MaxPixels)
	}
	if c.Timeout < 0 {
		bad("timeout: %v is negative", c.Timeout)
	}
	if c.Concurrency < 0 {
		bad("concurrency: %d is negative", c.Concurrency)
	}
	for _, bin := range []struct{ what, path string }{{"pdftoppm", c.Pdftoppm}, {"pdfinfo", c.Pdfinfo}, {"libreoffice", c.LibreOffice}} {
		if bin.path == "" {
			continue
		}
		if _, err := exec.LookPath(bin.path); err != nil {
			bad("%s: %q not found (install poppler-utils, see scripts/deps.sh): %v", bin.what, bin.path, err)
		}
	}
	return errors.Join(errs...)
}

// LookLibreOffice returns the LibreOffice binary found on PATH ("soffice",
// then "libreoffice"), or "" when there is none. It is for the wiring in
// cmd/dialroom to fill Config.LibreOffice.
func LookLibreOffice() string {
	for _, name := range []string{"soffice", "libreoffice"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// Document is a converted document. Its files are Root/ID/page-NNNN.png and
// Root/ID/thumb-NNNN.png, numbered from 0001; the Converter owns them.
type Document struct {
	ID    string // 32 lowercase hex digits, random: unguessable
	Name  string // the uploaded name, cleaned for display only
	Type  string // what the content was: "pdf", "png", "jpeg", "docx", "pptx", "xlsx"
	Pages []Page // in order; page n is Pages[n-1]
	Bytes int64  // size of the uploaded file
}

// Page is the size in pixels of one page image.
type Page struct {
	Width, Height int
}

// Converter converts uploads into documents under one root directory.
// Its methods may be called from any goroutine, concurrently; Convert runs
// for a different new document each time.
type Converter struct {
	cfg  Config
	log  *slog.Logger
	sema chan struct{} // one token per conversion running
}

// tempPrefix names the directories conversions work in, under Root. They are
// never a valid document ID.
const tempPrefix = ".convert-"

// New returns a Converter for cfg after validating it. It creates Root and
// removes work directories that conversions interrupted by a crash left
// behind (older than an hour and twice the timeout, so never a running one).
func New(cfg Config) (*Converter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if err := os.MkdirAll(cfg.Root, 0o750); err != nil {
		return nil, fmt.Errorf("materials: %w", err)
	}
	c := &Converter{cfg: cfg, log: cfg.Logger, sema: make(chan struct{}, cfg.Concurrency)}
	c.removeStale(max(time.Hour, 2*cfg.Timeout))
	return c, nil
}

func (c *Converter) removeStale(age time.Duration) {
	entries, err := os.ReadDir(c.cfg.Root)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), tempPrefix) {
			continue
		}
		if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > age {
			p := filepath.Join(c.cfg.Root, e.Name())
			c.log.Info("materials: removing leftover conversion", "dir", p)
			_ = os.RemoveAll(p)
		}
	}
}

// errTimeout is the cancellation cause when a document hits Config.Timeout.
var errTimeout = dialroom.Errorf(dialroom.EINVALID, "the document took too long to convert")

// Convert reads an uploaded file from src (Convert does not close it), tells
// its type from its content, and converts it into a new document with one
// PNG per page. name is the uploaded file name, kept for display only.
//
// progress, when not nil, is called on Convert's goroutine after each page
// with the pages done and the total, in order: (1, n), (2, n) … (n, n).
//
// At most Config.Concurrency conversions run at once; a call waits for its
// turn as long as ctx allows, and Config.Timeout counts from its start.
//
// Errors a user caused (unsupported type, too large, too many pages,
// damaged or password-protected PDF, timeout) are *dialroom.Error with code
// EINVALID and a message to show them. When ctx ends first, the error wraps
// ctx's cause (errors.Is(err, context.Canceled)). On any error nothing is left
// on disk; on success the document is complete before it is visible under
// Root/ID.
func (c *Converter) Convert(ctx context.Context, src io.Reader, name string, progress func(done, total int)) (*Document, error) {
	if ctx.Err() != nil {
		return nil, fmt.Errorf("materials: %w", context.Cause(ctx))
	}
	select {
	case c.sema <- struct{}{}:
		defer func() { <-c.sema }()
	case <-ctx.Done():
		return nil, fmt.Errorf("materials: waiting to convert: %w", context.Cause(ctx))
	}
	ctx, cancel := context.WithTimeoutCause(ctx, c.cfg.Timeout, errTimeout)
	defer cancel()
	if progress == nil {
		progress = func(int, int) {}
	}

	work, err := os.MkdirTemp(c.cfg.Root, tempPrefix+"*")
	if err != nil {
		return nil, fmt.Errorf("materials: %w", err)
	}
	defer os.RemoveAll(work)
	out := filepath.Join(work, "out")
	if err := os.Mkdir(out, 0o750); err != nil {
		return nil, fmt.Errorf("materials: %w", err)
	}

	doc := &Document{Name: cleanName(name)}
	j := &job{c: c, ctx: ctx, work: work, out: out, progress: progress}
	err = j.run(src, doc)
	if err == nil {
		err = ctx.Err() // a cancellation between the last step and here
	}
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("materials: converting %q: %w", doc.Name, context.Cause(ctx))
		}
		level := slog.LevelInfo // the upload's fault: not the admin's concern
		if dialroom.ErrorCode(err) == dialroom.EINTERNAL {
			level = slog.LevelWarn
		}
		c.log.Log(ctx, level, "materials: conversion failed", "name", doc.Name, "type", doc.Type, "err", err)
		return nil, err
	}
	id, err := newID()
	if err != nil {
		return nil, err
	}
	// A rename within one directory is atomic: readers see all pages or none.
	if err := os.Rename(out, filepath.Join(c.cfg.Root, id)); err != nil {
		return nil, fmt.Errorf("materials: %w", err)
	}
	doc.ID = id
	return doc, nil
}

// Remove deletes document id and its files. Requests for its pages being
// served may fail afterwards; that is for the caller to order. An unknown id
// is ENOTFOUND.
func (c *Converter) Remove(id string) error {
	dir, err := c.dir(id)
	if err != nil {
		return err
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("materials: %w", err)
	}
	return nil
}

// PagePath returns the file of page (from 1) of document id, for the caller
// to serve (read only). An id that is not 32 hex digits is EINVALID; a
// document or page that does not exist is ENOTFOUND. The path is always under
// Root: neither argument can reach elsewhere.
func (c *Converter) PagePath(id string, page int) (string, error) {
	return c.file(id, "page", page)
}

// ThumbPath is PagePath for the page's thumbnail.
func (c *Converter) ThumbPath(id string, page int) (string, error) {
	return c.file(id, "thumb", page)
}

func (c *Converter) file(id, prefix string, page int) (string, error) {
	dir, err := c.dir(id)
	if err != nil {
		return "", err
	}
	if page < 1 || page > maxPageNumber {
		return "", dialroom.Errorf(dialroom.ENOTFOUND, "no page %d in this document", page)
	}
	p := filepath.Join(dir, pageFile(prefix, page))
	if _, err := os.Stat(p); err != nil {
		return "", dialroom.Errorf(dialroom.ENOTFOUND, "no page %d in this document", page)
	}
	return p, nil
}

// dir returns the directory of an existing document id.
func (c *Converter) dir(id string) (string, error) {
	if !validID(id) {
		return "", dialroom.Errorf(dialroom.EINVALID, "not a document id")
	}
	dir := filepath.Join(c.cfg.Root, id)
	if info, err := os.Stat(dir); err != nil || !info.IsDir() {
		return "", dialroom.Errorf(dialroom.ENOTFOUND, "no such document")
	}
	return dir, nil
}

// maxPageNumber is the highest page number a file name holds (four digits).
const maxPageNumber = 9999

// pageFile names the file of page (from 1): page-0001.png, thumb-0001.png.
func pageFile(prefix string, page int) string {
	return fmt.Sprintf("%s-%04d.png", prefix, page)
}

// idBytes random bytes make an ID: 128 bits cannot be guessed or enumerated.
const idBytes = 16

func newID() (string, error) {
	b := make([]byte, idBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("materials: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// validID reports whether id is what newID makes: only then may it name a path.
func validID(id string) bool { return len(id) == 2*idBytes && dialroom.IsRandomID(id) }

// maxName bounds a display name, in bytes.
const maxName = 200

// cleanName makes an uploaded file name fit for display: the last path
// element (browsers on Windows may send C:\...), no control characters, valid
// UTF-8, at most maxName bytes. It is never used as a path.
func cleanName(name string) string {
	return dialroom.FileDisplayName(name, maxName, func(name string) string {
		name = strings.ToValidUTF8(name, "\uFFFD")
		name = strings.Map(func(r rune) rune {
			if unicode.IsControl(r) {
				return -1
			}
			return r
		}, name)
		return strings.TrimSpace(name)
	})
}
