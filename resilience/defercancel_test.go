package resilience_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/courier-io/courier/resilience"
)

func TestDeferCancelKeepsTheWinnersContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for _, tc := range []struct {
			opt    resilience.Option
			ownCtx bool // the attempt has a context of its own to cancel
		}{
			{resilience.WithTimeout(time.Second), true},
			{resilience.WithHedge(resilience.HedgeConfig{Delay: 10 * time.Millisecond}), true},
			{resilience.WithRetry(resilience.RetryConfig{MaxAttempts: 2, MinDelay: time.Millisecond}), false},
		} {
			p, err := resilience.New(tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			var kept context.Context
			var release func()
			if err := p.Do(t.Context(), func(ctx context.Context) error {
				kept, release = ctx, resilience.DeferCancel(ctx)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			synctest.Wait()
			if kept.Err() != nil {
				t.Fatalf("the winner's context ended before release: %v", kept.Err())
			}
			release()
			release() // harmless
			synctest.Wait()
			if tc.ownCtx && kept.Err() == nil {
				t.Error("release did not cancel the attempt's context")
			}
		}

		// A failed attempt is cancelled even when it asked to be kept.
		p, _ := resilience.New(resilience.WithTimeout(time.Second))
		var kept context.Context
		_ = p.Do(t.Context(), func(ctx context.Context) error {
			kept = ctx
			resilience.DeferCancel(ctx)
			return errBoom
		})
		synctest.Wait()
		if kept.Err() == nil {
			t.Error("a failed attempt's context was kept")
		}

		// The timeout still applies to a kept context.
		var release func()
		_ = p.Do(t.Context(), func(ctx context.Context) error {
			kept, release = ctx, resilience.DeferCancel(ctx)
			return nil
		})
		defer release()
		advance(time.Second)
		synctest.Wait()
		if kept.Err() == nil {
			t.Error("a kept context outlived the attempt's deadline")
		}
		if release := resilience.DeferCancel(t.Context()); release == nil {
			t.Error("DeferCancel outside an attempt returned nil")
		}
	})
}
