package server

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/driver"
	pb "github.com/courier-io/courier/internal/gen/courier/v1"
	"github.com/courier-io/courier/internal/gen/courier/v1/courierv1connect"
)

// grpcBuses implements courier.v1.BusService on the courier API, as the
// REST handlers of buses.go do.
type grpcBuses struct{ *grpcAPI }

var _ courierv1connect.BusServiceHandler = grpcBuses{}

// The enums of buses, by their courier values.
var (
	ruleStates = map[pb.RuleState]driver.RuleState{
		pb.RuleState_RULE_STATE_ENABLED:  driver.RuleEnabled,
		pb.RuleState_RULE_STATE_DISABLED: driver.RuleDisabled,
	}
	targetKinds = map[pb.TargetKind]driver.TargetKind{
		pb.TargetKind_TARGET_KIND_QUEUE:   driver.TargetQueue,
		pb.TargetKind_TARGET_KIND_TOPIC:   driver.TargetTopic,
		pb.TargetKind_TARGET_KIND_STREAM:  driver.TargetStream,
		pb.TargetKind_TARGET_KIND_BUS:     driver.TargetBus,
		pb.TargetKind_TARGET_KIND_HTTP:    driver.TargetHTTP,
		pb.TargetKind_TARGET_KIND_HANDLER: driver.TargetHandler,
	}
	replayStates = map[pb.ReplayState]driver.ReplayState{
		pb.ReplayState_REPLAY_STATE_RUNNING:   driver.ReplayRunning,
		pb.ReplayState_REPLAY_STATE_COMPLETED: driver.ReplayCompleted,
		pb.ReplayState_REPLAY_STATE_CANCELLED: driver.ReplayCancelled,
		pb.ReplayState_REPLAY_STATE_FAILED:    driver.ReplayFailed,
	}
)

// bus returns the bus named by the request's field after checking the
// name and that the caller may do one of actions on it.
func (g *grpcAPI) bus(ctx context.Context, field, name string, actions ...Action) (*courier.Bus, error) {
	if err := driver.ValidateBusName(field, name); err != nil {
		return nil, err
	}
	if err := g.allow(ctx, "bus", name, actions...); err != nil {
		return nil, err
	}
	return g.s.b.Bus(name), nil
}

// rawJSON returns JSON text as a json.RawMessage; empty text is none.
func rawJSON(s string) json.RawMessage {
	if s == "" {
		return nil
	}
	return json.RawMessage(s)
}

func busInfoPB(i driver.BusInfo) *pb.BusInfo {
	return &pb.BusInfo{
		Name: i.Name, Description: i.Attributes.Description, CreatedAt: timePB(i.CreatedAt),
		Stats: &pb.BusStats{Accepted: i.Stats.Accepted, Matched: i.Stats.Matched, Unmatched: i.Stats.Unmatched, Rules: int32(i.Stats.Rules), Archives: int32(i.Stats.Archives)},
	}
}

// eventsDriver converts the entries of a PutEvents after checking the
// batch against the server's limits.
func (g *grpcAPI) eventsDriver(es []*pb.Event) ([]driver.Event, error) {
	if err := g.batchSize("entries", len(es)); err != nil {
		return nil, err
	}
	err := g.s.checkBatch("entries", len(es), func(i int) int {
		n := len(es[i].GetDetail()) + len(es[i].GetSource()) + len(es[i].GetDetailType())
		for _, r := range es[i].GetResources() {
			n += len(r)
		}
		return n
	})
	if err != nil {
		return nil, err
	}
	out := make([]driver.Event, len(es))
	for i, e := range es {
		t, err := timeOf(fieldIndex("entries", i, "time"), e.GetTime())
		if err != nil {
			return nil, err
		}
		out[i] = driver.Event{
			ID: e.GetId(), Source: e.GetSource(), DetailType: e.GetDetailType(), Detail: rawJSON(e.GetDetail()),
			Resources: e.GetResources(), Time: t, Account: e.GetAccount(), Region: e.GetRegion(), Headers: e.GetHeaders(),
		}
	}
	return out, nil
}

