package materials

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/dialroom/dialroom"
)

// job is one conversion: it belongs to the goroutine running Convert.
type job struct {
	c        *Converter
	ctx      context.Context
	work     string // the work directory, removed when Convert returns
	out      string // becomes Root/ID on success
	progress func(done, total int)
}

// run spools src into the work directory, then converts it by its kind.
func (j *job) run(src io.Reader, doc *Document) error {
	source := filepath.Join(j.work, "source")
	n, err := j.spool(src, source)
	if err != nil {
		return err
	}
	doc.Bytes = n
	f, err := os.Open(source)
	if err != nil {
		return fmt.Errorf("materials: %w", err)
	}
	k, detected := sniff(f, n)
	f.Close()
	doc.Type = string(k)
	switch {
	case k == kindPDF:
		return j.pdf(source, doc)
	case k == kindPNG || k == kindJPEG:
		return j.image(source, k, doc)
	case k.office():
		if j.c.cfg.LibreOffice == "" {
			return dialroom.Errorf(dialroom.EINVALID, "Office documents need LibreOffice on the server; upload a PDF instead")
		}
		pdf, err := j.office(source, k)
		if err != nil {
			return err
		}
		return j.pdf(pdf, doc)
	case n == 0:
		return dialroom.Errorf(dialroom.EINVALID, "the file is empty")
	}
	return dialroom.Errorf(dialroom.EINVALID, "unsupported file type (%s); upload a PDF, PNG or JPEG", detected)
}

// spool copies src to path, refusing more than MaxBytes. It reads at most
// MaxBytes+1 bytes: one more than the limit proves the upload too large
// without reading the rest of it.
func (j *job) spool(src io.Reader, path string) (int64, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return 0, fmt.Errorf("materials: %w", err)
	}
	defer f.Close()
	limit := j.c.cfg.MaxBytes
	n, err := io.Copy(f, io.LimitReader(ctxReader{j.ctx, src}, limit+1))
	if err != nil {
		return n, fmt.Errorf("materials: reading the upload: %w", err)
	}
	if n > limit {
		return n, dialroom.Errorf(dialroom.EINVALID, "the file is larger than %s MB", megabytes(limit))
	}
	if err := f.Close(); err != nil {
		return n, fmt.Errorf("materials: %w", err)
	}
	return n, nil
}

// megabytes formats n bytes in MiB, the way people call them MB: "50", "0.5".
func megabytes(n int64) string {
	return fmt.Sprintf("%.4g", float64(n)/(1<<20))
}

// ctxReader stops a slow upload when the conversion's context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (r ctxReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}

// done records that page k of n is complete.
func (j *job) done(k, n int) error {
	if err := j.ctx.Err(); err != nil {
		return err
	}
	j.progress(k, n)
	return nil
}
