package eventbridge_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	courier "github.com/courier-io/courier"
	"github.com/courier-io/courier/awsapi"
	"github.com/courier-io/courier/awsapi/gateway"
)

func TestEventBuses(t *testing.T) {
	f := newFixture(t, gateway.Config{})
	c := ctx(t)
	out, err := f.eb.CreateEventBus(c, &eventbridge.CreateEventBusInput{Name: aws.String("orders"), Description: aws.String("order events"),
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("shop")}}})
	if err != nil {
		t.Fatal(err)
	}
	wantARN := "arn:aws:events:us-east-1:000000000000:event-bus/orders"
	if aws.ToString(out.EventBusArn) != wantARN || aws.ToString(out.Description) != "order events" {
		t.Fatalf("CreateEventBus = %+v", out)
	}
	_, err = f.eb.CreateEventBus(c, &eventbridge.CreateEventBusInput{Name: aws.String("orders")})
	wantAPIError(t, err, "ResourceAlreadyExistsException", 400)
	_, err = f.eb.CreateEventBus(c, &eventbridge.CreateEventBusInput{Name: aws.String("x"), DeadLetterConfig: &types.DeadLetterConfig{Arn: aws.String("arn:aws:sqs:us-east-1:000000000000:dlq")}})
	wantAPIError(t, err, "ValidationException", 400)
	_, err = f.eb.CreateEventBus(c, &eventbridge.CreateEventBusInput{Name: aws.String("bad/name")})
	wantAPIError(t, err, "ValidationException", 400)

	d, err := f.eb.DescribeEventBus(c, &eventbridge.DescribeEventBusInput{Name: aws.String(wantARN)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(d.Name) != "orders" || aws.ToString(d.Arn) != wantARN || aws.ToString(d.Description) != "order events" || d.CreationTime == nil {
		t.Fatalf("DescribeEventBus = %+v", d)
	}
	def, err := f.eb.DescribeEventBus(c, &eventbridge.DescribeEventBusInput{})
	if err != nil || aws.ToString(def.Name) != "default" {
		t.Fatalf("DescribeEventBus(default) = %+v, %v", def, err)
	}
	_, err = f.eb.DescribeEventBus(c, &eventbridge.DescribeEventBusInput{Name: aws.String("nope")})
	wantAPIError(t, err, "ResourceNotFoundException", 400)

	u, err := f.eb.UpdateEventBus(c, &eventbridge.UpdateEventBusInput{Name: aws.String("orders"), Description: aws.String("all orders")})
	if err != nil || aws.ToString(u.Description) != "all orders" {
		t.Fatalf("UpdateEventBus = %+v, %v", u, err)
	}
	_, err = f.eb.UpdateEventBus(c, &eventbridge.UpdateEventBusInput{Name: aws.String("orders"), KmsKeyIdentifier: aws.String("k")})
	wantAPIError(t, err, "ValidationException", 400)
	d, _ = f.eb.DescribeEventBus(c, &eventbridge.DescribeEventBusInput{Name: aws.String("orders")})
	if aws.ToString(d.Description) != "all orders" {
		t.Fatalf("description after update: %q", aws.ToString(d.Description))
	}

	for _, n := range []string{"a1", "a2", "a3"} {
		if _, err := f.eb.CreateEventBus(c, &eventbridge.CreateEventBusInput{Name: aws.String(n)}); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	var token *string
	for {
		l, err := f.eb.ListEventBuses(c, &eventbridge.ListEventBusesInput{NamePrefix: aws.String("a"), Limit: aws.Int32(2), NextToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range l.EventBuses {
			names = append(names, aws.ToString(b.Name))
		}
		if token = l.NextToken; token == nil {
			break
		}
	}
	if fmt.Sprint(names) != "[a1 a2 a3]" {
		t.Fatalf("ListEventBuses pages = %v", names)
	}
	_, err = f.eb.ListEventBuses(c, &eventbridge.ListEventBusesInput{Limit: aws.Int32(0)})
	wantAPIError(t, err, "ValidationException", 400)

	_, err = f.eb.DeleteEventBus(c, &eventbridge.DeleteEventBusInput{Name: aws.String("default")})
	wantAPIError(t, err, "ValidationException", 400)
	if _, err := f.eb.DeleteEventBus(c, &eventbridge.DeleteEventBusInput{Name: aws.String("orders")}); err != nil {
		t.Fatal(err)
	}
	_, err = f.eb.DescribeEventBus(c, &eventbridge.DescribeEventBusInput{Name: aws.String("orders")})
	wantAPIError(t, err, "ResourceNotFoundException", 400)
	// The tags went with the bus: a new bus of that name has none.
	if _, err := f.eb.CreateEventBus(c, &eventbridge.CreateEventBusInput{Name: aws.String("orders")}); err != nil {
		t.Fatal(err)
	}
	tags, err := f.eb.ListTagsForResource(c, &eventbridge.ListTagsForResourceInput{ResourceARN: aws.String(wantARN)})
	if err != nil || len(tags.Tags) != 0 {
		t.Fatalf("tags of a new bus: %+v, %v", tags, err)
	}
}

// envelope is an event as EventBridge delivers it to SQS.
type envelope struct {
	Version    string          `json:"version"`
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Account    string          `json:"account"`
	Time       string          `json:"time"`
	Region     string          `json:"region"`
	Resources  []string        `json:"resources"`
	Detail     json.RawMessage `json:"detail"`
	ReplayName string          `json:"replay-name"`
}

func TestRuleToSQSTargets(t *testing.T) {
	f := newFixture(t, gateway.Config{})
	c := ctx(t)
	whole, transformed, path, constant := f.queue("whole"), f.queue("transformed"), f.queue("path"), f.queue("constant")
	rule, err := f.eb.PutRule(c, &eventbridge.PutRuleInput{Name: aws.String("big-orders"), Description: aws.String("orders over 100"),
		EventPattern: aws.String(`{"source":["shop"],"detail":{"total":[{"numeric":[">",100]}]}}`), RoleArn: aws.String("arn:aws:iam::000000000000:role/eb")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(rule.RuleArn) != "arn:aws:events:us-east-1:000000000000:rule/big-orders" {
		t.Fatalf("RuleArn %s", aws.ToString(rule.RuleArn))
	}
	pt, err := f.eb.PutTargets(c, &eventbridge.PutTargetsInput{Rule: aws.String("big-orders"), Targets: []types.Target{
		{Id: aws.String("whole"), Arn: aws.String(whole)},
		{Id: aws.String("transformed"), Arn: aws.String(transformed), InputTransformer: &types.InputTransformer{
			InputPathsMap: map[string]string{"id": "$.detail.id", "total": "$.detail.total", "src": "$.source"},
			InputTemplate: aws.String(`{"order": <id>, "total": <total>, "text": "order <id> from <src>"}`)}},
		{Id: aws.String("path"), Arn: aws.String(path), InputPath: aws.String("$.detail.items[0]")},
		{Id: aws.String("constant"), Arn: aws.String(constant), Input: aws.String(`{"alert":true}`)},
	}})
	if err != nil || pt.FailedEntryCount != 0 {
		t.Fatalf("PutTargets = %+v, %v", pt, err)
	}
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	pe, err := f.eb.PutEvents(c, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{
		{Source: aws.String("shop"), DetailType: aws.String("Order Placed"), Detail: aws.String(`{"id":7,"total":120,"items":[{"sku":"a-1"}]}`),
			Resources: []string{"order/7"}, Time: aws.Time(at.Add(300 * time.Millisecond))},
		{Source: aws.String("shop"), DetailType: aws.String("Order Placed"), Detail: aws.String(`{"id":8,"total":5}`)},
	}})
	if err != nil || pe.FailedEntryCount != 0 || len(pe.Entries) != 2 || aws.ToString(pe.Entries[0].EventId) == "" {
		t.Fatalf("PutEvents = %+v, %v", pe, err)
	}

	var ev envelope
	if err := json.Unmarshal([]byte(f.receive("whole", 1)[0]), &ev); err != nil {
		t.Fatal(err)
	}
	want := envelope{Version: "0", ID: aws.ToString(pe.Entries[0].EventId), DetailType: "Order Placed", Source: "shop", Account: account,
		Time: "2026-03-04T05:06:07Z", Region: region, Resources: []string{"order/7"}, Detail: json.RawMessage(`{"id":7,"total":120,"items":[{"sku":"a-1"}]}`)}
	if fmt.Sprint(ev) != fmt.Sprint(want) {
		t.Fatalf("envelope\n got %+v\nwant %+v", ev, want)
	}
	if got := f.receive("transformed", 1)[0]; got != `{"order": 7, "total": 120, "text": "order 7 from shop"}` {
		t.Fatalf("input transformer output %s", got)
	}
	if got := f.receive("path", 1)[0]; got != `{"sku":"a-1"}` {
		t.Fatalf("input path output %s", got)
	}
	if got := f.receive("constant", 1)[0]; got != `{"alert":true}` {
		t.Fatalf("constant input %s", got)
	}
	f.empty("whole") // the small order matched no rule

	lt, err := f.eb.ListTargetsByRule(c, &eventbridge.ListTargetsByRuleInput{Rule: aws.String("big-orders")})
	if err != nil || len(lt.Targets) != 4 {
		t.Fatalf("ListTargetsByRule = %+v, %v", lt, err)
	}
	tr := lt.Targets[3] // sorted by Id: constant, path, transformed, whole
	if aws.ToString(tr.Id) != "whole" || aws.ToString(tr.Arn) != whole {
		t.Fatalf("target %+v", tr)
	}
	if got := aws.ToString(lt.Targets[2].InputTransformer.InputTemplate); !strings.HasPrefix(got, `{"order": <id>`) {
		t.Fatalf("stored template %q", got)
	}
	dr, err := f.eb.DescribeRule(c, &eventbridge.DescribeRuleInput{Name: aws.String("big-orders")})
	if err != nil || aws.ToString(dr.RoleArn) != "arn:aws:iam::000000000000:role/eb" || dr.State != types.RuleStateEnabled ||
		aws.ToString(dr.EventBusName) != "default" || aws.ToString(dr.Description) != "orders over 100" {
		t.Fatalf("DescribeRule = %+v, %v", dr, err)
	}
}

func TestPutEventsValidation(t *testing.T) {
	f := newFixture(t, gateway.Config{})
	c := ctx(t)
	entry := types.PutEventsRequestEntry{Source: aws.String("s"), DetailType: aws.String("t"), Detail: aws.String(`{}`)}
	var eleven []types.PutEventsRequestEntry
	for range 11 {
		eleven = append(eleven, entry)
	}
	_, err := f.eb.PutEvents(c, &eventbridge.PutEventsInput{Entries: eleven})
	wantAPIError(t, err, "ValidationException", 400)
	big := types.PutEventsRequestEntry{Source: aws.String("s"), DetailType: aws.String("t"), Detail: aws.String(`{"a":"` + strings.Repeat("x", 200<<10) + `"}`)}
	_, err = f.eb.PutEvents(c, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{big, big}})
	wantAPIError(t, err, "ValidationException", 400)

	out, err := f.eb.PutEvents(c, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{
		entry,
		{Source: aws.String("s"), DetailType: aws.String("t")},
		{Source: aws.String("s"), DetailType: aws.String("t"), Detail: aws.String(`[1]`)},
		{Source: aws.String("s"), DetailType: aws.String("t"), Detail: aws.String(`{}`), EventBusName: aws.String("missing")},
		{Source: aws.String(strings.Repeat("s", 300)), DetailType: aws.String("t"), Detail: aws.String(`{}`)},
		{Source: aws.String("s"), DetailType: aws.String("t"), Detail: aws.String(`{}`), EventBusName: aws.String("arn:aws:events:us-east-1:000000000000:event-bus/default")},
	}})
	if err != nil {
		t.Fatal(err)
	}
	codes := []string{}
	for _, e := range out.Entries {
		codes = append(codes, aws.ToString(e.ErrorCode))
		if (e.ErrorCode == nil) == (e.EventId == nil) {
			t.Fatalf("entry %+v has both or neither of EventId and ErrorCode", e)
		}
	}
	if want := "[ InvalidArgument MalformedDetail ResourceNotFoundException InvalidArgument ]"; fmt.Sprint(codes) != want || out.FailedEntryCount != 4 {
		t.Fatalf("codes %v (failed %d), want %s", codes, out.FailedEntryCount, want)
	}
	if msg := aws.ToString(out.Entries[1].ErrorMessage); !strings.Contains(msg, "Detail") {
		t.Fatalf("message %q does not name Detail", msg)
	}
	_, err = f.eb.PutEvents(c, &eventbridge.PutEventsInput{EndpointId: aws.String("e"), Entries: []types.PutEventsRequestEntry{entry}})
	if err == nil {
		t.Fatal("EndpointId accepted")
	}
}

func TestRulesAndTargets(t *testing.T) {
	f := newFixture(t, gateway.Config{})
	c := ctx(t)
	if _, err := f.eb.CreateEventBus(c, &eventbridge.CreateEventBusInput{Name: aws.String("ops")}); err != nil {
		t.Fatal(err)
	}
	q := f.queue("q1")
	dlq := f.queue("dlq")
	_, err := f.eb.PutRule(c, &eventbridge.PutRuleInput{Name: aws.String("r1")})
	wantAPIError(t, err, "ValidationException", 400)
	_, err = f.eb.PutRule(c, &eventbridge.PutRuleInput{Name: aws.String("r1"), EventPattern: aws.String(`{"source":"not-a-list"}`)})
	wantAPIError(t, err, "InvalidEventPatternException", 400)
	_, err = f.eb.PutRule(c, &eventbridge.PutRuleInput{Name: aws.String("r1"), ScheduleExpression: aws.String("rate(0 minutes)")})
	wantAPIError(t, err, "ValidationException", 400)
	_, err = f.eb.PutRule(c, &eventbridge.PutRuleInput{Name: aws.String("r1"), EventBusName: aws.String("nope"), EventPattern: aws.String(`{"source":["a"]}`)})
	wantAPIError(t, err, "ResourceNotFoundException", 400)
	for _, name := range []string{"r1", "r2", "r3"} {
		if _, err := f.eb.PutRule(c, &eventbridge.PutRuleInput{Name: aws.String(name), EventBusName: aws.String("ops"), EventPattern: aws.String(`{"source":["a"]}`),
			Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String(name)}}}); err != nil {
			t.Fatal(err)
		}
	}
	ruleARN := "arn:aws:events:us-east-1:000000000000:rule/ops/r1"
	pt, err := f.eb.PutTargets(c, &eventbridge.PutTargetsInput{Rule: aws.String("r1"), EventBusName: aws.String("ops"), Targets: []types.Target{
		{Id: aws.String("t1"), Arn: aws.String(q), RetryPolicy: &types.RetryPolicy{MaximumRetryAttempts: aws.Int32(3), MaximumEventAgeInSeconds: aws.Int32(600)},
			DeadLetterConfig: &types.DeadLetterConfig{Arn: aws.String(dlq)}},
		{Id: aws.String("t2"), Arn: aws.String("arn:aws:sns:us-east-1:000000000000:topic1")},
		{Id: aws.String("t3"), Arn: aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/clicks"), KinesisParameters: &types.KinesisParameters{PartitionKeyPath: aws.String("$.detail.user")}},
		{Id: aws.String("t4"), Arn: aws.String("arn:aws:events:us-east-1:000000000000:event-bus/default")},
		{Id: aws.String("bad"), Arn: aws.String(q), Input: aws.String("{not json")},
		{Id: aws.String("fifo"), Arn: aws.String(q), SqsParameters: &types.SqsParameters{MessageGroupId: aws.String("g")}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if pt.FailedEntryCount != 2 || aws.ToString(pt.FailedEntries[0].TargetId) != "bad" || aws.ToString(pt.FailedEntries[0].ErrorCode) != "ValidationException" ||
		aws.ToString(pt.FailedEntries[1].TargetId) != "fifo" {
		t.Fatalf("PutTargets = %+v", pt.FailedEntries)
	}
	info, err := f.b.Bus("ops").Rule(c, "r1")
	if err != nil {
		t.Fatal(err)
	}
	got := info.Targets[0]
	if got.Kind != courier.TargetQueue || got.Queue != "q1" || got.DeadLetterQueue != "dlq" || info.Targets[2].PartitionKeyPath != "$.detail.user" ||
		info.Targets[1].Retry.MaxAttempts != 185+1 {
		t.Fatalf("courier targets %+v", info.Targets)
	}
	_, err = f.eb.PutTargets(c, &eventbridge.PutTargetsInput{Rule: aws.String("r1"), EventBusName: aws.String("ops"), Targets: []types.Target{
		{Id: aws.String("l"), Arn: aws.String("arn:aws:lambda:us-east-1:000000000000:function:f")}}})
	wantAPIError(t, err, "ValidationException", 400)
	_, err = f.eb.PutTargets(c, &eventbridge.PutTargetsInput{Rule: aws.String("r1"), EventBusName: aws.String("ops"), Targets: []types.Target{
		{Id: aws.String("t5"), Arn: aws.String(q)}, {Id: aws.String("t6"), Arn: aws.String(q)}}})
	wantAPIError(t, err, "LimitExceededException", 400)
	_, err = f.eb.PutTargets(c, &eventbridge.PutTargetsInput{Rule: aws.String("nope"), EventBusName: aws.String("ops"), Targets: []types.Target{{Id: aws.String("x"), Arn: aws.String(q)}}})
	wantAPIError(t, err, "ResourceNotFoundException", 400)

	lt, err := f.eb.ListTargetsByRule(c, &eventbridge.ListTargetsByRuleInput{Rule: aws.String("r1"), EventBusName: aws.String("ops"), Limit: aws.Int32(3)})
	if err != nil || len(lt.Targets) != 3 || lt.NextToken == nil {
		t.Fatalf("ListTargetsByRule page 1 = %+v, %v", lt, err)
	}
	if rp := lt.Targets[0].RetryPolicy; rp == nil || aws.ToInt32(rp.MaximumRetryAttempts) != 3 || aws.ToString(lt.Targets[0].DeadLetterConfig.Arn) != dlq {
		t.Fatalf("target t1 = %+v", lt.Targets[0])
	}
	lt2, err := f.eb.ListTargetsByRule(c, &eventbridge.ListTargetsByRuleInput{Rule: aws.String("r1"), EventBusName: aws.String("ops"), NextToken: lt.NextToken})
	if err != nil || len(lt2.Targets) != 1 || aws.ToString(lt2.Targets[0].Id) != "t4" {
		t.Fatalf("ListTargetsByRule page 2 = %+v, %v", lt2, err)
	}

	names, err := f.eb.ListRuleNamesByTarget(c, &eventbridge.ListRuleNamesByTargetInput{TargetArn: aws.String(q), EventBusName: aws.String("ops")})
	if err != nil || fmt.Sprint(names.RuleNames) != "[r1]" {
		t.Fatalf("ListRuleNamesByTarget = %+v, %v", names, err)
	}
	lr, err := f.eb.ListRules(c, &eventbridge.ListRulesInput{EventBusName: aws.String("ops"), NamePrefix: aws.String("r"), Limit: aws.Int32(2)})
	if err != nil || len(lr.Rules) != 2 || lr.NextToken == nil || aws.ToString(lr.Rules[0].Arn) != ruleARN {
		t.Fatalf("ListRules = %+v, %v", lr, err)
	}

	if _, err := f.eb.DisableRule(c, &eventbridge.DisableRuleInput{Name: aws.String("r1"), EventBusName: aws.String("ops")}); err != nil {
		t.Fatal(err)
	}
	dr, _ := f.eb.DescribeRule(c, &eventbridge.DescribeRuleInput{Name: aws.String("r1"), EventBusName: aws.String("ops")})
	if dr.State != types.RuleStateDisabled {
		t.Fatalf("state after DisableRule: %s", dr.State)
	}
	if _, err := f.eb.EnableRule(c, &eventbridge.EnableRuleInput{Name: aws.String("r1"), EventBusName: aws.String("ops")}); err != nil {
		t.Fatal(err)
	}
	// PutRule on an existing rule replaces it but keeps its targets.
	if _, err := f.eb.PutRule(c, &eventbridge.PutRuleInput{Name: aws.String("r1"), EventBusName: aws.String("ops"), EventPattern: aws.String(`{"source":["b"]}`)}); err != nil {
		t.Fatal(err)
	}
	dr, _ = f.eb.DescribeRule(c, &eventbridge.DescribeRuleInput{Name: aws.String("r1"), EventBusName: aws.String("ops")})
	if dr.State != types.RuleStateEnabled || aws.ToString(dr.EventPattern) != `{"source":["b"]}` {
		t.Fatalf("rule after update %+v", dr)
	}
	if info, _ := f.b.Bus("ops").Rule(c, "r1"); len(info.Targets) != 4 {
		t.Fatalf("targets after PutRule: %d", len(info.Targets))
	}

	_, err = f.eb.DeleteRule(c, &eventbridge.DeleteRuleInput{Name: aws.String("r1"), EventBusName: aws.String("ops")})
	wantAPIError(t, err, "ValidationException", 400)
	rt, err := f.eb.RemoveTargets(c, &eventbridge.RemoveTargetsInput{Rule: aws.String("r1"), EventBusName: aws.String("ops"), Ids: []string{"t1", "t2", "t3", "t4", "zz"}})
	if err != nil || rt.FailedEntryCount != 1 || aws.ToString(rt.FailedEntries[0].TargetId) != "zz" {
		t.Fatalf("RemoveTargets = %+v, %v", rt, err)
	}
	if _, err := f.eb.DeleteRule(c, &eventbridge.DeleteRuleInput{Name: aws.String("r1"), EventBusName: aws.String("ops")}); err != nil {
		t.Fatal(err)
	}
	_, err = f.eb.DescribeRule(c, &eventbridge.DescribeRuleInput{Name: aws.String("r1"), EventBusName: aws.String("ops")})
	wantAPIError(t, err, "ResourceNotFoundException", 400)
	// Force deletes a rule with its targets.
	if _, err := f.eb.PutTargets(c, &eventbridge.PutTargetsInput{Rule: aws.String("r2"), EventBusName: aws.String("ops"), Targets: []types.Target{{Id: aws.String("x"), Arn: aws.String(q)}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.eb.DeleteRule(c, &eventbridge.DeleteRuleInput{Name: aws.String("r2"), EventBusName: aws.String("ops"), Force: true}); err != nil {
		t.Fatal(err)
	}
	// Deleting a rule that does not exist succeeds, as in EventBridge.
	if _, err := f.eb.DeleteRule(c, &eventbridge.DeleteRuleInput{Name: aws.String("r2"), EventBusName: aws.String("ops")}); err != nil {
		t.Fatal(err)
	}
}

func TestTestEventPattern(t *testing.T) {
	f := newFixture(t, gateway.Config{})
	c := ctx(t)
	event := `{"id":"1","account":"000000000000","source":"shop","time":"2026-01-02T03:04:05Z","region":"us-east-1","resources":[],"detail-type":"x","detail":{"total":120}}`
	for _, tc := range []struct {
		pattern string
		want    bool
	}{
		{`{"source":["shop"],"detail":{"total":[{"numeric":[">",100]}]}}`, true},
		{`{"source":["other"]}`, false},
	} {
		out, err := f.eb.TestEventPattern(c, &eventbridge.TestEventPatternInput{EventPattern: aws.String(tc.pattern), Event: aws.String(event)})
		if err != nil || out.Result != tc.want {
			t.Fatalf("TestEventPattern(%s) = %+v, %v; want %v", tc.pattern, out, err, tc.want)
		}
	}
	_, err := f.eb.TestEventPattern(c, &eventbridge.TestEventPatternInput{EventPattern: aws.String(`{"source":[{"bogus":1}]}`), Event: aws.String(event)})
	wantAPIError(t, err, "InvalidEventPatternException", 400)
	_, err = f.eb.TestEventPattern(c, &eventbridge.TestEventPatternInput{EventPattern: aws.String(`{"source":["shop"]}`), Event: aws.String(`{"source":"shop"}`)})
	wantAPIError(t, err, "ValidationException", 400)
	other := strings.Replace(event, "000000000000", "111111111111", 1)
	_, err = f.eb.TestEventPattern(c, &eventbridge.TestEventPatternInput{EventPattern: aws.String(`{"source":["shop"]}`), Event: aws.String(other)})
	wantAPIError(t, err, "ValidationException", 400)
}

func TestTags(t *testing.T) {
	f := newFixture(t, gateway.Config{})
	c := ctx(t)
	if _, err := f.eb.PutRule(c, &eventbridge.PutRuleInput{Name: aws.String("r"), EventPattern: aws.String(`{"source":["a"]}`)}); err != nil {
		t.Fatal(err)
	}
	for _, arn := range []string{"arn:aws:events:us-east-1:000000000000:rule/r", "arn:aws:events:us-east-1:000000000000:event-bus/default"} {
		if _, err := f.eb.TagResource(c, &eventbridge.TagResourceInput{ResourceARN: aws.String(arn), Tags: []types.Tag{
			{Key: aws.String("a"), Value: aws.String("1")}, {Key: aws.String("b"), Value: aws.String("2")}}}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.eb.UntagResource(c, &eventbridge.UntagResourceInput{ResourceARN: aws.String(arn), TagKeys: []string{"a"}}); err != nil {
			t.Fatal(err)
		}
		l, err := f.eb.ListTagsForResource(c, &eventbridge.ListTagsForResourceInput{ResourceARN: aws.String(arn)})
		if err != nil || len(l.Tags) != 1 || aws.ToString(l.Tags[0].Key) != "b" || aws.ToString(l.Tags[0].Value) != "2" {
			t.Fatalf("tags of %s: %+v, %v", arn, l, err)
		}
	}
	_, err := f.eb.TagResource(c, &eventbridge.TagResourceInput{ResourceARN: aws.String("arn:aws:events:us-east-1:000000000000:rule/none"), Tags: []types.Tag{{Key: aws.String("a"), Value: aws.String("1")}}})
	wantAPIError(t, err, "ResourceNotFoundException", 400)
	_, err = f.eb.TagResource(c, &eventbridge.TagResourceInput{ResourceARN: aws.String("arn:aws:events:us-east-1:000000000000:archive/a"), Tags: []types.Tag{{Key: aws.String("a"), Value: aws.String("1")}}})
	wantAPIError(t, err, "ValidationException", 400)
	_, err = f.eb.TagResource(c, &eventbridge.TagResourceInput{ResourceARN: aws.String("arn:aws:events:us-east-1:000000000000:rule/r"), Tags: []types.Tag{{Key: aws.String("aws:x"), Value: aws.String("1")}}})
	wantAPIError(t, err, "ValidationException", 400)
}

func TestUnsupportedAndUnknownActions(t *testing.T) {
	f := newFixture(t, gateway.Config{})
	c := ctx(t)
	_, err := f.eb.PutPermission(c, &eventbridge.PutPermissionInput{Action: aws.String("events:PutEvents"), Principal: aws.String("*"), StatementId: aws.String("s")})
	wantAPIError(t, err, "OperationDisabledException", 400)
	_, err = f.eb.ListPartnerEventSources(c, &eventbridge.ListPartnerEventSourcesInput{NamePrefix: aws.String("a")})
	wantAPIError(t, err, "OperationDisabledException", 400)
	status, body := f.raw("CreateEndpoint", `{"Name":"e"}`)
	if status != 400 || body["__type"] != "OperationDisabledException" {
		t.Fatalf("CreateEndpoint: %d %v", status, body)
	}
	status, body = f.raw("Frobnicate", `{}`)
	if status != 400 || body["__type"] != "UnknownOperationException" {
		t.Fatalf("unknown action: %d %v", status, body)
	}
	status, body = f.raw("PutRule", `{"Name":`)
	if status != 400 || body["__type"] != "SerializationException" {
		t.Fatalf("malformed body: %d %v", status, body)
	}
	status, body = f.raw("PutRule", `{"Name":"r","EventPattern":"{\"source\":[\"a\"]}","Bogus":1}`)
	if status != 400 || body["__type"] != "ValidationException" || !strings.Contains(fmt.Sprint(body["message"]), "Bogus") {
		t.Fatalf("unknown member: %d %v", status, body)
	}
	status, body = f.raw("PutTargets", `{"Rule":"r","Targets":[{"Id":"a","Arn":"arn:aws:sqs:us-east-1:000000000000:q","EcsParameters":{"TaskDefinitionArn":"x"}}]}`)
	if status != 400 {
		t.Fatalf("unsupported target parameter: %d %v", status, body)
	}
}

// denyAll refuses everything and records what it was asked.
type denyAll struct{ asked []string }

func (d *denyAll) Authorize(_ context.Context, perm awsapi.Permission, kind, name string) error {
	d.asked = append(d.asked, string(perm)+" "+kind+":"+name)
	return fmt.Errorf("denied %s on %s %s", perm, kind, name)
}

func TestAuthorization(t *testing.T) {
	deny := &denyAll{}
	f := newFixture(t, gateway.Config{Authorizer: deny})
	c := ctx(t)
	entry := types.PutEventsRequestEntry{Source: aws.String("s"), DetailType: aws.String("t"), Detail: aws.String(`{}`)}
	calls := map[string]func() error{
		"publish bus:default": func() error {
			_, err := f.eb.PutEvents(c, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{entry}})
			return err
		},
		"manage bus:x": func() error {
			_, err := f.eb.CreateEventBus(c, &eventbridge.CreateEventBusInput{Name: aws.String("x")})
			return err
		},
		"describe bus:*": func() error { _, err := f.eb.ListEventBuses(c, &eventbridge.ListEventBusesInput{}); return err },
		"manage bus:default": func() error {
			_, err := f.eb.PutRule(c, &eventbridge.PutRuleInput{Name: aws.String("r"), EventPattern: aws.String(`{"source":["a"]}`)})
			return err
		},
		"describe bus:default": func() error {
			_, err := f.eb.DescribeRule(c, &eventbridge.DescribeRuleInput{Name: aws.String("r")})
			return err
		},
	}
	for want, call := range calls {
		deny.asked = nil
		err := call()
		wantAPIError(t, err, "AccessDeniedException", 403)
		if len(deny.asked) == 0 || deny.asked[0] != want {
			t.Fatalf("asked %v, want %s", deny.asked, want)
		}
	}
	if _, err := f.b.Bus("x").Info(c); err == nil {
		t.Fatal("a refused CreateEventBus created the bus")
	}
}

// TestAuthorizationBeforeLookup checks that a caller without access gets
// AccessDeniedException whether or not the archive, bus or rule named
// exists, so that refusals do not tell which resources exist.
func TestAuthorizationBeforeLookup(t *testing.T) {
	deny := &denyAll{}
	f := newFixture(t, gateway.Config{Authorizer: deny})
	c := ctx(t)
	if _, err := f.b.Bus(courier.DefaultBus).Archive(c, "a", courier.Archive{}); err != nil {
		t.Fatal(err)
	}
	for _, archive := range []string{"a", "missing"} {
		_, err := f.eb.DescribeArchive(c, &eventbridge.DescribeArchiveInput{ArchiveName: aws.String(archive)})
		wantAPIError(t, err, "AccessDeniedException", 403)
		_, err = f.eb.UpdateArchive(c, &eventbridge.UpdateArchiveInput{ArchiveName: aws.String(archive), Description: aws.String("d")})
		wantAPIError(t, err, "AccessDeniedException", 403)
		_, err = f.eb.DeleteArchive(c, &eventbridge.DeleteArchiveInput{ArchiveName: aws.String(archive)})
		wantAPIError(t, err, "AccessDeniedException", 403)
	}
	for _, arn := range []string{
		"arn:aws:events:" + region + ":" + account + ":event-bus/missing",
		"arn:aws:events:" + region + ":" + account + ":rule/missing",
	} {
		_, err := f.eb.ListTagsForResource(c, &eventbridge.ListTagsForResourceInput{ResourceARN: aws.String(arn)})
		wantAPIError(t, err, "AccessDeniedException", 403)
		_, err = f.eb.TagResource(c, &eventbridge.TagResourceInput{ResourceARN: aws.String(arn), Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
		wantAPIError(t, err, "AccessDeniedException", 403)
		_, err = f.eb.UntagResource(c, &eventbridge.UntagResourceInput{ResourceARN: aws.String(arn), TagKeys: []string{"k"}})
		wantAPIError(t, err, "AccessDeniedException", 403)
	}
}
