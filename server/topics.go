package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/driver"
	"github.com/courier-io/courier/internal/httpapi"
)

// topicRoutes registers the topic endpoints (docs/http-api.md, Topics).
func (s *Server) topicRoutes() {
	s.mux.HandleFunc("GET /v1/topics", s.listTopics)
	s.mux.HandleFunc("PUT /v1/topics/{name}", s.createTopic)
	s.mux.HandleFunc("GET /v1/topics/{name}", s.topicInfo)
	s.mux.HandleFunc("POST /v1/topics/{name}/test-filter", s.testFilter)
	s.mux.HandleFunc("DELETE /v1/topics/{name}", s.deleteTopic)
	s.mux.HandleFunc("POST /v1/topics/{name}/messages", s.publish)
	s.mux.HandleFunc("GET /v1/topics/{name}/tail", s.tail)
	s.mux.HandleFunc("GET /v1/topics/{name}/subscriptions", s.listSubscriptions)
	s.mux.HandleFunc("PUT /v1/topics/{name}/subscriptions/{sub}", s.subscribe)
	s.mux.HandleFunc("GET /v1/topics/{name}/subscriptions/{sub}", s.subscriptionInfo)
	s.mux.HandleFunc("DELETE /v1/topics/{name}/subscriptions/{sub}", s.unsubscribe)
	s.mux.HandleFunc("GET /v1/topics/{name}/subscriptions/{sub}/confirm", s.confirm)
	s.mux.HandleFunc("POST /v1/topics/{name}/subscriptions/{sub}/confirm", s.confirm)
	s.mux.HandleFunc("POST /v1/topics/{name}/subscriptions/{sub}/receive", s.receiveSubscription)
	s.mux.HandleFunc("POST /v1/topics/{name}/subscriptions/{sub}/ack", s.ackSubscription)
	s.mux.HandleFunc("POST /v1/topics/{name}/subscriptions/{sub}/nack", s.nackSubscription)
	s.mux.HandleFunc("POST /v1/topics/{name}/subscriptions/{sub}/extend", s.extendSubscription)
}

// topicNamed returns the request's topic name; on a bad name it answers
// the error and reports false.
func topicNamed(w http.ResponseWriter, r *http.Request) (string, bool) {
	name := r.PathValue("name")
	if err := driver.ValidateTopicName("name", name); err != nil {
		writeAPIError(w, err)
		return "", false
	}
	return name, true
}

// subscriptionNamed returns the request's subscription handle.
func (s *Server) subscriptionNamed(w http.ResponseWriter, r *http.Request) (*courier.Subscription, bool) {
	name, ok := topicNamed(w, r)
	if !ok {
		return nil, false
	}
	sub := r.PathValue("sub")
	if err := driver.ValidateSubscriptionName("sub", sub); err != nil {
		writeAPIError(w, err)
		return nil, false
	}
	return s.b.Topic(name).Subscription(sub), true
}

// body reads and decodes the request body into a T.
func body[T any](w http.ResponseWriter, r *http.Request, optional bool) (T, bool) {
	var req T
	data, err := readBody(r, w)
	if err == nil {
		err = DecodeJSON(data, &req, optional)
	}
	if err != nil {
		writeAPIError(w, err)
		return req, false
	}
	return req, true
}

func (s *Server) listTopics(w http.ResponseWriter, r *http.Request) {
	names, err := s.b.ListTopics(r.Context())
	if err != nil {
		writeAPIError(w, err)
		return
	}
	if names == nil {
		names = []string{}
	}
	writeJSON(w, http.StatusOK, httpapi.TopicList{Topics: names})
}

// createTopic creates a topic: 201 when created, 200 when it existed with
// equal attributes, 409 when it exists with others.
func (s *Server) createTopic(w http.ResponseWriter, r *http.Request) {
	name, ok := topicNamed(w, r)
	if !ok {
		return
	}
	req, ok := body[httpapi.TopicAttributes](w, r, true)
	if !ok {
		return
	}
	attrs := driver.DefaultTopicAttributes()
	req.ApplyTo(&attrs)
	_, err := s.b.Topic(name).Info(r.Context())
	existed := err == nil
	t, err := s.b.CreateTopic(r.Context(), name, courier.WithTopicAttributes(attrs))
	if err != nil {
		writeAPIError(w, err)
		return
	}
	info, err := t.Info(r.Context())
	if err != nil {
		writeAPIError(w, err)
		return
	}
	status := http.StatusCreated
	if existed {
		status = http.StatusOK
	}
	writeJSON(w, status, httpapi.TopicInfoJSON(info))
}

