package kinesis

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// This file holds the request and response shapes of the actions, named
// and typed as in the Kinesis model, so that one struct decodes from JSON
// and from CBOR (fxamacker/cbor reads the json tags). Every input checks
// the model's constraints in validate.

// Limits of the Kinesis model and of this endpoint.
const (
	maxNameLen         = 128
	maxARNLen          = 2048
	maxPartitionKey    = 256
	maxRecordData      = 10 << 20 // the model's Data limit (10 MiB)
	maxPutRecords      = 500
	maxPutRecordsBytes = 5 << 20
	maxGetRecords      = 10000
	maxIteratorLen     = 512
	maxTags            = 50
	maxTagKeyLen       = 128
	maxTagValueLen     = 256
	maxListLimit       = 10000
	maxConsumers       = 20
	minRetentionHours  = 24
	maxRetentionHours  = 8760
	minRecordSizeKiB   = 1024
	maxRecordSizeKiB   = 10240
	onDemandShards     = 4
)

// streamRef names a stream by StreamName or StreamARN.
type streamRef struct {
	StreamName *string `json:"StreamName"`
	StreamARN  *string `json:"StreamARN"`
	StreamID   *string `json:"StreamId"`
}

func (r *streamRef) validate() error {
	return firstError(
		checkName("streamName", r.StreamName, false),
		checkARN("streamARN", r.StreamARN, false),
		checkStreamID(r.StreamID),
	)
}

type streamModeDetails struct {
	StreamMode string `json:"StreamMode"`
}

type createStreamInput struct {
	StreamName                 *string            `json:"StreamName"`
	ShardCount                 *int32             `json:"ShardCount"`
	StreamModeDetails          *streamModeDetails `json:"StreamModeDetails"`
	Tags                       map[string]string  `json:"Tags"`
	MaxRecordSizeInKiB         *int32             `json:"MaxRecordSizeInKiB"`
	RecordDistributionStrategy string             `json:"RecordDistributionStrategy"`
	WarmThroughputMiBps        *int32             `json:"WarmThroughputMiBps"`
}

func (in *createStreamInput) validate() error {
	return firstError(
		checkName("streamName", in.StreamName, true),
		checkRange("shardCount", in.ShardCount, 1, 1<<31-1, false),
		checkMode("streamModeDetails.streamMode", in.StreamModeDetails, false),
		checkTagMap("tags", in.Tags, false),
		checkRange("maxRecordSizeInKiB", in.MaxRecordSizeInKiB, minRecordSizeKiB, maxRecordSizeKiB, false),
		checkEnum("recordDistributionStrategy", in.RecordDistributionStrategy, "AUTO", "USER_PARTITION_KEY"),
		checkRange("warmThroughputMiBps", in.WarmThroughputMiBps, 0, 1<<31-1, false),
	)
}

type deleteStreamInput struct {
	streamRef
	EnforceConsumerDeletion *bool `json:"EnforceConsumerDeletion"`
}

type listStreamsInput struct {
	ExclusiveStartStreamName *string `json:"ExclusiveStartStreamName"`
	Limit                    *int32  `json:"Limit"`
	NextToken                *string `json:"NextToken"`
}

func (in *listStreamsInput) validate() error {
	return firstError(
		checkName("exclusiveStartStreamName", in.ExclusiveStartStreamName, false),
		checkRange("limit", in.Limit, 1, maxListLimit, false),
		checkLen("nextToken", in.NextToken, 1, 1048576, false),
	)
}

type streamSummary struct {
	StreamName              string             `json:"StreamName"`
	StreamARN               string             `json:"StreamARN"`
	StreamStatus            string             `json:"StreamStatus"`
	StreamModeDetails       *streamModeDetails `json:"StreamModeDetails,omitempty"`
	StreamCreationTimestamp epochTime          `json:"StreamCreationTimestamp"`
}

type listStreamsOutput struct {
	StreamNames     []string        `json:"StreamNames"`
	HasMoreStreams  bool            `json:"HasMoreStreams"`
	NextToken       *string         `json:"NextToken,omitempty"`
	StreamSummaries []streamSummary `json:"StreamSummaries"`
}

