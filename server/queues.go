package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/driver"
	"github.com/courier-io/courier/internal/httpapi"
)

// queueName returns the {name} path value, validated.
func queueName(r *http.Request) (string, error) {
	name := r.PathValue("name")
	return name, driver.ValidateQueueName("name", name)
}

// named returns the request's queue name; on a bad name it answers the
// error and reports false.
func named(w http.ResponseWriter, r *http.Request) (string, bool) {
	name, err := queueName(r)
	if err != nil {
		writeAPIError(w, err)
		return "", false
	}
	return name, true
}

// queueRequest returns the request's queue name and its body decoded by
// decode; on bad input it answers the error and reports false.
func queueRequest[T any](w http.ResponseWriter, r *http.Request, decode func([]byte) (T, error)) (string, T, bool) {
	var zero T
	name, ok := named(w, r)
	if !ok {
		return "", zero, false
	}
	data, err := readBody(r, w)
	if err == nil {
		var req T
		if req, err = decode(data); err == nil {
			return name, req, true
		}
	}
	writeAPIError(w, err)
	return "", zero, false
}

func (s *Server) listQueues(w http.ResponseWriter, r *http.Request) {
	names, err := s.b.ListQueues(r.Context())
	if err != nil {
		writeAPIError(w, err)
		return
	}
	if names == nil {
		names = []string{}
	}
	writeJSON(w, http.StatusOK, httpapi.QueueList{Queues: names})
}

// createQueue creates a queue: 201 when created, 200 when it existed with
// equal attributes, 409 when it exists with other attributes.
func (s *Server) createQueue(w http.ResponseWriter, r *http.Request) {
	name, req, ok := queueRequest(w, r, decodeAttributes(true))
	if !ok || !s.dlqAllowed(w, r, req) {
		return
	}
	attrs := courier.DefaultQueueAttributes()
	req.ApplyTo(&attrs)
	_, err := s.b.Queue(name).Info(r.Context())
	existed := err == nil
	q, err := s.b.CreateQueue(r.Context(), name, courier.WithAttributes(attrs))
	if err != nil {
		writeAPIError(w, err)
		return
	}
	info, err := q.Info(r.Context())
	if err != nil {
		writeAPIError(w, err)
		return
	}
	status := http.StatusCreated
	if existed {
		status = http.StatusOK
	}
	writeJSON(w, status, httpapi.InfoJSON(info))
}

// dlqAllowed checks that the caller may publish to the dead-letter queue
// the attributes name; otherwise it answers 403 and reports false.
func (s *Server) dlqAllowed(w http.ResponseWriter, r *http.Request, attrs httpapi.QueueAttributes) bool {
	if attrs.DeadLetterQueue == nil {
		return true
	}
	if err := s.authorizeDestinations(r.Context(), destination{"queue", *attrs.DeadLetterQueue}); err != nil {
		writeError(w, err)
		return false
	}
	return true
}

// decodeAttributes decodes queue attributes; the body may be empty when
// optional.
func decodeAttributes(optional bool) func([]byte) (httpapi.QueueAttributes, error) {
	return func(data []byte) (httpapi.QueueAttributes, error) {
		var req httpapi.QueueAttributes
		err := DecodeJSON(data, &req, optional)
		return req, err
	}
}

// updateQueue changes the attributes present in the body.
func (s *Server) updateQueue(w http.ResponseWriter, r *http.Request) {
	name, req, ok := queueRequest(w, r, decodeAttributes(false))
	if !ok || !s.dlqAllowed(w, r, req) {
		return
	}
	info, err := s.b.Queue(name).SetAttributes(r.Context(), func(a *courier.QueueAttributes) { req.ApplyTo(a) })
	if err != nil {
		writeAPIError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, httpapi.InfoJSON(info))
}

func (s *Server) queueInfo(w http.ResponseWriter, r *http.Request) {
	name, ok := named(w, r)
	if !ok {
		return
	}
	info, err := s.b.Queue(name).Info(r.Context())
	if err != nil {
		writeAPIError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, httpapi.InfoJSON(info))
}

