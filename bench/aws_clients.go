package bench

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/courier-io/courier"
)

// sqsMessage is one received SQS message.
type sqsMessage struct{ Body, Receipt string }

// sqsAPI is what the SQS workloads call, in one of three protocols: the
// aws-sdk-go-v2 SQS client (JSON), the query-protocol client
// (sqsQueryClient) or courier's native REST client (restQueues). A queue
// is named by the URL createQueue returned.
type sqsAPI interface {
	createQueue(ctx context.Context, name string, visibility time.Duration) (queueURL string, err error)
	// queueARN returns the ARN that SNS subscriptions name the queue by.
	queueARN(ctx context.Context, queueURL string) (string, error)
	// send is SendMessage of one body.
	send(ctx context.Context, queueURL, body string) error
	// sendBatch is SendMessageBatch; an entry that failed is an error.
	sendBatch(ctx context.Context, queueURL string, bodies []string) error
	// receive is ReceiveMessage of up to max messages, waiting up to wait
	// (whole seconds) when none is visible.
	receive(ctx context.Context, queueURL string, max int, wait time.Duration) ([]sqsMessage, error)
	// deleteBatch is DeleteMessageBatch; an entry that failed is an error.
	deleteBatch(ctx context.Context, queueURL string, receipts []string) error
}

// batchError is one failed entry of a batch answer (BatchResultErrorEntry).
type batchError struct {
	ID      string `xml:"Id"`
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

// batchErr checks the answer of batch action to sent entries: an error
// describing the failed entries, or one when not all were acknowledged;
// nil when every entry was.
func batchErr(action string, failed []batchError, sent, acked int) error {
	if len(failed) > 0 {
		f := failed[0]
		return fmt.Errorf("%s: %d entries failed, the first (%s) with %s: %s", action, len(failed), f.ID, f.Code, f.Message)
	}
	if acked != sent {
		return fmt.Errorf("%s: %d entries sent, %d acknowledged", action, sent, acked)
	}
	return nil
}

// awsConfig is the SDK configuration of every AWS client of the bench:
// static credentials (no server checks them), the gateway's default
// region, no retries (so that every error is seen) and hc.
func awsConfig(hc *http.Client) aws.Config {
	return aws.Config{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider("bench", "bench", ""),
		RetryMaxAttempts: 1,
		HTTPClient:       hc,
	}
}

// benchHTTPClient returns an HTTP client whose pool keeps a connection per
// concurrent caller alive.
func benchHTTPClient(conns int) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = 0
	tr.MaxIdleConnsPerHost = conns
	tr.Proxy = nil
	return &http.Client{Transport: tr}
}

// sqsSDK adapts the aws-sdk-go-v2 SQS client (JSON protocol).
type sqsSDK struct{ c *sqs.Client }

func newSQSSDK(endpoint string, hc *http.Client) sqsSDK {
	return sqsSDK{sqs.NewFromConfig(awsConfig(hc), func(o *sqs.Options) { o.BaseEndpoint = aws.String(endpoint) })}
}

func (s sqsSDK) createQueue(ctx context.Context, name string, visibility time.Duration) (string, error) {
	out, err := s.c.CreateQueue(ctx, &sqs.CreateQueueInput{
		QueueName:  aws.String(name),
		Attributes: map[string]string{"VisibilityTimeout": strconv.Itoa(int(visibility / time.Second))},
	})
	if err != nil {
		return "", err
	}
	return aws.ToString(out.QueueUrl), nil
}

func (s sqsSDK) queueARN(ctx context.Context, queueURL string) (string, error) {
	out, err := s.c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(queueURL), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn},
	})
	if err != nil {
		return "", err
	}
	arn := out.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]
	if arn == "" {
		return "", errors.New("GetQueueAttributes: the answer has no QueueArn")
	}
	return arn, nil
}

func (s sqsSDK) send(ctx context.Context, queueURL, body string) error {
	_, err := s.c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(queueURL), MessageBody: aws.String(body)})
	return err
}

func (s sqsSDK) sendBatch(ctx context.Context, queueURL string, bodies []string) error {
	entries := make([]sqstypes.SendMessageBatchRequestEntry, len(bodies))
	for i, b := range bodies {
		entries[i] = sqstypes.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(b)}
	}
	out, err := s.c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(queueURL), Entries: entries})
	if err != nil {
		return err
	}
	return batchErr("SendMessageBatch", sdkBatchErrors(out.Failed), len(bodies), len(out.Successful))
}