type describeStreamInput struct {
	streamRef
	ExclusiveStartShardID *string `json:"ExclusiveStartShardId"`
	Limit                 *int32  `json:"Limit"`
}

func (in *describeStreamInput) validate() error {
	return firstError(
		in.streamRef.validate(),
		checkName("exclusiveStartShardId", in.ExclusiveStartShardID, false),
		checkRange("limit", in.Limit, 1, maxListLimit, false),
	)
}

type hashKeyRange struct {
	StartingHashKey string `json:"StartingHashKey"`
	EndingHashKey   string `json:"EndingHashKey"`
}

type sequenceNumberRange struct {
	StartingSequenceNumber string  `json:"StartingSequenceNumber"`
	EndingSequenceNumber   *string `json:"EndingSequenceNumber,omitempty"`
}

type shard struct {
	ShardID             string              `json:"ShardId"`
	HashKeyRange        hashKeyRange        `json:"HashKeyRange"`
	SequenceNumberRange sequenceNumberRange `json:"SequenceNumberRange"`
}

type enhancedMetrics struct {
	ShardLevelMetrics []string `json:"ShardLevelMetrics"`
}

type streamDescription struct {
	StreamName              string             `json:"StreamName"`
	StreamARN               string             `json:"StreamARN"`
	StreamStatus            string             `json:"StreamStatus"`
	StreamModeDetails       *streamModeDetails `json:"StreamModeDetails,omitempty"`
	Shards                  []shard            `json:"Shards"`
	HasMoreShards           bool               `json:"HasMoreShards"`
	RetentionPeriodHours    int32              `json:"RetentionPeriodHours"`
	StreamCreationTimestamp epochTime          `json:"StreamCreationTimestamp"`
	EnhancedMonitoring      []enhancedMetrics  `json:"EnhancedMonitoring"`
	EncryptionType          string             `json:"EncryptionType"`
}

type describeStreamOutput struct {
	StreamDescription streamDescription `json:"StreamDescription"`
}

type streamDescriptionSummary struct {
	StreamName                 string             `json:"StreamName"`
	StreamARN                  string             `json:"StreamARN"`
	StreamStatus               string             `json:"StreamStatus"`
	StreamModeDetails          *streamModeDetails `json:"StreamModeDetails,omitempty"`
	RetentionPeriodHours       int32              `json:"RetentionPeriodHours"`
	StreamCreationTimestamp    epochTime          `json:"StreamCreationTimestamp"`
	EnhancedMonitoring         []enhancedMetrics  `json:"EnhancedMonitoring"`
	EncryptionType             string             `json:"EncryptionType"`
	OpenShardCount             int32              `json:"OpenShardCount"`
	ConsumerCount              int32              `json:"ConsumerCount"`
	MaxRecordSizeInKiB         int32              `json:"MaxRecordSizeInKiB"`
	RecordDistributionStrategy string             `json:"RecordDistributionStrategy"`
}

type describeStreamSummaryOutput struct {
	StreamDescriptionSummary streamDescriptionSummary `json:"StreamDescriptionSummary"`
}

type shardFilter struct {
	Type      string     `json:"Type"`
	ShardID   *string    `json:"ShardId"`
	Timestamp *epochTime `json:"Timestamp"`
}

type listShardsInput struct {
	streamRef
	NextToken               *string      `json:"NextToken"`
	MaxResults              *int32       `json:"MaxResults"`
	ExclusiveStartShardID   *string      `json:"ExclusiveStartShardId"`
	StreamCreationTimestamp *epochTime   `json:"StreamCreationTimestamp"`
	ShardFilter             *shardFilter `json:"ShardFilter"`
}

