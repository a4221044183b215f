package sns

import (
	"context"
	"crypto/rsa"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	courier "github.com/courier-io/courier"
	"github.com/courier-io/courier/awsapi"
)

// Xmlns is the XML namespace of SNS responses.
const Xmlns = "http://sns.amazonaws.com/doc/2010-03-31/"

// SigningCertPath is the path, under the endpoint's base URL, at which
// the server serves SigningCertificate; notifications name it as their
// SigningCertURL.
const SigningCertPath = "/aws/sns/signing-cert.pem"

// Service is the SNS endpoint: it implements awsapi.Service and
// awsapi.NotificationRenderer. Create it with New; Close stops its HTTP
// deliveries.
type Service struct {
	env *awsapi.Env
	log *slog.Logger

	// admin serializes the actions that change topics and subscriptions,
	// so that checks (an endpoint already subscribed, limits) and the
	// writes they guard do not interleave.
	admin sync.Mutex

	mu      sync.RWMutex
	topics  map[string]*topicState // by topic name; courier-native topics are cached without Meta
	subs    map[string]*subState   // by subscription ID
	byQueue map[string]string      // topic + "\x00" + queue -> subscription ID (sqs and courier queue: subscriptions)
	pushers map[string]*pusher     // by subscription ID: running HTTP deliveries
	closed  bool

	keyMu   sync.Mutex // guards key and certPEM until key is set
	key     *rsa.PrivateKey
	certPEM []byte
	sigs    sigCache

	client *http.Client
	ctx    context.Context // canceled by Close; background work runs under it
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New creates the SNS service of env and sets env.Notifications to it.
// It loads the topics and subscriptions kept in env.Meta and resumes the
// delivery of confirmed HTTP/HTTPS subscriptions.
func New(env *awsapi.Env) (*Service, error) {
	if env == nil || env.Broker == nil || env.Meta == nil {
		return nil, errors.New("sns: env needs a broker and a metadata store")
	}
	log := env.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 16
	s := &Service{
		env:     env,
		log:     log.With("service", "sns"),
		topics:  map[string]*topicState{},
		subs:    map[string]*subState{},
		byQueue: map[string]string{},
		pushers: map[string]*pusher{},
		client: &http.Client{
			Transport: tr,
			// SNS does not follow redirects: a 3xx is a failed delivery.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		ctx:    ctx,
		cancel: cancel,
	}
	if err := s.load(); err != nil {
		cancel()
		return nil, err
	}
	env.Notifications = s
	s.mu.Lock()
	for _, sub := range s.subs {
		if sub.isHTTP() && !sub.Pending {
			s.startPusherLocked(sub)
		}
	}
	s.mu.Unlock()
	return s, nil
}

// Close stops the HTTP deliveries and confirmation requests and waits for
// them; messages being delivered are delivered again after their
// visibility timeout. Close is idempotent.
func (s *Service) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	s.client.CloseIdleConnections()
	return nil
}

// handler is one action.
type handler func(s *Service, ctx context.Context, r *awsapi.Request) (any, error)

// actions are the supported actions.
var actions = map[string]handler{
	"CreateTopic":               (*Service).createTopic,
	"DeleteTopic":               (*Service).deleteTopic,
	"ListTopics":                (*Service).listTopics,
	"GetTopicAttributes":        (*Service).getTopicAttributes,
	"SetTopicAttributes":        (*Service).setTopicAttributes,
	"Subscribe":                 (*Service).subscribe,
	"Unsubscribe":               (*Service).unsubscribe,
	"ConfirmSubscription":       (*Service).confirmSubscription,
	"ListSubscriptions":         (*Service).listSubscriptions,
	"ListSubscriptionsByTopic":  (*Service).listSubscriptionsByTopic,
	"GetSubscriptionAttributes": (*Service).getSubscriptionAttributes,
	"SetSubscriptionAttributes": (*Service).setSubscriptionAttributes,
	"Publish":                   (*Service).publish,
	"PublishBatch":              (*Service).publishBatch,
	"TagResource":               (*Service).tagResource,
	"UntagResource":             (*Service).untagResource,
	"ListTagsForResource":       (*Service).listTagsForResource,
}

// Serve implements awsapi.Service: it answers a query-protocol request
// with the action's XML response or an <ErrorResponse>.
func (s *Service) Serve(w http.ResponseWriter, r *awsapi.Request) {
	if r.Form == nil {
		awsapi.WriteQueryError(w, awsapi.Errorf("InvalidAction", "SNS speaks the query protocol only: send form-encoded parameters with Action and Version=2010-03-31"), Xmlns)
		return
	}
	h, ok := actions[r.Action]
	if !ok {
		awsapi.WriteQueryError(w, unsupported(r.Action), Xmlns)
		return
	}
	result, err := h(s, r.Context(), r)
	if err != nil {
		awsapi.WriteQueryError(w, snsError(err), Xmlns)
		return
	}
	awsapi.WriteQueryResult(w, r.Action, Xmlns, result)
}

// authorize checks perm on a courier resource, with SNS's error code.
func (s *Service) authorize(ctx context.Context, perm awsapi.Permission, kind, name string) error {
	if err := s.env.Authorize(ctx, perm, kind, name); err != nil {
		e := awsapi.AsError(err)
		return &awsapi.Error{Code: "AuthorizationError", Message: e.Message, Status: http.StatusForbidden}
	}
	return nil
}

// Errors as SNS returns them.

// invalidParameter is SNS's InvalidParameter error, with SNS's "Invalid
// parameter: " prefix.
func invalidParameter(format string, args ...any) *awsapi.Error {
	return awsapi.Errorf("InvalidParameter", "Invalid parameter: "+format, args...)
}

// invalidValue is SNS's ParameterValueInvalid error (the SDKs'
// InvalidParameterValueException).
func invalidValue(format string, args ...any) *awsapi.Error {
	return awsapi.Errorf("ParameterValueInvalid", "Invalid parameter: "+format, args...)
}

// notFound is SNS's NotFound error (HTTP 404).
func notFound(format string, args ...any) *awsapi.Error {
	e := awsapi.Errorf("NotFound", format, args...)
	e.Status = http.StatusNotFound
	return e
}

// snsError turns an error of courier or of the shared helpers into the
// error SNS would return.
func snsError(err error) *awsapi.Error {
	var ae *awsapi.Error
	if errors.As(err, &ae) {
		if ae.Code == "InvalidParameterValue" { // the shared attribute checks
			return &awsapi.Error{Code: "ParameterValueInvalid", Message: "Invalid parameter: " + ae.Message}
		}
		return ae
	}
	var ve *courier.ValidationError
	switch {
	case errors.As(err, &ve):
		return invalidParameter("%s", err.Error())
	case errors.Is(err, courier.ErrNotFound):
		return notFound("%s", err.Error())
	case errors.Is(err, courier.ErrTooLarge):
		return invalidParameter("Message too long: %s", err.Error())
	case errors.Is(err, courier.ErrInvalid), errors.Is(err, courier.ErrConflict), errors.Is(err, courier.ErrExists),
		errors.Is(err, courier.ErrUnsupported):
		return invalidParameter("%s", err.Error())
	}
	return &awsapi.Error{Code: "InternalError", Message: err.Error(), Status: http.StatusInternalServerError, Server: true}
}

// unsupportedReasons says why courier leaves out the SNS actions outside
// its scope.
var unsupportedReasons = map[string]string{}

func init() {
	for _, a := range []string{"CheckIfPhoneNumberIsOptedOut", "CreateSMSSandboxPhoneNumber", "DeleteSMSSandboxPhoneNumber",
		"GetSMSAttributes", "SetSMSAttributes", "GetSMSSandboxAccountStatus", "ListOriginationNumbers",
		"ListPhoneNumbersOptedOut", "ListSMSSandboxPhoneNumbers", "OptInPhoneNumber", "VerifySMSSandboxPhoneNumber"} {
		unsupportedReasons[a] = "courier sends no SMS"
	}
	for _, a := range []string{"CreatePlatformApplication", "DeletePlatformApplication", "GetPlatformApplicationAttributes",
		"SetPlatformApplicationAttributes", "ListPlatformApplications", "CreatePlatformEndpoint", "DeleteEndpoint",
		"GetEndpointAttributes", "SetEndpointAttributes", "ListEndpointsByPlatformApplication"} {
		unsupportedReasons[a] = "courier has no mobile push (platform applications and endpoints)"
	}
	for _, a := range []string{"GetDataProtectionPolicy", "PutDataProtectionPolicy"} {
		unsupportedReasons[a] = "courier does not inspect or mask message contents (data protection policies)"
	}
	for _, a := range []string{"AddPermission", "RemovePermission"} {
		unsupportedReasons[a] = "courier's access control is the server's identities and grants (docs/server.md), not topic policies"
	}
}

// unsupported is the error for an action courier does not serve.
func unsupported(action string) *awsapi.Error {
	if why, ok := unsupportedReasons[action]; ok {
		return awsapi.Errorf("InvalidAction", "The action %s is not supported by this endpoint: %s.", action, why)
	}
	if action == "" {
		return awsapi.Errorf("InvalidAction", "The request names no action.")
	}
	return awsapi.Errorf("InvalidAction", "The action %.128s is not valid for this endpoint.", action)
}

// timestampFormat is the format of SNS message timestamps.
const timestampFormat = "2006-01-02T15:04:05.000Z"

// formatTime formats t as SNS message timestamps are.
func formatTime(t time.Time) string { return t.UTC().Format(timestampFormat) }
