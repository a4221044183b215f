// Package cloudevent reads and writes CloudEvents 1.0 over HTTP: the
// structured and batched content modes of the JSON event format
// (application/cloudevents+json, application/cloudevents-batch+json) and the
// binary content mode (ce-* headers and a raw body), following the
// CloudEvents 1.0.2 specification, its HTTP protocol binding and its JSON
// event format. It is how courier's HTTP API accepts and delivers
// CloudEvents, and depends only on the standard library.
//
// # Main types
//
// An Event holds the context attributes as Go values and the data as
// bytes. ParseHTTP turns a request's headers and body into events and
// validates them; Event.MarshalStructured renders one event as a JSON
// object; Event.WriteBinary sets the ce-* headers and Content-Type and
// returns the body. Every error is an *Error that names the event's index
// in a batch and the attribute at fault, for example
//
//	cloudevent[2]: attribute "specversion": want "1.0", got "0.3"
//
// and wraps ErrTooLarge, ErrNotCloudEvent or ErrUnsupportedFormat when one
// of those applies, for errors.Is.
//
// # Content modes
//
// ParseHTTP picks the mode from the Content-Type header, as the binding
// says: a media type application/cloudevents+json is structured mode,
// application/cloudevents-batch+json batched mode (a JSON array of
// structured events; an empty array is a valid, empty batch), any other
// application/cloudevents... type an unsupported event format, and
// anything else binary mode, provided a ce-specversion header is present.
// A request that is none of these fails with ErrNotCloudEvent. The only
// charset accepted with the JSON formats is UTF-8. In structured and
// batched mode, ce-* headers are ignored.
//
// In binary mode every ce-NAME header (case-insensitive) carries the
// attribute NAME; the value is first unquoted if it holds an HTTP
// quoted-string, then percent-decoded (%XX, hex digits of either case) and
// must be valid UTF-8. A header given twice, a ce-datacontenttype header
// (the binding maps datacontenttype to Content-Type only) or a malformed
// name or value is an error. The body is the data, byte for byte, and
// Content-Type is datacontenttype. WriteBinary percent-encodes space,
// double quote, percent and every byte outside printable ASCII, with
// upper-case hex digits.
//
// # JSON event format
//
// Attributes are top-level members of the object. A member whose value is
// null is treated as absent. Core attributes must be JSON strings;
// extension attributes may be strings, booleans or integral numbers in the
// 32-bit range, which are kept in their canonical string form ("true", "5").
// A member name that appears twice is an error.
//
// Data: "data_base64" holds binary data (standard base64 with padding).
// "data" holds a JSON value when datacontenttype is absent (which the
// format defines as application/json), application/json or a +json type;
// Event.Data is then the JSON text of the value as written. With any other
// datacontenttype, "data" must be a JSON string and Event.Data is its text.
// Having both members is an error.
//
// MarshalStructured writes "data" for JSON data (datacontenttype absent or
// JSON, and Data valid UTF-8 JSON other than null), with white space around
// the value removed and nothing else changed, and "data_base64" for
// everything else, so that parsing its output gives back the same event.
// Empty data is no data: Event.Data is nil then.
//
// # Validation
//
// Validate enforces the specification: id, source, specversion ("1.0") and
// type are required and non-empty; source is a URI-reference and dataschema
// an absolute URI (RFC 3986); datacontenttype is an RFC 2046 media type;
// time is representable in RFC 3339 (years 0000-9999, an offset in whole
// minutes); extension names are 1 to 20 lower-case ASCII letters or digits
// and not the name of a core attribute or "data"; and every string is valid
// UTF-8 without control characters (U+0000-U+001F, U+007F-U+009F) or
// Unicode noncharacters. When parsing, an optional attribute that is
// present but empty is an error too, as the specification requires.
//
// # Limits
//
// An event may take at most MaxEventSize bytes: its JSON object in
// structured and batched mode, its body plus its ce-* header names and
// values in binary mode. A batch body may take at most MaxEventSize *
// MaxBatch bytes and hold at most MaxBatch events. Sizes are checked before
// anything is decoded, and counts as the batch is read, so an oversized
// request costs no more than reading it. Those errors wrap ErrTooLarge.
package cloudevent
