// Package pattern matches JSON events against Amazon EventBridge event
// patterns and Amazon SNS filter policies, with the answers AWS gives, one
// pattern at a time (Pattern.Match) or many rules in one pass over the
// event (Matcher.MatchAll). It is the routing core of courier's topics, its
// event bus and its AWS-compatible APIs, and depends only on the standard
// library.
//
// # Main types
//
// Compile turns an EventBridge pattern into a *Pattern, and
// CompileFilterPolicy an SNS filter policy for the MessageAttributes or
// MessageBody scope. Invalid patterns fail with an *Error that names the
// dotted path of the offending field and the reason ("detail.amount:
// numeric range needs a lower bound below the upper bound"); unknown
// operators are errors; a limit that is hit is reported and wraps
// ErrTooManyKeys, ErrTooManyCombinations or ErrTooComplex. A Matcher holds
// named rules, added and removed at run time, and returns the IDs of the
// rules an event matches, sorted. Matching never waits for updates.
//
// # Semantics
//
// As in AWS (the EventBridge user guide, the SNS developer guide, and the
// Event Ruler library both services are built on):
//   - A pattern mirrors the event's structure. The values to match at a
//     field are in an array and any of them may match (OR); all fields must
//     match (AND); "$or" takes two or more alternative sub-patterns. A
//     "$or" that is not an array of at least two objects, or whose objects
//     use operator names as fields, is an ordinary field name. Fields are
//     written into the alternatives in document order and a repeated path
//     keeps the last value.
//   - Paths are dotted names: a key "a.b" and an object a holding b are the
//     same path, in patterns and in events alike. Keys are otherwise
//     compared byte for byte ("" and unicode keys included).
//   - An event array matches if any element matches; nested arrays are
//     flattened. Fields inside an array of objects must match within one
//     element ("array consistency"): {"employees": {"first": ["Anna"],
//     "last": ["Jones"]}} does not match Anna Smith and Peter Jones.
//     Fields are checked in path order, and an exists:false met in that
//     order before the fields of an element tests the whole event, as AWS
//     does.
//   - Strings compare exactly; numbers compare as numbers (3, 3.0 and 3e0
//     are equal); null, "" and a missing field are three different things.
//   - Operators: prefix and suffix (with an optional equals-ignore-case),
//     equals-ignore-case (Unicode simple case folding), wildcard ('*' for
//     any run of characters, "\*" for a star; EventBridge only),
//     anything-but (a value, a list of strings or of numbers, or prefix,
//     suffix, wildcard or equals-ignore-case of a string or list), numeric
//     (=, <, <=, >, >= and ranges written lower bound first), exists
//     (true/false), cidr (IPv4 below /32, IPv6 below /128, as AWS) and
//     exactly (a string; EventBridge only).
//   - Operators other than exists and anything-but test leaves of their
//     own type: prefix, wildcard and cidr only strings, numeric only
//     numbers. anything-but holds for any leaf that is none of its values,
//     null included, but never for a missing field.
//   - exists:true holds when the path has at least one leaf (null counts;
//     an empty array or an object does not); exists:false when it has none.
//     For SNS a leaf must also be neither null nor "" to count.
//   - SNS: policies cannot use wildcard, exactly, or the case-insensitive
//     forms of prefix and suffix, and anything-but takes values or one
//     prefix; at most 5 top-level keys (per $or
//     alternative) and 150 combinations, counted as SNS documents it (value
//     counts times nesting depth, multiplied, summed over $or); numeric
//     operands within ±1e9. MessageAttributes policies are flat; String,
//     Number (compared as a number) and String.Array attributes are matched,
//     Binary ones ignored, and a message without attributes matches
//     nothing. For a String.Array, a value matches if any element does and
//     anything-but holds only if no element is excluded.
//
// Events must be JSON objects; malformed JSON is an error. The event
// scanner checks the syntax of the whole event, including the parts no rule
// looks at, and nests at most MaxDepth levels.
//
// # How matching works
//
// Patterns compile to their disjunctive normal form: alternatives, each a
// conjunction of conditions on one path. A Matcher deduplicates conditions
// and alternatives across rules and files each alternative under its most
// selective conditions: two or three exact-value conditions together under
// a hash of their values, or one or two other conditions in per-path
// tables (exact values, prefixes, suffixes, folded strings, CIDR blocks,
// sorted numeric intervals). The event is scanned once, descending only
// along the paths rules name; the tables turn its values into candidate
// alternatives, and only candidates have their remaining conditions
// evaluated, once per event each. The cost of a match therefore grows with
// the event and with the rules it (nearly) matches, not with the number of
// rules, and a match allocates nothing in proportion to the rules.
//
// The corpus in testdata/corpus, in JSON, lists patterns with events that
// must and must not match them, and invalid patterns with their errors, so
// that other implementations can run it too.
package pattern
