package kinesis_test

import (
	"fmt"
	"math/big"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	courier "github.com/courier-io/courier"
	"github.com/courier-io/courier/awsapi"
	"github.com/courier-io/courier/awsapi/awstest"
	"github.com/courier-io/courier/awsapi/gateway"
)

func TestStreamLifecycle(t *testing.T) {
	f := newFixture(t, gateway.Config{})
	desc := f.createStream("orders", 3).StreamDescription
	if got := aws.ToString(desc.StreamARN); got != "arn:aws:kinesis:us-east-1:000000000000:stream/orders" {
		t.Errorf("StreamARN %s", got)
	}
	if desc.StreamStatus != types.StreamStatusActive || aws.ToInt32(desc.RetentionPeriodHours) != 24 || desc.EncryptionType != types.EncryptionTypeNone ||
		len(desc.Shards) != 3 || aws.ToBool(desc.HasMoreShards) || desc.StreamCreationTimestamp == nil || desc.StreamModeDetails.StreamMode != types.StreamModeProvisioned ||
		len(desc.EnhancedMonitoring) != 1 {
		t.Fatalf("description %+v", desc)
	}
	if since := time.Since(*desc.StreamCreationTimestamp); since < 0 || since > time.Minute {
		t.Errorf("StreamCreationTimestamp %v", desc.StreamCreationTimestamp)
	}
	// The hash ranges tile [0, 2^128-1] in shard order.
	next := big.NewInt(0)
	for i, s := range desc.Shards {
		if aws.ToString(s.ShardId) != fmt.Sprintf("shardId-%012d", i) {
			t.Errorf("shard %d: id %s", i, aws.ToString(s.ShardId))
		}
		start, _ := new(big.Int).SetString(aws.ToString(s.HashKeyRange.StartingHashKey), 10)
		end, _ := new(big.Int).SetString(aws.ToString(s.HashKeyRange.EndingHashKey), 10)
		if start.Cmp(next) != 0 || end.Cmp(start) < 0 {
			t.Fatalf("shard %d: range %v..%v, want it to start at %v", i, start, end, next)
		}
		next.Add(end, big.NewInt(1))
		if s.SequenceNumberRange.EndingSequenceNumber != nil || aws.ToString(s.SequenceNumberRange.StartingSequenceNumber) == "" {
			t.Errorf("shard %d: sequence range %+v", i, s.SequenceNumberRange)
		}
	}
	if next.Cmp(new(big.Int).Lsh(big.NewInt(1), 128)) != 0 {
		t.Fatalf("ranges end at %v, want 2^128", next)
	}
	_, err := f.c.CreateStream(f.ctx, &kinesis.CreateStreamInput{StreamName: aws.String("orders"), ShardCount: aws.Int32(3)})
	awstest.WantCode(t, err, "ResourceInUseException")

	sum := must[*kinesis.DescribeStreamSummaryOutput](t)(f.c.DescribeStreamSummary(f.ctx, &kinesis.DescribeStreamSummaryInput{StreamARN: desc.StreamARN})).StreamDescriptionSummary
	if aws.ToInt32(sum.OpenShardCount) != 3 || aws.ToInt32(sum.ConsumerCount) != 0 || aws.ToInt32(sum.MaxRecordSizeInKiB) != 1024 || aws.ToString(sum.StreamName) != "orders" {
		t.Fatalf("summary %+v", sum)
	}

	// DescribeStream and ListShards page through shards.
	page := must[*kinesis.DescribeStreamOutput](t)(f.c.DescribeStream(f.ctx, &kinesis.DescribeStreamInput{StreamName: aws.String("orders"), Limit: aws.Int32(2), ExclusiveStartShardId: aws.String("shardId-000000000000")}))
	if ids := shardIDs(page.StreamDescription.Shards); !slices.Equal(ids, []string{"shardId-000000000001", "shardId-000000000002"}) || aws.ToBool(page.StreamDescription.HasMoreShards) {
		t.Fatalf("describe page %v more %v", ids, aws.ToBool(page.StreamDescription.HasMoreShards))
	}
	ls := must[*kinesis.ListShardsOutput](t)(f.c.ListShards(f.ctx, &kinesis.ListShardsInput{StreamName: aws.String("orders"), MaxResults: aws.Int32(2)}))
	if len(ls.Shards) != 2 || ls.NextToken == nil {
		t.Fatalf("ListShards page 1: %v next %v", shardIDs(ls.Shards), ls.NextToken)
	}
	_, err = f.c.ListShards(f.ctx, &kinesis.ListShardsInput{StreamName: aws.String("orders"), NextToken: ls.NextToken})
	awstest.WantCode(t, err, "InvalidArgumentException")
	ls2 := must[*kinesis.ListShardsOutput](t)(f.c.ListShards(f.ctx, &kinesis.ListShardsInput{NextToken: ls.NextToken}))
	if ids := shardIDs(ls2.Shards); !slices.Equal(ids, []string{"shardId-000000000002"}) || ls2.NextToken != nil {
		t.Fatalf("ListShards page 2: %v next %v", ids, ls2.NextToken)
	}
	for _, c := range []struct {
		filter types.ShardFilter
		want   int
		code   string
	}{
		{types.ShardFilter{Type: types.ShardFilterTypeAfterShardId, ShardId: aws.String("shardId-000000000000")}, 2, ""},
		{types.ShardFilter{Type: types.ShardFilterTypeAtTrimHorizon}, 3, ""},
		{types.ShardFilter{Type: types.ShardFilterTypeAtLatest}, 3, ""},
		{types.ShardFilter{Type: types.ShardFilterTypeFromTimestamp, Timestamp: aws.Time(time.Now())}, 3, ""},
		{types.ShardFilter{Type: types.ShardFilterTypeAfterShardId}, 0, "InvalidArgumentException"},
		{types.ShardFilter{Type: types.ShardFilterTypeAtTimestamp}, 0, "InvalidArgumentException"},
		{types.ShardFilter{Type: "SIDEWAYS"}, 0, "ValidationException"},
	} {
		out, err := f.c.ListShards(f.ctx, &kinesis.ListShardsInput{StreamName: aws.String("orders"), ShardFilter: &c.filter})
		if c.code != "" {
			awstest.WantCode(t, err, c.code)
			continue
		}
		if err != nil || len(out.Shards) != c.want {
			t.Fatalf("filter %s: %v, %d shards; want %d", c.filter.Type, err, len(out.Shards), c.want)
		}
	}

	if _, err := f.c.DeleteStream(f.ctx, &kinesis.DeleteStreamInput{StreamName: aws.String("orders")}); err != nil {
		t.Fatal(err)
	}
	_, err = f.c.DescribeStream(f.ctx, &kinesis.DescribeStreamInput{StreamName: aws.String("orders")})
	awstest.WantCode(t, err, "ResourceNotFoundException")
	_, err = f.c.DeleteStream(f.ctx, &kinesis.DeleteStreamInput{StreamName: aws.String("orders")})
	awstest.WantCode(t, err, "ResourceNotFoundException")
}

