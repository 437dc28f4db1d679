package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// serverMetrics is what phone mode reads from the server's /metrics: plain
// samples by name (labels dropped, first one wins) and the media clock's
// histograms (cumulative buckets, as Prometheus exports them).
type serverMetrics struct {
	values map[string]float64
	late   histogram // dialroom_media_clock_late_seconds
	busy   histogram // dialroom_media_clock_busy_seconds
	added  histogram // dialroom_phone_to_browser_seconds (empty from older servers)
}

// histogram is a Prometheus histogram: cumulative counts at ascending
// upper bounds.
type histogram struct {
	upper []float64 // seconds
	cum   []float64
}

// sub returns h minus an earlier reading of the same histogram (a window).
// Bounds missing from the earlier reading (it had fewer buckets) count as
// its total.
func (h histogram) sub(earlier histogram) histogram {
	out := histogram{upper: h.upper, cum: make([]float64, len(h.cum))}
	for i, up := range h.upper {
		var prev float64
		j, found := slices.BinarySearch(earlier.upper, up)
		switch {
		case found:
			prev = earlier.cum[j]
		case len(earlier.cum) > 0:
			prev = earlier.cum[len(earlier.cum)-1]
		}
		out.cum[i] = h.cum[i] - prev
	}
	return out
}

// count returns the observations in h.
func (h histogram) count() float64 {
	if len(h.cum) == 0 {
		return 0
	}
	return h.cum[len(h.cum)-1]
}

// quantile returns the upper bound of the bucket holding the q-quantile.
func (h histogram) quantile(q float64) time.Duration {
	n := h.count()
	if n == 0 {
		return 0
	}
	rank := max(q*n, 1)
	for i, c := range h.cum {
		if c >= rank {
			return time.Duration(h.upper[i] * float64(time.Second))
		}
	}
	return time.Duration(h.upper[len(h.upper)-1] * float64(time.Second))
}

// above returns how many observations were at least d: everything above
// the last bucket whose (exclusive) upper bound is d or less.
func (h histogram) above(d time.Duration) float64 {
	s := d.Seconds()
	below := 0.0
	for i, up := range h.upper {
		if up > s {
			break
		}
		below = h.cum[i]
	}
	return h.count() - below
}

// scrapeServerMetrics reads /metrics.
func scrapeServerMetrics(ctx context.Context, hc *http.Client, base *url.URL) (serverMetrics, error) {
	var m serverMetrics
	err := fetchMetrics(ctx, hc, base, 8<<20, func(r io.Reader) (err error) {
		m, err = parseServerMetrics(r)
		return err
	})
	return m, err
}

// parseServerMetrics reads the Prometheus text format.
func parseServerMetrics(r io.Reader) (serverMetrics, error) {
	m := serverMetrics{values: map[string]float64{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		series := line[:i]
		name, labels, _ := strings.Cut(series, "{")
		var h *histogram
		switch name {
		case "dialroom_media_clock_late_seconds_bucket":
			h = &m.late
		case "dialroom_media_clock_busy_seconds_bucket":
			h = &m.busy
		case "dialroom_phone_to_browser_seconds_bucket":
			h = &m.added
		}
		if h != nil {
			le, ok := labelValue(labels, "le")
			up, err := strconv.ParseFloat(le, 64)
			if ok && err == nil && le != "+Inf" {
				h.upper = append(h.upper, up)
				h.cum = append(h.cum, v)
			}
			continue
		}
		if _, seen := m.values[name]; !seen {
			m.values[name] = v
		}
	}
	if err := sc.Err(); err != nil {
		return m, err
	}
	if len(m.late.upper) == 0 {
		return m, fmt.Errorf("/metrics has no dialroom_media_clock_late_seconds histogram (server too old?)")
	}
	return m, nil
}

// labelValue returns one label's value from `a="x",b="y"}`.
func labelValue(labels, name string) (string, bool) {
	for p := range strings.SplitSeq(strings.TrimSuffix(labels, "}"), ",") {
		k, v, ok := strings.Cut(p, "=")
		if ok && k == name {
			return strings.Trim(v, `"`), true
		}
	}
	return "", false
}
