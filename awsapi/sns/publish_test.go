package sns_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"

	courier "github.com/courier-io/courier"
	"github.com/courier-io/courier/awsapi"
	"github.com/courier-io/courier/awsapi/awstest"
	snsapi "github.com/courier-io/courier/awsapi/sns"
)

func strAttr(v string) types.MessageAttributeValue {
	return types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
}

func TestPublishToSQSEnvelope(t *testing.T) {
	f := newFixture(t)
	arn := f.createTopic("orders", nil)
	sub := f.subscribe(arn, "sqs", f.queue("q"), nil)
	out, err := f.c.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String(`{"id":1} <&>`), Subject: aws.String("New order"),
		MessageAttributes: map[string]types.MessageAttributeValue{
			"store": strAttr("north"),
			"price": {DataType: aws.String("Number"), StringValue: aws.String("12.5")},
			"blob":  {DataType: aws.String("Binary"), BinaryValue: []byte{0, 1, 2}},
		}})
	if err != nil {
		t.Fatal(err)
	}
	ds := f.receive("q", 10)
	if len(ds) != 1 {
		t.Fatalf("%d deliveries", len(ds))
	}
	body, ok := f.gw.Env().Notifications.RenderNotification(f.url, "q", ds[0])
	if !ok {
		t.Fatalf("not rendered: %s", ds[0].Body)
	}
	// Field order and escaping as SNS sends them.
	keys := regexp.MustCompile(`"(Type|MessageId|TopicArn|Subject|Message|Timestamp|SignatureVersion|Signature|SigningCertURL|UnsubscribeURL|MessageAttributes)":`).FindAllStringSubmatch(string(body), -1)
	var order []string
	for _, k := range keys[:11] {
		order = append(order, k[1])
	}
	if strings.Join(order, ",") != "Type,MessageId,TopicArn,Subject,Message,Timestamp,SignatureVersion,Signature,SigningCertURL,UnsubscribeURL,MessageAttributes" {
		t.Fatalf("field order %v in %s", order, body)
	}
	if !strings.Contains(string(body), `<&>`) {
		t.Fatalf("HTML escaped: %s", body)
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"Type": "Notification", "MessageId": *out.MessageId, "TopicArn": arn, "Subject": "New order",
		"Message": `{"id":1} <&>`, "SignatureVersion": "1", "SigningCertURL": f.url + snsapi.SigningCertPath,
		"UnsubscribeURL": f.url + "/?Action=Unsubscribe&SubscriptionArn=" + strings.ReplaceAll(sub, ":", "%3A"),
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %v, want %v", k, m[k], v)
		}
	}
	if ts, _ := m["Timestamp"].(string); !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`).MatchString(ts) {
		t.Errorf("Timestamp %q", ts)
	}
	attrs, _ := json.Marshal(m["MessageAttributes"])
	if string(attrs) != `{"blob":{"Type":"Binary","Value":"AAEC"},"price":{"Type":"Number","Value":"12.5"},"store":{"Type":"String","Value":"north"}}` {
		t.Errorf("MessageAttributes %s", attrs)
	}
	if len(m) != len(want)+3 {
		t.Errorf("fields %v", m)
	}
	if err := snsapi.VerifySignature(stringMap(m), f.svc.SigningCertificate()); err != nil {
		t.Fatalf("signature: %v", err)
	}
	// A tampered message does not verify.
	sm := stringMap(m)
	sm["Message"] = "forged"
	if snsapi.VerifySignature(sm, f.svc.SigningCertificate()) == nil {
		t.Fatal("forged message verifies")
	}
	// The unsubscribe URL works as a GET.
	resp := httpGet(t, m["UnsubscribeURL"].(string))
	if resp != 200 {
		t.Fatalf("unsubscribe GET: %d", resp)
	}
	if _, err := f.c.GetSubscriptionAttributes(ctx, &sns.GetSubscriptionAttributesInput{SubscriptionArn: aws.String(sub)}); err == nil {
		t.Fatal("still subscribed")
	}
}

func TestSignatureVersion2AndRaw(t *testing.T) {
	f := newFixture(t)
	arn := f.createTopic("t", map[string]string{"SignatureVersion": "2"})
	f.subscribe(arn, "sqs", f.queue("env"), nil)
	f.subscribe(arn, "sqs", f.queue("raw"), map[string]string{"RawMessageDelivery": "true"})
	_, err := f.c.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String("hello"),
		MessageAttributes: map[string]types.MessageAttributeValue{"k": strAttr("v"), "n": {DataType: aws.String("Number.int"), StringValue: aws.String("7")}}})
	if err != nil {
		t.Fatal(err)
	}
	ds := f.receive("env", 1)
	m, ok := f.render("env", ds[0])
	if !ok || m["SignatureVersion"] != "2" {
		t.Fatalf("rendered %v %v", ok, m)
	}
	if err := snsapi.VerifySignature(stringMap(m), f.svc.SigningCertificate()); err != nil {
		t.Fatal(err)
	}
	raw := f.receive("raw", 1)
	if string(raw[0].Body) != "hello" {
		t.Fatalf("raw body %q", raw[0].Body)
	}
	if _, ok := f.render("raw", raw[0]); ok {
		t.Fatal("raw delivery rendered as a notification")
	}
	attrs := awsapi.HeadersToAttributes(raw[0].Headers)
	if attrs["k"].StringValue != "v" || attrs["n"].DataType != "Number.int" || len(attrs) != 2 {
		t.Fatalf("raw attributes %+v", attrs)
	}
}

func TestFilterPolicies(t *testing.T) {
	f := newFixture(t)
	arn := f.createTopic("t", nil)
	subs := map[string]map[string]string{
		"num":   {"FilterPolicy": `{"price":[{"numeric":[">",100]}]}`},
		"str":   {"FilterPolicy": `{"store":["north"],"kind":[{"prefix":"ord"}]}`},
		"body":  {"FilterPolicy": `{"order":{"total":[{"numeric":[">=",10]}]}}`, "FilterPolicyScope": "MessageBody"},
		"none":  nil,
		"exist": {"FilterPolicy": `{"store":[{"exists":false}]}`},
	}
	for q, attrs := range subs {
		f.subscribe(arn, "sqs", f.queue(q), attrs)
	}
	pub := func(msg string, attrs map[string]types.MessageAttributeValue) {
		t.Helper()
		if _, err := f.c.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String(msg), MessageAttributes: attrs}); err != nil {
			t.Fatal(err)
		}
	}
	pub(`{"order":{"total":5}}`, map[string]types.MessageAttributeValue{"price": {DataType: aws.String("Number"), StringValue: aws.String("150")}})
	pub(`{"order":{"total":50}}`, map[string]types.MessageAttributeValue{"price": {DataType: aws.String("Number"), StringValue: aws.String("99.5")}})
	pub(`not json`, map[string]types.MessageAttributeValue{"store": strAttr("north"), "kind": strAttr("order")})
	pub(`{"order":{"total":10}}`, map[string]types.MessageAttributeValue{"store": strAttr("south"), "kind": strAttr("order")})
	want := map[string][]string{
		"num":   {`{"order":{"total":5}}`},
		"str":   {`not json`},
		"body":  {`{"order":{"total":50}}`, `{"order":{"total":10}}`},
		"none":  {`{"order":{"total":5}}`, `{"order":{"total":50}}`, `not json`, `{"order":{"total":10}}`},
		"exist": {`{"order":{"total":5}}`, `{"order":{"total":50}}`},
	}
	for q, msgs := range want {
		ds := f.receive(q, 10)
		var got []string
		for _, d := range ds {
			m, ok := f.render(q, d)
			if !ok {
				t.Fatalf("%s: not rendered", q)
			}
			got = append(got, m["Message"].(string))
		}
		if fmt.Sprint(sorted(got)) != fmt.Sprint(sorted(msgs)) {
			t.Errorf("%s got %q, want %q", q, got, msgs)
		}
	}
	// Invalid policies are refused and change nothing.
	_, err := f.c.Subscribe(ctx, &sns.SubscribeInput{TopicArn: aws.String(arn), Protocol: aws.String("sqs"), Endpoint: aws.String(f.queue("bad")),
		Attributes: map[string]string{"FilterPolicy": `{"a":[{"wildcard":"x*"}]}`}})
	awstest.WantCode(t, err, "InvalidParameter")
	_, err = f.c.Subscribe(ctx, &sns.SubscribeInput{TopicArn: aws.String(arn), Protocol: aws.String("sqs"), Endpoint: aws.String(queueARN + "bad"),
		Attributes: map[string]string{"FilterPolicyScope": "Headers"}})
	awstest.WantCode(t, err, "InvalidParameter")
	if subs, _ := f.b.Topic("t").Subscriptions(ctx); len(subs) != 5 {
		t.Fatalf("%d courier subscriptions", len(subs))
	}
}

// TestFilterTypedAttributes checks that filter policies see attributes
// with their SNS types: a String.Array matches when one element does, and
// a String that looks like a number is not a Number.
func TestFilterTypedAttributes(t *testing.T) {
	f := newFixture(t)
	arn := f.createTopic("t", nil)
	f.subscribe(arn, "sqs", f.queue("sports"), map[string]string{"FilterPolicy": `{"sports":["tennis"]}`, "RawMessageDelivery": "true"})
	f.subscribe(arn, "sqs", f.queue("numbers"), map[string]string{"FilterPolicy": `{"n":[{"numeric":[">",100]}]}`, "RawMessageDelivery": "true"})
	publish := func(body string, attrs map[string]types.MessageAttributeValue) {
		t.Helper()
		if _, err := f.c.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String(body), MessageAttributes: attrs}); err != nil {
			t.Fatal(err)
		}
	}
	str := func(typ, v string) types.MessageAttributeValue {
		return types.MessageAttributeValue{DataType: aws.String(typ), StringValue: aws.String(v)}
	}
	publish("array-match", map[string]types.MessageAttributeValue{"sports": str("String.Array", `["soccer","tennis"]`)})
	publish("array-miss", map[string]types.MessageAttributeValue{"sports": str("String.Array", `["soccer","golf"]`)})
	publish("number", map[string]types.MessageAttributeValue{"n": str("Number", "150")})
	publish("string-that-looks-like-a-number", map[string]types.MessageAttributeValue{"n": str("String", "150")})
	// Invalid String.Array values are refused as SNS refuses them.
	_, err := f.c.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String("m"),
		MessageAttributes: map[string]types.MessageAttributeValue{"sports": str("String.Array", `["a",["b"]]`)}})
	awstest.WantCode(t, err, "ParameterValueInvalid")
	for queue, want := range map[string]string{"sports": "array-match", "numbers": "number"} {
		ds := f.receive(queue, 10)
		if len(ds) != 1 || string(ds[0].Body) != want {
			t.Fatalf("queue %s received %d messages; want only %q", queue, len(ds), want)
		}
		if more, err := f.b.Queue(queue).Receive(ctx, courier.Max(10)); err != nil || len(more) != 0 {
			t.Errorf("queue %s also received %d more (%v)", queue, len(more), err)
		}
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestFIFOTopic(t *testing.T) {
	f := newFixture(t)
	arn := f.createTopic("o.fifo", map[string]string{"FifoTopic": "true"})
	_, err := f.c.Subscribe(ctx, &sns.SubscribeInput{TopicArn: aws.String(arn), Protocol: aws.String("sqs"), Endpoint: aws.String(f.queue("std"))})
	awstest.WantCode(t, err, "InvalidParameter")
	_, err = f.c.Subscribe(ctx, &sns.SubscribeInput{TopicArn: aws.String(arn), Protocol: aws.String("https"), Endpoint: aws.String("https://example.com/x")})
	awstest.WantCode(t, err, "InvalidParameter")
	f.subscribe(arn, "sqs", f.queue("q.fifo"), nil)
	var seqs, ids []string
	for i := range 5 {
		out, err := f.c.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String(fmt.Sprint(i)),
			MessageGroupId: aws.String("g"), MessageDeduplicationId: aws.String(fmt.Sprint("d", i))})
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, *out.SequenceNumber)
		ids = append(ids, *out.MessageId)
	}
	for i := 1; i < len(seqs); i++ {
		if len(seqs[i]) != 20 || seqs[i] <= seqs[i-1] {
			t.Fatalf("sequence numbers %v", seqs)
		}
	}
	dup, err := f.c.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String("again"),
		MessageGroupId: aws.String("g"), MessageDeduplicationId: aws.String("d0")})
	if err != nil || *dup.MessageId != ids[0] {
		t.Fatalf("duplicate publish: %v %v, want the original's ID %s", dup, err, ids[0])
	}
	_, err = f.c.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String("x"), MessageDeduplicationId: aws.String("d")})
	awstest.WantCode(t, err, "InvalidParameter")
	_, err = f.c.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String("x"), MessageGroupId: aws.String("g")})
	awstest.WantCode(t, err, "InvalidParameter")
	var got []string
	for range 5 {
		ds := f.receive("q.fifo", 1)
		if len(ds) != 1 {
			t.Fatalf("got %v then nothing", got)
		}
		m, ok := f.render("q.fifo", ds[0])
		if !ok {
			t.Fatal("not rendered")
		}
		got = append(got, m["Message"].(string))
		if m["SequenceNumber"] == nil {
			t.Fatalf("no SequenceNumber: %v", m)
		}
	}
	if strings.Join(got, "") != "01234" {
		t.Fatalf("order %v", got)
	}
	if ds := f.receive("q.fifo", 10); len(ds) != 0 {
		t.Fatalf("duplicate delivered: %s", ds[0].Body)
	}
	// Content-based dedup, switched on later.
	if _, err := f.c.SetTopicAttributes(ctx, &sns.SetTopicAttributesInput{TopicArn: aws.String(arn), AttributeName: aws.String("ContentBasedDeduplication"), AttributeValue: aws.String("true")}); err != nil {
		t.Fatal(err)
	}
	a, err := f.c.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String("same"), MessageGroupId: aws.String("g")})
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.c.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String("same"), MessageGroupId: aws.String("g")})
	if err != nil || *a.MessageId != *b.MessageId {
		t.Fatalf("content dedup: %v %v %v", a.MessageId, b.MessageId, err)
	}
}

func TestPublishValidation(t *testing.T) {
	f := newFixture(t)
	arn := f.createTopic("t", nil)
	f.subscribe(arn, "sqs", f.queue("q"), nil)
	cases := []struct {
		in   sns.PublishInput
		code string
	}{
		{sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String("")}, "InvalidParameter"},
		{sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String(strings.Repeat("x", 256<<10+1))}, "InvalidParameter"},
		{sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String("m"), Subject: aws.String("")}, "InvalidParameter"},
		{sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String("m"), Subject: aws.String(strings.Repeat("s", 101))}, "InvalidParameter"},
		{sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String("m"), Subject: aws.String("a\nb")}, "InvalidParameter"},
		{sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String("m"), MessageStructure: aws.String("xml")}, "InvalidParameter"},
		{sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String(`{"sqs":"x"}`), MessageStructure: aws.String("json")}, "InvalidParameter"},
		{sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String(`not json`), MessageStructure: aws.String("json")}, "InvalidParameter"},
		{sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String("m"), MessageDeduplicationId: aws.String("d")}, "InvalidParameter"},
		{sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String("m"), MessageAttributes: map[string]types.MessageAttributeValue{"n": {DataType: aws.String("Number"), StringValue: aws.String("abc")}}}, "ParameterValueInvalid"},
		{sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String("m"), MessageAttributes: map[string]types.MessageAttributeValue{"n": {DataType: aws.String("Blob"), StringValue: aws.String("abc")}}}, "ParameterValueInvalid"},
		{sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String("m"), MessageAttributes: map[string]types.MessageAttributeValue{"AWS.x": strAttr("v")}}, "ParameterValueInvalid"},
		{sns.PublishInput{TopicArn: aws.String(topicARN + "missing"), Message: aws.String("m")}, "NotFound"},
		{sns.PublishInput{TopicArn: aws.String(arn), TargetArn: aws.String(arn), Message: aws.String("m")}, "InvalidParameter"},
		{sns.PublishInput{TargetArn: aws.String("arn:aws:sns:us-east-1:000000000000:endpoint/GCM/app/1"), Message: aws.String("m")}, "InvalidParameter"},
	}
	for i, c := range cases {
		_, err := f.c.Publish(ctx, &c.in)
		if err == nil {
			t.Fatalf("case %d: published", i)
		}
		awstest.WantCode(t, err, c.code)
	}
	if ds := f.receive("q", 10); len(ds) != 0 {
		t.Fatalf("refused publishes delivered %d", len(ds))
	}
	// TargetArn naming a topic publishes.
	if _, err := f.c.Publish(ctx, &sns.PublishInput{TargetArn: aws.String(arn), Message: aws.String("ok")}); err != nil {
		t.Fatal(err)
	}
}

func TestMessageStructure(t *testing.T) {
	f := newFixture(t)
	arn := f.createTopic("t", nil)
	f.subscribe(arn, "sqs", f.queue("q"), nil)
	f.subscribe(arn, "courier", "durable:native", map[string]string{"RawMessageDelivery": "true"})
	msg := `{"default":"plain","sqs":"for sqs","email":"ignored"}`
	if _, err := f.c.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String(msg), MessageStructure: aws.String("json")}); err != nil {
		t.Fatal(err)
	}
	m, ok := f.render("q", f.receive("q", 1)[0])
	if !ok || m["Message"] != "for sqs" {
		t.Fatalf("sqs message %v", m)
	}
	ds, err := f.b.Topic("t").Subscription("native").Receive(ctx)
	if err != nil || len(ds) != 1 || string(ds[0].Body) != "plain" {
		t.Fatalf("durable: %v %v", ds, err)
	}
}

func TestPublishBatch(t *testing.T) {
	f := newFixture(t)
	arn := f.createTopic("t", nil)
	f.subscribe(arn, "sqs", f.queue("q"), nil)
	out, err := f.c.PublishBatch(ctx, &sns.PublishBatchInput{TopicArn: aws.String(arn), PublishBatchRequestEntries: []types.PublishBatchRequestEntry{
		{Id: aws.String("a"), Message: aws.String("one"), MessageAttributes: map[string]types.MessageAttributeValue{"k": strAttr("v")}},
		{Id: aws.String("b"), Message: aws.String("")},
		{Id: aws.String("c"), Message: aws.String("three"), Subject: aws.String("s")},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Successful) != 2 || *out.Successful[0].Id != "a" || *out.Successful[1].Id != "c" {
		t.Fatalf("successful %+v", out.Successful)
	}
	if len(out.Failed) != 1 || *out.Failed[0].Id != "b" || *out.Failed[0].Code != "InvalidParameter" || !out.Failed[0].SenderFault {
		t.Fatalf("failed %+v", out.Failed)
	}
	ds := f.receive("q", 10)
	if len(ds) != 2 {
		t.Fatalf("%d delivered", len(ds))
	}
	entries := func(n int) []types.PublishBatchRequestEntry {
		e := make([]types.PublishBatchRequestEntry, n)
		for i := range e {
			e[i] = types.PublishBatchRequestEntry{Id: aws.String(fmt.Sprint("e", i)), Message: aws.String("m")}
		}
		return e
	}
	_, err = f.c.PublishBatch(ctx, &sns.PublishBatchInput{TopicArn: aws.String(arn), PublishBatchRequestEntries: entries(11)})
	awstest.WantCode(t, err, "TooManyEntriesInBatchRequest")
	_, err = f.c.PublishBatch(ctx, &sns.PublishBatchInput{TopicArn: aws.String(arn), PublishBatchRequestEntries: []types.PublishBatchRequestEntry{}})
	awstest.WantCode(t, err, "EmptyBatchRequest")
	dup := entries(2)
	dup[1].Id = aws.String("e0")
	_, err = f.c.PublishBatch(ctx, &sns.PublishBatchInput{TopicArn: aws.String(arn), PublishBatchRequestEntries: dup})
	awstest.WantCode(t, err, "BatchEntryIdsNotDistinct")
	bad := entries(1)
	bad[0].Id = aws.String("a b")
	_, err = f.c.PublishBatch(ctx, &sns.PublishBatchInput{TopicArn: aws.String(arn), PublishBatchRequestEntries: bad})
	awstest.WantCode(t, err, "InvalidBatchEntryId")
	big := entries(2)
	big[0].Message = aws.String(strings.Repeat("x", 200<<10))
	big[1].Message = aws.String(strings.Repeat("x", 100<<10))
	_, err = f.c.PublishBatch(ctx, &sns.PublishBatchInput{TopicArn: aws.String(arn), PublishBatchRequestEntries: big})
	awstest.WantCode(t, err, "BatchRequestTooLong")
	if ds := f.receive("q", 10); len(ds) != 0 {
		t.Fatalf("refused batches delivered %d", len(ds))
	}
}
