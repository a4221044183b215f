package eventbridge

import (
	"context"
	"errors"
	"slices"
	"strings"

	courier "github.com/courier-io/courier"
	"github.com/courier-io/courier/awsapi"
	"github.com/courier-io/courier/driver"
	"github.com/courier-io/courier/schedule"
)

// Rule limits, as EventBridge's.
const (
	maxRuleNameLen    = 64
	maxDescriptionLen = 512
	maxRoleARNLen     = 1600
)

// ruleOut is an EventBridge Rule (DescribeRule and the members of
// ListRules).
type ruleOut struct {
	Name               string  `json:"Name"`
	Arn                string  `json:"Arn"`
	EventPattern       *string `json:"EventPattern,omitempty"`
	ScheduleExpression *string `json:"ScheduleExpression,omitempty"`
	State              string  `json:"State"`
	Description        *string `json:"Description,omitempty"`
	RoleArn            *string `json:"RoleArn,omitempty"`
	EventBusName       string  `json:"EventBusName"`
	CreatedBy          *string `json:"CreatedBy,omitempty"`
}

// awsState is a courier rule state as EventBridge spells it.
func awsState(st driver.RuleState) string {
	if st == courier.RuleDisabled {
		return "DISABLED"
	}
	return "ENABLED"
}

// ruleOut renders a rule with its AWS-only data.
func (s *Service) ruleOut(info courier.RuleInfo) (ruleOut, error) {
	var m ruleMeta
	if _, err := s.env.Meta.Get(ruleKey+info.Bus+"/"+info.Name, &m); err != nil {
		return ruleOut{}, metaErr(err)
	}
	return ruleOut{
		Name: info.Name, Arn: s.ruleARN(info.Bus, info.Name), EventPattern: ptr(string(info.Pattern)),
		ScheduleExpression: ptr(info.Schedule), State: awsState(info.State), Description: ptr(info.Description),
		RoleArn: ptr(m.RoleArn), EventBusName: info.Bus,
	}, nil
}

// ruleRef names a rule: its Name (or Rule) and EventBusName.
type ruleRef struct {
	bus, name string
}

// resolveRule checks a rule name and resolves its bus.
func (s *Service) resolveRule(field, name, busParam string) (ruleRef, error) {
	if err := checkName(field, name, maxRuleNameLen); err != nil {
		return ruleRef{}, err
	}
	bus, err := s.busName("EventBusName", busParam)
	if err != nil {
		return ruleRef{}, err
	}
	return ruleRef{bus: bus, name: name}, nil
}

// authorizedRule resolves a rule as resolveRule does, then checks perm
// on its bus.
func (s *Service) authorizedRule(ctx context.Context, perm awsapi.Permission, field, name, busParam string) (ruleRef, error) {
	ref, err := s.resolveRule(field, name, busParam)
	if err != nil {
		return ruleRef{}, err
	}
	return ref, s.env.Authorize(ctx, perm, "bus", ref.bus)
}

// rule returns a rule, with ResourceNotFoundException as EventBridge
// words it.
func (s *Service) rule(ctx context.Context, r ruleRef) (courier.RuleInfo, error) {
	info, err := s.env.Broker.Bus(r.bus).Rule(ctx, r.name)
	if errors.Is(err, courier.ErrNotFound) {
		if _, berr := s.busInfo(ctx, r.bus); berr != nil {
			return info, berr
		}
		return info, notFoundf("Rule %s does not exist on EventBus %s.", r.name, r.bus)
	}
	return info, err
}

// checkRoleARN checks a RoleArn: stored, never used (courier delivers
// with its own identity).
func checkRoleARN(field string, v *string) error {
	if v == nil || *v == "" {
		return nil
	}
	if len(*v) > maxRoleARNLen {
		return validationf("%s has %d characters; the limit is %d", field, len(*v), maxRoleARNLen)
	}
	if _, err := awsapi.ParseARN(*v); err != nil {
		return validationf("%s: %s", field, awsapi.AsError(err).Message)
	}
	return nil
}

