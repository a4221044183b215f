package resilience

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/courier-io/courier/driver"
)

const (
	// DeadlineHeader carries a call's remaining time from a client to a
	// server as whole milliseconds followed by "ms", e.g. "Courier-Deadline:
	// 1490ms". A relative time, like gRPC's grpc-timeout, so that clocks need
	// not agree.
	DeadlineHeader = "Courier-Deadline"
	// DeadlineMetadataKey is DeadlineHeader as a gRPC metadata key.
	DeadlineMetadataKey = "courier-deadline"
	// DeadlineMargin is subtracted from the remaining time at each hop, for
	// the time the request spends in transit and queues, so the deadline
	// shrinks at every hop and a server gives up before its caller does.
	DeadlineMargin = 10 * time.Millisecond
	// MaxPropagatedDeadline is the largest value ExtractDeadline accepts.
	MaxPropagatedDeadline = 999_999_999 * time.Millisecond
)

// InjectDeadline calls set(DeadlineHeader, value) with ctx's remaining time
// minus DeadlineMargin, rounded down to a millisecond and at least "0ms";
// it does nothing when ctx has no deadline. Pass a header's or metadata's Set
// method: InjectDeadline(ctx, req.Header.Set).
func InjectDeadline(ctx context.Context, set func(key, value string)) {
	deadline, ok := ctx.Deadline()
	if !ok {
		return
	}
	set(DeadlineHeader, formatDeadline(time.Until(deadline)-DeadlineMargin))
}

func formatDeadline(d time.Duration) string {
	d = min(max(d, 0), MaxPropagatedDeadline)
	return strconv.FormatInt(int64(d/time.Millisecond), 10) + "ms"
}

// ExtractDeadline reads get(DeadlineHeader) and returns ctx with that much
// time left (or ctx's own deadline, if earlier) and its CancelFunc, which the
// caller must call. Without the header it returns ctx unchanged. A value that
// is not whole milliseconds like "1500ms" (negative, fractional, another unit,
// over MaxPropagatedDeadline, garbage) is refused with a
// *courier.ValidationError matching courier.ErrInvalid; ctx is then returned
// unchanged. "0ms" is valid and gives a context that is already done.
func ExtractDeadline(ctx context.Context, get func(key string) string) (context.Context, context.CancelFunc, error) {
	v := get(DeadlineHeader)
	if v == "" {
		return ctx, func() {}, nil
	}
	d, err := parseDeadline(v)
	if err != nil {
		return ctx, func() {}, err
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	return ctx, cancel, nil
}

func parseDeadline(v string) (time.Duration, error) {
	s := strings.TrimSpace(v)
	num, ok := strings.CutSuffix(s, "ms")
	bad := func(why string) error {
		return driver.Invalid(DeadlineHeader, "%q %s; want the remaining time in whole milliseconds, like \"1500ms\"", v, why)
	}
	switch {
	case strings.HasPrefix(s, "-"):
		return 0, bad("is negative")
	case !ok || num == "":
		return 0, bad("is not a duration in milliseconds")
	}
	for _, r := range num {
		if r < '0' || r > '9' {
			return 0, bad("is not a whole number of milliseconds")
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || time.Duration(n) > MaxPropagatedDeadline/time.Millisecond {
		return 0, driver.Invalid(DeadlineHeader, "%q is more than the maximum %dms", v, MaxPropagatedDeadline/time.Millisecond)
	}
	return time.Duration(n) * time.Millisecond, nil
}