// peek answers up to max (default 10) of a queue's messages without
// receiving them.
func (s *Server) peek(w http.ResponseWriter, r *http.Request) {
	name, ok := named(w, r)
	if !ok {
		return
	}
	n := 10
	if v := r.URL.Query().Get("max"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			writeError(w, driver.Invalid("max", "%q is not a number", v))
			return
		}
	}
	ms, err := s.b.Queue(name).Peek(r.Context(), n)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, httpapi.PeekedJSON(ms))
}

func (s *Server) deleteQueue(w http.ResponseWriter, r *http.Request) {
	name, ok := named(w, r)
	if !ok {
		return
	}
	if err := s.b.DeleteQueue(r.Context(), name); err != nil {
		writeAPIError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) purge(w http.ResponseWriter, r *http.Request) {
	name, ok := named(w, r)
	if !ok {
		return
	}
	n, err := s.b.Queue(name).Purge(r.Context())
	if err != nil {
		writeAPIError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"purged": n})
}

// DecodeSend decodes the body of a send into messages; batch reports
// whether it used the "messages" form.
func DecodeSend(data []byte) (msgs []courier.Message, batch bool, err error) {
	var req httpapi.SendRequest
	if err := DecodeJSON(data, &req, false); err != nil {
		return nil, false, err
	}
	if req.Messages == nil {
		// "messages": null decodes like an absent field; refuse it rather
		// than send one empty message.
		var probe struct {
			Messages json.RawMessage `json:"messages"`
		}
		if json.Unmarshal(data, &probe) == nil && probe.Messages != nil {
			return nil, false, driver.Invalid("messages", "must be an array of messages")
		}
	}
	single := req.Message.Body != nil || req.Message.BodyBase64 != nil || req.Message.Headers != nil ||
		req.Message.Delay != 0 || req.Message.DedupID != "" || req.Message.Group != ""
	if req.Messages != nil {
		if single {
			return nil, false, driver.Invalid("body", "send one message or a \"messages\" batch, not both")
		}
		if len(req.Messages) > driver.MaxBatch {
			return nil, false, driver.TooLarge("messages", "batch has %d messages; the limit is %d", len(req.Messages), driver.MaxBatch)
		}
		msgs = make([]courier.Message, len(req.Messages))
		for i := range req.Messages {
			if msgs[i], err = req.Messages[i].Driver(fmt.Sprintf("messages[%d]", i)); err != nil {
				return nil, false, err
			}
		}
		return msgs, true, nil
	}
	m, err := req.Message.Driver("")
	if err != nil {
		return nil, false, err
	}
	return []courier.Message{m}, false, nil
}

// singleMessageError names the fields of a single-message send as its
// JSON does: "delay", not "messages[0].delay"; the message as a whole
// (its size) is "body".
func singleMessageError(err error) error {
	var ve *driver.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	out := *ve
	switch {
	case out.Field == "messages[0]":
		out.Field = "body"
	case strings.HasPrefix(out.Field, "messages[0]."):
		out.Field = strings.TrimPrefix(out.Field, "messages[0].")
	default:
		return err
	}
	return &out
}

type sendRequest struct {
	msgs  []courier.Message
	batch bool
}

func decodeSendRequest(data []byte) (sendRequest, error) {
	msgs, batch, err := DecodeSend(data)
	return sendRequest{msgs, batch}, err
}

// send stores one message or a batch; it answers after they are durable.
func (s *Server) send(w http.ResponseWriter, r *http.Request) {
	name, send, ok := queueRequest(w, r, decodeSendRequest)
	if !ok || !s.messagesAllowed(w, send.msgs, send.batch) {
		return
	}
	res, err := s.b.Queue(name).SendBatch(r.Context(), send.msgs)
	writeSendResults(w, res, send.batch, err)
}

// messagesAllowed checks a send or publish against the server's Limits;
// otherwise it answers 413 and reports false.
func (s *Server) messagesAllowed(w http.ResponseWriter, msgs []courier.Message, batch bool) bool {
	err := s.checkMessages(msgs)
	if err == nil {
		return true
	}
	if !batch {
		err = singleMessageError(err)
	}
	writeAPIError(w, err)
	return false
}

// DecodeReceive decodes the body of a receive (optional: empty means the
// defaults).
func DecodeReceive(data []byte) (httpapi.ReceiveRequest, error) {
	var req httpapi.ReceiveRequest
	err := DecodeJSON(data, &req, true)
	return req, err
}

