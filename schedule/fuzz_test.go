package schedule_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/courier-io/courier/schedule"
)

// FuzzParse checks that Parse never panics, that a parsed schedule's
// String parses back to an equal schedule, and that Next never returns a
// time at or before its argument other than the zero time.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"rate(1 minute)", "rate(5 minutes)", "rate(1 hour)", "rate(2 hours)", "rate(1 day)", "rate(3650 days)",
		"cron(0 10 * * ? *)", "cron(15 12 * * ? *)", "cron(0 18 ? * MON-FRI *)", "cron(0 8 1 * ? *)",
		"cron(0/15 * * * ? *)", "cron(0/10 * ? * MON-FRI *)", "cron(0/5 8-17 ? * MON-FRI *)",
		"cron(0 9 ? * 2#1 *)", "cron(0 0 L * ? *)", "cron(0 0 LW * ? *)", "cron(0 0 15W * ? *)",
		"cron(0 0 ? * 6L *)", "cron(0 0 ? * L *)", "cron(0 0 29 2 ? *)", "cron(0 22-2 ? * FRI-MON 2024-2030/2)",
		"cron(1,2,3 */4 1-31/3 JAN-dec ? 1970-2199)", "cron(0 10 * * * *)", "rate(0 minutes)", "cron(",
	} {
		f.Add(seed, int64(1707568496), int64(0))
	}
	f.Fuzz(func(t *testing.T, expr string, sec, anchor int64) {
		s, err := schedule.Parse(expr)
		if err != nil {
			if s != nil {
				t.Fatalf("Parse(%q) returned a schedule and an error", expr)
			}
			return
		}
		again, err := schedule.Parse(s.String())
		if err != nil {
			t.Fatalf("Parse(%q).String() = %q, which fails: %v", expr, s.String(), err)
		}
		if !reflect.DeepEqual(again, s) {
			t.Fatalf("Parse(%q) = %#v, but its String %q parses to %#v", expr, s, s.String(), again)
		}
		// Times from year 1 to year 9999 or so, in seconds.
		const span = 315537897600
		from := time.Unix(sec%span-62135596800, 0)
		a := s.Anchor(time.Unix(anchor%span-62135596800, int64(uint64(anchor)%1e9)))
		for _, sch := range []*schedule.Schedule{s, a} {
			cur := from
			for range 3 {
				next := sch.Next(cur)
				if next.IsZero() {
					break
				}
				if !next.After(cur) {
					t.Fatalf("%s: Next(%v) = %v, not after", sch, cur, next)
				}
				cur = next
			}
		}
	})
}
