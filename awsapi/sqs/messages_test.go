package sqs

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	courier "github.com/courier-io/courier"
	"github.com/courier-io/courier/awsapi"
	"github.com/courier-io/courier/awsapi/awstest"
	"github.com/courier-io/courier/awsapi/gateway"
)

// TestMD5OfAttributesVectors checks the attribute digest against values
// published by other SQS implementations that are verified by AWS SDKs.
func TestMD5OfAttributesVectors(t *testing.T) {
	for want, attrs := range map[string]map[string]awsapi.MessageAttribute{
		"cd28f3b68aeee4b2eac9c66f2f694b58": {"SellerName": {DataType: "String", StringValue: "Example Store"}},
		"d21ae90c49061e927f57df5f5d72be1f": {"ordinal": {DataType: "Number", StringValue: "1"}, "category": {DataType: "String", StringValue: "test"}},
	} {
		if got := awsapi.MD5OfAttributes(attrs); got != want {
			t.Errorf("MD5OfAttributes(%v) = %s, want %s", attrs, got, want)
		}
	}
}

func TestSendReceiveDelete(t *testing.T) {
	te := newEnv(t)
	ctx := context.Background()
	qurl := te.createQueue("q", nil)
	attrs := map[string]types.MessageAttributeValue{
		"color":  {DataType: aws.String("String"), StringValue: aws.String("blue")},
		"weight": {DataType: aws.String("Number.float"), StringValue: aws.String("1.5")},
		"blob":   {DataType: aws.String("Binary"), BinaryValue: []byte{0, 1, 2, 255}},
	}
	body := "héllo \U0001F600\t\r\n"
	sent, err := te.c.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl: aws.String(qurl), MessageBody: aws.String(body), MessageAttributes: attrs,
		MessageSystemAttributes: map[string]types.MessageSystemAttributeValue{"AWSTraceHeader": {DataType: aws.String("String"), StringValue: aws.String("Root=1-abc")}},
	})
	if err != nil {
		t.Fatal(err) // the SDK verifies MD5OfMessageBody
	}
	wantAttrMD5 := awsapi.MD5OfAttributes(map[string]awsapi.MessageAttribute{
		"color": {DataType: "String", StringValue: "blue"}, "weight": {DataType: "Number.float", StringValue: "1.5"},
		"blob": {DataType: "Binary", BinaryValue: []byte{0, 1, 2, 255}},
	})
	if aws.ToString(sent.MD5OfMessageAttributes) != wantAttrMD5 || sent.MD5OfMessageSystemAttributes == nil || sent.SequenceNumber != nil {
		t.Fatalf("send result: %+v", sent)
	}
	// A courier consumer sees the attributes as headers.
	peek, err := te.b.Queue("q").Peek(ctx, 1)
	if err != nil || peek[0].Headers["color"] != "blue" {
		t.Fatalf("courier headers: %v %v", peek, err)
	}

	got, err := te.c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl: aws.String(qurl), MessageAttributeNames: []string{"All"},
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{"All"},
	})
	if err != nil || len(got.Messages) != 1 {
		t.Fatalf("receive: %v %v", got, err)
	}
	m := got.Messages[0]
	if *m.Body != body || *m.MessageId != *sent.MessageId || aws.ToString(m.MD5OfMessageAttributes) != wantAttrMD5 {
		t.Fatalf("message: %+v", m)
	}
	if string(m.MessageAttributes["blob"].BinaryValue) != "\x00\x01\x02\xff" || *m.MessageAttributes["weight"].DataType != "Number.float" {
		t.Fatalf("attributes: %+v", m.MessageAttributes)
	}
	for _, k := range []string{"SenderId", "SentTimestamp", "ApproximateReceiveCount", "ApproximateFirstReceiveTimestamp", "AWSTraceHeader"} {
		if m.Attributes[k] == "" {
			t.Errorf("system attribute %s missing: %v", k, m.Attributes)
		}
	}
	if m.Attributes["AWSTraceHeader"] != "Root=1-abc" || m.Attributes["ApproximateReceiveCount"] != "1" {
		t.Fatalf("system attributes: %v", m.Attributes)
	}
	// Stale handle: after the message was received again, deleting with
	// the old handle succeeds and deletes nothing (as AWS documents).
	if _, err := te.c.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(qurl), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0}); err != nil {
		t.Fatal(err)
	}
	again, err := te.c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(qurl), MessageAttributeNames: []string{"color", "we.*"}, AttributeNames: []types.QueueAttributeName{"ApproximateReceiveCount"}})
	if err != nil || len(again.Messages) != 1 {
		t.Fatalf("receive again: %v %v", again, err)
	}
	m2 := again.Messages[0]
	if len(m2.MessageAttributes) != 1 || m2.Attributes["ApproximateReceiveCount"] != "2" || len(m2.Attributes) != 1 {
		t.Fatalf("filtered receive: %+v", m2)
	}
	if _, err := te.c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(qurl), ReceiptHandle: m.ReceiptHandle}); err != nil {
		t.Fatalf("stale delete: %v", err)
	}
	if a := te.attrs(qurl); a["ApproximateNumberOfMessagesNotVisible"] != "1" {
		t.Fatalf("stale delete deleted: %v", a)
	}
	_, err = te.c.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(qurl), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 10})
	awstest.WantCode(t, err, "InvalidParameterValue")
	if _, err := te.c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(qurl), ReceiptHandle: m2.ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
	if a := te.attrs(qurl); a["ApproximateNumberOfMessagesNotVisible"] != "0" || a["ApproximateNumberOfMessages"] != "0" {
		t.Fatalf("after delete: %v", a)
	}
	// Handles this endpoint did not issue, or of another queue.
	other := te.createQueue("other", nil)
	for _, h := range []string{"garbage", *m2.ReceiptHandle} {
		_, err = te.c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(other), ReceiptHandle: aws.String(h)})
		var rhi *types.ReceiptHandleIsInvalid
		if !errors.As(err, &rhi) {
			t.Fatalf("delete with handle %.20q: %v", h, err)
		}
	}
}

