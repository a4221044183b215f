package eventbridge_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/smithy-go"
	"go.uber.org/goleak"

	courier "github.com/courier-io/courier"
	"github.com/courier-io/courier/awsapi"
	"github.com/courier-io/courier/awsapi/awstest"
	ebsvc "github.com/courier-io/courier/awsapi/eventbridge"
	"github.com/courier-io/courier/awsapi/gateway"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Account and region of the test gateway's ARNs.
const (
	account = gateway.DefaultAccountID
	region  = gateway.DefaultRegion
)

// services serves EventBridge only.
var services = gateway.Services{EventBridge: func(env *awsapi.Env) (awsapi.Service, error) { return ebsvc.New(env) }}

// fixture is a gateway with the EventBridge service over a broker, and an
// SDK client for it.
type fixture struct {
	t   *testing.T
	b   *courier.Broker
	url string
	gw  *gateway.Gateway
	eb  *eventbridge.Client
}

// newFixture serves EventBridge over a mem:// broker with cfg.
func newFixture(t *testing.T, cfg gateway.Config) *fixture {
	t.Helper()
	b, err := courier.Open(t.Context(), "mem://")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return startFixture(t, b, cfg)
}

// startFixture serves EventBridge over b.
func startFixture(t *testing.T, b *courier.Broker, cfg gateway.Config) *fixture {
	t.Helper()
	url, gw := awstest.Start(t, b, cfg, services)
	client := eventbridge.NewFromConfig(awstest.Config("", ""), func(o *eventbridge.Options) { o.BaseEndpoint = aws.String(url) })
	return &fixture{t: t, b: b, url: url, gw: gw, eb: client}
}

// queue creates a courier queue and returns its SQS ARN.
func (f *fixture) queue(name string, opts ...courier.QueueOption) string {
	f.t.Helper()
	if _, err := f.b.CreateQueue(f.t.Context(), name, opts...); err != nil {
		f.t.Fatal(err)
	}
	return "arn:aws:sqs:" + region + ":" + account + ":" + name
}

// receive waits (up to 10s: delivery is asynchronous) for n messages of
// queue and returns their bodies, acked.
func (f *fixture) receive(queue string, n int) []string {
	f.t.Helper()
	q := f.b.Queue(queue)
	var out []string
	deadline := time.Now().Add(10 * time.Second)
	for len(out) < n && time.Now().Before(deadline) {
		ds, err := q.Receive(f.t.Context(), courier.Max(10), courier.Wait(time.Second))
		if err != nil {
			f.t.Fatal(err)
		}
		for _, d := range ds {
			out = append(out, string(d.Body))
			if err := d.Ack(f.t.Context()); err != nil {
				f.t.Fatal(err)
			}
		}
	}
	if len(out) != n {
		f.t.Fatalf("queue %s: got %d messages %q, want %d", queue, len(out), out, n)
	}
	return out
}

// empty checks that queue holds no message now.
func (f *fixture) empty(queue string) {
	f.t.Helper()
	ds, err := f.b.Queue(queue).Receive(f.t.Context(), courier.Max(10))
	if err != nil {
		f.t.Fatal(err)
	}
	if len(ds) != 0 {
		f.t.Fatalf("queue %s: got %d unexpected messages, first %s", queue, len(ds), ds[0].Body)
	}
}

// wantAPIError checks that err is the AWS error code, with HTTP status.
func wantAPIError(t *testing.T, err error, code string, status int) {
	t.Helper()
	awstest.WantCode(t, err, code)
	var ae smithy.APIError
	errors.As(err, &ae)
	if ae.ErrorMessage() == "" {
		t.Fatalf("error %s has no message", code)
	}
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) && re.HTTPStatusCode() != status {
		t.Fatalf("error %s: HTTP status %d, want %d", code, re.HTTPStatusCode(), status)
	}
}

// raw posts a JSON 1.1 request for action with body and returns the
// status and the decoded answer.
func (f *fixture) raw(action, body string) (int, map[string]any) {
	f.t.Helper()
	req, err := http.NewRequestWithContext(f.t.Context(), "POST", f.url+"/", strings.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	req.Close = true
	req.Header.Set("X-Amz-Target", "AWSEvents."+action)
	req.Header.Set("Content-Type", awsapi.ContentTypeJSON11)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != awsapi.ContentTypeJSON11 {
		f.t.Fatalf("%s: Content-Type %q", action, ct)
	}
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		f.t.Fatalf("%s: answer is not JSON: %v", action, err)
	}
	return resp.StatusCode, out
}

// ctx is a short alias for tests.
func ctx(t *testing.T) context.Context { return t.Context() }
