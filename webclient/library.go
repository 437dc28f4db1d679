package webclient

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/dialroom/dialroom"
)

// The operator's library (docs/api.md "Materials"): uploads are spooled to a
// file by the request's goroutine, queued, and converted by a fixed pool of
// worker goroutines through a Converter; the material's row in the store
// says converting, then ready or failed with a message. Progress ("page k of
// n") lives only in memory, in the library, while a conversion runs.

// Converter turns an uploaded file into page images. cmd/dialroom wires
// package materials' Converter (webclient does not import it). Its methods
// are called from any goroutine, concurrently.
type Converter interface {
	// Convert reads the upload from src and converts it; progress is called
	// on Convert's goroutine after each page. Errors the upload caused are
	// *dialroom.Error with EINVALID and a message for the operator; when ctx
	// ends first the error wraps its cause. Nothing is left on disk on error.
	Convert(ctx context.Context, src io.Reader, name string, progress func(done, total int)) (ConvertedDocument, error)
	// Remove deletes a converted document's files; ENOTFOUND if none.
	Remove(document string) error
	// PagePath and ThumbPath return the PNG file of page n (from 1) of a
	// document, or ENOTFOUND.
	PagePath(document string, page int) (string, error)
	ThumbPath(document string, page int) (string, error)
}

// ConvertedDocument is what a Converter made of an upload.
type ConvertedDocument struct {
	ID    string // names the page images for PagePath and ThumbPath
	Type  string // "pdf", "png", "jpeg", "docx" …
	Pages int
}

// MaterialLimits bounds uploads and their queue. Zero fields take the
// defaults below.
type MaterialLimits struct {
	MaxBytes int64 // largest upload (default 50 MiB); larger is refused with 413
	MaxPages int   // shown to the operator; the converter enforces it (default 200)
	// Workers is how many documents convert at once (default 2); give the
	// Converter at least as many slots so that a worker never waits.
	Workers int
	// Queue is how many uploads may wait or convert at once, for all
	// operators together (default 16), and PerOperator for one (default 4):
	// more are refused with 429 instead of filling the disk with spooled
	// uploads.
	Queue       int
	PerOperator int
	// PerRoom is how many files may be dropped into one conference in all
	// (default 20; converting, ready and failed ones count until the
	// conference ends): guests cannot fill the disk. Drops also queue under
	// the PerOperator bound, counted per conference (room_upload.go).
	PerRoom int
	// SpoolDir keeps uploads until their conversion starts. Set, it is owned
	// by this server: leftovers of a previous run are removed at start.
	// Empty: the system's temporary directory, never cleaned (tests).
	SpoolDir string
}

func (l MaterialLimits) withDefaults() MaterialLimits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = 50 << 20
	}
	if l.MaxPages <= 0 {
		l.MaxPages = 200
	}
	if l.Workers <= 0 {
		l.Workers = 2
	}
	if l.Queue <= 0 {
		l.Queue = 16
	}
	if l.PerOperator <= 0 {
		l.PerOperator = 4
	}
	if l.PerRoom <= 0 {
		l.PerRoom = 20
	}
	return l
}

// spoolPrefix names spooled uploads in the spool directory.
const spoolPrefix = "upload-"

// Messages a material's row keeps when its conversion did not end by itself.
const (
	msgInterrupted = "The server stopped during the conversion; please upload the file again."
	msgUnavailable = "Document conversion is not available on this server (poppler-utils is not installed)."
)

// errDeleted ends the conversion of a material its operator deleted.
var errDeleted = errors.New("the material was deleted")

// library queues and runs conversions. Its methods may be called from any
// goroutine; each running conversion belongs to the worker that runs it.
type library struct {
	store  dialroom.MaterialStore
	conv   Converter // nil: uploads are refused with msgUnavailable
	limits MaterialLimits
	log    *slog.Logger
	rand   io.Reader

	ctx    context.Context // ends at close, cancelling every conversion
	cancel context.CancelCauseFunc
	queue  chan *conversion // capacity limits.Queue: sends never block
	wg     sync.WaitGroup   // the workers

	mu     sync.Mutex
	jobs   map[string]*conversion // material id → queued or running
	closed bool
}

