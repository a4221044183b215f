package sns_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
)

// BenchmarkPublishFanout3 publishes with the SDK to a topic with three
// SQS-queue subscriptions: each Publish is one courier publish that
// indexes the message in the three queues.
func BenchmarkPublishFanout3(b *testing.B) {
	f := openFixture(b, "file://"+b.TempDir())
	arn := f.createTopic("bench", nil)
	for _, q := range []string{"q1", "q2", "q3"} {
		f.subscribe(arn, "sqs", f.queue(q), nil)
	}
	in := &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String(`{"order":1234,"total":99.5}`),
		MessageAttributes: map[string]typesMAV{"region": strAttr("eu")}}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := f.c.Publish(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
