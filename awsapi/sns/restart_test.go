package sns_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	courier "github.com/courier-io/courier"
	"github.com/courier-io/courier/awsapi/gateway"
	snsapi "github.com/courier-io/courier/awsapi/sns"
)

// TestRestart shows that topics' attributes and tags, subscriptions, the
// signing key and HTTP deliveries survive a restart on file://.
func TestRestart(t *testing.T) {
	dir := t.TempDir()
	open := func() *courier.Broker {
		b, err := courier.Open(ctx, "file://"+dir)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	e := newEndpoint(t)
	b1 := open()
	f := serve(t, b1, gateway.Config{})
	topic := f.createTopic("t", map[string]string{"DisplayName": "Durable", "SignatureVersion": "2"})
	if _, err := f.c.TagResource(ctx, &sns.TagResourceInput{ResourceArn: aws.String(topic), Tags: []typesTag{{Key: aws.String("k"), Value: aws.String("v")}}}); err != nil {
		t.Fatal(err)
	}
	sqsSub := f.subscribe(topic, "sqs", f.queue("q"), map[string]string{"FilterPolicy": `{"k":["v"]}`})
	httpSub := confirmFlow(t, f, e, topic, "/hook", nil)
	cert := f.svc.SigningCertificate()
	if err := f.gw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b1.Close(); err != nil {
		t.Fatal(err)
	}

	b2 := open()
	t.Cleanup(func() { _ = b2.Close() })
	g := serve(t, b2, gateway.Config{})
	ta, err := g.c.GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: aws.String(topic)})
	if err != nil || ta.Attributes["DisplayName"] != "Durable" || ta.Attributes["SubscriptionsConfirmed"] != "2" {
		t.Fatalf("topic attributes after restart: %v %v", ta, err)
	}
	tags, err := g.c.ListTagsForResource(ctx, &sns.ListTagsForResourceInput{ResourceArn: aws.String(topic)})
	if err != nil || len(tags.Tags) != 1 {
		t.Fatalf("tags after restart: %v %v", tags, err)
	}
	sa, err := g.c.GetSubscriptionAttributes(ctx, &sns.GetSubscriptionAttributesInput{SubscriptionArn: aws.String(sqsSub)})
	if err != nil || sa.Attributes["FilterPolicy"] != `{"k":["v"]}` {
		t.Fatalf("subscription after restart: %v %v", sa, err)
	}
	if string(g.svc.SigningCertificate()) != string(cert) {
		t.Fatal("the signing certificate changed across the restart")
	}
	if _, err := g.c.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(topic), Message: aws.String("after"),
		MessageAttributes: map[string]typesMAV{"k": strAttr("v")}}); err != nil {
		t.Fatal(err)
	}
	p := e.next(t)
	if p.msg["Message"] != "after" || p.h.Get("x-amz-sns-subscription-arn") != httpSub || p.msg["SignatureVersion"] != "2" {
		t.Fatalf("delivery after restart: %s", p.body)
	}
	if err := snsapi.VerifySignature(stringMap(p.msg), cert); err != nil {
		t.Fatal(err)
	}
	ds := g.receive("q", 1)
	if len(ds) != 1 {
		t.Fatal("sqs subscription lost")
	}
	m, ok := g.render("q", ds[0])
	if !ok || m["Message"] != "after" {
		t.Fatalf("render after restart: %v", m)
	}
}