func TestMessageValidation(t *testing.T) {
	te := newEnv(t)
	ctx := context.Background()
	qurl := te.createQueue("q", map[string]string{"MaximumMessageSize": "1024"})
	send := func(in *sqs.SendMessageInput) error {
		in.QueueUrl = aws.String(qurl)
		_, err := te.c.SendMessage(ctx, in)
		return err
	}
	err := send(&sqs.SendMessageInput{MessageBody: aws.String("bad \x01 char")})
	var imc *types.InvalidMessageContents
	if !errors.As(err, &imc) {
		t.Fatalf("control character: %v", err)
	}
	awstest.WantCode(t, send(&sqs.SendMessageInput{MessageBody: aws.String(strings.Repeat("x", 1025))}), "InvalidParameterValue")
	awstest.WantCode(t, send(&sqs.SendMessageInput{MessageBody: aws.String(strings.Repeat("x", 1000)),
		MessageAttributes: map[string]types.MessageAttributeValue{"a": {DataType: aws.String("String"), StringValue: aws.String(strings.Repeat("v", 30))}}}), "InvalidParameterValue")
	awstest.WantCode(t, send(&sqs.SendMessageInput{MessageBody: aws.String("")}), "MissingParameter")
	awstest.WantCode(t, send(&sqs.SendMessageInput{MessageBody: aws.String("x"), DelaySeconds: 901}), "InvalidParameterValue")
	awstest.WantCode(t, send(&sqs.SendMessageInput{MessageBody: aws.String("x"), MessageDeduplicationId: aws.String("d")}), "InvalidParameterValue")
	awstest.WantCode(t, send(&sqs.SendMessageInput{MessageBody: aws.String("x"),
		MessageAttributes: map[string]types.MessageAttributeValue{"AWS.x": {DataType: aws.String("String"), StringValue: aws.String("v")}}}), "InvalidParameterValue")
	awstest.WantCode(t, send(&sqs.SendMessageInput{MessageBody: aws.String("x"),
		MessageAttributes: map[string]types.MessageAttributeValue{"n": {DataType: aws.String("Number"), StringValue: aws.String("one")}}}), "InvalidParameterValue")
	awstest.WantCode(t, send(&sqs.SendMessageInput{MessageBody: aws.String("x"),
		MessageSystemAttributes: map[string]types.MessageSystemAttributeValue{"Other": {DataType: aws.String("String"), StringValue: aws.String("v")}}}), "InvalidParameterValue")
	if a := te.attrs(qurl); a["ApproximateNumberOfMessages"] != "0" {
		t.Fatalf("refused sends stored messages: %v", a)
	}
	for _, in := range []*sqs.ReceiveMessageInput{
		{MaxNumberOfMessages: 11}, {WaitTimeSeconds: 21}, {VisibilityTimeout: 43201},
	} {
		in.QueueUrl = aws.String(qurl)
		_, err := te.c.ReceiveMessage(ctx, in)
		awstest.WantCode(t, err, "InvalidParameterValue")
	}
	_, err = te.c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(qurl), MessageSystemAttributeNames: []types.MessageSystemAttributeName{"Bogus"}})
	awstest.WantCode(t, err, "InvalidAttributeName")
	_, err = te.c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(te.url + "/000000000000/missing")})
	var dne *types.QueueDoesNotExist
	if !errors.As(err, &dne) {
		t.Fatalf("receive from a missing queue: %v", err)
	}
	_, err = te.c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(te.url + "/111111111111/q")})
	if !errors.As(err, &dne) {
		t.Fatalf("receive from another account's queue: %v", err)
	}
}