// receive long-polls as asked; Drain ends the poll with what it has.
func (s *Server) receive(w http.ResponseWriter, r *http.Request) {
	name, req, ok := queueRequest(w, r, DecodeReceive)
	if !ok {
		return
	}
	dr, err := req.Driver()
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
	ds, err := s.b.Queue(name).Receive(ctx, opts...)
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

// DecodeSettle decodes the body of ack, nack or extend.
func DecodeSettle(data []byte) (httpapi.SettleRequest, error) {
	var req httpapi.SettleRequest
	if err := DecodeJSON(data, &req, false); err != nil {
		return req, err
	}
	if err := driver.ValidateReceipts(req.Receipts); err != nil {
		return req, err
	}
	return req, nil
}

// settle runs op on the body's receipts and answers which failed.
func (s *Server) settle(w http.ResponseWriter, r *http.Request, op func(q *courier.Queue, req httpapi.SettleRequest) error) {
	name, req, ok := queueRequest(w, r, DecodeSettle)
	if !ok {
		return
	}
	writeSettled(w, op(s.b.Queue(name), req))
}

// writeSettled answers a settle call: the receipts that failed, or the
// call's error.
func writeSettled(w http.ResponseWriter, err error) {
	out := httpapi.SettleResponse{Failed: []httpapi.SettleFailure{}}
	var be *courier.BatchError
	switch {
	case errors.As(err, &be):
		for i, e := range be.Errors {
			if e != nil {
				_, obj := httpapi.ErrorOf(e)
				out.Failed = append(out.Failed, httpapi.SettleFailure{Index: i, Error: obj})
			}
		}
	case err != nil:
		writeAPIError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) ack(w http.ResponseWriter, r *http.Request) {
	s.settle(w, r, func(q *courier.Queue, req httpapi.SettleRequest) error {
		if req.Delay != nil {
			return driver.Invalid("delay", "ack takes only receipts")
		}
		if req.Visibility != nil {
			return driver.Invalid("visibility", "ack takes only receipts")
		}
		return q.Ack(r.Context(), req.Receipts...)
	})
}

func (s *Server) nack(w http.ResponseWriter, r *http.Request) {
	s.settle(w, r, func(q *courier.Queue, req httpapi.SettleRequest) error {
		if req.Visibility != nil {
			return driver.Invalid("visibility", "nack takes a delay; use extend to change visibility")
		}
		return q.Nack(r.Context(), durationOr(req.Delay, 0), req.Receipts...)
	})
}

func (s *Server) extend(w http.ResponseWriter, r *http.Request) {
	s.settle(w, r, func(q *courier.Queue, req httpapi.SettleRequest) error {
		if req.Visibility == nil {
			return driver.Invalid("visibility", "required: how long the messages stay invisible from now")
		}
		if req.Delay != nil {
			return driver.Invalid("delay", "extend takes a visibility; use nack to delay")
		}
		return q.Extend(r.Context(), durationOr(req.Visibility, 0), req.Receipts...)
	})
}

// DecodeRedrive decodes the (optional) body of a redrive.
func DecodeRedrive(data []byte) (httpapi.RedriveRequest, error) {
	var req httpapi.RedriveRequest
	if err := DecodeJSON(data, &req, true); err != nil {
		return req, err
	}
	return req, driver.RedriveRequest{Max: req.Max, Rate: req.Rate, Destination: req.Destination}.Validate()
}

func (s *Server) redrive(w http.ResponseWriter, r *http.Request) {
	name, req, ok := queueRequest(w, r, DecodeRedrive)
	if !ok {
		return
	}
	if err := s.authorizeDestinations(r.Context(), destination{"queue", req.Destination}); err != nil {
		writeError(w, err)
		return
	}
	var opts []courier.RedriveOption
	if req.Max > 0 {
		opts = append(opts, courier.RedriveMax(req.Max))
	}
	if req.Rate > 0 {
		opts = append(opts, courier.RedriveRate(req.Rate))
	}
	if req.Destination != "" {
		opts = append(opts, courier.RedriveTo(req.Destination))
	}
	n, err := s.b.Queue(name).Redrive(r.Context(), opts...)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, httpapi.RedriveResponse{Moved: n})
}
