package eventbridge

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	courier "github.com/courier-io/courier"
	"github.com/courier-io/courier/awsapi"
	"github.com/courier-io/courier/driver"
)

// Target limits: EventBridge takes 10 targets per PutTargets and keeps 5
// per rule; courier keeps driver.MaxTargetsPerRule (5) per rule.
const (
	maxPutTargets    = 10
	maxTargetsByRule = min(5, driver.MaxTargetsPerRule)
	maxRemoveTargets = 100
	maxTargetARNLen  = 1600
	maxInputLen      = 8192
	maxInputPathLen  = 256
	maxRetryAttempts = 185
	minEventAge      = 60
	maxEventAge      = 86400
)

// inputTransformer is EventBridge's InputTransformer.
type inputTransformer struct {
	InputPathsMap map[string]string `json:"InputPathsMap,omitempty"`
	InputTemplate *string           `json:"InputTemplate"`
}

// retryPolicy is EventBridge's RetryPolicy.
type retryPolicy struct {
	MaximumRetryAttempts     *int32 `json:"MaximumRetryAttempts,omitempty"`
	MaximumEventAgeInSeconds *int32 `json:"MaximumEventAgeInSeconds,omitempty"`
}

// httpParameters are EventBridge's HttpParameters of an API destination
// target.
type httpParameters struct {
	HeaderParameters      map[string]string `json:"HeaderParameters,omitempty"`
	PathParameterValues   []string          `json:"PathParameterValues,omitempty"`
	QueryStringParameters map[string]string `json:"QueryStringParameters,omitempty"`
}

// kinesisParameters are EventBridge's KinesisParameters.
type kinesisParameters struct {
	PartitionKeyPath *string `json:"PartitionKeyPath"`
}

// deadLetterConfig is EventBridge's DeadLetterConfig of a target.
type deadLetterConfig struct {
	Arn *string `json:"Arn,omitempty"`
}

// awsTarget is an EventBridge Target: what PutTargets takes, what the
// metadata store keeps and what ListTargetsByRule returns.
type awsTarget struct {
	ID               string             `json:"Id"`
	Arn              string             `json:"Arn"`
	RoleArn          *string            `json:"RoleArn,omitempty"`
	Input            *string            `json:"Input,omitempty"`
	InputPath        *string            `json:"InputPath,omitempty"`
	InputTransformer *inputTransformer  `json:"InputTransformer,omitempty"`
	KinesisParams    *kinesisParameters `json:"KinesisParameters,omitempty"`
	SqsParameters    *struct {
		MessageGroupID *string `json:"MessageGroupId,omitempty"`
	} `json:"SqsParameters,omitempty"`
	HTTPParameters   *httpParameters   `json:"HttpParameters,omitempty"`
	RetryPolicy      *retryPolicy      `json:"RetryPolicy,omitempty"`
	DeadLetterConfig *deadLetterConfig `json:"DeadLetterConfig,omitempty"`

	AppSyncParameters           *unsupportedParam `json:"AppSyncParameters,omitempty"`
	BatchParameters             *unsupportedParam `json:"BatchParameters,omitempty"`
	EcsParameters               *unsupportedParam `json:"EcsParameters,omitempty"`
	RedshiftDataParameters      *unsupportedParam `json:"RedshiftDataParameters,omitempty"`
	RunCommandParameters        *unsupportedParam `json:"RunCommandParameters,omitempty"`
	SageMakerPipelineParameters *unsupportedParam `json:"SageMakerPipelineParameters,omitempty"`
}

// targetRef is where a target ARN points in courier: a kind and the name
// of the queue, topic, stream, bus or API destination.
type targetRef struct {
	kind courier.TargetKind
	name string
}

// authKind is the resource kind Env.Authorize names for the target;
// empty for API destinations, which are no courier resource.
func (r targetRef) authKind() string {
	switch r.kind {
	case courier.TargetQueue:
		return "queue"
	case courier.TargetTopic:
		return "topic"
	case courier.TargetStream:
		return "stream"
	case courier.TargetBus:
		return "bus"
	}
	return ""
}

