package eventbridge_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	courier "github.com/courier-io/courier"
	"github.com/courier-io/courier/awsapi"
	ebsvc "github.com/courier-io/courier/awsapi/eventbridge"
	"github.com/courier-io/courier/awsapi/gateway"
)

// Example routes events put with the AWS SDK to a courier queue through
// a rule whose target reshapes them with an input transformer.
func Example() {
	ctx := context.Background()
	b, _ := courier.Open(ctx, "mem://")
	defer b.Close()
	gw, _ := gateway.New(ctx, b, gateway.Config{}, gateway.Services{
		EventBridge: func(env *awsapi.Env) (awsapi.Service, error) { return ebsvc.New(env) },
	})
	defer gw.Close()
	srv := httptest.NewServer(gw)
	defer srv.Close()

	client := eventbridge.New(eventbridge.Options{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(srv.URL),
	})
	_, _ = b.CreateQueue(ctx, "orders")
	_, _ = client.PutRule(ctx, &eventbridge.PutRuleInput{
		Name:         aws.String("placed"),
		EventPattern: aws.String(`{"source":["shop"],"detail-type":["Order Placed"]}`),
	})
	_, _ = client.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("placed"), Targets: []types.Target{{
		Id:  aws.String("orders-queue"),
		Arn: aws.String("arn:aws:sqs:us-east-1:000000000000:orders"),
		InputTransformer: &types.InputTransformer{
			InputPathsMap: map[string]string{"id": "$.detail.id"},
			InputTemplate: aws.String(`{"order": <id>}`),
		},
	}}})
	out, err := client.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{
		Source: aws.String("shop"), DetailType: aws.String("Order Placed"), Detail: aws.String(`{"id": 42}`),
	}}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("failed entries:", out.FailedEntryCount)

	ds, _ := b.Queue("orders").Receive(ctx, courier.Max(1), courier.Wait(5*time.Second))
	for _, d := range ds {
		fmt.Println(string(d.Body))
		_ = d.Ack(ctx)
	}
	// Output:
	// failed entries: 0
	// {"order": 42}
}
