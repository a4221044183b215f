package eventbridge_test

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	courier "github.com/courier-io/courier"
	"github.com/courier-io/courier/awsapi/gateway"
)

// fuzzAction feeds fuzzed JSON bodies to action through the gateway (no
// network) and checks the answer: 200 or a 4xx, always a JSON document,
// an error with its __type and message. A 5xx means a decoder or handler
// let malformed input through to where it could not be handled.
func fuzzAction(f *testing.F, action string, seeds ...string) {
	for _, s := range seeds {
		f.Add(s)
	}
	b, err := courier.Open(f.Context(), "mem://")
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = b.Close() })
	gw, err := gateway.New(f.Context(), b, gateway.Config{}, services)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = gw.Close() })
	if _, err := b.CreateQueue(f.Context(), "q"); err != nil {
		f.Fatal(err)
	}
	if _, err := b.Bus(courier.DefaultBus).PutRule(f.Context(), "r", courier.Rule{Pattern: []byte(`{"source":["s"]}`)}); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest("POST", "/", strings.NewReader(body))
		req.Header.Set("X-Amz-Target", "AWSEvents."+action)
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		w := httptest.NewRecorder()
		gw.ServeHTTP(w, req)
		var out map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
			t.Fatalf("%s %q: answer %d is not a JSON object: %q", action, body, w.Code, w.Body)
		}
		switch {
		case w.Code == 200:
		case w.Code >= 400 && w.Code < 500:
			if out["__type"] == "" || out["message"] == "" {
				t.Fatalf("%s %q: error without __type or message: %v", action, body, out)
			}
		default:
			t.Fatalf("%s %q: status %d: %v", action, body, w.Code, out)
		}
	})
}

func FuzzPutEvents(f *testing.F) {
	fuzzAction(f, "PutEvents",
		`{"Entries":[{"Source":"s","DetailType":"t","Detail":"{\"a\":1}"}]}`,
		`{"Entries":[{"Source":"s","DetailType":"t","Detail":"{}","Time":1700000000.5,"Resources":["r"],"TraceHeader":"Root=1-abc"}]}`,
		`{"Entries":[{"Source":"s","DetailType":"t","Detail":"[1]","EventBusName":"arn:aws:events:us-east-1:000000000000:event-bus/x"}]}`,
		`{"Entries":[]}`, `{"Entries":[{"Time":"x"}]}`, `{}`, `[]`, `{"EndpointId":"e"}`)
}

func FuzzPutRule(f *testing.F) {
	fuzzAction(f, "PutRule",
		`{"Name":"a","EventPattern":"{\"source\":[\"s\"]}"}`,
		`{"Name":"b","ScheduleExpression":"rate(5 minutes)","State":"DISABLED","Description":"d","RoleArn":"arn:aws:iam::000000000000:role/r"}`,
		`{"Name":"c","EventPattern":"{\"detail\":{\"n\":[{\"numeric\":[\">\",1]}]}}","Tags":[{"Key":"k","Value":"v"}]}`,
		`{"Name":"d","ScheduleExpression":"cron(0 12 * * ? *)","EventBusName":"arn:aws:events:us-east-1:000000000000:event-bus/default"}`,
		`{"Name":"","EventPattern":"{"}`, `{"Name":"x","State":"ON"}`)
}

func FuzzPutTargets(f *testing.F) {
	fuzzAction(f, "PutTargets",
		`{"Rule":"r","Targets":[{"Id":"a","Arn":"arn:aws:sqs:us-east-1:000000000000:q"}]}`,
		`{"Rule":"r","Targets":[{"Id":"b","Arn":"arn:aws:sqs:us-east-1:000000000000:q","InputTransformer":{"InputPathsMap":{"x":"$.detail.x"},"InputTemplate":"{\"x\": <x>}"}}]}`,
		`{"Rule":"r","Targets":[{"Id":"c","Arn":"arn:aws:kinesis:us-east-1:000000000000:stream/s","KinesisParameters":{"PartitionKeyPath":"$.id"},"RetryPolicy":{"MaximumRetryAttempts":3,"MaximumEventAgeInSeconds":60}}]}`,
		`{"Rule":"r","Targets":[{"Id":"d","Arn":"arn:aws:events:us-east-1:000000000000:api-destination/x/y","HttpParameters":{"PathParameterValues":["1"]}}]}`,
		`{"Rule":"r","Targets":[{"Id":"e","Arn":"arn:aws:sns:us-east-1:000000000000:t","DeadLetterConfig":{"Arn":"arn:aws:sqs:us-east-1:000000000000:q"},"InputPath":"$.detail"}]}`,
		`{"Rule":"r","Targets":[{"Id":"f","Arn":"arn:aws:lambda:us-east-1:000000000000:function:f"}]}`)
}

func FuzzCreateConnection(f *testing.F) {
	fuzzAction(f, "CreateConnection",
		`{"Name":"a","AuthorizationType":"API_KEY","AuthParameters":{"ApiKeyAuthParameters":{"ApiKeyName":"K","ApiKeyValue":"v"}}}`,
		`{"Name":"b","AuthorizationType":"BASIC","AuthParameters":{"BasicAuthParameters":{"Username":"u","Password":"p"},"InvocationHttpParameters":{"HeaderParameters":[{"Key":"X","Value":"1","IsValueSecret":true}]}}}`,
		`{"Name":"c","AuthorizationType":"OAUTH_CLIENT_CREDENTIALS","AuthParameters":{"OAuthParameters":{}}}`)
}
