package resilience

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/courier-io/courier/driver"
)

// MaxConfigSize is the largest document LoadConfig reads.
const MaxConfigSize = 1 << 20

// Config is a set of named policies attached to named targets, in the
// manner of Dapr's resiliency spec. Load one with LoadConfig and get each
// target's Policy with PolicyFor. The document has two sections (every
// duration is a Go duration string such as "500ms" or "2s"):
//
//	policies:
//	  timeouts:                 # name: duration, 1ms..24h
//	    fast: 500ms
//	  retries:
//	    standard:
//	      policy: exponential   # or constant; default exponential
//	      duration: 50ms        # first (or every) delay, 1ms..1h; default 50ms
//	      maxInterval: 2s       # exponential only: cap, ≥ duration, ≤ 1h; default 2s
//	      maxRetries: 2         # 0..100; default 2 (so 3 attempts)
//	      jitter: full          # full or none; default full
//	      budget: shared        # a name under budgets; default none
//	  budgets:                  # one Budget per name, shared by every retry policy naming it
//	    shared: {ratio: 0.1, minPerSecond: 10, window: 1s}    # the defaults; window 1s..1h
//	  circuitBreakers:
//	    orders:
//	      consecutiveFailures: 5   # 1..10000; or the ratio mode below
//	      failureRatio: 0.5        # (0, 1]; default 0.5
//	      minRequests: 20          # 1..1000000; default 20
//	      interval: 10s            # the ratio's window, 1s..1h; default 10s
//	      timeout: 1s              # time open before trial calls, 1ms..1h; default 1s
//	      maxRequests: 3           # trial calls when half-open, 1..1000; default 3
//	  bulkheads:
//	    db: {maxConcurrent: 10, maxQueue: 100}       # 1..1000000 (required); 0..1000000, default 0
//	  rateLimits:
//	    api: {rate: 100, burst: 10}                  # per second, (0, 1000000] (required); 1..1000000, default 1
//	  hedges:
//	    reads: {delay: 50ms, maxHedges: 1}           # or percentile: 95, minSamples: 20, samples: 100
//	targets:
//	  orders:                   # each field names a policy above; all optional
//	    timeout: fast
//	    retry: standard
//	    circuitBreaker: orders
//	    bulkhead: db
//	    rateLimit: api
//	    hedge: reads
//
// Names are 1-64 letters, digits, '-' or '_'. Each target gets its own
// breaker, bulkhead, rate limiter and hedge statistics, even when targets
// name the same policy; budgets are shared by name. A Config is safe for
// concurrent use.
type Config struct {
	timeouts   map[string]time.Duration
	retries    map[string]retrySpec
	budgets    map[string]*Budget
	breakers   map[string]BreakerConfig
	bulkheads  map[string][2]int
	rateLimits map[string]rateSpec
	hedges     map[string]HedgeConfig
	targets    map[string]targetSpec

	mu       sync.Mutex
	policies map[string]*Policy
}

type retrySpec struct {
	cfg    RetryConfig
	budget string
}

type rateSpec struct {
	rate  float64
	burst int
}

type targetSpec struct {
	timeout, retry, breaker, bulkhead, rateLimit, hedge string
}

// LoadConfig parses and validates a configuration document (see Config) in
// format "yaml" or "json". It fails with errors matching courier.ErrInvalid,
// one per problem, each naming where it is, e.g.
// "policies.retries.slow.maxRetries: -1 is out of range 0..100". Unknown
// fields and references to undefined policies are errors.
func LoadConfig(data []byte, format string) (*Config, error) {
	if len(data) > MaxConfigSize {
		return nil, driver.TooLarge("config", "%d bytes; the limit is %d", len(data), MaxConfigSize)
	}
	var tree any
	switch strings.ToLower(format) {
	case "yaml", "yml":
		if err := yaml.Unmarshal(data, &tree); err != nil {
			return nil, driver.Invalid("config", "invalid YAML: %v", strings.TrimPrefix(err.Error(), "yaml: "))
		}
	case "json":
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		if err := dec.Decode(&tree); err != nil {
			return nil, driver.Invalid("config", "invalid JSON: %v", err)
		}
		if _, err := dec.Token(); err != io.EOF {
			return nil, driver.Invalid("config", "invalid JSON: data after the top-level value")
		}
	default:
		return nil, driver.Invalid("format", "%q is not supported; use \"yaml\" or \"json\"", format)
	}
	var l loader
	c := l.config(tree)
	if err := l.v.err(); err != nil {
		return nil, err
	}
	return c, nil
}

