package yamlcheck

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ParseDuration accepts Go duration syntax ("90m", "1h30m", "0") and a leading
// whole number of days ("7d", "1d12h"), since admins think of long lifetimes
// (sessions, issued numbers) in days and time.ParseDuration has no unit for
// them. A sign may lead; the result must fit a time.Duration.
func ParseDuration(s string) (time.Duration, error) {
	rest, neg := s, false
	if rest != "" && (rest[0] == '-' || rest[0] == '+') {
		rest, neg = rest[1:], rest[0] == '-'
	}
	var days time.Duration
	if i := strings.IndexByte(rest, 'd'); i >= 0 {
		n, err := strconv.ParseUint(rest[:i], 10, 32)
		const maxDays = uint64(math.MaxInt64) / uint64(24*time.Hour)
		if err != nil || n > maxDays {
			return 0, fmt.Errorf("invalid number of days in %q", s)
		}
		days = time.Duration(n) * 24 * time.Hour
		rest = rest[i+1:]
		if rest == "" {
			if neg {
				return -days, nil
			}
			return days, nil
		}
	}
	if rest == "" || rest[0] == '+' || rest[0] == '-' {
		return 0, fmt.Errorf("invalid duration %q", s)
	}
	v, err := time.ParseDuration(rest)
	if err != nil {
		return 0, err
	}
	if v > math.MaxInt64-days {
		return 0, fmt.Errorf("duration %q is too long", s)
	}
	if neg {
		return -(days + v), nil
	}
	return days + v, nil
}