// conversion is one queued or running upload. done and total are guarded by
// library.mu; the rest is set before it is queued and then only read.
type conversion struct {
	id, operator, name string
	file               string // the spooled upload; the worker removes it
	ctx                context.Context
	cancel             context.CancelCauseFunc

	started     bool
	done, total int
	// member names who dropped the file into a conference (room_upload.go);
	// empty for library uploads. Guarded by library.mu.
	member string
}

// newLibrary starts the workers. It marks materials a previous run left
// converting as failed and removes its spooled uploads.
func newLibrary(store dialroom.MaterialStore, conv Converter, limits MaterialLimits, log *slog.Logger, rand io.Reader) *library {
	limits = limits.withDefaults()
	ctx, cancel := context.WithCancelCause(context.Background())
	l := &library{store: store, conv: conv, limits: limits, log: log, rand: rand,
		ctx: ctx, cancel: cancel, queue: make(chan *conversion, limits.Queue), jobs: map[string]*conversion{}}
	dbctx, dbcancel := context.WithTimeout(ctx, 5*time.Second)
	if n, err := store.FailConvertingMaterials(dbctx, msgInterrupted); err != nil {
		log.Warn("materials: cannot mark interrupted conversions", "err", err)
	} else if n > 0 {
		log.Info("materials: conversions interrupted by the last stop", "count", n)
	}
	dbcancel()
	if limits.SpoolDir != "" {
		if err := os.MkdirAll(limits.SpoolDir, 0o700); err != nil {
			log.Warn("materials: spool directory", "err", err)
		}
		if old, _ := filepath.Glob(filepath.Join(limits.SpoolDir, spoolPrefix+"*")); len(old) > 0 {
			for _, f := range old {
				_ = os.Remove(f)
			}
		}
	}
	for range limits.Workers {
		l.wg.Add(1)
		go l.work()
	}
	return l
}

// close cancels every conversion, waits for the workers, and records the
// materials that were waiting or converting as failed. Call it once, before
// the store closes.
func (l *library) close() {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	l.cancel(errServerClosing)
	l.wg.Wait()
	for {
		select {
		case j := <-l.queue:
			l.finish(j, ConvertedDocument{}, context.Cause(l.ctx))
		default:
			return
		}
	}
}

// reserve registers a new conversion for the operator, or refuses it when
// the server is closing or the queue is full. The caller must either queue
// it with enqueue or drop it with release.
func (l *library) reserve(operator, name string) (*conversion, error) {
	if l.conv == nil {
		return nil, &dialroom.Error{Code: dialroom.EINTERNAL, Message: msgUnavailable}
	}
	id, err := l.newID()
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, errServerClosing
	}
	mine := 0
	for _, j := range l.jobs {
		if j.operator == operator {
			mine++
		}
	}
	if mine >= l.limits.PerOperator {
		return nil, dialroom.Errorf(dialroom.ETHROTTLED, "%d of your documents are converting already; upload more when one has finished.", mine)
	}
	if len(l.jobs) >= l.limits.Queue {
		return nil, dialroom.Errorf(dialroom.ETHROTTLED, "The server is busy converting documents; try again in a minute.")
	}
	ctx, cancel := context.WithCancelCause(l.ctx)
	j := &conversion{id: id, operator: operator, name: name, ctx: ctx, cancel: cancel}
	l.jobs[id] = j
	return j, nil
}

// release forgets a conversion and removes its spooled upload.
func (l *library) release(j *conversion) {
	j.cancel(nil)
	if j.file != "" {
		_ = os.Remove(j.file)
	}
	l.mu.Lock()
	delete(l.jobs, j.id)
	l.mu.Unlock()
}

// enqueue hands a reserved conversion to the workers, or refuses it once
// close has begun (close drains only what was queued before). It never
// blocks: reserve keeps the conversions within the queue's capacity.
func (l *library) enqueue(j *conversion) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return errServerClosing
	}
	l.queue <- j
	return nil
}

// spool copies an upload of at most limits.MaxBytes from r into a new file
// in the spool directory and records it in j.file.
func (l *library) spool(j *conversion, r io.Reader) (int64, error) {
	f, err := os.CreateTemp(l.limits.SpoolDir, spoolPrefix+"*")
	if err != nil {
		return 0, fmt.Errorf("materials: spool: %w", err)
	}
	j.file = f.Name()
	n, err := io.Copy(f, r)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("materials: spool: %w", cerr)
	}
	return n, err
}

