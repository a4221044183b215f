package resilience_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/courier-io/courier/driver"
	"github.com/courier-io/courier/resilience"
)

// FuzzLoadConfig: LoadConfig never panics, refuses with ErrInvalid (or
// ErrTooLarge) only, and every config it accepts builds a Policy for every
// target, which re-validates each value through New.
func FuzzLoadConfig(f *testing.F) {
	f.Add([]byte(validYAML), false)
	f.Add([]byte(validJSON), true)
	f.Add([]byte("policies: {retries: {slow: {maxRetries: -1}}}"), false)
	f.Add([]byte("policies: {hedges: {h: {percentile: 99.9, samples: 1, minSamples: 1}}}\ntargets: {t: {hedge: h}}"), false)
	f.Add([]byte(`{"policies": {"rateLimits": {"r": {"rate": 1e-300, "burst": 1}}}, "targets": {"t": {"rateLimit": "r"}}}`), true)
	f.Add([]byte("a: &a [*a, *a]"), false)
	f.Add([]byte("targets: {x: {timeout: t}}\npolicies: {timeouts: {t: 1ns}}"), false)
	f.Fuzz(func(t *testing.T, data []byte, isJSON bool) {
		format := "yaml"
		if isJSON {
			format = "json"
		}
		c, err := resilience.LoadConfig(data, format)
		if err != nil {
			if !errors.Is(err, driver.ErrInvalid) && !errors.Is(err, driver.ErrTooLarge) {
				t.Fatalf("error %v matches neither ErrInvalid nor ErrTooLarge", err)
			}
			return
		}
		for _, target := range c.Targets() {
			if _, err := c.PolicyFor(target); err != nil {
				t.Fatalf("accepted config, but target %q: %v", target, err)
			}
		}
	})
}

// FuzzExtractDeadline: any header value is either refused with ErrInvalid
// or gives a deadline within range that survives another hop unchanged
// (re-injected with the margin added back).
func FuzzExtractDeadline(f *testing.F) {
	for _, s := range []string{"1500ms", "0ms", "-1ms", "1.5ms", "2s", "ms", " 7ms ", "999999999ms", "1000000000ms", "00012ms", "+1ms", "1e3ms", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, value string) {
		synctest.Test(t, func(t *testing.T) {
			get := func(string) string { return value }
			ctx, cancel, err := resilience.ExtractDeadline(t.Context(), get)
			defer cancel()
			if err != nil {
				if !errors.Is(err, driver.ErrInvalid) {
					t.Fatalf("%q: error %v does not match ErrInvalid", value, err)
				}
				if ctx != t.Context() {
					t.Fatalf("%q: refused but the context changed", value)
				}
				return
			}
			d, ok := ctx.Deadline()
			if value == "" {
				if ok {
					t.Fatal("a deadline from an empty header")
				}
				return
			}
			left := time.Until(d)
			if !ok || left < 0 || left > resilience.MaxPropagatedDeadline || left%time.Millisecond != 0 {
				t.Fatalf("%q: deadline in %v", value, left)
			}
			again, cancel2 := context.WithTimeout(t.Context(), left+resilience.DeadlineMargin)
			defer cancel2()
			h := http.Header{}
			resilience.InjectDeadline(again, h.Set)
			ctx3, cancel3, err := resilience.ExtractDeadline(t.Context(), h.Get)
			defer cancel3()
			if d3, _ := ctx3.Deadline(); err != nil || time.Until(d3) != left {
				t.Fatalf("%q: round trip gave %q (%v), want %v", value, h.Get(resilience.DeadlineHeader), err, left)
			}
		})
	})
}