func TestReceiveVisibilityZeroAndDelay(t *testing.T) {
	te := newEnv(t)
	ctx := context.Background()
	qurl := te.createQueue("q", nil)
	if _, err := te.c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(qurl), MessageBody: aws.String("x")}); err != nil {
		t.Fatal(err)
	}
	// The SDK leaves a zero VisibilityTimeout out, so send it raw: a
	// message received with visibility 0 is visible again at once.
	for i := range 2 {
		resp, body := te.post("/", "ReceiveMessage", `{"QueueUrl":"`+qurl+`","VisibilityTimeout":0}`)
		if resp.StatusCode != 200 || !strings.Contains(body, `"Body":"x"`) {
			t.Fatalf("receive %d with visibility 0: %d %s", i, resp.StatusCode, body)
		}
	}
	if _, err := te.c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(qurl), MessageBody: aws.String("later"), DelaySeconds: 600}); err != nil {
		t.Fatal(err)
	}
	if a := te.attrs(qurl); a["ApproximateNumberOfMessagesDelayed"] != "1" {
		t.Fatalf("delayed: %v", a)
	}
}

// consumeSignal allows everything and signals each Consume check: the
// receive handler authorizes just before it starts to poll.
type consumeSignal chan struct{}

func (c consumeSignal) Authorize(_ context.Context, perm awsapi.Permission, _, _ string) error {
	if perm == awsapi.Consume {
		c <- struct{}{}
	}
	return nil
}

func TestLongPoll(t *testing.T) {
	polling := make(consumeSignal, 1)
	te := newEnv(t, func(cfg *gateway.Config, _ *awsapi.Env) {
		if cfg != nil {
			cfg.Authorizer = polling
		}
	})
	ctx := context.Background()
	qurl := te.createQueue("q", map[string]string{"ReceiveMessageWaitTimeSeconds": "20"})
	type result struct {
		out *sqs.ReceiveMessageOutput
		err error
	}
	done := make(chan result, 1)
	go func() {
		out, err := te.c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(qurl)}) // the queue's 20s wait
		done <- result{out, err}
	}()
	// Wait until the receive is about to poll, then send: the send must
	// wake it.
	<-polling
	startedAt := time.Now()
	if _, err := te.c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(qurl), MessageBody: aws.String("wake")}); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		if r.err != nil || len(r.out.Messages) != 1 || *r.out.Messages[0].Body != "wake" {
			t.Fatalf("long poll: %v %v", r.out, r.err)
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("long poll was not woken by the send after %v", time.Since(startedAt))
	}

	// A long poll ends when the request's context does.
	cctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	began := time.Now()
	go func() { <-polling }()
	_, err := te.c.ReceiveMessage(cctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(qurl), WaitTimeSeconds: 20})
	if err == nil || time.Since(began) > 10*time.Second {
		t.Fatalf("cancelled long poll: %v after %v", err, time.Since(began))
	}
}

