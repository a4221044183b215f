package kinesis

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"time"

	courier "github.com/courier-io/courier"
	"github.com/courier-io/courier/awsapi"
	"github.com/courier-io/courier/driver"
)

// defaultRetention is a Kinesis stream's retention when created: 24h.
const defaultRetention = minRetentionHours * time.Hour

// maxCourierRecordKiB is the largest record a courier stream takes, in
// KiB (1 MiB), the largest MaxRecordSizeInKiB this endpoint accepts.
const maxCourierRecordKiB = 1024

func (s *Service) createStream(c *call, in *createStreamInput) (any, error) {
	name := *in.StreamName
	if hidden(name) {
		return nil, invalid("Stream name %s starts with %q, which courier reserves for its own streams", name, reservedPrefix)
	}
	if len(name) > 80 {
		return nil, invalid("Stream name %s is %d characters long; courier stream names are at most 80 characters", name, len(name))
	}
	mode := "PROVISIONED"
	if in.StreamModeDetails != nil {
		mode = in.StreamModeDetails.StreamMode
	}
	shards := onDemandShards
	switch {
	case in.ShardCount != nil:
		shards = int(*in.ShardCount)
	case mode == "PROVISIONED":
		return nil, invalid("ShardCount is required for a stream in PROVISIONED mode")
	}
	if shards > driver.MaxPartitions {
		return nil, kerr(codeLimitExceeded, "ShardCount %d exceeds the limit of %d shards per stream", shards, driver.MaxPartitions)
	}
	if in.MaxRecordSizeInKiB != nil && *in.MaxRecordSizeInKiB > maxCourierRecordKiB {
		return nil, invalid("MaxRecordSizeInKiB %d: courier records are at most %d KiB", *in.MaxRecordSizeInKiB, maxCourierRecordKiB)
	}
	if in.RecordDistributionStrategy == "AUTO" {
		return nil, invalid("RecordDistributionStrategy AUTO is not supported; records go to shards by partition key (USER_PARTITION_KEY)")
	}
	if in.WarmThroughputMiBps != nil {
		return nil, invalid("WarmThroughputMiBps is not supported: courier streams have no provisioned throughput")
	}
	if err := checkNewTags(in.Tags, nil); err != nil {
		return nil, err
	}
	if err := s.authorize(c, awsapi.Manage, name); err != nil {
		return nil, err
	}
	s.createMu.Lock()
	defer s.createMu.Unlock()
	st := s.env.Broker.Stream(name)
	if _, err := st.Info(c.ctx); err == nil {
		return nil, kerr(codeInUse, "Stream %s under account %s already exists.", name, s.env.AccountID)
	} else if !errors.Is(err, courier.ErrNotFound) {
		return nil, s.courierError(name, err)
	}
	if _, err := s.env.Broker.CreateStream(c.ctx, name, courier.Partitions(shards), courier.StreamRetention(defaultRetention), courier.MaxRecordSize(maxCourierRecordKiB<<10)); err != nil {
		if errors.Is(err, courier.ErrExists) || errors.Is(err, courier.ErrConflict) {
			return nil, kerr(codeInUse, "Stream %s under account %s already exists.", name, s.env.AccountID)
		}
		return nil, s.courierError(name, err)
	}
	info, err := st.Info(c.ctx)
	if err != nil {
		return nil, s.courierError(name, err)
	}
	k := &kstream{name: name, st: st, info: info}
	return nil, s.updateStreamMeta(c.ctx, k, func(m *streamMeta) error {
		m.Mode = mode
		m.Tags = in.Tags
		return nil
	})
}

func (s *Service) deleteStream(c *call, in *deleteStreamInput) (any, error) {
	k, err := s.lookupRef(c, awsapi.Manage, &in.streamRef)
	if err != nil {
		return nil, err
	}
	cons, err := s.consumers(k)
	if err != nil {
		return nil, err
	}
	if len(cons) > 0 && (in.EnforceConsumerDeletion == nil || !*in.EnforceConsumerDeletion) {
		return nil, kerr(codeInUse, "Stream %s under account %s has %d registered consumers; deregister them or set EnforceConsumerDeletion", k.name, s.env.AccountID, len(cons))
	}
	if err := k.st.Delete(c.ctx); err != nil {
		return nil, s.courierError(k.name, err)
	}
	s.endSubscriptions(k.name + "/")
	return nil, s.forgetStream(c.ctx, k.name)
}

