// Package awstest starts the AWS-compatible endpoints for tests and
// points aws-sdk-go-v2 clients at them.
package awstest

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/smithy-go"

	courier "github.com/courier-io/courier"
	"github.com/courier-io/courier/awsapi/gateway"
)

// Start serves a gateway over b with the services svcs (and cfg, whose
// zero value is the defaults: no authentication) on a 127.0.0.1 test
// server, and returns the server's URL and the gateway. Both stop when
// the test ends.
func Start(t testing.TB, b *courier.Broker, cfg gateway.Config, svcs gateway.Services) (string, *gateway.Gateway) {
	t.Helper()
	g, err := gateway.New(context.Background(), b, cfg, svcs)
	if err != nil {
		t.Fatalf("gateway: %v", err)
	}
	srv := httptest.NewServer(g)
	t.Cleanup(func() {
		srv.Close()
		if err := g.Close(); err != nil {
			t.Errorf("gateway close: %v", err)
		}
	})
	return srv.URL, g
}

// Config returns an aws.Config for clients of the endpoints at url: the
// gateway's default region, static credentials (akid, secret; "test",
// "test" when empty) and no retries, so that tests see every error.
// Give it to a client as sqs.NewFromConfig(cfg, func(o *sqs.Options) {
// o.BaseEndpoint = aws.String(url) }).
func Config(akid, secret string) aws.Config {
	if akid == "" {
		akid, secret = "test", "test"
	}
	return aws.Config{
		Region:           gateway.DefaultRegion,
		Credentials:      credentials.NewStaticCredentialsProvider(akid, secret, ""),
		RetryMaxAttempts: 1,
	}
}

// WantCode fails the test unless err is an AWS API error with the error
// code code.
func WantCode(t testing.TB, err error, code string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v; want API error %s", err, code)
	}
	if ae.ErrorCode() != code {
		t.Fatalf("error code %s (%s); want %s", ae.ErrorCode(), ae.ErrorMessage(), code)
	}
}
