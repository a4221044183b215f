package eventbridge

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	courier "github.com/courier-io/courier"
	"github.com/courier-io/courier/awsapi"
)

// Service is the EventBridge endpoint over an awsapi.Env. It is safe for
// concurrent use; changes to rules, targets, connections and API
// destinations are serialised by the service, so that a read-modify-write
// of a rule (EnableRule, PutRule keeping the targets) sees no concurrent
// change made through this service.
type Service struct {
	env *awsapi.Env
	// mu serialises the actions that change rules, targets, connections
	// and API destinations.
	mu sync.Mutex
}

// New returns the EventBridge service over env. It starts no background
// work: deliveries are the broker's.
func New(env *awsapi.Env) (*Service, error) {
	if env == nil || env.Broker == nil || env.Meta == nil || env.Auth == nil {
		return nil, errors.New("eventbridge: env needs a broker, a metadata store and an authorizer")
	}
	if !env.Broker.Capabilities().Buses {
		return nil, fmt.Errorf("eventbridge: the backend %s has no event buses", env.Broker.URL())
	}
	return &Service{env: env}, nil
}

// Close implements awsapi.Service; the service has no background work of
// its own, so it returns nil.
func (s *Service) Close() error { return nil }

// handler is one action: it decodes r's body and returns the output to
// encode as JSON, or an error (an *awsapi.Error or a courier error that
// toAWS translates).
type handler func(s *Service, ctx context.Context, body []byte) (any, error)

// actions are the supported actions by name.
var actions = map[string]handler{
	"CreateEventBus":         (*Service).createEventBus,
	"DeleteEventBus":         (*Service).deleteEventBus,
	"DescribeEventBus":       (*Service).describeEventBus,
	"ListEventBuses":         (*Service).listEventBuses,
	"UpdateEventBus":         (*Service).updateEventBus,
	"PutEvents":              (*Service).putEvents,
	"TestEventPattern":       (*Service).testEventPattern,
	"PutRule":                (*Service).putRule,
	"DeleteRule":             (*Service).deleteRule,
	"DescribeRule":           (*Service).describeRule,
	"ListRules":              (*Service).listRules,
	"EnableRule":             (*Service).enableRule,
	"DisableRule":            (*Service).disableRule,
	"ListRuleNamesByTarget":  (*Service).listRuleNamesByTarget,
	"PutTargets":             (*Service).putTargets,
	"RemoveTargets":          (*Service).removeTargets,
	"ListTargetsByRule":      (*Service).listTargetsByRule,
	"CreateArchive":          (*Service).createArchive,
	"DeleteArchive":          (*Service).deleteArchive,
	"DescribeArchive":        (*Service).describeArchive,
	"ListArchives":           (*Service).listArchives,
	"UpdateArchive":          (*Service).updateArchive,
	"StartReplay":            (*Service).startReplay,
	"CancelReplay":           (*Service).cancelReplay,
	"DescribeReplay":         (*Service).describeReplay,
	"ListReplays":            (*Service).listReplays,
	"CreateConnection":       (*Service).createConnection,
	"DescribeConnection":     (*Service).describeConnection,
	"UpdateConnection":       (*Service).updateConnection,
	"DeleteConnection":       (*Service).deleteConnection,
	"ListConnections":        (*Service).listConnections,
	"DeauthorizeConnection":  (*Service).deauthorizeConnection,
	"CreateApiDestination":   (*Service).createAPIDestination,
	"DescribeApiDestination": (*Service).describeAPIDestination,
	"UpdateApiDestination":   (*Service).updateAPIDestination,
	"DeleteApiDestination":   (*Service).deleteAPIDestination,
	"ListApiDestinations":    (*Service).listAPIDestinations,
	"TagResource":            (*Service).tagResource,
	"UntagResource":          (*Service).untagResource,
	"ListTagsForResource":    (*Service).listTagsForResource,
}

// unsupported are the EventBridge actions courier does not offer, with
// the reason given in their OperationDisabledException.
var unsupported = map[string]string{
	"ActivateEventSource":            "partner event sources are not supported by courier",
	"DeactivateEventSource":          "partner event sources are not supported by courier",
	"DescribeEventSource":            "partner event sources are not supported by courier",
	"ListEventSources":               "partner event sources are not supported by courier",
	"CreatePartnerEventSource":       "partner event sources are not supported by courier",
	"DeletePartnerEventSource":       "partner event sources are not supported by courier",
	"DescribePartnerEventSource":     "partner event sources are not supported by courier",
	"ListPartnerEventSources":        "partner event sources are not supported by courier",
	"ListPartnerEventSourceAccounts": "partner event sources are not supported by courier",
	"PutPartnerEvents":               "partner event sources are not supported by courier; use PutEvents",
	"CreateEndpoint":                 "global endpoints (multi-region failover) are not supported by courier",
	"DeleteEndpoint":                 "global endpoints (multi-region failover) are not supported by courier",
	"DescribeEndpoint":               "global endpoints (multi-region failover) are not supported by courier",
	"ListEndpoints":                  "global endpoints (multi-region failover) are not supported by courier",
	"UpdateEndpoint":                 "global endpoints (multi-region failover) are not supported by courier",
	"PutPermission":                  "courier has no resource policies: access is granted by the server's authorizer (docs/server.md), not by event bus policies",
	"RemovePermission":               "courier has no resource policies: access is granted by the server's authorizer (docs/server.md), not by event bus policies",
}