// Targets returns the names of the configured targets, sorted.
func (c *Config) Targets() []string {
	return sortedKeys(c.targets)
}

// PolicyFor returns the Policy of target, named after it. Every call for
// the same target returns the same *Policy, so its breaker and bulkhead see
// all of the target's calls. An unknown target is an error matching
// courier.ErrNotFound.
func (c *Config) PolicyFor(target string) (*Policy, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p, ok := c.policies[target]; ok {
		return p, nil
	}
	t, ok := c.targets[target]
	if !ok {
		return nil, fmt.Errorf("resilience: no target %q in the config: %w", target, driver.ErrNotFound)
	}
	opts := []Option{WithName(target)}
	if t.timeout != "" {
		opts = append(opts, WithTimeout(c.timeouts[t.timeout]))
	}
	if t.retry != "" {
		r := c.retries[t.retry]
		opts = append(opts, WithRetry(r.cfg))
		if r.budget != "" {
			opts = append(opts, WithBudget(c.budgets[r.budget]))
		}
	}
	if t.breaker != "" {
		opts = append(opts, WithBreaker(c.breakers[t.breaker]))
	}
	if t.bulkhead != "" {
		b := c.bulkheads[t.bulkhead]
		opts = append(opts, WithBulkhead(b[0], b[1]))
	}
	if t.rateLimit != "" {
		r := c.rateLimits[t.rateLimit]
		opts = append(opts, WithRateLimit(r.rate, r.burst))
	}
	if t.hedge != "" {
		opts = append(opts, WithHedge(c.hedges[t.hedge]))
	}
	p, err := New(opts...)
	if err != nil {
		return nil, fmt.Errorf("resilience: target %q: %w", target, err)
	}
	if c.policies == nil {
		c.policies = make(map[string]*Policy)
	}
	c.policies[target] = p
	return p, nil
}

