package kinesis_test

import (
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/courier-io/courier/awsapi/gateway"
)

// BenchmarkPutRecordsGetRecords puts 500-record batches through the SDK
// and reads them back with GetRecords: records/s counts both directions'
// records once.
func BenchmarkPutRecordsGetRecords(b *testing.B) {
	f := newFixture(b, gateway.Config{})
	f.createStream("bench", 1)
	batch := make([]types.PutRecordsRequestEntry, 500)
	for i := range batch {
		batch[i] = types.PutRecordsRequestEntry{PartitionKey: aws.String(fmt.Sprint("k", i)), Data: make([]byte, 100)}
	}
	it := must[*kinesis.GetShardIteratorOutput](b)(f.c.GetShardIterator(f.ctx, &kinesis.GetShardIteratorInput{
		StreamName: aws.String("bench"), ShardId: aws.String("shardId-000000000000"), ShardIteratorType: types.ShardIteratorTypeLatest,
	})).ShardIterator
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		out, err := f.c.PutRecords(f.ctx, &kinesis.PutRecordsInput{StreamName: aws.String("bench"), Records: batch})
		if err != nil || aws.ToInt32(out.FailedRecordCount) != 0 {
			b.Fatal(err, out)
		}
		for got := 0; got < len(batch); {
			res, err := f.c.GetRecords(f.ctx, &kinesis.GetRecordsInput{ShardIterator: it})
			if err != nil {
				b.Fatal(err)
			}
			got += len(res.Records)
			it = res.NextShardIterator
		}
	}
	b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "records/s")
}
