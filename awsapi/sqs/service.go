package sqs

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	courier "github.com/courier-io/courier"
	"github.com/courier-io/courier/awsapi"
)

// Xmlns is the XML namespace of query-protocol responses.
const Xmlns = "http://queue.amazonaws.com/doc/2012-11-05/"

// jsonNamespace qualifies the __type of JSON-protocol errors.
const jsonNamespace = "com.amazonaws.sqs"

// metaPrefix starts every key this package keeps in awsapi.Meta.
const metaPrefix = "sqs/"

// Service is the SQS endpoint: it implements awsapi.Service. It is safe
// for concurrent use.
type Service struct {
	env *awsapi.Env
	b   *courier.Broker
	key []byte // signs receipt handles
	now func() time.Time

	mu       sync.Mutex
	purged   map[string]time.Time     // queue -> last PurgeQueue
	attempts map[string]*attemptEntry // queue + "\x00" + ReceiveRequestAttemptId
	// attemptBytes is the size of the messages attempts holds; attemptSweep
	// the time after which rememberAttempt next drops expired attempts.
	attemptBytes int
	attemptSweep time.Time
	tasks        map[string][]*moveTask // source queue -> tasks, oldest first
	closed       bool

	ctx    context.Context // ends on Close; parent of move tasks
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New returns the SQS service over env. It loads (or creates, on first
// use) the key that signs receipt handles from env.Meta, so that handles
// stay valid across restarts.
func New(env *awsapi.Env) (*Service, error) {
	if env == nil || env.Broker == nil || env.Meta == nil || env.Auth == nil {
		return nil, errors.New("sqs: env needs a Broker, Meta and Auth")
	}
	var key []byte
	ok, err := env.Meta.Get(metaPrefix+"receipt-key", &key)
	if err != nil {
		return nil, fmt.Errorf("sqs: %w", err)
	}
	if !ok || len(key) < 16 {
		key = make([]byte, 32)
		_, _ = rand.Read(key)
		if err := env.Meta.Put(context.Background(), metaPrefix+"receipt-key", key); err != nil {
			return nil, fmt.Errorf("sqs: storing the receipt key: %w", err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Service{
		env: env, b: env.Broker, key: key, now: time.Now,
		purged: map[string]time.Time{}, attempts: map[string]*attemptEntry{}, tasks: map[string][]*moveTask{},
		ctx: ctx, cancel: cancel,
	}
	s.mu.Lock()
	err = s.loadTasks()
	s.mu.Unlock()
	if err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("sqs: loading message move tasks: %w", err)
	}
	return s, nil
}

// Close stops the running message move tasks and waits for them; their
// records stay RUNNING, so they resume when a service over the same
// metadata starts again. It is idempotent.
func (s *Service) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	return nil
}

// call is one request being served.
type call struct {
	s *Service
	r *awsapi.Request
}

func (c *call) ctx() context.Context { return c.r.Context() }

// handler serves one action and returns its result (nil: empty result).
type handler func(c *call) (any, error)

// actions maps every action name to its handler.
var actions map[string]handler

func init() {
	actions = map[string]handler{
		"CreateQueue":                  (*call).createQueue,
		"DeleteQueue":                  (*call).deleteQueue,
		"ListQueues":                   (*call).listQueues,
		"GetQueueUrl":                  (*call).getQueueURL,
		"GetQueueAttributes":           (*call).getQueueAttributes,
		"SetQueueAttributes":           (*call).setQueueAttributes,
		"PurgeQueue":                   (*call).purgeQueue,
		"TagQueue":                     (*call).tagQueue,
		"UntagQueue":                   (*call).untagQueue,
		"ListQueueTags":                (*call).listQueueTags,
		"ListDeadLetterSourceQueues":   (*call).listDeadLetterSourceQueues,
		"SendMessage":                  (*call).sendMessage,
		"SendMessageBatch":             (*call).sendMessageBatch,
		"ReceiveMessage":               (*call).receiveMessage,
		"DeleteMessage":                (*call).deleteMessage,
		"DeleteMessageBatch":           (*call).deleteMessageBatch,
		"ChangeMessageVisibility":      (*call).changeMessageVisibility,
		"ChangeMessageVisibilityBatch": (*call).changeMessageVisibilityBatch,
		"StartMessageMoveTask":         (*call).startMessageMoveTask,
		"ListMessageMoveTasks":         (*call).listMessageMoveTasks,
		"CancelMessageMoveTask":        (*call).cancelMessageMoveTask,
		"AddPermission":                (*call).unsupportedPermission,
		"RemovePermission":             (*call).unsupportedPermission,
	}
}

// Serve implements awsapi.Service: it answers r in the protocol it came
// in. An unknown action is InvalidAction (query) or
// UnknownOperationException (JSON).
func (s *Service) Serve(w http.ResponseWriter, r *awsapi.Request) {
	h, ok := actions[r.Action]
	if !ok {
		s.writeError(w, r, unknownAction(r.Action, r.Form != nil))
		return
	}
	out, err := h(&call{s: s, r: r})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if r.Form == nil {
		w.Header().Set("Content-Type", awsapi.ContentTypeJSON10)
		w.WriteHeader(http.StatusOK)
		if out == nil {
			_, _ = w.Write([]byte("{}"))
			return
		}
		_ = json.NewEncoder(w).Encode(out)
		return
	}
	awsapi.WriteQueryResult(w, r.Action, Xmlns, out)
}

// writeError writes err in the request's protocol.
func (s *Service) writeError(w http.ResponseWriter, r *awsapi.Request, err error) {
	err = s.translate(err)
	if e := awsapi.AsError(err); e.Server {
		s.env.Logger.Error("sqs: request failed", "action", r.Action, "err", err)
	}
	if r.Form != nil {
		awsapi.WriteQueryError(w, err, Xmlns)
		return
	}
	awsapi.WriteJSONError(w, err, awsapi.ContentTypeJSON10, jsonNamespace, true)
}

// translate maps an error of the courier API to the AWS error SQS gives
// for it; *awsapi.Error values pass unchanged.
func (s *Service) translate(err error) error {
	var ae *awsapi.Error
	if errors.As(err, &ae) {
		return ae
	}
	switch {
	case errors.Is(err, courier.ErrNotFound):
		return errQueueDoesNotExist(err.Error())
	case errors.Is(err, courier.ErrInvalid), errors.Is(err, courier.ErrTooLarge), errors.Is(err, courier.ErrConflict):
		return awsapi.Errorf("InvalidParameterValue", "%s", err.Error())
	case errors.Is(err, courier.ErrUnsupported):
		return &awsapi.Error{Code: "AWS.SimpleQueueService.UnsupportedOperation", Type: "UnsupportedOperation", Message: err.Error()}
	case errors.Is(err, courier.ErrClosed), errors.Is(err, context.Canceled):
		return &awsapi.Error{Code: "ServiceUnavailable", Message: err.Error(), Status: http.StatusServiceUnavailable, Server: true}
	}
	return &awsapi.Error{Code: "InternalFailure", Message: err.Error(), Server: true}
}

// Errors of SQS, with the query code, JSON shape and status the SDK's
// model gives them.

func errQueueDoesNotExist(detail string) *awsapi.Error {
	msg := "The specified queue does not exist."
	if detail != "" {
		msg += " (" + detail + ")"
	}
	return &awsapi.Error{Code: "AWS.SimpleQueueService.NonExistentQueue", Type: "QueueDoesNotExist", Message: msg}
}

func errInvalidParam(format string, args ...any) *awsapi.Error {
	return awsapi.Errorf("InvalidParameterValue", format, args...)
}

func errMissing(param string) *awsapi.Error {
	return awsapi.Errorf("MissingParameter", "The request must contain the parameter %s.", param)
}

func errAttrName(format string, args ...any) *awsapi.Error {
	return awsapi.Errorf("InvalidAttributeName", format, args...)
}

func errAttrValue(format string, args ...any) *awsapi.Error {
	return awsapi.Errorf("InvalidAttributeValue", format, args...)
}

func errReceiptInvalid(handle string) *awsapi.Error {
	return &awsapi.Error{Code: "ReceiptHandleIsInvalid", Type: "ReceiptHandleIsInvalid", Status: http.StatusNotFound,
		Message: fmt.Sprintf("The input receipt handle %q is not a valid receipt handle.", awsapi.Truncate(handle, 80))}
}

func errBatch(code, shape, format string, args ...any) *awsapi.Error {
	return &awsapi.Error{Code: code, Type: shape, Message: fmt.Sprintf(format, args...)}
}

func errResourceNotFound(format string, args ...any) *awsapi.Error {
	return &awsapi.Error{Code: "ResourceNotFoundException", Type: "ResourceNotFoundException", Status: http.StatusNotFound, Message: fmt.Sprintf(format, args...)}
}

func errUnsupported(format string, args ...any) *awsapi.Error {
	return &awsapi.Error{Code: "AWS.SimpleQueueService.UnsupportedOperation", Type: "UnsupportedOperation", Message: fmt.Sprintf(format, args...)}
}

func unknownAction(action string, query bool) *awsapi.Error {
	if query {
		return awsapi.Errorf("InvalidAction", "The action %s is not valid for this endpoint.", awsapi.Truncate(action, 64))
	}
	return &awsapi.Error{Code: "InvalidAction", Type: "UnknownOperationException", Message: fmt.Sprintf("An unknown operation was requested: %s.", awsapi.Truncate(action, 64))}
}

// unsupportedPermission answers AddPermission and RemovePermission:
// courier has no resource policies to change.
func (c *call) unsupportedPermission() (any, error) {
	return nil, errUnsupported("%s is not supported: courier queues have no resource policies (grants are configured on the server, see docs/server.md)", c.r.Action)
}

// queueURL returns the URL of queue name as the client reached us.
func (c *call) queueURL(name string) string {
	return c.r.BaseURL + "/" + c.s.env.AccountID + "/" + name
}

// queueARN returns the ARN of queue name.
func (s *Service) queueARN(name string) string { return s.env.ARN("sqs", name) }

// queueName resolves the queue a request addresses: its QueueUrl, or for
// a query-protocol request sent to a queue URL, the path.
func (c *call) queueName(queueURL string) (string, error) {
	if queueURL == "" && c.r.Form != nil {
		if p := c.r.HTTP.URL.Path; p != "" && p != "/" {
			queueURL = p
		}
	}
	if queueURL == "" {
		return "", errMissing("QueueUrl")
	}
	return c.s.parseQueueURL(queueURL)
}

// parseQueueURL takes the queue name out of a queue URL of any scheme and
// host: its path must be /ACCOUNT/NAME with this endpoint's account.
func (s *Service) parseQueueURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", &awsapi.Error{Code: "InvalidAddress", Type: "InvalidAddress", Status: http.StatusNotFound,
			Message: fmt.Sprintf("The address %q is not valid for this endpoint.", awsapi.Truncate(raw, 256))}
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
		return "", &awsapi.Error{Code: "InvalidAddress", Type: "InvalidAddress", Status: http.StatusNotFound,
			Message: fmt.Sprintf("The address %q is not valid for this endpoint: a queue URL's path is /ACCOUNT/QUEUE.", awsapi.Truncate(raw, 256))}
	}
	if parts[0] != s.env.AccountID {
		return "", errQueueDoesNotExist(fmt.Sprintf("queue URL %q names account %s; this endpoint serves account %s", awsapi.Truncate(raw, 256), awsapi.Truncate(parts[0], 20), s.env.AccountID))
	}
	if len(parts[1]) > 80 {
		return "", errQueueDoesNotExist(fmt.Sprintf("queue name in %q is longer than 80 characters", awsapi.Truncate(raw, 256)))
	}
	return parts[1], nil
}

// authorize checks perm on queue name.
func (c *call) authorize(perm awsapi.Permission, name string) error {
	return c.s.env.Authorize(c.ctx(), perm, "queue", name)
}

// authorizedQueue checks perm on the queue name, then loads it: a caller
// refused on the queue learns nothing of whether it exists.
func (c *call) authorizedQueue(perm awsapi.Permission, name string) (*queueState, error) {
	if err := c.authorize(perm, name); err != nil {
		return nil, err
	}
	return c.s.loadQueue(c.ctx(), name)
}

// authorizedInfo is authorizedQueue without the metadata (loadInfo).
func (c *call) authorizedInfo(perm awsapi.Permission, name string) (*queueState, error) {
	if err := c.authorize(perm, name); err != nil {
		return nil, err
	}
	return c.s.loadInfo(c.ctx(), name)
}

// authorizedSendQueue is authorizedQueue for the send actions: only a
// FIFO queue's metadata (its DeduplicationScope) is read.
func (c *call) authorizedSendQueue(name string) (*queueState, error) {
	st, err := c.authorizedInfo(awsapi.Publish, name)
	if err != nil || !st.fifo() {
		return st, err
	}
	return st, c.s.loadMeta(st)
}
