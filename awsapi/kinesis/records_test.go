package kinesis_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	courier "github.com/courier-io/courier"
	"github.com/courier-io/courier/awsapi/awstest"
	"github.com/courier-io/courier/awsapi/gateway"
)

// shardOfHash returns the shard whose HashKeyRange holds h.
func shardOfHash(t *testing.T, shards []types.Shard, h *big.Int) string {
	t.Helper()
	for _, s := range shards {
		start, _ := new(big.Int).SetString(aws.ToString(s.HashKeyRange.StartingHashKey), 10)
		end, _ := new(big.Int).SetString(aws.ToString(s.HashKeyRange.EndingHashKey), 10)
		if h.Cmp(start) >= 0 && h.Cmp(end) <= 0 {
			return aws.ToString(s.ShardId)
		}
	}
	t.Fatalf("no shard holds %v", h)
	return ""
}

// seqLess compares sequence numbers as big integers, as the KCL does.
func seqLess(a, b string) bool {
	x, _ := new(big.Int).SetString(a, 10)
	y, _ := new(big.Int).SetString(b, 10)
	return x.Cmp(y) < 0
}

// readShard reads a shard from TRIM_HORIZON to its end.
func (f *fixture) readShard(stream, shard string) []types.Record {
	f.t.Helper()
	it := must[*kinesis.GetShardIteratorOutput](f.t)(f.c.GetShardIterator(f.ctx, &kinesis.GetShardIteratorInput{
		StreamName: aws.String(stream), ShardId: aws.String(shard), ShardIteratorType: types.ShardIteratorTypeTrimHorizon,
	})).ShardIterator
	var out []types.Record
	for {
		res := must[*kinesis.GetRecordsOutput](f.t)(f.c.GetRecords(f.ctx, &kinesis.GetRecordsInput{ShardIterator: it, Limit: aws.Int32(7)}))
		out = append(out, res.Records...)
		if len(res.Records) == 0 {
			return out
		}
		it = res.NextShardIterator
	}
}

func TestPutRecordRoutingAndOrder(t *testing.T) {
	f := newFixture(t, gateway.Config{})
	shards := f.createStream("clicks", 4).StreamDescription.Shards
	type put struct{ key, data, shard, seq string }
	var puts []put
	for i := range 60 {
		key := fmt.Sprintf("user-%d", i%13)
		data := fmt.Sprintf("click-%d", i)
		out := must[*kinesis.PutRecordOutput](t)(f.c.PutRecord(f.ctx, &kinesis.PutRecordInput{StreamName: aws.String("clicks"), PartitionKey: aws.String(key), Data: []byte(data)}))
		sum := md5.Sum([]byte(key))
		if want := shardOfHash(t, shards, new(big.Int).SetBytes(sum[:])); aws.ToString(out.ShardId) != want {
			t.Fatalf("key %s went to %s; its MD5 is in %s", key, aws.ToString(out.ShardId), want)
		}
		if out.EncryptionType != types.EncryptionTypeNone {
			t.Errorf("EncryptionType %q", out.EncryptionType)
		}
		puts = append(puts, put{key, data, aws.ToString(out.ShardId), aws.ToString(out.SequenceNumber)})
	}
	// Sequence numbers: the Kinesis pattern, increasing within a shard as
	// big integers and as strings.
	last := map[string]string{}
	for _, p := range puts {
		if p.seq == "" || p.seq[0] == '0' || strings.Trim(p.seq, "0123456789") != "" {
			t.Fatalf("sequence number %q does not match 0|([1-9]\\d{0,128})", p.seq)
		}
		if prev, ok := last[p.shard]; ok && (!seqLess(prev, p.seq) || prev >= p.seq) {
			t.Fatalf("shard %s: %s after %s", p.shard, p.seq, prev)
		}
		last[p.shard] = p.seq
	}
	// Each shard returns its records in put order with key, data, sequence
	// number and arrival time.
	for _, s := range shards {
		id := aws.ToString(s.ShardId)
		var want []put
		for _, p := range puts {
			if p.shard == id {
				want = append(want, p)
			}
		}
		got := f.readShard("clicks", id)
		if len(got) != len(want) {
			t.Fatalf("shard %s: %d records; want %d", id, len(got), len(want))
		}
		for i, r := range got {
			w := want[i]
			if aws.ToString(r.PartitionKey) != w.key || string(r.Data) != w.data || aws.ToString(r.SequenceNumber) != w.seq {
				t.Fatalf("shard %s record %d: %s %s %s; want %+v", id, i, aws.ToString(r.PartitionKey), r.Data, aws.ToString(r.SequenceNumber), w)
			}
			if r.ApproximateArrivalTimestamp == nil || time.Since(*r.ApproximateArrivalTimestamp) > time.Minute {
				t.Fatalf("ApproximateArrivalTimestamp %v", r.ApproximateArrivalTimestamp)
			}
		}
	}
}

