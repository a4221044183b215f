package services_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	kintypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
	"go.uber.org/goleak"

	courier "github.com/courier-io/courier"
	"github.com/courier-io/courier/awsapi/awstest"
	"github.com/courier-io/courier/awsapi/services"
	snsapi "github.com/courier-io/courier/awsapi/sns"
	"github.com/courier-io/courier/server"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var ctx = context.Background()

// stack is a courier server with the four AWS services and
// authentication on, as `courier serve` runs it, and SDK clients signing
// with the access key of an identity that may do everything ("ops"), and
// one of an identity that may only publish to queue:orders ("writer").
type stack struct {
	url         string
	b           *courier.Broker
	sqs, writer *sqs.Client
	sns         *sns.Client
	events      *eventbridge.Client
	kinesis     *kinesis.Client
}

func newStack(t *testing.T) *stack {
	t.Helper()
	b, err := courier.Open(ctx, "file://"+t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	aws := server.AWSConfig{
		AccessKeys: []server.AWSAccessKey{
			{ID: "AKIDOPS", Secret: "secret-of-ops", Identity: "ops"},
			{ID: "AKIDWRITER", Secret: "secret-of-writer", Identity: "writer"},
		},
		Services: services.All(),
	}
	srv := server.New(b,
		server.WithIdentities(
			server.Identity{Name: "ops", TokenHash: server.HashToken("token-of-the-ops-identity"),
				Allow: []server.Grant{{Actions: []server.Action{server.ActionAdmin}, Resource: "*"}}},
			server.Identity{Name: "writer", TokenHash: server.HashToken("token-of-the-writer-identity"),
				Allow: []server.Grant{{Actions: []server.Action{server.ActionPublish}, Resource: "queue:orders"}}},
		),
		server.WithAWS(aws))
	if err := srv.Err(); err != nil {
		t.Fatal(err)
	}
	// As courier serve serves: HTTP/1.1 and HTTP/2 without TLS (h2c),
	// which SDKs that speak HTTP/2 to Kinesis need.
	hs := httptest.NewUnstartedServer(srv)
	hs.Config = srv.HTTPServer()
	hs.Start()
	t.Cleanup(func() {
		hs.Close()
		srv.Drain()
		_ = b.Close()
	})
	st := &stack{url: hs.URL, b: b}
	ops, writer := awstest.Config("AKIDOPS", "secret-of-ops"), awstest.Config("AKIDWRITER", "secret-of-writer")
	st.sqs = sqs.NewFromConfig(ops, func(o *sqs.Options) { o.BaseEndpoint = &st.url })
	st.writer = sqs.NewFromConfig(writer, func(o *sqs.Options) { o.BaseEndpoint = &st.url })
	st.sns = sns.NewFromConfig(ops, func(o *sns.Options) { o.BaseEndpoint = &st.url })
	st.events = eventbridge.NewFromConfig(ops, func(o *eventbridge.Options) { o.BaseEndpoint = &st.url })
	st.kinesis = kinesis.NewFromConfig(ops, func(o *kinesis.Options) { o.BaseEndpoint = &st.url })
	return st
}

// queue creates an SQS queue and returns its URL and ARN.
func (st *stack) queue(t *testing.T, name string) (string, string) {
	t.Helper()
	out, err := st.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	attrs, err := st.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: out.QueueUrl,
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatal(err)
	}
	return *out.QueueUrl, attrs.Attributes["QueueArn"]
}

// receiveOne long-polls url for one message and deletes it.
func (st *stack) receiveOne(t *testing.T, url string) sqstypes.Message {
	t.Helper()
	out, err := st.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), WaitTimeSeconds: 5,
		MessageAttributeNames: []string{"All"}, MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{"All"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Messages) != 1 {
		t.Fatalf("received %d messages from %s; want 1", len(out.Messages), url)
	}
	m := out.Messages[0]
	if _, err := st.sqs.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestSNSToSQS publishes through SNS to two SQS queues, one with raw
