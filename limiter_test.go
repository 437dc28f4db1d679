package dialroom

import (
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	now := time.Date(2026, 11, 26, 1, 0, 0, 0, time.UTC)
	l := NewLimiter(3, 10*time.Minute, func() time.Time { return now })
	for i := range 3 {
		if err := l.Check("a", "locked"); err != nil {
			t.Fatalf("locked after %d failures: %v", i, err)
		}
		l.Fail("a")
		now = now.Add(time.Minute)
	}
	err := l.Check("a", "locked")
	if ErrorCode(err) != ETHROTTLED {
		t.Fatalf("after 3 failures: %v, want throttled", err)
	}
	if ra, ok := RetryAfter(err); !ok || ra != 7*time.Minute {
		t.Errorf("retry after %v, want 7m (the oldest failure ages out 10 minutes after it happened)", ra)
	}
	if err := l.Check("b", "locked"); err != nil {
		t.Errorf("another key is locked too: %v", err)
	}
	now = now.Add(7 * time.Minute)
	if err := l.Check("a", "locked"); err != nil {
		t.Errorf("still locked once the oldest failure aged out: %v", err)
	}
	l.Fail("a")
	if err := l.Check("a", "locked"); err == nil {
		t.Errorf("a new failure inside the window must lock again")
	}
	l.Reset("a")
	if err := l.Check("a", "locked"); err != nil {
		t.Errorf("Reset did not unlock: %v", err)
	}
}
