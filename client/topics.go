package client

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/courier-io/courier/driver"
	"github.com/courier-io/courier/internal/httpapi"
)

var _ driver.Topics = (*Conn)(nil)

func topicPath(name, suffix string) string {
	return "/v1/topics/" + url.PathEscape(name) + suffix
}

func subPath(topic, sub, suffix string) string {
	return topicPath(topic, "/subscriptions/"+url.PathEscape(sub)+suffix)
}

// CreateTopic creates a topic.
func (c *Conn) CreateTopic(ctx context.Context, name string, attrs driver.TopicAttributes) (driver.TopicInfo, error) {
	var info httpapi.TopicInfo
	err := c.do(ctx, http.MethodPut, topicPath(name, ""), httpapi.TopicAttributesJSON(attrs), &info)
	return info.Info(), err
}

// TopicInfo returns a topic's attributes and stats.
func (c *Conn) TopicInfo(ctx context.Context, name string) (driver.TopicInfo, error) {
	var info httpapi.TopicInfo
	err := c.do(ctx, http.MethodGet, topicPath(name, ""), nil, &info)
	return info.Info(), err
}

// ListTopics returns the topic names.
func (c *Conn) ListTopics(ctx context.Context) ([]string, error) {
	var list httpapi.TopicList
	err := c.do(ctx, http.MethodGet, "/v1/topics", nil, &list)
	return list.Topics, err
}

// DeleteTopic deletes a topic.
func (c *Conn) DeleteTopic(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, topicPath(name, ""), nil, nil)
}

// Publish publishes a batch.
func (c *Conn) Publish(ctx context.Context, topic string, msgs []driver.Message) ([]driver.SendResult, error) {
	return c.sendTo(ctx, topicPath(topic, "/messages"), msgs)
}

// Subscribe creates or updates a subscription.
func (c *Conn) Subscribe(ctx context.Context, topic, name string, sub driver.Subscription) (driver.SubscriptionInfo, error) {
	var info httpapi.SubscriptionInfo
	if err := c.do(ctx, http.MethodPut, subPath(topic, name, ""), httpapi.SubscriptionJSON(sub), &info); err != nil {
		return driver.SubscriptionInfo{}, err
	}
	return info.Info()
}

// SubscriptionInfo returns one subscription.
func (c *Conn) SubscriptionInfo(ctx context.Context, topic, name string) (driver.SubscriptionInfo, error) {
	var info httpapi.SubscriptionInfo
	if err := c.do(ctx, http.MethodGet, subPath(topic, name, ""), nil, &info); err != nil {
		return driver.SubscriptionInfo{}, err
	}
	return info.Info()
}