// delivery, and reads both through SQS as an AWS application would: the
// signed SNS notification JSON, and the raw body with its attributes.
func TestSNSToSQS(t *testing.T) {
	st := newStack(t)
	envURL, envARN := st.queue(t, "notifications")
	rawURL, rawARN := st.queue(t, "raw")
	topic, err := st.sns.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("orders")})
	if err != nil {
		t.Fatal(err)
	}
	sub, err := st.sns.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("sqs"), Endpoint: aws.String(envARN), ReturnSubscriptionArn: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.sns.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("sqs"), Endpoint: aws.String(rawARN),
		Attributes: map[string]string{"RawMessageDelivery": "true"}}); err != nil {
		t.Fatal(err)
	}
	attrs := map[string]snstypes.MessageAttributeValue{
		"region": {DataType: aws.String("String"), StringValue: aws.String("eu")},
		"amount": {DataType: aws.String("Number"), StringValue: aws.String("42.5")},
	}
	pub, err := st.sns.Publish(ctx, &sns.PublishInput{TopicArn: topic.TopicArn, Message: aws.String(`{"order":1}`), Subject: aws.String("New order"), MessageAttributes: attrs})
	if err != nil {
		t.Fatal(err)
	}

	// The SDK checks MD5OfBody of every message it receives.
	m := st.receiveOne(t, envURL)
	var note map[string]any
	if err := json.Unmarshal([]byte(*m.Body), &note); err != nil {
		t.Fatalf("notification is not JSON: %v: %s", err, *m.Body)
	}
	for k, want := range map[string]string{"Type": "Notification", "MessageId": *pub.MessageId, "TopicArn": *topic.TopicArn,
		"Subject": "New order", "Message": `{"order":1}`, "SignatureVersion": "1"} {
		if note[k] != want {
			t.Errorf("notification %s = %v; want %q", k, note[k], want)
		}
	}
	if u, _ := note["UnsubscribeURL"].(string); u == "" || !strings.Contains(u, url.QueryEscape(*sub.SubscriptionArn)) && !strings.Contains(u, *sub.SubscriptionArn) {
		t.Errorf("UnsubscribeURL %q does not name the subscription %s", u, *sub.SubscriptionArn)
	}
	if ma, _ := note["MessageAttributes"].(map[string]any); ma["amount"] == nil || ma["region"] == nil {
		t.Errorf("notification attributes = %v", note["MessageAttributes"])
	}
	if len(m.MessageAttributes) != 0 {
		t.Errorf("a notification carries SQS message attributes: %v", m.MessageAttributes)
	}
	fields := map[string]string{}
	for k, v := range note {
		if s, ok := v.(string); ok {
			fields[k] = s
		}
	}
	resp, err := http.Get(st.url + snsapi.SigningCertPath)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err := snsapi.VerifySignature(fields, cert); err != nil {
		t.Errorf("the notification's signature does not verify with the served certificate: %v", err)
	}

	raw := st.receiveOne(t, rawURL)
	if *raw.Body != `{"order":1}` {
		t.Errorf("raw body %q", *raw.Body)
	}
	if a := raw.MessageAttributes["amount"]; a.DataType == nil || *a.DataType != "Number" || *a.StringValue != "42.5" {
		t.Errorf("raw delivery attributes = %v", raw.MessageAttributes)
	}
}

