package sqs

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	courier "github.com/courier-io/courier"
	"github.com/courier-io/courier/awsapi/awstest"
)

func TestQueueLifecycle(t *testing.T) {
	te := newEnv(t)
	ctx := context.Background()
	out, err := te.c.CreateQueue(ctx, &sqs.CreateQueueInput{
		QueueName:  aws.String("orders"),
		Attributes: map[string]string{"VisibilityTimeout": "45", "DelaySeconds": "2", "MaximumMessageSize": "2048", "Policy": `{"Version":"2012-10-17"}`},
		Tags:       map[string]string{"team": "core", "env": "test"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := te.url + "/000000000000/orders"
	if *out.QueueUrl != want {
		t.Fatalf("QueueUrl %s, want %s", *out.QueueUrl, want)
	}
	a := te.attrs(want)
	for k, v := range map[string]string{
		"VisibilityTimeout": "45", "DelaySeconds": "2", "MaximumMessageSize": "2048", "MessageRetentionPeriod": "345600",
		"ReceiveMessageWaitTimeSeconds": "0", "QueueArn": "arn:aws:sqs:us-east-1:000000000000:orders",
		"ApproximateNumberOfMessages": "0", "Policy": `{"Version":"2012-10-17"}`, "SqsManagedSseEnabled": "false",
	} {
		if a[k] != v {
			t.Errorf("attribute %s = %q, want %q", k, a[k], v)
		}
	}
	if _, ok := a["FifoQueue"]; ok {
		t.Errorf("standard queue reports FifoQueue")
	}
	if a["CreatedTimestamp"] == "" || a["LastModifiedTimestamp"] == "" {
		t.Errorf("timestamps missing: %v", a)
	}
	// The courier queue has the attributes.
	info, err := te.b.Queue("orders").Info(ctx)
	if err != nil || info.Attributes.VisibilityTimeout != 45*time.Second || info.Attributes.MaxMessageSize != 2048 {
		t.Fatalf("courier queue: %+v, %v", info.Attributes, err)
	}

	// Idempotent with equal attributes; QueueNameExists with others.
	if _, err := te.c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("orders"), Attributes: map[string]string{"VisibilityTimeout": "45"}}); err != nil {
		t.Fatalf("re-create with equal attributes: %v", err)
	}
	_, err = te.c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("orders"), Attributes: map[string]string{"VisibilityTimeout": "46"}})
	var qne *types.QueueNameExists
	if !errors.As(err, &qne) {
		t.Fatalf("re-create with other attributes: %v, want QueueNameExists", err)
	}
	awstest.WantCode(t, err, "QueueAlreadyExists")

	// GetQueueUrl.
	u, err := te.c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("orders")})
	if err != nil || *u.QueueUrl != want {
		t.Fatalf("GetQueueUrl: %v %v", u, err)
	}
	_, err = te.c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("orders"), QueueOwnerAWSAccountId: aws.String("111111111111")})
	var dne *types.QueueDoesNotExist
	if !errors.As(err, &dne) {
		t.Fatalf("GetQueueUrl of another account: %v", err)
	}

	// SetQueueAttributes, then selected GetQueueAttributes.
	if _, err := te.c.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: aws.String(want), Attributes: map[string]string{"ReceiveMessageWaitTimeSeconds": "5", "Policy": ""}}); err != nil {
		t.Fatal(err)
	}
	got, err := te.c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(want), AttributeNames: []types.QueueAttributeName{"ReceiveMessageWaitTimeSeconds", "Policy"}})
	if err != nil || len(got.Attributes) != 1 || got.Attributes["ReceiveMessageWaitTimeSeconds"] != "5" {
		t.Fatalf("after set: %v %v", got, err)
	}

	// Tags.
	if _, err := te.c.TagQueue(ctx, &sqs.TagQueueInput{QueueUrl: aws.String(want), Tags: map[string]string{"owner": "me"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := te.c.UntagQueue(ctx, &sqs.UntagQueueInput{QueueUrl: aws.String(want), TagKeys: []string{"env"}}); err != nil {
		t.Fatal(err)
	}
	tags, err := te.c.ListQueueTags(ctx, &sqs.ListQueueTagsInput{QueueUrl: aws.String(want)})
	if err != nil || fmt.Sprint(tags.Tags) != "map[owner:me team:core]" {
		t.Fatalf("tags: %v %v", tags, err)
	}
	_, err = te.c.TagQueue(ctx, &sqs.TagQueueInput{QueueUrl: aws.String(want), Tags: map[string]string{"aws:x": "y"}})
	awstest.WantCode(t, err, "InvalidParameterValue")
	many := map[string]string{}
	for i := range 49 {
		many[fmt.Sprint("k", i)] = "v"
	}
	_, err = te.c.TagQueue(ctx, &sqs.TagQueueInput{QueueUrl: aws.String(want), Tags: many})
	awstest.WantCode(t, err, "InvalidParameterValue")

	// DeleteQueue.
	if _, err := te.c.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: aws.String(want)}); err != nil {
		t.Fatal(err)
	}
	_, err = te.c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("orders")})
	if !errors.As(err, &dne) {
		t.Fatalf("after delete: %v", err)
	}
	awstest.WantCode(t, err, "AWS.SimpleQueueService.NonExistentQueue")
	_, err = te.c.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: aws.String(want)})
	if !errors.As(err, &dne) {
		t.Fatalf("delete again: %v", err)
	}
}

