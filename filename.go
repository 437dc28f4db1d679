package dialroom

import (
	"strings"
	"unicode/utf8"
)

// FileDisplayName makes an uploaded file's name fit for display: its last
// path element (browsers on Windows may send C:\...), passed through clean
// (each caller decides which characters go), cut at a character boundary to
// at most max bytes, and "document" if nothing is left. It is never a path.
func FileDisplayName(name string, max int, clean func(string) string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = clean(name)
	for len(name) > max {
		_, size := utf8.DecodeLastRuneInString(name)
		name = name[:len(name)-size]
	}
	if name == "" {
		name = "document"
	}
	return name
}
