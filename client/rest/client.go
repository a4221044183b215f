// Package rest is the rest+http:// and rest+https:// driver: a Go client
// of a courier server's REST API (docs/http-api.md). courier.Open(ctx,
// "rest+http://127.0.0.1:7410") returns a Broker whose calls run on the
// server as plain JSON requests, with the same errors as the embedded
// engine (errors.Is(err, courier.ErrNotFound) works across the wire).
// The http:// and https:// driver (package client) speaks gRPC instead;
// this one is for networks that pass only HTTP/1.1 and JSON, and it keeps
// the REST API under the conformance suite.
//
// It takes the URL options of package client: token_file for a bearer
// token (or COURIER_TOKEN) and, over rest+https://, ca_file, cert_file
// and key_file (or COURIER_CA_FILE, COURIER_CERT_FILE, COURIER_KEY_FILE).
package rest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/courier-io/courier/driver"
	"github.com/courier-io/courier/internal/httpapi"
	"github.com/courier-io/courier/internal/remote"
)

func init() {
	driver.Register("rest+http", open)
	driver.Register("rest+https", open)
}

// maxResponseBytes bounds a response body the client reads.
const maxResponseBytes = 256 << 20

// Conn is a connection to a courier server. It implements driver.Conn,
// driver.Queues, driver.Topics, driver.Streams and driver.Buses.
type Conn struct {
	base string // scheme://host[:port][/prefix], no trailing slash
	hc   *http.Client
	tr   *http.Transport
	caps driver.Capabilities
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

func open(ctx context.Context, u *url.URL, opts driver.Options) (driver.Conn, error) {
	srv, err := remote.Parse(u)
	if err != nil {
		return nil, err
	}
	token, tlsConfig := srv.Token, srv.TLS
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if tlsConfig != nil {
		tr.TLSClientConfig = tlsConfig
	}
	tr.MaxIdleConnsPerHost = 64
	tr.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	var rt http.RoundTripper = tr
	if token != "" {
		rt = bearer{token: "Bearer " + token, next: tr}
	}
	c := &Conn{
		base: srv.Base,
		// Refusing redirects keeps the bearer token from following one
		// to another host; the API answers none.
		hc: &http.Client{Transport: rt, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		tr: tr,
	}
	var caps httpapi.Capabilities
	if err := c.do(ctx, http.MethodGet, "/v1/capabilities", nil, &caps); err != nil {
		tr.CloseIdleConnections()
		return nil, fmt.Errorf("server %s: %w", c.base, err)
	}
	c.caps = driver.Capabilities{
		Queues: caps.Queues, FIFO: caps.FIFO, Dedup: caps.Dedup, Delay: caps.Delay, DeadLetter: caps.DeadLetter,
		Redrive: caps.Redrive, LongPoll: caps.LongPoll, Persistent: caps.Persistent,
		Topics: caps.Topics, Push: caps.Push, Streams: caps.Streams, Buses: caps.Buses,
	}
	return c, nil
}

// Capabilities reports the server backend's capabilities.
func (c *Conn) Capabilities() driver.Capabilities { return c.caps }

// Close releases idle connections. Calls in progress finish.
func (c *Conn) Close() error {
	c.tr.CloseIdleConnections()
	return nil
}

// do sends a JSON request and decodes a JSON answer into out (if not nil).
// Error answers become the courier error of their code.
func (c *Conn) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := httpapi.Marshal(in)
		if err != nil {
			return fmt.Errorf("%w: encoding request: %v", driver.ErrInvalid, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return fmt.Errorf("%w: %v", driver.ErrInvalid, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%w: %v", driver.ErrClosed, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("reading the answer of %s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		var e httpapi.ErrorResponse
		if json.Unmarshal(data, &e) != nil || e.Error.Code == "" {
			return fmt.Errorf("%s %s: server answered %s: %.200s", method, path, resp.Status, data)
		}
		return e.Error.Err()
	}
	if out == nil || len(data) == 0 {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: malformed answer: %v", method, path, err)
	}
	return nil
}

func queuePath(name string, suffix string) string {
	return "/v1/queues/" + url.PathEscape(name) + suffix
}

// CreateQueue implements driver.Queues.
func (c *Conn) CreateQueue(ctx context.Context, name string, attrs driver.QueueAttributes) (driver.QueueInfo, error) {
	var info httpapi.QueueInfo
	err := c.do(ctx, http.MethodPut, queuePath(name, ""), httpapi.AttributesJSON(attrs), &info)
	return info.Info(), err
}

// QueueInfo implements driver.Queues.
func (c *Conn) QueueInfo(ctx context.Context, name string) (driver.QueueInfo, error) {
	var info httpapi.QueueInfo
	err := c.do(ctx, http.MethodGet, queuePath(name, ""), nil, &info)
	return info.Info(), err
}

// SetQueueAttributes implements driver.Queues.
func (c *Conn) SetQueueAttributes(ctx context.Context, name string, attrs driver.QueueAttributes) (driver.QueueInfo, error) {
	var info httpapi.QueueInfo
	err := c.do(ctx, http.MethodPatch, queuePath(name, ""), httpapi.AttributesJSON(attrs), &info)
	return info.Info(), err
}

// ListQueues implements driver.Queues.
func (c *Conn) ListQueues(ctx context.Context) ([]string, error) {
	var list httpapi.QueueList
	err := c.do(ctx, http.MethodGet, "/v1/queues", nil, &list)
	return list.Queues, err
}

// DeleteQueue implements driver.Queues.
func (c *Conn) DeleteQueue(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, queuePath(name, ""), nil, nil)
}

// PurgeQueue implements driver.Queues.
func (c *Conn) PurgeQueue(ctx context.Context, name string) (int, error) {
	var out struct {
		Purged int `json:"purged"`
	}
	err := c.do(ctx, http.MethodPost, queuePath(name, "/purge"), nil, &out)
	return out.Purged, err
}

// Send implements driver.Queues; it always uses the batch form so that
// per-message errors come back per entry.
func (c *Conn) Send(ctx context.Context, queue string, msgs []driver.Message) ([]driver.SendResult, error) {
	return c.sendTo(ctx, queuePath(queue, "/messages"), msgs)
}

// sendTo posts a batch of messages to path (a queue send or a publish).
func (c *Conn) sendTo(ctx context.Context, path string, msgs []driver.Message) ([]driver.SendResult, error) {
	req := httpapi.SendRequest{Messages: make([]httpapi.Message, len(msgs))}
	for i, m := range msgs {
		req.Messages[i] = httpapi.MessageJSON(m)
	}
	var resp httpapi.SendResponse
	if err := c.do(ctx, http.MethodPost, path, req, &resp); err != nil {
		return nil, err
	}
	if len(resp.Results) != len(msgs) {
		return nil, fmt.Errorf("server answered %d results for %d messages", len(resp.Results), len(msgs))
	}
	out := make([]driver.SendResult, len(msgs))
	for i, r := range resp.Results {
		out[i] = driver.SendResult{ID: r.ID, Duplicate: r.Duplicate, Sequence: r.Sequence}
		if r.Error != nil {
			out[i].Err = r.Error.Err()
		}
	}
	return out, nil
}

// Receive implements driver.Queues.
func (c *Conn) Receive(ctx context.Context, queue string, req driver.ReceiveRequest) ([]driver.Delivery, error) {
	return c.receiveFrom(ctx, queuePath(queue, "/receive"), req)
}

// receiveFrom posts a receive to path (a queue or a durable subscription).
func (c *Conn) receiveFrom(ctx context.Context, path string, req driver.ReceiveRequest) ([]driver.Delivery, error) {
	body := httpapi.ReceiveRequest{Visibility: httpapi.Duration(req.Visibility)}
	if req.Max > 0 {
		body.Max = &req.Max
	}
	switch req.Wait {
	case driver.WaitQueueDefault:
	case driver.NoWait:
		zero := httpapi.Duration(0)
		body.Wait = &zero
	default:
		w := httpapi.Duration(req.Wait)
		body.Wait = &w
	}
	var resp httpapi.ReceiveResponse
	if err := c.do(ctx, http.MethodPost, path, body, &resp); err != nil {
		return nil, err
	}
	out := make([]driver.Delivery, len(resp.Messages))
	for i, m := range resp.Messages {
		d, err := m.Driver()
		if err != nil {
			return nil, fmt.Errorf("message %s: %w", m.ID, err)
		}
		out[i] = d
	}
	return out, nil
}

// settle posts receipts to a queue's op and returns one error per receipt.
func (c *Conn) settle(ctx context.Context, queue, op string, req httpapi.SettleRequest) ([]error, error) {
	return c.settleAt(ctx, queuePath(queue, "/"+op), req)
}

// settleAt posts receipts to path and returns one error per receipt.
func (c *Conn) settleAt(ctx context.Context, path string, req httpapi.SettleRequest) ([]error, error) {
	var resp httpapi.SettleResponse
	if err := c.do(ctx, http.MethodPost, path, req, &resp); err != nil {
		return nil, err
	}
	errs := make([]error, len(req.Receipts))
	for _, f := range resp.Failed {
		if f.Index < 0 || f.Index >= len(errs) {
			return nil, fmt.Errorf("server reported a failure for receipt %d of %d", f.Index, len(errs))
		}
		errs[f.Index] = f.Error.Err()
	}
	return errs, nil
}

// Ack implements driver.Queues.
func (c *Conn) Ack(ctx context.Context, queue string, receipts []string) ([]error, error) {
	return c.settle(ctx, queue, "ack", httpapi.SettleRequest{Receipts: receipts})
}

// ChangeVisibility implements driver.Queues: d = 0 is a nack, otherwise an
// extend by d.
func (c *Conn) ChangeVisibility(ctx context.Context, queue string, receipts []string, d time.Duration) ([]error, error) {
	v := httpapi.Duration(d)
	if d == 0 {
		return c.settle(ctx, queue, "nack", httpapi.SettleRequest{Receipts: receipts, Delay: &v})
	}
	return c.settle(ctx, queue, "extend", httpapi.SettleRequest{Receipts: receipts, Visibility: &v})
}

// Redrive implements driver.Queues.
func (c *Conn) Redrive(ctx context.Context, dlq string, req driver.RedriveRequest) (driver.RedriveResult, error) {
	var resp httpapi.RedriveResponse
	err := c.do(ctx, http.MethodPost, queuePath(dlq, "/redrive"), httpapi.RedriveRequest{Max: req.Max, Rate: req.Rate, Destination: req.Destination}, &resp)
	return driver.RedriveResult{Moved: resp.Moved}, err
}