func (in *listShardsInput) validate() error {
	err := firstError(
		in.streamRef.validate(),
		checkLen("nextToken", in.NextToken, 1, 1048576, false),
		checkRange("maxResults", in.MaxResults, 1, maxListLimit, false),
		checkName("exclusiveStartShardId", in.ExclusiveStartShardID, false),
	)
	if err == nil && in.ShardFilter != nil {
		err = firstError(
			checkEnum("shardFilter.type", in.ShardFilter.Type, "AFTER_SHARD_ID", "AT_TRIM_HORIZON", "FROM_TRIM_HORIZON", "AT_LATEST", "AT_TIMESTAMP", "FROM_TIMESTAMP"),
			checkRequired("shardFilter.type", in.ShardFilter.Type != ""),
			checkName("shardFilter.shardId", in.ShardFilter.ShardID, false),
		)
	}
	return err
}

type listShardsOutput struct {
	Shards    []shard `json:"Shards"`
	NextToken *string `json:"NextToken,omitempty"`
}

type putRecordInput struct {
	streamRef
	Data                      *[]byte `json:"Data"`
	PartitionKey              *string `json:"PartitionKey"`
	ExplicitHashKey           *string `json:"ExplicitHashKey"`
	SequenceNumberForOrdering *string `json:"SequenceNumberForOrdering"`
	DryRun                    *bool   `json:"DryRun"`
}

func (in *putRecordInput) validate() error {
	return firstError(
		in.streamRef.validate(),
		checkData("data", in.Data),
		checkPartitionKey("partitionKey", in.PartitionKey),
		checkDigits("explicitHashKey", in.ExplicitHashKey, 39),
		checkDigits("sequenceNumberForOrdering", in.SequenceNumberForOrdering, 129),
	)
}

type putRecordOutput struct {
	ShardID        string `json:"ShardId"`
	SequenceNumber string `json:"SequenceNumber"`
	EncryptionType string `json:"EncryptionType"`
}

type putRecordsEntry struct {
	Data            *[]byte `json:"Data"`
	PartitionKey    *string `json:"PartitionKey"`
	ExplicitHashKey *string `json:"ExplicitHashKey"`
}

type putRecordsInput struct {
	streamRef
	Records []putRecordsEntry `json:"Records"`
	DryRun  *bool             `json:"DryRun"`
}

func (in *putRecordsInput) validate() error {
	if err := in.streamRef.validate(); err != nil {
		return err
	}
	if len(in.Records) == 0 {
		return validation("records", "[]", "Member must have length greater than or equal to 1")
	}
	if len(in.Records) > maxPutRecords {
		return validation("records", strconv.Itoa(len(in.Records))+" records", "Member must have length less than or equal to 500")
	}
	for i := range in.Records {
		r := &in.Records[i]
		field := "records." + strconv.Itoa(i+1) + ".member."
		if err := firstError(
			checkData(field+"data", r.Data),
			checkPartitionKey(field+"partitionKey", r.PartitionKey),
			checkDigits(field+"explicitHashKey", r.ExplicitHashKey, 39),
		); err != nil {
			return err
		}
	}
	return nil
}

type putRecordsResultEntry struct {
	SequenceNumber *string `json:"SequenceNumber,omitempty"`
	ShardID        *string `json:"ShardId,omitempty"`
	ErrorCode      *string `json:"ErrorCode,omitempty"`
	ErrorMessage   *string `json:"ErrorMessage,omitempty"`
}

type putRecordsOutput struct {
	FailedRecordCount int32                   `json:"FailedRecordCount"`
	Records           []putRecordsResultEntry `json:"Records"`
	EncryptionType    string                  `json:"EncryptionType"`
}

type getShardIteratorInput struct {
	streamRef
	ShardID                *string    `json:"ShardId"`
	ShardIteratorType      string     `json:"ShardIteratorType"`
	StartingSequenceNumber *string    `json:"StartingSequenceNumber"`
	Timestamp              *epochTime `json:"Timestamp"`
	DryRun                 *bool      `json:"DryRun"`
}

func (in *getShardIteratorInput) validate() error {
	return firstError(
		in.streamRef.validate(),
		checkName("shardId", in.ShardID, true),
		checkRequired("shardIteratorType", in.ShardIteratorType != ""),
		checkEnum("shardIteratorType", in.ShardIteratorType, iteratorTypes...),
		checkDigits("startingSequenceNumber", in.StartingSequenceNumber, 129),
	)
}