// targetDriver converts a target; field names it in errors.
func targetDriver(field string, t *pb.Target) (driver.Target, error) {
	kind, err := enumOf(field+".kind", t.GetKind(), driver.TargetKind(""), targetKinds)
	if err != nil {
		return driver.Target{}, err
	}
	out := driver.Target{
		ID: t.GetId(), Kind: kind, Queue: t.GetQueue(), Topic: t.GetTopic(), Stream: t.GetStream(), Bus: t.GetBus(),
		PartitionKeyPath: t.GetPartitionKeyPath(), Input: rawJSON(t.GetInput()), InputPath: t.GetInputPath(),
		CloudEvents: t.GetCloudevents(), DeadLetterQueue: t.GetDeadLetterQueue(), MaxBacklog: int(t.GetMaxBacklog()),
	}
	if h := t.GetHttp(); h != nil {
		timeout, err := durationOf(field+".http.timeout", h.GetTimeout())
		if err != nil {
			return out, err
		}
		out.HTTP = &driver.HTTPTarget{
			Endpoint: h.GetEndpoint(), AuthHeader: h.GetAuthHeader(), AuthValue: h.GetAuthValue(), Headers: h.GetHeaders(),
			MaxPerSecond: int(h.GetMaxPerSecond()), Timeout: timeout, CloudEventsMode: h.GetCloudeventsMode(),
		}
	}
	if it := t.GetInputTransformer(); it != nil {
		out.InputTransformer = &driver.InputTransformer{InputPaths: it.GetInputPaths(), Template: it.GetTemplate()}
	}
	if r := t.GetRetry(); r != nil {
		out.Retry.MaxAttempts = int(r.GetMaxAttempts())
		if out.Retry.MaxAge, err = durationOf(field+".retry.max_age", r.GetMaxAge()); err != nil {
			return out, err
		}
		if out.Retry.MinDelay, err = durationOf(field+".retry.min_delay", r.GetMinDelay()); err != nil {
			return out, err
		}
		if out.Retry.MaxDelay, err = durationOf(field+".retry.max_delay", r.GetMaxDelay()); err != nil {
			return out, err
		}
	}
	return out, nil
}

