package eventbridge

import (
	"context"
	"errors"
	"slices"
	"strings"

	courier "github.com/courier-io/courier"
	"github.com/courier-io/courier/awsapi"
	"github.com/courier-io/courier/driver"
)

// busARN returns the ARN of bus.
func (s *Service) busARN(bus string) string { return s.env.ARN("events", "event-bus/"+bus) }

// ruleARN returns the ARN of a rule: rule/NAME on the default bus,
// rule/BUS/NAME on the others.
func (s *Service) ruleARN(bus, rule string) string {
	if bus == courier.DefaultBus {
		return s.env.ARN("events", "rule/"+rule)
	}
	return s.env.ARN("events", "rule/"+bus+"/"+rule)
}

// splitRuleResource splits the resource of a rule ARN after "rule/"
// (NAME on the default bus, BUS/NAME on the others): ruleARN's inverse.
func splitRuleResource(rest string) (bus, name string) {
	if b, n, two := strings.Cut(rest, "/"); two {
		return b, n
	}
	return courier.DefaultBus, rest
}

// busName resolves an EventBusName parameter (a name or an event bus ARN;
// empty is the default bus) to a courier bus name.
func (s *Service) busName(field, v string) (string, error) {
	if v == "" {
		return courier.DefaultBus, nil
	}
	name := v
	if strings.HasPrefix(v, "arn:") {
		res, err := s.env.ParseOwnARN(v, "events", "ValidationException")
		if err != nil {
			return "", err
		}
		var ok bool
		if name, ok = strings.CutPrefix(res, "event-bus/"); !ok {
			return "", validationf("%s %q is not an event bus ARN (arn:aws:events:REGION:ACCOUNT:event-bus/NAME)", field, awsapi.Truncate(v, 256))
		}
	}
	if strings.HasPrefix(name, "aws.partner/") {
		return "", validationf("%s %q: partner event buses are not supported by courier", field, awsapi.Truncate(v, 256))
	}
	if err := driver.ValidateBusName(field, name); err != nil {
		return "", validationf("%s: %v", field, err)
	}
	return name, nil
}

// authorizedBus resolves an EventBusName parameter as busName does, then
// checks perm on the bus.
func (s *Service) authorizedBus(ctx context.Context, perm awsapi.Permission, field, v string) (string, error) {
	bus, err := s.busName(field, v)
	if err != nil {
		return "", err
	}
	return bus, s.env.Authorize(ctx, perm, "bus", bus)
}

// busInfo returns a bus, with ResourceNotFoundException as EventBridge
// words it when it does not exist.
func (s *Service) busInfo(ctx context.Context, bus string) (courier.BusInfo, error) {
	info, err := s.env.Broker.Bus(bus).Info(ctx)
	if errors.Is(err, courier.ErrNotFound) {
		return info, notFoundf("Event bus %s does not exist.", bus)
	}
	return info, err
}

// eventBusOut is an EventBridge EventBus (DescribeEventBus and the
// members of ListEventBuses).
type eventBusOut struct {
	Arn              string     `json:"Arn"`
	Name             string     `json:"Name"`
	Description      *string    `json:"Description,omitempty"`
	CreationTime     *epochTime `json:"CreationTime,omitempty"`
	LastModifiedTime *epochTime `json:"LastModifiedTime,omitempty"`
}

// describeBus renders a bus with its AWS-only data.
func (s *Service) describeBus(info courier.BusInfo) (eventBusOut, error) {
	var m busMeta
	if _, err := s.env.Meta.Get(busKey+info.Name, &m); err != nil {
		return eventBusOut{}, metaErr(err)
	}
	out := eventBusOut{Arn: s.busARN(info.Name), Name: info.Name, Description: ptr(info.Attributes.Description),
		CreationTime: newEpoch(info.CreatedAt), LastModifiedTime: newEpoch(info.CreatedAt)}
	if m.Description != nil {
		out.Description = ptr(*m.Description)
	}
	if !m.Modified.IsZero() {
		out.LastModifiedTime = newEpoch(m.Modified)
	}
	return out, nil
}

// busSettings are the members of CreateEventBus and UpdateEventBus that
// courier does not implement.
type busSettings struct {
	DeadLetterConfig *unsupportedParam `json:"DeadLetterConfig"`
	KmsKeyIdentifier *unsupportedParam `json:"KmsKeyIdentifier"`
	LogConfig        *unsupportedParam `json:"LogConfig"`
}

// refuse fails when an unsupported setting is given.
func (b busSettings) refuse() error {
	return refuse(
		refusal{"DeadLetterConfig", b.DeadLetterConfig, "courier buses have no dead-letter queue of their own; set DeadLetterConfig on each target (PutTargets)"},
		refusal{"KmsKeyIdentifier", b.KmsKeyIdentifier, "courier does not encrypt buses with customer keys"},
		refusal{"LogConfig", b.LogConfig, "courier does not send bus logs to CloudWatch; use the server's logs and metrics"},
	)
}