func (s *Service) putRule(ctx context.Context, body []byte) (any, error) {
	var in struct {
		Name               string  `json:"Name"`
		EventBusName       string  `json:"EventBusName"`
		EventPattern       *string `json:"EventPattern"`
		ScheduleExpression *string `json:"ScheduleExpression"`
		State              *string `json:"State"`
		Description        *string `json:"Description"`
		RoleArn            *string `json:"RoleArn"`
		Tags               []tag   `json:"Tags"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	ref, err := s.resolveRule("name", in.Name, in.EventBusName)
	if err != nil {
		return nil, err
	}
	spec := courier.Rule{Description: str(in.Description), State: courier.RuleEnabled}
	switch str(in.State) {
	case "", "ENABLED":
	case "DISABLED":
		spec.State = courier.RuleDisabled
	case "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS":
		return nil, validationf("State ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS is not supported: courier receives no CloudTrail events")
	default:
		return nil, validationf("1 validation error detected: Value '%s' at 'state' failed to satisfy constraint: Member must satisfy enum value set: [ENABLED, DISABLED]", awsapi.Truncate(*in.State, 64))
	}
	if err := checkText("Description", spec.Description, maxDescriptionLen); err != nil {
		return nil, err
	}
	if err := checkRoleARN("RoleArn", in.RoleArn); err != nil {
		return nil, err
	}
	switch {
	case str(in.EventPattern) == "" && str(in.ScheduleExpression) == "":
		return nil, validationf("Parameter(s) EventPattern or ScheduleExpression must be specified.")
	case str(in.EventPattern) != "" && str(in.ScheduleExpression) != "":
		return nil, validationf("Parameters EventPattern and ScheduleExpression: courier rules have one or the other; use two rules")
	case str(in.EventPattern) != "":
		if _, err := compilePattern(*in.EventPattern); err != nil {
			return nil, err
		}
		spec.Pattern = []byte(*in.EventPattern)
	default:
		if len(*in.ScheduleExpression) > 256 {
			return nil, validationf("Parameter ScheduleExpression is not valid: it has %d characters; the limit is 256", len(*in.ScheduleExpression))
		}
		if _, err := schedule.Parse(*in.ScheduleExpression); err != nil {
			return nil, validationf("Parameter ScheduleExpression is not valid: %v", err)
		}
		spec.Schedule = *in.ScheduleExpression
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	if err := s.env.Authorize(ctx, awsapi.Manage, "bus", ref.bus); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.busInfo(ctx, ref.bus); err != nil {
		return nil, err
	}
	bus := s.env.Broker.Bus(ref.bus)
	old, err := bus.Rule(ctx, ref.name)
	created := errors.Is(err, courier.ErrNotFound)
	switch {
	case created:
		// Data of a rule of that name deleted outside this API would come back.
		if err := s.forgetRule(ctx, ref.bus, ref.name); err != nil {
			return nil, metaErr(err)
		}
	case err != nil:
		return nil, err
	default:
		// PutRule keeps the targets (and, as EventBridge, ignores Tags).
		if spec.Targets, err = s.rebuildTargets(ctx, ref, old.Targets); err != nil {
			return nil, err
		}
	}
	if _, err := bus.PutRule(ctx, ref.name, spec); err != nil {
		return nil, err
	}
	if err := s.env.Meta.Put(ctx, ruleKey+ref.bus+"/"+ref.name, ruleMeta{RoleArn: str(in.RoleArn)}); err != nil {
		return nil, metaErr(err)
	}
	if created && len(in.Tags) > 0 {
		if err := s.putTags(ctx, ruleTagsKey+ref.bus+"/"+ref.name, tagMap(in.Tags)); err != nil {
			return nil, metaErr(err)
		}
	}
	return struct {
		RuleArn string `json:"RuleArn"`
	}{s.ruleARN(ref.bus, ref.name)}, nil
}

func (s *Service) deleteRule(ctx context.Context, body []byte) (any, error) {
	var in struct {
		Name         string `json:"Name"`
		EventBusName string `json:"EventBusName"`
		Force        bool   `json:"Force"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	ref, err := s.authorizedRule(ctx, awsapi.Manage, "name", in.Name, in.EventBusName)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	info, err := s.rule(ctx, ref)
	var ae *awsapi.Error
	if errors.As(err, &ae) && ae.Code == "ResourceNotFoundException" && strings.HasPrefix(ae.Message, "Rule ") {
		return struct{}{}, metaErr(s.forgetRule(ctx, ref.bus, ref.name)) // as EventBridge: deleting a missing rule succeeds
	}
	if err != nil {
		return nil, err
	}
	if len(info.Targets) > 0 && !in.Force {
		return nil, validationf("Rule can't be deleted since it has targets. Remove them with RemoveTargets first, or pass Force to delete them with the rule.")
	}
	if err := s.env.Broker.Bus(ref.bus).DeleteRule(ctx, ref.name); err != nil && !errors.Is(err, courier.ErrNotFound) {
		return nil, err
	}
	return struct{}{}, metaErr(s.forgetRule(ctx, ref.bus, ref.name))
}

// requestedRule decodes the body of a rule action whose members are Name
// and EventBusName, and resolves the rule with perm on its bus.
func (s *Service) requestedRule(ctx context.Context, body []byte, perm awsapi.Permission) (ruleRef, error) {
	var in struct {
		Name         string `json:"Name"`
		EventBusName string `json:"EventBusName"`
	}
	if err := decode(body, &in); err != nil {
		return ruleRef{}, err
	}
	return s.authorizedRule(ctx, perm, "name", in.Name, in.EventBusName)
}

func (s *Service) describeRule(ctx context.Context, body []byte) (any, error) {
	ref, err := s.requestedRule(ctx, body, awsapi.Describe)
	if err != nil {
		return nil, err
	}
	info, err := s.rule(ctx, ref)
	if err != nil {
		return nil, err
	}
	out, err := s.ruleOut(info)
	if err != nil {
		return nil, err
	}
	out.CreatedBy = &s.env.AccountID
	return out, nil
}

func (s *Service) listRules(ctx context.Context, body []byte) (any, error) {
	var in struct {
		NamePrefix   *string `json:"NamePrefix"`
		EventBusName string  `json:"EventBusName"`
		Limit        *int32  `json:"Limit"`
		NextToken    *string `json:"NextToken"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	bus, err := s.authorizedBus(ctx, awsapi.Describe, "EventBusName", in.EventBusName)
	if err != nil {
		return nil, err
	}
	rules, err := s.rules(ctx, bus)
	if err != nil {
		return nil, err
	}
	rules = slices.DeleteFunc(rules, func(r courier.RuleInfo) bool { return !strings.HasPrefix(r.Name, str(in.NamePrefix)) })
	pg, next, err := page(rules, func(r courier.RuleInfo) string { return r.Name }, in.Limit, in.NextToken)
	if err != nil {
		return nil, err
	}
	out := struct {
		Rules     []ruleOut `json:"Rules"`
		NextToken *string   `json:"NextToken,omitempty"`
	}{Rules: make([]ruleOut, 0, len(pg)), NextToken: next}
	for _, r := range pg {
		ro, err := s.ruleOut(r)
		if err != nil {
			return nil, err
		}
		out.Rules = append(out.Rules, ro)
	}
	return out, nil
}

// rules lists a bus's rules sorted by name, with
// ResourceNotFoundException for a missing bus.
func (s *Service) rules(ctx context.Context, bus string) ([]courier.RuleInfo, error) {
	rules, err := s.env.Broker.Bus(bus).Rules(ctx)
	if errors.Is(err, courier.ErrNotFound) {
		return nil, notFoundf("Event bus %s does not exist.", bus)
	}
	if err != nil {
		return nil, err
	}
	slices.SortFunc(rules, func(a, b courier.RuleInfo) int { return strings.Compare(a.Name, b.Name) })
	return rules, nil
}

func (s *Service) enableRule(ctx context.Context, body []byte) (any, error) {
	return s.setRuleState(ctx, body, courier.RuleEnabled)
}

func (s *Service) disableRule(ctx context.Context, body []byte) (any, error) {
	return s.setRuleState(ctx, body, courier.RuleDisabled)
}

// setRuleState is EnableRule and DisableRule.
func (s *Service) setRuleState(ctx context.Context, body []byte, st driver.RuleState) (any, error) {
	ref, err := s.requestedRule(ctx, body, awsapi.Manage)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	info, err := s.rule(ctx, ref)
	if err != nil {
		return nil, err
	}
	if info.State == st {
		return struct{}{}, nil
	}
	spec := info.Rule
	spec.State = st
	if spec.Targets, err = s.rebuildTargets(ctx, ref, info.Targets); err != nil {
		return nil, err
	}
	if _, err := s.env.Broker.Bus(ref.bus).PutRule(ctx, ref.name, spec); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}
