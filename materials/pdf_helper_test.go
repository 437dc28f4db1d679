package materials

import "github.com/dialroom/dialroom/e2e"

// testPage is one page of a generated PDF: its MediaBox in points.
type testPage = e2e.PDFPage

// A4 and Letter in PostScript points (1/72 in).
var (
	a4        = testPage{W: 595, H: 842}
	a4Wide    = testPage{W: 842, H: 595}
	letter    = testPage{W: 612, H: 792}
	smallCard = testPage{W: 252, H: 144}
)

// makePDF is e2e.MakePDF: a readable generator instead of binary blobs.
func makePDF(pages []testPage, encrypt bool) []byte { return e2e.MakePDF(pages, encrypt) }
