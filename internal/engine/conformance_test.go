package engine_test

import (
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/conformance"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		crashChild(dir)
		return
	}
	goleak.VerifyTestMain(m)
}

func openBroker(t *testing.T, url string) *courier.Broker {
	t.Helper()
	b, err := courier.Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func TestConformanceMem(t *testing.T) {
	conformance.Run(t, func(t *testing.T) *courier.Broker { return openBroker(t, "mem://") }, conformance.Features{Synctest: true})
}
