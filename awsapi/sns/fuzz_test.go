package sns

import (
	"context"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	courier "github.com/courier-io/courier"
	"github.com/courier-io/courier/awsapi"
)

// FuzzPublishParams feeds arbitrary query strings to Publish's parameter
// decoding and message building: no panic, and an accepted message keeps
// its attributes in headers.
func FuzzPublishParams(f *testing.F) {
	f.Add("Message=hi&Subject=s&MessageAttributes.entry.1.Name=a&MessageAttributes.entry.1.Value.DataType=String&MessageAttributes.entry.1.Value.StringValue=v", false)
	f.Add("Message=hi&MessageAttributes.entry.1.Name=n&MessageAttributes.entry.1.Value.DataType=Number&MessageAttributes.entry.1.Value.StringValue=1e3", false)
	f.Add("Message=hi&MessageAttributes.entry.1.Name=b&MessageAttributes.entry.1.Value.DataType=Binary&MessageAttributes.entry.1.Value.BinaryValue=AAE%3D", false)
	f.Add("Message=hi&MessageAttributes.entry.1.Name=s&MessageAttributes.entry.1.Value.DataType=String.Array&MessageAttributes.entry.1.Value.StringValue=%5B%22a%22%2C1%5D", false)
	f.Add("Message=hi&MessageGroupId=g&MessageDeduplicationId=d", true)
	f.Add("Message=%7B%22default%22%3A%22x%22%7D&MessageStructure=json", false)
	f.Add("MessageAttributes.entry.0.Name=a", false)
	f.Add("MessageAttributes.entry.1.Bogus=a", true)
	f.Fuzz(func(t *testing.T, raw string, fifo bool) {
		form, err := awsapi.ParseQuery(raw, nil)
		if err != nil {
			return
		}
		in, err := decodePublishInput(form)
		if err != nil {
			if _, ok := err.(*awsapi.Error); !ok {
				t.Fatalf("error %T %v", err, err)
			}
			return
		}
		m, err := buildMessage(&topicState{FIFO: fifo}, in)
		if err != nil {
			return
		}
		if len(m.Body) == 0 || fifo && m.Group == "" {
			t.Fatalf("accepted %+v", m)
		}
		if got := awsapi.HeadersToAttributes(m.Headers); len(got) != len(in.Attrs) {
			t.Fatalf("attributes %v became headers %v", in.Attrs, m.Headers)
		}
	})
}

// FuzzMessageStructure feeds arbitrary MessageStructure=json messages.
func FuzzMessageStructure(f *testing.F) {
	f.Add(`{"default":"d","sqs":"s","http":"h"}`)
	f.Add(`{"sqs":"s"}`)
	f.Add(`{"default":1}`)
	f.Add(`[]`)
	f.Add(`{"default":"","https":"x"}`)
	f.Fuzz(func(t *testing.T, msg string) {
		m, err := buildMessage(&topicState{}, publishInput{Message: msg, Structure: "json"})
		if err != nil {
			return
		}
		if len(m.Body) == 0 {
			t.Fatalf("empty default accepted from %q", msg)
		}
		for k := range m.Headers {
			if !strings.HasPrefix(k, protoMsgHeader) {
				t.Fatalf("header %q from %q", k, msg)
			}
		}
	})
}

// FuzzDeliveryPolicy feeds arbitrary delivery policies: an accepted one
// gives retry delays within its targets.
func FuzzDeliveryPolicy(f *testing.F) {
	f.Add(`{"healthyRetryPolicy":{"minDelayTarget":1,"maxDelayTarget":60,"numRetries":10,"numNoDelayRetries":1,"numMinDelayRetries":2,"numMaxDelayRetries":3,"backoffFunction":"exponential"}}`)
	f.Add(`{"healthyRetryPolicy":{"minDelayTarget":5,"maxDelayTarget":5,"numRetries":3},"throttlePolicy":{"maxReceivesPerSecond":2},"requestPolicy":{"headerContentType":"application/json"}}`)
	f.Add(`{"http":{"defaultHealthyRetryPolicy":{"minDelayTarget":1,"maxDelayTarget":20,"numRetries":5,"backoffFunction":"arithmetic"},"disableSubscriptionOverrides":true}}`)
	f.Add(`{"healthyRetryPolicy":{"minDelayTarget":0}}`)
	f.Add(`{} {}`)
	f.Fuzz(func(t *testing.T, s string) {
		check := func(p *retryPolicy) {
			if p == nil {
				return
			}
			lo, hi := time.Duration(p.MinDelayTarget)*time.Second, time.Duration(p.MaxDelayTarget)*time.Second
			for k := 1; k <= p.NumRetries; k++ {
				d, ok := p.delay(k)
				if !ok || d < 0 || d > hi || d != 0 && d < lo {
					t.Fatalf("%s: retry %d waits %v (ok %v)", s, k, d, ok)
				}
			}
			if _, ok := p.delay(p.NumRetries + 1); ok {
				t.Fatalf("%s: retry beyond numRetries", s)
			}
		}
		if p, err := parseSubDeliveryPolicy(s); err == nil {
			check(p.HealthyRetryPolicy)
			_ = effectiveDelivery("", s).String()
		}
		if p, err := parseTopicDeliveryPolicy(s); err == nil && p.HTTP != nil {
			check(p.HTTP.DefaultHealthyRetryPolicy)
			_ = effectiveTopicDeliveryPolicy(s)
		}
	})
}

