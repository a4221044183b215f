package handler

import "math/rand/v2"

// randInt64N is rand.Int64N; a variable so that the jitter can be checked
// at its bounds.
var randInt64N = rand.Int64N
