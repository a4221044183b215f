// Package client is the http:// and https:// driver: a Go client of a
// courier server over gRPC (the courier.v1 services of proto/courier/v1,
// spoken with connect-go's gRPC protocol over HTTP/2). Importing it
// (courier imports it already) makes courier.Open(ctx,
// "http://127.0.0.1:7410") return a Broker whose calls run on the server,
// with the same semantics and errors as the embedded engine
// (errors.Is(err, courier.ErrNotFound) works across the wire).
//
// http:// speaks HTTP/2 without TLS (h2c, as `courier serve` does on one
// port); https:// checks the server's certificate against the system's
// roots, or against the CA certificates (PEM) of the URL option ca_file
// (or COURIER_CA_FILE); cert_file and key_file (COURIER_CERT_FILE,
// COURIER_KEY_FILE) present a client certificate, for servers that
// authenticate by it:
//
//	courier.Open(ctx, "https://courier.internal:7410?ca_file=/etc/courier/ca.pem")
//
// A server with authentication on needs a bearer token: the environment
// variable COURIER_TOKEN, or the URL option token_file (a file holding
// it). The URL options win over the environment.
//
// # Behaviour under failure
//
// Every call carries its context's deadline to the server (the
// grpc-timeout header), which stops working on the call when it passes.
// The client keeps no session state: each call finds or opens an HTTP/2
// connection, and a connection that stops answering pings is dropped.
// A call that could not reach the server at all (the connection was
// refused or could not be dialled) is retried with jittered exponential
// backoff for up to 30 seconds or until its context ends, since nothing
// was sent (Open itself fails at once); a call that
// failed after it was sent returns its error, because the server may have
// done the work (a send is retried safely only with dedup IDs). Topic
// tails reopen their stream with backoff when it breaks; messages
// published while a tail is away are not delivered to it (tails are
// ephemeral). Receives of queues, subscriptions and handler targets are
// single calls that hold no state in the client, so a consumer resumes
// by calling again. A receive whose caller gives up (its context ends)
// while the server takes messages has them made visible again at once; one
// whose answer is lost on the way back leaves them in flight until their
// visibility timeout, as with any at-least-once broker (they count a
// receive, towards MaxReceives). Close ends the tails.
//
// The package rest (rest+http://) is the same driver over the REST API.
package client

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"

	"github.com/courier-io/courier/driver"
	pb "github.com/courier-io/courier/internal/gen/courier/v1"
	"github.com/courier-io/courier/internal/gen/courier/v1/courierv1connect"
	"github.com/courier-io/courier/internal/httpapi"
	"github.com/courier-io/courier/internal/remote"
)

func init() {
	driver.Register("http", open)
	driver.Register("https", open)
}

// Conn is a connection to a courier server. It implements driver.Conn,
// driver.Queues, driver.Topics, driver.Streams and driver.Buses.
type Conn struct {
	base string
	tr   *http.Transport
	// life ends when the connection closes: the topic tails run in it.
	life    context.Context
	close   context.CancelFunc
	caps    driver.Capabilities
	queues  courierv1connect.QueueServiceClient
	topics  courierv1connect.TopicServiceClient
	streams courierv1connect.StreamServiceClient
	buses   courierv1connect.BusServiceClient
}

// bearer adds the Authorization header to every request.
type bearer struct {
	token string
	next  http.RoundTripper
}

// RoundTrip sends r with the token.
func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", b.token)
	return b.next.RoundTrip(r)
}

// Health checks of idle HTTP/2 connections: a connection that does not
// answer a ping within pingTimeout is closed, so the next call dials anew
// instead of waiting on a dead peer.
const (
	pingAfter   = 15 * time.Second
	pingTimeout = 10 * time.Second
)

func open(ctx context.Context, u *url.URL, _ driver.Options) (driver.Conn, error) {
	srv, err := remote.Parse(u)
	if err != nil {
		return nil, err
	}
	tr := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:     srv.TLS,
		TLSHandshakeTimeout: 10 * time.Second,
		IdleConnTimeout:     90 * time.Second,
		MaxIdleConnsPerHost: 16,
		HTTP2:               &http.HTTP2Config{SendPingTimeout: pingAfter, PingTimeout: pingTimeout},
	}
	protocols := new(http.Protocols)
	if srv.TLS == nil {
		protocols.SetUnencryptedHTTP2(true)
	} else {
		protocols.SetHTTP2(true)
	}
	tr.Protocols = protocols
	var rt http.RoundTripper = tr
	if srv.Token != "" {
		rt = bearer{token: "Bearer " + srv.Token, next: tr}
	}
	// Calls are POSTs that are never redirected; refusing redirects also
	// keeps the bearer token from following one to another host.
	hc := &http.Client{Transport: rt, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	opts := []connect.ClientOption{connect.WithGRPC()}
	life, closeLife := context.WithCancel(context.Background())
	c := &Conn{
		base:    srv.Base,
		tr:      tr,
		life:    life,
		close:   closeLife,
		queues:  courierv1connect.NewQueueServiceClient(hc, srv.Base, opts...),
		topics:  courierv1connect.NewTopicServiceClient(hc, srv.Base, opts...),
		streams: courierv1connect.NewStreamServiceClient(hc, srv.Base, opts...),
		buses:   courierv1connect.NewBusServiceClient(hc, srv.Base, opts...),
	}
	server := courierv1connect.NewServerServiceClient(hc, srv.Base, opts...)
	// Open fails fast: a server that cannot be reached now is an error
	// for the caller to see, not a wait.
	caps, err := server.GetCapabilities(ctx, &pb.GetCapabilitiesRequest{})
	if err != nil {
		closeLife()
		tr.CloseIdleConnections()
		return nil, fmt.Errorf("server %s: %w", srv.Base, remoteError(ctx, err))
	}
	c.caps = driver.Capabilities{
		Queues: caps.GetQueues(), FIFO: caps.GetFifo(), Dedup: caps.GetDedup(), Delay: caps.GetDelay(),
		DeadLetter: caps.GetDeadLetter(), Redrive: caps.GetRedrive(), LongPoll: caps.GetLongPoll(),
		Persistent: caps.GetPersistent(), Topics: caps.GetTopics(), Push: caps.GetPush(), Streams: caps.GetStreams(),
		Buses: caps.GetBuses(),
	}
	return c, nil
}