// FuzzServe feeds arbitrary query strings to every action of a service
// over a mem:// broker (CreateTopic, Subscribe, Publish, ... decoding and
// checks): the answer is a 2xx XML response or an XML error, never a panic
// or a 5xx.
func FuzzServe(f *testing.F) {
	b, err := courier.Open(context.Background(), "mem://")
	if err != nil {
		f.Fatal(err)
	}
	meta, _, err := awsapi.OpenMeta(context.Background(), b)
	if err != nil {
		f.Fatal(err)
	}
	s, err := New(&awsapi.Env{Broker: b, Region: "us-east-1", AccountID: "000000000000", Meta: meta, Auth: awsapi.AllowAll{}})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = s.Close(); _ = b.Close() })
	if _, err := b.CreateTopic(context.Background(), "t"); err != nil {
		f.Fatal(err)
	}
	if _, err := b.CreateQueue(context.Background(), "q"); err != nil {
		f.Fatal(err)
	}
	arn := "arn%3Aaws%3Asns%3Aus-east-1%3A000000000000%3At"
	f.Add("Action=CreateTopic&Name=x&Attributes.entry.1.key=DisplayName&Attributes.entry.1.value=X&Tags.member.1.Key=k&Tags.member.1.Value=v")
	f.Add("Action=CreateTopic&Name=y.fifo&Attributes.entry.1.key=FifoTopic&Attributes.entry.1.value=true")
	f.Add("Action=Subscribe&TopicArn=" + arn + "&Protocol=sqs&Endpoint=arn%3Aaws%3Asqs%3Aus-east-1%3A000000000000%3Aq&Attributes.entry.1.key=FilterPolicy&Attributes.entry.1.value=%7B%22a%22%3A%5B1%5D%7D")
	f.Add("Action=Subscribe&TopicArn=" + arn + "&Protocol=courier&Endpoint=durable%3Ad&Attributes.entry.1.key=RawMessageDelivery&Attributes.entry.1.value=true")
	f.Add("Action=Publish&TopicArn=" + arn + "&Message=m&Subject=s")
	f.Add("Action=PublishBatch&TopicArn=" + arn + "&PublishBatchRequestEntries.member.1.Id=a&PublishBatchRequestEntries.member.1.Message=m")
	f.Add("Action=SetTopicAttributes&TopicArn=" + arn + "&AttributeName=DeliveryPolicy&AttributeValue=%7B%7D")
	f.Add("Action=ListSubscriptions&NextToken=abc")
	f.Add("Action=ConfirmSubscription&TopicArn=" + arn + "&Token=x")
	f.Add("Action=Nope")
	f.Fuzz(func(t *testing.T, raw string) {
		form, err := awsapi.ParseQuery(raw, nil)
		if err != nil {
			return
		}
		if a := form.Get("Action"); a == "DeleteTopic" || a == "Unsubscribe" {
			return // keep the fixture
		}
		hr := httptest.NewRequest(http.MethodPost, "/", nil)
		w := httptest.NewRecorder()
		s.Serve(w, &awsapi.Request{HTTP: hr, Action: form.Get("Action"), Form: form, BaseURL: "http://127.0.0.1:1"})
		if w.Code >= 500 {
			t.Fatalf("%s: %d %s", raw, w.Code, w.Body)
		}
		var doc struct{ XMLName xml.Name }
		if err := xml.Unmarshal(w.Body.Bytes(), &doc); err != nil {
			t.Fatalf("%s: not XML: %s", raw, w.Body)
		}
	})
}
