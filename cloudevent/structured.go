package cloudevent

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"unicode/utf8"
)

// decodeStructured decodes one event in the JSON event format and
// validates it. Errors are *Error with Index -1.
func decodeStructured(raw []byte) (Event, error) {
	var e Event
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return e, attrError("", "structured event is not a JSON object%s", jsonReason(err))
	}
	seen := make(map[string]bool)
	var data, data64 json.RawMessage
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return e, attrError("", "invalid JSON%s", jsonReason(err))
		}
		name, ok := tok.(string)
		if !ok { // the decoder only returns strings here; be safe
			return e, attrError("", "invalid JSON: object key is not a string")
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return e, attrError(name, "invalid JSON%s", jsonReason(err))
		}
		if seen[name] {
			return e, attrError(name, "appears twice")
		}
		seen[name] = true
		if string(v) == "null" { // null is absent
			continue
		}
		switch name {
		case "data":
			data = v
		case "data_base64":
			data64 = v
		case "specversion", "id", "source", "type", "subject", "time", "datacontenttype", "dataschema":
			s, err := jsonString(name, v)
			if err != nil {
				return e, err
			}
			if err := e.setCore(name, s); err != nil {
				return e, err
			}
		default:
			if err := checkExtensionName(name); err != nil {
				return e, err
			}
			s, err := extensionValue(name, v)
			if err != nil {
				return e, err
			}
			if e.Extensions == nil {
				e.Extensions = make(map[string]string)
			}
			e.Extensions[name] = s
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return e, attrError("", "invalid JSON%s", jsonReason(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return e, attrError("", "unexpected data after the JSON object")
	}
	switch {
	case data != nil && data64 != nil:
		return e, attrError("data_base64", `"data" and "data_base64" cannot both be present`)
	case data64 != nil:
		s, err := jsonString("data_base64", data64)
		if err != nil {
			return e, err
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return e, attrError("data_base64", "not valid base64 (RFC 4648, with padding): %v", err)
		}
		e.Data = b
	case data != nil && isJSONType(e.DataContentType):
		e.Data = data
	case data != nil:
		var s string
		if json.Unmarshal(data, &s) != nil {
			return e, attrError("data", "datacontenttype %q is not JSON, so data must be a JSON string (binary data goes in data_base64)", e.DataContentType)
		}
		e.Data = []byte(s)
	}
	if len(e.Data) == 0 {
		e.Data = nil
	}
	return e, e.Validate()
}

// jsonReason renders a JSON decoding error as ": reason", or "" for none.
func jsonReason(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return ": unexpected end of input"
	}
	return ": " + err.Error()
}

// jsonString decodes a JSON string attribute value.
func jsonString(attr string, v json.RawMessage) (string, error) {
	var s string
	if v[0] != '"' || json.Unmarshal(v, &s) != nil {
		return "", attrError(attr, "want a JSON string, got %s", jsonKind(v))
	}
	return s, nil
}

// jsonKind names the JSON type of a value.
func jsonKind(v json.RawMessage) string {
	switch v[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// extensionValue converts an extension attribute's JSON value (a string,
// a boolean or an Integer) to its canonical string form.
func extensionValue(name string, v json.RawMessage) (string, error) {
	switch v[0] {
	case '"':
		return jsonString(name, v)
	case 't', 'f':
		return string(v), nil
	case '{', '[':
		return "", attrError(name, "want a string, a number or a boolean, got %s", jsonKind(v))
	}
	s, ok := canonicalInt(string(v))
	if !ok {
		return "", attrError(name, "number %s is not an Integer (a whole number from -2147483648 to 2147483647)", v)
	}
	return s, nil
}

// setCore sets a core attribute from its string value. Optional
// attributes that are present must not be empty.
func (e *Event) setCore(name, s string) error {
	if s == "" {
		switch name {
		case "subject", "time", "datacontenttype", "dataschema":
			return attrError(name, "present but empty; omit it or give it a value")
		}
	}
	switch name {
	case "specversion":
		e.SpecVersion = s
	case "id":
		e.ID = s
	case "source":
		e.Source = s
	case "type":
		e.Type = s
	case "subject":
		e.Subject = s
	case "datacontenttype":
		e.DataContentType = s
	case "dataschema":
		e.DataSchema = s
	case "time":
		t, err := parseTime(name, s)
		if err != nil {
			return err
		}
		e.Time = t
	}
	return nil
}

// MarshalStructured renders the event as a structured-mode JSON object
// (media type application/cloudevents+json): the attributes, extensions in
// name order (as JSON strings), then the data. JSON data (datacontenttype
// absent, application/json or a +json type, and Data valid UTF-8 JSON
// other than null) goes in "data" as JSON, without the white space around
// it; other data goes in "data_base64". No data, no data member. It fails
// with the *Error of Validate if the event is invalid.
func (e *Event) MarshalStructured() ([]byte, error) {
	if err := e.Validate(); err != nil {
		return nil, err
	}
	b := make([]byte, 0, 256+len(e.Data)*4/3)
	b = append(b, '{')
	member := func(name, value string) {
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = appendJSONString(b, name)
		b = append(b, ':')
		b = appendJSONString(b, value)
	}
	member("specversion", e.SpecVersion)
	member("id", e.ID)
	member("source", e.Source)
	member("type", e.Type)
	if e.Subject != "" {
		member("subject", e.Subject)
	}
	if !e.Time.IsZero() {
		member("time", formatTime(e.Time))
	}
	if e.DataContentType != "" {
		member("datacontenttype", e.DataContentType)
	}
	if e.DataSchema != "" {
		member("dataschema", e.DataSchema)
	}
	names := make([]string, 0, len(e.Extensions))
	for name := range e.Extensions {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		member(name, e.Extensions[name])
	}
	if len(e.Data) > 0 {
		if text, ok := e.jsonData(); ok {
			b = append(b, `,"data":`...)
			b = append(b, text...)
		} else {
			b = append(b, `,"data_base64":"`...)
			b = base64.StdEncoding.AppendEncode(b, e.Data)
			b = append(b, '"')
		}
	}
	return append(b, '}'), nil
}

// jsonData returns the data as JSON text to embed in "data", without the
// surrounding white space, if the data is JSON.
func (e *Event) jsonData() ([]byte, bool) {
	if !isJSONType(e.DataContentType) {
		return nil, false
	}
	text := bytes.Trim(e.Data, " \t\r\n")
	if !json.Valid(text) || !utf8.Valid(text) || string(text) == "null" {
		return nil, false
	}
	return text, true
}

// appendJSONString appends s as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	q, _ := json.Marshal(s) // a string always marshals
	return append(b, q...)
}