// iteratorTypes are the ShardIteratorType values.
var iteratorTypes = []string{"AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER", "TRIM_HORIZON", "LATEST", "AT_TIMESTAMP"}

type getShardIteratorOutput struct {
	ShardIterator string `json:"ShardIterator"`
}

type getRecordsInput struct {
	ShardIterator *string `json:"ShardIterator"`
	Limit         *int32  `json:"Limit"`
	StreamARN     *string `json:"StreamARN"`
	StreamID      *string `json:"StreamId"`
	DryRun        *bool   `json:"DryRun"`
}

func (in *getRecordsInput) validate() error {
	return firstError(
		checkLen("shardIterator", in.ShardIterator, 1, maxIteratorLen, true),
		checkRange("limit", in.Limit, 1, maxGetRecords, false),
		checkARN("streamARN", in.StreamARN, false),
		checkStreamID(in.StreamID),
	)
}

type record struct {
	SequenceNumber              string    `json:"SequenceNumber"`
	ApproximateArrivalTimestamp epochTime `json:"ApproximateArrivalTimestamp"`
	Data                        []byte    `json:"Data"`
	PartitionKey                string    `json:"PartitionKey"`
}

type getRecordsOutput struct {
	Records            []record `json:"Records"`
	NextShardIterator  string   `json:"NextShardIterator"`
	MillisBehindLatest int64    `json:"MillisBehindLatest"`
}

type retentionInput struct {
	streamRef
	RetentionPeriodHours *int32 `json:"RetentionPeriodHours"`
}

func (in *retentionInput) validate() error {
	return firstError(
		in.streamRef.validate(),
		checkRange("retentionPeriodHours", in.RetentionPeriodHours, 1, 1<<31-1, true),
	)
}

type addTagsInput struct {
	streamRef
	Tags map[string]string `json:"Tags"`
}

func (in *addTagsInput) validate() error {
	return firstError(in.streamRef.validate(), checkTagMap("tags", in.Tags, true))
}

type removeTagsInput struct {
	streamRef
	TagKeys []string `json:"TagKeys"`
}

func (in *removeTagsInput) validate() error {
	return firstError(in.streamRef.validate(), checkTagKeys("tagKeys", in.TagKeys))
}

type listTagsForStreamInput struct {
	streamRef
	ExclusiveStartTagKey *string `json:"ExclusiveStartTagKey"`
	Limit                *int32  `json:"Limit"`
}

func (in *listTagsForStreamInput) validate() error {
	return firstError(
		in.streamRef.validate(),
		checkLen("exclusiveStartTagKey", in.ExclusiveStartTagKey, 1, maxTagKeyLen, false),
		checkRange("limit", in.Limit, 1, maxTags, false),
	)
}

type tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

type listTagsForStreamOutput struct {
	Tags        []tag `json:"Tags"`
	HasMoreTags bool  `json:"HasMoreTags"`
}

type tagResourceInput struct {
	ResourceARN *string           `json:"ResourceARN"`
	Tags        map[string]string `json:"Tags"`
	StreamID    *string           `json:"StreamId"`
}

func (in *tagResourceInput) validate() error {
	return firstError(checkLen("resourceARN", in.ResourceARN, 1, maxARNLen, true), checkTagMap("tags", in.Tags, true), checkStreamID(in.StreamID))
}

type untagResourceInput struct {
	ResourceARN *string  `json:"ResourceARN"`
	TagKeys     []string `json:"TagKeys"`
	StreamID    *string  `json:"StreamId"`
}

func (in *untagResourceInput) validate() error {
	return firstError(checkLen("resourceARN", in.ResourceARN, 1, maxARNLen, true), checkTagKeys("tagKeys", in.TagKeys), checkStreamID(in.StreamID))
}

type listTagsForResourceInput struct {
	ResourceARN *string `json:"ResourceARN"`
	StreamID    *string `json:"StreamId"`
}

func (in *listTagsForResourceInput) validate() error {
	return firstError(checkLen("resourceARN", in.ResourceARN, 1, maxARNLen, true), checkStreamID(in.StreamID))
}

