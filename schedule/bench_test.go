package schedule_test

import (
	"testing"
	"time"

	"github.com/courier-io/courier/schedule"
)

func BenchmarkNext(b *testing.B) {
	for _, bm := range []struct{ name, expr string }{
		{"every-5-minutes", "cron(0/5 8-17 ? * MON-FRI *)"},
		{"first-monday", "cron(0 9 ? * 2#1 *)"},
		{"leap-day", "cron(0 0 29 2 ? *)"},
		{"never", "cron(0 0 30 2 ? *)"},
		{"rate", "rate(5 minutes)"},
	} {
		s, err := schedule.Parse(bm.expr)
		if err != nil {
			b.Fatal(err)
		}
		from := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				s.Next(from)
			}
		})
	}
}

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := schedule.Parse("cron(0/5 8-17 ? * MON-FRI *)"); err != nil {
			b.Fatal(err)
		}
	}
}