func TestListQueues(t *testing.T) {
	te := newEnv(t)
	ctx := context.Background()
	for _, n := range []string{"a1", "a2", "a3", "b1"} {
		te.createQueue(n, nil)
	}
	out, err := te.c.ListQueues(ctx, &sqs.ListQueuesInput{QueueNamePrefix: aws.String("a")})
	if err != nil || len(out.QueueUrls) != 3 || out.NextToken != nil {
		t.Fatalf("prefix: %v %v", out, err)
	}
	var all []string
	p := sqs.NewListQueuesPaginator(te.c, &sqs.ListQueuesInput{MaxResults: aws.Int32(3)})
	pages := 0
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		all = append(all, page.QueueUrls...)
	}
	if pages != 2 || len(all) != 4 || !strings.HasSuffix(all[3], "/b1") {
		t.Fatalf("pages %d: %v", pages, all)
	}
	_, err = te.c.ListQueues(ctx, &sqs.ListQueuesInput{MaxResults: aws.Int32(1001)})
	awstest.WantCode(t, err, "InvalidParameterValue")
	_, err = te.c.ListQueues(ctx, &sqs.ListQueuesInput{MaxResults: aws.Int32(2), NextToken: aws.String("!!")})
	awstest.WantCode(t, err, "InvalidParameterValue")
}

func TestQueueAttributeErrors(t *testing.T) {
	te := newEnv(t)
	ctx := context.Background()
	qurl := te.createQueue("q", map[string]string{"VisibilityTimeout": "10"})
	before := te.attrs(qurl)
	cases := []struct {
		attrs map[string]string
		code  string
	}{
		{map[string]string{"Bogus": "1"}, "InvalidAttributeName"},
		{map[string]string{"VisibilityTimeout": "43201"}, "InvalidAttributeValue"},
		{map[string]string{"VisibilityTimeout": "1.5"}, "InvalidAttributeValue"},
		{map[string]string{"MaximumMessageSize": "1023"}, "InvalidAttributeValue"},
		{map[string]string{"MessageRetentionPeriod": "59"}, "InvalidAttributeValue"},
		{map[string]string{"DelaySeconds": "901"}, "InvalidAttributeValue"},
		{map[string]string{"ReceiveMessageWaitTimeSeconds": "21"}, "InvalidAttributeValue"},
		{map[string]string{"KmsMasterKeyId": "alias/aws/sqs"}, "InvalidAttributeValue"},
		{map[string]string{"KmsDataKeyReusePeriodSeconds": "59"}, "InvalidAttributeValue"},
		{map[string]string{"QueueArn": "x"}, "InvalidAttributeName"},
		{map[string]string{"FifoQueue": "true"}, "InvalidAttributeName"},
		{map[string]string{"ContentBasedDeduplication": "true"}, "InvalidAttributeName"},
		{map[string]string{"Policy": "not json"}, "InvalidAttributeValue"},
		{map[string]string{"RedrivePolicy": `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:missing","maxReceiveCount":3}`}, "InvalidParameterValue"},
		{map[string]string{"RedrivePolicy": `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:q","maxReceiveCount":3}`}, "InvalidParameterValue"},
		{map[string]string{"RedriveAllowPolicy": `{"redrivePermission":"byQueue"}`}, "InvalidParameterValue"},
		// A valid attribute with an invalid one changes nothing.
		{map[string]string{"VisibilityTimeout": "99", "Bogus": "1"}, "InvalidAttributeName"},
	}
	for _, tc := range cases {
		_, err := te.c.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: aws.String(qurl), Attributes: tc.attrs})
		if err == nil {
			t.Errorf("%v: accepted", tc.attrs)
			continue
		}
		awstest.WantCode(t, err, tc.code)
	}
	after := te.attrs(qurl)
	if fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("invalid SetQueueAttributes changed the queue:\n%v\n%v", before, after)
	}
	// The KMS data key reuse period that tools send by default is kept
	// (it does nothing without a KMS key, which is refused above).
	if _, err := te.c.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: aws.String(qurl),
		Attributes: map[string]string{"KmsDataKeyReusePeriodSeconds": "300"}}); err != nil {
		t.Fatal(err)
	}
	if got := te.attrs(qurl)["KmsDataKeyReusePeriodSeconds"]; got != "300" {
		t.Errorf("KmsDataKeyReusePeriodSeconds = %q; want 300", got)
	}
	// Names as AWS checks them.
	for name, attrs := range map[string]map[string]string{
		"x.fifo":                nil,
		"nofifo":                {"FifoQueue": "true"},
		"bad name":              nil,
		"bad.dot":               nil,
		"fine.fifo.x":           {"FifoQueue": "true"},
		strings.Repeat("a", 81): nil,
	} {
		_, err := te.c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
		awstest.WantCode(t, err, "InvalidParameterValue")
	}
	names, _ := te.b.ListQueues(ctx)
	if len(names) != 1 {
		t.Fatalf("refused creates left queues: %v", names)
	}
	_, err := te.c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(qurl), AttributeNames: []types.QueueAttributeName{"FifoQueue"}})
	awstest.WantCode(t, err, "InvalidAttributeName")
	_, err = te.c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(qurl), AttributeNames: []types.QueueAttributeName{"Nope"}})
	awstest.WantCode(t, err, "InvalidAttributeName")
}

