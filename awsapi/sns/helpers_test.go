package sns_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"

	courier "github.com/courier-io/courier"
	"github.com/courier-io/courier/awsapi"
	"github.com/courier-io/courier/awsapi/awstest"
	"github.com/courier-io/courier/awsapi/gateway"
	snsapi "github.com/courier-io/courier/awsapi/sns"
)

// fixture is a gateway serving SNS over a broker, with an SDK client.
type fixture struct {
	t   testing.TB
	b   *courier.Broker
	url string
	gw  *gateway.Gateway
	c   *sns.Client
	svc *snsapi.Service
}

// factory creates the SNS service and remembers it.
func (f *fixture) factory(env *awsapi.Env) (awsapi.Service, error) {
	s, err := snsapi.New(env)
	if err != nil {
		return nil, err
	}
	f.svc = s
	return s, nil
}

// newFixture serves SNS over a fresh mem:// broker.
func newFixture(t testing.TB) *fixture {
	return openFixture(t, "mem://")
}

// openFixture serves SNS over a fresh broker at url.
func openFixture(t testing.TB, url string) *fixture {
	t.Helper()
	b, err := courier.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return serve(t, b, gateway.Config{})
}

// serve serves SNS over b.
func serve(t testing.TB, b *courier.Broker, cfg gateway.Config) *fixture {
	t.Helper()
	f := &fixture{t: t, b: b}
	f.url, f.gw = awstest.Start(t, b, cfg, gateway.Services{SNS: f.factory})
	f.c = sns.NewFromConfig(awstest.Config("", ""), func(o *sns.Options) { o.BaseEndpoint = aws.String(f.url) })
	return f
}

const (
	account  = "000000000000"
	topicARN = "arn:aws:sns:us-east-1:000000000000:"
	queueARN = "arn:aws:sqs:us-east-1:000000000000:"
)

var ctx = context.Background()

// createTopic creates a topic through SNS and returns its ARN.
func (f *fixture) createTopic(name string, attrs map[string]string) string {
	f.t.Helper()
	out, err := f.c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(name), Attributes: attrs})
	if err != nil {
		f.t.Fatalf("CreateTopic %s: %v", name, err)
	}
	return *out.TopicArn
}

// queue creates a courier queue (FIFO when its name ends in .fifo).
func (f *fixture) queue(name string) string {
	f.t.Helper()
	var opts []courier.QueueOption
	if len(name) > 5 && name[len(name)-5:] == ".fifo" {
		opts = append(opts, courier.FIFO())
	}
	if _, err := f.b.CreateQueue(ctx, name, opts...); err != nil {
		f.t.Fatal(err)
	}
	return queueARN + name
}

// subscribe subscribes and returns the subscription ARN.
func (f *fixture) subscribe(topic, protocol, endpoint string, attrs map[string]string) string {
	f.t.Helper()
	out, err := f.c.Subscribe(ctx, &sns.SubscribeInput{TopicArn: aws.String(topic), Protocol: aws.String(protocol),
		Endpoint: aws.String(endpoint), Attributes: attrs, ReturnSubscriptionArn: true})
	if err != nil {
		f.t.Fatalf("Subscribe %s %s: %v", protocol, endpoint, err)
	}
	return *out.SubscriptionArn
}

// receive receives up to max messages from queue, waiting at most 1s.
func (f *fixture) receive(queue string, max int) []*courier.Delivery {
	f.t.Helper()
	ds, err := f.b.Queue(queue).Receive(ctx, courier.Max(max), courier.Wait(time.Second))
	if err != nil {
		f.t.Fatal(err)
	}
	for _, d := range ds {
		if err := d.Ack(ctx); err != nil {
			f.t.Fatal(err)
		}
	}
	return ds
}

// render renders d as package sqs does.
func (f *fixture) render(queue string, d *courier.Delivery) (map[string]any, bool) {
	f.t.Helper()
	body, ok := f.gw.Env().Notifications.RenderNotification(f.url, queue, d)
	if !ok {
		return nil, false
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		f.t.Fatalf("notification %s: %v", body, err)
	}
	return m, true
}

// stringMap converts a notification's fields to strings for VerifySignature.
func stringMap(m map[string]any) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		if s, ok := v.(string); ok {
			out[k] = s
		}
	}
	return out
}

// errorsAs is errors.As.
func errorsAs(err error, target any) bool { return errors.As(err, target) }

// httpGet GETs url and returns the status.
func httpGet(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode
}

type (
	typesMAV   = types.MessageAttributeValue
	typesEntry = types.PublishBatchRequestEntry
	typesTag   = types.Tag
)

// jsonUnmarshal is json.Unmarshal.
func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
