package sns_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	courier "github.com/courier-io/courier"
	"github.com/courier-io/courier/awsapi/awstest"
	snsapi "github.com/courier-io/courier/awsapi/sns"
)

// post is a request an endpoint received.
type post struct {
	path string
	h    http.Header
	body []byte
	msg  map[string]any
}

// endpoint is an HTTP subscriber: it records every POST and answers with
// the status that fail chooses (200 when nil).
type endpoint struct {
	*httptest.Server
	posts chan post
	mu    sync.Mutex
	fail  func(p post) bool
}

func newEndpoint(t *testing.T) *endpoint {
	e := &endpoint{posts: make(chan post, 100)}
	e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		p := post{path: r.URL.Path, h: r.Header, body: b}
		_ = json.Unmarshal(b, &p.msg)
		e.mu.Lock()
		fail := e.fail != nil && e.fail(p)
		e.mu.Unlock()
		e.posts <- p
		if fail {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	t.Cleanup(e.Close)
	return e
}

// next returns the next POST, failing after 10s (a real network wait).
func (e *endpoint) next(t *testing.T) post {
	t.Helper()
	select {
	case p := <-e.posts:
		return p
	case <-time.After(10 * time.Second):
		t.Fatal("no POST within 10s")
	}
	return post{}
}

// confirmFlow subscribes e's URL+path and confirms it through its
// SubscribeURL, returning the subscription ARN.
func confirmFlow(t *testing.T, f *fixture, e *endpoint, topic, path string, attrs map[string]string) string {
	t.Helper()
	arn := f.subscribe(topic, "http", e.URL+path, attrs)
	p := e.next(t)
	if p.h.Get("x-amz-sns-message-type") != "SubscriptionConfirmation" || p.h.Get("x-amz-sns-topic-arn") != topic || p.h.Get("x-amz-sns-message-id") != p.msg["MessageId"] {
		t.Fatalf("confirmation headers %v", p.h)
	}
	for _, k := range []string{"Type", "MessageId", "Token", "TopicArn", "Message", "SubscribeURL", "Timestamp", "SignatureVersion", "Signature", "SigningCertURL"} {
		if p.msg[k] == nil || p.msg[k] == "" {
			t.Fatalf("confirmation lacks %s: %s", k, p.body)
		}
	}
	if err := snsapi.VerifySignature(stringMap(p.msg), f.svc.SigningCertificate()); err != nil {
		t.Fatalf("confirmation signature: %v", err)
	}
	ga, err := f.c.GetSubscriptionAttributes(ctx, &sns.GetSubscriptionAttributesInput{SubscriptionArn: aws.String(arn)})
	if err != nil || ga.Attributes["PendingConfirmation"] != "true" {
		t.Fatalf("pending: %v %v", ga, err)
	}
	if code := httpGet(t, p.msg["SubscribeURL"].(string)); code != 200 {
		t.Fatalf("SubscribeURL: %d", code)
	}
	ga, _ = f.c.GetSubscriptionAttributes(ctx, &sns.GetSubscriptionAttributesInput{SubscriptionArn: aws.String(arn)})
	if ga.Attributes["PendingConfirmation"] != "false" {
		t.Fatalf("still pending: %v", ga.Attributes)
	}
	return arn
}

func TestHTTPSubscription(t *testing.T) {
	f := newFixture(t)
	e := newEndpoint(t)
	topic := f.createTopic("web", nil)
	// A bad token is refused.
	_, err := f.c.ConfirmSubscription(ctx, &sns.ConfirmSubscriptionInput{TopicArn: aws.String(topic), Token: aws.String("nope")})
	awstest.WantCode(t, err, "InvalidParameter")
	// ReturnSubscriptionArn false answers "pending confirmation".
	out, err := f.c.Subscribe(ctx, &sns.SubscribeInput{TopicArn: aws.String(topic), Protocol: aws.String("http"), Endpoint: aws.String(e.URL + "/other")})
	if err != nil || *out.SubscriptionArn != "pending confirmation" {
		t.Fatalf("subscribe: %v %v", out, err)
	}
	other := e.next(t)
	// Published while pending: not delivered (as AWS drops it).
	if _, err := f.c.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(topic), Message: aws.String("early")}); err != nil {
		t.Fatal(err)
	}
	policy := `{"healthyRetryPolicy":{"minDelayTarget":1,"maxDelayTarget":1,"numRetries":2,"numNoDelayRetries":2}}`
	sub := confirmFlow(t, f, e, topic, "/hook", map[string]string{"DeliveryPolicy": policy})
	ga, _ := f.c.GetSubscriptionAttributes(ctx, &sns.GetSubscriptionAttributesInput{SubscriptionArn: aws.String(sub)})
	if ga.Attributes["EffectiveDeliveryPolicy"] == "" || ga.Attributes["DeliveryPolicy"] != policy {
		t.Fatalf("delivery policy attributes: %v", ga.Attributes)
	}
	// Confirming /other with the SDK.
	if _, err := f.c.ConfirmSubscription(ctx, &sns.ConfirmSubscriptionInput{TopicArn: aws.String(topic), Token: aws.String(other.msg["Token"].(string)),
		AuthenticateOnUnsubscribe: aws.String("true")}); err != nil {
		t.Fatal(err)
	}

	// Two failures, then success: three POSTs of the same message.
	attempts := 0
	e.mu.Lock()
	e.fail = func(p post) bool {
		if p.path != "/hook" {
			return false
		}
		attempts++
		return attempts <= 2
	}
	e.mu.Unlock()
	pub, err := f.c.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(topic), Message: aws.String("hello"), Subject: aws.String("greeting"),
		MessageAttributes: map[string]typesMAV{"k": strAttr("v")}})
	if err != nil {
		t.Fatal(err)
	}
	var hook []post
	for len(hook) < 3 {
		p := e.next(t)
		if p.path == "/hook" {
			hook = append(hook, p)
		} else if p.msg["Message"] != "hello" {
			t.Fatalf("/other got %s", p.body)
		}
	}
	for _, p := range hook {
		if p.msg["MessageId"] != *pub.MessageId || p.msg["Message"] != "hello" || p.msg["Subject"] != "greeting" {
			t.Fatalf("notification %s", p.body)
		}
		if p.h.Get("x-amz-sns-message-type") != "Notification" || p.h.Get("x-amz-sns-subscription-arn") != sub ||
			p.h.Get("x-amz-sns-message-id") != *pub.MessageId || p.h.Get("Content-Type") != "text/plain; charset=UTF-8" {
			t.Fatalf("headers %v", p.h)
		}
		if err := snsapi.VerifySignature(stringMap(p.msg), f.svc.SigningCertificate()); err != nil {
			t.Fatal(err)
		}
	}
	if attrs, _ := json.Marshal(hook[0].msg["MessageAttributes"]); string(attrs) != `{"k":{"Type":"String","Value":"v"}}` {
		t.Fatalf("attributes %s", attrs)
	}

	// Raw delivery.
	if _, err := f.c.SetSubscriptionAttributes(ctx, &sns.SetSubscriptionAttributesInput{SubscriptionArn: aws.String(sub),
		AttributeName: aws.String("RawMessageDelivery"), AttributeValue: aws.String("true")}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(topic), Message: aws.String("raw body")}); err != nil {
		t.Fatal(err)
	}
	for {
		p := e.next(t)
		if p.path != "/hook" {
			continue
		}
		if string(p.body) != "raw body" || p.h.Get("x-amz-sns-rawdelivery") != "true" {
			t.Fatalf("raw: %q %v", p.body, p.h)
		}
		break
	}
	// An unsigned unsubscribe of a subscription confirmed with
	// AuthenticateOnUnsubscribe is refused.
	var otherARN string
	list, _ := f.c.ListSubscriptionsByTopic(ctx, &sns.ListSubscriptionsByTopicInput{TopicArn: aws.String(topic)})
	for _, s := range list.Subscriptions {
		if *s.Endpoint == e.URL+"/other" {
			otherARN = *s.SubscriptionArn
		}
	}
	if code := httpGet(t, f.url+"/?Action=Unsubscribe&SubscriptionArn="+otherARN); code != http.StatusForbidden {
		t.Fatalf("unsigned unsubscribe: %d", code)
	}
	if _, err := f.c.Unsubscribe(ctx, &sns.UnsubscribeInput{SubscriptionArn: aws.String(sub)}); err != nil {
		t.Fatal(err)
	}
	if subs, _ := f.b.Topic("web").Subscriptions(ctx); len(subs) != 1 {
		t.Fatalf("courier subscriptions: %d", len(subs))
	}
}

func TestHTTPDeadLetter(t *testing.T) {
	f := newFixture(t)
	e := newEndpoint(t)
	e.fail = func(post) bool { return true }
	topic := f.createTopic("web", nil)
	dlq := f.queue("dlq")
	policy := `{"healthyRetryPolicy":{"minDelayTarget":1,"maxDelayTarget":1,"numRetries":1,"numNoDelayRetries":1}}`
	confirmFlow(t, f, e, topic, "/down", map[string]string{"DeliveryPolicy": policy, "RedrivePolicy": `{"deadLetterTargetArn":"` + dlq + `"}`})
	if _, err := f.c.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(topic), Message: aws.String("lost"),
		MessageAttributes: map[string]typesMAV{"k": strAttr("v")}}); err != nil {
		t.Fatal(err)
	}
	e.next(t)
	e.next(t)
	ds, err := f.b.Queue("dlq").Receive(ctx, courier.Wait(10*time.Second))
	if err != nil || len(ds) != 1 || string(ds[0].Body) != "lost" || ds[0].Headers["k"] != "v" {
		t.Fatalf("dead letter: %v %v", ds, err)
	}
}
