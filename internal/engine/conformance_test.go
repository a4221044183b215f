package engine_test

import (
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/conformance"
)

func TestMain(m *testing.M) {
	if spec := os.Getenv(crashChildEnv); spec != "" {
		crashChild(spec)
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

func TestConformanceFile(t *testing.T) {
	dirs := map[*courier.Broker]string{}
	open := func(t *testing.T, dir string) *courier.Broker {
		b := openBroker(t, "file://"+dir)
		dirs[b] = dir
		return b
	}
	conformance.Run(t, func(t *testing.T) *courier.Broker { return open(t, t.TempDir()) }, conformance.Features{
		Synctest: true,
		Restart: func(t *testing.T, b *courier.Broker) *courier.Broker {
			if err := b.Close(); err != nil {
				t.Fatalf("close before restart: %v", err)
			}
			return open(t, dirs[b])
		},
	})
}
