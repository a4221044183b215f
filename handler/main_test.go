package handler_test

import (
	"context"
	"testing"

	"go.uber.org/goleak"

	"github.com/courier-io/courier"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// open returns a mem:// broker closed when the test ends.
func open(t testing.TB) *courier.Broker {
	t.Helper()
	b, err := courier.Open(context.Background(), "mem://")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func must[T any](v T, err error) func(t testing.TB) T {
	return func(t testing.TB) T {
		t.Helper()
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return v
	}
}
