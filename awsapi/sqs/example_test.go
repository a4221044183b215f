package sqs_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	courier "github.com/courier-io/courier"
	"github.com/courier-io/courier/awsapi"
	"github.com/courier-io/courier/awsapi/awstest"
	"github.com/courier-io/courier/awsapi/gateway"
	courierSQS "github.com/courier-io/courier/awsapi/sqs"
)

// An unchanged aws-sdk-go-v2 SQS client talks to courier: point its
// BaseEndpoint at a gateway that serves package sqs.
func Example() {
	ctx := context.Background()
	b, err := courier.Open(ctx, "mem://")
	if err != nil {
		panic(err)
	}
	defer b.Close()
	gw, err := gateway.New(ctx, b, gateway.Config{}, gateway.Services{
		SQS: func(env *awsapi.Env) (awsapi.Service, error) { return courierSQS.New(env) },
	})
	if err != nil {
		panic(err)
	}
	defer gw.Close()
	srv := httptest.NewServer(gw)
	defer srv.Close()

	client := sqs.NewFromConfig(awstest.Config("", ""), func(o *sqs.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	q, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("orders")})
	if err != nil {
		panic(err)
	}
	_, err = client.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl:    q.QueueUrl,
		MessageBody: aws.String("order #1"),
		MessageAttributes: map[string]types.MessageAttributeValue{
			"priority": {DataType: aws.String("Number"), StringValue: aws.String("1")},
		},
	})
	if err != nil {
		panic(err)
	}
	out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, WaitTimeSeconds: 1, MessageAttributeNames: []string{"All"}})
	if err != nil {
		panic(err)
	}
	for _, m := range out.Messages {
		fmt.Println(*m.Body, *m.MessageAttributes["priority"].StringValue)
		if _, err := client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: q.QueueUrl, ReceiptHandle: m.ReceiptHandle}); err != nil {
			panic(err)
		}
	}
	// A courier consumer sees the same queue.
	info, _ := b.Queue("orders").Info(ctx)
	fmt.Println("left:", info.Stats.Visible+info.Stats.InFlight)
	// Output:
	// order #1 1
	// left: 0
}
