package kinesis

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/courier-io/courier/awsapi"
)

// epochTime is a timestamp of the Kinesis wire formats: epoch seconds
// (with a fraction) in JSON, tag 1 with epoch milliseconds in CBOR.
type epochTime struct{ time.Time }

// at returns t as an epochTime.
func at(t time.Time) epochTime { return epochTime{t} }

// MarshalJSON writes epoch seconds with millisecond precision, in plain
// decimal notation (never exponent form).
func (t epochTime) MarshalJSON() ([]byte, error) {
	ms := t.UnixMilli()
	return strconv.AppendFloat(nil, float64(ms)/1000, 'f', -1, 64), nil
}

// UnmarshalJSON reads epoch seconds, integral or fractional.
func (t *epochTime) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("timestamp %.32s is not epoch seconds", b)
	}
	return t.setSeconds(f)
}

// setSeconds sets t from fractional epoch seconds.
func (t *epochTime) setSeconds(f float64) error {
	if math.IsNaN(f) || math.IsInf(f, 0) || f < -1e11 || f > 1e11 {
		return fmt.Errorf("timestamp %v is out of range", f)
	}
	sec, frac := math.Modf(f)
	t.Time = time.Unix(int64(sec), int64(math.Round(frac*1e3))*int64(time.Millisecond)).UTC()
	return nil
}

// cborTimeTag is the CBOR tag of epoch-based date/time.
const cborTimeTag = 1

// MarshalCBOR writes tag 1 holding epoch milliseconds as an integer, as
// Kinesis and the AWS SDK for Java do (RFC 8949 would have seconds).
func (t epochTime) MarshalCBOR() ([]byte, error) {
	return cbor.Marshal(cbor.Tag{Number: cborTimeTag, Content: t.UnixMilli()})
}

// UnmarshalCBOR reads an integer as epoch milliseconds (what AWS's CBOR
// clients send, tagged 1 or not) and a float as epoch seconds (RFC 8949's
// tag 1 with a fraction).
func (t *epochTime) UnmarshalCBOR(b []byte) error {
	if len(b) > 0 && b[0]>>5 == 6 { // a tag
		var rt cbor.RawTag
		if err := cborDec.Unmarshal(b, &rt); err != nil {
			return err
		}
		if rt.Number != cborTimeTag {
			return fmt.Errorf("timestamp has CBOR tag %d; expected 1 (epoch)", rt.Number)
		}
		b = rt.Content
	}
	var v any
	if err := cborDec.Unmarshal(b, &v); err != nil {
		return err
	}
	switch n := v.(type) {
	case nil:
		return nil
	case uint64:
		if n > 1e14 {
			return fmt.Errorf("timestamp %d ms is out of range", n)
		}
		t.Time = time.UnixMilli(int64(n)).UTC()
	case int64:
		if n < -1e14 {
			return fmt.Errorf("timestamp %d ms is out of range", n)
		}
		t.Time = time.UnixMilli(n).UTC()
	case float64:
		return t.setSeconds(n)
	default:
		return fmt.Errorf("timestamp is a CBOR %T; expected epoch milliseconds", v)
	}
	return nil
}

// cborDec decodes CBOR requests: duplicate map keys are errors, and the
// nesting and sizes are bounded.
var cborDec = func() cbor.DecMode {
	dm, err := cbor.DecOptions{
		DupMapKey:        cbor.DupMapKeyEnforcedAPF,
		MaxNestedLevels:  16,
		MaxArrayElements: 1000,
		MaxMapPairs:      1000,
	}.DecMode()
	if err != nil {
		panic(err) // static options
	}
	return dm
}()

// cborEnc encodes CBOR responses.
var cborEnc = func() cbor.EncMode {
	em, err := cbor.EncOptions{}.EncMode()
	if err != nil {
		panic(err) // static options
	}
	return em
}()

// validator is an input shape that checks the constraints the Kinesis
// model declares (lengths, patterns, ranges, required members).
type validator interface{ validate() error }

// decodeInput decodes a request body (JSON or CBOR) into in and checks
// its model constraints. A body that does not decode is a
// SerializationException; a constraint violation a ValidationException.
// Unknown members are ignored, as AWS does, so that newer SDKs work.
func decodeInput(body []byte, isCBOR bool, in validator) error {
	if len(bytes.TrimSpace(body)) > 0 {
		var err error
		if isCBOR {
			err = cborDec.Unmarshal(body, in)
		} else {
			err = json.Unmarshal(body, in)
		}
		if err != nil {
			return &awsapi.Error{Code: "SerializationException", Message: "the request body does not decode: " + decodeErrorText(err)}
		}
	}
	return in.validate()
}

// decodeErrorText shortens a decoder's error for a message.
func decodeErrorText(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("invalid JSON at offset %d: %v", se.Offset, err)
	}
	return awsapi.Truncate(err.Error(), 256)
}

// writeOutput answers r with out (a struct, or nil for an empty result)
// in r's encoding.
func writeOutput(w http.ResponseWriter, r *awsapi.Request, out any) {
	var body []byte
	var err error
	ct := awsapi.ContentTypeJSON11
	if out == nil {
		out = struct{}{}
	}
	if r.CBOR {
		ct = awsapi.ContentTypeCBOR11
		body, err = cborEnc.Marshal(out)
	} else {
		body, err = json.Marshal(out)
	}
	if err != nil {
		writeError(w, r, internal(fmt.Errorf("encoding the response: %w", err)))
		return
	}
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	awsapi.RequestID(w)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// writeError answers r with err in r's encoding: JSON through
// awsapi.WriteJSONError, CBOR as the map {"__type", "message"} with the
// same headers and status.
func writeError(w http.ResponseWriter, r *awsapi.Request, err error) {
	if !r.CBOR {
		awsapi.WriteJSONError(w, err, awsapi.ContentTypeJSON11, "", false)
		return
	}
	e := awsapi.AsError(err)
	typ := e.TypeName()
	body, _ := cborEnc.Marshal(struct {
		Type    string `cbor:"__type"`
		Message string `cbor:"message"`
	}{typ, e.Message})
	h := w.Header()
	h.Set("Content-Type", awsapi.ContentTypeCBOR11)
	h.Set("X-Amzn-ErrorType", typ)
	awsapi.RequestID(w)
	w.WriteHeader(e.HTTPStatus())
	_, _ = w.Write(body)
}
