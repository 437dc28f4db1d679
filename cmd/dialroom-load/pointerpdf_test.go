package main

import (
	"bytes"
	"testing"
	"time"
)

func TestPointerSeqRoundTrip(t *testing.T) {
	for seq := 1; seq <= pointerScale; seq++ {
		x := pointerX(seq)
		if x < 0 || x > 1 || pointerSeq(x) != seq {
			t.Fatalf("seq %d: x %v decodes to %d", seq, x, pointerSeq(x))
		}
	}
}

func TestDurationQuantiles(t *testing.T) {
	var d []time.Duration
	for i := 100; i >= 1; i-- {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	p50, p99, maxD := durationQuantiles(d)
	if p50 != 50*time.Millisecond || p99 != 99*time.Millisecond || maxD != 100*time.Millisecond {
		t.Fatalf("got %v %v %v", p50, p99, maxD)
	}
	if a, b, c := durationQuantiles(nil); a != 0 || b != 0 || c != 0 {
		t.Fatal("empty input should give zeros")
	}
}

func TestOnePagePDF(t *testing.T) {
	b := onePagePDF()
	if !bytes.HasPrefix(b, []byte("%PDF-1.4\n")) || !bytes.HasSuffix(b, []byte("%%EOF\n")) {
		t.Fatalf("not a PDF: %q", b)
	}
}
