package sqs

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	courier "github.com/courier-io/courier"
	"github.com/courier-io/courier/awsapi"
	"github.com/courier-io/courier/awsapi/awstest"
	"github.com/courier-io/courier/awsapi/gateway"
)

// testEnv is an SQS endpoint over a broker, with an SDK client for it.
type testEnv struct {
	t   testing.TB
	b   *courier.Broker
	url string
	c   *sqs.Client
	svc *Service
}

// envOption changes the gateway configuration or the service's env.
type envOption func(*gateway.Config, *awsapi.Env)

// start serves SQS over b (closed by the caller) and returns the test env.
func start(t testing.TB, b *courier.Broker, opts ...envOption) *testEnv {
	t.Helper()
	te := &testEnv{t: t, b: b}
	var cfg gateway.Config
	for _, o := range opts {
		o(&cfg, nil)
	}
	te.url, _ = awstest.Start(t, b, cfg, gateway.Services{SQS: func(env *awsapi.Env) (awsapi.Service, error) {
		for _, o := range opts {
			o(nil, env)
		}
		svc, err := New(env)
		te.svc = svc
		return svc, err
	}})
	te.c = sqs.NewFromConfig(awstest.Config("", ""), func(o *sqs.Options) { o.BaseEndpoint = aws.String(te.url) })
	return te
}

// newEnv starts SQS over a fresh mem:// broker.
func newEnv(t testing.TB, opts ...envOption) *testEnv {
	t.Helper()
	b, err := courier.Open(context.Background(), "mem://")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return start(t, b, opts...)
}

// restart stops the endpoint of te and its file:// broker b over dir,
// then starts both again and returns the new endpoint.
func restart(t *testing.T, te *testEnv, b *courier.Broker, dir string) *testEnv {
	t.Helper()
	if err := te.svc.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	b2, err := courier.Open(context.Background(), "file://"+dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b2.Close() })
	return start(t, b2)
}

// createQueue creates a queue and returns its URL.
func (te *testEnv) createQueue(name string, attrs map[string]string) string {
	te.t.Helper()
	out, err := te.c.CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	if err != nil {
		te.t.Fatalf("CreateQueue %s: %v", name, err)
	}
	return *out.QueueUrl
}

// attrs returns all attributes of a queue.
func (te *testEnv) attrs(qurl string) map[string]string {
	te.t.Helper()
	out, err := te.c.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(qurl), AttributeNames: []types.QueueAttributeName{"All"}})
	if err != nil {
		te.t.Fatalf("GetQueueAttributes: %v", err)
	}
	return out.Attributes
}

// post sends a raw request: a form post (query protocol) when target is
// empty, else a JSON request with X-Amz-Target AmazonSQS.<target>.
func (te *testEnv) post(path, target, body string) (*http.Response, string) {
	te.t.Helper()
	req, err := http.NewRequest(http.MethodPost, te.url+path, strings.NewReader(body))
	if err != nil {
		te.t.Fatal(err)
	}
	if target == "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		req.Header.Set("Content-Type", awsapi.ContentTypeJSON10)
		req.Header.Set("X-Amz-Target", "AmazonSQS."+target)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		te.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// form posts query-protocol parameters.
func (te *testEnv) form(path string, kv ...string) (*http.Response, string) {
	te.t.Helper()
	v := url.Values{"Version": {"2012-11-05"}}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return te.post(path, "", v.Encode())
}
