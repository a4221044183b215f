package rabbitmq

import (
	"testing"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/conformance"
)

func TestConformance(t *testing.T) {
	conformance.Run(t, func(t *testing.T) *courier.Broker { return openBroker(t) }, conformance.Features{})
}