// listStreams lists the streams in name order; its NextToken is the
// last name listed, in base64url.
func (s *Service) listStreams(c *call, in *listStreamsInput) (any, error) {
	if err := s.env.Authorize(c.ctx, awsapi.Describe, "stream", "*"); err != nil {
		return nil, err
	}
	after := ""
	if in.ExclusiveStartStreamName != nil {
		after = *in.ExclusiveStartStreamName
	}
	if in.NextToken != nil {
		if in.ExclusiveStartStreamName != nil {
			return nil, invalid("NextToken and ExclusiveStartStreamName cannot be given together")
		}
		b, err := base64.RawURLEncoding.DecodeString(*in.NextToken)
		if err != nil || len(b) == 0 {
			return nil, invalid("NextToken %q is not a token this endpoint issued", awsapi.Truncate(*in.NextToken, 64))
		}
		after = string(b)
	}
	limit := 100
	if in.Limit != nil {
		limit = int(*in.Limit)
	}
	names, err := s.env.Broker.ListStreams(c.ctx)
	if err != nil {
		return nil, s.courierError("", err)
	}
	slices.Sort(names)
	out := &listStreamsOutput{StreamNames: []string{}, StreamSummaries: []streamSummary{}}
	for _, name := range names {
		if hidden(name) || name <= after {
			continue
		}
		if len(out.StreamNames) == limit {
			out.HasMoreStreams = true
			break
		}
		info, err := s.env.Broker.Stream(name).Info(c.ctx)
		if errors.Is(err, courier.ErrNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, s.courierError(name, err)
		}
		m, err := s.streamMeta(name, info)
		if err != nil {
			return nil, internal(err)
		}
		out.StreamNames = append(out.StreamNames, name)
		out.StreamSummaries = append(out.StreamSummaries, streamSummary{
			StreamName: name, StreamARN: s.streamARN(name), StreamStatus: "ACTIVE",
			StreamModeDetails: &streamModeDetails{m.Mode}, StreamCreationTimestamp: at(info.CreatedAt),
		})
	}
	if out.HasMoreStreams {
		tok := base64.RawURLEncoding.EncodeToString([]byte(out.StreamNames[len(out.StreamNames)-1]))
		out.NextToken = &tok
	}
	return out, nil
}

// retentionHours is the stream's retention in whole hours; 0 means
// records have no age limit (a courier stream created so).
func retentionHours(info courier.StreamInfo) int32 {
	return int32(min(info.Attributes.Retention/time.Hour, math.MaxInt32))
}

// shardList returns the shards of the stream after the shard ID after
// ("" for all), at most limit, and whether there are more.
func (k *kstream) shardList(after string, limit int) ([]shard, bool) {
	n := k.shards()
	out := []shard{}
	for i := range n {
		id := shardID(i)
		if after != "" && id <= after {
			continue
		}
		if len(out) == limit {
			return out, true
		}
		out = append(out, shard{
			ShardID:             id,
			HashKeyRange:        hashRange(i, n),
			SequenceNumberRange: sequenceNumberRange{StartingSequenceNumber: sequenceNumber(-1)},
		})
	}
	return out, false
}

func (s *Service) describeStream(c *call, in *describeStreamInput) (any, error) {
	k, err := s.lookupRef(c, awsapi.Describe, &in.streamRef)
	if err != nil {
		return nil, err
	}
	limit := 100
	if in.Limit != nil {
		limit = int(*in.Limit)
	}
	after := ""
	if in.ExclusiveStartShardID != nil {
		after = *in.ExclusiveStartShardID
	}
	m, err := s.metaOf(k)
	if err != nil {
		return nil, err
	}
	shards, more := k.shardList(after, limit)
	return &describeStreamOutput{StreamDescription: streamDescription{
		StreamName: k.name, StreamARN: s.streamARN(k.name), StreamStatus: "ACTIVE",
		StreamModeDetails: &streamModeDetails{m.Mode},
		Shards:            shards, HasMoreShards: more,
		RetentionPeriodHours:    retentionHours(k.info),
		StreamCreationTimestamp: at(k.info.CreatedAt),
		EnhancedMonitoring:      []enhancedMetrics{{ShardLevelMetrics: []string{}}},
		EncryptionType:          "NONE",
	}}, nil
}

