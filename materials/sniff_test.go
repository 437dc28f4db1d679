package materials

import (
	"bytes"
	"image/color"
	"testing"
)

func TestSniff(t *testing.T) {
	tests := []struct {
		name     string
		data     []byte
		want     kind
		detected string
	}{
		{"pdf", makePDF([]testPage{a4}, false), kindPDF, "application/pdf"},
		{"pdf after junk", append([]byte("garbage line\n"), makePDF([]testPage{a4}, false)...), kindPDF, "application/pdf"},
		{"png", encodePNG(t, filled(2, 2, color.White)), kindPNG, "image/png"},
		{"jpeg", encodeJPEG(t, filled(2, 2, color.White)), kindJPEG, "image/jpeg"},
		{"docx", ooxml(t, "word/document.xml", docxType), kindDOCX, "application/zip"},
		{"pptx", ooxml(t, "ppt/presentation.xml", pptxType), kindPPTX, "application/zip"},
		{"xlsx", ooxml(t, "xl/workbook.xml", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"), kindXLSX, "application/zip"},
		// The folder name does not decide; the declared main part does.
		{"docm", ooxml(t, "word/document.xml", "application/vnd.ms-word.document.macroEnabled.main+xml"), "", "application/zip"},
		{"png magic only", []byte("\x89PNG\r\n\x1a\n"), kindPNG, "image/png"},
		// A header anywhere in the first 1024 bytes counts, as in poppler and
		// Acrobat; poppler then decides whether the rest is a PDF.
		{"pdf header inside html", []byte("<html><body>%PDF-</body></html>"), kindPDF, "application/pdf"},
		{"pdf too late", append(bytes.Repeat([]byte(" "), 1024), "%PDF-1.4"...), "", "text/plain; charset=utf-8"},
		{"text", []byte("hello"), "", "text/plain; charset=utf-8"},
		{"empty", nil, "", "text/plain; charset=utf-8"},
		{"truncated zip", []byte("PK\x03\x04\x14\x00"), "", "application/zip"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, detected := sniff(bytes.NewReader(tt.data), int64(len(tt.data)))
			if k != tt.want || detected != tt.detected {
				t.Errorf("sniff = %q, %q; want %q, %q", k, detected, tt.want, tt.detected)
			}
		})
	}
}

// FuzzSniff feeds untrusted bytes to the type sniffer: it must not panic,
// must not take long (zip bombs), and a kind it reports must match the
// content's signature.
func FuzzSniff(f *testing.F) {
	f.Add(makePDF([]testPage{a4}, false))
	f.Add([]byte("%PDF-1.4 garbage"))
	f.Add(encodePNG(f, filled(2, 2, color.White)))
	f.Add(encodeJPEG(f, filled(2, 2, color.White)))
	f.Add(ooxml(f, "word/document.xml", docxType))
	f.Add(ooxml(f, "ppt/presentation.xml", pptxType))
	f.Add([]byte("PK\x03\x04"))
	f.Add([]byte("GIF89a"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		k, detected := sniff(bytes.NewReader(data), int64(len(data)))
		if detected == "" {
			t.Error("no description of the content")
		}
		switch {
		case k == kindPNG && !bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")),
			k == kindJPEG && !bytes.HasPrefix(data, []byte("\xff\xd8\xff")),
			k.office() && !bytes.HasPrefix(data, []byte("PK\x03\x04")),
			k == kindPDF && !bytes.Contains(data[:min(len(data), 1024)], []byte("%PDF-")):
			t.Errorf("sniff = %q for content without its signature", k)
		}
	})
}
