// Package kinesis serves the Amazon Kinesis Data Streams API
// (X-Amz-Target Kinesis_20131202.*) on top of courier streams, in both
// wire encodings the AWS SDKs use: JSON 1.1 (application/x-amz-json-1.1,
// blobs in base64, timestamps as epoch seconds) and CBOR
// (application/x-amz-cbor-1.1, blobs as byte strings, timestamps as tag 1
// with epoch milliseconds, as the AWS SDK for Java and the KCL send them).
//
// A Kinesis stream is a courier stream of the same name and a shard is a
// courier partition: shard i of N ("shardId-00000000000i") owns the i-th
// of N equal slices of the 128-bit hash key space, and a record goes to
// the shard whose slice holds the MD5 of its partition key (or its
// ExplicitHashKey). The partition key is the courier record's key, the
// data its value. Sequence numbers are the courier offset in a
// fixed-width decimal form, so that they sort as strings and as big
// integers alike; shard iterators are courier shard iterators (valid for
// 5 minutes). Tags, the capacity mode and the registered consumers, which
// courier streams have no field for, live in the awsapi metadata store
// under "kinesis/".
//
// New returns the Service, which package gateway routes requests to. The
// action table in docs/aws.md (Kinesis) says which actions are supported
// and where they differ from AWS.
package kinesis