func (s *Service) describeStreamSummary(c *call, in *streamRef) (any, error) {
	k, err := s.lookupRef(c, awsapi.Describe, in)
	if err != nil {
		return nil, err
	}
	m, err := s.metaOf(k)
	if err != nil {
		return nil, err
	}
	cons, err := s.consumers(k)
	if err != nil {
		return nil, err
	}
	return &describeStreamSummaryOutput{StreamDescriptionSummary: streamDescriptionSummary{
		StreamName: k.name, StreamARN: s.streamARN(k.name), StreamStatus: "ACTIVE",
		StreamModeDetails:          &streamModeDetails{m.Mode},
		RetentionPeriodHours:       retentionHours(k.info),
		StreamCreationTimestamp:    at(k.info.CreatedAt),
		EnhancedMonitoring:         []enhancedMetrics{{ShardLevelMetrics: []string{}}},
		EncryptionType:             "NONE",
		OpenShardCount:             int32(k.shards()),
		ConsumerCount:              int32(len(cons)),
		MaxRecordSizeInKiB:         int32(k.info.Attributes.MaxRecordSize >> 10),
		RecordDistributionStrategy: "USER_PARTITION_KEY",
	}}, nil
}

// shardsToken is the NextToken of ListShards.
type shardsToken struct {
	Stream  string `json:"s"`
	Created int64  `json:"c"` // the stream's creation, Unix ns
	After   string `json:"a"`
	Issued  int64  `json:"t"` // Unix s
}

// tokenTTL is how long a ListShards or ListStreamConsumers NextToken is
// valid, as in Kinesis.
const tokenTTL = 300 * time.Second

// pageToken is the NextToken of a ListShards or ListStreamConsumers page
// of k that ended at after.
func (k *kstream) pageToken(after string) *string {
	b, _ := json.Marshal(shardsToken{Stream: k.name, Created: k.info.CreatedAt.UnixNano(), After: after, Issued: time.Now().Unix()})
	s := base64.RawURLEncoding.EncodeToString(b)
	return &s
}

// checkCreated fails with ResourceNotFoundException when the
// StreamCreationTimestamp ts, when given, is not k's creation time.
func (s *Service) checkCreated(k *kstream, ts *epochTime) error {
	if ts != nil && ts.UnixMilli() != k.info.CreatedAt.UnixMilli() {
		return kerr(codeNotFound, "Stream %s under account %s with creation timestamp %v not found.", k.name, s.env.AccountID, ts.Time)
	}
	return nil
}

// decodeToken reads a NextToken into v and checks its age.
func decodeToken(tok string, v *shardsToken) error {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || json.Unmarshal(b, v) != nil || v.Stream == "" {
		return invalid("NextToken %q is not a token this endpoint issued", awsapi.Truncate(tok, 64))
	}
	if time.Since(time.Unix(v.Issued, 0)) > tokenTTL {
		return kerr(codeExpiredToken, "The NextToken has expired: tokens are valid for %v", tokenTTL)
	}
	return nil
}

func (s *Service) listShards(c *call, in *listShardsInput) (any, error) {
	limit := 1000
	if in.MaxResults != nil {
		limit = int(*in.MaxResults)
	}
	after := ""
	var tok shardsToken
	var k *kstream
	var err error
	if in.NextToken != nil {
		if in.StreamName != nil || in.StreamARN != nil || in.ExclusiveStartShardID != nil || in.StreamCreationTimestamp != nil || in.ShardFilter != nil {
			return nil, invalid("NextToken cannot be combined with StreamName, StreamARN, ExclusiveStartShardId, StreamCreationTimestamp or ShardFilter")
		}
		if err := decodeToken(*in.NextToken, &tok); err != nil {
			return nil, err
		}
		if k, err = s.lookup(c, awsapi.Describe, tok.Stream); err != nil {
			return nil, err
		}
		if k.info.CreatedAt.UnixNano() != tok.Created {
			return nil, kerr(codeNotFound, "Stream %s under account %s was deleted and created again since the NextToken was issued", k.name, s.env.AccountID)
		}
		after = tok.After
	} else {
		if k, err = s.lookupRef(c, awsapi.Describe, &in.streamRef); err != nil {
			return nil, err
		}
		if err := s.checkCreated(k, in.StreamCreationTimestamp); err != nil {
			return nil, err
		}
		if in.ExclusiveStartShardID != nil {
			after = *in.ExclusiveStartShardID
		}
		if f := in.ShardFilter; f != nil {
			switch f.Type {
			case "AFTER_SHARD_ID":
				if f.ShardID == nil {
					return nil, invalid("ShardFilter of type AFTER_SHARD_ID needs a ShardId")
				}
				if *f.ShardID > after {
					after = *f.ShardID
				}
			case "AT_TIMESTAMP", "FROM_TIMESTAMP":
				if f.Timestamp == nil {
					return nil, invalid("ShardFilter of type %s needs a Timestamp", f.Type)
				}
			}
			// Every shard is open and has been since the stream was
			// created, so the trim-horizon, latest and timestamp filters
			// all select every shard.
		}
	}
	shards, more := k.shardList(after, limit)
	out := &listShardsOutput{Shards: shards}
	if more {
		out.NextToken = k.pageToken(shards[len(shards)-1].ShardID)
	}
	return out, nil
}