// resolveTargetARN maps a target ARN to a courier target: an SQS queue,
// SNS topic, Kinesis stream, event bus or API destination of this
// endpoint's account and region. Any other ARN is a ValidationException
// that names it.
func (s *Service) resolveTargetARN(field, arn string) (targetRef, error) {
	if arn == "" {
		return targetRef{}, validationf("%s: Arn is required", field)
	}
	if len(arn) > maxTargetARNLen {
		return targetRef{}, validationf("%s: Arn has %d characters; the limit is %d", field, len(arn), maxTargetARNLen)
	}
	a, err := awsapi.ParseARN(arn)
	if err != nil {
		return targetRef{}, validationf("%s: %s", field, awsapi.AsError(err).Message)
	}
	var ref targetRef
	switch svc, res := a.Service, a.Resource; {
	case svc == "sqs" && !strings.Contains(res, "/") && !strings.Contains(res, ":"):
		ref = targetRef{courier.TargetQueue, res}
	case svc == "sns" && !strings.Contains(res, "/") && !strings.Contains(res, ":"):
		ref = targetRef{courier.TargetTopic, res}
	case svc == "kinesis" && strings.HasPrefix(res, "stream/"):
		ref = targetRef{courier.TargetStream, strings.TrimPrefix(res, "stream/")}
	case svc == "events" && strings.HasPrefix(res, "event-bus/"):
		ref = targetRef{courier.TargetBus, strings.TrimPrefix(res, "event-bus/")}
	case svc == "events" && strings.HasPrefix(res, "api-destination/"):
		ref = targetRef{courier.TargetHTTP, strings.TrimPrefix(res, "api-destination/")}
	default:
		return targetRef{}, validationf("%s: target Arn %q is not supported: courier delivers to SQS queues, SNS topics, Kinesis streams, event buses and API destinations, not to %s resources", field, awsapi.Truncate(arn, 256), a.Service)
	}
	if _, err := s.env.ParseOwnARN(arn, a.Service, "ValidationException"); err != nil {
		return targetRef{}, validationf("%s: %s", field, awsapi.AsError(err).Message)
	}
	if ref.kind == courier.TargetHTTP {
		return ref, nil // name/ID, checked against the destination
	}
	if err := driver.ValidateQueueName(field+".Arn", ref.name); err != nil {
		return targetRef{}, validationf("%s: %q does not name a courier %s: %v", field, awsapi.Truncate(arn, 256), ref.kind, err)
	}
	return ref, nil
}

// dlqQueue resolves a DeadLetterConfig ARN: an SQS queue of this account.
func (s *Service) dlqQueue(field, arn string) (string, error) {
	name, err := s.env.ParseOwnARN(arn, "sqs", "ValidationException")
	if err != nil {
		return "", validationf("%s: the dead-letter queue must be an SQS queue ARN: %s", field, awsapi.AsError(err).Message)
	}
	if err := driver.ValidateQueueName(field, name); err != nil {
		return "", validationf("%s: %v", field, err)
	}
	return name, nil
}

