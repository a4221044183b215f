package awsapi

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// Protocol content types.
const (
	ContentTypeJSON10 = "application/x-amz-json-1.0"
	ContentTypeJSON11 = "application/x-amz-json-1.1"
	ContentTypeCBOR11 = "application/x-amz-cbor-1.1"
)

// Call is a decoded HTTP request to an AWS endpoint: the Request for the
// service, and what the gateway routes by.
type Call struct {
	*Request
	// Target is the X-Amz-Target prefix ("AmazonSQS", "AWSEvents",
	// "Kinesis_20131202"); empty for the query protocol.
	Target string
	// Version is the query protocol's Version parameter ("2012-11-05" for
	// SQS, "2010-03-31" for SNS).
	Version string
	// ScopeService is the service named by the SigV4 credential scope
	// ("sqs", "sns", "events", "kinesis"), when the request is signed.
	ScopeService string
	// Raw is the request body as received (the signature covers it).
	Raw []byte
}

// DecodeRequest reads r (at most maxBody bytes of body) into a Call: an
// X-Amz-Target header selects a JSON protocol ("Service.Action"),
// otherwise the Action parameter of the form body or URL query selects
// the query protocol. The error is an *Error for the caller.
func DecodeRequest(r *http.Request, maxBody int64) (*Call, error) {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, &Error{Code: "RequestEntityTooLarge", Message: "the request body exceeds " + strconv.FormatInt(mbe.Limit, 10) + " bytes", Status: http.StatusRequestEntityTooLarge}
		}
		return nil, Errorf("IncompleteSignature", "reading the request body: %v", err)
	}
	c := &Call{Request: &Request{HTTP: r, Body: body, BaseURL: baseURL(r)}, Raw: body}
	c.ScopeService = scopeService(r.Header.Get("Authorization"))
	if target := r.Header.Get("X-Amz-Target"); target != "" {
		svc, action, ok := strings.Cut(target, ".")
		if !ok || svc == "" || action == "" {
			return nil, &Error{Code: "UnknownOperationException", Message: "X-Amz-Target " + Truncate(target, 128) + " is not Service.Action"}
		}
		c.Target, c.Action = svc, action
		c.CBOR = strings.HasPrefix(r.Header.Get("Content-Type"), ContentTypeCBOR11)
		return c, nil
	}
	ct := r.Header.Get("Content-Type")
	if len(body) > 0 && !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		return nil, Errorf("MissingAction", "a request without X-Amz-Target must be form-encoded (Content-Type application/x-www-form-urlencoded), not %q", Truncate(ct, 64))
	}
	form, err := ParseQuery(r.URL.RawQuery, body)
	if err != nil {
		return nil, err
	}
	c.Form = form
	c.Body = nil
	c.Action = form.Get("Action")
	c.Version = form.Get("Version")
	if c.Action == "" {
		return nil, Errorf("MissingAction", "the request names no action: send the Action parameter (query protocol) or the X-Amz-Target header (JSON protocols)")
	}
	return c, nil
}

// scopeService returns the service of a SigV4 Authorization header's
// credential scope (Credential=AKID/DATE/REGION/SERVICE/aws4_request).
func scopeService(auth string) string {
	_, rest, ok := strings.Cut(auth, "Credential=")
	if !ok {
		return ""
	}
	cred, _, _ := strings.Cut(rest, ",")
	parts := strings.Split(strings.TrimSpace(cred), "/")
	if len(parts) != 5 {
		return ""
	}
	return parts[3]
}

// baseURL is the scheme and host a client used to reach r.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