type listTagsForResourceOutput struct {
	Tags []tag `json:"Tags"`
}

type registerConsumerInput struct {
	StreamARN    *string           `json:"StreamARN"`
	ConsumerName *string           `json:"ConsumerName"`
	Tags         map[string]string `json:"Tags"`
	StreamID     *string           `json:"StreamId"`
}

func (in *registerConsumerInput) validate() error {
	return firstError(
		checkARN("streamARN", in.StreamARN, true),
		checkName("consumerName", in.ConsumerName, true),
		checkTagMap("tags", in.Tags, false),
		checkStreamID(in.StreamID),
	)
}

type consumer struct {
	ConsumerName              string    `json:"ConsumerName"`
	ConsumerARN               string    `json:"ConsumerARN"`
	ConsumerStatus            string    `json:"ConsumerStatus"`
	ConsumerCreationTimestamp epochTime `json:"ConsumerCreationTimestamp"`
}

type registerConsumerOutput struct {
	Consumer consumer `json:"Consumer"`
}

// consumerRef names a consumer by ConsumerARN, or by StreamARN and
// ConsumerName.
type consumerRef struct {
	StreamARN    *string `json:"StreamARN"`
	ConsumerName *string `json:"ConsumerName"`
	ConsumerARN  *string `json:"ConsumerARN"`
	StreamID     *string `json:"StreamId"`
}

func (in *consumerRef) validate() error {
	return firstError(
		checkARN("streamARN", in.StreamARN, false),
		checkName("consumerName", in.ConsumerName, false),
		checkLen("consumerARN", in.ConsumerARN, 1, maxARNLen, false),
		checkStreamID(in.StreamID),
	)
}

type consumerDescription struct {
	consumer
	StreamARN string `json:"StreamARN"`
}

type describeConsumerOutput struct {
	ConsumerDescription consumerDescription `json:"ConsumerDescription"`
}

type listConsumersInput struct {
	StreamARN               *string    `json:"StreamARN"`
	MaxResults              *int32     `json:"MaxResults"`
	NextToken               *string    `json:"NextToken"`
	StreamCreationTimestamp *epochTime `json:"StreamCreationTimestamp"`
	StreamID                *string    `json:"StreamId"`
}

func (in *listConsumersInput) validate() error {
	return firstError(
		checkARN("streamARN", in.StreamARN, true),
		checkRange("maxResults", in.MaxResults, 1, maxListLimit, false),
		checkLen("nextToken", in.NextToken, 1, 1048576, false),
		checkStreamID(in.StreamID),
	)
}

type listConsumersOutput struct {
	Consumers []consumer `json:"Consumers"`
	NextToken *string    `json:"NextToken,omitempty"`
}

type startingPosition struct {
	Type           string     `json:"Type"`
	SequenceNumber *string    `json:"SequenceNumber"`
	Timestamp      *epochTime `json:"Timestamp"`
}

type subscribeInput struct {
	ConsumerARN      *string           `json:"ConsumerARN"`
	ShardID          *string           `json:"ShardId"`
	StartingPosition *startingPosition `json:"StartingPosition"`
	DryRun           *bool             `json:"DryRun"`
	StreamID         *string           `json:"StreamId"`
}

func (in *subscribeInput) validate() error {
	err := firstError(
		checkLen("consumerARN", in.ConsumerARN, 1, maxARNLen, true),
		checkName("shardId", in.ShardID, true),
		checkRequired("startingPosition", in.StartingPosition != nil),
		checkStreamID(in.StreamID),
	)
	if err == nil {
		err = firstError(
			checkRequired("startingPosition.type", in.StartingPosition.Type != ""),
			checkEnum("startingPosition.type", in.StartingPosition.Type, iteratorTypes...),
			checkDigits("startingPosition.sequenceNumber", in.StartingPosition.SequenceNumber, 129),
		)
	}
	return err
}

type subscribeToShardEvent struct {
	Records                    []record `json:"Records"`
	ContinuationSequenceNumber string   `json:"ContinuationSequenceNumber"`
	MillisBehindLatest         int64    `json:"MillisBehindLatest"`
}

