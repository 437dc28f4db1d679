package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// apiClient calls the server's JSON API (docs/api.md) as one operator. The
// session cookie lives in the HTTP client's jar, which the operator's
// WebSocket reuses.
type apiClient struct {
	base *url.URL
	http *http.Client
}

// apiError is the body of every API error.
type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// issuedNumber is the part of the number object the load needs.
type issuedNumber struct {
	Number    string `json:"number"`
	Formatted string `json:"formatted"`
}

// login opens an operator session (POST /api/login).
func (a *apiClient) login(ctx context.Context, login, password string) error {
	body, _ := json.Marshal(map[string]string{"login": login, "password": password})
	return a.call(ctx, http.MethodPost, "/api/login", body, http.StatusOK, nil)
}

// issueNumber issues one number for a conference (POST /api/numbers).
func (a *apiClient) issueNumber(ctx context.Context) (issuedNumber, error) {
	var n issuedNumber
	err := a.call(ctx, http.MethodPost, "/api/numbers", []byte("{}"), http.StatusCreated, &n)
	if err == nil && n.Number == "" {
		err = fmt.Errorf("POST /api/numbers: answer has no number")
	}
	return n, err
}

// health waits until GET /api/health answers 200 or ctx ends.
func (a *apiClient) health(ctx context.Context) error {
	for {
		err := a.call(ctx, http.MethodGet, "/api/health", nil, http.StatusOK, nil)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("server not healthy: %w", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// call sends one request and decodes a successful answer into out (if not nil).
func (a *apiClient) call(ctx context.Context, method, path string, body []byte, want int, out any) error {
	u := a.base.JoinPath(path)
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	// A browser sends its own origin on state-changing requests; so do we.
	req.Header.Set("Origin", a.base.String())
	resp, err := a.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode != want {
		var e apiError
		if json.Unmarshal(data, &e) == nil && e.Error.Code != "" {
			return fmt.Errorf("%s %s: %s (%s)", method, path, e.Error.Message, e.Error.Code)
		}
		return fmt.Errorf("%s %s: HTTP %s", method, path, resp.Status)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	return nil
}
