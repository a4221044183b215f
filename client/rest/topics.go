package rest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/courier-io/courier/driver"
	"github.com/courier-io/courier/internal/httpapi"
	"github.com/courier-io/courier/internal/remote"
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
	f := remote.NewFeed(topic, opts, func() { cancel(); resp.Body.Close() })
	f.Start(func() string { return readTail(f, resp.Body) })
	return f, nil
}

// readTail reads the lines of a tail's stream into f until it ends, and
// returns why it ended.
func readTail(f *remote.Feed, body io.Reader) string {
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 64<<10), 4*driver.MaxMessageSizeLimit)
	for sc.Scan() {
		var line httpapi.TailLine
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			return "malformed line from the server"
		}
		f.SetServerDropped(line.Dropped)
		switch line.Type {
		case "end":
			return line.Reason
		case "message":
			if line.Message == nil {
				return "message line without a message"
			}
			d, err := line.Message.Driver()
			if err != nil {
				return err.Error()
			}
			if !f.Push(d) {
				return "closed"
			}
		}
	}
	return "the connection ended"
}
