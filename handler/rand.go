package handler

import (
	"math/rand/v2"
	"time"
)

// randInt64N is rand.Int64N; a variable so that the jitter can be checked
// at its bounds.
var randInt64N = rand.Int64N

// fullJitter is the wait before retry attempt (1-based): uniform in
// [0, min(hi, lo·2^(attempt-1))]; the route's backoff and the Retry
// middleware share it.
func fullJitter(lo, hi time.Duration, attempt int) time.Duration {
	ceiling := lo
	for i := 1; i < attempt && ceiling < hi; i++ {
		ceiling *= 2
	}
	ceiling = min(ceiling, hi)
	if ceiling <= 0 {
		return 0
	}
	return time.Duration(randInt64N(int64(ceiling) + 1))
}
