package schedule

import (
	"math/bits"
	"time"
)

// next returns the first matching minute strictly after t (in UTC), or the
// zero time. It walks year, month, day, hour and minute, each time jumping
// to the next member of the field's set, and resets the smaller units
// whenever a larger one moves forward.
func (c *cronSpec) next(t time.Time) time.Time {
	year, mon, day := t.Date()
	if year > maxYear {
		return time.Time{}
	}
	hour, minute, _ := t.Clock()
	month := int(mon)
	if year < minYear {
		year, month, day, hour, minute = minYear, 1, 1, 0, 0
	} else {
		// The minute after t's minute; time.Date normalises overflow.
		s := time.Date(year, mon, day, hour, minute+1, 0, 0, time.UTC)
		year, mon, day = s.Date()
		hour, minute, _ = s.Clock()
		month = int(mon)
	}
	for year <= maxYear {
		y := c.years.next(year-minYear) + minYear
		if y < minYear {
			return time.Time{}
		}
		if y != year {
			year, month, day, hour, minute = y, 1, 1, 0, 0
		}
		for month <= 12 {
			m := c.months.next(month-1) + 1
			if m < 1 {
				break
			}
			if m != month {
				month, day, hour, minute = m, 1, 0, 0
			}
			days := c.day.mask(year, time.Month(month))
			for {
				d := nextDay(days, day)
				if d < 0 {
					break
				}
				if d != day {
					day, hour, minute = d, 0, 0
				}
				for {
					h := c.hours.next(hour)
					if h < 0 {
						break
					}
					if h != hour {
						hour, minute = h, 0
					}
					if mi := c.minutes.next(minute); mi >= 0 {
						return time.Date(year, time.Month(month), day, hour, mi, 0, 0, time.UTC)
					}
					hour, minute = hour+1, 0
				}
				day, hour, minute = day+1, 0, 0
			}
			month, day, hour, minute = month+1, 1, 0, 0
		}
		year, month, day, hour, minute = year+1, 1, 1, 0, 0
	}
	return time.Time{}
}

// nextDay returns the smallest day >= d in mask (bit d for day d), or -1.
func nextDay(mask uint32, d int) int {
	if d > 31 {
		return -1
	}
	mask &= ^uint32(0) << d
	if mask == 0 {
		return -1
	}
	return bits.TrailingZeros32(mask)
}

// daysIn returns the number of days in the month.
func daysIn(year int, month time.Month) int {
	return time.Date(year, month+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// mask returns the days of the month that the rule selects, bit d for day d.
func (r *dayRule) mask(year int, month time.Month) uint32 {
	n := daysIn(year, month)
	all := uint32(1)<<(n+1) - 2 // days 1..n
	first := int(time.Date(year, month, 1, 0, 0, 0, 0, time.UTC).Weekday())
	weekday := func(d int) int { return (first + d - 1) % 7 }
	// firstOf returns the first day of the month that falls on weekday w.
	firstOf := func(w int) int { return 1 + (w-first+7)%7 }
	switch r.kind {
	case daysOfMonth:
		return r.days & all
	case lastDay:
		return 1 << n
	case lastWeekday:
		d := n
		switch weekday(d) {
		case 6: // Saturday
			d--
		case 0: // Sunday
			d -= 2
		}
		return 1 << d
	case nearestWeekday:
		d := r.n
		if d > n {
			return 0
		}
		switch weekday(d) {
		case 6: // Saturday: Friday, or Monday the 3rd when d is the 1st
			if d == 1 {
				d = 3
			} else {
				d--
			}
		case 0: // Sunday: Monday, or Friday when d is the last day
			if d == n {
				d -= 2
			} else {
				d++
			}
		}
		return 1 << d
	case daysOfWeek:
		var m uint32
		for w := range 7 {
			if r.weekdays&(1<<w) != 0 {
				for d := firstOf(w); d <= n; d += 7 {
					m |= 1 << d
				}
			}
		}
		return m
	case lastOfWeek:
		d := firstOf(r.n)
		d += (n - d) / 7 * 7
		return 1 << d
	case nthOfWeek:
		d := firstOf(r.n) + 7*(r.k-1)
		if d > n {
			return 0
		}
		return 1 << d
	}
	return 0
}
