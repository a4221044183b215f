package kinesis_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	courier "github.com/courier-io/courier"
	"github.com/courier-io/courier/awsapi"
	"github.com/courier-io/courier/awsapi/awstest"
	"github.com/courier-io/courier/awsapi/gateway"
	kinesisapi "github.com/courier-io/courier/awsapi/kinesis"
)

// services are the gateway services of these tests: Kinesis only.
var services = gateway.Services{Kinesis: func(env *awsapi.Env) (awsapi.Service, error) { return kinesisapi.New(env) }}

// fixture is a broker, a gateway serving Kinesis over it and an SDK
// client pointed at it.
type fixture struct {
	t   testing.TB
	b   *courier.Broker
	url string
	c   *kinesis.Client
	ctx context.Context
}

// newFixture starts Kinesis over a mem:// broker on a test HTTP server.
func newFixture(t testing.TB, cfg gateway.Config) *fixture {
	t.Helper()
	ctx := context.Background()
	b, err := courier.Open(ctx, "mem://")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	url, _ := awstest.Start(t, b, cfg, services)
	return &fixture{t: t, b: b, url: url, c: client(url, nil), ctx: ctx}
}

// client returns an SDK client of the endpoints at url.
func client(url string, hc *http.Client) *kinesis.Client {
	cfg := awstest.Config("", "")
	if hc != nil {
		cfg.HTTPClient = hc
	}
	return kinesis.NewFromConfig(cfg, func(o *kinesis.Options) { o.BaseEndpoint = aws.String(url) })
}

// handlerTransport serves requests with a handler in process, so that an
// SDK client works inside a synctest bubble (no network).
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

// inProcess returns an SDK client served in process by a gateway over b;
// the gateway closes when the test ends.
func inProcess(t testing.TB, b *courier.Broker) *kinesis.Client {
	t.Helper()
	g, err := gateway.New(context.Background(), b, gateway.Config{}, services)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return client("http://kinesis.test", &http.Client{Transport: handlerTransport{g}})
}

// must fails the test on err.
func must[T any](t testing.TB) func(v T, err error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// createStream creates a stream of n shards through the SDK.
func (f *fixture) createStream(name string, n int32) *kinesis.DescribeStreamOutput {
	f.t.Helper()
	if _, err := f.c.CreateStream(f.ctx, &kinesis.CreateStreamInput{StreamName: aws.String(name), ShardCount: aws.Int32(n)}); err != nil {
		f.t.Fatal(err)
	}
	return must[*kinesis.DescribeStreamOutput](f.t)(f.c.DescribeStream(f.ctx, &kinesis.DescribeStreamInput{StreamName: aws.String(name)}))
}

// denyAll is an Authorizer that refuses everything and records what it
// was asked.
type denyAll struct {
	mu    sync.Mutex
	asked []string
}

func (d *denyAll) Authorize(_ context.Context, perm awsapi.Permission, kind, name string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.asked = append(d.asked, string(perm)+" "+kind+" "+name)
	return errors.New("denied by test")
}

func (d *denyAll) take() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := d.asked
	d.asked = nil
	return out
}