func TestFIFOQueueAttributes(t *testing.T) {
	te := newEnv(t)
	qurl := te.createQueue("f.fifo", map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "true", "DeduplicationScope": "messageGroup", "FifoThroughputLimit": "perMessageGroupId"})
	a := te.attrs(qurl)
	if a["FifoQueue"] != "true" || a["ContentBasedDeduplication"] != "true" || a["DeduplicationScope"] != "messageGroup" || a["FifoThroughputLimit"] != "perMessageGroupId" {
		t.Fatalf("fifo attrs: %v", a)
	}
	_, err := te.c.SetQueueAttributes(context.Background(), &sqs.SetQueueAttributesInput{QueueUrl: aws.String(qurl), Attributes: map[string]string{"DeduplicationScope": "queue"}})
	awstest.WantCode(t, err, "InvalidAttributeValue") // perMessageGroupId needs messageGroup
	plain := te.createQueue("g.fifo", map[string]string{"FifoQueue": "true"})
	if a := te.attrs(plain); a["DeduplicationScope"] != "queue" || a["FifoThroughputLimit"] != "perQueue" || a["ContentBasedDeduplication"] != "false" {
		t.Fatalf("fifo defaults: %v", a)
	}
}

func TestRedriveAllowPolicy(t *testing.T) {
	te := newEnv(t)
	ctx := context.Background()
	dlq := te.createQueue("dlq", map[string]string{"RedriveAllowPolicy": `{"redrivePermission":"byQueue","sourceQueueArns":["arn:aws:sqs:us-east-1:000000000000:allowed"]}`})
	policy := func(n int) string {
		return fmt.Sprintf(`{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:dlq","maxReceiveCount":%d}`, n)
	}
	te.createQueue("allowed", map[string]string{"RedrivePolicy": policy(3)})
	_, err := te.c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("other"), Attributes: map[string]string{"RedrivePolicy": policy(3)}})
	awstest.WantCode(t, err, "InvalidParameterValue")
	if _, err := te.b.Queue("other").Info(ctx); !errors.Is(err, courier.ErrNotFound) {
		t.Fatalf("refused queue exists: %v", err)
	}
	if _, err := te.c.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: aws.String(dlq), Attributes: map[string]string{"RedriveAllowPolicy": `{"redrivePermission":"denyAll"}`}}); err != nil {
		t.Fatal(err)
	}
	other := te.createQueue("other", nil)
	_, err = te.c.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: aws.String(other), Attributes: map[string]string{"RedrivePolicy": policy(2)}})
	awstest.WantCode(t, err, "InvalidParameterValue")
	a := te.attrs(te.url + "/000000000000/allowed")
	if a["RedrivePolicy"] != policy(3) {
		t.Fatalf("RedrivePolicy %q", a["RedrivePolicy"])
	}
	// A FIFO queue cannot use a standard DLQ.
	_, err = te.c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("x.fifo"), Attributes: map[string]string{"FifoQueue": "true", "RedrivePolicy": policy(2)}})
	awstest.WantCode(t, err, "InvalidParameterValue")
}