func (s *Server) topicInfo(w http.ResponseWriter, r *http.Request) {
	name, ok := topicNamed(w, r)
	if !ok {
		return
	}
	info, err := s.b.Topic(name).Info(r.Context())
	if err != nil {
		writeAPIError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, httpapi.TopicInfoJSON(info))
}

func (s *Server) deleteTopic(w http.ResponseWriter, r *http.Request) {
	name, ok := topicNamed(w, r)
	if !ok {
		return
	}
	if err := s.b.DeleteTopic(r.Context(), name); err != nil {
		writeAPIError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// publish takes the same body as a queue send and answers the same way.
func (s *Server) publish(w http.ResponseWriter, r *http.Request) {
	name, ok := topicNamed(w, r)
	if !ok {
		return
	}
	data, err := readBody(r, w)
	var msgs []courier.Message
	var batch bool
	if err == nil {
		msgs, batch, err = DecodeSend(data)
	}
	if err != nil {
		writeAPIError(w, err)
		return
	}
	if !s.messagesAllowed(w, msgs, batch) {
		return
	}
	res, err := s.b.Topic(name).PublishBatch(r.Context(), msgs)
	writeSendResults(w, res, batch, err)
}

// writeSendResults answers a send or publish: one result, or the batch's.
func writeSendResults(w http.ResponseWriter, res []courier.SendResult, batch bool, err error) {
	if !batch {
		if err == nil {
			err = res[0].Err
		}
		if err != nil {
			writeAPIError(w, singleMessageError(err))
			return
		}
		writeJSON(w, http.StatusOK, httpapi.SendResponse{ID: res[0].ID, Duplicate: res[0].Duplicate, Sequence: res[0].Sequence})
		return
	}
	if err != nil {
		writeAPIError(w, err)
		return
	}
	out := httpapi.SendResponse{IDs: make([]string, len(res)), Results: make([]httpapi.SendResult, len(res))}
	for i, x := range res {
		out.IDs[i] = x.ID
		out.Results[i] = httpapi.SendResult{ID: x.ID, Duplicate: x.Duplicate, Sequence: x.Sequence}
		if x.Err != nil {
			_, e := httpapi.ErrorOf(x.Err)
			out.Results[i].Error = &e
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// DecodeSubscription decodes the body of PUT .../subscriptions/{sub}.
func DecodeSubscription(data []byte) (driver.Subscription, error) {
	var req httpapi.Subscription
	if err := DecodeJSON(data, &req, false); err != nil {
		return driver.Subscription{}, err
	}
	sub, err := req.Driver()
	if err != nil {
		return sub, err
	}
	return sub, sub.Normalize()
}

// subscribe creates (201) or updates (200) a subscription. For HTTP
// subscriptions the confirmation request names the confirm endpoint as
// this request reached the server.
func (s *Server) subscribe(w http.ResponseWriter, r *http.Request) {
	sub, ok := s.subscriptionNamed(w, r)
	if !ok {
		return
	}
	data, err := readBody(r, w)
	var spec driver.Subscription
	if err == nil {
		spec, err = DecodeSubscription(data)
	}
	if err != nil {
		writeAPIError(w, err)
		return
	}
	dests := []destination{{"queue", spec.Queue}, {"queue", spec.Push.DeadLetterQueue}}
	if spec.Attributes != nil {
		dests = append(dests, destination{"queue", spec.Attributes.DeadLetterQueue})
	}
	if err := s.authorizeDestinations(r.Context(), dests...); err != nil {
		writeError(w, err)
		return
	}
	if spec.Kind == driver.KindHTTP {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		spec.ConfirmURL = scheme + "://" + r.Host + "/v1/topics/" + sub.Topic().Name() + "/subscriptions/" + sub.Name() + "/confirm"
	}
	_, err = sub.Info(r.Context())
	existed := err == nil
	info, err := sub.Topic().Subscribe(r.Context(), sub.Name(), spec)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	status := http.StatusCreated
	if existed {
		status = http.StatusOK
	}
	writeJSON(w, status, httpapi.SubscriptionInfoJSON(info))
}

func (s *Server) listSubscriptions(w http.ResponseWriter, r *http.Request) {
	name, ok := topicNamed(w, r)
	if !ok {
		return
	}
	subs, err := s.b.Topic(name).Subscriptions(r.Context())
	if err != nil {
		writeAPIError(w, err)
		return
	}
	out := httpapi.SubscriptionList{Subscriptions: make([]httpapi.SubscriptionInfo, len(subs))}
	for i, sub := range subs {
		out.Subscriptions[i] = httpapi.SubscriptionInfoJSON(sub)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) subscriptionInfo(w http.ResponseWriter, r *http.Request) {
	sub, ok := s.subscriptionNamed(w, r)
	if !ok {
		return
	}
	info, err := sub.Info(r.Context())
	if err != nil {
		writeAPIError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, httpapi.SubscriptionInfoJSON(info))
}

func (s *Server) unsubscribe(w http.ResponseWriter, r *http.Request) {
	sub, ok := s.subscriptionNamed(w, r)
	if !ok {
		return
	}
	if err := sub.Delete(r.Context()); err != nil {
		writeAPIError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// confirm activates a pending HTTP subscription: GET with ?token= (the
// subscribe_url of the confirmation request) or POST {"token": ...}.
func (s *Server) confirm(w http.ResponseWriter, r *http.Request) {
	sub, ok := s.subscriptionNamed(w, r)
	if !ok {
		return
	}
	token := r.URL.Query().Get("token")
	if r.Method == http.MethodPost {
		req, ok := body[httpapi.ConfirmRequest](w, r, true)
		if !ok {
			return
		}
		if req.Token != "" {
			token = req.Token
		}
	}
	if err := sub.Topic().ConfirmSubscription(r.Context(), sub.Name(), token); err != nil {
		writeAPIError(w, err)
		return
	}
	info, err := sub.Info(r.Context())
	if err != nil {
		writeAPIError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, httpapi.SubscriptionInfoJSON(info))
}

// receiveSubscription reads a durable subscription like a queue receive.
func (s *Server) receiveSubscription(w http.ResponseWriter, r *http.Request) {
	sub, ok := s.subscriptionNamed(w, r)
	if !ok {
		return
	}
	data, err := readBody(r, w)
	var req httpapi.ReceiveRequest
	if err == nil {
		req, err = DecodeReceive(data)
	}
	var dr driver.ReceiveRequest
	if err == nil {
		dr, err = req.Driver()
	}
	if err != nil {
		writeAPIError(w, err)
		return
	}
	opts := []courier.ReceiveOption{courier.Visibility(dr.Visibility), courier.Max(max(dr.Max, 1))}
	if req.Wait != nil {
		opts = append(opts, courier.Wait(time.Duration(*req.Wait)))
	}
	if s.draining() {
		opts = append(opts, courier.Wait(0))
	}
	ctx, cancel := s.pollContext(r)
	defer cancel()
	ds, err := sub.Receive(ctx, opts...)
	if err != nil && !(s.draining() && errors.Is(err, ctx.Err())) {
		writeAPIError(w, err)
		return
	}
	out := httpapi.ReceiveResponse{Messages: make([]httpapi.Delivery, len(ds))}
	for i, d := range ds {
		out.Messages[i] = httpapi.DeliveryJSON(d.Delivery)
	}
	writeJSON(w, http.StatusOK, out)
}

// settleSubscription decodes a settle body and runs op on the durable
// subscription.
func (s *Server) settleSubscription(w http.ResponseWriter, r *http.Request, op func(sub *courier.Subscription, req httpapi.SettleRequest) error) {
	sub, ok := s.subscriptionNamed(w, r)
	if !ok {
		return
	}
	data, err := readBody(r, w)
	var req httpapi.SettleRequest
	if err == nil {
		req, err = DecodeSettle(data)
	}
	if err != nil {
		writeAPIError(w, err)
		return
	}
	writeSettled(w, op(sub, req))
}

func (s *Server) ackSubscription(w http.ResponseWriter, r *http.Request) {
	s.settleSubscription(w, r, func(sub *courier.Subscription, req httpapi.SettleRequest) error {
		if req.Delay != nil || req.Visibility != nil {
			return driver.Invalid("body", "ack takes only receipts")
		}
		return sub.Ack(r.Context(), req.Receipts...)
	})
}

func (s *Server) nackSubscription(w http.ResponseWriter, r *http.Request) {
	s.settleSubscription(w, r, func(sub *courier.Subscription, req httpapi.SettleRequest) error {
		if req.Visibility != nil {
			return driver.Invalid("visibility", "nack takes a delay; use extend to change visibility")
		}
		return sub.Nack(r.Context(), durationOr(req.Delay, 0), req.Receipts...)
	})
}

func (s *Server) extendSubscription(w http.ResponseWriter, r *http.Request) {
	s.settleSubscription(w, r, func(sub *courier.Subscription, req httpapi.SettleRequest) error {
		if req.Visibility == nil {
			return driver.Invalid("visibility", "required: how long the messages stay invisible from now")
		}
		if req.Delay != nil {
			return driver.Invalid("delay", "extend takes a visibility; use nack to delay")
		}
		return sub.Extend(r.Context(), durationOr(req.Visibility, 0), req.Receipts...)
	})
}

// tailHeartbeat is how often an idle tail stream writes a heartbeat line.
const tailHeartbeat = 15 * time.Second

// ParseTailQuery reads the options of GET /v1/topics/{name}/tail.
func ParseTailQuery(q map[string][]string) (driver.TailOptions, error) {
	var o driver.TailOptions
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[len(v)-1]
		}
		return ""
	}
	for k := range q {
		switch k {
		case "filter_policy", "filter_scope", "raw", "buffer", "overflow":
		default:
			if k == "" {
				return o, driver.Invalid("query", "a parameter has no name")
			}
			return o, driver.Invalid(k, "unknown parameter; accepted are filter_policy, filter_scope, raw, buffer and overflow")
		}
	}
	o.FilterPolicy = get("filter_policy")
	o.FilterScope = driver.FilterScope(get("filter_scope"))
	o.Overflow = driver.Overflow(get("overflow"))
	if v := get("raw"); v != "" {
		raw, err := strconv.ParseBool(v)
		if err != nil {
			return o, driver.Invalid("raw", "%q is not true or false", v)
		}
		o.Raw = raw
	}
	if v := get("buffer"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return o, driver.Invalid("buffer", "%q is not a number", v)
		}
		if n == 0 {
			return o, driver.Invalid("buffer", "0 is out of range; accepted is 1 to %d", driver.MaxTailBuffer)
		}
		o.Buffer = n
	}
	return o, o.Normalize()
}

// tail streams an ephemeral subscription as JSON lines until the client
// goes away, the server drains, or the topic is deleted.
func (s *Server) tail(w http.ResponseWriter, r *http.Request) {
	name, ok := topicNamed(w, r)
	if !ok {
		return
	}
	opts, err := ParseTailQuery(r.URL.Query())
	if err != nil {
		writeAPIError(w, err)
		return
	}
	t, err := s.b.Topic(name).Tail(r.Context(), courier.WithTailOptions(opts))
	if err != nil {
		writeAPIError(w, err)
		return
	}
	defer t.Close()
	ctx, cancel := s.pollContext(r)
	defer cancel()
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	write := func(line httpapi.TailLine) bool {
		line.Dropped = t.Dropped()
		if enc.Encode(line) != nil {
			return false
		}
		if flusher != nil {
			flusher.Flush()
		}
		return true
	}
	if !write(httpapi.TailLine{Type: "heartbeat"}) {
		return
	}
	for {
		wait, stop := context.WithTimeout(ctx, tailHeartbeat)
		m, err := t.Next(wait)
		stop()
		switch {
		case err == nil:
			d := httpapi.DeliveryJSON(m)
			if !write(httpapi.TailLine{Type: "message", Message: &d}) {
				return
			}
		case ctx.Err() != nil:
			if s.draining() {
				write(httpapi.TailLine{Type: "end", Reason: "the server is shutting down"})
			}
			return
		case errors.Is(err, context.DeadlineExceeded):
			if !write(httpapi.TailLine{Type: "heartbeat"}) {
				return
			}
		default:
			write(httpapi.TailLine{Type: "end", Reason: err.Error()})
			return
		}
	}
}

// DecodeTestFilter decodes the body of POST /v1/topics/{name}/test-filter:
// a filter policy (a JSON object), its scope and a message.
func DecodeTestFilter(data []byte) (policy string, scope driver.FilterScope, msg driver.Message, err error) {
	var req httpapi.TestFilterRequest
	if err := DecodeJSON(data, &req, false); err != nil {
		return "", "", msg, err
	}
	p := bytes.TrimSpace(req.FilterPolicy)
	if len(p) == 0 || bytes.Equal(p, []byte("null")) || p[0] != '{' {
		return "", "", msg, driver.Invalid("filter_policy", "required: a JSON object (the SNS filter policy)")
	}
	if msg, err = req.Message.Driver("message"); err != nil {
		return "", "", msg, err
	}
	return string(p), driver.FilterScope(req.FilterScope), msg, nil
}

// testFilter reports whether a subscription with a filter policy would
// receive a message. The topic plays no part, but must exist.
func (s *Server) testFilter(w http.ResponseWriter, r *http.Request) {
	name, ok := topicNamed(w, r)
	if !ok {
		return
	}
	data, err := readBody(r, w)
	if err != nil {
		writeError(w, err)
		return
	}
	policy, scope, msg, err := DecodeTestFilter(data)
	if err != nil {
		writeError(w, err)
		return
	}
	if _, err := s.b.Topic(name).Info(r.Context()); err != nil {
		writeAPIError(w, err)
		return
	}
	match, err := courier.TestFilterPolicy(policy, scope, msg)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, httpapi.TestFilterResponse{Match: match})
}
