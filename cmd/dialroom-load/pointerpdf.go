package main

import (
	"bytes"
	"fmt"
	"math"
	"sort"
	"time"
)

// onePagePDF returns a minimal valid one-page A4 PDF (a filled rectangle and
// no fonts) for the library upload of pointer mode: the material only has to
// convert, its content does not matter.
func onePagePDF() []byte {
	content := "0.2 0.4 0.8 rg\n36 36 300 280 re f\n"
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%sendstream", len(content), content),
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off) // 20 bytes an entry
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return b.Bytes()
}

// pointerScale turns a move's sequence number into its x coordinate and
// back: a power of two, so seq/pointerScale survives JSON exactly.
const pointerScale = 4096

// pointerX is the x coordinate that carries sequence number seq (1…4096).
func pointerX(seq int) float64 { return float64(seq) / pointerScale }

// pointerSeq recovers the sequence number from a relayed x coordinate.
func pointerSeq(x float64) int { return int(math.Round(x * pointerScale)) }

// durationQuantiles returns the median, p99 and maximum of d (sorted in
// place); zeros when d is empty.
func durationQuantiles(d []time.Duration) (p50, p99, maxD time.Duration) {
	if len(d) == 0 {
		return 0, 0, 0
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	at := func(q float64) time.Duration { return d[int(math.Ceil(q*float64(len(d))))-1] }
	return at(0.5), at(0.99), d[len(d)-1]
}
