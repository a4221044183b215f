// Package services gathers the AWS-compatible services for a gateway
// (gateway.Services): SQS, SNS, EventBridge and Kinesis.
package services

import (
	"github.com/courier-io/courier/awsapi"
	"github.com/courier-io/courier/awsapi/eventbridge"
	"github.com/courier-io/courier/awsapi/gateway"
	"github.com/courier-io/courier/awsapi/kinesis"
	"github.com/courier-io/courier/awsapi/sns"
	"github.com/courier-io/courier/awsapi/sqs"
)

// All returns the factories of the four services.
func All() gateway.Services {
	return gateway.Services{
		SQS:         func(env *awsapi.Env) (awsapi.Service, error) { return sqs.New(env) },
		SNS:         func(env *awsapi.Env) (awsapi.Service, error) { return sns.New(env) },
		EventBridge: func(env *awsapi.Env) (awsapi.Service, error) { return eventbridge.New(env) },
		Kinesis:     func(env *awsapi.Env) (awsapi.Service, error) { return kinesis.New(env) },
	}
}