// courierTarget translates an EventBridge target into a courier target,
// checked as courier checks it. ref is t.Arn resolved.
func (s *Service) courierTarget(ctx context.Context, field string, t *awsTarget, ref targetRef) (courier.Target, error) {
	if err := refuse(
		refusal{"AppSyncParameters", t.AppSyncParameters, "AppSync targets are not supported by courier"},
		refusal{"BatchParameters", t.BatchParameters, "Batch targets are not supported by courier"},
		refusal{"EcsParameters", t.EcsParameters, "ECS targets are not supported by courier"},
		refusal{"RedshiftDataParameters", t.RedshiftDataParameters, "Redshift targets are not supported by courier"},
		refusal{"RunCommandParameters", t.RunCommandParameters, "Run Command targets are not supported by courier"},
		refusal{"SageMakerPipelineParameters", t.SageMakerPipelineParameters, "SageMaker targets are not supported by courier"},
	); err != nil {
		return courier.Target{}, err
	}
	if err := checkName(field+".Id", t.ID, driver.MaxTargetIDLen); err != nil {
		return courier.Target{}, err
	}
	if err := checkRoleARN(field+".RoleArn", t.RoleArn); err != nil {
		return courier.Target{}, err
	}
	ct := courier.Target{ID: t.ID, Kind: ref.kind}
	switch ref.kind {
	case courier.TargetQueue:
		ct.Queue = ref.name
	case courier.TargetTopic:
		ct.Topic = ref.name
	case courier.TargetStream:
		ct.Stream = ref.name
	case courier.TargetBus:
		ct.Bus = ref.name
	case courier.TargetHTTP:
		h, err := s.httpTarget(ctx, field, ref.name, t.HTTPParameters)
		if err != nil {
			return courier.Target{}, err
		}
		ct.HTTP = h
	}
	if t.HTTPParameters != nil && ref.kind != courier.TargetHTTP {
		return courier.Target{}, validationf("%s: HttpParameters apply to API destination targets only", field)
	}
	if t.SqsParameters != nil && t.SqsParameters.MessageGroupID != nil {
		return courier.Target{}, validationf("%s: SqsParameters.MessageGroupId is not supported: courier groups the events it sends to a FIFO queue by their source", field)
	}
	if t.KinesisParams != nil {
		if ref.kind != courier.TargetStream {
			return courier.Target{}, validationf("%s: KinesisParameters apply to Kinesis stream targets only", field)
		}
		if t.KinesisParams.PartitionKeyPath == nil || len(*t.KinesisParams.PartitionKeyPath) > maxInputPathLen {
			return courier.Target{}, validationf("%s: KinesisParameters.PartitionKeyPath is required and has at most %d characters", field, maxInputPathLen)
		}
		ct.PartitionKeyPath = *t.KinesisParams.PartitionKeyPath
	}
	inputs := 0
	if t.Input != nil {
		inputs++
		if len(*t.Input) > maxInputLen {
			return courier.Target{}, validationf("%s: Input has %d characters; the limit is %d", field, len(*t.Input), maxInputLen)
		}
		if !json.Valid([]byte(*t.Input)) {
			return courier.Target{}, validationf("%s: Input is not valid JSON text", field)
		}
		ct.Input = json.RawMessage(*t.Input)
	}
	if t.InputPath != nil {
		inputs++
		if len(*t.InputPath) > maxInputPathLen {
			return courier.Target{}, validationf("%s: InputPath has %d characters; the limit is %d", field, len(*t.InputPath), maxInputPathLen)
		}
		ct.InputPath = *t.InputPath
	}
	if t.InputTransformer != nil {
		inputs++
		if t.InputTransformer.InputTemplate == nil {
			return courier.Target{}, validationf("%s: InputTransformer.InputTemplate is required", field)
		}
		if len(*t.InputTransformer.InputTemplate) > maxInputLen {
			return courier.Target{}, validationf("%s: InputTransformer.InputTemplate has %d characters; the limit is %d", field, len(*t.InputTransformer.InputTemplate), maxInputLen)
		}
		ct.InputTransformer = &courier.InputTransformer{InputPaths: t.InputTransformer.InputPathsMap, Template: *t.InputTransformer.InputTemplate}
	}
	if inputs > 1 {
		return courier.Target{}, validationf("%s: Only one of Input, InputPath, or InputTransformer must be provided.", field)
	}
	// EventBridge's defaults: 185 retries within 24 hours.
	ct.Retry = courier.RetryPolicy{MaxAttempts: maxRetryAttempts + 1, MaxAge: maxEventAge * time.Second}
	if p := t.RetryPolicy; p != nil {
		attempts, age := int32(maxRetryAttempts), int32(maxEventAge)
		if p.MaximumRetryAttempts != nil {
			attempts = *p.MaximumRetryAttempts
		}
		if p.MaximumEventAgeInSeconds != nil {
			age = *p.MaximumEventAgeInSeconds
		}
		if attempts < 0 || attempts > maxRetryAttempts {
			return courier.Target{}, validationf("%s: RetryPolicy.MaximumRetryAttempts %d is out of range 0..%d", field, attempts, maxRetryAttempts)
		}
		if age < minEventAge || age > maxEventAge {
			return courier.Target{}, validationf("%s: RetryPolicy.MaximumEventAgeInSeconds %d is out of range %d..%d", field, age, minEventAge, maxEventAge)
		}
		ct.Retry = courier.RetryPolicy{MaxAttempts: int(attempts) + 1, MaxAge: time.Duration(age) * time.Second}
	}
	if t.DeadLetterConfig != nil && str(t.DeadLetterConfig.Arn) != "" {
		q, err := s.dlqQueue(field+".DeadLetterConfig.Arn", *t.DeadLetterConfig.Arn)
		if err != nil {
			return courier.Target{}, err
		}
		ct.DeadLetterQueue = q
	}
	check := ct
	if check.HTTP != nil {
		h := *check.HTTP
		check.HTTP = &h
	}
	if err := check.Normalize(field); err != nil {
		return courier.Target{}, validationf("%v", err)
	}
	return ct, nil
}

