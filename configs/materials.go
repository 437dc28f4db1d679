package configs

import (
	"math"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/dialroom/dialroom/yamlcheck"
)

// Materials limits the operators' libraries: uploaded documents and their
// conversion into one image per page (package materials).
type Materials struct {
	// MaxBytes is the largest upload accepted, in bytes. In YAML a whole
	// number of bytes or a size such as "50MB" (MB and GB are powers of 1024).
	MaxBytes int64
	// MaxPages is the most pages a document may have.
	MaxPages int
	// PageSize is the long side of a page image in pixels.
	PageSize int
	// Concurrency is how many documents convert at once; more wait in a queue.
	Concurrency int
	// Timeout bounds the conversion of one document.
	Timeout time.Duration
}

// Defaults of the materials section; the same values as package materials,
// repeated because configs does not import it. Why these numbers:
const (
	// 50 MB holds a long slide deck with photos; beyond that an upload is
	// more likely a mistake than a material.
	DefaultMaterialsMaxBytes = 50 << 20
	// 200 pages is more than anyone presents in one conference and bounds
	// the conversion time and the disk a document takes (~40 MB).
	DefaultMaterialsMaxPages = 200
	// 1600 px on the long side is sharp on a full-HD screen and keeps a page
	// PNG around 100-300 KB for every participant to download.
	DefaultMaterialsPageSize = 1600
	// Two at a time: each rendering process keeps a core busy, and the
	// server's calls must keep theirs.
	DefaultMaterialsConcurrency = 2
	// Two minutes renders 200 pages on a slow machine.
	DefaultMaterialsTimeout = 2 * time.Minute
)

func defaultMaterials() Materials {
	return Materials{
		MaxBytes:    DefaultMaterialsMaxBytes,
		MaxPages:    DefaultMaterialsMaxPages,
		PageSize:    DefaultMaterialsPageSize,
		Concurrency: DefaultMaterialsConcurrency,
		Timeout:     DefaultMaterialsTimeout,
	}
}

func (d *decoder) materials(path string, n *yaml.Node, m *Materials) {
	d.mapping(path, n, []field{
		{"max_bytes", func(p string, v *yaml.Node) { d.size(p, v, &m.MaxBytes) }},
		{"max_pages", func(p string, v *yaml.Node) { d.count(p, v, &m.MaxPages) }},
		{"page_size", func(p string, v *yaml.Node) { d.count(p, v, &m.PageSize) }},
		{"concurrency", func(p string, v *yaml.Node) { d.count(p, v, &m.Concurrency) }},
		{"timeout", func(p string, v *yaml.Node) { d.duration(p, v, &m.Timeout) }},
	})
}

// size decodes a number of bytes: a whole number, or text like "512KB",
// "50MB" or "1GB" (powers of 1024, as people mean them for files).
func (d *decoder) size(path string, n *yaml.Node, dst *int64) {
	const expected = `a size like "50MB", "512KB" or a whole number of bytes`
	if n.Kind == yaml.ScalarNode && n.Tag == "!!int" {
		if v, ok := d.integer(path, n, 0, math.MaxInt64, expected); ok {
			*dst = v
		}
		return
	}
	if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
		d.errorf(n, path, expected, "found %s", yamlcheck.Describe(n))
		return
	}
	s := strings.ToUpper(strings.TrimSpace(n.Value))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KB", 1 << 10}, {"MB", 1 << 20}, {"GB", 1 << 30}, {"B", 1}} {
		if rest, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = strings.TrimSpace(rest), u.mult
			break
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 || v > math.MaxInt64/mult {
		d.errorf(n, path, expected, "%q is not a size", n.Value)
		return
	}
	*dst = v * mult
}

// Why these bounds: a page image must be legible (200 px) and must not need
// gigabytes to render (8000 px); 9999 pages is what the converter's file
// names hold; 16 conversions at once would starve any machine's calls.
const (
	minMaterialsBytes   = 1 << 10
	maxMaterialsBytes   = 2 << 30
	maxMaterialsPages   = 9999
	minMaterialsPage    = 200
	maxMaterialsPage    = 8000
	maxMaterialsWorkers = 16
)

func (m *Materials) check(cs *checks) {
	const p = "materials."
	if m.MaxBytes < minMaterialsBytes || m.MaxBytes > maxMaterialsBytes {
		cs.add(p+"max_bytes", `a size from 1KB to 2GB, e.g. "50MB"`, "%d bytes is out of range", m.MaxBytes)
	}
	if m.MaxPages < 1 || m.MaxPages > maxMaterialsPages {
		cs.add(p+"max_pages", "a whole number from 1 to 9999", "%d is out of range", m.MaxPages)
	}
	if m.PageSize < minMaterialsPage || m.PageSize > maxMaterialsPage {
		cs.add(p+"page_size", "pixels on the long side, from 200 to 8000, e.g. 1600", "%d is out of range", m.PageSize)
	}
	if m.Concurrency < 1 || m.Concurrency > maxMaterialsWorkers {
		cs.add(p+"concurrency", "a whole number from 1 to 16, e.g. 2", "%d is out of range", m.Concurrency)
	}
	positive(cs, p+"timeout", m.Timeout)
}