// TestEventBridgeTargets routes one event by a rule to an SQS queue
// (through an input transformer) and a Kinesis stream.
func TestEventBridgeTargets(t *testing.T) {
	st := newStack(t)
	qURL, qARN := st.queue(t, "audit")
	if _, err := st.kinesis.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("events"), ShardCount: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	stream, err := st.kinesis.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("events")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.events.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("big-orders"),
		EventPattern: aws.String(`{"source":["shop"],"detail":{"amount":[{"numeric":[">",100]}]}}`)}); err != nil {
		t.Fatal(err)
	}
	out, err := st.events.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("big-orders"), Targets: []ebtypes.Target{
		{Id: aws.String("audit"), Arn: aws.String(qARN), InputTransformer: &ebtypes.InputTransformer{
			InputPathsMap: map[string]string{"id": "$.detail.id"}, InputTemplate: aws.String(`{"order": <id>}`)}},
		{Id: aws.String("stream"), Arn: stream.StreamDescriptionSummary.StreamARN, KinesisParameters: &ebtypes.KinesisParameters{PartitionKeyPath: aws.String("$.detail.id")}},
	}})
	if err != nil || out.FailedEntryCount != 0 {
		t.Fatalf("PutTargets: %v %+v", err, out)
	}
	put, err := st.events.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{
		{Source: aws.String("shop"), DetailType: aws.String("Order Placed"), Detail: aws.String(`{"id":7,"amount":250}`)},
		{Source: aws.String("shop"), DetailType: aws.String("Order Placed"), Detail: aws.String(`{"id":8,"amount":5}`)},
	}})
	if err != nil || put.FailedEntryCount != 0 {
		t.Fatalf("PutEvents: %v %+v", err, put)
	}
	if m := st.receiveOne(t, qURL); *m.Body != `{"order": 7}` {
		t.Errorf("SQS target got %q", *m.Body)
	}
	shards, err := st.kinesis.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String("events")})
	if err != nil {
		t.Fatal(err)
	}
	it, err := st.kinesis.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("events"),
		ShardId: shards.Shards[0].ShardId, ShardIteratorType: kintypes.ShardIteratorTypeTrimHorizon})
	if err != nil {
		t.Fatal(err)
	}
	var records []kintypes.Record
	for iter, deadline := it.ShardIterator, time.Now().Add(10*time.Second); len(records) == 0 && time.Now().Before(deadline); {
		got, err := st.kinesis.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter})
		if err != nil {
			t.Fatal(err)
		}
		records, iter = append(records, got.Records...), got.NextShardIterator
	}
	if len(records) != 1 {
		t.Fatalf("stream target got %d records; want 1", len(records))
	}
	var ev struct {
		Source, Account, Region string
		Detail                  struct{ ID int }
	}
	if err := json.Unmarshal(records[0].Data, &ev); err != nil || ev.Source != "shop" || ev.Detail.ID != 7 ||
		ev.Account != "000000000000" || ev.Region != "us-east-1" || *records[0].PartitionKey != "7" {
		t.Errorf("stream record %s (key %s): %+v %v", records[0].Data, *records[0].PartitionKey, ev, err)
	}
}

// TestNativeInterop sends through SQS and receives through courier's Go
// API, and the other way round: attributes are headers.
func TestNativeInterop(t *testing.T) {
	st := newStack(t)
	url, _ := st.queue(t, "orders")
	if _, err := st.sqs.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("from sqs"),
		MessageAttributes: map[string]sqstypes.MessageAttributeValue{"region": {DataType: aws.String("String"), StringValue: aws.String("eu")}}}); err != nil {
		t.Fatal(err)
	}
	ds, err := st.b.Queue("orders").Receive(ctx, courier.Wait(5*time.Second))
	if err != nil || len(ds) != 1 || string(ds[0].Body) != "from sqs" || ds[0].Headers["region"] != "eu" {
		t.Fatalf("courier received %v, %v", ds, err)
	}
	if err := ds[0].Ack(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := st.b.Queue("orders").Send(ctx, courier.Message{Body: []byte("from courier"), Headers: map[string]string{"tenant": "acme"}}); err != nil {
		t.Fatal(err)
	}
	m := st.receiveOne(t, url)
	if *m.Body != "from courier" || m.MessageAttributes["tenant"].StringValue == nil || *m.MessageAttributes["tenant"].StringValue != "acme" {
		t.Errorf("SQS received %q %v", *m.Body, m.MessageAttributes)
	}
}

// TestGrantsApply checks that an access key can do what its identity's
// grants allow and nothing else.
func TestGrantsApply(t *testing.T) {
	st := newStack(t)
	url, _ := st.queue(t, "orders")
	if _, err := st.writer.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("m")}); err != nil {
		t.Fatalf("writer may publish to orders: %v", err)
	}
	for name, call := range map[string]func() error{
		"receive": func() error {
			_, err := st.writer.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url)})
			return err
		},
		"create queue": func() error {
			_, err := st.writer.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("other")})
			return err
		},
		"list queues": func() error { _, err := st.writer.ListQueues(ctx, &sqs.ListQueuesInput{}); return err },
	} {
		var ae smithy.APIError
		if err := call(); !errors.As(err, &ae) || !slices.Contains([]string{"AccessDenied", "AccessDeniedException"}, ae.ErrorCode()) {
			t.Errorf("writer %s: %v; want AccessDenied", name, err)
		}
	}
	if n, err := st.b.Queue("orders").Info(ctx); err != nil || n.Stats.Visible != 1 {
		t.Errorf("orders after the refused calls: %+v, %v", n.Stats, err)
	}
}