// ListSubscriptions returns a topic's subscriptions.
func (c *Conn) ListSubscriptions(ctx context.Context, topic string) ([]driver.SubscriptionInfo, error) {
	var list httpapi.SubscriptionList
	if err := c.do(ctx, http.MethodGet, topicPath(topic, "/subscriptions"), nil, &list); err != nil {
		return nil, err
	}
	out := make([]driver.SubscriptionInfo, len(list.Subscriptions))
	for i, s := range list.Subscriptions {
		var err error
		if out[i], err = s.Info(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Unsubscribe deletes a subscription.
func (c *Conn) Unsubscribe(ctx context.Context, topic, name string) error {
	return c.do(ctx, http.MethodDelete, subPath(topic, name, ""), nil, nil)
}

// ConfirmSubscription confirms a pending HTTP subscription.
func (c *Conn) ConfirmSubscription(ctx context.Context, topic, name, token string) error {
	return c.do(ctx, http.MethodPost, subPath(topic, name, "/confirm"), httpapi.ConfirmRequest{Token: token}, nil)
}

// ReceiveSubscription receives from a durable subscription.
func (c *Conn) ReceiveSubscription(ctx context.Context, topic, name string, req driver.ReceiveRequest) ([]driver.Delivery, error) {
	return c.receiveFrom(ctx, subPath(topic, name, "/receive"), req)
}

// AckSubscription acks deliveries of a durable subscription.
func (c *Conn) AckSubscription(ctx context.Context, topic, name string, receipts []string) ([]error, error) {
	return c.settleAt(ctx, subPath(topic, name, "/ack"), httpapi.SettleRequest{Receipts: receipts})
}

// ChangeSubscriptionVisibility nacks or extends deliveries of a durable
// subscription.
func (c *Conn) ChangeSubscriptionVisibility(ctx context.Context, topic, name string, receipts []string, d time.Duration) ([]error, error) {
	v := httpapi.Duration(d)
	if d == 0 {
		return c.settleAt(ctx, subPath(topic, name, "/nack"), httpapi.SettleRequest{Receipts: receipts, Delay: &v})
	}
	return c.settleAt(ctx, subPath(topic, name, "/extend"), httpapi.SettleRequest{Receipts: receipts, Visibility: &v})
}

// Tail opens an ephemeral subscription: a streaming GET that lasts until
// Close.
func (c *Conn) Tail(ctx context.Context, topic string, opts driver.TailOptions) (driver.Feed, error) {
	q := url.Values{}
	if opts.FilterPolicy != "" {
		q.Set("filter_policy", opts.FilterPolicy)
	}
	if opts.FilterScope != "" {
		q.Set("filter_scope", string(opts.FilterScope))
	}
	if opts.Raw {
		q.Set("raw", "true")
	}
	if opts.Buffer != 0 {
		q.Set("buffer", strconv.Itoa(opts.Buffer))
	}
	if opts.Overflow != "" {
		q.Set("overflow", string(opts.Overflow))
	}
	fctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(fctx, http.MethodGet, c.base+topicPath(topic, "/tail")+"?"+q.Encode(), nil)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("%w: %v", driver.ErrInvalid, err)
	}
	// The caller's ctx bounds only the opening of the stream.
	stop := context.AfterFunc(ctx, cancel)
	resp, err := c.hc.Do(req)
	opened := stop()
	if err != nil || !opened {
		cancel()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%w: %v", driver.ErrClosed, err)
	}
	if resp.StatusCode != http.StatusOK {
		defer cancel()
		defer resp.Body.Close()
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		var e httpapi.ErrorResponse
		if json.Unmarshal(data, &e) != nil || e.Error.Code == "" {
			return nil, fmt.Errorf("tail %s: server answered %s", topic, resp.Status)
		}
		return nil, e.Error.Err()
	}
	f := newFeed(topic, resp.Body, cancel, opts)
	f.wg.Go(f.read)
	return f, nil
}

// feed reads a tail stream's lines in one goroutine (stopped by Close)
// into a ring buffer that applies the subscription's overflow policy on
// this side too, so that the socket's buffers do not hide a slow reader:
// with drop_oldest the oldest messages are dropped and counted here as on
// the server; with block the reader stops reading, and the connection's
// backpressure reaches the server's buffer and its publishers.
type feed struct {
	topic    string
	body     io.ReadCloser
	cancel   context.CancelFunc
	overflow driver.Overflow

	mu      sync.Mutex
	buf     []driver.Delivery // ring
	head, n int
	reason  string // why the stream ended, once ended
	ended   bool
	ready   chan struct{} // a message arrived or the stream ended (capacity 1)
	space   chan struct{} // a message left (capacity 1)
	closing chan struct{} // closed by Close

	serverDropped, localDropped atomic.Int64
	wg                          sync.WaitGroup
	once                        sync.Once
}

func newFeed(topic string, body io.ReadCloser, cancel context.CancelFunc, opts driver.TailOptions) *feed {
	size := opts.Buffer
	if size <= 0 {
		size = driver.DefaultTailBuffer
	}
	return &feed{topic: topic, body: body, cancel: cancel, overflow: opts.Overflow, buf: make([]driver.Delivery, size),
		ready: make(chan struct{}, 1), space: make(chan struct{}, 1), closing: make(chan struct{})}
}

func notify(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

func (f *feed) read() {
	reason := "the connection ended"
	defer func() {
		f.mu.Lock()
		f.ended, f.reason = true, reason
		f.mu.Unlock()
		notify(f.ready)
	}()
	sc := bufio.NewScanner(f.body)
	sc.Buffer(make([]byte, 64<<10), 4*driver.MaxMessageSizeLimit)
	for sc.Scan() {
		var line httpapi.TailLine
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			reason = "malformed line from the server"
			return
		}
		f.serverDropped.Store(line.Dropped)
		switch line.Type {
		case "end":
			reason = line.Reason
			return
		case "message":
			if line.Message == nil {
				reason = "message line without a message"
				return
			}
			d, err := line.Message.Driver()
			if err != nil {
				reason = err.Error()
				return
			}
			if !f.push(d) {
				return
			}
		}
	}
}

// push adds a message to the ring, applying the overflow policy; it
// reports false when the feed is closing.
func (f *feed) push(d driver.Delivery) bool {
	for {
		f.mu.Lock()
		if f.n == len(f.buf) {
			if f.overflow == driver.Block {
				f.mu.Unlock()
				select {
				case <-f.space:
					continue
				case <-f.closing:
					return false
				}
			}
			f.buf[f.head] = driver.Delivery{}
			f.head = (f.head + 1) % len(f.buf)
			f.n--
			f.localDropped.Add(1)
		}
		f.buf[(f.head+f.n)%len(f.buf)] = d
		f.n++
		f.mu.Unlock()
		notify(f.ready)
		return true
	}
}

// Next returns the next message.
func (f *feed) Next(ctx context.Context) (driver.Delivery, error) {
	for {
		f.mu.Lock()
		if f.n > 0 {
			d := f.buf[f.head]
			f.buf[f.head] = driver.Delivery{}
			f.head = (f.head + 1) % len(f.buf)
			f.n--
			more := f.n > 0 || f.ended
			f.mu.Unlock()
			notify(f.space)
			if more {
				notify(f.ready)
			}
			return d, nil
		}
		ended, reason := f.ended, f.reason
		f.mu.Unlock()
		if ended {
			return driver.Delivery{}, fmt.Errorf("tail of topic %q: %s: %w", f.topic, reason, driver.ErrClosed)
		}
		select {
		case <-f.ready:
		case <-ctx.Done():
			return driver.Delivery{}, ctx.Err()
		}
	}
}

// Dropped counts the messages dropped for this subscription, by the server
// and by this side.
func (f *feed) Dropped() int64 { return f.serverDropped.Load() + f.localDropped.Load() }

// Close ends the stream and waits for its reader.
func (f *feed) Close() error {
	f.once.Do(func() {
		close(f.closing)
		f.cancel()
		f.wg.Wait()
		f.body.Close()
	})
	return nil
}
