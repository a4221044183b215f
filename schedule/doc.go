// Package schedule parses Amazon EventBridge schedule expressions,
// "rate(VALUE UNIT)" and "cron(FIELDS)", and computes when they fire next.
// courier's event bus uses it for schedule rules; it depends only on the
// standard library.
//
// # Main types
//
// Parse turns an expression into a *Schedule; Schedule.Next returns the
// first firing strictly after a given time, in UTC, and Schedule.String the
// canonical expression. Invalid expressions fail with an *Error that names
// the cron field, its position and the reason, for example
//
//	cron field 3 (day-of-month) "32": value 32 out of range 1-31
//
// A Schedule is immutable and safe for concurrent use; Anchor returns a
// re-anchored copy.
//
// # Rate expressions
//
// rate(1 minute), rate(5 minutes), rate(1 hour), rate(2 hours), rate(1 day),
// rate(3 days): the value is a positive decimal integer without sign or
// leading zeros, and the unit is singular exactly when the value is 1, as
// AWS requires. The interval may not exceed 10 years, counted as 3650 days
// (87600 hours, 5256000 minutes). Units and the keywords "rate" and "cron"
// are lower case; the value and unit are separated by white space.
//
// A rate schedule fires at anchor + k*interval for k = 0, 1, 2, ...: the
// anchor is its first firing and it never fires before it. The default
// anchor is the Unix epoch (1970-01-01T00:00:00Z), so rate(1 hour) fires on
// the hour and rate(1 day) at midnight UTC; Anchor(t) counts the intervals
// from t instead, as EventBridge does from the moment a rule is created.
// Intervals are fixed durations: a day is 24 hours.
//
// # Cron expressions
//
// Six fields separated by white space, all evaluated in UTC:
//
//	Field         Values                   Wildcards
//	Minutes       0-59                     , - * /
//	Hours         0-23                     , - * /
//	Day-of-month  1-31                     , - * ? / L W
//	Month         1-12 or JAN-DEC          , - * /
//	Day-of-week   1-7 or SUN-SAT (1 = SUN) , - * ? L #
//	Year          1970-2199                , - * /
//
// The semantics follow the EventBridge user guide (which follows Quartz):
//   - "," separates list items; "a-b" is a range; "*" is every value.
//     A range whose start is after its end wraps around the end of the
//     field ("22-2" in Hours is 22, 23, 0, 1, 2); the Year field does not
//     wrap.
//   - "/" is a step: "a/s" is a, a+s, ... up to the field's maximum,
//     "*/s" starts at the field's minimum, "a-b/s" steps through the range.
//     The step is between 1 and the number of values in the field.
//   - "?" means "any" and is only allowed, alone, in Day-of-month or
//     Day-of-week. Exactly one of those two fields must be "?": a day
//     cannot be specified in both, and "*" in one needs "?" in the other.
//   - Day-of-month "L" is the last day of the month, "LW" the last weekday
//     (Monday to Friday) of the month, and "nW" the weekday nearest to day
//     n without leaving the month (a Saturday 1st moves to Monday the 3rd, a
//     Sunday last day to the Friday before). "nW" does not fire in months
//     that have no day n.
//   - Day-of-week "L" alone is the last day of the week, Saturday (7);
//     "nL" is the last weekday n of the month ("5L" or "THUL" is the last
//     Thursday); "n#k" is the k-th weekday n of the month ("3#2" is the
//     second Tuesday), k from 1 to 5, and does not fire in months without
//     a k-th such day.
//   - "L", "LW", "nW", "nL" and "n#k" stand alone in their field: AWS
//     rejects "3#1,6#3" and Quartz lists like "L,15".
//   - Month and day names are three-letter English abbreviations, case
//     insensitive; numbers may have leading zeros.
//
// A day that does not exist (day 31 in April, 29 February in a common
// year) never matches. Next searches year by year, month by month, day by
// day and then hour and minute, skipping whole non-matching units, so it
// costs at most a few thousand steps even for an expression that never
// fires; it returns the zero time when nothing matches up to the end of
// 2199. Times before 1970 behave as the start of 1970.
//
// String returns the canonical expression: the keyword, the fields
// separated by single spaces, and names and letters in upper case; it
// parses back to an equal Schedule. The anchor is not part of the
// expression.
package schedule
