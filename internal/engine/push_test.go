package engine

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/courier-io/courier/driver"
)

// TestBackoffIsFullJitterWithinTheCap checks the retry wait: never above
// min(max, min*2^(attempt-1)), spread over the whole range (full jitter).
func TestBackoffIsFullJitterWithinTheCap(t *testing.T) {
	minDelay, maxDelay := 10*time.Millisecond, 70*time.Millisecond
	for attempt, ceiling := range map[int]time.Duration{1: 10 * time.Millisecond, 2: 20 * time.Millisecond, 3: 40 * time.Millisecond, 4: 70 * time.Millisecond, 30: 70 * time.Millisecond} {
		var low, high bool
		for range 2000 {
			d := backoff(minDelay, maxDelay, attempt)
			if d < time.Millisecond || d > ceiling {
				t.Fatalf("attempt %d: backoff %v outside [1ms, %v]", attempt, d, ceiling)
			}
			low = low || d < ceiling/4
			high = high || d > ceiling*3/4
		}
		if !low || !high {
			t.Fatalf("attempt %d: 2000 backoffs never fell in the lowest or highest quarter of [0, %v]: not full jitter", attempt, ceiling)
		}
	}
}

func TestHeaderAttributeTypes(t *testing.T) {
	for v, want := range map[string]string{
		"0": "Number", "-1": "Number", "12.5": "Number", "1e9": "Number", "-0.5E-3": "Number",
		"": "String", "01": "String", "1.": "String", ".5": "String", "1e": "String", "+1": "String",
		"eu": "String", "12 ": "String", "0x10": "String", "NaN": "String",
	} {
		if got := driver.HeaderAttribute(v).Type; got != want {
			t.Errorf("header value %q typed %s; want %s", v, got, want)
		}
	}
}

func FuzzHeaderAttribute(f *testing.F) {
	for _, s := range []string{"1", "-2.5e3", "x", "", "1e", "00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		a := driver.HeaderAttribute(v)
		// A JSON text that starts with '-' or a digit is a number.
		number := v != "" && (v[0] == '-' || v[0] >= '0' && v[0] <= '9') && strings.TrimSpace(v) == v && json.Valid([]byte(v))
		if a.Value != v || (a.Type == "Number") != number {
			t.Fatalf("driver.HeaderAttribute(%q) = %+v; JSON number: %v", v, a, number)
		}
	})
}
