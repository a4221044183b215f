package sns_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"

	courier "github.com/courier-io/courier"
	"github.com/courier-io/courier/awsapi"
	"github.com/courier-io/courier/awsapi/awstest"
	"github.com/courier-io/courier/awsapi/gateway"
	snsapi "github.com/courier-io/courier/awsapi/sns"
)

// Example publishes through the SNS endpoint with aws-sdk-go-v2 to a topic
// that a courier queue is subscribed to with a filter policy, and reads
// the delivery with the courier API.
func Example() {
	ctx := context.Background()
	b, _ := courier.Open(ctx, "mem://")
	defer b.Close()
	g, _ := gateway.New(ctx, b, gateway.Config{}, gateway.Services{
		SNS: func(env *awsapi.Env) (awsapi.Service, error) { return snsapi.New(env) },
	})
	defer g.Close()
	srv := httptest.NewServer(g)
	defer srv.Close()

	client := sns.NewFromConfig(awstest.Config("", ""), func(o *sns.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	topic, _ := client.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("orders")})
	_, _ = b.CreateQueue(ctx, "eu-orders")
	_, err := client.Subscribe(ctx, &sns.SubscribeInput{
		TopicArn:   topic.TopicArn,
		Protocol:   aws.String("sqs"),
		Endpoint:   aws.String("arn:aws:sqs:us-east-1:000000000000:eu-orders"),
		Attributes: map[string]string{"FilterPolicy": `{"region":["eu"]}`, "RawMessageDelivery": "true"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, region := range []string{"us", "eu"} {
		_, _ = client.Publish(ctx, &sns.PublishInput{
			TopicArn: topic.TopicArn,
			Message:  aws.String("order from " + region),
			MessageAttributes: map[string]types.MessageAttributeValue{
				"region": {DataType: aws.String("String"), StringValue: aws.String(region)},
			},
		})
	}
	ds, _ := b.Queue("eu-orders").Receive(ctx, courier.Max(10))
	for _, d := range ds {
		fmt.Println(string(d.Body), d.Headers["region"])
	}
	// Output: order from eu eu
}
