package server_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/awsapi"
	"github.com/courier-io/courier/awsapi/gateway"
	"github.com/courier-io/courier/server"
)

// echoService answers an SQS JSON call after checking publish on the
// queue named in the body.
type echoService struct{ env *awsapi.Env }

func (e echoService) Serve(w http.ResponseWriter, r *awsapi.Request) {
	var in struct{ QueueName string }
	_ = json.Unmarshal(r.Body, &in)
	if err := e.env.Authorize(r.Context(), awsapi.Publish, "queue", in.QueueName); err != nil {
		awsapi.WriteJSONError(w, err, awsapi.ContentTypeJSON10, "com.amazonaws.sqs", true)
		return
	}
	w.Header().Set("Content-Type", awsapi.ContentTypeJSON10)
	_, _ = w.Write([]byte(`{"Action":"` + r.Action + `"}`))
}

func (echoService) Close() error { return nil }

func TestAWSEndpointsAuthenticateSigV4(t *testing.T) {
	ctx := context.Background()
	b, err := courier.Open(ctx, "mem://")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	srv := server.New(b,
		server.WithIdentities(
			server.Identity{Name: "orders-writer", TokenHash: server.HashToken("token-of-orders-writer"),
				Allow: []server.Grant{{Actions: []server.Action{server.ActionPublish}, Resource: "queue:orders"}}},
		),
		server.WithAWS(server.AWSConfig{
			AccessKeys: []server.AWSAccessKey{{ID: "AKIDORDERS", Secret: "secret-of-orders", Identity: "orders-writer"}},
			Services:   gateway.Services{SQS: func(env *awsapi.Env) (awsapi.Service, error) { return echoService{env}, nil }},
		}))
	if err := srv.Err(); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer func() { hs.Close(); srv.Drain() }()

	call := func(akid, secret, queue string) (int, string, string) {
		body := []byte(`{"QueueName":"` + queue + `"}`)
		req, _ := http.NewRequest(http.MethodPost, hs.URL+"/", bytes.NewReader(body))
		req.Header.Set("X-Amz-Target", "AmazonSQS.SendMessage")
		req.Header.Set("Content-Type", awsapi.ContentTypeJSON10)
		if akid != "" {
			sum := sha256.Sum256(body)
			creds := aws.Credentials{AccessKeyID: akid, SecretAccessKey: secret}
			if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "sqs", "us-east-1", time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out struct {
			Type string `json:"__type"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out.Type, resp.Header.Get("X-Amzn-Query-Error")
	}
	cases := []struct {
		name, akid, secret, queue string
		status                    int
		typ                       string
	}{
		{"signed by a key whose identity may publish", "AKIDORDERS", "secret-of-orders", "orders", 200, ""},
		{"unsigned", "", "", "orders", 403, "com.amazonaws.sqs#MissingAuthenticationToken"},
		{"wrong secret", "AKIDORDERS", "guess", "orders", 403, "com.amazonaws.sqs#SignatureDoesNotMatch"},
		{"unknown key", "AKIDOTHER", "secret-of-orders", "orders", 403, "com.amazonaws.sqs#InvalidClientTokenId"},
		{"a queue the identity may not publish to", "AKIDORDERS", "secret-of-orders", "payments", 403, "com.amazonaws.sqs#AccessDeniedException"},
	}
	for _, c := range cases {
		status, typ, _ := call(c.akid, c.secret, c.queue)
		if status != c.status || typ != c.typ {
			t.Errorf("%s: %d %q; want %d %q", c.name, status, typ, c.status, c.typ)
		}
	}
}

func TestAWSAccessKeyMustNameAnIdentity(t *testing.T) {
	b, err := courier.Open(context.Background(), "mem://")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	srv := server.New(b,
		server.WithIdentities(server.Identity{Name: "a", TokenHash: server.HashToken("token-of-identity-a"),
			Allow: []server.Grant{{Actions: []server.Action{server.ActionAdmin}, Resource: "*"}}}),
		server.WithAWS(server.AWSConfig{AccessKeys: []server.AWSAccessKey{{ID: "AK", Secret: "s", Identity: "nobody"}}}))
	defer srv.Drain()
	if srv.Err() == nil {
		t.Fatal("an access key naming no identity was accepted")
	}
}

func TestAWSQueueURLReachesTheGateway(t *testing.T) {
	b, err := courier.Open(context.Background(), "mem://")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	srv := server.New(b, server.WithAWS(server.AWSConfig{
		Services: gateway.Services{SQS: func(env *awsapi.Env) (awsapi.Service, error) { return echoService{env}, nil }},
	}))
	hs := httptest.NewServer(srv)
	defer func() { hs.Close(); srv.Drain() }()
	for path, want := range map[string]int{
		"/000000000000/orders":   200, // this account's queue URL
		"/111111111111/orders":   404, // another account: not an AWS route
		"/000000000000/orders/x": 404,
	} {
		resp, err := http.Post(hs.URL+path, "application/x-www-form-urlencoded", bytes.NewReader([]byte("Action=SendMessage&MessageBody=x")))
		if err != nil {
			t.Fatal(err)
		}
		var out struct{ Action string }
		_ = json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if resp.StatusCode != want || (want == 200 && out.Action != "SendMessage") {
			t.Errorf("POST %s: %d %+v; want %d", path, resp.StatusCode, out, want)
		}
	}
}