func shardIDs(shards []types.Shard) []string {
	var out []string
	for _, s := range shards {
		out = append(out, aws.ToString(s.ShardId))
	}
	return out
}

func TestCreateStreamValidation(t *testing.T) {
	f := newFixture(t, gateway.Config{})
	for _, c := range []struct {
		name string
		in   kinesis.CreateStreamInput
		code string
	}{
		{"zero shards", kinesis.CreateStreamInput{StreamName: aws.String("a"), ShardCount: aws.Int32(0)}, "ValidationException"},
		{"too many shards", kinesis.CreateStreamInput{StreamName: aws.String("a"), ShardCount: aws.Int32(1025)}, "LimitExceededException"},
		{"no shard count", kinesis.CreateStreamInput{StreamName: aws.String("a")}, "InvalidArgumentException"},
		{"bad name", kinesis.CreateStreamInput{StreamName: aws.String("a b"), ShardCount: aws.Int32(1)}, "ValidationException"},
		{"long name", kinesis.CreateStreamInput{StreamName: aws.String(string(make([]byte, 129))), ShardCount: aws.Int32(1)}, "ValidationException"},
		{"name over courier's 80", kinesis.CreateStreamInput{StreamName: aws.String(fmt.Sprintf("%0100d", 1)), ShardCount: aws.Int32(1)}, "InvalidArgumentException"},
		{"reserved name", kinesis.CreateStreamInput{StreamName: aws.String("_courier-x"), ShardCount: aws.Int32(1)}, "InvalidArgumentException"},
		{"bad mode", kinesis.CreateStreamInput{StreamName: aws.String("a"), ShardCount: aws.Int32(1), StreamModeDetails: &types.StreamModeDetails{StreamMode: "TURBO"}}, "ValidationException"},
		{"big records", kinesis.CreateStreamInput{StreamName: aws.String("a"), ShardCount: aws.Int32(1), MaxRecordSizeInKiB: aws.Int32(2048)}, "InvalidArgumentException"},
		{"auto distribution", kinesis.CreateStreamInput{StreamName: aws.String("a"), ShardCount: aws.Int32(1), RecordDistributionStrategy: types.RecordDistributionStrategyAuto}, "InvalidArgumentException"},
		{"warm throughput", kinesis.CreateStreamInput{StreamName: aws.String("a"), ShardCount: aws.Int32(1), WarmThroughputMiBps: aws.Int32(10)}, "InvalidArgumentException"},
		{"aws tag", kinesis.CreateStreamInput{StreamName: aws.String("a"), ShardCount: aws.Int32(1), Tags: map[string]string{"aws:x": "y"}}, "InvalidArgumentException"},
	} {
		_, err := f.c.CreateStream(f.ctx, &c.in)
		if err == nil {
			t.Fatalf("%s: created", c.name)
		}
		awstest.WantCode(t, err, c.code)
	}
	if names := must[[]string](t)(f.b.ListStreams(f.ctx)); slices.Contains(names, "a") {
		t.Fatalf("a refused CreateStream created stream a: %v", names)
	}
	// ON_DEMAND without a shard count gets 4 shards.
	if _, err := f.c.CreateStream(f.ctx, &kinesis.CreateStreamInput{StreamName: aws.String("od"), StreamModeDetails: &types.StreamModeDetails{StreamMode: types.StreamModeOnDemand}}); err != nil {
		t.Fatal(err)
	}
	sum := must[*kinesis.DescribeStreamSummaryOutput](t)(f.c.DescribeStreamSummary(f.ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("od")})).StreamDescriptionSummary
	if aws.ToInt32(sum.OpenShardCount) != 4 || sum.StreamModeDetails.StreamMode != types.StreamModeOnDemand {
		t.Fatalf("on-demand summary %+v", sum)
	}
	lim := must[*kinesis.DescribeLimitsOutput](t)(f.c.DescribeLimits(f.ctx, &kinesis.DescribeLimitsInput{}))
	if aws.ToInt32(lim.OpenShardCount) != 4 || aws.ToInt32(lim.OnDemandStreamCount) != 1 || aws.ToInt32(lim.ShardLimit) != 1024 {
		t.Fatalf("limits %+v", lim)
	}
	// UpdateStreamMode switches the mode, keeping the shards.
	if _, err := f.c.UpdateStreamMode(f.ctx, &kinesis.UpdateStreamModeInput{StreamARN: sum.StreamARN, StreamModeDetails: &types.StreamModeDetails{StreamMode: types.StreamModeProvisioned}}); err != nil {
		t.Fatal(err)
	}
	sum = must[*kinesis.DescribeStreamSummaryOutput](t)(f.c.DescribeStreamSummary(f.ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("od")})).StreamDescriptionSummary
	if sum.StreamModeDetails.StreamMode != types.StreamModeProvisioned || aws.ToInt32(sum.OpenShardCount) != 4 {
		t.Fatalf("after UpdateStreamMode %+v", sum)
	}
	// UpdateMaxRecordSize takes courier's 1 MiB, not more.
	_, err := f.c.UpdateMaxRecordSize(f.ctx, &kinesis.UpdateMaxRecordSizeInput{StreamARN: sum.StreamARN, MaxRecordSizeInKiB: aws.Int32(4096)})
	awstest.WantCode(t, err, "InvalidArgumentException")
	_, err = f.c.UpdateMaxRecordSize(f.ctx, &kinesis.UpdateMaxRecordSizeInput{StreamARN: sum.StreamARN, MaxRecordSizeInKiB: aws.Int32(100)})
	awstest.WantCode(t, err, "ValidationException")
	if _, err := f.c.UpdateMaxRecordSize(f.ctx, &kinesis.UpdateMaxRecordSizeInput{StreamARN: sum.StreamARN, MaxRecordSizeInKiB: aws.Int32(1024)}); err != nil {
		t.Fatal(err)
	}
}