// loader turns a decoded YAML or JSON tree into a Config, recording every
// problem with its path.
type loader struct {
	v validator
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

func (l *loader) config(tree any) *Config {
	c := &Config{
		timeouts:   map[string]time.Duration{},
		retries:    map[string]retrySpec{},
		budgets:    map[string]*Budget{},
		breakers:   map[string]BreakerConfig{},
		bulkheads:  map[string][2]int{},
		rateLimits: map[string]rateSpec{},
		hedges:     map[string]HedgeConfig{},
		targets:    map[string]targetSpec{},
	}
	top, _ := l.object("", tree, "policies", "targets")
	pol, _ := l.object("policies", top["policies"], "budgets", "bulkheads", "circuitBreakers", "hedges", "rateLimits", "retries", "timeouts")

	l.each("policies.budgets", pol["budgets"], func(path string, node any) {
		m, ok := l.object(path, node, "minPerSecond", "ratio", "window")
		if !ok {
			return
		}
		ratio := l.float(path+".ratio", m["ratio"], DefaultBudgetRatio, 0, 1, false)
		perSec := l.int(path+".minPerSecond", m["minPerSecond"], DefaultBudgetMinPerSecond, 0, 1_000_000)
		window := l.duration(path+".window", m["window"], DefaultBudgetWindow, time.Second, time.Hour)
		if b, err := NewBudget(ratio, perSec, window); err == nil {
			c.budgets[lastName(path)] = b
		}
	})
	l.each("policies.timeouts", pol["timeouts"], func(path string, node any) {
		if node == nil {
			l.v.fail(path, "a duration is required, like \"500ms\"")
			return
		}
		c.timeouts[lastName(path)] = l.duration(path, node, 0, time.Millisecond, 24*time.Hour)
	})
	l.each("policies.retries", pol["retries"], func(path string, node any) {
		m, ok := l.object(path, node, "budget", "duration", "jitter", "maxInterval", "maxRetries", "policy")
		if !ok {
			return
		}
		kind := l.enum(path+".policy", m["policy"], "exponential", "exponential", "constant")
		base := l.duration(path+".duration", m["duration"], DefaultMinDelay, time.Millisecond, time.Hour)
		capDelay := base
		if kind == "constant" {
			if m["maxInterval"] != nil {
				l.v.fail(path+".maxInterval", "applies only to policy exponential")
			}
		} else {
			capDelay = l.duration(path+".maxInterval", m["maxInterval"], max(DefaultMaxDelay, base), time.Millisecond, time.Hour)
			if capDelay < base {
				l.v.fail(path+".maxInterval", "%s is less than duration %s", fmtDuration(capDelay), fmtDuration(base))
			}
		}
		retries := l.int(path+".maxRetries", m["maxRetries"], DefaultMaxAttempts-1, 0, 100)
		jitter := JitterFull
		if l.enum(path+".jitter", m["jitter"], "full", "full", "none") == "none" {
			jitter = JitterNone
		}
		spec := retrySpec{cfg: RetryConfig{MaxAttempts: retries + 1, MinDelay: base, MaxDelay: capDelay, Jitter: jitter}}
		if m["budget"] != nil {
			spec.budget = l.ref(path+".budget", m["budget"], "budget", "policies.budgets", pol["budgets"])
		}
		c.retries[lastName(path)] = spec
	})
	l.each("policies.circuitBreakers", pol["circuitBreakers"], func(path string, node any) {
		m, ok := l.object(path, node, "consecutiveFailures", "failureRatio", "interval", "maxRequests", "minRequests", "timeout")
		if !ok {
			return
		}
		var b BreakerConfig
		if m["consecutiveFailures"] != nil {
			b.ConsecutiveFailures = l.int(path+".consecutiveFailures", m["consecutiveFailures"], 0, 1, 10000)
			if m["failureRatio"] != nil || m["minRequests"] != nil || m["interval"] != nil {
				l.v.fail(path, "consecutiveFailures excludes failureRatio, minRequests and interval; set one mode")
			}
		} else {
			b.FailureRatio = l.float(path+".failureRatio", m["failureRatio"], DefaultFailureRatio, 0, 1, true)
			b.MinCalls = l.int(path+".minRequests", m["minRequests"], DefaultMinCalls, 1, 1_000_000)
			b.Window = l.duration(path+".interval", m["interval"], DefaultBreakerWindow, time.Second, time.Hour)
		}
		b.OpenFor = l.duration(path+".timeout", m["timeout"], DefaultOpenFor, time.Millisecond, time.Hour)
		b.HalfOpenProbes = l.int(path+".maxRequests", m["maxRequests"], DefaultHalfOpenProbes, 1, 1000)
		c.breakers[lastName(path)] = b
	})
	l.each("policies.bulkheads", pol["bulkheads"], func(path string, node any) {
		m, ok := l.object(path, node, "maxConcurrent", "maxQueue")
		if !ok {
			return
		}
		if m["maxConcurrent"] == nil {
			l.v.fail(path+".maxConcurrent", "is required (1..1000000)")
		}
		n := l.int(path+".maxConcurrent", m["maxConcurrent"], 1, 1, 1_000_000)
		q := l.int(path+".maxQueue", m["maxQueue"], 0, 0, 1_000_000)
		c.bulkheads[lastName(path)] = [2]int{n, q}
	})
	l.each("policies.rateLimits", pol["rateLimits"], func(path string, node any) {
		m, ok := l.object(path, node, "burst", "rate")
		if !ok {
			return
		}
		if m["rate"] == nil {
			l.v.fail(path+".rate", "is required, in (0, 1000000] per second")
		}
		rate := l.float(path+".rate", m["rate"], 1, 0, 1_000_000, true)
		burst := l.int(path+".burst", m["burst"], 1, 1, 1_000_000)
		if period := float64(burst) / rate; period > (1000 * time.Hour).Seconds() {
			l.v.fail(path, "burst %d at rate %s refills every %ss; at most 1000h", burst, fmtFloat(rate), fmtFloat(period))
		}
		c.rateLimits[lastName(path)] = rateSpec{rate: rate, burst: burst}
	})
	l.each("policies.hedges", pol["hedges"], func(path string, node any) {
		m, ok := l.object(path, node, "delay", "maxHedges", "minSamples", "percentile", "samples")
		if !ok {
			return
		}
		var h HedgeConfig
		switch {
		case (m["delay"] == nil) == (m["percentile"] == nil):
			l.v.fail(path, "set exactly one of delay and percentile")
		case m["delay"] != nil:
			h.Delay = l.duration(path+".delay", m["delay"], 0, time.Millisecond, time.Hour)
			for _, f := range []string{"minSamples", "samples"} {
				if m[f] != nil {
					l.v.fail(path+"."+f, "applies only to percentile")
				}
			}
		default:
			if f, ok := number(m["percentile"]); !ok {
				l.v.fail(path+".percentile", "%s is not a number", describe(m["percentile"]))
			} else if f <= 0 || f >= 100 {
				l.v.fail(path+".percentile", "%s is out of range (0, 100)", describe(m["percentile"]))
			} else {
				h.Percentile = f
			}
			h.Samples = l.int(path+".samples", m["samples"], DefaultSamples, 1, 10000)
			h.MinSamples = l.int(path+".minSamples", m["minSamples"], min(DefaultMinSamples, h.Samples), 1, max(h.Samples, 1))
		}
		h.MaxHedges = l.int(path+".maxHedges", m["maxHedges"], DefaultMaxHedges, 1, 10)
		c.hedges[lastName(path)] = h
	})
	l.each("targets", top["targets"], func(path string, node any) {
		m, ok := l.object(path, node, "bulkhead", "circuitBreaker", "hedge", "rateLimit", "retry", "timeout")
		if !ok {
			return
		}
		ref := func(field, kind, section string) string {
			if m[field] == nil {
				return ""
			}
			return l.ref(path+"."+field, m[field], kind, "policies."+section, pol[section])
		}
		c.targets[lastName(path)] = targetSpec{
			timeout:   ref("timeout", "timeout", "timeouts"),
			retry:     ref("retry", "retry policy", "retries"),
			breaker:   ref("circuitBreaker", "circuit breaker", "circuitBreakers"),
			bulkhead:  ref("bulkhead", "bulkhead", "bulkheads"),
			rateLimit: ref("rateLimit", "rate limit", "rateLimits"),
			hedge:     ref("hedge", "hedge policy", "hedges"),
		}
	})
	return c
}

// lastName returns the name at the end of a path built by each.
func lastName(path string) string {
	return path[strings.LastIndexByte(path, '.')+1:]
}

// object checks that node is a mapping with only the given fields (any
// fields when none are given) and returns it; an absent (null) node is an
// empty mapping. It returns false when node is not a mapping.
func (l *loader) object(path string, node any, fields ...string) (map[string]any, bool) {
	if node == nil {
		return nil, true
	}
	m, ok := asMap(node)
	if !ok {
		l.v.fail(orConfig(path), "must be a mapping, not %s", describe(node))
		return nil, false
	}
	for _, k := range sortedKeys(m) {
		if len(fields) > 0 && !slices.Contains(fields, k) {
			l.v.fail(join(path, k), "unknown field; the fields are %s", strings.Join(fields, ", "))
		}
	}
	return m, true
}

// each calls fn for every named entry of the mapping node, in name order.
func (l *loader) each(path string, node any, fn func(path string, node any)) {
	m, _ := l.object(path, node)
	for _, name := range sortedKeys(m) {
		if !nameRE.MatchString(name) {
			l.v.fail(path+"."+strconv.Quote(name), "a name is 1-64 letters, digits, '-' or '_'")
			continue
		}
		fn(path+"."+name, m[name])
	}
}

// ref checks that node names an entry of the mapping section.
func (l *loader) ref(path string, node any, kind, sectionPath string, section any) string {
	name, ok := node.(string)
	if !ok {
		l.v.fail(path, "must be the name of a %s, not %s", kind, describe(node))
		return ""
	}
	m, _ := asMap(section)
	if _, ok := m[name]; !ok || !nameRE.MatchString(name) {
		if have := sortedKeys(m); len(have) > 0 {
			l.v.fail(path, "no %s named %q under %s (have %s)", kind, name, sectionPath, strings.Join(have, ", "))
		} else {
			l.v.fail(path, "no %s named %q under %s", kind, name, sectionPath)
		}
		return ""
	}
	return name
}

func (l *loader) int(path string, node any, def, lo, hi int) int {
	if node == nil {
		return def
	}
	f, ok := number(node)
	if !ok || f != math.Trunc(f) {
		l.v.fail(path, "%s is not an integer", describe(node))
		return def
	}
	if f < float64(lo) || f > float64(hi) {
		l.v.fail(path, "%s is out of range %d..%d", describe(node), lo, hi)
		return def
	}
	return int(f)
}

func (l *loader) float(path string, node any, def, lo, hi float64, openLo bool) float64 {
	if node == nil {
		return def
	}
	f, ok := number(node)
	if !ok {
		l.v.fail(path, "%s is not a number", describe(node))
		return def
	}
	if !l.v.floatRange(path, f, lo, hi, openLo) {
		return def
	}
	return f
}

func (l *loader) duration(path string, node any, def, lo, hi time.Duration) time.Duration {
	if node == nil {
		return def
	}
	s, ok := node.(string)
	d, err := time.ParseDuration(s)
	if !ok || err != nil {
		l.v.fail(path, "%s is not a duration like \"500ms\" or \"2s\"", describe(node))
		return def
	}
	if d < lo || d > hi {
		l.v.fail(path, "%s is out of range %s..%s", s, fmtDuration(lo), fmtDuration(hi))
		return def
	}
	return d
}

func (l *loader) enum(path string, node any, def string, allowed ...string) string {
	if node == nil {
		return def
	}
	s, ok := node.(string)
	if !ok || !slices.Contains(allowed, s) {
		l.v.fail(path, "%s is not one of %s", describe(node), strings.Join(allowed, ", "))
		return def
	}
	return s
}

// number converts the numeric types YAML and JSON decode to. It refuses
// strings: "3" is not 3.
func number(node any) (float64, bool) {
	switch n := node.(type) {
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case uint64:
		return float64(n), true
	case float64:
		return n, !math.IsNaN(n) && !math.IsInf(n, 0)
	case json.Number:
		f, err := n.Float64()
		return f, err == nil && !math.IsNaN(f) && !math.IsInf(f, 0)
	}
	return 0, false
}

func asMap(node any) (map[string]any, bool) {
	switch m := node.(type) {
	case map[string]any:
		return m, true
	case map[any]any:
		out := make(map[string]any, len(m))
		for k, v := range m {
			out[fmt.Sprint(k)] = v
		}
		return out, true
	}
	return nil, false
}

// describe renders a decoded value for an error message.
func describe(node any) string {
	switch n := node.(type) {
	case string:
		return strconv.Quote(n)
	case nil:
		return "null"
	case map[string]any, map[any]any:
		return "a mapping"
	case []any:
		return "a list"
	case float64:
		return fmtFloat(n)
	case json.Number:
		if f, err := n.Float64(); err == nil {
			return fmtFloat(f)
		}
		return n.String()
	}
	return fmt.Sprint(node)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func join(path, field string) string {
	if path == "" {
		return field
	}
	return path + "." + field
}

func orConfig(path string) string {
	if path == "" {
		return "config"
	}
	return path
}

// fmtDuration formats d without zero minutes and seconds: 1h, 1m30s, 500ms.
func fmtDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}