func (s *Service) createEventBus(ctx context.Context, body []byte) (any, error) {
	var in struct {
		Name            string            `json:"Name"`
		Description     *string           `json:"Description"`
		EventSourceName *unsupportedParam `json:"EventSourceName"`
		Tags            []tag             `json:"Tags"`
		busSettings
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := in.refuse(); err != nil {
		return nil, err
	}
	if in.EventSourceName != nil && in.EventSourceName.set {
		return nil, validationf("parameter EventSourceName is not supported: partner event buses are not supported by courier")
	}
	if strings.HasPrefix(in.Name, "aws.") {
		return nil, validationf("event bus name %q: names starting with aws. are reserved for partner event buses, which courier does not support", awsapi.Truncate(in.Name, 256))
	}
	if in.Name == "" {
		return nil, validationf("1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null")
	}
	if err := driver.ValidateBusName("Name", in.Name); err != nil {
		return nil, validationf("%v", err)
	}
	if err := checkText("Description", str(in.Description), 512); err != nil {
		return nil, err
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	if err := s.env.Authorize(ctx, awsapi.Manage, "bus", in.Name); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.env.Broker.Bus(in.Name).Info(ctx); err == nil {
		return nil, existsf("Event bus %s already exists.", in.Name)
	} else if !errors.Is(err, courier.ErrNotFound) {
		return nil, err
	}
	// Data of a bus of that name deleted outside this API would come back.
	if err := s.forgetBus(ctx, in.Name); err != nil {
		return nil, metaErr(err)
	}
	if _, err := s.env.Broker.CreateBus(ctx, in.Name, courier.BusAttributes{Description: str(in.Description)}); err != nil {
		return nil, err
	}
	if len(in.Tags) > 0 {
		if err := s.putTags(ctx, busTagsKey+in.Name, tagMap(in.Tags)); err != nil {
			return nil, metaErr(err)
		}
	}
	return struct {
		EventBusArn string  `json:"EventBusArn"`
		Description *string `json:"Description,omitempty"`
	}{s.busARN(in.Name), ptr(str(in.Description))}, nil
}

func (s *Service) deleteEventBus(ctx context.Context, body []byte) (any, error) {
	var in struct {
		Name string `json:"Name"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.Name == "" {
		return nil, validationf("1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null")
	}
	bus, err := s.busName("Name", in.Name)
	if err != nil {
		return nil, err
	}
	if bus == courier.DefaultBus {
		return nil, validationf("Cannot delete event bus default.")
	}
	if err := s.env.Authorize(ctx, awsapi.Manage, "bus", bus); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// As EventBridge: deleting a bus that does not exist succeeds.
	if err := s.env.Broker.DeleteBus(ctx, bus); err != nil && !errors.Is(err, courier.ErrNotFound) {
		return nil, err
	}
	return struct{}{}, metaErr(s.forgetBus(ctx, bus))
}

func (s *Service) describeEventBus(ctx context.Context, body []byte) (any, error) {
	var in struct {
		Name string `json:"Name"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	bus, err := s.authorizedBus(ctx, awsapi.Describe, "Name", in.Name)
	if err != nil {
		return nil, err
	}
	info, err := s.busInfo(ctx, bus)
	if err != nil {
		return nil, err
	}
	return s.describeBus(info)
}

func (s *Service) listEventBuses(ctx context.Context, body []byte) (any, error) {
	var in struct {
		NamePrefix *string `json:"NamePrefix"`
		Limit      *int32  `json:"Limit"`
		NextToken  *string `json:"NextToken"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := s.env.Authorize(ctx, awsapi.Describe, "bus", "*"); err != nil {
		return nil, err
	}
	names, err := s.env.Broker.ListBuses(ctx)
	if err != nil {
		return nil, err
	}
	names = slices.DeleteFunc(names, func(n string) bool { return !strings.HasPrefix(n, str(in.NamePrefix)) })
	pg, next, err := page(names, func(n string) string { return n }, in.Limit, in.NextToken)
	if err != nil {
		return nil, err
	}
	out := struct {
		EventBuses []eventBusOut `json:"EventBuses"`
		NextToken  *string       `json:"NextToken,omitempty"`
	}{EventBuses: []eventBusOut{}, NextToken: next}
	for _, n := range pg {
		info, err := s.env.Broker.Bus(n).Info(ctx)
		if errors.Is(err, courier.ErrNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, err
		}
		eb, err := s.describeBus(info)
		if err != nil {
			return nil, err
		}
		out.EventBuses = append(out.EventBuses, eb)
	}
	return out, nil
}

func (s *Service) updateEventBus(ctx context.Context, body []byte) (any, error) {
	var in struct {
		Name        string  `json:"Name"`
		Description *string `json:"Description"`
		busSettings
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := in.refuse(); err != nil {
		return nil, err
	}
	bus, err := s.busName("Name", in.Name)
	if err != nil {
		return nil, err
	}
	if in.Description != nil {
		if err := checkText("Description", *in.Description, 512); err != nil {
			return nil, err
		}
		if err := (courier.BusAttributes{Description: *in.Description}).Validate(); err != nil {
			return nil, validationf("%v", err)
		}
	}
	if err := s.env.Authorize(ctx, awsapi.Manage, "bus", bus); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	info, err := s.busInfo(ctx, bus)
	if err != nil {
		return nil, err
	}
	if in.Description != nil {
		m := busMeta{Description: in.Description, Modified: timeNow()}
		if err := s.env.Meta.Put(ctx, busKey+bus, m); err != nil {
			return nil, metaErr(err)
		}
	}
	eb, err := s.describeBus(info)
	if err != nil {
		return nil, err
	}
	return struct {
		Arn         string  `json:"Arn"`
		Name        string  `json:"Name"`
		Description *string `json:"Description,omitempty"`
	}{eb.Arn, eb.Name, eb.Description}, nil
}
