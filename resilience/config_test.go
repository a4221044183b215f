package resilience_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/courier-io/courier/driver"
	"github.com/courier-io/courier/resilience"
)

const validYAML = `
policies:
  timeouts:
    fast: 200ms
  retries:
    standard:
      duration: 100ms
      maxInterval: 1s
      maxRetries: 3
      jitter: none
      budget: shared
    steady:
      policy: constant
      duration: 300ms
  budgets:
    shared: {ratio: 0.5, minPerSecond: 1, window: 10s}
  circuitBreakers:
    strict:
      consecutiveFailures: 2
      timeout: 5s
      maxRequests: 1
    lenient:
      failureRatio: 0.8
      minRequests: 5
      interval: 30s
  bulkheads:
    db: {maxConcurrent: 4, maxQueue: 8}
  rateLimits:
    api: {rate: 100, burst: 10}
  hedges:
    reads: {percentile: 95, minSamples: 10}
    fixed: {delay: 50ms, maxHedges: 2}
targets:
  orders:
    timeout: fast
    retry: standard
    circuitBreaker: strict
  payments:
    retry: standard
    circuitBreaker: lenient
    bulkhead: db
    rateLimit: api
  search:
    retry: steady
    hedge: reads
  catalog:
    hedge: fixed
  plain: {}
  billing: {retry: standard}
`

// The same document as JSON.
const validJSON = `{
  "policies": {
    "timeouts": {"fast": "200ms"},
    "retries": {
      "standard": {"duration": "100ms", "maxInterval": "1s", "maxRetries": 3, "jitter": "none", "budget": "shared"},
      "steady": {"policy": "constant", "duration": "300ms"}
    },
    "budgets": {"shared": {"ratio": 0.5, "minPerSecond": 1, "window": "10s"}},
    "circuitBreakers": {
      "strict": {"consecutiveFailures": 2, "timeout": "5s", "maxRequests": 1},
      "lenient": {"failureRatio": 0.8, "minRequests": 5, "interval": "30s"}
    },
    "bulkheads": {"db": {"maxConcurrent": 4, "maxQueue": 8}},
    "rateLimits": {"api": {"rate": 100, "burst": 10}},
    "hedges": {"reads": {"percentile": 95, "minSamples": 10}, "fixed": {"delay": "50ms", "maxHedges": 2}}
  },
  "targets": {
    "orders": {"timeout": "fast", "retry": "standard", "circuitBreaker": "strict"},
    "payments": {"retry": "standard", "circuitBreaker": "lenient", "bulkhead": "db", "rateLimit": "api"},
    "search": {"retry": "steady", "hedge": "reads"},
    "catalog": {"hedge": "fixed"},
    "plain": {},
    "billing": {"retry": "standard"}
  }
}`

func TestLoadConfigValid(t *testing.T) {
	for _, tc := range []struct{ format, doc string }{{"yaml", validYAML}, {"json", validJSON}} {
		t.Run(tc.format, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c, err := resilience.LoadConfig([]byte(tc.doc), tc.format)
				if err != nil {
					t.Fatal(err)
				}
				if got := strings.Join(c.Targets(), ","); got != "billing,catalog,orders,payments,plain,search" {
					t.Errorf("targets %s", got)
				}
				for _, target := range c.Targets() {
					p, err := c.PolicyFor(target)
					if err != nil {
						t.Fatalf("%s: %v", target, err)
					}
					if p.Name() != target {
						t.Errorf("policy named %q, want %q", p.Name(), target)
					}
					if again, _ := c.PolicyFor(target); again != p {
						t.Errorf("%s: PolicyFor returned a new Policy, so breaker state would not be shared", target)
					}
				}

				// orders: 200ms timeout, 4 attempts waiting 100, 200, 400ms; the
				// breaker opens after 2 consecutive failures.
				orders, _ := c.PolicyFor("orders")
				var at []time.Time
				err = orders.Do(t.Context(), func(ctx context.Context) error {
					at = append(at, time.Now())
					if d, _ := ctx.Deadline(); time.Until(d) != 200*time.Millisecond {
						t.Errorf("attempt deadline in %v, want 200ms", time.Until(d))
					}
					return errBoom
				})
				if !errors.Is(err, resilience.ErrCircuitOpen) || len(at) != 2 || at[1].Sub(at[0]) != 100*time.Millisecond {
					t.Errorf("orders: err %v after %d attempts", err, len(at))
				}
				if orders.BreakerState() != resilience.BreakerOpen {
					t.Errorf("orders breaker %v", orders.BreakerState())
				}

				// search: constant 300ms between 3 attempts.
				search, _ := c.PolicyFor("search")
				at = nil
				_ = search.Do(resilience.NoHedge(t.Context()), func(context.Context) error { at = append(at, time.Now()); return errBoom })
				if len(at) != 3 || at[1].Sub(at[0]) > 300*time.Millisecond || at[2].Sub(at[1]) > 300*time.Millisecond {
					t.Errorf("search: %d attempts", len(at))
				}

				// billing shares the "shared" budget: 50% of calls plus 1/s.
				billing, _ := c.PolicyFor("billing")
				budgetRefused := 0
				for range 20 {
					err := billing.Do(t.Context(), func(context.Context) error { return errBoom })
					if errors.Is(err, resilience.ErrBudgetExhausted) {
						budgetRefused++
					}
				}
				if budgetRefused == 0 {
					t.Error("billing never ran out of the shared budget")
				}

				if _, err := c.PolicyFor("nope"); !errors.Is(err, driver.ErrNotFound) {
					t.Errorf("unknown target: %v", err)
				}
			})
		})
	}
}

