package resilience_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/courier-io/courier/resilience"
)

func ExampleNew() {
	p, err := resilience.New(
		resilience.WithName("inventory"),
		resilience.WithRetry(resilience.RetryConfig{MaxAttempts: 3, MinDelay: time.Millisecond}),
		resilience.WithTimeout(time.Second),
	)
	if err != nil {
		fmt.Println(err)
		return
	}

	attempts := 0
	err = p.Do(context.Background(), func(ctx context.Context) error {
		attempts++
		if attempts < 3 {
			return errors.New("connection refused")
		}
		return nil
	})
	fmt.Println(attempts, err)

	err = p.Do(context.Background(), func(ctx context.Context) error {
		return errors.New("connection refused")
	})
	fmt.Println(err)
	fmt.Println(errors.Is(err, resilience.ErrRetriesExhausted))

	_, err = resilience.New(resilience.WithRetry(resilience.RetryConfig{MaxAttempts: 500}))
	fmt.Println(err)
	// Output:
	// 3 <nil>
	// resilience: retries exhausted after 3 attempts (policy "inventory"): connection refused
	// true
	// retry.maxAttempts: 500 is out of range 1..101
}

func ExampleRun() {
	p := resilience.DefaultPolicy()
	price, err := resilience.Run(context.Background(), p, func(ctx context.Context) (int, error) {
		return 1299, nil
	})
	fmt.Println(price, err)
	// Output: 1299 <nil>
}

func ExampleLoadConfig() {
	doc := []byte(`
policies:
  timeouts:
    fast: 300ms
  retries:
    standard:
      maxRetries: 2
      duration: 1ms
      budget: shared
  budgets:
    shared: {ratio: 0.1, minPerSecond: 10}
  circuitBreakers:
    orders:
      consecutiveFailures: 5
      timeout: 10s
targets:
  orders:
    timeout: fast
    retry: standard
    circuitBreaker: orders
`)
	c, err := resilience.LoadConfig(doc, "yaml")
	if err != nil {
		fmt.Println(err)
		return
	}
	p, err := c.PolicyFor("orders")
	if err != nil {
		fmt.Println(err)
		return
	}
	err = p.Do(context.Background(), func(ctx context.Context) error {
		deadline, _ := ctx.Deadline()
		fmt.Println("attempt deadline within 300ms:", time.Until(deadline) <= 300*time.Millisecond)
		return nil
	})
	fmt.Println(err)

	_, err = resilience.LoadConfig([]byte(`
policies:
  retries:
    slow: {maxRetries: -1}
targets:
  orders: {retry: slower}
`), "yaml")
	fmt.Println(err)
	// Output:
	// attempt deadline within 300ms: true
	// <nil>
	// policies.retries.slow.maxRetries: -1 is out of range 0..100
	// targets.orders.retry: no retry policy named "slower" under policies.retries (have slow)
}

func ExampleInjectDeadline() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://inventory.internal/items", nil)
	resilience.InjectDeadline(ctx, req.Header.Set)
	// The next hop sees a little less than a minute, minus the margin.
	ms, _ := strconv.Atoi(strings.TrimSuffix(req.Header.Get(resilience.DeadlineHeader), "ms"))
	fmt.Println(ms > 59_000 && ms <= 59_990)
	// Output: true
}