func TestBatches(t *testing.T) {
	te := newEnv(t)
	ctx := context.Background()
	qurl := te.createQueue("q", nil)
	entry := func(id, body string) types.SendMessageBatchRequestEntry {
		return types.SendMessageBatchRequestEntry{Id: aws.String(id), MessageBody: aws.String(body)}
	}
	out, err := te.c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(qurl), Entries: []types.SendMessageBatchRequestEntry{
		entry("a", "one"), entry("b", "bad\x00"), entry("c", "three"),
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Successful) != 2 || len(out.Failed) != 1 || *out.Failed[0].Id != "b" || !out.Failed[0].SenderFault || *out.Failed[0].Code != "InvalidMessageContents" {
		t.Fatalf("partial batch: %+v", out)
	}
	for _, tc := range []struct {
		entries []types.SendMessageBatchRequestEntry
		code    string
	}{
		{[]types.SendMessageBatchRequestEntry{}, "AWS.SimpleQueueService.EmptyBatchRequest"},
		{[]types.SendMessageBatchRequestEntry{entry("a", "1"), entry("a", "2")}, "AWS.SimpleQueueService.BatchEntryIdsNotDistinct"},
		{[]types.SendMessageBatchRequestEntry{entry("a b", "1")}, "AWS.SimpleQueueService.InvalidBatchEntryId"},
		{[]types.SendMessageBatchRequestEntry{entry("a", strings.Repeat("x", 600<<10)), entry("b", strings.Repeat("x", 600<<10))}, "AWS.SimpleQueueService.BatchRequestTooLong"},
	} {
		_, err := te.c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(qurl), Entries: tc.entries})
		awstest.WantCode(t, err, tc.code)
	}
	var eleven []types.SendMessageBatchRequestEntry
	for i := range 11 {
		eleven = append(eleven, entry(string(rune('a'+i)), "x"))
	}
	_, err = te.c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(qurl), Entries: eleven})
	var tm *types.TooManyEntriesInBatchRequest
	if !errors.As(err, &tm) {
		t.Fatalf("11 entries: %v", err)
	}
	if a := te.attrs(qurl); a["ApproximateNumberOfMessages"] != "2" {
		t.Fatalf("refused batches stored messages: %v", a)
	}

	got, err := te.c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(qurl), MaxNumberOfMessages: 10})
	if err != nil || len(got.Messages) != 2 {
		t.Fatalf("receive: %v %v", got, err)
	}
	cv, err := te.c.ChangeMessageVisibilityBatch(ctx, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: aws.String(qurl), Entries: []types.ChangeMessageVisibilityBatchRequestEntry{
		{Id: aws.String("x"), ReceiptHandle: got.Messages[0].ReceiptHandle, VisibilityTimeout: 60},
		{Id: aws.String("y"), ReceiptHandle: aws.String("nope"), VisibilityTimeout: 60},
	}})
	if err != nil || len(cv.Successful) != 1 || len(cv.Failed) != 1 || *cv.Failed[0].Code != "ReceiptHandleIsInvalid" {
		t.Fatalf("change visibility batch: %+v %v", cv, err)
	}
	del, err := te.c.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(qurl), Entries: []types.DeleteMessageBatchRequestEntry{
		{Id: aws.String("x"), ReceiptHandle: got.Messages[0].ReceiptHandle},
		{Id: aws.String("y"), ReceiptHandle: got.Messages[1].ReceiptHandle},
		{Id: aws.String("z"), ReceiptHandle: aws.String("nope")},
	}})
	if err != nil || len(del.Successful) != 2 || len(del.Failed) != 1 || *del.Failed[0].Id != "z" || *del.Failed[0].Code != "ReceiptHandleIsInvalid" {
		t.Fatalf("delete batch: %+v %v", del, err)
	}
	if a := te.attrs(qurl); a["ApproximateNumberOfMessages"] != "0" || a["ApproximateNumberOfMessagesNotVisible"] != "0" {
		t.Fatalf("after delete batch: %v", a)
	}
}

