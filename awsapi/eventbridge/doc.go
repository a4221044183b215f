// Package eventbridge serves the Amazon EventBridge API (the AWSEvents
// JSON 1.1 protocol) on courier's event buses: event buses, PutEvents,
// rules with event patterns or schedules, targets with input
// transformers, retry policies and dead-letter queues, TestEventPattern,
// archives and replays, and connections and API destinations.
//
// The service translates: an event bus is a courier bus of the same name,
// a rule a courier rule, and a target a courier target (an SQS queue ARN
// a queue target, an SNS topic ARN a topic target, a Kinesis stream ARN
// a stream target, an event bus ARN a bus target, an API destination ARN
// an http target built from the destination and its connection). What
// courier does not keep — tags, a rule's RoleArn, the AWS form of each
// target, connections and API destinations with their secrets — lives in
// the gateway's metadata store (awsapi.Meta) under the "events/" prefix,
// so it survives restarts on file:// brokers. Secrets are never returned.
//
// Actions outside courier's scope (partner event sources, global
// endpoints, resource policies) fail with OperationDisabledException;
// unknown actions with UnknownOperationException. docs/aws.md (EventBridge)
// lists every action with its status.
//
// Create the service with New and hand it to the gateway:
//
//	gateway.New(ctx, broker, gateway.Config{}, gateway.Services{
//		EventBridge: func(env *awsapi.Env) (awsapi.Service, error) { return eventbridge.New(env) },
//	})
package eventbridge