type updateStreamModeInput struct {
	StreamARN           *string            `json:"StreamARN"`
	StreamModeDetails   *streamModeDetails `json:"StreamModeDetails"`
	WarmThroughputMiBps *int32             `json:"WarmThroughputMiBps"`
	StreamID            *string            `json:"StreamId"`
}

func (in *updateStreamModeInput) validate() error {
	return firstError(
		checkARN("streamARN", in.StreamARN, true),
		checkMode("streamModeDetails.streamMode", in.StreamModeDetails, true),
		checkRange("warmThroughputMiBps", in.WarmThroughputMiBps, 0, 1<<31-1, false),
		checkStreamID(in.StreamID),
	)
}

type updateMaxRecordSizeInput struct {
	StreamARN          *string `json:"StreamARN"`
	MaxRecordSizeInKiB *int32  `json:"MaxRecordSizeInKiB"`
	StreamID           *string `json:"StreamId"`
}

func (in *updateMaxRecordSizeInput) validate() error {
	return firstError(
		checkARN("streamARN", in.StreamARN, false),
		checkRange("maxRecordSizeInKiB", in.MaxRecordSizeInKiB, minRecordSizeKiB, maxRecordSizeKiB, true),
		checkStreamID(in.StreamID),
	)
}

type emptyInput struct{}

func (*emptyInput) validate() error { return nil }

type describeLimitsOutput struct {
	ShardLimit               int32 `json:"ShardLimit"`
	OpenShardCount           int32 `json:"OpenShardCount"`
	OnDemandStreamCount      int32 `json:"OnDemandStreamCount"`
	OnDemandStreamCountLimit int32 `json:"OnDemandStreamCountLimit"`
}

// firstError returns the first non-nil error.
func firstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// checkRequired fails when a required member is missing.
func checkRequired(member string, present bool) error {
	if present {
		return nil
	}
	return validation(member, "null", "Member must not be null")
}

// checkName checks a stream, consumer or shard name: 1..128 characters
// of [a-zA-Z0-9_.-].
func checkName(member string, v *string, required bool) error {
	if v == nil {
		return checkRequired(member, !required)
	}
	if err := checkLen(member, v, 1, maxNameLen, required); err != nil {
		return err
	}
	for i := 0; i < len(*v); i++ {
		c := (*v)[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return validation(member, *v, "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+")
		}
	}
	return nil
}

// checkLen checks a string's length in characters.
func checkLen(member string, v *string, min, max int, required bool) error {
	if v == nil {
		return checkRequired(member, !required)
	}
	n := utf8.RuneCountInString(*v)
	if n < min {
		return validation(member, *v, "Member must have length greater than or equal to "+strconv.Itoa(min))
	}
	if n > max {
		return validation(member, *v, "Member must have length less than or equal to "+strconv.Itoa(max))
	}
	return nil
}

// checkARN checks a stream ARN against the model's pattern
// arn:aws.*:kinesis:.*:\d{12}:stream/\S+.
func checkARN(member string, v *string, required bool) error {
	if err := checkLen(member, v, 1, maxARNLen, required); err != nil || v == nil {
		return err
	}
	parts := strings.SplitN(*v, ":", 6)
	ok := len(parts) == 6 && parts[0] == "arn" && strings.HasPrefix(parts[1], "aws") && parts[2] == "kinesis" &&
		len(parts[4]) == 12 && allDigits(parts[4]) && strings.HasPrefix(parts[5], "stream/") && len(parts[5]) > len("stream/") &&
		!strings.ContainsAny(parts[5], " \t\r\n")
	if !ok {
		return validation(member, *v, `Member must satisfy regular expression pattern: arn:aws.*:kinesis:.*:\d{12}:stream/\S+`)
	}
	return nil
}

// checkStreamID refuses StreamId, which AWS documents as not
// implemented and reserved.
func checkStreamID(v *string) error {
	if v == nil {
		return nil
	}
	return invalid("StreamId is reserved by AWS for future use and not supported; name the stream by StreamName or StreamARN")
}

