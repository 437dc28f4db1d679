package materials

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"io"
	"net/http"
	"strings"
)

// kind is a file type Convert recognises from content.
type kind string

const (
	kindPDF  kind = "pdf"
	kindPNG  kind = "png"
	kindJPEG kind = "jpeg"
	kindDOCX kind = "docx"
	kindPPTX kind = "pptx"
	kindXLSX kind = "xlsx"
)

// office reports whether k needs LibreOffice to become a PDF.
func (k kind) office() bool { return k == kindDOCX || k == kindPPTX || k == kindXLSX }

// Main part content types of OOXML packages (ECMA-376 Part 1, §11.3.10,
// §12.3.10, §13.3.6). The main part, not the file name or the mere presence of
// a folder, decides what a package is.
var officeMainTypes = map[string]kind{
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml":   kindDOCX,
	"application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml": kindPPTX,
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml":         kindXLSX,
}

// maxContentTypes bounds how much of [Content_Types].xml is read: real ones are
// a few KiB, and a zip bomb must not be inflated to find out what it is.
const maxContentTypes = 1 << 20

// sniff tells what r (size bytes) holds from its content alone. It returns the
// kind, or "" and a description of what was found (a MIME type from
// http.DetectContentType) for anything Convert does not handle. It reads r
// only; untrusted input is expected (FuzzSniff).
func sniff(r io.ReaderAt, size int64) (kind, string) {
	head := make([]byte, 1024)
	n, _ := r.ReadAt(head, 0)
	head = head[:n]
	detected := http.DetectContentType(head)
	switch {
	// PNG §5.2: an eight-byte signature.
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")) && detected == "image/png":
		return kindPNG, detected
	// JPEG: SOI marker followed by another marker.
	case bytes.HasPrefix(head, []byte("\xff\xd8\xff")) && detected == "image/jpeg":
		return kindJPEG, detected
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		if k := sniffOOXML(r, size); k != "" {
			return k, detected
		}
		return "", detected
	// ISO 32000-1 §7.5.2 puts the header first; readers (poppler included)
	// accept it anywhere in the first 1024 bytes, as some producers prepend junk.
	case bytes.Contains(head, []byte("%PDF-")):
		return kindPDF, "application/pdf"
	}
	return "", detected
}

// sniffOOXML returns the kind of an Office Open XML package, or "" when r is
// not one (or not one of the three we convert).
func sniffOOXML(r io.ReaderAt, size int64) kind {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return ""
	}
	for _, f := range zr.File {
		if f.Name != "[Content_Types].xml" {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return ""
		}
		defer rc.Close()
		var types struct {
			Overrides []struct {
				PartName    string `xml:"PartName,attr"`
				ContentType string `xml:"ContentType,attr"`
			} `xml:"Override"`
		}
		if err := xml.NewDecoder(io.LimitReader(rc, maxContentTypes)).Decode(&types); err != nil {
			return ""
		}
		for _, o := range types.Overrides {
			if k, ok := officeMainTypes[strings.TrimSpace(strings.ToLower(o.ContentType))]; ok {
				return k
			}
		}
		return ""
	}
	return ""
}
