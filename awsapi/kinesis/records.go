package kinesis

import (
	"errors"
	"fmt"
	"strings"
	"time"

	courier "github.com/courier-io/courier"
	"github.com/courier-io/courier/awsapi"
)

// route returns the shard of a record of k: by its ExplicitHashKey when
// given, else by the MD5 of its partition key.
func (k *kstream) route(partitionKey string, explicit *string) (int, error) {
	if explicit != nil {
		return shardForHashKey(*explicit, k.shards())
	}
	return shardForPartitionKey(partitionKey, k.shards()), nil
}

// recordSize is what a record counts against the stream's record size
// limit: its data and partition key, as in Kinesis (and as courier counts
// a record's key and value).
func recordSize(data []byte, partitionKey string) int { return len(data) + len(partitionKey) }

// tooLarge is the error of a record over the stream's record size limit.
func (k *kstream) tooLarge(size int) error {
	return invalid("the record is %d bytes (data and partition key); stream %s takes records of at most %d bytes (MaxRecordSizeInKiB %d)",
		size, k.name, k.info.Attributes.MaxRecordSize, k.info.Attributes.MaxRecordSize>>10)
}

func (s *Service) putRecord(c *call, in *putRecordInput) (any, error) {
	k, err := s.lookupRef(c, awsapi.Publish, &in.streamRef)
	if err != nil {
		return nil, err
	}
	shard, err := k.route(*in.PartitionKey, in.ExplicitHashKey)
	if err != nil {
		return nil, err
	}
	if size := recordSize(*in.Data, *in.PartitionKey); size > k.info.Attributes.MaxRecordSize {
		return nil, k.tooLarge(size)
	}
	// SequenceNumberForOrdering asks for a sequence number greater than
	// the given one for the partition key: courier offsets only grow
	// within a shard, so every append already keeps it.
	if err := dryRun(in.DryRun); err != nil {
		return nil, err
	}
	res, err := k.st.Append(c.ctx, courier.Record{Key: []byte(*in.PartitionKey), Value: *in.Data, Partition: shard})
	if err != nil {
		return nil, s.courierError(k.name, err)
	}
	return &putRecordOutput{ShardID: shardID(res.Partition), SequenceNumber: sequenceNumber(res.Offset), EncryptionType: "NONE"}, nil
}

func (s *Service) putRecords(c *call, in *putRecordsInput) (any, error) {
	total := 0
	for i := range in.Records {
		total += recordSize(*in.Records[i].Data, *in.Records[i].PartitionKey)
	}
	if total > maxPutRecordsBytes {
		return nil, invalid("the records total %d bytes (data and partition keys); a PutRecords request takes at most %d", total, maxPutRecordsBytes)
	}
	k, err := s.lookupRef(c, awsapi.Publish, &in.streamRef)
	if err != nil {
		return nil, err
	}
	out := &putRecordsOutput{Records: make([]putRecordsResultEntry, len(in.Records)), EncryptionType: "NONE"}
	batch := make([]courier.Record, 0, len(in.Records))
	index := make([]int, 0, len(in.Records)) // batch position -> request position
	for i := range in.Records {
		r := &in.Records[i]
		shard, err := k.route(*r.PartitionKey, r.ExplicitHashKey)
		if err != nil {
			return nil, err
		}
		if size := recordSize(*r.Data, *r.PartitionKey); size > k.info.Attributes.MaxRecordSize {
			out.Records[i] = failedEntry(codeInvalidArgument, k.tooLarge(size))
			continue
		}
		batch = append(batch, courier.Record{Key: []byte(*r.PartitionKey), Value: *r.Data, Partition: shard})
		index = append(index, i)
	}
	if err := dryRun(in.DryRun); err != nil {
		return nil, err
	}
	if len(batch) > 0 {
		res, err := k.st.AppendBatch(c.ctx, batch)
		if err != nil {
			return nil, s.courierError(k.name, err)
		}
		for j, r := range res {
			i := index[j]
			if r.Err != nil {
				e := awsapi.AsError(s.courierError(k.name, r.Err))
				code := e.Code
				if e.Server {
					code = "InternalFailure"
				}
				out.Records[i] = failedEntry(code, e)
				continue
			}
			seq, id := sequenceNumber(r.Offset), shardID(r.Partition)
			out.Records[i] = putRecordsResultEntry{SequenceNumber: &seq, ShardID: &id}
		}
	}
	for _, r := range out.Records {
		if r.ErrorCode != nil {
			out.FailedRecordCount++
		}
	}
	return out, nil
}

// failedEntry is the PutRecords result of a record that was not stored.
func failedEntry(code string, err error) putRecordsResultEntry {
	msg := awsapi.AsError(err).Message
	return putRecordsResultEntry{ErrorCode: &code, ErrorMessage: &msg}
}

// badSequence is the error of a sequence number that does not belong to
// the shard.
func (s *Service) badSequence(seq, shard, stream string) error {
	return invalid("StartingSequenceNumber %s used in GetShardIterator on shard %s in stream %s under account %s is invalid.", seq, shard, stream, s.env.AccountID)
}

// shardNotFound is the error of a shard the stream does not have.
func (s *Service) shardNotFound(shard, stream string) error {
	return kerr(codeNotFound, "Shard %s in stream %s under account %s does not exist", shard, stream, s.env.AccountID)
}

// startingPoint is a validated starting position (the type, sequence
// number and timestamp of GetShardIterator or SubscribeToShard) on
// partition p of k, in courier's terms. field names the sequence number
// member in errors.
type startingPoint struct {
	typ courier.IteratorType
	seq string    // courier sequence number of AT_SEQUENCE_NUMBER
	at  time.Time // AT_TIMESTAMP
}

