package kinesis_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	courier "github.com/courier-io/courier"
	"github.com/courier-io/courier/awsapi"
	"github.com/courier-io/courier/awsapi/gateway"
	kinesisapi "github.com/courier-io/courier/awsapi/kinesis"
)

// Example serves the Kinesis API over a courier broker and uses it with
// the AWS SDK for Go: create a stream, put a record, read it back.
func Example() {
	ctx := context.Background()
	b, err := courier.Open(ctx, "mem://")
	if err != nil {
		panic(err)
	}
	defer b.Close()
	g, err := gateway.New(ctx, b, gateway.Config{}, gateway.Services{
		Kinesis: func(env *awsapi.Env) (awsapi.Service, error) { return kinesisapi.New(env) },
	})
	if err != nil {
		panic(err)
	}
	defer g.Close()
	srv := httptest.NewServer(g)
	defer srv.Close()

	client := kinesis.NewFromConfig(aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
	}, func(o *kinesis.Options) { o.BaseEndpoint = aws.String(srv.URL) })

	if _, err := client.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("clicks"), ShardCount: aws.Int32(2)}); err != nil {
		panic(err)
	}
	put, err := client.PutRecord(ctx, &kinesis.PutRecordInput{
		StreamName: aws.String("clicks"), PartitionKey: aws.String("user-1"), Data: []byte(`{"page":"/"}`),
	})
	if err != nil {
		panic(err)
	}
	it, err := client.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{
		StreamName: aws.String("clicks"), ShardId: put.ShardId, ShardIteratorType: types.ShardIteratorTypeTrimHorizon,
	})
	if err != nil {
		panic(err)
	}
	recs, err := client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator})
	if err != nil {
		panic(err)
	}
	for _, r := range recs.Records {
		fmt.Println(aws.ToString(r.PartitionKey), string(r.Data), aws.ToString(r.SequenceNumber) == aws.ToString(put.SequenceNumber))
	}
	// Output:
	// user-1 {"page":"/"} true
}