func TestExplicitHashKey(t *testing.T) {
	f := newFixture(t, gateway.Config{})
	shards := f.createStream("e", 3).StreamDescription.Shards
	for _, c := range []struct {
		key, shard string
	}{
		{aws.ToString(shards[2].HashKeyRange.StartingHashKey), "shardId-000000000002"},
		{aws.ToString(shards[0].HashKeyRange.EndingHashKey), "shardId-000000000000"},
		{aws.ToString(shards[1].HashKeyRange.StartingHashKey), "shardId-000000000001"},
		{"0", "shardId-000000000000"},
		{new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 128), big.NewInt(1)).String(), "shardId-000000000002"},
	} {
		out, err := f.c.PutRecord(f.ctx, &kinesis.PutRecordInput{StreamName: aws.String("e"), PartitionKey: aws.String("same"), Data: []byte("x"), ExplicitHashKey: aws.String(c.key)})
		if err != nil || aws.ToString(out.ShardId) != c.shard {
			t.Fatalf("hash key %s: %v %v; want %s", c.key, err, out, c.shard)
		}
	}
	_, err := f.c.PutRecord(f.ctx, &kinesis.PutRecordInput{StreamName: aws.String("e"), PartitionKey: aws.String("k"), Data: []byte("x"), ExplicitHashKey: aws.String(new(big.Int).Lsh(big.NewInt(1), 128).String())})
	awstest.WantCode(t, err, "InvalidArgumentException")
	_, err = f.c.PutRecord(f.ctx, &kinesis.PutRecordInput{StreamName: aws.String("e"), PartitionKey: aws.String("k"), Data: []byte("x"), ExplicitHashKey: aws.String("012")})
	awstest.WantCode(t, err, "ValidationException")
}

