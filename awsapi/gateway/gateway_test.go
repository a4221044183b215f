package gateway_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"go.uber.org/goleak"

	courier "github.com/courier-io/courier"
	"github.com/courier-io/courier/awsapi"
	"github.com/courier-io/courier/awsapi/awstest"
	"github.com/courier-io/courier/awsapi/gateway"
	"github.com/courier-io/courier/driver"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func init() {
	driver.Register("nobuses", func(ctx context.Context, u *url.URL, opts driver.Options) (driver.Conn, error) {
		open, _ := driver.Lookup("mem")
		c, err := open(ctx, &url.URL{Scheme: "mem"}, opts)
		if err != nil {
			return nil, err
		}
		return noBusesConn{c.(engineConn)}, nil
	})
}

// engineConn is what the mem:// engine implements besides buses.
type engineConn interface {
	driver.Conn
	driver.Queues
	driver.Topics
	driver.Streams
}

// noBusesConn is the mem:// engine reporting no event buses, as a
// backend such as NATS does.
type noBusesConn struct{ engineConn }

func (c noBusesConn) Capabilities() driver.Capabilities {
	caps := c.engineConn.Capabilities()
	caps.Buses = false
	return caps
}

// echo answers every request with its action.
type echo struct{}

func (echo) Serve(w http.ResponseWriter, r *awsapi.Request) {
	_ = json.NewEncoder(w).Encode(map[string]string{"Action": r.Action})
}
func (echo) Close() error { return nil }

func factory(made *[]string, name string) gateway.Factory {
	return func(*awsapi.Env) (awsapi.Service, error) {
		*made = append(*made, name)
		return echo{}, nil
	}
}

// TestServiceWithoutBackendSupportIsOff checks that a backend without
// event buses serves SQS and the others, and answers EventBridge
// requests with an error that says why, instead of failing to start.
func TestServiceWithoutBackendSupportIsOff(t *testing.T) {
	b, err := courier.Open(context.Background(), "nobuses://")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var made []string
	url, _ := awstest.Start(t, b, gateway.Config{}, gateway.Services{
		SQS: factory(&made, "sqs"), SNS: factory(&made, "sns"), EventBridge: factory(&made, "events"), Kinesis: factory(&made, "kinesis"),
	})
	if strings.Join(made, ",") != "sns,sqs,kinesis" {
		t.Errorf("services made: %v; want sns, sqs and kinesis", made)
	}
	post := func(target string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, url+"/", strings.NewReader("{}"))
		req.Header.Set("X-Amz-Target", target)
		req.Header.Set("Content-Type", awsapi.ContentTypeJSON11)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]string
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out["__type"] + out["Action"] + " " + out["message"]
	}
	if code, body := post("AmazonSQS.ListQueues"); code != 200 || !strings.HasPrefix(body, "ListQueues") {
		t.Errorf("SQS: %d %s", code, body)
	}
	if code, body := post("AWSEvents.ListEventBuses"); code != 503 || !strings.Contains(body, "ServiceUnavailableException") || !strings.Contains(body, "no event buses") {
		t.Errorf("EventBridge on a backend without buses: %d %s", code, body)
	}
	if code, body := post("Nope_2020.Action"); code != 400 || !strings.Contains(body, "UnknownOperationException") {
		t.Errorf("unknown target: %d %s", code, body)
	}
}
