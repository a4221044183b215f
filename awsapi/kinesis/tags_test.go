package kinesis_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	courier "github.com/courier-io/courier"
	"github.com/courier-io/courier/awsapi/awstest"
	"github.com/courier-io/courier/awsapi/gateway"
)

func tagList(tags []types.Tag) string {
	var parts []string
	for _, t := range tags {
		parts = append(parts, aws.ToString(t.Key)+"="+aws.ToString(t.Value))
	}
	return strings.Join(parts, ",")
}

func TestTags(t *testing.T) {
	f := newFixture(t, gateway.Config{})
	if _, err := f.c.CreateStream(f.ctx, &kinesis.CreateStreamInput{StreamName: aws.String("t"), ShardCount: aws.Int32(1), Tags: map[string]string{"team": "core"}}); err != nil {
		t.Fatal(err)
	}
	name := aws.String("t")
	arn := aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/t")
	if _, err := f.c.AddTagsToStream(f.ctx, &kinesis.AddTagsToStreamInput{StreamName: name, Tags: map[string]string{"env": "prod", "team": "data"}}); err != nil {
		t.Fatal(err)
	}
	list := func(in *kinesis.ListTagsForStreamInput) *kinesis.ListTagsForStreamOutput {
		t.Helper()
		return must[*kinesis.ListTagsForStreamOutput](t)(f.c.ListTagsForStream(f.ctx, in))
	}
	if got := list(&kinesis.ListTagsForStreamInput{StreamName: name}); tagList(got.Tags) != "env=prod,team=data" || aws.ToBool(got.HasMoreTags) {
		t.Fatalf("tags %s", tagList(got.Tags))
	}
	if got := list(&kinesis.ListTagsForStreamInput{StreamARN: arn, Limit: aws.Int32(1)}); tagList(got.Tags) != "env=prod" || !aws.ToBool(got.HasMoreTags) {
		t.Fatalf("page 1 %s", tagList(got.Tags))
	}
	if got := list(&kinesis.ListTagsForStreamInput{StreamName: name, ExclusiveStartTagKey: aws.String("env")}); tagList(got.Tags) != "team=data" {
		t.Fatalf("page 2 %s", tagList(got.Tags))
	}
	if _, err := f.c.RemoveTagsFromStream(f.ctx, &kinesis.RemoveTagsFromStreamInput{StreamName: name, TagKeys: []string{"team", "absent"}}); err != nil {
		t.Fatal(err)
	}
	// TagResource and friends by stream ARN.
	if _, err := f.c.TagResource(f.ctx, &kinesis.TagResourceInput{ResourceARN: arn, Tags: map[string]string{"cost": "42"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.UntagResource(f.ctx, &kinesis.UntagResourceInput{ResourceARN: arn, TagKeys: []string{"env"}}); err != nil {
		t.Fatal(err)
	}
	if got := must[*kinesis.ListTagsForResourceOutput](t)(f.c.ListTagsForResource(f.ctx, &kinesis.ListTagsForResourceInput{ResourceARN: arn})); tagList(got.Tags) != "cost=42" {
		t.Fatalf("ListTagsForResource %s", tagList(got.Tags))
	}
	// Limits: 50 tags per resource, no aws: keys, key lengths.
	many := map[string]string{}
	for i := range 50 {
		many[fmt.Sprintf("k%02d", i)] = "v"
	}
	_, err := f.c.AddTagsToStream(f.ctx, &kinesis.AddTagsToStreamInput{StreamName: name, Tags: many})
	awstest.WantCode(t, err, "InvalidArgumentException")
	many["k99"] = "v"
	_, err = f.c.AddTagsToStream(f.ctx, &kinesis.AddTagsToStreamInput{StreamName: name, Tags: many})
	awstest.WantCode(t, err, "ValidationException")
	_, err = f.c.TagResource(f.ctx, &kinesis.TagResourceInput{ResourceARN: arn, Tags: map[string]string{"AWS:x": "y"}})
	awstest.WantCode(t, err, "InvalidArgumentException")
	_, err = f.c.AddTagsToStream(f.ctx, &kinesis.AddTagsToStreamInput{StreamName: name, Tags: map[string]string{strings.Repeat("k", 129): "v"}})
	awstest.WantCode(t, err, "ValidationException")
	_, err = f.c.TagResource(f.ctx, &kinesis.TagResourceInput{ResourceARN: aws.String("arn:aws:sqs:us-east-1:000000000000:q"), Tags: map[string]string{"a": "b"}})
	awstest.WantCode(t, err, "InvalidArgumentException")
	_, err = f.c.ListTagsForStream(f.ctx, &kinesis.ListTagsForStreamInput{StreamName: aws.String("missing")})
	awstest.WantCode(t, err, "ResourceNotFoundException")
	if got := list(&kinesis.ListTagsForStreamInput{StreamName: name}); tagList(got.Tags) != "cost=42" {
		t.Fatalf("refused tag changes changed the tags: %s", tagList(got.Tags))
	}
	// A stream deleted and created again starts without tags.
	if _, err := f.c.DeleteStream(f.ctx, &kinesis.DeleteStreamInput{StreamName: name}); err != nil {
		t.Fatal(err)
	}
	f.createStream("t", 1)
	if got := list(&kinesis.ListTagsForStreamInput{StreamName: name}); len(got.Tags) != 0 {
		t.Fatalf("a new stream inherited tags %s", tagList(got.Tags))
	}
}

func TestConsumers(t *testing.T) {
	f := newFixture(t, gateway.Config{})
	arn := f.createStream("s", 2).StreamDescription.StreamARN
	reg := must[*kinesis.RegisterStreamConsumerOutput](t)(f.c.RegisterStreamConsumer(f.ctx, &kinesis.RegisterStreamConsumerInput{StreamARN: arn, ConsumerName: aws.String("app"), Tags: map[string]string{"a": "1"}})).Consumer
	carn := aws.ToString(reg.ConsumerARN)
	if !strings.HasPrefix(carn, aws.ToString(arn)+"/consumer/app:") || reg.ConsumerStatus != types.ConsumerStatusActive || reg.ConsumerCreationTimestamp == nil {
		t.Fatalf("consumer %+v", reg)
	}
	_, err := f.c.RegisterStreamConsumer(f.ctx, &kinesis.RegisterStreamConsumerInput{StreamARN: arn, ConsumerName: aws.String("app")})
	awstest.WantCode(t, err, "ResourceInUseException")
	for _, in := range []*kinesis.DescribeStreamConsumerInput{{ConsumerARN: &carn}, {StreamARN: arn, ConsumerName: aws.String("app")}} {
		d := must[*kinesis.DescribeStreamConsumerOutput](t)(f.c.DescribeStreamConsumer(f.ctx, in)).ConsumerDescription
		if aws.ToString(d.ConsumerARN) != carn || aws.ToString(d.StreamARN) != aws.ToString(arn) || aws.ToString(d.ConsumerName) != "app" {
			t.Fatalf("describe %+v", d)
		}
	}
	if got := must[*kinesis.ListTagsForResourceOutput](t)(f.c.ListTagsForResource(f.ctx, &kinesis.ListTagsForResourceInput{ResourceARN: &carn})); tagList(got.Tags) != "a=1" {
		t.Fatalf("consumer tags %s", tagList(got.Tags))
	}
	if _, err := f.c.TagResource(f.ctx, &kinesis.TagResourceInput{ResourceARN: &carn, Tags: map[string]string{"b": "2"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.UntagResource(f.ctx, &kinesis.UntagResourceInput{ResourceARN: &carn, TagKeys: []string{"a"}}); err != nil {
		t.Fatal(err)
	}
	if got := must[*kinesis.ListTagsForResourceOutput](t)(f.c.ListTagsForResource(f.ctx, &kinesis.ListTagsForResourceInput{ResourceARN: &carn})); tagList(got.Tags) != "b=2" {
		t.Fatalf("consumer tags %s", tagList(got.Tags))
	}
	for i := range 19 {
		must[*kinesis.RegisterStreamConsumerOutput](t)(f.c.RegisterStreamConsumer(f.ctx, &kinesis.RegisterStreamConsumerInput{StreamARN: arn, ConsumerName: aws.String(fmt.Sprintf("c%02d", i))}))
	}
	_, err = f.c.RegisterStreamConsumer(f.ctx, &kinesis.RegisterStreamConsumerInput{StreamARN: arn, ConsumerName: aws.String("one-too-many")})
	awstest.WantCode(t, err, "LimitExceededException")
	var names []string
	var token *string
	for {
		page := must[*kinesis.ListStreamConsumersOutput](t)(f.c.ListStreamConsumers(f.ctx, &kinesis.ListStreamConsumersInput{StreamARN: arn, MaxResults: aws.Int32(7), NextToken: token}))
		for _, c := range page.Consumers {
			names = append(names, aws.ToString(c.ConsumerName))
		}
		if token = page.NextToken; token == nil {
			break
		}
	}
	if len(names) != 20 || !slices.IsSorted(names) || names[19] != "c18" {
		t.Fatalf("listed %v", names)
	}
	sum := must[*kinesis.DescribeStreamSummaryOutput](t)(f.c.DescribeStreamSummary(f.ctx, &kinesis.DescribeStreamSummaryInput{StreamARN: arn})).StreamDescriptionSummary
	if aws.ToInt32(sum.ConsumerCount) != 20 {
		t.Fatalf("ConsumerCount %d", aws.ToInt32(sum.ConsumerCount))
	}
	if _, err := f.c.DeregisterStreamConsumer(f.ctx, &kinesis.DeregisterStreamConsumerInput{ConsumerARN: &carn}); err != nil {
		t.Fatal(err)
	}
	_, err = f.c.DescribeStreamConsumer(f.ctx, &kinesis.DescribeStreamConsumerInput{ConsumerARN: &carn})
	awstest.WantCode(t, err, "ResourceNotFoundException")
	_, err = f.c.DeregisterStreamConsumer(f.ctx, &kinesis.DeregisterStreamConsumerInput{StreamARN: arn, ConsumerName: aws.String("app")})
	awstest.WantCode(t, err, "ResourceNotFoundException")
	_, err = f.c.DescribeStreamConsumer(f.ctx, &kinesis.DescribeStreamConsumerInput{ConsumerName: aws.String("c00")})
	awstest.WantCode(t, err, "InvalidArgumentException")

	// A stream with consumers is deleted only with EnforceConsumerDeletion.
	_, err = f.c.DeleteStream(f.ctx, &kinesis.DeleteStreamInput{StreamARN: arn})
	awstest.WantCode(t, err, "ResourceInUseException")
	if _, err := f.c.DeleteStream(f.ctx, &kinesis.DeleteStreamInput{StreamARN: arn, EnforceConsumerDeletion: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	arn = f.createStream("s", 1).StreamDescription.StreamARN
	if got := must[*kinesis.ListStreamConsumersOutput](t)(f.c.ListStreamConsumers(f.ctx, &kinesis.ListStreamConsumersInput{StreamARN: arn})); len(got.Consumers) != 0 {
		t.Fatalf("a new stream inherited %d consumers", len(got.Consumers))
	}
}

// TestRestartKeepsMetadata shows that tags, mode and consumers survive
// closing and reopening a file:// broker.
func TestRestartKeepsMetadata(t *testing.T) {
	ctx := context.Background()
	url := "file://" + t.TempDir()
	var carn string
	{
		b, err := courier.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		srvURL, g := awstest.Start(t, b, gateway.Config{}, services)
		c := client(srvURL, nil)
		if _, err := c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("keep"), StreamModeDetails: &types.StreamModeDetails{StreamMode: types.StreamModeOnDemand}, Tags: map[string]string{"team": "core"}}); err != nil {
			t.Fatal(err)
		}
		out, err := c.RegisterStreamConsumer(ctx, &kinesis.RegisterStreamConsumerInput{StreamARN: aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/keep"), ConsumerName: aws.String("app"), Tags: map[string]string{"c": "1"}})
		if err != nil {
			t.Fatal(err)
		}
		carn = aws.ToString(out.Consumer.ConsumerARN)
		if _, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("keep"), PartitionKey: aws.String("k"), Data: []byte("durable")}); err != nil {
			t.Fatal(err)
		}
		if err := g.Close(); err != nil {
			t.Fatal(err)
		}
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
	}
	b, err := courier.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	srvURL, _ := awstest.Start(t, b, gateway.Config{}, services)
	c := client(srvURL, nil)
	tags, err := c.ListTagsForStream(ctx, &kinesis.ListTagsForStreamInput{StreamName: aws.String("keep")})
	if err != nil || tagList(tags.Tags) != "team=core" {
		t.Fatalf("tags after restart: %v %v", err, tags)
	}
	sum, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("keep")})
	if err != nil || sum.StreamDescriptionSummary.StreamModeDetails.StreamMode != types.StreamModeOnDemand || aws.ToInt32(sum.StreamDescriptionSummary.ConsumerCount) != 1 {
		t.Fatalf("summary after restart: %v %+v", err, sum)
	}
	d, err := c.DescribeStreamConsumer(ctx, &kinesis.DescribeStreamConsumerInput{ConsumerARN: &carn})
	if err != nil || aws.ToString(d.ConsumerDescription.ConsumerName) != "app" {
		t.Fatalf("consumer after restart: %v", err)
	}
	ct, err := c.ListTagsForResource(ctx, &kinesis.ListTagsForResourceInput{ResourceARN: &carn})
	if err != nil || tagList(ct.Tags) != "c=1" {
		t.Fatalf("consumer tags after restart: %v %v", err, ct)
	}
	shard := must[*kinesis.PutRecordOutput](t)(c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("keep"), PartitionKey: aws.String("k"), Data: []byte("again")})).ShardId
	it := must[*kinesis.GetShardIteratorOutput](t)(c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("keep"), ShardId: shard, ShardIteratorType: types.ShardIteratorTypeTrimHorizon}))
	recs := must[*kinesis.GetRecordsOutput](t)(c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator}))
	if len(recs.Records) != 2 || string(recs.Records[0].Data) != "durable" {
		t.Fatalf("records after restart: %d", len(recs.Records))
	}
}

