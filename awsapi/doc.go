// Package awsapi holds what the AWS-compatible endpoints share: the
// request every service handler gets (Request), errors in the shapes AWS
// returns them (Error), the query protocol's flattened parameters
// (ParseQuery), ARNs, message attributes with the MD5 digests SQS
// computes, and the metadata store for the AWS attributes and tags that
// have no place in a courier resource (Meta).
//
// The services live in the subpackages sqs, sns, eventbridge and
// kinesis; package gateway routes a request to them by its X-Amz-Target
// header or Action parameter and verifies its SigV4 signature (package
// sigv4). docs/aws.md lists what every action does.
package awsapi