func TestFIFO(t *testing.T) {
	te := newEnv(t)
	ctx := context.Background()
	qurl := te.createQueue("f.fifo", map[string]string{"FifoQueue": "true"})
	send := func(group, dedup, body string) *sqs.SendMessageOutput {
		t.Helper()
		out, err := te.c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(qurl), MessageBody: aws.String(body), MessageGroupId: aws.String(group), MessageDeduplicationId: aws.String(dedup)})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	first := send("g", "1", "a")
	send("g", "2", "b")
	dup := send("g", "1", "a-again")
	if *dup.MessageId != *first.MessageId || *dup.SequenceNumber != *first.SequenceNumber || first.SequenceNumber == nil {
		t.Fatalf("duplicate send: %+v vs %+v", dup, first)
	}
	_, err := te.c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(qurl), MessageBody: aws.String("x"), MessageDeduplicationId: aws.String("z")})
	awstest.WantCode(t, err, "MissingParameter")
	_, err = te.c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(qurl), MessageBody: aws.String("x"), MessageGroupId: aws.String("g")})
	awstest.WantCode(t, err, "InvalidParameterValue") // no dedup id, no content-based dedup
	_, err = te.c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(qurl), MessageBody: aws.String("x"), MessageGroupId: aws.String("g"), MessageDeduplicationId: aws.String("q"), DelaySeconds: 5})
	awstest.WantCode(t, err, "InvalidParameterValue")

	// In order within the group, one group in flight at a time.
	got, err := te.c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(qurl), MaxNumberOfMessages: 1, MessageSystemAttributeNames: []types.MessageSystemAttributeName{"All"}})
	if err != nil || len(got.Messages) != 1 || *got.Messages[0].Body != "a" {
		t.Fatalf("first: %v %v", got, err)
	}
	a := got.Messages[0].Attributes
	if a["MessageGroupId"] != "g" || a["MessageDeduplicationId"] != "1" || a["SequenceNumber"] != *first.SequenceNumber {
		t.Fatalf("fifo attributes: %v", a)
	}
	none, err := te.c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(qurl)})
	if err != nil || len(none.Messages) != 0 {
		t.Fatalf("group in flight, got %v %v", none, err)
	}
	if _, err := te.c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(qurl), ReceiptHandle: got.Messages[0].ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
	next, err := te.c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(qurl), MaxNumberOfMessages: 10})
	if err != nil || len(next.Messages) != 1 || *next.Messages[0].Body != "b" {
		t.Fatalf("second: %v %v", next, err)
	}
}

func TestFIFODedupScopes(t *testing.T) {
	te := newEnv(t)
	ctx := context.Background()
	count := func(qurl string, sends [][2]string) string {
		t.Helper()
		for _, s := range sends {
			if _, err := te.c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(qurl), MessageBody: aws.String("same body"), MessageGroupId: aws.String(s[0]), MessageDeduplicationId: aws.String(s[1])}); err != nil {
				t.Fatal(err)
			}
		}
		return te.attrs(qurl)["ApproximateNumberOfMessages"]
	}
	sends := [][2]string{{"g1", "d"}, {"g2", "d"}, {"g1", "d"}}
	if n := count(te.createQueue("q.fifo", map[string]string{"FifoQueue": "true"}), sends); n != "1" {
		t.Fatalf("queue scope kept %s messages, want 1", n)
	}
	qg := te.createQueue("g.fifo", map[string]string{"FifoQueue": "true", "DeduplicationScope": "messageGroup"})
	if n := count(qg, sends); n != "2" {
		t.Fatalf("messageGroup scope kept %s messages, want 2", n)
	}
	got, err := te.c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(qg), MaxNumberOfMessages: 10, MessageSystemAttributeNames: []types.MessageSystemAttributeName{"MessageDeduplicationId"}})
	if err != nil || len(got.Messages) != 2 || got.Messages[0].Attributes["MessageDeduplicationId"] != "d" {
		t.Fatalf("messageGroup receive: %+v %v", got, err)
	}
	// Content-based dedup: the SHA-256 of the body.
	qc := te.createQueue("c.fifo", map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "true"})
	for range 2 {
		if _, err := te.c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(qc), MessageBody: aws.String("same"), MessageGroupId: aws.String("g")}); err != nil {
			t.Fatal(err)
		}
	}
	if n := te.attrs(qc)["ApproximateNumberOfMessages"]; n != "1" {
		t.Fatalf("content-based dedup kept %s", n)
	}
}

