package cloudevent

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"
)

// Media types of the JSON event format.
const (
	// MediaType is the Content-Type of a structured-mode event.
	MediaType = "application/cloudevents+json"
	// BatchMediaType is the Content-Type of a batch.
	BatchMediaType = "application/cloudevents-batch+json"
)

// ParseHTTP reads CloudEvents from an HTTP request's (or response's)
// headers and body: structured mode (Content-Type
// application/cloudevents+json, optional charset=utf-8), batched mode
// (application/cloudevents-batch+json: a JSON array) or binary mode (ce-*
// headers carry the attributes, the body is the data, Content-Type is
// datacontenttype). It returns one event for structured and binary mode
// and the batch's events, possibly none, for batched mode, each validated.
//
// It fails with an *Error: ErrNotCloudEvent when the request is neither
// structured nor binary CloudEvents, ErrUnsupportedFormat for a
// CloudEvents format other than JSON, ErrTooLarge when a size limit is
// exceeded (checked before decoding), and otherwise the first invalid
// event's problem, with its index in a batch. It never panics; body is not
// retained.
func ParseHTTP(h http.Header, body []byte) ([]Event, error) {
	ct := h.Get("Content-Type")
	mt, _, _ := strings.Cut(ct, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	switch {
	case mt == MediaType:
		if len(body) > MaxEventSize {
			return nil, tooLarge(-1, "structured event of %d bytes is over MaxEventSize (%d)", len(body), MaxEventSize)
		}
		if err := checkCharset(ct); err != nil {
			return nil, err
		}
		e, err := decodeStructured(body)
		if err != nil {
			return nil, err
		}
		return []Event{e}, nil
	case mt == BatchMediaType:
		if len(body) > MaxEventSize*MaxBatch {
			return nil, tooLarge(-1, "batch of %d bytes is over MaxEventSize*MaxBatch (%d)", len(body), MaxEventSize*MaxBatch)
		}
		if err := checkCharset(ct); err != nil {
			return nil, err
		}
		return decodeBatch(body)
	case strings.HasPrefix(mt, "application/cloudevents"):
		return nil, &Error{Index: -1, Reason: "Content-Type " + quote(ct) + " is not a supported event format; want " + MediaType + " or " + BatchMediaType, Err: ErrUnsupportedFormat}
	}
	attrs, size, err := ceHeaders(h)
	if err != nil {
		return nil, err
	}
	if _, ok := attrs["specversion"]; !ok {
		return nil, &Error{Index: -1, Reason: "request is neither structured nor binary CloudEvents: Content-Type " + quote(ct) + " and no ce-specversion header", Err: ErrNotCloudEvent}
	}
	if size+len(body) > MaxEventSize {
		return nil, tooLarge(-1, "binary event of %d bytes (body and ce-* headers) is over MaxEventSize (%d)", size+len(body), MaxEventSize)
	}
	e, err := decodeBinary(attrs, ct, body)
	if err != nil {
		return nil, err
	}
	return []Event{e}, nil
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func tooLarge(i int, format string, args ...any) error {
	e := attrError("", format, args...)
	e.Index, e.Err = i, ErrTooLarge
	return e
}

// checkCharset accepts a JSON format Content-Type without a charset or
// with UTF-8.
func checkCharset(ct string) error {
	_, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return &Error{Index: -1, Reason: "Content-Type " + quote(ct) + ": " + err.Error()}
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return &Error{Index: -1, Reason: "Content-Type " + quote(ct) + ": charset " + quote(cs) + " is not supported; JSON is UTF-8"}
	}
	return nil
}

// decodeBatch decodes a JSON array of structured events.
func decodeBatch(body []byte) ([]Event, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return nil, attrError("", "batch is not a JSON array%s", jsonReason(err))
	}
	events := []Event{}
	for i := 0; dec.More(); i++ {
		if i == MaxBatch {
			return nil, tooLarge(-1, "batch holds more than MaxBatch (%d) events", MaxBatch)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, inBatch(attrError("", "invalid JSON%s", jsonReason(err)), i)
		}
		if len(raw) > MaxEventSize {
			return nil, tooLarge(i, "event of %d bytes is over MaxEventSize (%d)", len(raw), MaxEventSize)
		}
		e, err := decodeStructured(raw)
		if err != nil {
			return nil, inBatch(err, i)
		}
		events = append(events, e)
	}
	if _, err := dec.Token(); err != nil { // the closing bracket
		return nil, attrError("", "invalid JSON in batch%s", jsonReason(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, attrError("", "unexpected data after the batch's JSON array")
	}
	return events, nil
}

// ceHeaders collects the ce-* headers by lower-case attribute name, with
// their raw values, and their total size in bytes.
func ceHeaders(h http.Header) (map[string]string, int, error) {
	attrs := make(map[string]string)
	size := 0
	for key, values := range h {
		if len(key) < 3 || !strings.EqualFold(key[:3], "ce-") {
			continue
		}
		name := strings.ToLower(key[3:])
		if _, dup := attrs[name]; dup || len(values) > 1 {
			return nil, 0, attrError(name, "header ce-%s appears more than once", name)
		}
		if len(values) == 0 {
			continue
		}
		attrs[name] = values[0]
		size += len(key) + len(values[0])
	}
	return attrs, size, nil
}

// decodeBinary builds a binary-mode event from its ce-* headers, its
// Content-Type and its body, and validates it.
func decodeBinary(attrs map[string]string, ct string, body []byte) (Event, error) {
	var e Event
	if _, ok := attrs["datacontenttype"]; ok {
		return e, attrError("datacontenttype", "in binary mode it is the Content-Type header; a ce-datacontenttype header is not allowed")
	}
	if ct != "" {
		if err := e.setCore("datacontenttype", ct); err != nil {
			return e, err
		}
	}
	names := make([]string, 0, len(attrs))
	for name := range attrs {
		names = append(names, name)
	}
	slices.Sort(names) // report the same error every time
	for _, name := range names {
		v, err := decodeHeaderValue(name, attrs[name])
		if err != nil {
			return e, err
		}
		switch name {
		case "specversion", "id", "source", "type", "subject", "time", "dataschema":
			if err := e.setCore(name, v); err != nil {
				return e, err
			}
		default:
			if err := checkExtensionName(name); err != nil {
				return e, err
			}
			if e.Extensions == nil {
				e.Extensions = make(map[string]string)
			}
			e.Extensions[name] = v
		}
	}
	if len(body) > 0 {
		e.Data = bytes.Clone(body)
	}
	return e, e.Validate()
}

// decodeHeaderValue unquotes HTTP quoted-strings in a header value, then
// percent-decodes it, and checks that the result is UTF-8.
func decodeHeaderValue(attr, v string) (string, error) {
	if strings.Contains(v, `"`) {
		var b strings.Builder
		quoted := false
		for i := 0; i < len(v); i++ {
			c := v[i]
			switch {
			case c == '"':
				quoted = !quoted
			case c == '\\' && quoted:
				i++
				if i == len(v) {
					return "", attrError(attr, "header value %s ends inside a quoted string", quote(v))
				}
				b.WriteByte(v[i])
			default:
				b.WriteByte(c)
			}
		}
		if quoted {
			return "", attrError(attr, "header value %s ends inside a quoted string", quote(v))
		}
		v = b.String()
	}
	if !strings.Contains(v, "%") {
		if !utf8.ValidString(v) {
			return "", attrError(attr, "header value is not valid UTF-8")
		}
		return v, nil
	}
	b := make([]byte, 0, len(v))
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '%' {
			if i+2 >= len(v) || !isHex(v[i+1]) || !isHex(v[i+2]) {
				return "", attrError(attr, "header value %s has a malformed percent-encoding at byte %d", quote(v), i)
			}
			c = unhex(v[i+1])<<4 | unhex(v[i+2])
			i += 2
		}
		b = append(b, c)
	}
	if !utf8.Valid(b) {
		return "", attrError(attr, "header value %s is not percent-encoded UTF-8", quote(v))
	}
	return string(b), nil
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// encodeHeaderValue percent-encodes space, double quote, percent and every
// byte outside printable ASCII, with upper-case hex digits.
func encodeHeaderValue(s string) string {
	const hex = "0123456789ABCDEF"
	var b []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7F || c == '"' || c == '%' {
			if b == nil {
				b = append(make([]byte, 0, len(s)+16), s[:i]...)
			}
			b = append(b, '%', hex[c>>4], hex[c&15])
		} else if b != nil {
			b = append(b, c)
		}
	}
	if b == nil {
		return s
	}
	return string(b)
}

// WriteBinary renders the event in binary content mode: it removes any
// ce-* headers from h, sets a ce-NAME header for every attribute present
// (values percent-encoded as the HTTP binding requires, time in RFC 3339),
// sets Content-Type to datacontenttype or removes it when absent, and
// returns the body, which is Data itself (not a copy). It does not
// validate the event; call Validate first.
//
// An event whose datacontenttype is itself a CloudEvents media type
// (application/cloudevents...) cannot travel in binary mode, since the
// binding tells receivers to read such a body as structured or batched
// mode; send it with MarshalStructured instead.
func (e *Event) WriteBinary(h http.Header) []byte {
	for key := range h {
		if len(key) >= 3 && strings.EqualFold(key[:3], "ce-") {
			delete(h, key)
		}
	}
	set := func(name, value string) {
		if value != "" {
			h.Set("ce-"+name, encodeHeaderValue(value))
		}
	}
	set("specversion", e.SpecVersion)
	set("id", e.ID)
	set("source", e.Source)
	set("type", e.Type)
	set("subject", e.Subject)
	if !e.Time.IsZero() {
		set("time", formatTime(e.Time))
	}
	set("dataschema", e.DataSchema)
	for name, value := range e.Extensions {
		h.Set("ce-"+name, encodeHeaderValue(value))
	}
	if e.DataContentType != "" {
		h.Set("Content-Type", e.DataContentType)
	} else {
		h.Del("Content-Type")
	}
	return e.Data
}
