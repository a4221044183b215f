package eventbridge_test

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	courier "github.com/courier-io/courier"
	"github.com/courier-io/courier/awsapi/awstest"
	"github.com/courier-io/courier/awsapi/gateway"
)

// BenchmarkPutEvents puts batches of 10 events through the SDK; every
// event matches a rule whose target is an SQS queue, so each batch is
// routed and stored in the queue as well.
func BenchmarkPutEvents(b *testing.B) {
	br, err := courier.Open(b.Context(), "mem://")
	if err != nil {
		b.Fatal(err)
	}
	defer br.Close()
	url, _ := awstest.Start(b, br, gateway.Config{}, services)
	client := eventbridge.NewFromConfig(awstest.Config("", ""), func(o *eventbridge.Options) { o.BaseEndpoint = aws.String(url) })
	ctx := b.Context()
	if _, err := br.CreateQueue(ctx, "sink"); err != nil {
		b.Fatal(err)
	}
	if _, err := client.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("all"), EventPattern: aws.String(`{"source":["bench"]}`)}); err != nil {
		b.Fatal(err)
	}
	if _, err := client.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("all"), Targets: []types.Target{
		{Id: aws.String("sink"), Arn: aws.String("arn:aws:sqs:us-east-1:000000000000:sink")}}}); err != nil {
		b.Fatal(err)
	}
	entries := make([]types.PutEventsRequestEntry, 10)
	for i := range entries {
		entries[i] = types.PutEventsRequestEntry{Source: aws.String("bench"), DetailType: aws.String("Tick"), Detail: aws.String(`{"n":1,"text":"hello"}`)}
	}
	in := &eventbridge.PutEventsInput{Entries: entries}
	b.ReportAllocs()
	start := time.Now()
	for b.Loop() {
		out, err := client.PutEvents(ctx, in)
		if err != nil || out.FailedEntryCount != 0 {
			b.Fatalf("PutEvents: %v (failed %d)", err, out.FailedEntryCount)
		}
	}
	b.ReportMetric(float64(b.N*len(entries))/time.Since(start).Seconds(), "events/s")
}