func TestListStreamsHidesCourierStreams(t *testing.T) {
	f := newFixture(t, gateway.Config{})
	for _, n := range []string{"c", "a", "b"} {
		f.createStream(n, 1)
	}
	if _, err := f.b.CreateStream(f.ctx, "_courier-internal"); err != nil {
		t.Fatal(err)
	}
	all := must[*kinesis.ListStreamsOutput](t)(f.c.ListStreams(f.ctx, &kinesis.ListStreamsInput{}))
	if !slices.Equal(all.StreamNames, []string{"a", "b", "c"}) || aws.ToBool(all.HasMoreStreams) || len(all.StreamSummaries) != 3 {
		t.Fatalf("ListStreams %v more %v", all.StreamNames, aws.ToBool(all.HasMoreStreams))
	}
	if s := all.StreamSummaries[1]; aws.ToString(s.StreamARN) != "arn:aws:kinesis:us-east-1:000000000000:stream/b" || s.StreamStatus != types.StreamStatusActive || s.StreamCreationTimestamp == nil {
		t.Fatalf("summary %+v", s)
	}
	p1 := must[*kinesis.ListStreamsOutput](t)(f.c.ListStreams(f.ctx, &kinesis.ListStreamsInput{Limit: aws.Int32(2)}))
	if !slices.Equal(p1.StreamNames, []string{"a", "b"}) || !aws.ToBool(p1.HasMoreStreams) || p1.NextToken == nil {
		t.Fatalf("page 1 %v", p1.StreamNames)
	}
	p2 := must[*kinesis.ListStreamsOutput](t)(f.c.ListStreams(f.ctx, &kinesis.ListStreamsInput{NextToken: p1.NextToken}))
	p3 := must[*kinesis.ListStreamsOutput](t)(f.c.ListStreams(f.ctx, &kinesis.ListStreamsInput{ExclusiveStartStreamName: aws.String("a")}))
	if !slices.Equal(p2.StreamNames, []string{"c"}) || !slices.Equal(p3.StreamNames, []string{"b", "c"}) {
		t.Fatalf("pages %v, %v", p2.StreamNames, p3.StreamNames)
	}
	for _, name := range []string{awsapi.MetaStream, "_courier-internal"} {
		_, err := f.c.DescribeStream(f.ctx, &kinesis.DescribeStreamInput{StreamName: aws.String(name)})
		awstest.WantCode(t, err, "ResourceNotFoundException")
		_, err = f.c.PutRecord(f.ctx, &kinesis.PutRecordInput{StreamName: aws.String(name), PartitionKey: aws.String("k"), Data: []byte("x")})
		awstest.WantCode(t, err, "ResourceNotFoundException")
		_, err = f.c.DeleteStream(f.ctx, &kinesis.DeleteStreamInput{StreamName: aws.String(name)})
		awstest.WantCode(t, err, "ResourceNotFoundException")
	}
}

