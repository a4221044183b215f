// Package sns serves Amazon SNS's query protocol (API version 2010-03-31)
// over courier topics: topics, subscriptions of SQS queues, HTTP/HTTPS
// endpoints and courier-native queues and durable subscriptions, filter
// policies in both scopes, raw delivery, Publish and PublishBatch, FIFO
// topics, tags, and HTTP subscription confirmation.
//
// The fan-out is courier's: a Publish is one courier Topic publish, which
// stores the message once and indexes it in every matching subscription.
// A subscribed SQS queue is a courier queue subscription; without raw
// delivery it receives courier's envelope, which RenderNotification
// (called by package sqs on every receive) turns into the signed SNS
// notification JSON. An HTTP/HTTPS subscription is a courier durable
// subscription drained by the Service's own workers, which POST SNS's
// message format and retry by the subscription's delivery policy.
//
// What courier has no field for (display names, policies, delivery
// policies, tags, subscription state, the signing key) lives in
// awsapi.Meta under the key prefix "sns/". docs/aws.md (SNS) lists every
// action with what it supports and where it differs from AWS.
package sns
