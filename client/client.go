// Package client is the http:// and https:// driver: a Go client of a
// courier server's REST API. Importing it (courier imports it already)
// makes courier.Open(ctx, "http://127.0.0.1:7410") return a Broker whose
// calls run on the server, with the same errors as the embedded engine
// (errors.Is(err, courier.ErrNotFound) works across the wire).
//
// Over https:// the server's certificate is checked against the system's
// roots, or against the CA certificates (PEM) of the URL option ca_file
// (or the environment variable COURIER_CA_FILE); cert_file and key_file
// (COURIER_CERT_FILE, COURIER_KEY_FILE) present a client certificate, for
// servers that authenticate by it:
//
//	courier.Open(ctx, "https://courier.internal:7410?ca_file=/etc/courier/ca.pem")
//
// A server with authentication on needs a bearer token: the environment
// variable COURIER_TOKEN, or the URL option token_file (a file holding
// it; both schemes take it). The token goes in the Authorization header of
// every request.
//
// The URL options win over the environment.
package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/courier-io/courier/driver"
	"github.com/courier-io/courier/internal/httpapi"
)

func init() {
	driver.Register("http", open)
	driver.Register("https", open)
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

// bearerToken returns the token of the URL option token_file (which it
// removes from u) or of COURIER_TOKEN; "" for none.
func bearerToken(u *url.URL) (string, error) {
	q := u.Query()
	file := q.Get("token_file")
	if !q.Has("token_file") {
		return strings.TrimSpace(os.Getenv("COURIER_TOKEN")), nil
	}
	q.Del("token_file")
	u.RawQuery = q.Encode()
	data, err := os.ReadFile(file)
	if err != nil {
		return "", driver.Invalid("token_file", "reading the token: %v", err)
	}
	token := strings.TrimSpace(string(data))
	if token == "" {
		return "", driver.Invalid("token_file", "%s is empty", file)
	}
	return token, nil
}

func open(ctx context.Context, u *url.URL, opts driver.Options) (driver.Conn, error) {
	if u.Host == "" {
		return nil, driver.Invalid("url", "%s:// needs a host, as in http://127.0.0.1:7410", u.Scheme)
	}
	token, err := bearerToken(u)
	if err != nil {
		return nil, err
	}
	tlsConfig, err := clientTLS(u)
	if err != nil {
		return nil, err
	}
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
		base: strings.TrimSuffix(u.Scheme+"://"+u.Host+u.Path, "/"),
		hc:   &http.Client{Transport: rt},
		tr:   tr,
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

// tlsOptions are the URL options of https:// and the environment
// variables that give them otherwise.
var tlsOptions = []struct{ option, env string }{
	{"ca_file", "COURIER_CA_FILE"}, {"cert_file", "COURIER_CERT_FILE"}, {"key_file", "COURIER_KEY_FILE"},
}

// clientTLS returns the TLS configuration of an https:// URL: at least
// TLS 1.2, the CA and client certificate of its options or the
// environment; nil for http://.
func clientTLS(u *url.URL) (*tls.Config, error) {
	q := u.Query()
	if u.Scheme == "http" {
		if len(q) > 0 {
			return nil, driver.Invalid("url", "unknown options %q; http:// takes only token_file (ca_file, cert_file and key_file are for https://)", u.RawQuery)
		}
		return nil, nil
	}
	files := map[string]string{}
	for _, o := range tlsOptions {
		if v := q.Get(o.option); v != "" {
			files[o.option] = v
		} else if v := os.Getenv(o.env); v != "" {
			files[o.option] = v
		}
		q.Del(o.option)
	}
	if len(q) > 0 {
		return nil, driver.Invalid("url", "unknown options %q; https:// takes token_file, ca_file, cert_file and key_file", q.Encode())
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if f := files["ca_file"]; f != "" {
		pem, err := os.ReadFile(f)
		if err != nil {
			return nil, driver.Invalid("ca_file", "reading the CA file: %v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, driver.Invalid("ca_file", "%s holds no PEM certificate", f)
		}
		cfg.RootCAs = pool
	}
	cert, key := files["cert_file"], files["key_file"]
	switch {
	case cert != "" && key != "":
		pair, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			return nil, driver.Invalid("cert_file", "loading the client certificate: %v", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	case cert != "" || key != "":
		return nil, driver.Invalid("cert_file", "a client certificate needs both cert_file and key_file")
	}
	return cfg, nil
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