// Serve implements awsapi.Service: it runs r's action and writes its
// output, or its error with the __type EventBridge gives it.
func (s *Service) Serve(w http.ResponseWriter, r *awsapi.Request) {
	if r.Form != nil {
		writeError(w, &awsapi.Error{Code: "UnknownOperationException", Message: "EventBridge speaks the JSON 1.1 protocol (X-Amz-Target: AWSEvents.<Action>), not the query protocol"})
		return
	}
	h, ok := actions[r.Action]
	if !ok {
		if reason, known := unsupported[r.Action]; known {
			writeError(w, &awsapi.Error{Code: "OperationDisabledException", Message: r.Action + ": " + reason})
			return
		}
		writeError(w, &awsapi.Error{Code: "UnknownOperationException", Message: "EventBridge has no action " + strconv.Quote(awsapi.Truncate(r.Action, 128))})
		return
	}
	out, err := h(s, r.Context(), r.Body)
	if err != nil {
		writeError(w, toAWS(err))
		return
	}
	writeJSON(w, out)
}

// writeJSON writes a successful answer.
func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, &awsapi.Error{Code: "InternalException", Message: "encoding the answer: " + err.Error(), Server: true})
		return
	}
	h := w.Header()
	h.Set("Content-Type", awsapi.ContentTypeJSON11)
	awsapi.RequestID(w) // sets X-Amzn-RequestId
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// writeError writes err in the JSON 1.1 error shape.
func writeError(w http.ResponseWriter, err error) {
	awsapi.WriteJSONError(w, err, awsapi.ContentTypeJSON11, "", false)
}

// Error constructors, one per EventBridge error shape.

func validationf(format string, args ...any) *awsapi.Error {
	return awsapi.Errorf("ValidationException", format, args...)
}

func notFoundf(format string, args ...any) *awsapi.Error {
	return awsapi.Errorf("ResourceNotFoundException", format, args...)
}

func existsf(format string, args ...any) *awsapi.Error {
	return awsapi.Errorf("ResourceAlreadyExistsException", format, args...)
}

func limitf(format string, args ...any) *awsapi.Error {
	return awsapi.Errorf("LimitExceededException", format, args...)
}

func patternf(format string, args ...any) *awsapi.Error {
	return awsapi.Errorf("InvalidEventPatternException", format, args...)
}

// toAWS translates an error of the courier API into EventBridge's shapes;
// *awsapi.Error values pass through.
func toAWS(err error) *awsapi.Error {
	var ae *awsapi.Error
	if errors.As(err, &ae) {
		return ae
	}
	var ve *courier.ValidationError
	switch {
	case errors.As(err, &ve) && (ve.Field == "pattern" || strings.HasSuffix(ve.Field, ".pattern")):
		return patternf("Event pattern is not valid. Reason: %s", ve.Reason)
	case errors.Is(err, courier.ErrNotFound):
		return notFoundf("%v", err)
	case errors.Is(err, courier.ErrExists):
		return existsf("%v", err)
	case errors.Is(err, courier.ErrConflict):
		return awsapi.Errorf("ConcurrentModificationException", "%v", err)
	case errors.Is(err, courier.ErrTooLarge):
		return limitf("%v", err)
	case errors.Is(err, courier.ErrInvalid), errors.Is(err, courier.ErrUnsupported):
		return validationf("%v", err)
	}
	return &awsapi.Error{Code: "InternalException", Message: err.Error(), Server: true}
}

// decode reads a JSON 1.1 request body into v. A body that is not JSON
// of v's shape is a SerializationException; a member EventBridge does not
// define, or one courier does not implement (v's decoder refuses it), is
// a ValidationException naming it.
func decode(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var ae *awsapi.Error
		if errors.As(err, &ae) {
			return ae
		}
		if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return validationf("parameter %s is not supported by this endpoint", name)
		}
		return awsapi.Errorf("SerializationException", "the request body is not valid JSON for this action: %v", err)
	}
	if _, err := dec.Token(); err == nil {
		return awsapi.Errorf("SerializationException", "the request body has data after its JSON object")
	}
	return nil
}