func TestPutRecordValidation(t *testing.T) {
	f := newFixture(t, gateway.Config{})
	f.createStream("v", 1)
	name := aws.String("v")
	for _, c := range []struct {
		in   kinesis.PutRecordInput
		code string
	}{
		{kinesis.PutRecordInput{StreamName: name, PartitionKey: aws.String(strings.Repeat("é", 257)), Data: []byte("x")}, "ValidationException"},
		{kinesis.PutRecordInput{StreamName: name, PartitionKey: aws.String(""), Data: []byte("x")}, "ValidationException"},
		{kinesis.PutRecordInput{StreamName: name, PartitionKey: aws.String("k"), Data: make([]byte, 1<<20)}, "InvalidArgumentException"},
		{kinesis.PutRecordInput{StreamName: name, PartitionKey: aws.String("k"), Data: []byte("x"), SequenceNumberForOrdering: aws.String("x1")}, "ValidationException"},
		{kinesis.PutRecordInput{StreamName: aws.String("missing"), PartitionKey: aws.String("k"), Data: []byte("x")}, "ResourceNotFoundException"},
		{kinesis.PutRecordInput{StreamARN: aws.String("arn:aws:kinesis:eu-west-1:000000000000:stream/v"), PartitionKey: aws.String("k"), Data: []byte("x")}, "InvalidArgumentException"},
		{kinesis.PutRecordInput{StreamName: name, StreamARN: aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/w"), PartitionKey: aws.String("k"), Data: []byte("x")}, "InvalidArgumentException"},
		{kinesis.PutRecordInput{PartitionKey: aws.String("k"), Data: []byte("x")}, "InvalidArgumentException"},
		{kinesis.PutRecordInput{StreamName: name, PartitionKey: aws.String("k"), Data: []byte("x"), DryRun: aws.Bool(true)}, "DryRunOperationException"},
	} {
		_, err := f.c.PutRecord(f.ctx, &c.in)
		awstest.WantCode(t, err, c.code)
	}
	// A record of exactly 1 MiB (data and key) fits; by ARN; with a
	// sequence number for ordering.
	first := must[*kinesis.PutRecordOutput](t)(f.c.PutRecord(f.ctx, &kinesis.PutRecordInput{StreamARN: aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/v"), PartitionKey: aws.String("k"), Data: make([]byte, 1<<20-1)}))
	if _, err := f.c.PutRecord(f.ctx, &kinesis.PutRecordInput{StreamName: name, PartitionKey: aws.String("k"), Data: []byte("y"), SequenceNumberForOrdering: first.SequenceNumber}); err != nil {
		t.Fatal(err)
	}
	if recs := f.readShard("v", "shardId-000000000000"); len(recs) != 2 {
		t.Fatalf("%d records; refused puts must store nothing", len(recs))
	}
}

func TestPutRecordsPartialFailure(t *testing.T) {
	f := newFixture(t, gateway.Config{})
	// A courier stream with 2 KiB records: a 4 KiB record fails alone.
	if _, err := f.b.CreateStream(f.ctx, "small", courier.Partitions(2), courier.MaxRecordSize(2048)); err != nil {
		t.Fatal(err)
	}
	out := must[*kinesis.PutRecordsOutput](t)(f.c.PutRecords(f.ctx, &kinesis.PutRecordsInput{StreamName: aws.String("small"), Records: []types.PutRecordsRequestEntry{
		{PartitionKey: aws.String("a"), Data: []byte("first")},
		{PartitionKey: aws.String("b"), Data: make([]byte, 4096)},
		{PartitionKey: aws.String("c"), Data: []byte("third"), ExplicitHashKey: aws.String("0")},
	}}))
	if aws.ToInt32(out.FailedRecordCount) != 1 || len(out.Records) != 3 {
		t.Fatalf("FailedRecordCount %d, %d results", aws.ToInt32(out.FailedRecordCount), len(out.Records))
	}
	if r := out.Records[1]; aws.ToString(r.ErrorCode) != "InvalidArgumentException" || aws.ToString(r.ErrorMessage) == "" || r.SequenceNumber != nil {
		t.Fatalf("failed entry %+v", r)
	}
	for _, i := range []int{0, 2} {
		if r := out.Records[i]; r.ErrorCode != nil || r.SequenceNumber == nil || r.ShardId == nil {
			t.Fatalf("entry %d %+v", i, r)
		}
	}
	if aws.ToString(out.Records[2].ShardId) != "shardId-000000000000" {
		t.Fatalf("explicit hash key 0 went to %s", aws.ToString(out.Records[2].ShardId))
	}
	var stored int
	for _, s := range []string{"shardId-000000000000", "shardId-000000000001"} {
		for _, r := range f.readShard("small", s) {
			stored++
			if len(r.Data) > 5 {
				t.Fatalf("the oversized record was stored")
			}
		}
	}
	if stored != 2 {
		t.Fatalf("%d stored; want 2", stored)
	}

	f.createStream("big", 1)
	many := make([]types.PutRecordsRequestEntry, 501)
	for i := range many {
		many[i] = types.PutRecordsRequestEntry{PartitionKey: aws.String("k"), Data: []byte("x")}
	}
	_, err := f.c.PutRecords(f.ctx, &kinesis.PutRecordsInput{StreamName: aws.String("big"), Records: many})
	awstest.WantCode(t, err, "ValidationException")
	_, err = f.c.PutRecords(f.ctx, &kinesis.PutRecordsInput{StreamName: aws.String("big"), Records: []types.PutRecordsRequestEntry{}})
	awstest.WantCode(t, err, "ValidationException")
	huge := make([]types.PutRecordsRequestEntry, 6)
	for i := range huge {
		huge[i] = types.PutRecordsRequestEntry{PartitionKey: aws.String("k"), Data: make([]byte, 1<<20-8)}
	}
	_, err = f.c.PutRecords(f.ctx, &kinesis.PutRecordsInput{StreamName: aws.String("big"), Records: huge})
	awstest.WantCode(t, err, "InvalidArgumentException")
	out = must[*kinesis.PutRecordsOutput](t)(f.c.PutRecords(f.ctx, &kinesis.PutRecordsInput{StreamName: aws.String("big"), Records: many[:500]}))
	if aws.ToInt32(out.FailedRecordCount) != 0 || len(out.Records) != 500 || !seqLess(aws.ToString(out.Records[0].SequenceNumber), aws.ToString(out.Records[499].SequenceNumber)) {
		t.Fatalf("500 records: failed %d, %d results", aws.ToInt32(out.FailedRecordCount), len(out.Records))
	}
	if n := len(f.readShard("big", "shardId-000000000000")); n != 500 {
		t.Fatalf("%d records stored; want 500 (refused batches store nothing)", n)
	}
}

func TestShardIteratorTypes(t *testing.T) {
	f := newFixture(t, gateway.Config{})
	f.createStream("it", 1)
	var seqs []string
	for i := range 5 {
		out := must[*kinesis.PutRecordOutput](t)(f.c.PutRecord(f.ctx, &kinesis.PutRecordInput{StreamName: aws.String("it"), PartitionKey: aws.String("k"), Data: []byte{byte('0' + i)}}))
		seqs = append(seqs, aws.ToString(out.SequenceNumber))
	}
	start := aws.ToString(f.createStreamDesc("it").Shards[0].SequenceNumberRange.StartingSequenceNumber)
	first := func(typ types.ShardIteratorType, seq *string) string {
		t.Helper()
		it := must[*kinesis.GetShardIteratorOutput](t)(f.c.GetShardIterator(f.ctx, &kinesis.GetShardIteratorInput{
			StreamName: aws.String("it"), ShardId: aws.String("shardId-000000000000"), ShardIteratorType: typ, StartingSequenceNumber: seq,
		}))
		res := must[*kinesis.GetRecordsOutput](t)(f.c.GetRecords(f.ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator, Limit: aws.Int32(1)}))
		if len(res.Records) == 0 {
			return ""
		}
		if aws.ToInt64(res.MillisBehindLatest) < 0 || res.NextShardIterator == nil {
			t.Fatalf("GetRecords %+v", res)
		}
		return string(res.Records[0].Data)
	}
	for _, c := range []struct {
		typ  types.ShardIteratorType
		seq  *string
		want string
	}{
		{types.ShardIteratorTypeTrimHorizon, nil, "0"},
		{types.ShardIteratorTypeLatest, nil, ""},
		{types.ShardIteratorTypeAtSequenceNumber, &seqs[2], "2"},
		{types.ShardIteratorTypeAfterSequenceNumber, &seqs[2], "3"},
		{types.ShardIteratorTypeAfterSequenceNumber, &seqs[4], ""},
		{types.ShardIteratorTypeAfterSequenceNumber, &start, "0"},
		{types.ShardIteratorTypeAtSequenceNumber, &start, "0"},
	} {
		if got := first(c.typ, c.seq); got != c.want {
			t.Fatalf("%s %v: first record %q; want %q", c.typ, aws.ToString(c.seq), got, c.want)
		}
	}
	// LATEST sees what is put after it was issued.
	latest := must[*kinesis.GetShardIteratorOutput](t)(f.c.GetShardIterator(f.ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("it"), ShardId: aws.String("shardId-000000000000"), ShardIteratorType: types.ShardIteratorTypeLatest}))
	must[*kinesis.PutRecordOutput](t)(f.c.PutRecord(f.ctx, &kinesis.PutRecordInput{StreamName: aws.String("it"), PartitionKey: aws.String("k"), Data: []byte("5")}))
	res := must[*kinesis.GetRecordsOutput](t)(f.c.GetRecords(f.ctx, &kinesis.GetRecordsInput{ShardIterator: latest.ShardIterator, StreamARN: aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/it")}))
	if len(res.Records) != 1 || string(res.Records[0].Data) != "5" || aws.ToInt64(res.MillisBehindLatest) != 0 {
		t.Fatalf("LATEST read %+v", res.Records)
	}

	future := seqs[4][:len(seqs[4])-1] + "9"
	for _, c := range []struct {
		in   kinesis.GetShardIteratorInput
		code string
	}{
		{kinesis.GetShardIteratorInput{StreamName: aws.String("it"), ShardId: aws.String("shardId-000000000001"), ShardIteratorType: types.ShardIteratorTypeLatest}, "ResourceNotFoundException"},
		{kinesis.GetShardIteratorInput{StreamName: aws.String("it"), ShardId: aws.String("shardId-000000000000"), ShardIteratorType: types.ShardIteratorTypeAtSequenceNumber}, "InvalidArgumentException"},
		{kinesis.GetShardIteratorInput{StreamName: aws.String("it"), ShardId: aws.String("shardId-000000000000"), ShardIteratorType: types.ShardIteratorTypeAtSequenceNumber, StartingSequenceNumber: aws.String("12345")}, "InvalidArgumentException"},
		{kinesis.GetShardIteratorInput{StreamName: aws.String("it"), ShardId: aws.String("shardId-000000000000"), ShardIteratorType: types.ShardIteratorTypeAtSequenceNumber, StartingSequenceNumber: &future}, "InvalidArgumentException"},
		{kinesis.GetShardIteratorInput{StreamName: aws.String("it"), ShardId: aws.String("shardId-000000000000"), ShardIteratorType: types.ShardIteratorTypeAtTimestamp}, "InvalidArgumentException"},
		{kinesis.GetShardIteratorInput{StreamName: aws.String("it"), ShardId: aws.String("shardId-000000000000"), ShardIteratorType: types.ShardIteratorTypeAtTimestamp, Timestamp: aws.Time(time.Now().Add(time.Hour))}, "InvalidArgumentException"},
		{kinesis.GetShardIteratorInput{StreamName: aws.String("it"), ShardId: aws.String("shardId-000000000000"), ShardIteratorType: "SIDEWAYS"}, "ValidationException"},
	} {
		_, err := f.c.GetShardIterator(f.ctx, &c.in)
		awstest.WantCode(t, err, c.code)
	}
	for _, it := range []string{"garbage", "it/garbage", "_courier-aws-meta/x", strings.Repeat("a", 513)} {
		_, err := f.c.GetRecords(f.ctx, &kinesis.GetRecordsInput{ShardIterator: aws.String(it)})
		if err == nil {
			t.Fatalf("iterator %q accepted", it)
		}
	}
	_, err := f.c.GetRecords(f.ctx, &kinesis.GetRecordsInput{ShardIterator: latest.ShardIterator, Limit: aws.Int32(10001)})
	awstest.WantCode(t, err, "ValidationException")
}

// TestIteratorTime covers AT_TIMESTAMP and the expiry of iterators with
// a fake clock: the SDK client is served in process inside a synctest
// bubble.
func TestIteratorTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		b, err := courier.Open(ctx, "mem://")
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		c := inProcess(t, b)
		if _, err := c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("t"), ShardCount: aws.Int32(1)}); err != nil {
			t.Fatal(err)
		}
		put := func(data string) {
			if _, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("t"), PartitionKey: aws.String("k"), Data: []byte(data)}); err != nil {
				t.Fatal(err)
			}
		}
		put("old")
		time.Sleep(time.Minute)
		mark := time.Now()
		time.Sleep(time.Second)
		put("new")
		it := func(typ types.ShardIteratorType, at *time.Time) *string {
			out, err := c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("t"), ShardId: aws.String("shardId-000000000000"), ShardIteratorType: typ, Timestamp: at})
			if err != nil {
				t.Fatal(err)
			}
			return out.ShardIterator
		}
		res, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it(types.ShardIteratorTypeAtTimestamp, &mark)})
		if err != nil || len(res.Records) != 1 || string(res.Records[0].Data) != "new" {
			t.Fatalf("AT_TIMESTAMP: %v %v", err, res)
		}
		if got := res.Records[0].ApproximateArrivalTimestamp; !got.Equal(mark.Add(time.Second).Truncate(time.Millisecond)) {
			t.Fatalf("ApproximateArrivalTimestamp %v; want %v", got, mark.Add(time.Second))
		}
		res, err = c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it(types.ShardIteratorTypeAtTimestamp, aws.Time(time.Unix(0, 0)))})
		if err != nil || len(res.Records) != 2 {
			t.Fatalf("AT_TIMESTAMP epoch: %v %v", err, res)
		}
		// MillisBehindLatest: reading the old record, one behind the newest.
		res, err = c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it(types.ShardIteratorTypeTrimHorizon, nil), Limit: aws.Int32(1)})
		if err != nil || aws.ToInt64(res.MillisBehindLatest) != (61*time.Second).Milliseconds() {
			t.Fatalf("MillisBehindLatest %v (%v); want 61000", aws.ToInt64(res.MillisBehindLatest), err)
		}

		// An iterator expires after 5 minutes; the next one is fresh.
		stale := it(types.ShardIteratorTypeTrimHorizon, nil)
		time.Sleep(4 * time.Minute)
		res, err = c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: stale, Limit: aws.Int32(1)})
		if err != nil {
			t.Fatalf("a 4-minute-old iterator: %v", err)
		}
		time.Sleep(2 * time.Minute)
		_, err = c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: stale})
		awstest.WantCode(t, err, "ExpiredIteratorException")
		if _, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: res.NextShardIterator}); err != nil {
			t.Fatalf("the NextShardIterator of the 4-minute-old iterator, 2 minutes later: %v", err)
		}
		fresh := it(types.ShardIteratorTypeTrimHorizon, nil)
		time.Sleep(4 * time.Minute)
		res, err = c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: fresh, Limit: aws.Int32(1)})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(4 * time.Minute)
		res, err = c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: res.NextShardIterator})
		if err != nil || len(res.Records) != 1 || !bytes.Equal(res.Records[0].Data, []byte("new")) {
			t.Fatalf("NextShardIterator 4 minutes later: %v %v", err, res)
		}
	})
}

// TestNextTokenExpiry: ListShards and ListStreamConsumers tokens last 300
// seconds, as in Kinesis.
func TestNextTokenExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		b, err := courier.Open(ctx, "mem://")
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		c := inProcess(t, b)
		if _, err := c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("t"), ShardCount: aws.Int32(3)}); err != nil {
			t.Fatal(err)
		}
		page, err := c.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String("t"), MaxResults: aws.Int32(1)})
		if err != nil || page.NextToken == nil {
			t.Fatal(err)
		}
		time.Sleep(299 * time.Second)
		if _, err := c.ListShards(ctx, &kinesis.ListShardsInput{NextToken: page.NextToken}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Second)
		_, err = c.ListShards(ctx, &kinesis.ListShardsInput{NextToken: page.NextToken})
		awstest.WantCode(t, err, "ExpiredNextTokenException")
	})
}
