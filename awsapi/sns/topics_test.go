package sns_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"

	"github.com/courier-io/courier/awsapi/awstest"
)

func TestCreateTopic(t *testing.T) {
	f := newFixture(t)
	arn := f.createTopic("orders", map[string]string{"DisplayName": "Orders", "SignatureVersion": "2"})
	if arn != topicARN+"orders" {
		t.Fatalf("arn = %s", arn)
	}
	// Idempotent with the same attributes, refused with others.
	if again := f.createTopic("orders", map[string]string{"DisplayName": "Orders"}); again != arn {
		t.Fatalf("second create = %s", again)
	}
	_, err := f.c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("orders"), Attributes: map[string]string{"DisplayName": "Other"}})
	awstest.WantCode(t, err, "InvalidParameter")

	for _, c := range []struct {
		name  string
		attrs map[string]string
		code  string
	}{
		{"bad.name", nil, "InvalidParameter"},
		{"x.fifo", nil, "InvalidParameter"},
		{"x", map[string]string{"FifoTopic": "true"}, "InvalidParameter"},
		{"x", map[string]string{"Nope": "1"}, "InvalidParameter"},
		{"x", map[string]string{"KmsMasterKeyId": "alias/aws/sns"}, "InvalidParameter"},
		{"x", map[string]string{"SignatureVersion": "3"}, "InvalidParameter"},
		{"x", map[string]string{"TracingConfig": "Sometimes"}, "InvalidParameter"},
		{"x", map[string]string{"Policy": "not json"}, "InvalidParameter"},
		{"x", map[string]string{"DeliveryPolicy": `{"http":{"defaultHealthyRetryPolicy":{"minDelayTarget":0}}}`}, "InvalidParameter"},
		{"x", map[string]string{"ContentBasedDeduplication": "true"}, "InvalidParameter"},
		{strings.Repeat("a", 81), nil, "InvalidParameter"},
	} {
		_, err := f.c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(c.name), Attributes: c.attrs})
		awstest.WantCode(t, err, c.code)
	}
	if names, _ := f.b.ListTopics(ctx); len(names) != 1 {
		t.Fatalf("refused creates left topics: %v", names)
	}
	var ae *types.InvalidParameterException
	_, err = f.c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("x"), Attributes: map[string]string{"Nope": "1"}})
	if !errorsAs(err, &ae) || !strings.Contains(*ae.Message, "Attribute name Nope is not valid") {
		t.Fatalf("unknown attribute: %v", err)
	}

	fifo := f.createTopic("events.fifo", map[string]string{"FifoTopic": "true", "ContentBasedDeduplication": "true"})
	info, err := f.b.Topic("events.fifo").Info(ctx)
	if err != nil || !info.Attributes.FIFO {
		t.Fatalf("courier topic: %+v %v", info, err)
	}
	got, err := f.c.GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: aws.String(fifo)})
	if err != nil {
		t.Fatal(err)
	}
	if got.Attributes["FifoTopic"] != "true" || got.Attributes["ContentBasedDeduplication"] != "true" {
		t.Fatalf("fifo attributes: %v", got.Attributes)
	}
}

func TestTopicAttributes(t *testing.T) {
	f := newFixture(t)
	arn := f.createTopic("t", map[string]string{"DisplayName": "T", "TracingConfig": "Active"})
	q := f.queue("q")
	f.subscribe(arn, "sqs", q, nil)
	out, err := f.c.GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	a := out.Attributes
	for k, v := range map[string]string{"TopicArn": arn, "Owner": account, "DisplayName": "T", "TracingConfig": "Active",
		"SubscriptionsConfirmed": "1", "SubscriptionsPending": "0", "SubscriptionsDeleted": "0"} {
		if a[k] != v {
			t.Errorf("%s = %q, want %q", k, a[k], v)
		}
	}
	if !strings.Contains(a["Policy"], arn) || !strings.Contains(a["EffectiveDeliveryPolicy"], `"numRetries":3`) {
		t.Errorf("Policy %s / EffectiveDeliveryPolicy %s", a["Policy"], a["EffectiveDeliveryPolicy"])
	}
	if _, ok := a["FifoTopic"]; ok {
		t.Errorf("standard topic reports FifoTopic")
	}
	set := func(name, value string) error {
		_, err := f.c.SetTopicAttributes(ctx, &sns.SetTopicAttributesInput{TopicArn: aws.String(arn), AttributeName: aws.String(name), AttributeValue: aws.String(value)})
		return err
	}
	dp := `{"http":{"defaultHealthyRetryPolicy":{"minDelayTarget":1,"maxDelayTarget":5,"numRetries":4,"backoffFunction":"exponential"},"disableSubscriptionOverrides":false}}`
	for k, v := range map[string]string{"DisplayName": "New", "Policy": `{"Version":"2012-10-17"}`, "DeliveryPolicy": dp, "SignatureVersion": "2"} {
		if err := set(k, v); err != nil {
			t.Fatalf("set %s: %v", k, err)
		}
	}
	awstest.WantCode(t, set("FifoTopic", "true"), "InvalidParameter")
	awstest.WantCode(t, set("Bogus", "1"), "InvalidParameter")
	awstest.WantCode(t, set("KmsMasterKeyId", "k"), "InvalidParameter")
	out, _ = f.c.GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: aws.String(arn)})
	if out.Attributes["DisplayName"] != "New" || out.Attributes["DeliveryPolicy"] != dp || out.Attributes["Policy"] != `{"Version":"2012-10-17"}` ||
		!strings.Contains(out.Attributes["EffectiveDeliveryPolicy"], `"numRetries":4`) {
		t.Fatalf("after set: %v", out.Attributes)
	}
	_, err = f.c.GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: aws.String(topicARN + "missing")})
	var nf *types.NotFoundException
	if !errorsAs(err, &nf) {
		t.Fatalf("missing topic: %v", err)
	}
	_, err = f.c.GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: aws.String("arn:aws:sns:eu-west-1:000000000000:t")})
	awstest.WantCode(t, err, "InvalidParameter")
}

