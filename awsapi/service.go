package awsapi

import (
	"net/http"

	courier "github.com/courier-io/courier"
)

// Service is one AWS service's actions (package sqs, sns, eventbridge or
// kinesis): the gateway hands it every request addressed to it.
type Service interface {
	// Serve answers r, in the protocol it came in (r.Form set: query
	// protocol; otherwise JSON, or CBOR for Kinesis when r.CBOR).
	// Unknown actions get the protocol's error for them.
	Serve(w http.ResponseWriter, r *Request)
	// Close stops the service's background work (message move tasks,
	// HTTP deliveries) and waits for it.
	Close() error
}

// NotificationRenderer turns a topic message delivered to a queue without
// raw delivery into the body an SQS consumer of AWS expects: the SNS
// notification JSON. Package sns implements it; package sqs calls it for
// every delivery it returns.
type NotificationRenderer interface {
	// RenderNotification returns the body to deliver for d, received from
	// queue, and true when d is such a notification (published through
	// SNS to a subscription without raw delivery); then the delivery has
	// no message attributes of its own, as in SNS. baseURL is the
	// request's (Request.BaseURL), for the UnsubscribeURL.
	RenderNotification(baseURL, queue string, d *courier.Delivery) (body []byte, ok bool)
}
