package sns_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/courier-io/courier/awsapi"
	"github.com/courier-io/courier/awsapi/awstest"
	"github.com/courier-io/courier/awsapi/gateway"
	"github.com/courier-io/courier/driver"
)

func TestSubscriptions(t *testing.T) {
	f := newFixture(t)
	arn := f.createTopic("t", nil)
	q := f.queue("q")
	sub := f.subscribe(arn, "sqs", q, map[string]string{"RawMessageDelivery": "true"})
	if !strings.HasPrefix(sub, arn+":") {
		t.Fatalf("sub arn %s", sub)
	}
	// Subscribing the same endpoint again returns the subscription.
	if again := f.subscribe(arn, "sqs", q, map[string]string{"RawMessageDelivery": "true"}); again != sub {
		t.Fatalf("again %s", again)
	}
	_, err := f.c.Subscribe(ctx, &sns.SubscribeInput{TopicArn: aws.String(arn), Protocol: aws.String("sqs"), Endpoint: aws.String(q),
		Attributes: map[string]string{"RawMessageDelivery": "false"}})
	awstest.WantCode(t, err, "InvalidParameter")
	_, err = f.c.Subscribe(ctx, &sns.SubscribeInput{TopicArn: aws.String(arn), Protocol: aws.String("courier"), Endpoint: aws.String("queue:q")})
	awstest.WantCode(t, err, "InvalidParameter")
	for _, c := range []struct{ proto, endpoint string }{
		{"sqs", queueARN + "missing"},
		{"sqs", "arn:aws:sqs:eu-west-1:000000000000:q"},
		{"sqs", "https://sqs/q"},
		{"courier", "topic:x"},
		{"http", "ftp://x"},
		{"smtp", "x"},
	} {
		_, err := f.c.Subscribe(ctx, &sns.SubscribeInput{TopicArn: aws.String(arn), Protocol: aws.String(c.proto), Endpoint: aws.String(c.endpoint)})
		awstest.WantCode(t, err, "InvalidParameter")
	}
	_, err = f.c.Subscribe(ctx, &sns.SubscribeInput{TopicArn: aws.String(topicARN + "none"), Protocol: aws.String("sqs"), Endpoint: aws.String(q)})
	awstest.WantCode(t, err, "NotFound")
	_, err = f.c.Subscribe(ctx, &sns.SubscribeInput{TopicArn: aws.String(arn), Protocol: aws.String("sqs"), Endpoint: aws.String(f.queue("q2")),
		Attributes: map[string]string{"DeliveryPolicy": `{}`}})
	awstest.WantCode(t, err, "InvalidParameter")

	// courier-native: a durable subscription and a queue.
	dur := f.subscribe(arn, "courier", "durable:audit", nil)
	f.queue("native")
	nat := f.subscribe(arn, "courier", "queue:native", map[string]string{"FilterPolicy": `{"k":["v"]}`})
	if _, err := f.c.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String("hi"),
		MessageAttributes: map[string]typesMAV{"k": strAttr("v")}}); err != nil {
		t.Fatal(err)
	}
	ds, err := f.b.Topic("t").Subscription("audit").Receive(ctx)
	if err != nil || len(ds) != 1 {
		t.Fatalf("durable: %v %v", ds, err)
	}
	var env driver.Envelope
	if err := jsonUnmarshal(ds[0].Body, &env); err != nil || *env.Body != "hi" || env.Topic != "t" {
		t.Fatalf("courier envelope %s: %v", ds[0].Body, err)
	}
	nd := f.receive("native", 1)
	if len(nd) != 1 {
		t.Fatal("native queue got nothing")
	}
	if _, ok := f.render("native", nd[0]); ok {
		t.Fatal("courier-native delivery rendered as an SNS notification")
	}
	if raw := f.receive("q", 1); len(raw) != 1 || string(raw[0].Body) != "hi" {
		t.Fatalf("raw sqs %v", raw)
	}

	// Attributes.
	ga, err := f.c.GetSubscriptionAttributes(ctx, &sns.GetSubscriptionAttributesInput{SubscriptionArn: aws.String(nat)})
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"SubscriptionArn": nat, "TopicArn": arn, "Owner": account, "Protocol": "courier", "Endpoint": "queue:native",
		"PendingConfirmation": "false", "ConfirmationWasAuthenticated": "false", "RawMessageDelivery": "false",
		"FilterPolicy": `{"k":["v"]}`, "FilterPolicyScope": "MessageAttributes"} {
		if ga.Attributes[k] != v {
			t.Errorf("%s = %q, want %q", k, ga.Attributes[k], v)
		}
	}
	set := func(sub, name, value string) error {
		_, err := f.c.SetSubscriptionAttributes(ctx, &sns.SetSubscriptionAttributesInput{SubscriptionArn: aws.String(sub), AttributeName: aws.String(name), AttributeValue: aws.String(value)})
		return err
	}
	if err := set(nat, "FilterPolicy", `{"body":["x"]}`); err != nil {
		t.Fatal(err)
	}
	if err := set(nat, "FilterPolicyScope", "MessageBody"); err != nil {
		t.Fatal(err)
	}
	if err := set(nat, "RawMessageDelivery", "true"); err != nil {
		t.Fatal(err)
	}
	info, _ := f.b.Topic("t").Subscriptions(ctx)
	found := false
	for _, si := range info {
		if si.Queue == "native" {
			found = true
			if si.FilterPolicy != `{"body":["x"]}` || si.FilterScope != driver.ScopeBody || !si.Raw {
				t.Fatalf("courier subscription not updated: %+v", si.Subscription)
			}
		}
	}
	if !found {
		t.Fatal("courier subscription missing")
	}
	awstest.WantCode(t, set(nat, "FilterPolicy", `{"a":`), "InvalidParameter")
	awstest.WantCode(t, set(nat, "DeliveryPolicy", `{}`), "InvalidParameter")
	awstest.WantCode(t, set(nat, "Bogus", "1"), "InvalidParameter")
	awstest.WantCode(t, set(nat, "RedrivePolicy", `{"deadLetterTargetArn":"`+queueARN+`nope"}`), "InvalidParameter")
	f.queue("dlq")
	if err := set(nat, "RedrivePolicy", `{"deadLetterTargetArn":"`+queueARN+`dlq"}`); err != nil {
		t.Fatal(err)
	}

	// Lists.
	all, err := f.c.ListSubscriptions(ctx, &sns.ListSubscriptionsInput{})
	if err != nil || len(all.Subscriptions) != 3 {
		t.Fatalf("ListSubscriptions %v %v", all, err)
	}
	by, err := f.c.ListSubscriptionsByTopic(ctx, &sns.ListSubscriptionsByTopicInput{TopicArn: aws.String(arn)})
	if err != nil || len(by.Subscriptions) != 3 || *by.Subscriptions[0].TopicArn != arn {
		t.Fatalf("ListSubscriptionsByTopic %v %v", by, err)
	}
	_, err = f.c.ListSubscriptionsByTopic(ctx, &sns.ListSubscriptionsByTopicInput{TopicArn: aws.String(topicARN + "none")})
	awstest.WantCode(t, err, "NotFound")

	// Unsubscribe.
	for _, s := range []string{dur, nat, sub} {
		if _, err := f.c.Unsubscribe(ctx, &sns.UnsubscribeInput{SubscriptionArn: aws.String(s)}); err != nil {
			t.Fatal(err)
		}
	}
	if subs, _ := f.b.Topic("t").Subscriptions(ctx); len(subs) != 0 {
		t.Fatalf("courier subscriptions left: %v", subs)
	}
	_, err = f.c.Unsubscribe(ctx, &sns.UnsubscribeInput{SubscriptionArn: aws.String(sub)})
	awstest.WantCode(t, err, "NotFound")
	_, err = f.c.Unsubscribe(ctx, &sns.UnsubscribeInput{SubscriptionArn: aws.String("nonsense")})
	awstest.WantCode(t, err, "InvalidParameter")
}