func TestPurgeQueue(t *testing.T) {
	te := newEnv(t)
	ctx := context.Background()
	now := time.Unix(1_700_000_000, 0)
	te.svc.mu.Lock()
	te.svc.now = func() time.Time { return now }
	te.svc.mu.Unlock()
	qurl := te.createQueue("p", nil)
	for range 3 {
		if _, err := te.c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(qurl), MessageBody: aws.String("x")}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := te.c.PurgeQueue(ctx, &sqs.PurgeQueueInput{QueueUrl: aws.String(qurl)}); err != nil {
		t.Fatal(err)
	}
	if a := te.attrs(qurl); a["ApproximateNumberOfMessages"] != "0" {
		t.Fatalf("after purge: %v", a)
	}
	_, err := te.c.PurgeQueue(ctx, &sqs.PurgeQueueInput{QueueUrl: aws.String(qurl)})
	var pip *types.PurgeQueueInProgress
	if !errors.As(err, &pip) {
		t.Fatalf("second purge: %v", err)
	}
	te.svc.mu.Lock()
	now = now.Add(61 * time.Second)
	te.svc.mu.Unlock()
	if _, err := te.c.PurgeQueue(ctx, &sqs.PurgeQueueInput{QueueUrl: aws.String(qurl)}); err != nil {
		t.Fatalf("purge after 61s: %v", err)
	}
	// Purge times that no longer limit are forgotten, also those of
	// queues deleted behind the endpoint's back.
	if err := te.b.DeleteQueue(ctx, "p"); err != nil {
		t.Fatal(err)
	}
	other := te.createQueue("p2", nil)
	te.svc.mu.Lock()
	now = now.Add(61 * time.Second)
	te.svc.mu.Unlock()
	if _, err := te.c.PurgeQueue(ctx, &sqs.PurgeQueueInput{QueueUrl: aws.String(other)}); err != nil {
		t.Fatal(err)
	}
	te.svc.mu.Lock()
	defer te.svc.mu.Unlock()
	if _, ok := te.svc.purged["p"]; ok || len(te.svc.purged) != 1 {
		t.Fatalf("purge times kept: %v", te.svc.purged)
	}
}

// TestRestartKeepsMetadata shows that what SQS keeps beside courier's
// queue (tags, Policy, FIFO scopes) and the receipt handles' key survive
// a restart on file://.
func TestRestartKeepsMetadata(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	ctx := context.Background()
	b, err := courier.Open(ctx, "file://"+dir)
	if err != nil {
		t.Fatal(err)
	}
	te := start(t, b)
	qurl := te.createQueue("keep.fifo", map[string]string{"FifoQueue": "true", "DeduplicationScope": "messageGroup", "Policy": `{"Statement":[]}`, "SqsManagedSseEnabled": "true"})
	if _, err := te.c.TagQueue(ctx, &sqs.TagQueueInput{QueueUrl: aws.String(qurl), Tags: map[string]string{"k": "v"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := te.c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(qurl), MessageBody: aws.String("m"), MessageGroupId: aws.String("g"), MessageDeduplicationId: aws.String("d")}); err != nil {
		t.Fatal(err)
	}
	rcv, err := te.c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(qurl), VisibilityTimeout: 300})
	if err != nil || len(rcv.Messages) != 1 {
		t.Fatalf("receive: %v %v", rcv, err)
	}
	before := te.attrs(qurl)
	te2 := restart(t, te, b, dir)
	qurl2 := strings.Replace(qurl, te.url, te2.url, 1)
	after := te2.attrs(qurl2)
	for _, k := range []string{"DeduplicationScope", "Policy", "SqsManagedSseEnabled", "CreatedTimestamp", "FifoQueue"} {
		if after[k] != before[k] {
			t.Errorf("%s: %q after restart, %q before", k, after[k], before[k])
		}
	}
	tags, err := te2.c.ListQueueTags(ctx, &sqs.ListQueueTagsInput{QueueUrl: aws.String(qurl2)})
	if err != nil || tags.Tags["k"] != "v" {
		t.Fatalf("tags after restart: %v %v", tags, err)
	}
	// The receipt handle issued before the restart still deletes.
	if _, err := te2.c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(qurl2), ReceiptHandle: rcv.Messages[0].ReceiptHandle}); err != nil {
		t.Fatalf("delete with a handle from before the restart: %v", err)
	}
	if a := te2.attrs(qurl2); a["ApproximateNumberOfMessages"] != "0" || a["ApproximateNumberOfMessagesNotVisible"] != "0" {
		t.Fatalf("message not deleted: %v", a)
	}
}