func TestListAndDeleteTopics(t *testing.T) {
	f := newFixture(t)
	want := map[string]bool{}
	for i := range 105 {
		want[f.createTopic(fmt.Sprintf("t%03d", i), nil)] = true
	}
	got := map[string]bool{}
	pages := 0
	p := sns.NewListTopicsPaginator(f.c, &sns.ListTopicsInput{})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, tp := range out.Topics {
			got[*tp.TopicArn] = true
		}
	}
	if pages != 2 || len(got) != len(want) {
		t.Fatalf("%d pages, %d topics", pages, len(got))
	}
	q := f.queue("q")
	sub := f.subscribe(topicARN+"t000", "sqs", q, nil)
	if _, err := f.c.DeleteTopic(ctx, &sns.DeleteTopicInput{TopicArn: aws.String(topicARN + "t000")}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.b.Topic("t000").Info(ctx); err == nil {
		t.Fatal("topic still exists")
	}
	_, err := f.c.GetSubscriptionAttributes(ctx, &sns.GetSubscriptionAttributesInput{SubscriptionArn: aws.String(sub)})
	awstest.WantCode(t, err, "NotFound")
	// Deleting a missing topic succeeds, as in SNS.
	if _, err := f.c.DeleteTopic(ctx, &sns.DeleteTopicInput{TopicArn: aws.String(topicARN + "t000")}); err != nil {
		t.Fatal(err)
	}
	_, err = f.c.ListTopics(ctx, &sns.ListTopicsInput{NextToken: aws.String("!!")})
	awstest.WantCode(t, err, "InvalidParameter")
}

func TestTags(t *testing.T) {
	f := newFixture(t)
	arn := f.createTopic("t", nil)
	_, err := f.c.TagResource(ctx, &sns.TagResourceInput{ResourceArn: aws.String(arn), Tags: []types.Tag{
		{Key: aws.String("team"), Value: aws.String("a")}, {Key: aws.String("env"), Value: aws.String("prod")}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.UntagResource(ctx, &sns.UntagResourceInput{ResourceArn: aws.String(arn), TagKeys: []string{"env", "none"}}); err != nil {
		t.Fatal(err)
	}
	out, err := f.c.ListTagsForResource(ctx, &sns.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Tags) != 1 || *out.Tags[0].Key != "team" || *out.Tags[0].Value != "a" {
		t.Fatalf("tags %+v", out.Tags)
	}
	_, err = f.c.ListTagsForResource(ctx, &sns.ListTagsForResourceInput{ResourceArn: aws.String(topicARN + "nope")})
	awstest.WantCode(t, err, "ResourceNotFound")
	_, err = f.c.TagResource(ctx, &sns.TagResourceInput{ResourceArn: aws.String(arn), Tags: []types.Tag{{Key: aws.String("aws:x"), Value: aws.String("1")}}})
	awstest.WantCode(t, err, "InvalidParameter")
	many := make([]types.Tag, 50)
	for i := range many {
		many[i] = types.Tag{Key: aws.String(fmt.Sprintf("k%d", i)), Value: aws.String("v")}
	}
	_, err = f.c.TagResource(ctx, &sns.TagResourceInput{ResourceArn: aws.String(arn), Tags: many})
	awstest.WantCode(t, err, "TagLimitExceeded")
	out, _ = f.c.ListTagsForResource(ctx, &sns.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
	if len(out.Tags) != 1 {
		t.Fatalf("refused tagging changed tags: %d", len(out.Tags))
	}
	// Tags given at creation.
	out2, err := f.c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("t2"), Tags: []types.Tag{{Key: aws.String("a"), Value: aws.String("b")}}})
	if err != nil {
		t.Fatal(err)
	}
	out, _ = f.c.ListTagsForResource(ctx, &sns.ListTagsForResourceInput{ResourceArn: out2.TopicArn})
	if len(out.Tags) != 1 {
		t.Fatalf("creation tags: %+v", out.Tags)
	}
}

func TestUnsupportedActions(t *testing.T) {
	f := newFixture(t)
	arn := f.createTopic("t", nil)
	_, err := f.c.AddPermission(ctx, &sns.AddPermissionInput{TopicArn: aws.String(arn), Label: aws.String("l"),
		AWSAccountId: []string{account}, ActionName: []string{"Publish"}})
	awstest.WantCode(t, err, "InvalidAction")
	_, err = f.c.CreatePlatformApplication(ctx, &sns.CreatePlatformApplicationInput{Name: aws.String("a"), Platform: aws.String("GCM"), Attributes: map[string]string{}})
	awstest.WantCode(t, err, "InvalidAction")
	_, err = f.c.GetSMSAttributes(ctx, &sns.GetSMSAttributesInput{})
	awstest.WantCode(t, err, "InvalidAction")
	_, err = f.c.GetDataProtectionPolicy(ctx, &sns.GetDataProtectionPolicyInput{ResourceArn: aws.String(arn)})
	awstest.WantCode(t, err, "InvalidAction")
	_, err = f.c.Publish(ctx, &sns.PublishInput{PhoneNumber: aws.String("+15555550100"), Message: aws.String("m")})
	awstest.WantCode(t, err, "InvalidParameter")
	_, err = f.c.Subscribe(ctx, &sns.SubscribeInput{TopicArn: aws.String(arn), Protocol: aws.String("email"), Endpoint: aws.String("a@b.c")})
	awstest.WantCode(t, err, "InvalidParameter")
}
