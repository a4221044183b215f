package handler

import (
	"testing"
	"time"
)

// TestBackoffBounds checks the full-jitter ceiling of every retry at both
// ends of the random draw.
func TestBackoffBounds(t *testing.T) {
	rt := &route{cfg: routeConfig{minBackoff: 100 * time.Millisecond, maxBackoff: time.Second}}
	defer func(f func(int64) int64) { randInt64N = f }(randInt64N)
	for attempt, ceiling := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 3: 400 * time.Millisecond, 4: 800 * time.Millisecond, 5: time.Second, 50: time.Second} {
		randInt64N = func(n int64) int64 { return n - 1 } // the largest draw
		if got := rt.backoff(attempt); got != ceiling {
			t.Fatalf("attempt %d: largest backoff %v; want %v", attempt, got, ceiling)
		}
		randInt64N = func(int64) int64 { return 0 }
		if got := rt.backoff(attempt); got != 0 {
			t.Fatalf("attempt %d: smallest backoff %v; want 0", attempt, got)
		}
	}
}