func (s sqsSDK) receive(ctx context.Context, queueURL string, max int, wait time.Duration) ([]sqsMessage, error) {
	out, err := s.c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl: aws.String(queueURL), MaxNumberOfMessages: int32(max), WaitTimeSeconds: int32(wait / time.Second),
	})
	if err != nil {
		return nil, err
	}
	msgs := make([]sqsMessage, len(out.Messages))
	for i, m := range out.Messages {
		msgs[i] = sqsMessage{Body: aws.ToString(m.Body), Receipt: aws.ToString(m.ReceiptHandle)}
	}
	return msgs, nil
}

func (s sqsSDK) deleteBatch(ctx context.Context, queueURL string, receipts []string) error {
	entries := make([]sqstypes.DeleteMessageBatchRequestEntry, len(receipts))
	for i, r := range receipts {
		entries[i] = sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: aws.String(r)}
	}
	out, err := s.c.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(queueURL), Entries: entries})
	if err != nil {
		return err
	}
	return batchErr("DeleteMessageBatch", sdkBatchErrors(out.Failed), len(receipts), len(out.Successful))
}

// sdkBatchErrors converts the SDK's failed entries of a batch answer.
func sdkBatchErrors(failed []sqstypes.BatchResultErrorEntry) []batchError {
	out := make([]batchError, len(failed))
	for i, f := range failed {
		out[i] = batchError{ID: aws.ToString(f.Id), Code: aws.ToString(f.Code), Message: aws.ToString(f.Message)}
	}
	return out
}

// restQueues adapts courier's native API (a Broker opened on
// rest+http://) to the SQS workload: a queue's URL is its name,
// SendMessageBatch is Queue.SendBatch, ReceiveMessage Queue.Receive and
// DeleteMessageBatch one Queue.Ack.
type restQueues struct{ b *courier.Broker }

func (r restQueues) createQueue(ctx context.Context, name string, visibility time.Duration) (string, error) {
	if _, err := r.b.CreateQueue(ctx, name, courier.VisibilityTimeout(visibility)); err != nil {
		return "", err
	}
	return name, nil
}

func (restQueues) queueARN(context.Context, string) (string, error) {
	return "", errors.New("the REST API has no queue ARNs")
}

func (r restQueues) send(ctx context.Context, name, body string) error {
	_, err := r.b.Queue(name).Send(ctx, courier.Message{Body: []byte(body)})
	return err
}

func (r restQueues) sendBatch(ctx context.Context, name string, bodies []string) error {
	msgs := make([]courier.Message, len(bodies))
	for i, b := range bodies {
		msgs[i] = courier.Message{Body: []byte(b)}
	}
	res, err := r.b.Queue(name).SendBatch(ctx, msgs)
	if err != nil {
		return err
	}
	for i, sr := range res {
		if sr.Err != nil {
			return fmt.Errorf("SendBatch: entry %d: %w", i, sr.Err)
		}
	}
	return nil
}

func (r restQueues) receive(ctx context.Context, name string, max int, wait time.Duration) ([]sqsMessage, error) {
	ds, err := r.b.Queue(name).Receive(ctx, courier.Max(max), courier.Wait(wait))
	if err != nil {
		return nil, err
	}
	msgs := make([]sqsMessage, len(ds))
	for i, d := range ds {
		msgs[i] = sqsMessage{Body: string(d.Body), Receipt: d.Receipt}
	}
	return msgs, nil
}

func (r restQueues) deleteBatch(ctx context.Context, name string, receipts []string) error {
	return r.b.Queue(name).Ack(ctx, receipts...)
}

// newSNSSDK is the aws-sdk-go-v2 SNS client (query protocol), for courier
// and goaws alike.
func newSNSSDK(endpoint string, hc *http.Client) *sns.Client {
	return sns.NewFromConfig(awsConfig(hc), func(o *sns.Options) { o.BaseEndpoint = aws.String(endpoint) })
}

// newKinesisSDK is the aws-sdk-go-v2 Kinesis client (JSON 1.1), for
// courier and kinesalite alike.
func newKinesisSDK(endpoint string, hc *http.Client) *kinesis.Client {
	return kinesis.NewFromConfig(awsConfig(hc), func(o *kinesis.Options) { o.BaseEndpoint = aws.String(endpoint) })
}
