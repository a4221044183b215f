package sqs

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// BenchmarkSendReceiveDelete measures the round trip of an SDK client
// over loopback: SendMessageBatch, ReceiveMessage and DeleteMessageBatch
// of 10 messages per iteration.
func BenchmarkSendReceiveDelete(b *testing.B) {
	te := newEnv(b)
	ctx := context.Background()
	qurl := te.createQueue("bench", nil)
	entries := make([]types.SendMessageBatchRequestEntry, 10)
	for i := range entries {
		entries[i] = types.SendMessageBatchRequestEntry{Id: aws.String(fmt.Sprint("m", i)), MessageBody: aws.String("benchmark message body of moderate size ........................................"),
			MessageAttributes: map[string]types.MessageAttributeValue{"k": {DataType: aws.String("String"), StringValue: aws.String("v")}}}
	}
	b.ReportAllocs()
	b.ResetTimer()
	msgs := 0
	for b.Loop() {
		if _, err := te.c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(qurl), Entries: entries}); err != nil {
			b.Fatal(err)
		}
		got, err := te.c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(qurl), MaxNumberOfMessages: 10, MessageAttributeNames: []string{"All"}})
		if err != nil {
			b.Fatal(err)
		}
		del := make([]types.DeleteMessageBatchRequestEntry, len(got.Messages))
		for i, m := range got.Messages {
			del[i] = types.DeleteMessageBatchRequestEntry{Id: aws.String(fmt.Sprint("d", i)), ReceiptHandle: m.ReceiptHandle}
		}
		if len(del) > 0 {
			if _, err := te.c.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(qurl), Entries: del}); err != nil {
				b.Fatal(err)
			}
		}
		msgs += len(got.Messages)
	}
	b.ReportMetric(float64(msgs)/b.Elapsed().Seconds(), "msgs/s")
}