func TestRetention(t *testing.T) {
	f := newFixture(t, gateway.Config{})
	f.createStream("r", 1)
	retention := func() time.Duration {
		return must[courier.StreamInfo](t)(f.b.Stream("r").Info(f.ctx)).Attributes.Retention
	}
	if got := retention(); got != 24*time.Hour {
		t.Fatalf("courier retention %v; want 24h", got)
	}
	name := aws.String("r")
	if _, err := f.c.IncreaseStreamRetentionPeriod(f.ctx, &kinesis.IncreaseStreamRetentionPeriodInput{StreamName: name, RetentionPeriodHours: aws.Int32(168)}); err != nil {
		t.Fatal(err)
	}
	if got := retention(); got != 168*time.Hour {
		t.Fatalf("after increase: %v", got)
	}
	desc := f.createStreamDesc("r")
	if aws.ToInt32(desc.RetentionPeriodHours) != 168 {
		t.Fatalf("RetentionPeriodHours %d", aws.ToInt32(desc.RetentionPeriodHours))
	}
	_, err := f.c.IncreaseStreamRetentionPeriod(f.ctx, &kinesis.IncreaseStreamRetentionPeriodInput{StreamName: name, RetentionPeriodHours: aws.Int32(48)})
	awstest.WantCode(t, err, "InvalidArgumentException")
	_, err = f.c.DecreaseStreamRetentionPeriod(f.ctx, &kinesis.DecreaseStreamRetentionPeriodInput{StreamName: name, RetentionPeriodHours: aws.Int32(200)})
	awstest.WantCode(t, err, "InvalidArgumentException")
	_, err = f.c.DecreaseStreamRetentionPeriod(f.ctx, &kinesis.DecreaseStreamRetentionPeriodInput{StreamName: name, RetentionPeriodHours: aws.Int32(12)})
	awstest.WantCode(t, err, "InvalidArgumentException")
	_, err = f.c.IncreaseStreamRetentionPeriod(f.ctx, &kinesis.IncreaseStreamRetentionPeriodInput{StreamName: name, RetentionPeriodHours: aws.Int32(8761)})
	awstest.WantCode(t, err, "InvalidArgumentException")
	if got := retention(); got != 168*time.Hour {
		t.Fatalf("refused changes changed retention to %v", got)
	}
	if _, err := f.c.DecreaseStreamRetentionPeriod(f.ctx, &kinesis.DecreaseStreamRetentionPeriodInput{StreamName: name, RetentionPeriodHours: aws.Int32(24)}); err != nil {
		t.Fatal(err)
	}
	if got := retention(); got != 24*time.Hour {
		t.Fatalf("after decrease: %v", got)
	}
	_, err = f.c.DecreaseStreamRetentionPeriod(f.ctx, &kinesis.DecreaseStreamRetentionPeriodInput{StreamName: aws.String("missing"), RetentionPeriodHours: aws.Int32(24)})
	awstest.WantCode(t, err, "ResourceNotFoundException")
}