func TestListSubscriptionsPages(t *testing.T) {
	f := newFixture(t)
	arn := f.createTopic("t", nil)
	for i := range 103 {
		f.subscribe(arn, "courier", fmt.Sprintf("durable:d%d", i), nil)
	}
	seen := map[string]bool{}
	p := sns.NewListSubscriptionsByTopicPaginator(f.c, &sns.ListSubscriptionsByTopicInput{TopicArn: aws.String(arn)})
	pages := 0
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, s := range out.Subscriptions {
			seen[*s.SubscriptionArn] = true
		}
	}
	if pages != 2 || len(seen) != 103 {
		t.Fatalf("%d pages, %d subscriptions", pages, len(seen))
	}
}

// denyAll refuses everything and records what was asked.
type denyAll struct{ asked []string }

func (d *denyAll) Authorize(_ context.Context, perm awsapi.Permission, kind, name string) error {
	d.asked = append(d.asked, fmt.Sprint(perm, " ", kind, " ", name))
	return errors.New("denied by test")
}

func TestAuthorization(t *testing.T) {
	f := newFixture(t)
	arn := f.createTopic("t", nil)
	sub := f.subscribe(arn, "sqs", f.queue("q"), nil)
	deny := &denyAll{}
	g := serve(t, f.b, gateway.Config{Authorizer: deny})
	calls := map[string]func() error{
		"CreateTopic": func() error { _, err := g.c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("x")}); return err },
		"DeleteTopic": func() error {
			_, err := g.c.DeleteTopic(ctx, &sns.DeleteTopicInput{TopicArn: aws.String(arn)})
			return err
		},
		"ListTopics": func() error { _, err := g.c.ListTopics(ctx, &sns.ListTopicsInput{}); return err },
		"GetTopicAttributes": func() error {
			_, err := g.c.GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: aws.String(arn)})
			return err
		},
		"SetTopicAttributes": func() error {
			_, err := g.c.SetTopicAttributes(ctx, &sns.SetTopicAttributesInput{TopicArn: aws.String(arn), AttributeName: aws.String("DisplayName"), AttributeValue: aws.String("x")})
			return err
		},
		"Subscribe": func() error {
			_, err := g.c.Subscribe(ctx, &sns.SubscribeInput{TopicArn: aws.String(arn), Protocol: aws.String("sqs"), Endpoint: aws.String(queueARN + "q")})
			return err
		},
		"Unsubscribe": func() error {
			_, err := g.c.Unsubscribe(ctx, &sns.UnsubscribeInput{SubscriptionArn: aws.String(sub)})
			return err
		},
		"ListSubscriptions": func() error {
			_, err := g.c.ListSubscriptions(ctx, &sns.ListSubscriptionsInput{})
			return err
		},
		"ListSubscriptionsByTopic": func() error {
			_, err := g.c.ListSubscriptionsByTopic(ctx, &sns.ListSubscriptionsByTopicInput{TopicArn: aws.String(arn)})
			return err
		},
		"GetSubscriptionAttributes": func() error {
			_, err := g.c.GetSubscriptionAttributes(ctx, &sns.GetSubscriptionAttributesInput{SubscriptionArn: aws.String(sub)})
			return err
		},
		"SetSubscriptionAttributes": func() error {
			_, err := g.c.SetSubscriptionAttributes(ctx, &sns.SetSubscriptionAttributesInput{SubscriptionArn: aws.String(sub), AttributeName: aws.String("RawMessageDelivery"), AttributeValue: aws.String("true")})
			return err
		},
		"Publish": func() error {
			_, err := g.c.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String("m")})
			return err
		},
		"PublishBatch": func() error {
			_, err := g.c.PublishBatch(ctx, &sns.PublishBatchInput{TopicArn: aws.String(arn), PublishBatchRequestEntries: []typesEntry{{Id: aws.String("a"), Message: aws.String("m")}}})
			return err
		},
		"TagResource": func() error {
			_, err := g.c.TagResource(ctx, &sns.TagResourceInput{ResourceArn: aws.String(arn), Tags: []typesTag{{Key: aws.String("k"), Value: aws.String("v")}}})
			return err
		},
		"UntagResource": func() error {
			_, err := g.c.UntagResource(ctx, &sns.UntagResourceInput{ResourceArn: aws.String(arn), TagKeys: []string{"k"}})
			return err
		},
		"ListTagsForResource": func() error {
			_, err := g.c.ListTagsForResource(ctx, &sns.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
			return err
		},
	}
	for name, call := range calls {
		deny.asked = nil
		err := call()
		if err == nil {
			t.Fatalf("%s allowed", name)
		}
		awstest.WantCode(t, err, "AuthorizationError")
		if len(deny.asked) == 0 {
			t.Fatalf("%s did not ask the authorizer", name)
		}
	}
	if subs, _ := f.b.Topic("t").Subscriptions(ctx); len(subs) != 1 {
		t.Fatal("a refused action changed subscriptions")
	}
}

