package materials

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/dialroom/dialroom"
)

// office converts an Office Open XML document at path to PDF with LibreOffice
// headless and returns the PDF's path.
func (j *job) office(path string, k kind) (string, error) {
	dir := filepath.Join(j.work, "office")
	if err := os.Mkdir(dir, 0o750); err != nil {
		return "", fmt.Errorf("materials: %w", err)
	}
	// LibreOffice picks its import filter by extension.
	in := filepath.Join(dir, "source."+string(k))
	if err := os.Rename(path, in); err != nil {
		return "", fmt.Errorf("materials: %w", err)
	}
	// Each conversion gets its own profile: LibreOffice instances sharing one
	// profile hand their work to the first and concurrent conversions fail.
	profile := (&url.URL{Scheme: "file", Path: filepath.Join(dir, "profile")}).String()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(j.ctx, j.c.cfg.LibreOffice, "-env:UserInstallation="+profile,
		"--headless", "--norestore", "--nologo", "--nolockcheck",
		"--convert-to", "pdf", "--outdir", dir, in)
	cmd.Env = append(os.Environ(), "HOME="+dir)
	cmd.Stderr = &limitedBuffer{b: &stderr, n: 64 << 10}
	killGroup(cmd) // soffice starts soffice.bin; a timeout must end both
	cmd.WaitDelay = 5 * time.Second
	err := run(cmd)
	if j.ctx.Err() != nil {
		return "", context.Cause(j.ctx)
	}
	pdf := filepath.Join(dir, "source.pdf")
	if _, serr := os.Stat(pdf); err != nil || serr != nil {
		cause := fmt.Errorf("libreoffice: %v: %s", err, strings.TrimSpace(stderr.String()))
		return "", &dialroom.Error{Code: dialroom.EINVALID, Message: fmt.Sprintf("the %s document could not be converted; try saving it as PDF", k), Err: cause}
	}
	return pdf, nil
}
