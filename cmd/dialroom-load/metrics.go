package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// goMetrics are the server's Go runtime figures from its Prometheus endpoint
// (docs/api.md: /metrics). RSS alone misleads on a fresh server: each argon2
// password hash (first start, login) leaves 19 MiB of garbage that no GC
// collects while the server idles, so the heap and goroutines are reported
// too.
type goMetrics struct {
	heapInuse  float64 // go_memstats_heap_inuse_bytes
	goroutines float64 // go_goroutines
}

// scrapeGoMetrics reads /metrics; a server without it answers an error.
func scrapeGoMetrics(ctx context.Context, hc *http.Client, base *url.URL) (goMetrics, error) {
	var m goMetrics
	err := fetchMetrics(ctx, hc, base, 4<<20, func(r io.Reader) (err error) {
		m, err = parseGoMetrics(r)
		return err
	})
	return m, err
}

// fetchMetrics GETs the server's /metrics and hands at most limit bytes of
// the body to parse. It is shared by every scrape of the load tool.
func fetchMetrics(ctx context.Context, hc *http.Client, base *url.URL, limit int64, parse func(io.Reader) error) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base.JoinPath("/metrics").String(), nil)
	if err != nil {
		return err
	}
	// Plain text: a gzipped answer costs the server a pooled compressor of
	// ~800 KiB, which a step's memory reading would count at random (the
	// pool keeps it across one collection).
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	return parse(io.LimitReader(resp.Body, limit))
}

// parseGoMetrics picks the figures out of the Prometheus text format.
func parseGoMetrics(r io.Reader) (goMetrics, error) {
	var m goMetrics
	found := 0
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		var dst *float64
		switch name {
		case "go_memstats_heap_inuse_bytes":
			dst = &m.heapInuse
		case "go_goroutines":
			dst = &m.goroutines
		default:
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			return m, fmt.Errorf("/metrics %s: %w", name, err)
		}
		*dst = v
		found++
	}
	if err := sc.Err(); err != nil {
		return m, err
	}
	if found < 2 {
		return m, fmt.Errorf("/metrics has no Go runtime figures")
	}
	return m, nil
}
