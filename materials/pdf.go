package materials

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/dialroom/dialroom"
)

// pdf renders the PDF at path into page images and thumbnails.
func (j *job) pdf(path string, doc *Document) error {
	n, err := j.pageCount(path)
	if err != nil {
		return err
	}
	if n == 0 {
		return dialroom.Errorf(dialroom.EINVALID, "the PDF has no pages")
	}
	if n > j.c.cfg.MaxPages {
		return dialroom.Errorf(dialroom.EINVALID, "the document has %d pages; at most %d are allowed", n, j.c.cfg.MaxPages)
	}
	doc.Pages = make([]Page, 0, n)
	for k := 1; k <= n; k++ {
		p, err := j.renderPage(path, k)
		if err != nil {
			return err
		}
		doc.Pages = append(doc.Pages, p)
		if err := j.done(k, n); err != nil {
			return err
		}
	}
	return nil
}

// pageCount asks pdfinfo how many pages the PDF has. Damaged and
// password-protected PDFs fail here, before any rendering.
func (j *job) pageCount(path string) (int, error) {
	out, err := j.command(j.c.cfg.Pdfinfo, path)
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "Pages:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(rest))
			if err != nil || n < 0 {
				break
			}
			return n, nil
		}
	}
	return 0, &dialroom.Error{Code: dialroom.EINVALID, Message: "the PDF could not be read; it may be damaged",
		Err: fmt.Errorf("pdfinfo printed no page count")}
}

// renderPage renders page k to page-k.png, sized PageSize on its long side
// (pdftoppm -scale-to: pages with huge MediaBoxes cannot blow up memory),
// then makes its thumbnail.
func (j *job) renderPage(path string, k int) (Page, error) {
	cfg := j.c.cfg
	root := filepath.Join(j.out, strings.TrimSuffix(pageFile("page", k), ".png"))
	ks := strconv.Itoa(k)
	if _, err := j.command(cfg.Pdftoppm, "-png", "-singlefile", "-f", ks, "-l", ks,
		"-scale-to", strconv.Itoa(cfg.PageSize), path, root); err != nil {
		return Page{}, err
	}
	f, err := os.Open(root + ".png")
	if err != nil {
		return Page{}, fmt.Errorf("materials: pdftoppm wrote no page %d: %w", k, err)
	}
	img, err := png.Decode(f)
	f.Close()
	if err != nil {
		return Page{}, fmt.Errorf("materials: page %d: %w", k, err)
	}
	b := img.Bounds()
	if err := writePNG(filepath.Join(j.out, pageFile("thumb", k)), fit(img, cfg.ThumbSize)); err != nil {
		return Page{}, err
	}
	return Page{Width: b.Dx(), Height: b.Dy()}, nil
}

// command runs a poppler tool and returns its standard output. A failure is
// classified from its standard error: poppler exits 1 for a damaged file and
// 1 for a wrong password alike, so the text is all there is to go on (poppler
// has no machine-readable error codes).
func (j *job) command(bin string, args ...string) ([]byte, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(j.ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &limitedBuffer{b: &stderr, n: 64 << 10}
	cmd.WaitDelay = 5 * time.Second
	err := run(cmd)
	if err == nil {
		return stdout.Bytes(), nil
	}
	if j.ctx.Err() != nil {
		return nil, context.Cause(j.ctx)
	}
	name := filepath.Base(bin)
	msg := stderr.String()
	cause := fmt.Errorf("%s: %w: %s", name, err, strings.TrimSpace(msg))
	if _, ok := err.(*exec.ExitError); !ok {
		return nil, &dialroom.Error{Code: dialroom.EINTERNAL, Message: "PDF conversion is not available on the server", Err: cause}
	}
	lower := strings.ToLower(msg)
	switch {
	case strings.Contains(lower, "incorrect password") || strings.Contains(lower, "encrypt") ||
		strings.Contains(lower, "security handler"):
		return nil, &dialroom.Error{Code: dialroom.EINVALID, Message: "the PDF is protected by a password; upload it without the password", Err: cause}
	}
	return nil, &dialroom.Error{Code: dialroom.EINVALID, Message: "the PDF could not be read; it may be damaged", Err: cause}
}

// limitedBuffer keeps the first n bytes written to it and drops the rest: a
// damaged PDF can make poppler print a syntax error per object.
type limitedBuffer struct {
	b *bytes.Buffer
	n int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.n - l.b.Len(); room > 0 {
		l.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