// targetsDriver converts targets, refusing more than a rule may have
// before converting any.
func targetsDriver(field string, ts []*pb.Target) ([]driver.Target, error) {
	if len(ts) > driver.MaxTargetsPerRule {
		return nil, driver.TooLarge(field, "%d targets; the limit is %d", len(ts), driver.MaxTargetsPerRule)
	}
	out := make([]driver.Target, len(ts))
	for i, t := range ts {
		var err error
		if out[i], err = targetDriver(fieldIndex(field, i, ""), t); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func targetPB(t driver.Target) *pb.Target {
	out := &pb.Target{
		Id: t.ID, Kind: enumPB[pb.TargetKind](t.Kind, targetKinds), Queue: t.Queue, Topic: t.Topic, Stream: t.Stream, Bus: t.Bus,
		PartitionKeyPath: t.PartitionKeyPath, Input: string(t.Input), InputPath: t.InputPath, Cloudevents: t.CloudEvents,
		DeadLetterQueue: t.DeadLetterQueue, MaxBacklog: int64(t.MaxBacklog),
		Retry: &pb.RetryPolicy{
			MaxAttempts: int32(t.Retry.MaxAttempts), MaxAge: durationPB(t.Retry.MaxAge),
			MinDelay: durationPB(t.Retry.MinDelay), MaxDelay: durationPB(t.Retry.MaxDelay),
		},
	}
	if h := t.HTTP; h != nil {
		out.Http = &pb.HTTPTarget{
			Endpoint: h.Endpoint, AuthHeader: h.AuthHeader, AuthValue: h.AuthValue, Headers: h.Headers,
			MaxPerSecond: int32(h.MaxPerSecond), Timeout: durationPB(h.Timeout), CloudeventsMode: h.CloudEventsMode,
		}
	}
	if it := t.InputTransformer; it != nil {
		out.InputTransformer = &pb.InputTransformer{InputPaths: it.InputPaths, Template: it.Template}
	}
	return out
}

func ruleInfoPB(i driver.RuleInfo) *pb.RuleInfo {
	rule := &pb.Rule{Description: i.Description, Pattern: string(i.Pattern), Schedule: i.Schedule, State: enumPB[pb.RuleState](i.State, ruleStates)}
	for _, t := range i.Targets {
		rule.Targets = append(rule.Targets, targetPB(t))
	}
	stats := &pb.RuleStats{Matched: i.Stats.Matched}
	for _, t := range i.Stats.Targets {
		stats.Targets = append(stats.Targets, &pb.TargetStats{
			Id: t.ID, Delivered: t.Delivered, Retried: t.Retried, Failed: t.Failed, DeadLettered: t.DeadLettered,
			Overflowed: t.Overflowed, Backlog: queueStatsPB(t.Backlog),
		})
	}
	return &pb.RuleInfo{
		Bus: i.Bus, Name: i.Name, Rule: rule, CreatedAt: timePB(i.CreatedAt), UpdatedAt: timePB(i.UpdatedAt),
		NextFire: timePB(i.NextFire), Stats: stats,
	}
}

func archiveInfoPB(i driver.ArchiveInfo) *pb.ArchiveInfo {
	return &pb.ArchiveInfo{
		Bus: i.Bus, Name: i.Name, CreatedAt: timePB(i.CreatedAt), Events: i.Events, Bytes: i.Bytes,
		Archive: &pb.Archive{Description: i.Description, Pattern: string(i.Pattern), Retention: durationPB(i.Retention)},
	}
}

func replayInfoPB(i driver.ReplayInfo) *pb.ReplayInfo {
	return &pb.ReplayInfo{
		Name: i.Name, State: enumPB[pb.ReplayState](i.State, replayStates), Replayed: i.Replayed,
		LastEvent: timePB(i.LastEvent), StartedAt: timePB(i.StartedAt), EndedAt: timePB(i.EndedAt), Error: i.Error,
		Replay: &pb.Replay{
			Bus: i.Bus, Archive: i.Archive, Start: timePB(i.Start), End: timePB(i.End), Rules: i.Rules, Description: i.Description,
		},
	}
}

func (g grpcBuses) CreateBus(ctx context.Context, req *pb.CreateBusRequest) (*pb.CreateBusResponse, error) {
	bus, err := g.bus(ctx, "name", req.GetName(), ActionManage)
	if err != nil {
		return nil, err
	}
	attrs := driver.BusAttributes{Description: req.GetDescription()}
	_, err = bus.Info(ctx)
	existed := err == nil
	if _, err := g.s.b.CreateBus(ctx, bus.Name(), attrs); err != nil {
		return nil, err
	}
	info, err := bus.Info(ctx)
	if err != nil {
		return nil, err
	}
	return &pb.CreateBusResponse{Bus: busInfoPB(info), Created: !existed}, nil
}

func (g grpcBuses) GetBus(ctx context.Context, req *pb.GetBusRequest) (*pb.GetBusResponse, error) {
	bus, err := g.bus(ctx, "name", req.GetName(), describe...)
	if err != nil {
		return nil, err
	}
	info, err := bus.Info(ctx)
	if err != nil {
		return nil, err
	}
	return &pb.GetBusResponse{Bus: busInfoPB(info)}, nil
}

func (g grpcBuses) ListBuses(ctx context.Context, _ *pb.ListBusesRequest) (*pb.ListBusesResponse, error) {
	if err := g.allow(ctx, "bus", "*", describe...); err != nil {
		return nil, err
	}
	names, err := g.s.b.ListBuses(ctx)
	if err != nil {
		return nil, err
	}
	return &pb.ListBusesResponse{Names: names}, nil
}

func (g grpcBuses) DeleteBus(ctx context.Context, req *pb.DeleteBusRequest) (*pb.DeleteBusResponse, error) {
	bus, err := g.bus(ctx, "name", req.GetName(), ActionManage)
	if err != nil {
		return nil, err
	}
	if err := bus.Delete(ctx); err != nil {
		return nil, err
	}
	return &pb.DeleteBusResponse{}, nil
}

func (g grpcBuses) PutEvents(ctx context.Context, req *pb.PutEventsRequest) (*pb.PutEventsResponse, error) {
	bus, err := g.bus(ctx, "bus", req.GetBus(), ActionPublish)
	if err != nil {
		return nil, err
	}
	events, err := g.eventsDriver(req.GetEntries())
	if err != nil {
		return nil, err
	}
	res, err := bus.PutEvents(ctx, events...)
	if err != nil {
		return nil, err
	}
	if len(res) != len(events) {
		return nil, fmt.Errorf("the backend answered %d results for %d events", len(res), len(events))
	}
	out := &pb.PutEventsResponse{Entries: make([]*pb.PutEventsResult, len(res))}
	for i, r := range res {
		out.Entries[i] = &pb.PutEventsResult{Id: r.ID, Error: errorPB(r.Err)}
		if r.Err != nil {
			out.Entries[i].Id = ""
			out.FailedEntryCount++
		}
	}
	return out, nil
}

func (g grpcBuses) TestPattern(ctx context.Context, req *pb.TestPatternRequest) (*pb.TestPatternResponse, error) {
	bus, err := g.bus(ctx, "bus", req.GetBus(), describe...)
	if err != nil {
		return nil, err
	}
	if req.GetPattern() == "" {
		return nil, driver.Invalid("pattern", "required: a JSON object")
	}
	if req.GetEvent() == "" {
		return nil, driver.Invalid("event", "required: a JSON object")
	}
	if _, err := bus.Info(ctx); err != nil {
		return nil, err
	}
	match, err := courier.TestPattern([]byte(req.GetPattern()), []byte(req.GetEvent()))
	if err != nil {
		return nil, err
	}
	return &pb.TestPatternResponse{Match: match}, nil
}

// rule returns the bus and rule named by the request.
func (g *grpcAPI) rule(ctx context.Context, bus, ruleField, name string, actions ...Action) (*courier.Bus, error) {
	b, err := g.bus(ctx, "bus", bus, actions...)
	if err != nil {
		return nil, err
	}
	return b, driver.ValidateRuleName(ruleField, name)
}

func (g grpcBuses) PutRule(ctx context.Context, req *pb.PutRuleRequest) (*pb.PutRuleResponse, error) {
	bus, err := g.rule(ctx, req.GetBus(), "name", req.GetName(), ActionManage)
	if err != nil {
		return nil, err
	}
	in := req.GetRule()
	if in == nil {
		return nil, driver.Invalid("rule", "required: the rule's pattern or schedule and its targets")
	}
	state, err := enumOf("rule.state", in.GetState(), driver.RuleState(""), ruleStates)
	if err != nil {
		return nil, err
	}
	targets, err := targetsDriver("rule.targets", in.GetTargets())
	if err != nil {
		return nil, err
	}
	rule := driver.Rule{Description: in.GetDescription(), Pattern: rawJSON(in.GetPattern()), Schedule: in.GetSchedule(), State: state, Targets: targets}
	if err := g.s.authorizeDestinations(ctx, targetDestinations(rule.Targets)...); err != nil {
		return nil, err
	}
	_, err = bus.Rule(ctx, req.GetName())
	existed := err == nil
	info, err := bus.PutRule(ctx, req.GetName(), rule)
	if err != nil {
		return nil, err
	}
	return &pb.PutRuleResponse{Rule: ruleInfoPB(info), Created: !existed}, nil
}

func (g grpcBuses) GetRule(ctx context.Context, req *pb.GetRuleRequest) (*pb.GetRuleResponse, error) {
	bus, err := g.rule(ctx, req.GetBus(), "name", req.GetName(), describe...)
	if err != nil {
		return nil, err
	}
	info, err := bus.Rule(ctx, req.GetName())
	if err != nil {
		return nil, err
	}
	return &pb.GetRuleResponse{Rule: ruleInfoPB(info)}, nil
}

func (g grpcBuses) ListRules(ctx context.Context, req *pb.ListRulesRequest) (*pb.ListRulesResponse, error) {
	bus, err := g.bus(ctx, "bus", req.GetBus(), describe...)
	if err != nil {
		return nil, err
	}
	rules, err := bus.Rules(ctx)
	if err != nil {
		return nil, err
	}
	out := &pb.ListRulesResponse{Rules: make([]*pb.RuleInfo, len(rules))}
	for i, r := range rules {
		out.Rules[i] = ruleInfoPB(r)
	}
	return out, nil
}

func (g grpcBuses) DeleteRule(ctx context.Context, req *pb.DeleteRuleRequest) (*pb.DeleteRuleResponse, error) {
	bus, err := g.rule(ctx, req.GetBus(), "name", req.GetName(), ActionManage)
	if err != nil {
		return nil, err
	}
	if err := bus.DeleteRule(ctx, req.GetName()); err != nil {
		return nil, err
	}
	return &pb.DeleteRuleResponse{}, nil
}

func (g grpcBuses) PutTargets(ctx context.Context, req *pb.PutTargetsRequest) (*pb.PutTargetsResponse, error) {
	bus, err := g.rule(ctx, req.GetBus(), "rule", req.GetRule(), ActionManage)
	if err != nil {
		return nil, err
	}
	if len(req.GetTargets()) == 0 {
		return nil, driver.Invalid("targets", "must be a non-empty list of targets")
	}
	targets, err := targetsDriver("targets", req.GetTargets())
	if err != nil {
		return nil, err
	}
	if err := g.s.authorizeDestinations(ctx, targetDestinations(targets)...); err != nil {
		return nil, err
	}
	info, err := bus.PutTargets(ctx, req.GetRule(), targets...)
	if err != nil {
		return nil, err
	}
	return &pb.PutTargetsResponse{Rule: ruleInfoPB(info)}, nil
}

func (g grpcBuses) RemoveTargets(ctx context.Context, req *pb.RemoveTargetsRequest) (*pb.RemoveTargetsResponse, error) {
	bus, err := g.rule(ctx, req.GetBus(), "rule", req.GetRule(), ActionManage)
	if err != nil {
		return nil, err
	}
	switch ids := req.GetIds(); {
	case len(ids) == 0:
		return nil, driver.Invalid("ids", "required: the IDs of the targets to remove")
	case len(ids) > driver.MaxTargetsPerRule:
		return nil, driver.TooLarge("ids", "%d targets; a rule has at most %d", len(ids), driver.MaxTargetsPerRule)
	}
	info, err := bus.RemoveTargets(ctx, req.GetRule(), req.GetIds()...)
	if err != nil {
		return nil, err
	}
	return &pb.RemoveTargetsResponse{Rule: ruleInfoPB(info)}, nil
}

// archive returns the bus of the archive the request names.
func (g *grpcAPI) archive(ctx context.Context, bus, name string, actions ...Action) (*courier.Bus, error) {
	b, err := g.bus(ctx, "bus", bus, actions...)
	if err != nil {
		return nil, err
	}
	return b, driver.ValidateArchiveName("name", name)
}

func (g grpcBuses) CreateArchive(ctx context.Context, req *pb.CreateArchiveRequest) (*pb.CreateArchiveResponse, error) {
	bus, err := g.archive(ctx, req.GetBus(), req.GetName(), ActionManage)
	if err != nil {
		return nil, err
	}
	retention, err := durationOf("archive.retention", req.GetArchive().GetRetention())
	if err != nil {
		return nil, err
	}
	a := driver.Archive{Description: req.GetArchive().GetDescription(), Pattern: rawJSON(req.GetArchive().GetPattern()), Retention: retention}
	_, err = bus.ArchiveInfo(ctx, req.GetName())
	existed := err == nil
	info, err := bus.Archive(ctx, req.GetName(), a)
	if err != nil {
		return nil, err
	}
	return &pb.CreateArchiveResponse{Archive: archiveInfoPB(info), Created: !existed}, nil
}

func (g grpcBuses) GetArchive(ctx context.Context, req *pb.GetArchiveRequest) (*pb.GetArchiveResponse, error) {
	bus, err := g.archive(ctx, req.GetBus(), req.GetName(), describe...)
	if err != nil {
		return nil, err
	}
	info, err := bus.ArchiveInfo(ctx, req.GetName())
	if err != nil {
		return nil, err
	}
	return &pb.GetArchiveResponse{Archive: archiveInfoPB(info)}, nil
}

func (g grpcBuses) ListArchives(ctx context.Context, req *pb.ListArchivesRequest) (*pb.ListArchivesResponse, error) {
	bus, err := g.bus(ctx, "bus", req.GetBus(), describe...)
	if err != nil {
		return nil, err
	}
	archives, err := bus.Archives(ctx)
	if err != nil {
		return nil, err
	}
	out := &pb.ListArchivesResponse{Archives: make([]*pb.ArchiveInfo, len(archives))}
	for i, a := range archives {
		out.Archives[i] = archiveInfoPB(a)
	}
	return out, nil
}

func (g grpcBuses) DeleteArchive(ctx context.Context, req *pb.DeleteArchiveRequest) (*pb.DeleteArchiveResponse, error) {
	bus, err := g.archive(ctx, req.GetBus(), req.GetName(), ActionManage)
	if err != nil {
		return nil, err
	}
	if err := bus.DeleteArchive(ctx, req.GetName()); err != nil {
		return nil, err
	}
	return &pb.DeleteArchiveResponse{}, nil
}

// Replays are global objects: like their REST routes, they need manage on
// every bus.
func (g *grpcAPI) replays(ctx context.Context) error { return g.allow(ctx, "bus", "*", ActionManage) }

func (g grpcBuses) StartReplay(ctx context.Context, req *pb.StartReplayRequest) (*pb.StartReplayResponse, error) {
	if err := g.replays(ctx); err != nil {
		return nil, err
	}
	if err := driver.ValidateReplayName("name", req.GetName()); err != nil {
		return nil, err
	}
	in := req.GetReplay()
	if len(in.GetRules()) > driver.MaxReplayRules {
		return nil, driver.TooLarge("replay.rules", "%d rules; the limit is %d", len(in.GetRules()), driver.MaxReplayRules)
	}
	start, err := timeOf("replay.start", in.GetStart())
	if err != nil {
		return nil, err
	}
	end, err := timeOf("replay.end", in.GetEnd())
	if err != nil {
		return nil, err
	}
	rp := driver.Replay{Bus: in.GetBus(), Archive: in.GetArchive(), Start: start, End: end, Rules: in.GetRules(), Description: in.GetDescription()}
	info, err := g.s.b.StartReplay(ctx, req.GetName(), rp)
	if err != nil {
		return nil, err
	}
	return &pb.StartReplayResponse{Replay: replayInfoPB(info)}, nil
}

func (g grpcBuses) GetReplay(ctx context.Context, req *pb.GetReplayRequest) (*pb.GetReplayResponse, error) {
	if err := g.replays(ctx); err != nil {
		return nil, err
	}
	if err := driver.ValidateReplayName("name", req.GetName()); err != nil {
		return nil, err
	}
	info, err := g.s.b.ReplayInfo(ctx, req.GetName())
	if err != nil {
		return nil, err
	}
	return &pb.GetReplayResponse{Replay: replayInfoPB(info)}, nil
}

func (g grpcBuses) ListReplays(ctx context.Context, _ *pb.ListReplaysRequest) (*pb.ListReplaysResponse, error) {
	if err := g.replays(ctx); err != nil {
		return nil, err
	}
	replays, err := g.s.b.Replays(ctx)
	if err != nil {
		return nil, err
	}
	out := &pb.ListReplaysResponse{Replays: make([]*pb.ReplayInfo, len(replays))}
	for i, r := range replays {
		out.Replays[i] = replayInfoPB(r)
	}
	return out, nil
}

func (g grpcBuses) CancelReplay(ctx context.Context, req *pb.CancelReplayRequest) (*pb.CancelReplayResponse, error) {
	if err := g.replays(ctx); err != nil {
		return nil, err
	}
	if err := driver.ValidateReplayName("name", req.GetName()); err != nil {
		return nil, err
	}
	info, err := g.s.b.CancelReplay(ctx, req.GetName())
	if err != nil {
		return nil, err
	}
	return &pb.CancelReplayResponse{Replay: replayInfoPB(info)}, nil
}