// awsFromCourier describes a courier target as EventBridge does, for
// targets that were not put through this API (or whose record no longer
// matches). An http or handler target made outside this API has no ARN.
func (s *Service) awsFromCourier(t courier.Target) awsTarget {
	out := awsTarget{ID: t.ID}
	switch t.Kind {
	case courier.TargetQueue:
		out.Arn = s.env.ARN("sqs", t.Queue)
	case courier.TargetTopic:
		out.Arn = s.env.ARN("sns", t.Topic)
	case courier.TargetStream:
		out.Arn = s.env.ARN("kinesis", "stream/"+t.Stream)
	case courier.TargetBus:
		out.Arn = s.busARN(t.Bus)
	}
	if t.PartitionKeyPath != "" {
		out.KinesisParams = &kinesisParameters{PartitionKeyPath: &t.PartitionKeyPath}
	}
	if len(t.Input) > 0 {
		out.Input = ptr(string(t.Input))
	}
	out.InputPath = ptr(t.InputPath)
	if t.InputTransformer != nil {
		tmpl := t.InputTransformer.Template
		out.InputTransformer = &inputTransformer{InputPathsMap: t.InputTransformer.InputPaths, InputTemplate: &tmpl}
	}
	if t.Kind != courier.TargetQueue && t.Retry.MaxAttempts > 0 {
		attempts := int32(min(t.Retry.MaxAttempts-1, maxRetryAttempts))
		age := int32(t.Retry.MaxAge / time.Second)
		out.RetryPolicy = &retryPolicy{MaximumRetryAttempts: &attempts, MaximumEventAgeInSeconds: &age}
	}
	if t.DeadLetterQueue != "" {
		arn := s.env.ARN("sqs", t.DeadLetterQueue)
		out.DeadLetterConfig = &deadLetterConfig{Arn: &arn}
	}
	return out
}

// targetRecord returns the stored AWS form of a courier target when it
// still describes it (same kind and resource), else ok false.
func (s *Service) targetRecord(bus, rule string, t courier.Target) (awsTarget, bool, error) {
	var rec awsTarget
	found, err := s.env.Meta.Get(targetRecordKey(bus, rule, t.ID), &rec)
	if err != nil || !found {
		return rec, false, metaErr(err)
	}
	ref, err := s.resolveTargetARN("target", rec.Arn)
	if err != nil || ref.kind != t.Kind {
		return rec, false, nil
	}
	switch t.Kind {
	case courier.TargetQueue:
		found = ref.name == t.Queue
	case courier.TargetTopic:
		found = ref.name == t.Topic
	case courier.TargetStream:
		found = ref.name == t.Stream
	case courier.TargetBus:
		found = ref.name == t.Bus
	}
	return rec, found, nil
}