// work is one worker goroutine: it converts queued uploads until close.
func (l *library) work() {
	defer l.wg.Done()
	for {
		select {
		case <-l.ctx.Done():
			return
		case j := <-l.queue:
			l.run(j)
		}
	}
}

// run converts one upload on the worker's goroutine.
func (l *library) run(j *conversion) {
	l.mu.Lock()
	j.started = true
	l.mu.Unlock()
	var (
		doc ConvertedDocument
		err = context.Cause(j.ctx)
	)
	if err == nil {
		var f *os.File
		if f, err = os.Open(j.file); err == nil {
			doc, err = l.conv.Convert(j.ctx, f, j.name, func(done, total int) {
				l.mu.Lock()
				j.done, j.total = done, total
				l.mu.Unlock()
			})
			f.Close()
		}
	}
	l.finish(j, doc, err)
}

// finish records how a conversion ended and forgets it.
func (l *library) finish(j *conversion, doc ConvertedDocument, err error) {
	defer l.release(j)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	switch {
	case err == nil:
		if ferr := l.store.FinishMaterial(ctx, j.id, doc.ID, doc.Type, doc.Pages); ferr != nil {
			// Deleted while it converted (or the store failed): nobody can
			// reach these pages, so they go.
			if dialroom.ErrorCode(ferr) != dialroom.ENOTFOUND {
				l.log.Error("materials: recording a conversion", "material", j.id, "err", ferr)
			}
			_ = l.conv.Remove(doc.ID)
		}
		return
	case errors.Is(err, errDeleted) || errors.Is(context.Cause(j.ctx), errDeleted):
		return // the row is gone already
	case l.ctx.Err() != nil:
		err = &dialroom.Error{Code: dialroom.EGONE, Message: msgInterrupted, Err: err}
	case dialroom.ErrorCode(err) == dialroom.EINTERNAL:
		l.log.Error("materials: conversion failed", "material", j.id, "err", err)
	}
	msg := dialroom.ErrorMessage(err)
	if dialroom.ErrorCode(err) == dialroom.EINTERNAL && msg == "Internal error." {
		msg = "The document could not be converted because of a server error."
	}
	if ferr := l.store.FailMaterial(ctx, j.id, msg); ferr != nil && dialroom.ErrorCode(ferr) != dialroom.ENOTFOUND {
		l.log.Error("materials: recording a failed conversion", "material", j.id, "err", ferr)
	}
}

// cancelJob ends the conversion of material id, if one is queued or running.
func (l *library) cancelJob(id string) {
	l.mu.Lock()
	j := l.jobs[id]
	l.mu.Unlock()
	if j != nil {
		j.cancel(errDeleted)
	}
}

// progress reports a queued or running conversion of material id: whether it
// has started, and the pages done of the total (0 of 0 until the converter
// knows the page count). ok is false when none is known.
func (l *library) progress(id string) (started bool, done, total int, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	j := l.jobs[id]
	if j == nil {
		return false, 0, 0, false
	}
	return j.started, j.done, j.total, true
}

// newID returns 16 random bytes in hex, like the converter's document ids:
// material ids appear in URLs and must not be guessable.
func (l *library) newID() (string, error) {
	b := make([]byte, 16)
	if _, err := io.ReadFull(l.rand, b); err != nil {
		return "", fmt.Errorf("materials: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// validMaterialID reports whether id can be a material id, so that junk is
// answered without a database query.
func validMaterialID(id string) bool { return dialroom.IsRandomID(id) }

// maxMaterialName bounds a material's display name, in bytes.
const maxMaterialName = 200

// materialName makes an uploaded file name fit for display: its last path
// element (some browsers send C:\...), no control or formatting characters,
// valid UTF-8, at most maxMaterialName bytes; "document" if nothing is left.
// It is never used as a path.
func materialName(name string) string {
	// One line: controls become spaces, bidi overrides go.
	return dialroom.FileDisplayName(name, maxMaterialName, cleanCardText)
}