// checkRange checks an integer member.
func checkRange(member string, v *int32, min, max int64, required bool) error {
	if v == nil {
		return checkRequired(member, !required)
	}
	if int64(*v) < min {
		return validation(member, strconv.Itoa(int(*v)), "Member must have value greater than or equal to "+strconv.FormatInt(min, 10))
	}
	if int64(*v) > max {
		return validation(member, strconv.Itoa(int(*v)), "Member must have value less than or equal to "+strconv.FormatInt(max, 10))
	}
	return nil
}

// checkEnum checks an enum member ("" is absent).
func checkEnum(member, v string, values ...string) error {
	if v == "" {
		return nil
	}
	for _, ok := range values {
		if v == ok {
			return nil
		}
	}
	return validation(member, v, "Member must satisfy enum value set: ["+strings.Join(values, ", ")+"]")
}

// checkMode checks StreamModeDetails.
func checkMode(member string, v *streamModeDetails, required bool) error {
	if v == nil {
		return checkRequired(member, !required)
	}
	return firstError(checkRequired(member, v.StreamMode != ""), checkEnum(member, v.StreamMode, "PROVISIONED", "ON_DEMAND"))
}

// checkDigits checks a member of the pattern 0|([1-9]\d{0,max-1}) (hash
// keys and sequence numbers).
func checkDigits(member string, v *string, max int) error {
	if v == nil {
		return nil
	}
	s := *v
	if s == "0" {
		return nil
	}
	if s == "" || len(s) > max || s[0] == '0' || !allDigits(s) {
		return validation(member, s, "Member must satisfy regular expression pattern: 0|([1-9]\\d{0,"+strconv.Itoa(max-1)+"})")
	}
	return nil
}

// allDigits reports whether s is ASCII digits only.
func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// checkData checks a record's Data blob: required, at most the model's
// 10 MiB (the stream's own, smaller limit is checked when appending).
func checkData(member string, v *[]byte) error {
	if v == nil {
		return checkRequired(member, false)
	}
	if len(*v) > maxRecordData {
		return validation(member, strconv.Itoa(len(*v))+" bytes", "Member must have length less than or equal to "+strconv.Itoa(maxRecordData))
	}
	return nil
}

// checkPartitionKey checks a partition key: 1..256 Unicode characters.
func checkPartitionKey(member string, v *string) error {
	if err := checkLen(member, v, 1, maxPartitionKey, true); err != nil {
		return err
	}
	if !utf8.ValidString(*v) {
		return validation(member, *v, "Member must be valid UTF-8")
	}
	return nil
}

// checkTagMap checks a map of tags: 1..50 entries, keys of 1..128 and
// values of 0..256 characters.
func checkTagMap(member string, tags map[string]string, required bool) error {
	if tags == nil {
		return checkRequired(member, !required)
	}
	if len(tags) < 1 {
		return validation(member, "{}", "Member must have length greater than or equal to 1")
	}
	if len(tags) > maxTags {
		return validation(member, strconv.Itoa(len(tags))+" tags", "Member must have length less than or equal to 50")
	}
	for k, v := range tags {
		if err := firstError(checkTagKey(member+".key", k), checkLen(member+".value", &v, 0, maxTagValueLen, true)); err != nil {
			return err
		}
	}
	return nil
}

// checkTagKeys checks a list of tag keys: 1..50 of them.
func checkTagKeys(member string, keys []string) error {
	if keys == nil {
		return checkRequired(member, false)
	}
	if len(keys) < 1 || len(keys) > maxTags {
		return validation(member, strconv.Itoa(len(keys))+" keys", "Member must have length between 1 and 50")
	}
	for _, k := range keys {
		if err := checkTagKey(member+".member", k); err != nil {
			return err
		}
	}
	return nil
}

// checkTagKey checks one tag key: 1..128 characters.
func checkTagKey(member, k string) error {
	if err := checkLen(member, &k, 1, maxTagKeyLen, true); err != nil {
		return err
	}
	if !utf8.ValidString(k) {
		return validation(member, k, "Member must be valid UTF-8")
	}
	return nil
}