// callerKey marks the context of an authenticated request.
type callerKey struct{}

// testAccess authenticates the access key "test" and allows its caller
// everything but publishing to the queue denyQueue; callers without a
// key (unsigned requests) are refused.
type testAccess struct{ denyQueue string }

func (testAccess) Secret(akid string) (string, bool) { return "test", akid == "test" }

func (testAccess) Caller(ctx context.Context, akid string) (context.Context, error) {
	return context.WithValue(ctx, callerKey{}, akid), nil
}

func (a testAccess) Authorize(ctx context.Context, perm awsapi.Permission, kind, name string) error {
	if ctx.Value(callerKey{}) == nil {
		return errors.New("the request has no caller")
	}
	if perm == awsapi.Publish && kind == "queue" && name == a.denyQueue {
		return errors.New("denied by test")
	}
	return nil
}

// TestUnsignedUnsubscribeOfQueueSubscription: the UnsubscribeURL that
// every notification in a queue carries does not let an unauthenticated
// caller delete an sqs subscription when authentication is on.
func TestUnsignedUnsubscribeOfQueueSubscription(t *testing.T) {
	f := newFixture(t)
	access := testAccess{}
	g := serve(t, f.b, gateway.Config{Credentials: access, Authorizer: access})
	arn := g.createTopic("t", nil)
	sub := g.subscribe(arn, "sqs", g.queue("q"), nil)
	if code := httpGet(t, g.url+"/?Action=Unsubscribe&SubscriptionArn="+sub); code != 403 {
		t.Fatalf("unsigned unsubscribe: HTTP %d; want 403", code)
	}
	if _, err := g.c.GetSubscriptionAttributes(ctx, &sns.GetSubscriptionAttributesInput{SubscriptionArn: aws.String(sub)}); err != nil {
		t.Fatalf("subscription gone after an unsigned unsubscribe: %v", err)
	}
	if _, err := g.c.Unsubscribe(ctx, &sns.UnsubscribeInput{SubscriptionArn: aws.String(sub)}); err != nil {
		t.Fatalf("signed unsubscribe: %v", err)
	}
}