// TestAuthorization checks that every action asks the authorizer, with
// the permission, kind and resource the brief names, before acting.
func TestAuthorization(t *testing.T) {
	deny := &denyAll{}
	f := newFixture(t, gateway.Config{Authorizer: deny})
	if _, err := f.b.CreateStream(f.ctx, "s", courier.Partitions(1)); err != nil {
		t.Fatal(err)
	}
	arn := aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/s")
	carn := aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/s/consumer/c:1")
	s := aws.String("s")
	shard := aws.String("shardId-000000000000")
	for _, c := range []struct {
		call func() error
		want string
	}{
		{func() error {
			_, err := f.c.CreateStream(f.ctx, &kinesis.CreateStreamInput{StreamName: aws.String("n"), ShardCount: aws.Int32(1)})
			return err
		}, "manage stream n"},
		{func() error { _, err := f.c.DeleteStream(f.ctx, &kinesis.DeleteStreamInput{StreamName: s}); return err }, "manage stream s"},
		{func() error { _, err := f.c.ListStreams(f.ctx, &kinesis.ListStreamsInput{}); return err }, "describe stream *"},
		{func() error { _, err := f.c.DescribeLimits(f.ctx, &kinesis.DescribeLimitsInput{}); return err }, "describe stream *"},
		{func() error {
			_, err := f.c.DescribeStream(f.ctx, &kinesis.DescribeStreamInput{StreamName: s})
			return err
		}, "describe stream s"},
		{func() error {
			_, err := f.c.DescribeStreamSummary(f.ctx, &kinesis.DescribeStreamSummaryInput{StreamARN: arn})
			return err
		}, "describe stream s"},
		{func() error { _, err := f.c.ListShards(f.ctx, &kinesis.ListShardsInput{StreamName: s}); return err }, "describe stream s"},
		{func() error {
			_, err := f.c.PutRecord(f.ctx, &kinesis.PutRecordInput{StreamName: s, PartitionKey: s, Data: []byte("x")})
			return err
		}, "publish stream s"},
		{func() error {
			_, err := f.c.PutRecords(f.ctx, &kinesis.PutRecordsInput{StreamName: s, Records: []types.PutRecordsRequestEntry{{PartitionKey: s, Data: []byte("x")}}})
			return err
		}, "publish stream s"},
		{func() error {
			_, err := f.c.GetShardIterator(f.ctx, &kinesis.GetShardIteratorInput{StreamName: s, ShardId: shard, ShardIteratorType: types.ShardIteratorTypeLatest})
			return err
		}, "consume stream s"},
		{func() error {
			_, err := f.c.GetRecords(f.ctx, &kinesis.GetRecordsInput{ShardIterator: aws.String("s/AQ")})
			return err
		}, "consume stream s"},
		{func() error {
			_, err := f.c.IncreaseStreamRetentionPeriod(f.ctx, &kinesis.IncreaseStreamRetentionPeriodInput{StreamName: s, RetentionPeriodHours: aws.Int32(48)})
			return err
		}, "manage stream s"},
		{func() error {
			_, err := f.c.DecreaseStreamRetentionPeriod(f.ctx, &kinesis.DecreaseStreamRetentionPeriodInput{StreamName: s, RetentionPeriodHours: aws.Int32(24)})
			return err
		}, "manage stream s"},
		{func() error {
			_, err := f.c.AddTagsToStream(f.ctx, &kinesis.AddTagsToStreamInput{StreamName: s, Tags: map[string]string{"a": "b"}})
			return err
		}, "manage stream s"},
		{func() error {
			_, err := f.c.RemoveTagsFromStream(f.ctx, &kinesis.RemoveTagsFromStreamInput{StreamName: s, TagKeys: []string{"a"}})
			return err
		}, "manage stream s"},
		{func() error {
			_, err := f.c.ListTagsForStream(f.ctx, &kinesis.ListTagsForStreamInput{StreamName: s})
			return err
		}, "describe stream s"},
		{func() error {
			_, err := f.c.TagResource(f.ctx, &kinesis.TagResourceInput{ResourceARN: arn, Tags: map[string]string{"a": "b"}})
			return err
		}, "manage stream s"},
		{func() error {
			_, err := f.c.UntagResource(f.ctx, &kinesis.UntagResourceInput{ResourceARN: carn, TagKeys: []string{"a"}})
			return err
		}, "manage stream s"},
		{func() error {
			_, err := f.c.ListTagsForResource(f.ctx, &kinesis.ListTagsForResourceInput{ResourceARN: arn})
			return err
		}, "describe stream s"},
		{func() error {
			_, err := f.c.RegisterStreamConsumer(f.ctx, &kinesis.RegisterStreamConsumerInput{StreamARN: arn, ConsumerName: s})
			return err
		}, "manage stream s"},
		{func() error {
			_, err := f.c.DescribeStreamConsumer(f.ctx, &kinesis.DescribeStreamConsumerInput{ConsumerARN: carn})
			return err
		}, "describe stream s"},
		{func() error {
			_, err := f.c.ListStreamConsumers(f.ctx, &kinesis.ListStreamConsumersInput{StreamARN: arn})
			return err
		}, "describe stream s"},
		{func() error {
			_, err := f.c.DeregisterStreamConsumer(f.ctx, &kinesis.DeregisterStreamConsumerInput{ConsumerARN: carn})
			return err
		}, "manage stream s"},
		{func() error {
			_, err := f.c.SubscribeToShard(f.ctx, &kinesis.SubscribeToShardInput{ConsumerARN: carn, ShardId: shard, StartingPosition: &types.StartingPosition{Type: types.ShardIteratorTypeLatest}})
			return err
		}, "consume stream s"},
		{func() error {
			_, err := f.c.UpdateStreamMode(f.ctx, &kinesis.UpdateStreamModeInput{StreamARN: arn, StreamModeDetails: &types.StreamModeDetails{StreamMode: types.StreamModeOnDemand}})
			return err
		}, "manage stream s"},
		{func() error {
			_, err := f.c.UpdateMaxRecordSize(f.ctx, &kinesis.UpdateMaxRecordSizeInput{StreamARN: arn, MaxRecordSizeInKiB: aws.Int32(1024)})
			return err
		}, "manage stream s"},
	} {
		err := c.call()
		awstest.WantCode(t, err, "AccessDeniedException")
		if got := deny.take(); !slices.Equal(got, []string{c.want}) {
			t.Fatalf("asked %v; want [%s]", got, c.want)
		}
	}
	if names := must[[]string](t)(f.b.ListStreams(f.ctx)); slices.Contains(names, "n") {
		t.Fatal("a denied CreateStream created the stream")
	}
}