func (s *Service) increaseRetention(c *call, in *retentionInput) (any, error) {
	return s.changeRetention(c, in, true)
}

func (s *Service) decreaseRetention(c *call, in *retentionInput) (any, error) {
	return s.changeRetention(c, in, false)
}

// changeRetention sets a stream's retention, which must not shrink on
// Increase nor grow on Decrease.
func (s *Service) changeRetention(c *call, in *retentionInput, increase bool) (any, error) {
	hours := int(*in.RetentionPeriodHours)
	if hours < minRetentionHours {
		return nil, invalid("Minimum allowed retention period is %d hours. Requested retention period (%d hours) is too short.", minRetentionHours, hours)
	}
	if hours > maxRetentionHours {
		return nil, invalid("Maximum allowed retention period is %d hours. Requested retention period (%d hours) is too long.", maxRetentionHours, hours)
	}
	k, err := s.lookupRef(c, awsapi.Manage, &in.streamRef)
	if err != nil {
		return nil, err
	}
	cur := k.info.Attributes.Retention
	want := time.Duration(hours) * time.Hour
	unlimited := cur == 0
	switch {
	case increase && (unlimited || want < cur):
		return nil, invalid("Requested retention period (%d hours) for stream %s can not be shorter than existing retention period (%d hours). Use DecreaseRetentionPeriod API.", hours, k.name, retentionHours(k.info))
	case !increase && !unlimited && want > cur:
		return nil, invalid("Requested retention period (%d hours) for stream %s can not be longer than existing retention period (%d hours). Use IncreaseRetentionPeriod API.", hours, k.name, retentionHours(k.info))
	}
	if _, err := k.st.SetAttributes(c.ctx, courier.StreamRetention(want)); err != nil {
		return nil, s.courierError(k.name, err)
	}
	return nil, nil
}

func (s *Service) updateStreamMode(c *call, in *updateStreamModeInput) (any, error) {
	if in.WarmThroughputMiBps != nil {
		return nil, invalid("WarmThroughputMiBps is not supported: courier streams have no provisioned throughput")
	}
	k, err := s.lookupRef(c, awsapi.Manage, &streamRef{StreamARN: in.StreamARN})
	if err != nil {
		return nil, err
	}
	return nil, s.updateStreamMeta(c.ctx, k, func(m *streamMeta) error {
		m.Mode = in.StreamModeDetails.StreamMode
		return nil
	})
}

func (s *Service) updateMaxRecordSize(c *call, in *updateMaxRecordSizeInput) (any, error) {
	if *in.MaxRecordSizeInKiB > maxCourierRecordKiB {
		return nil, invalid("MaxRecordSizeInKiB %d: courier records are at most %d KiB", *in.MaxRecordSizeInKiB, maxCourierRecordKiB)
	}
	k, err := s.lookupRef(c, awsapi.Manage, &streamRef{StreamARN: in.StreamARN})
	if err != nil {
		return nil, err
	}
	if _, err := k.st.SetAttributes(c.ctx, courier.MaxRecordSize(int(*in.MaxRecordSizeInKiB)<<10)); err != nil {
		return nil, s.courierError(k.name, err)
	}
	return nil, nil
}

func (s *Service) describeLimits(c *call, _ *emptyInput) (any, error) {
	if err := s.env.Authorize(c.ctx, awsapi.Describe, "stream", "*"); err != nil {
		return nil, err
	}
	names, err := s.env.Broker.ListStreams(c.ctx)
	if err != nil {
		return nil, s.courierError("", err)
	}
	out := &describeLimitsOutput{ShardLimit: driver.MaxPartitions, OnDemandStreamCountLimit: math.MaxInt32}
	for _, name := range names {
		if hidden(name) {
			continue
		}
		info, err := s.env.Broker.Stream(name).Info(c.ctx)
		if errors.Is(err, courier.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, s.courierError(name, err)
		}
		out.OpenShardCount += int32(info.Attributes.Partitions)
		m, err := s.streamMeta(name, info)
		if err != nil {
			return nil, internal(err)
		}
		if m.Mode == "ON_DEMAND" {
			out.OnDemandStreamCount++
		}
	}
	return out, nil
}
