package cloudevent

import (
	"mime"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits.
const (
	// MaxEventSize is the largest event, in bytes: its JSON object, or its
	// body plus its ce-* headers in binary mode. It matches Amazon
	// EventBridge's 256 KiB.
	MaxEventSize = 256 << 10
	// MaxBatch is the largest number of events in a batch.
	MaxBatch = 1000
)

// SpecVersion is the only specversion this package accepts.
const SpecVersion = "1.0"

// Event is a CloudEvent (spec 1.0). Optional string attributes are absent
// when empty; Time is absent when zero; Data is nil when the event has no
// data.
type Event struct {
	ID              string
	Source          string // URI-reference, non-empty
	SpecVersion     string // "1.0"
	Type            string
	Subject         string
	Time            time.Time // zero when absent
	DataContentType string
	DataSchema      string
	Data            []byte            // the data as bytes (for JSON data: its JSON text)
	Extensions      map[string]string // other attributes, names [a-z0-9]{1,20}; values in their canonical string form
}

// reserved are the names an extension attribute cannot have.
var reserved = []string{"data", "datacontenttype", "dataschema", "id", "source", "specversion", "subject", "time", "type"}

// Validate checks the event against the specification, as described in the
// package documentation: the required attributes (id, source, specversion
// "1.0", type), the syntax of source, dataschema, datacontenttype and time,
// extension names, and the characters of every string. It returns the
// first problem as an *Error naming the attribute (Index -1), checking the
// core attributes first and extensions in name order.
func (e *Event) Validate() error {
	required := []struct{ name, value string }{
		{"specversion", e.SpecVersion}, {"id", e.ID}, {"source", e.Source}, {"type", e.Type},
	}
	for _, a := range required {
		if a.value == "" {
			return attrError(a.name, "required, but missing or empty")
		}
	}
	if e.SpecVersion != SpecVersion {
		return attrError("specversion", "want %q, got %q", SpecVersion, e.SpecVersion)
	}
	strs := []struct{ name, value string }{
		{"id", e.ID}, {"source", e.Source}, {"type", e.Type}, {"subject", e.Subject},
		{"datacontenttype", e.DataContentType}, {"dataschema", e.DataSchema},
	}
	for _, a := range strs {
		if err := checkString(a.name, a.value); err != nil {
			return err
		}
	}
	if err := checkURI("source", e.Source, false); err != nil {
		return err
	}
	if e.DataSchema != "" {
		if err := checkURI("dataschema", e.DataSchema, true); err != nil {
			return err
		}
	}
	if e.DataContentType != "" {
		mt, _, err := mime.ParseMediaType(e.DataContentType)
		if err != nil || !strings.Contains(mt, "/") {
			return attrError("datacontenttype", "%q is not a media type (RFC 2046), as in application/json", e.DataContentType)
		}
	}
	if !e.Time.IsZero() {
		if y := e.Time.Year(); y < 0 || y > 9999 {
			return attrError("time", "year %d cannot be written in RFC 3339", y)
		}
		if _, off := e.Time.Zone(); off%60 != 0 || off <= -24*3600 || off >= 24*3600 {
			return attrError("time", "UTC offset of %d seconds cannot be written in RFC 3339", off)
		}
	}
	names := make([]string, 0, len(e.Extensions))
	for name := range e.Extensions {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if err := checkExtensionName(name); err != nil {
			return err
		}
		if err := checkString(name, e.Extensions[name]); err != nil {
			return err
		}
	}
	return nil
}

// checkExtensionName checks an extension attribute's name.
func checkExtensionName(name string) error {
	if name == "" {
		return attrError("", "extension attribute with an empty name; names are 1 to 20 lower-case letters or digits")
	}
	if len(name) > 20 {
		return attrError(name, "extension names are 1 to 20 lower-case letters or digits")
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9') {
			return attrError(name, "extension names are 1 to 20 lower-case letters or digits")
		}
	}
	if slices.Contains(reserved, name) {
		return attrError(name, "is not an extension attribute")
	}
	return nil
}

// checkString checks that s is a CloudEvents String: valid UTF-8 without
// control characters or Unicode noncharacters.
func checkString(attr, s string) error {
	for i, r := range s {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD"):
			return attrError(attr, "not valid UTF-8 at byte %d", i)
		case r <= 0x1F || 0x7F <= r && r <= 0x9F:
			return attrError(attr, "control character %U at byte %d is not allowed", r, i)
		case 0xFDD0 <= r && r <= 0xFDEF || r&0xFFFE == 0xFFFE:
			return attrError(attr, "noncharacter %U at byte %d is not allowed", r, i)
		}
	}
	return nil
}

// checkURI checks that s is an RFC 3986 URI-reference, or, when absolute
// is set, a URI with a scheme.
func checkURI(attr, s string, absolute bool) error {
	what := "a URI-reference"
	if absolute {
		what = "an absolute URI"
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("-._~:/?#[]@!$&'()*+,;=", c) >= 0:
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
		default:
			r, _ := utf8.DecodeRuneInString(s[i:])
			return attrError(attr, "%q is not %s (RFC 3986): %q at byte %d", s, what, r, i)
		}
	}
	u, err := url.Parse(s)
	if err != nil {
		return attrError(attr, "%q is not %s (RFC 3986)", s, what)
	}
	if absolute && u.Scheme == "" {
		return attrError(attr, "%q is not %s (RFC 3986): no scheme", s, what)
	}
	return nil
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// isJSONType reports whether data of the content type ct is JSON: ct is
// absent, application/json or a +json type.
func isJSONType(ct string) bool {
	if ct == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

// formatTime writes t in RFC 3339 with as many fractional digits as needed.
func formatTime(t time.Time) string { return t.Format(time.RFC3339Nano) }

// parseTime parses an RFC 3339 timestamp; RFC 3339 allows a lower-case
// "t" and "z".
func parseTime(attr, s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, strings.ToUpper(s))
	if err != nil {
		return time.Time{}, attrError(attr, "%q is not an RFC 3339 timestamp", s)
	}
	return t, nil
}

// canonicalInt returns the canonical form of a JSON number that is a
// CloudEvents Integer.
func canonicalInt(num string) (string, bool) {
	digits := strings.TrimPrefix(num, "-")
	if digits == "" || (len(digits) > 1 && digits[0] == '0') || strings.Trim(digits, "0123456789") != "" {
		return "", false
	}
	n, err := strconv.ParseInt(num, 10, 32)
	if err != nil {
		return "", false
	}
	return strconv.FormatInt(n, 10), true
}