func (s *Service) startingPoint(k *kstream, p int, typ string, seq *string, ts *epochTime, field string) (startingPoint, error) {
	switch typ {
	case "TRIM_HORIZON":
		return startingPoint{typ: courier.TrimHorizon}, nil
	case "LATEST":
		return startingPoint{typ: courier.LatestIterator}, nil
	case "AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER":
		if seq == nil {
			return startingPoint{}, invalid("%s is required for ShardIteratorType %s", field, typ)
		}
		off, ok := parseSequenceNumber(*seq)
		if !ok || off >= k.info.Partitions[p].End {
			return startingPoint{}, s.badSequence(*seq, shardID(p), k.name)
		}
		if typ == "AFTER_SEQUENCE_NUMBER" {
			off++
		}
		return startingPoint{typ: courier.AtSequenceNumber, seq: courier.SequenceNumber(max(off, 0))}, nil
	case "AT_TIMESTAMP":
		if ts == nil {
			return startingPoint{}, invalid("Timestamp is required for ShardIteratorType AT_TIMESTAMP")
		}
		if now := time.Now(); ts.After(now) {
			return startingPoint{}, invalid("The timestampInMillis parameter cannot be greater than the currentTimestampInMillis. timestampInMillis: %d, currentTimestampInMillis: %d", ts.UnixMilli(), now.UnixMilli())
		}
		return startingPoint{typ: courier.AtTimestampIterator, at: ts.Time}, nil
	}
	return startingPoint{}, invalid("ShardIteratorType %q is not one of %s", typ, strings.Join(iteratorTypes, ", "))
}

// iteratorSep separates the stream name from courier's iterator in a
// Kinesis shard iterator. Stream names have no '/', and courier's
// iterators are unpadded base64url, which has none either.
const iteratorSep = "/"

func (s *Service) getShardIterator(c *call, in *getShardIteratorInput) (any, error) {
	k, err := s.lookupRef(c, awsapi.Consume, &in.streamRef)
	if err != nil {
		return nil, err
	}
	p, ok := parseShardID(*in.ShardID, k.shards())
	if !ok {
		return nil, s.shardNotFound(*in.ShardID, k.name)
	}
	if in.ShardIteratorType != "AT_TIMESTAMP" && in.Timestamp != nil {
		return nil, invalid("Timestamp is only for ShardIteratorType AT_TIMESTAMP, not %s", in.ShardIteratorType)
	}
	if !strings.HasSuffix(in.ShardIteratorType, "SEQUENCE_NUMBER") && in.StartingSequenceNumber != nil {
		return nil, invalid("StartingSequenceNumber is only for the *_SEQUENCE_NUMBER iterator types, not %s", in.ShardIteratorType)
	}
	sp, err := s.startingPoint(k, p, in.ShardIteratorType, in.StartingSequenceNumber, in.Timestamp, "StartingSequenceNumber")
	if err != nil {
		return nil, err
	}
	if err := dryRun(in.DryRun); err != nil {
		return nil, err
	}
	it, err := k.st.ShardIterator(c.ctx, p, sp.typ, sp.seq, sp.at)
	if err != nil {
		return nil, s.courierError(k.name, err)
	}
	return &getShardIteratorOutput{ShardIterator: k.name + iteratorSep + it}, nil
}

// records converts courier records to Kinesis records.
func records(recs []courier.StreamRecord) []record {
	out := make([]record, len(recs))
	for i, r := range recs {
		out[i] = record{
			SequenceNumber:              sequenceNumber(r.Offset),
			ApproximateArrivalTimestamp: at(r.Timestamp),
			Data:                        r.Value,
			PartitionKey:                string(r.Key),
		}
		if out[i].Data == nil {
			out[i].Data = []byte{}
		}
	}
	return out
}

func (s *Service) getRecords(c *call, in *getRecordsInput) (any, error) {
	name, it, ok := strings.Cut(*in.ShardIterator, iteratorSep)
	if !ok || name == "" || it == "" || checkName("", &name, true) != nil {
		return nil, invalid("Invalid ShardIterator %q: use the ShardIterator or NextShardIterator this endpoint returned", awsapi.Truncate(*in.ShardIterator, 64))
	}
	if hidden(name) {
		return nil, s.streamNotFound(name)
	}
	if in.StreamARN != nil {
		arnName, err := s.streamFromARN(*in.StreamARN)
		if err != nil {
			return nil, err
		}
		if arnName != name {
			return nil, invalid("the ShardIterator belongs to stream %s, not to StreamARN %s", name, *in.StreamARN)
		}
	}
	if err := s.authorize(c, awsapi.Consume, name); err != nil {
		return nil, err
	}
	if err := dryRun(in.DryRun); err != nil {
		return nil, err
	}
	limit := maxGetRecords
	if in.Limit != nil {
		limit = int(*in.Limit)
	}
	recs, next, behind, err := s.env.Broker.Stream(name).GetRecords(c.ctx, it, limit)
	if err != nil {
		if errors.Is(err, courier.ErrIteratorExpired) {
			return nil, kerr(codeExpiredIterator, "Iterator expired. Shard iterators are valid for %v after they are issued.", courier.ShardIteratorTTL)
		}
		return nil, s.courierError(name, fmt.Errorf("GetRecords: %w", err))
	}
	return &getRecordsOutput{Records: records(recs), NextShardIterator: name + iteratorSep + next, MillisBehindLatest: behind.Milliseconds()}, nil
}
