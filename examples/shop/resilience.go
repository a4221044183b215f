package main

import (
	"context"
	_ "embed"
	"errors"
	"fmt"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/resilience"
)

//go:embed resilience.yaml
var resilienceYAML []byte

// policies are the shop's resilience policies, one per caller and
// downstream, from resilience.yaml.
type policies struct {
	front          *resilience.Policy // inbound HTTP at the front
	ordersClient   *resilience.Policy // the front's gRPC calls
	ordersServer   *resilience.Policy // the orders service admitting calls
	ordersBroker   *resilience.Policy
	paymentsBroker *resilience.Policy
	gateway        *resilience.Policy
	shippingBroker *resilience.Policy
}

// loadPolicies builds the policies of resilience.yaml.
func loadPolicies() (policies, error) {
	cfg, err := resilience.LoadConfig(resilienceYAML, "yaml")
	if err != nil {
		return policies{}, fmt.Errorf("resilience.yaml: %w", err)
	}
	var p policies
	for target, dst := range map[string]**resilience.Policy{
		"front":            &p.front,
		"orders-client":    &p.ordersClient,
		"orders-server":    &p.ordersServer,
		"orders-broker":    &p.ordersBroker,
		"payments-broker":  &p.paymentsBroker,
		"payments-gateway": &p.gateway,
		"shipping-broker":  &p.shippingBroker,
	} {
		if *dst, err = cfg.PolicyFor(target); err != nil {
			return policies{}, fmt.Errorf("resilience.yaml: %w", err)
		}
	}
	return p, nil
}

// brokerCall runs fn, a call to the broker, under p. The broker's definite
// answers (invalid input, a missing queue, a closed broker, a storage
// failure that stopped the engine) are not retried: another attempt would
// get the same answer. Timeouts and transport errors (with an http://
// broker) are.
func brokerCall(ctx context.Context, p *resilience.Policy, fn func(ctx context.Context) error) error {
	return p.Do(ctx, func(ctx context.Context) error {
		err := fn(ctx)
		if definite(err) {
			return resilience.Permanent(err)
		}
		return err
	})
}

// definite reports whether err is an answer from the broker that does not
// change when asked again.
func definite(err error) bool {
	for _, target := range []error{courier.ErrInvalid, courier.ErrNotFound, courier.ErrTooLarge,
		courier.ErrConflict, courier.ErrClosed, courier.ErrStorage, courier.ErrUnsupported} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}