// unsupportedParam is a request member that EventBridge defines and
// courier does not implement: present, it fails the request with a
// ValidationException that says why.
type unsupportedParam struct{ set bool }

// UnmarshalJSON marks the member present unless it is null.
func (u *unsupportedParam) UnmarshalJSON(b []byte) error {
	u.set = string(bytes.TrimSpace(b)) != "null"
	return nil
}

// refusal names an unsupported parameter of a request and says why it is
// not supported.
type refusal struct {
	name  string
	param *unsupportedParam
	why   string
}

// refuse returns a ValidationException for the first of refusals whose
// parameter is set.
func refuse(refusals ...refusal) error {
	for _, r := range refusals {
		if r.param != nil && r.param.set {
			return validationf("parameter %s is not supported: %s", r.name, r.why)
		}
	}
	return nil
}

// epochTime is a timestamp in the JSON 1.1 protocol: seconds since the
// Unix epoch, with a fraction.
type epochTime struct{ time.Time }

// newEpoch returns t as an optional epochTime; nil for the zero time.
func newEpoch(t time.Time) *epochTime {
	if t.IsZero() {
		return nil
	}
	return &epochTime{t}
}

// MarshalJSON writes seconds with millisecond precision.
func (t epochTime) MarshalJSON() ([]byte, error) {
	ms := t.UnixMilli()
	return strconv.AppendFloat(nil, float64(ms)/1000, 'f', -1, 64), nil
}

// UnmarshalJSON reads a number of seconds.
func (t *epochTime) UnmarshalJSON(b []byte) error {
	f, err := strconv.ParseFloat(string(bytes.TrimSpace(b)), 64)
	if err != nil || f < -62135596800 || f > 253402300799 {
		return awsapi.Errorf("SerializationException", "timestamp %s is not a number of seconds since the epoch within years 1..9999", awsapi.Truncate(string(b), 64))
	}
	sec := int64(f)
	t.Time = time.Unix(sec, int64((f-float64(sec))*1e9)).UTC().Round(time.Millisecond)
	return nil
}

// Limits of list actions.
const (
	defaultPageSize = 100
	maxPageSize     = 100
)

// page returns the items of a list (sorted by key) that follow the
// pagination token, at most limit of them, and the token of the next
// page (nil on the last).
func page[T any](items []T, key func(T) string, limit *int32, token *string) ([]T, *string, error) {
	n := defaultPageSize
	if limit != nil {
		if *limit < 1 || *limit > maxPageSize {
			return nil, nil, validationf("1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value between 1 and %d", *limit, maxPageSize)
		}
		n = int(*limit)
	}
	start := 0
	if token != nil && *token != "" {
		after, err := base64.RawURLEncoding.DecodeString(*token)
		if err != nil || len(after) == 0 {
			return nil, nil, validationf("NextToken %q is not a token this endpoint returned", awsapi.Truncate(*token, 64))
		}
		for start < len(items) && key(items[start]) <= string(after) {
			start++
		}
	}
	end := min(start+n, len(items))
	out := items[start:end]
	if end < len(items) && len(out) > 0 {
		tok := base64.RawURLEncoding.EncodeToString([]byte(key(out[len(out)-1])))
		return out, &tok, nil
	}
	return out, nil, nil
}

// str returns *p, or "" for nil.
func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// ptr returns a pointer to v, or nil for the zero value.
func ptr[T comparable](v T) *T {
	var zero T
	if v == zero {
		return nil
	}
	return &v
}

// checkName checks a name of a rule, archive, replay, connection or API
// destination as EventBridge does: 1..max of letters, digits, '.', '-'
// and '_'.
func checkName(field, name string, max int) error {
	if name == "" || len(name) > max {
		return validationf("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must have length between 1 and %d", awsapi.Truncate(name, 300), field, max)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return validationf("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+ (character %q at position %d)", awsapi.Truncate(name, 300), field, c, i)
		}
	}
	return nil
}

// checkText checks an optional free-text field: at most max bytes, no
// control characters.
func checkText(field, s string, max int) error {
	if len(s) > max {
		return validationf("1 validation error detected: Value at '%s' failed to satisfy constraint: Member must have length less than or equal to %d (it has %d)", field, max, len(s))
	}
	for i, r := range s {
		if r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0x7f {
			return validationf("%s has control character %q at byte %d", field, r, i)
		}
	}
	return nil
}

// timeNow is the time of creation and modification stamps, in UTC.
func timeNow() time.Time { return time.Now().UTC() }