func TestLoadConfigEmpty(t *testing.T) {
	for _, doc := range []struct{ data, format string }{{"", "yaml"}, {"# nothing\n", "yml"}, {"{}", "json"}, {"null", "JSON"}} {
		c, err := resilience.LoadConfig([]byte(doc.data), doc.format)
		if err != nil || len(c.Targets()) != 0 {
			t.Errorf("%q: %v", doc.data, err)
		}
	}
}

// TestLoadConfigInvalid lists every way a document can be refused, with
// the message that says where.
func TestLoadConfigInvalid(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		want      string
	}{
		{"syntax", "policies: [", "config: invalid YAML: line 1: did not find expected node content"},
		{"not a mapping", "- a", "config: must be a mapping, not a list"},
		{"unknown top field", "polices: {}", "polices: unknown field; the fields are policies, targets"},
		{"unknown section", "policies: {retry: {}}", "policies.retry: unknown field; the fields are budgets, bulkheads, circuitBreakers, hedges, rateLimits, retries, timeouts"},
		{"section not a mapping", "policies: {retries: 3}", "policies.retries: must be a mapping, not 3"},
		{"bad name", "policies: {timeouts: {\"a b\": 1s}}", `policies.timeouts."a b": a name is 1-64 letters, digits, '-' or '_'`},
		{"timeout missing", "policies: {timeouts: {fast: }}", `policies.timeouts.fast: a duration is required, like "500ms"`},
		{"timeout garbage", "policies: {timeouts: {fast: soon}}", `policies.timeouts.fast: "soon" is not a duration like "500ms" or "2s"`},
		{"timeout number", "policies: {timeouts: {fast: 5}}", `policies.timeouts.fast: 5 is not a duration like "500ms" or "2s"`},
		{"timeout range", "policies: {timeouts: {fast: 48h}}", "policies.timeouts.fast: 48h is out of range 1ms..24h"},
		{"maxRetries range", "policies: {retries: {slow: {maxRetries: -1}}}", "policies.retries.slow.maxRetries: -1 is out of range 0..100"},
		{"maxRetries fraction", "policies: {retries: {slow: {maxRetries: 1.5}}}", "policies.retries.slow.maxRetries: 1.5 is not an integer"},
		{"maxRetries string", `policies: {retries: {slow: {maxRetries: "3"}}}`, `policies.retries.slow.maxRetries: "3" is not an integer`},
		{"retry kind", "policies: {retries: {slow: {policy: linear}}}", `policies.retries.slow.policy: "linear" is not one of exponential, constant`},
		{"retry unknown field", "policies: {retries: {slow: {maxAttempts: 3}}}", "policies.retries.slow.maxAttempts: unknown field; the fields are budget, duration, jitter, maxInterval, maxRetries, policy"},
		{"maxInterval below duration", "policies: {retries: {slow: {duration: 2s, maxInterval: 1s}}}", "policies.retries.slow.maxInterval: 1s is less than duration 2s"},
		{"maxInterval with constant", "policies: {retries: {slow: {policy: constant, maxInterval: 1s}}}", "policies.retries.slow.maxInterval: applies only to policy exponential"},
		{"jitter", "policies: {retries: {slow: {jitter: half}}}", `policies.retries.slow.jitter: "half" is not one of full, none`},
		{"budget reference", "policies: {retries: {slow: {budget: nope}}}", `policies.retries.slow.budget: no budget named "nope" under policies.budgets`},
		{"budget ratio", "policies: {budgets: {b: {ratio: 2}}}", "policies.budgets.b.ratio: 2 is out of range [0, 1]"},
		{"budget window", "policies: {budgets: {b: {window: 10ms}}}", "policies.budgets.b.window: 10ms is out of range 1s..1h"},
		{"budget minPerSecond", "policies: {budgets: {b: {minPerSecond: -3}}}", "policies.budgets.b.minPerSecond: -3 is out of range 0..1000000"},
		{"breaker modes", "policies: {circuitBreakers: {cb: {consecutiveFailures: 3, failureRatio: 0.5}}}", "policies.circuitBreakers.cb: consecutiveFailures excludes failureRatio, minRequests and interval; set one mode"},
		{"breaker consecutive", "policies: {circuitBreakers: {cb: {consecutiveFailures: 0}}}", "policies.circuitBreakers.cb.consecutiveFailures: 0 is out of range 1..10000"},
		{"breaker ratio", "policies: {circuitBreakers: {cb: {failureRatio: 0}}}", "policies.circuitBreakers.cb.failureRatio: 0 is out of range (0, 1]"},
		{"breaker interval", "policies: {circuitBreakers: {cb: {interval: 2h}}}", "policies.circuitBreakers.cb.interval: 2h is out of range 1s..1h"},
		{"breaker probes", "policies: {circuitBreakers: {cb: {maxRequests: 0}}}", "policies.circuitBreakers.cb.maxRequests: 0 is out of range 1..1000"},
		{"breaker open time", "policies: {circuitBreakers: {cb: {timeout: 0s}}}", "policies.circuitBreakers.cb.timeout: 0s is out of range 1ms..1h"},
		{"bulkhead required", "policies: {bulkheads: {db: {maxQueue: 3}}}", "policies.bulkheads.db.maxConcurrent: is required (1..1000000)"},
		{"bulkhead range", "policies: {bulkheads: {db: {maxConcurrent: 0}}}", "policies.bulkheads.db.maxConcurrent: 0 is out of range 1..1000000"},
		{"rate required", "policies: {rateLimits: {api: {burst: 3}}}", "policies.rateLimits.api.rate: is required, in (0, 1000000] per second"},
		{"rate range", "policies: {rateLimits: {api: {rate: -1}}}", "policies.rateLimits.api.rate: -1 is out of range (0, 1000000]"},
		{"rate period", "policies: {rateLimits: {api: {rate: 0.000001, burst: 10}}}", "policies.rateLimits.api: burst 10 at rate 1e-06 refills every 10000000s; at most 1000h"},
		{"hedge neither", "policies: {hedges: {h: {maxHedges: 2}}}", "policies.hedges.h: set exactly one of delay and percentile"},
		{"hedge both", "policies: {hedges: {h: {delay: 1s, percentile: 90}}}", "policies.hedges.h: set exactly one of delay and percentile"},
		{"hedge percentile", "policies: {hedges: {h: {percentile: 100}}}", "policies.hedges.h.percentile: 100 is out of range (0, 100)"},
		{"hedge samples", "policies: {hedges: {h: {delay: 1s, samples: 10}}}", "policies.hedges.h.samples: applies only to percentile"},
		{"hedge minSamples", "policies: {hedges: {h: {percentile: 90, samples: 10, minSamples: 11}}}", "policies.hedges.h.minSamples: 11 is out of range 1..10"},
		{"hedge maxHedges", "policies: {hedges: {h: {delay: 1s, maxHedges: 11}}}", "policies.hedges.h.maxHedges: 11 is out of range 1..10"},
		{"target unknown field", "targets: {orders: {retries: x}}", "targets.orders.retries: unknown field; the fields are bulkhead, circuitBreaker, hedge, rateLimit, retry, timeout"},
		{"target reference", "policies: {retries: {standard: {}}}\ntargets: {orders: {retry: slow}}", `targets.orders.retry: no retry policy named "slow" under policies.retries (have standard)`},
		{"target reference kind", "targets: {orders: {timeout: 5}}", "targets.orders.timeout: must be the name of a timeout, not 5"},
		{"target not a mapping", "targets: {orders: fast}", `targets.orders: must be a mapping, not "fast"`},
		{"several", "policies: {timeouts: {a: 0s, b: 2d}}", "policies.timeouts.a: 0s is out of range 1ms..24h\npolicies.timeouts.b: \"2d\" is not a duration like \"500ms\" or \"2s\""},
		{"json syntax", "json:{", "config: invalid JSON: unexpected EOF"},
		{"json trailing", "json:{} {}", "config: invalid JSON: data after the top-level value"},
		{"json number as string", `json:{"policies": {"retries": {"r": {"maxRetries": "2"}}}}`, `policies.retries.r.maxRetries: "2" is not an integer`},
		{"format", "toml:", `format: "toml" is not supported; use "yaml" or "json"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			format, doc := "yaml", tc.doc
			if f, rest, ok := strings.Cut(doc, ":"); ok && (f == "json" || f == "toml") {
				format, doc = f, rest
			}
			_, err := resilience.LoadConfig([]byte(doc), format)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("err = %v\nwant  %s", err, tc.want)
			}
			if !errors.Is(err, errInvalid) {
				t.Errorf("%v does not match courier.ErrInvalid", err)
			}
		})
	}
	big := make([]byte, resilience.MaxConfigSize+1)
	if _, err := resilience.LoadConfig(big, "yaml"); !errors.Is(err, driver.ErrTooLarge) {
		t.Errorf("oversized document: %v", err)
	}
}
