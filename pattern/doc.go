// Package pattern compiles EventBridge event patterns and SNS filter
// policies and matches JSON events against them, one pattern at a time
// (Pattern.Match) or many at once (Matcher.MatchAll).
//
// Semantics, as AWS documents them:
//   - A pattern mirrors the event's structure; the values to match at a
//     leaf are in an array and any of them may match (OR); all fields of
//     the pattern must match (AND); "$or" takes alternative sub-patterns.
//   - An event array matches if any element matches; arrays of objects
//     are searched element by element, without requiring different fields
//     to match in the same element.
//   - Numbers compare as numbers (3, 3.0 and 3e0 are equal); strings are
//     compared exactly, null and "" are different values.
//   - Operators: prefix, suffix (both optionally with equals-ignore-case),
//     equals-ignore-case, wildcard ("*", with "\*" for a literal star),
//     anything-but (a value, a list, or prefix/suffix/wildcard/
//     equals-ignore-case), numeric (=, <, <=, >, >= and ranges), exists,
//     cidr (IPv4 and IPv6) and $or.
//   - exists: true holds when the field has at least one value (null
//     counts; an empty array does not); exists: false holds when it has
//     none. Other operators need a value: a missing field never matches
//     them (anything-but included).
//   - Keys are matched literally: a pattern key "a.b" matches an event key
//     "a.b", never nested objects a → b. Keys may be any string,
//     including "" and unicode.
//
// Events must be JSON objects. As with encoding/json, bytes inside
// strings are not checked for UTF-8 validity; everything else about the
// syntax is, including the fields no rule looks at.
//
// Invalid patterns fail at compile time with an *Error naming the path and
// the reason; unknown operators are errors. SNS policies also enforce
// SNS's limits (5 keys, 150 combinations).
//
// Events are scanned once per match by a validating JSON scanner that
// descends only into the fields the rules name; values are looked up in
// per-field hash tables (exact values, prefixes, suffixes), so the cost
// of a match grows with the event and the matching rules, not with the
// number of rules.
package pattern