// TestRedrivePolicyNeedsPublishOnQueue: a subscription's dead-letter
// queue receives its failed deliveries, so naming it needs publish on it.
func TestRedrivePolicyNeedsPublishOnQueue(t *testing.T) {
	f := newFixture(t)
	access := testAccess{denyQueue: "dlq"}
	g := serve(t, f.b, gateway.Config{Credentials: access, Authorizer: access})
	arn := g.createTopic("t", nil)
	dlq := g.queue("dlq")
	policy := map[string]string{"RedrivePolicy": `{"deadLetterTargetArn":"` + dlq + `"}`}
	_, err := g.c.Subscribe(ctx, &sns.SubscribeInput{TopicArn: aws.String(arn), Protocol: aws.String("sqs"), Endpoint: aws.String(g.queue("q")), Attributes: policy})
	awstest.WantCode(t, err, "AuthorizationError")
	sub := g.subscribe(arn, "sqs", queueARN+"q", nil)
	_, err = g.c.SetSubscriptionAttributes(ctx, &sns.SetSubscriptionAttributesInput{SubscriptionArn: aws.String(sub),
		AttributeName: aws.String("RedrivePolicy"), AttributeValue: aws.String(policy["RedrivePolicy"])})
	awstest.WantCode(t, err, "AuthorizationError")
}
