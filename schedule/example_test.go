package schedule_test

import (
	"fmt"
	"time"

	"github.com/courier-io/courier/schedule"
)

func Example() {
	// Every 5 minutes from 8:00 to 17:55 UTC, Monday to Friday.
	s, err := schedule.Parse("cron(0/5 8-17 ? * MON-FRI *)")
	if err != nil {
		fmt.Println(err)
		return
	}
	t := time.Date(2024, 2, 9, 17, 50, 0, 0, time.UTC) // a Friday
	for range 3 {
		t = s.Next(t)
		fmt.Println(t.Format("Mon 2006-01-02 15:04"))
	}
	// Output:
	// Fri 2024-02-09 17:55
	// Mon 2024-02-12 08:00
	// Mon 2024-02-12 08:05
}

func ExampleParse() {
	for _, expr := range []string{
		"cron(0 9 ? * 2#1 *)", // 9:00 on the first Monday of the month
		"cron(0 18 ? * mon-fri *)",
		"rate(1 hour)",
		"cron(0 10 * * * *)",
		"cron(0 10 32 * ? *)",
		"rate(5 minute)",
	} {
		s, err := schedule.Parse(expr)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(s)
	}
	// Output:
	// cron(0 9 ? * 2#1 *)
	// cron(0 18 ? * MON-FRI *)
	// rate(1 hour)
	// cron field 5 (day-of-week) "*": day-of-month is "*": one of day-of-month and day-of-week must be "?", a day cannot be given in both
	// cron field 3 (day-of-month) "32": value 32 out of range 1-31
	// schedule expression "rate(5 minute)": rate unit "minute": want "minutes" for a value other than 1
}

func ExampleSchedule_Next() {
	// The last weekday of every month at 23:00 UTC.
	s, err := schedule.Parse("cron(0 23 LW * ? *)")
	if err != nil {
		fmt.Println(err)
		return
	}
	t := time.Date(2024, 2, 10, 0, 0, 0, 0, time.UTC)
	for range 3 {
		t = s.Next(t)
		fmt.Println(t.Format(time.RFC3339), t.Weekday())
	}
	// A schedule that never fires again returns the zero time.
	past, _ := schedule.Parse("cron(0 10 * * ? 2020)")
	fmt.Println(past.Next(t).IsZero())
	// Output:
	// 2024-02-29T23:00:00Z Thursday
	// 2024-03-29T23:00:00Z Friday
	// 2024-04-30T23:00:00Z Tuesday
	// true
}

func ExampleSchedule_Anchor() {
	s, err := schedule.Parse("rate(2 hours)")
	if err != nil {
		fmt.Println(err)
		return
	}
	now := time.Date(2024, 2, 10, 12, 34, 56, 0, time.UTC)
	// Counted from the Unix epoch: on even hours.
	fmt.Println(s.Next(now).Format(time.RFC3339))
	// Counted from the moment the rule was created.
	created := s.Anchor(now)
	fmt.Println(created.Next(now).Format(time.RFC3339))
	fmt.Println(created.Next(now.Add(3 * time.Hour)).Format(time.RFC3339))
	// Output:
	// 2024-02-10T14:00:00Z
	// 2024-02-10T14:34:56Z
	// 2024-02-10T16:34:56Z
}
