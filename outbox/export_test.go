package outbox

import (
	"context"
	"time"
)

// SetAfterPublish makes r call f after publishing a batch and before
// deleting its rows; if f returns an error, r abandons the batch there,
// as a relay killed at that point would (TestRelayKilledMidBatch).
func SetAfterPublish(r *Relay, f func(ctx context.Context) error) { r.afterPublish = f }

// SetAfterPoll makes r call f after each poll with the number of rows it
// took.
func SetAfterPoll(r *Relay, f func(n int)) { r.afterPoll = f }

// SetIdleFloor sets r's first wait after an empty poll.
func SetIdleFloor(r *Relay, d time.Duration) { r.idleFloor = d }
