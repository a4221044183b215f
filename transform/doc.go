// Package transform reshapes an event for a rule target the way Amazon
// EventBridge does: InputPath (a part of the event, picked by a JSON path),
// InputTransformer (a template filled with values picked by JSON paths) and
// the partition key of a stream target (a JSON path again). A constant
// Input needs no help from this package. It depends only on the standard
// library.
//
// # Main types
//
// CompilePath compiles a JSON path into a *Path, whose Extract returns the
// JSON text of the value it names in a document. Compile compiles an
// InputTransformer into a *Transformer, whose Apply renders the template
// for an event and whose JSON says whether the output is JSON or text. Both
// are compiled once (when a rule is put) and applied to every event; both
// are immutable and safe for concurrent use. Compile errors are *Error
// values that name the field at fault, such as
//
//	input_paths["total"]: path "$.detail..x" at offset 9: empty member name
//	template: at offset 12 (line 1, column 13): <amount> is neither a variable of input_paths nor a predefined variable
//
// # Paths
//
// A path starts with "$", the whole document, followed by steps: ".name"
// or "['name']" (or ["name"]) for a member of an object and "[2]" for an
// element of an array, from 0: "$.detail.instance-id",
// "$.resources[0]", "$['key with space']", "$.a['x.y'][2]". Names in dot
// notation may hold any character but white space, control characters and
// . [ ] ' " \ * ( ) ? @ , (dashes, slashes, colons and non-ASCII letters
// are fine); in quotes, \ escapes the quote and itself. Paths are at most
// MaxPathLen bytes of UTF-8. EventBridge also accepts wildcards; this
// package does not, nor recursive descent, filters, slices, unions or
// negative indices: they fail to compile with an error that says so, never
// at run time.
//
// A path that leads nowhere finds nothing, without error: an index past an
// array's end, a member of something other than an object, an index of
// something other than an array. When an object repeats a member name, the
// last one counts, as with encoding/json. Keys are compared after decoding
// their escapes ("\u0061" is "a"). A value found keeps its JSON text
// exactly: numbers are not reformatted, strings keep their escapes; only
// objects and arrays are compacted, as json.Compact does.
//
// # Templates
//
// InputPaths defines up to MaxVariables variables, each a name of 1 to
// MaxNameLen letters, digits, '_', '.' or '-' (not starting with
// "aws.events.", which is reserved) and a path. The template, at most
// MaxTemplateSize bytes, refers to them as <name>. The predefined
// variables need no path:
//
//   - <aws.events.rule-name>: Context.RuleName;
//   - <aws.events.rule-arn>: Context.RuleARN (empty renders as "");
//   - <aws.events.event>: the whole event, as compact JSON;
//   - <aws.events.event.json>: the same as <aws.events.event>;
//   - <aws.events.event.ingestion-time>: Context.IngestionTime in UTC, RFC
//     3339 to the second, such as 2026-01-02T03:04:05Z.
//
// A '<' that does not start <name> for a defined or predefined name is
// text like any other, so text templates may use '<' freely (and a
// misspelt placeholder stays as it is written).
//
// A template whose first character other than JSON white space is '{',
// '[' or '"' is a JSON template, and its output is JSON; any other
// template, an empty one included, is a text template. In a JSON template
// the scanner follows the template's strings (a \" does not end one, and
// no placeholder starts inside an escape such as \u00e9), and a
// placeholder renders
//
//   - outside a string, as the value's JSON text: a string with its quotes,
//     an object compacted, null when the path finds nothing; rule name,
//     rule ARN and ingestion time as JSON strings;
//   - inside a string, as text that the string can hold: the content of a
//     string value without its quotes (its escapes kept), the compact JSON
//     text of any other value escaped for a string ({"a":1} becomes
//     {\"a\":1}), nothing when the path finds nothing; rule name and rule
//     ARN escaped as encoding/json escapes strings.
//
// So, with $.detail.state at "RUNNING", {"state": <state>} and
// {"state": "<state>"} both render {"state": "RUNNING"}, and
// "<instance> is in state <state>" renders a JSON string. Compile checks
// that a JSON template, with null for each placeholder outside strings and
// nothing for those inside, is JSON, so a template that could render
// invalid JSON fails there, with the offset, line and column of the fault
// (a placeholder where no whole value can stand, {<key>: 1}, fails too).
// The template's own text, white space included, is kept as written.
// Apply checks its JSON output again, as json.Valid would, and fails with
// ErrInvalidOutput rather than deliver invalid JSON.
//
// In a text template a placeholder renders as the decoded text of a string
// value, the compact JSON text of any other value and nothing for a path
// that finds nothing, with no escaping; the template's other text is kept
// as it is.
//
// # Where this differs from EventBridge
//
// EventBridge's documentation is silent or loose in places; this package
// decides so that JSON output is always valid JSON:
//
//   - EventBridge does not escape values placed in strings, and removes
//     the quotes inside an object placed in a string; here values are
//     escaped, so "<detail>" renders the object as an escaped JSON text.
//   - EventBridge now documents <aws.events.event> as the event without
//     its detail field, valid only as a JSON value; here it is the whole
//     event, like <aws.events.event.json>, and may stand anywhere.
//   - EventBridge accepts a template of several quoted lines,
//     "line <a>" then "line <b>", and delivers them as they are; here a
//     template starting with '"' is JSON and must be one value, so such a
//     template fails to compile: write one string with \n, or an array.
//   - Wildcards in paths are rejected (see Paths).
//   - A path that finds nothing renders as null or nothing (see above);
//     EventBridge documents only that such a variable "is not created".
//
// # Events and cost
//
// Apply takes an event that must be a JSON object and checks it in full,
// as json.Valid does (nesting at most MaxDepth levels); anything else
// fails with ErrInvalidEvent. The paths a template uses are merged into a
// trie, and one pass over the event both checks it and records where the
// values of all paths lie, descending only where a path leads: the cost
// grows with the event's size, not with the number of variables, and
// Apply allocates only its output when the template uses at most 8
// distinct paths. Output beyond MaxOutputSize fails with ErrTooLarge.
package transform
