package e2e

import (
	"bytes"
	"fmt"
	"os/exec"
	"strings"
	"testing"
)

// PDFPage is one page of a generated PDF: its MediaBox in PostScript points
// (1/72 in).
type PDFPage struct{ W, H float64 }

// A4 is an A4 portrait page in points.
var A4 = PDFPage{W: 595, H: 842}

// MakePDF returns a valid PDF 1.4 with one page per spec, written object by
// object with a cross-reference table of exact byte offsets (ISO 32000-1
// §7.5.4), so tests carry readable generators instead of binary blobs. Each
// page draws a filled rectangle and "Page N" in Helvetica (a standard 14
// font: nothing embedded). With encrypt, the trailer names a Standard
// security handler with an unknown user password, as a password-protected
// PDF does (readers stop there; the content itself is not encrypted).
func MakePDF(pages []PDFPage, encrypt bool) []byte {
	var objs []string
	add := func(s string) int { objs = append(objs, s); return len(objs) }
	catalog, tree := add(""), add("")
	font := add("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
	var kids []string
	for i, p := range pages {
		content := fmt.Sprintf("0.2 0.4 0.8 rg\n36 36 %.0f %.0f re f\nBT /F1 36 Tf 0 0 0 rg 72 %.0f Td (Page %d) Tj ET\n",
			p.W/2, p.H/3, p.H-108, i+1)
		c := add(fmt.Sprintf("<< /Length %d >>\nstream\n%sendstream", len(content), content))
		pg := add(fmt.Sprintf("<< /Type /Page /Parent %d 0 R /MediaBox [0 0 %.0f %.0f] /Resources << /Font << /F1 %d 0 R >> >> /Contents %d 0 R >>",
			tree, p.W, p.H, font, c))
		kids = append(kids, fmt.Sprintf("%d 0 R", pg))
	}
	objs[catalog-1] = fmt.Sprintf("<< /Type /Catalog /Pages %d 0 R >>", tree)
	objs[tree-1] = fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), len(kids))
	extra := ""
	if encrypt {
		enc := add("<< /Filter /Standard /V 1 /R 2 /Length 40 /P -44 /O <" + strings.Repeat("5a", 32) + "> /U <" + strings.Repeat("a5", 32) + "> >>")
		extra = fmt.Sprintf(" /Encrypt %d 0 R /ID [<%s> <%s>]", enc, strings.Repeat("01", 16), strings.Repeat("01", 16))
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off) // 20 bytes an entry, §7.5.4
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root %d 0 R%s >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, catalog, extra, xref)
	return b.Bytes()
}

// Pages returns n A4 pages for MakePDF.
func Pages(n int) []PDFPage {
	out := make([]PDFPage, n)
	for i := range out {
		out[i] = A4
	}
	return out
}

// RequirePoppler fails the test in CI (see [InCI]) and skips it elsewhere
// when poppler's pdftoppm or pdfinfo is missing.
func RequirePoppler(t testing.TB) {
	t.Helper()
	for _, bin := range []string{"pdftoppm", "pdfinfo"} {
		if _, err := exec.LookPath(bin); err != nil {
			msg := fmt.Sprintf("%s not found (install poppler-utils: make deps): %v", bin, err)
			if InCI() {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
	}
}