// awsTargets describes a rule's targets as EventBridge does.
func (s *Service) awsTargets(bus, rule string, targets []courier.Target) ([]awsTarget, error) {
	out := make([]awsTarget, 0, len(targets))
	for _, t := range targets {
		rec, ok, err := s.targetRecord(bus, rule, t)
		if err != nil {
			return nil, err
		}
		if !ok {
			rec = s.awsFromCourier(t)
		}
		out = append(out, rec)
	}
	slices.SortFunc(out, func(a, b awsTarget) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// rebuildTargets returns a rule's targets, as read from courier, in a
// form that can be put again: http targets (whose secrets courier masks)
// are built again from their API destination and connection.
func (s *Service) rebuildTargets(ctx context.Context, ref ruleRef, targets []courier.Target) ([]courier.Target, error) {
	out := make([]courier.Target, 0, len(targets))
	for _, t := range targets {
		if t.Kind != courier.TargetHTTP {
			out = append(out, t)
			continue
		}
		rec, ok, err := s.targetRecord(ref.bus, ref.name, t)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, validationf("rule %s has the http target %s, which was not put through this API: its secret cannot be kept; change the rule with courier's own API", ref.name, t.ID)
		}
		dst, err := s.resolveTargetARN("target", rec.Arn)
		if err != nil {
			return nil, err
		}
		h, err := s.httpTarget(ctx, "target "+t.ID, dst.name, rec.HTTPParameters)
		if err != nil {
			return nil, err
		}
		t.HTTP = h
		out = append(out, t)
	}
	return out, nil
}

// putTargetsResult is a PutTargetsResultEntry or RemoveTargetsResultEntry.
type putTargetsResult struct {
	TargetID     string `json:"TargetId"`
	ErrorCode    string `json:"ErrorCode"`
	ErrorMessage string `json:"ErrorMessage"`
}

// failedEntries is the answer of PutTargets and RemoveTargets.
type failedEntries struct {
	FailedEntryCount int                `json:"FailedEntryCount"`
	FailedEntries    []putTargetsResult `json:"FailedEntries"`
}

func (s *Service) putTargets(ctx context.Context, body []byte) (any, error) {
	var in struct {
		Rule         string      `json:"Rule"`
		EventBusName string      `json:"EventBusName"`
		Targets      []awsTarget `json:"Targets"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	ref, err := s.resolveRule("rule", in.Rule, in.EventBusName)
	if err != nil {
		return nil, err
	}
	if len(in.Targets) == 0 || len(in.Targets) > maxPutTargets {
		return nil, validationf("1 validation error detected: Value at 'targets' failed to satisfy constraint: Member must have length between 1 and %d (it has %d)", maxPutTargets, len(in.Targets))
	}
	refs := make([]targetRef, len(in.Targets))
	for i := range in.Targets {
		if refs[i], err = s.resolveTargetARN(fmt.Sprintf("Targets[%d]", i), in.Targets[i].Arn); err != nil {
			return nil, err
		}
	}
	if err := s.env.Authorize(ctx, awsapi.Manage, "bus", ref.bus); err != nil {
		return nil, err
	}
	for i, t := range in.Targets {
		if k := refs[i].authKind(); k != "" {
			if err := s.env.Authorize(ctx, awsapi.Publish, k, refs[i].name); err != nil {
				return nil, err
			}
		}
		if t.DeadLetterConfig != nil && str(t.DeadLetterConfig.Arn) != "" {
			if q, err := s.dlqQueue(fmt.Sprintf("Targets[%d].DeadLetterConfig.Arn", i), *t.DeadLetterConfig.Arn); err == nil {
				if err := s.env.Authorize(ctx, awsapi.Publish, "queue", q); err != nil {
					return nil, err
				}
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	info, err := s.rule(ctx, ref)
	if err != nil {
		return nil, err
	}
	out := failedEntries{FailedEntries: []putTargetsResult{}}
	var good []courier.Target
	var goodAWS []awsTarget
	ids := map[string]bool{}
	for _, t := range info.Targets {
		ids[t.ID] = true
	}
	seen := map[string]bool{}
	for i := range in.Targets {
		t := &in.Targets[i]
		field := fmt.Sprintf("Targets[%d]", i)
		if seen[t.ID] {
			out.FailedEntries = append(out.FailedEntries, putTargetsResult{t.ID, "ValidationException", field + ": Id " + t.ID + " is given twice"})
			continue
		}
		seen[t.ID] = true
		ct, err := s.courierTarget(ctx, field, t, refs[i])
		if err != nil {
			e := toAWS(err)
			out.FailedEntries = append(out.FailedEntries, putTargetsResult{t.ID, e.Code, e.Message})
			continue
		}
		ids[t.ID] = true
		good = append(good, ct)
		goodAWS = append(goodAWS, *t)
	}
	if len(ids) > maxTargetsByRule {
		return nil, limitf("The requested resource exceeds the maximum number allowed: rule %s would have %d targets; the limit is %d.", ref.name, len(ids), maxTargetsByRule)
	}
	if len(good) > 0 {
		if _, err := s.env.Broker.Bus(ref.bus).PutTargets(ctx, ref.name, good...); err != nil {
			return nil, err
		}
		for _, t := range goodAWS {
			if err := s.env.Meta.Put(ctx, targetRecordKey(ref.bus, ref.name, t.ID), t); err != nil {
				return nil, metaErr(err)
			}
		}
	}
	out.FailedEntryCount = len(out.FailedEntries)
	return out, nil
}

func (s *Service) removeTargets(ctx context.Context, body []byte) (any, error) {
	var in struct {
		Rule         string   `json:"Rule"`
		EventBusName string   `json:"EventBusName"`
		Ids          []string `json:"Ids"`
		Force        bool     `json:"Force"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	ref, err := s.resolveRule("rule", in.Rule, in.EventBusName)
	if err != nil {
		return nil, err
	}
	if len(in.Ids) == 0 || len(in.Ids) > maxRemoveTargets {
		return nil, validationf("1 validation error detected: Value at 'ids' failed to satisfy constraint: Member must have length between 1 and %d (it has %d)", maxRemoveTargets, len(in.Ids))
	}
	for i, id := range in.Ids {
		if err := checkName(fmt.Sprintf("ids[%d]", i), id, driver.MaxTargetIDLen); err != nil {
			return nil, err
		}
	}
	if err := s.env.Authorize(ctx, awsapi.Manage, "bus", ref.bus); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	info, err := s.rule(ctx, ref)
	if err != nil {
		return nil, err
	}
	out := failedEntries{FailedEntries: []putTargetsResult{}}
	var remove []string
	for _, id := range in.Ids {
		if !slices.ContainsFunc(info.Targets, func(t courier.Target) bool { return t.ID == id }) {
			out.FailedEntries = append(out.FailedEntries, putTargetsResult{id, "ResourceNotFoundException", "Rule " + ref.name + " has no target " + id})
			continue
		}
		if !slices.Contains(remove, id) {
			remove = append(remove, id)
		}
	}
	if len(remove) > 0 {
		if _, err := s.env.Broker.Bus(ref.bus).RemoveTargets(ctx, ref.name, remove...); err != nil {
			return nil, err
		}
		for _, id := range remove {
			if err := s.env.Meta.Delete(ctx, targetRecordKey(ref.bus, ref.name, id)); err != nil {
				return nil, metaErr(err)
			}
		}
	}
	out.FailedEntryCount = len(out.FailedEntries)
	return out, nil
}

func (s *Service) listTargetsByRule(ctx context.Context, body []byte) (any, error) {
	var in struct {
		Rule         string  `json:"Rule"`
		EventBusName string  `json:"EventBusName"`
		Limit        *int32  `json:"Limit"`
		NextToken    *string `json:"NextToken"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	ref, err := s.authorizedRule(ctx, awsapi.Describe, "rule", in.Rule, in.EventBusName)
	if err != nil {
		return nil, err
	}
	info, err := s.rule(ctx, ref)
	if err != nil {
		return nil, err
	}
	targets, err := s.awsTargets(ref.bus, ref.name, info.Targets)
	if err != nil {
		return nil, err
	}
	pg, next, err := page(targets, func(t awsTarget) string { return t.ID }, in.Limit, in.NextToken)
	if err != nil {
		return nil, err
	}
	return struct {
		Targets   []awsTarget `json:"Targets"`
		NextToken *string     `json:"NextToken,omitempty"`
	}{pg, next}, nil
}

func (s *Service) listRuleNamesByTarget(ctx context.Context, body []byte) (any, error) {
	var in struct {
		TargetArn    string  `json:"TargetArn"`
		EventBusName string  `json:"EventBusName"`
		Limit        *int32  `json:"Limit"`
		NextToken    *string `json:"NextToken"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.TargetArn == "" || len(in.TargetArn) > maxTargetARNLen {
		return nil, validationf("1 validation error detected: Value at 'targetArn' failed to satisfy constraint: Member must have length between 1 and %d", maxTargetARNLen)
	}
	bus, err := s.authorizedBus(ctx, awsapi.Describe, "EventBusName", in.EventBusName)
	if err != nil {
		return nil, err
	}
	rules, err := s.rules(ctx, bus)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, r := range rules {
		targets, err := s.awsTargets(bus, r.Name, r.Targets)
		if err != nil {
			return nil, err
		}
		if slices.ContainsFunc(targets, func(t awsTarget) bool { return t.Arn == in.TargetArn }) {
			names = append(names, r.Name)
		}
	}
	pg, next, err := page(names, func(n string) string { return n }, in.Limit, in.NextToken)
	if err != nil {
		return nil, err
	}
	if pg == nil {
		pg = []string{}
	}
	return struct {
		RuleNames []string `json:"RuleNames"`
		NextToken *string  `json:"NextToken,omitempty"`
	}{pg, next}, nil
}