// Capabilities reports the server backend's capabilities.
func (c *Conn) Capabilities() driver.Capabilities { return c.caps }

// Close ends the topic tails (their Next answers ErrClosed) and releases
// idle connections. Calls in progress finish.
func (c *Conn) Close() error {
	c.close()
	c.tr.CloseIdleConnections()
	return nil
}

// Backoff of calls that could not reach the server, and how long a call
// keeps trying (a server restart takes seconds).
const (
	retryMin    = 50 * time.Millisecond
	retryMax    = 2 * time.Second
	retryWindow = 30 * time.Second
)

// call makes a unary call, retrying it with backoff while the server
// cannot be reached (see unreachable), for up to retryWindow or until ctx
// ends, and returns its answer or its error as a courier error.
func call[Req, Res any](ctx context.Context, f func(context.Context, *Req) (*Res, error), req *Req) (*Res, error) {
	start := time.Now()
	for attempt := 0; ; attempt++ {
		res, err := f(ctx, req)
		if err == nil {
			return res, nil
		}
		if !unreachable(err) || ctx.Err() != nil || time.Since(start) > retryWindow {
			return nil, deadlineError(ctx, remoteError(ctx, err))
		}
		if !sleep(ctx, backoff(attempt)) {
			return nil, remoteError(ctx, err)
		}
	}
}

// deadlineSkew bounds how much sooner than the client the server may see
// a propagated deadline pass (it was sent as a duration, and the clocks of
// the two ends start apart by the request's transit).
const deadlineSkew = time.Second

// deadlineError returns ctx.Err() in place of err when the server ended
// the call because the deadline that ctx propagated passed: the server's
// copy of the deadline passes a moment before ctx's, and the caller should
// see its own context's error, as with a local engine. It waits out that
// moment.
func deadlineError(ctx context.Context, err error) error {
	if !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	dl, ok := ctx.Deadline()
	if !ok || time.Until(dl) > deadlineSkew {
		return err
	}
	<-ctx.Done()
	return ctx.Err()
}

// backoff is the full-jitter delay before retry attempt+1: uniform in
// [0, min(retryMax, retryMin·2^attempt)].
func backoff(attempt int) time.Duration {
	ceiling := retryMax
	if attempt < 10 {
		ceiling = min(retryMax, retryMin<<attempt)
	}
	return time.Duration(rand.Int64N(int64(ceiling) + 1))
}

// sleep waits d; false if ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// unreachable reports whether err says that the request never reached the
// server: the dial failed (refused, unreachable host, no route). Such a
// call is safe to retry whatever it does.
func unreachable(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	return errors.Is(err, syscall.ECONNREFUSED)
}

// remoteError turns the error of a call into a courier error: a status
// of the courier surface (its google.rpc.ErrorInfo in domain "courier")
// becomes the error of its code, matching the same sentinel with
// errors.Is and, for invalid input, a *driver.ValidationError naming the
// same field; the end of ctx is ctx.Err(); a failure to talk to the server
// at all is driver.ErrClosed.
func remoteError(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return fmt.Errorf("%w: %v", driver.ErrClosed, err)
	}
	for _, d := range ce.Details() {
		v, derr := d.Value()
		if derr != nil {
			continue
		}
		if info, ok := v.(*errdetails.ErrorInfo); ok && info.GetDomain() == "courier" {
			e := httpapi.Error{Code: strings.ToLower(info.GetReason()), Message: ce.Message(), Field: info.GetMetadata()["field"]}
			return e.Err()
		}
	}
	switch ce.Code() {
	case connect.CodeDeadlineExceeded:
		return fmt.Errorf("%w: %s", context.DeadlineExceeded, ce.Message())
	case connect.CodeUnavailable, connect.CodeUnknown, connect.CodeInternal:
		return fmt.Errorf("%w: the server could not be reached or failed: %s", driver.ErrClosed, ce.Message())
	case connect.CodeResourceExhausted:
		// Without courier's details: the request was refused before a
		// handler saw it, for its size.
		return fmt.Errorf("%w: %s", driver.ErrTooLarge, ce.Message())
	case connect.CodeUnimplemented:
		return fmt.Errorf("%w: the server does not offer this call (an older courier?): %s", driver.ErrUnsupported, ce.Message())
	}
	return fmt.Errorf("server error %s: %s", ce.Code(), ce.Message())
}

// waitPB is the wait of a pull: unset for the queue's default, zero for no
// wait.
func waitPB(w time.Duration) *time.Duration {
	switch w {
	case driver.WaitQueueDefault:
		return nil
	case driver.NoWait:
		zero := time.Duration(0)
		return &zero
	}
	return &w
}
