package resilience_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/courier-io/courier/resilience"
)

// TestDeadlineShrinksAcrossHops passes a deadline through three hops, each
// spending some time before calling the next: every hop sees less time than
// the previous by at least its work plus DeadlineMargin.
func TestDeadlineShrinksAcrossHops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		defer cancel()
		work := []time.Duration{100 * time.Millisecond, 250 * time.Millisecond, 40 * time.Millisecond}
		var headers []string
		var remaining []time.Duration
		for hop := range 3 {
			advance(work[hop])
			h := http.Header{}
			resilience.InjectDeadline(ctx, h.Set)
			headers = append(headers, h.Get(resilience.DeadlineHeader))

			next, nextCancel, err := resilience.ExtractDeadline(t.Context(), h.Get)
			if err != nil {
				t.Fatal(err)
			}
			defer nextCancel()
			d, ok := next.Deadline()
			if !ok {
				t.Fatalf("hop %d: no deadline", hop+1)
			}
			remaining = append(remaining, time.Until(d))
			ctx = next
		}
		want := []string{"1890ms", "1630ms", "1580ms"}
		for i := range want {
			if headers[i] != want[i] {
				t.Errorf("hop %d header %q, want %q", i+1, headers[i], want[i])
			}
		}
		prev := 2 * time.Second
		for i, r := range remaining {
			if r > prev-work[i]-resilience.DeadlineMargin {
				t.Errorf("hop %d has %v left, want ≤ %v - %v - margin", i+1, r, prev, work[i])
			}
			prev = r
		}
		// The last hop gives up before the first caller.
		advance(remaining[2])
		synctest.Wait() // let the context's own timer run
		if ctx.Err() == nil {
			t.Error("the last hop's context outlived its deadline")
		}
	})
}

func TestInjectDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := http.Header{}
		resilience.InjectDeadline(t.Context(), h.Set)
		if len(h) != 0 {
			t.Errorf("set %v without a deadline", h)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Millisecond)
		defer cancel()
		resilience.InjectDeadline(ctx, h.Set)
		if got := h.Get(resilience.DeadlineHeader); got != "0ms" {
			t.Errorf("header %q when less than the margin is left, want 0ms", got)
		}
	})
}

func TestExtractDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		get := func(v string) func(string) string {
			return func(k string) string {
				if k != resilience.DeadlineHeader {
					t.Fatalf("asked for %q", k)
				}
				return v
			}
		}
		ctx, cancel, err := resilience.ExtractDeadline(t.Context(), get(""))
		if err != nil || ctx != t.Context() {
			t.Errorf("no header: ctx changed or err %v", err)
		}
		cancel()

		ctx, cancel, err = resilience.ExtractDeadline(t.Context(), get(" 1500ms "))
		if d, ok := ctx.Deadline(); err != nil || !ok || time.Until(d) != 1500*time.Millisecond {
			t.Errorf("1500ms: deadline in %v, err %v", time.Until(d), err)
		}
		cancel()

		ctx, cancel, err = resilience.ExtractDeadline(t.Context(), get("0ms"))
		if err != nil || ctx.Err() == nil {
			t.Errorf("0ms: err %v, ctx.Err %v; want an expired context", err, ctx.Err())
		}
		cancel()

		// An earlier deadline of the server's own is kept.
		short, shortCancel := context.WithTimeout(t.Context(), time.Second)
		defer shortCancel()
		ctx, cancel, _ = resilience.ExtractDeadline(short, get("5000ms"))
		if d, _ := ctx.Deadline(); time.Until(d) != time.Second {
			t.Errorf("deadline in %v, want the earlier 1s", time.Until(d))
		}
		cancel()

		for _, tc := range []struct{ value, want string }{
			{"-5ms", `Courier-Deadline: "-5ms" is negative; want the remaining time in whole milliseconds, like "1500ms"`},
			{"abc", `Courier-Deadline: "abc" is not a duration in milliseconds; want the remaining time in whole milliseconds, like "1500ms"`},
			{"1.5ms", `Courier-Deadline: "1.5ms" is not a whole number of milliseconds; want the remaining time in whole milliseconds, like "1500ms"`},
			{"2s", `Courier-Deadline: "2s" is not a duration in milliseconds; want the remaining time in whole milliseconds, like "1500ms"`},
			{"ms", `Courier-Deadline: "ms" is not a duration in milliseconds; want the remaining time in whole milliseconds, like "1500ms"`},
			{"+5ms", `Courier-Deadline: "+5ms" is not a whole number of milliseconds; want the remaining time in whole milliseconds, like "1500ms"`},
			{"1000000000ms", `Courier-Deadline: "1000000000ms" is more than the maximum 999999999ms`},
			{"99999999999999999999999ms", `Courier-Deadline: "99999999999999999999999ms" is more than the maximum 999999999ms`},
		} {
			ctx, cancel, err := resilience.ExtractDeadline(t.Context(), get(tc.value))
			cancel()
			if err == nil || err.Error() != tc.want || !errors.Is(err, errInvalid) {
				t.Errorf("%q: err %v\nwant %s", tc.value, err, tc.want)
			}
			if ctx != t.Context() {
				t.Errorf("%q: context changed despite the error", tc.value)
			}
		}
	})
}