func TestReceiveRequestAttemptID(t *testing.T) {
	te := newEnv(t)
	ctx := context.Background()
	qurl := te.createQueue("f.fifo", map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "true"})
	for _, b := range []string{"1", "2"} {
		if _, err := te.c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(qurl), MessageBody: aws.String(b), MessageGroupId: aws.String("g")}); err != nil {
			t.Fatal(err)
		}
	}
	recv := func(attempt string) *sqs.ReceiveMessageOutput {
		t.Helper()
		out, err := te.c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(qurl), MaxNumberOfMessages: 1, ReceiveRequestAttemptId: aws.String(attempt)})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	first := recv("attempt-1")
	retry := recv("attempt-1")
	if len(first.Messages) != 1 || len(retry.Messages) != 1 || *retry.Messages[0].ReceiptHandle != *first.Messages[0].ReceiptHandle || *retry.Messages[0].MessageId != *first.Messages[0].MessageId {
		t.Fatalf("retry of an attempt: %+v vs %+v", retry, first)
	}
	if other := recv("attempt-2"); len(other.Messages) != 0 {
		t.Fatalf("a new attempt while the group is in flight got %v", other.Messages)
	}
	// Once deleted, a retry of the attempt receives anew.
	if _, err := te.c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(qurl), ReceiptHandle: first.Messages[0].ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
	if again := recv("attempt-1"); len(again.Messages) != 1 || *again.Messages[0].Body != "2" {
		t.Fatalf("attempt after delete: %+v", again)
	}
}

// fakeRenderer renders every delivery of queue "notified" as a
// notification.
type fakeRenderer struct{}

func (fakeRenderer) RenderNotification(baseURL, queue string, d *courier.Delivery) ([]byte, bool) {
	if queue != "notified" {
		return nil, false
	}
	return []byte(`{"Type":"Notification","Message":"` + string(d.Body) + `","UnsubscribeURL":"` + baseURL + `/x"}`), true
}

func TestNotificationRenderer(t *testing.T) {
	te := newEnv(t, func(_ *gateway.Config, env *awsapi.Env) {
		if env != nil {
			env.Notifications = fakeRenderer{}
		}
	})
	ctx := context.Background()
	for _, name := range []string{"notified", "plain"} {
		qurl := te.createQueue(name, nil)
		if _, err := te.c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(qurl), MessageBody: aws.String("hi"),
			MessageAttributes: map[string]types.MessageAttributeValue{"a": {DataType: aws.String("String"), StringValue: aws.String("v")}}}); err != nil {
			t.Fatal(err)
		}
		got, err := te.c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(qurl), MessageAttributeNames: []string{"All"}})
		if err != nil || len(got.Messages) != 1 {
			t.Fatal(got, err)
		}
		m := got.Messages[0]
		if name == "notified" && (!strings.HasPrefix(*m.Body, `{"Type":"Notification","Message":"hi"`) || len(m.MessageAttributes) != 0 || !strings.Contains(*m.Body, te.url)) {
			t.Fatalf("notification: %q %v", *m.Body, m.MessageAttributes)
		}
		if name == "plain" && (*m.Body != "hi" || len(m.MessageAttributes) != 1) {
			t.Fatalf("plain: %q %v", *m.Body, m.MessageAttributes)
		}
	}
}

// TestAttemptCacheBounded: remembered receive attempts are forgotten once
// expired, not only when maxAttempts of them pile up, and the messages
// they hold stay under maxAttemptBytes.
func TestAttemptCacheBounded(t *testing.T) {
	te := newEnv(t)
	s := te.svc
	now := time.Unix(1_700_000_000, 0)
	s.now = func() time.Time { return now }
	big := strings.Repeat("x", 1<<20)
	msgs := func() []message {
		ms := make([]message, 10)
		for i := range ms {
			ms[i] = message{MessageId: "id", ReceiptHandle: "rh", Body: big}
		}
		return ms
	}
	receipts := make([]string, 10)
	for i := range 3 {
		s.rememberAttempt(fmt.Sprint("q\x00old-", i), msgs()[:1], receipts[:1])
	}
	now = now.Add(attemptWindow + time.Minute)
	s.rememberAttempt("q\x00new", msgs()[:1], receipts[:1])
	s.mu.Lock()
	n := len(s.attempts)
	s.mu.Unlock()
	if n != 1 {
		t.Fatalf("%d attempts remembered after the others expired; want 1", n)
	}
	for i := range 20 {
		s.rememberAttempt(fmt.Sprint("q\x00big-", i), msgs(), receipts)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	held := 0
	for _, e := range s.attempts {
		for _, m := range e.msgs {
			held += len(m.Body)
		}
	}
	if held > maxAttemptBytes {
		t.Fatalf("remembered attempts hold %d bytes of messages; the limit is %d", held, maxAttemptBytes)
	}
	if _, ok := s.attempts["q\x00big-19"]; !ok {
		t.Fatal("the newest attempt was not remembered")
	}
}
