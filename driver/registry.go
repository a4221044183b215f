package driver

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"sync"
)

// Options are the settings the root package passes to every driver's OpenFunc.
// Backend-specific settings travel in the URL's query string instead.
type Options struct {
	// Logger receives the driver's logs. Never nil when passed by courier.Open.
	Logger *slog.Logger
}

// OpenFunc opens a connection to a backend described by u. It returns
// promptly when ctx ends. The URL is validated by the driver, which names
// the offending part in its error (wrapping ErrInvalid).
type OpenFunc func(ctx context.Context, u *url.URL, opts Options) (Conn, error)

var (
	registryMu sync.RWMutex
	registry   = map[string]OpenFunc{}
)

// Register makes a driver available under a URL scheme. It panics if the
// scheme is empty or registered twice: both are programming errors found at
// init time.
func Register(scheme string, open OpenFunc) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if scheme == "" || open == nil {
		panic("driver: Register with empty scheme or nil OpenFunc")
	}
	if _, dup := registry[scheme]; dup {
		panic(fmt.Sprintf("driver: Register called twice for scheme %q", scheme))
	}
	registry[scheme] = open
}

// Lookup returns the OpenFunc registered for scheme.
func Lookup(scheme string) (OpenFunc, bool) {
	registryMu.RLock()
	defer registryMu.RUnlock()
	open, ok := registry[scheme]
	return open, ok
}

// Schemes lists the registered schemes in sorted order.
func Schemes() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	out := make([]string, 0, len(registry))
	for s := range registry {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}