func (f *fixture) createStreamDesc(name string) *types.StreamDescription {
	f.t.Helper()
	return must[*kinesis.DescribeStreamOutput](f.t)(f.c.DescribeStream(f.ctx, &kinesis.DescribeStreamInput{StreamName: aws.String(name)})).StreamDescription
}

func TestUnsupportedAndUnknownActions(t *testing.T) {
	f := newFixture(t, gateway.Config{})
	f.createStream("u", 2)
	_, err := f.c.SplitShard(f.ctx, &kinesis.SplitShardInput{StreamName: aws.String("u"), ShardToSplit: aws.String("shardId-000000000000"), NewStartingHashKey: aws.String("1")})
	awstest.WantCode(t, err, "UnknownOperationException")
	_, err = f.c.MergeShards(f.ctx, &kinesis.MergeShardsInput{StreamName: aws.String("u"), ShardToMerge: aws.String("shardId-000000000000"), AdjacentShardToMerge: aws.String("shardId-000000000001")})
	awstest.WantCode(t, err, "UnknownOperationException")
	_, err = f.c.UpdateShardCount(f.ctx, &kinesis.UpdateShardCountInput{StreamName: aws.String("u"), TargetShardCount: aws.Int32(4), ScalingType: types.ScalingTypeUniformScaling})
	awstest.WantCode(t, err, "UnknownOperationException")
	_, err = f.c.StartStreamEncryption(f.ctx, &kinesis.StartStreamEncryptionInput{StreamName: aws.String("u"), EncryptionType: types.EncryptionTypeKms, KeyId: aws.String("k")})
	awstest.WantCode(t, err, "UnknownOperationException")
	_, err = f.c.EnableEnhancedMonitoring(f.ctx, &kinesis.EnableEnhancedMonitoringInput{StreamName: aws.String("u"), ShardLevelMetrics: []types.MetricsName{types.MetricsNameAll}})
	awstest.WantCode(t, err, "UnknownOperationException")
	if n := len(f.createStreamDesc("u").Shards); n != 2 {
		t.Fatalf("refused actions changed the shards: %d", n)
	}
}
