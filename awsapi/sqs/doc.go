// Package sqs serves Amazon SQS's API over courier queues: both the JSON
// protocol (X-Amz-Target AmazonSQS.<Action>, what current SDKs send) and
// the query protocol (form-encoded requests, XML responses in the
// 2012-11-05 namespace), with AWS's error shapes, queue URLs and ARNs.
//
// An SQS queue is the courier queue of the same name: messages sent here
// are received by courier consumers and the other way round. Message
// attributes travel as courier headers (awsapi.AttributesToHeaders), so a
// courier consumer sees them and an SQS receiver sees a courier sender's
// headers as String attributes. What courier queues have no field for
// (tags, Policy, RedriveAllowPolicy, DeduplicationScope,
// FifoThroughputLimit, SqsManagedSseEnabled) is kept in the gateway's
// metadata store (awsapi.Meta) under "sqs/". Message move tasks run in
// goroutines that the Service owns and Close stops.
//
// docs/aws.md (SQS) lists every action with what it does differently from
// AWS.
package sqs
