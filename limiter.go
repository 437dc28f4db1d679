package dialroom

import (
	"errors"
	"sync"
	"time"
)

// Limiter counts failures per key (a client address) in a sliding window and
// locks the key out once the limit is reached, until the oldest failure in the
// window has aged out. It is what makes four random digits hard to guess.
// Safe for concurrent use.
type Limiter struct {
	limit  int
	window time.Duration
	now    func() time.Time

	mu       sync.Mutex
	failures map[string][]time.Time
	lastGC   time.Time
}

// NewLimiter allows limit failures per window for each key. now may be nil.
func NewLimiter(limit int, window time.Duration, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{limit: limit, window: window, now: now, failures: map[string][]time.Time{}}
}

// throttledError is an ETHROTTLED error that knows when to retry.
type throttledError struct {
	err        *Error
	retryAfter time.Duration
}

func (t *throttledError) Error() string { return t.err.Error() }
func (t *throttledError) Unwrap() error { return t.err }

// RetryAfter returns how long a throttled error (from Limiter.Check) asks the
// client to wait; false for any other error.
func RetryAfter(err error) (time.Duration, bool) {
	var t *throttledError
	if !errors.As(err, &t) {
		return 0, false
	}
	return t.retryAfter, true
}

// Check returns an ETHROTTLED error, carrying the time until the key may try
// again, when the key is locked out; nil otherwise.
func (l *Limiter) Check(key, message string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	recent := l.pruneLocked(key, now)
	if len(recent) < l.limit {
		return nil
	}
	retry := recent[len(recent)-l.limit].Add(l.window).Sub(now)
	return &throttledError{err: Errorf(ETHROTTLED, "%s", message), retryAfter: retry}
}

// Fail records a failure for key.
func (l *Limiter) Fail(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.failures[key] = append(l.pruneLocked(key, now), now)
	if now.Sub(l.lastGC) > l.window {
		l.lastGC = now
		for k := range l.failures {
			if len(l.pruneLocked(k, now)) == 0 {
				delete(l.failures, k)
			}
		}
	}
}

// Reset forgets key's failures (e.g. after a successful login).
func (l *Limiter) Reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.failures, key)
}

func (l *Limiter) pruneLocked(key string, now time.Time) []time.Time {
	fs := l.failures[key]
	i := 0
	for i < len(fs) && now.Sub(fs[i]) >= l.window {
		i++
	}
	fs = fs[i:]
	if len(fs) == 0 {
		delete(l.failures, key)
		return nil
	}
	l.failures[key] = fs
	return fs
}
