package server

import (
	"context"
	"fmt"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/driver"
	pb "github.com/courier-io/courier/internal/gen/courier/v1"
	"github.com/courier-io/courier/internal/gen/courier/v1/courierv1connect"
	"github.com/courier-io/courier/internal/pbconv"
)

// grpcBuses implements courier.v1.BusService on the courier API, as the
// REST handlers of buses.go do.
type grpcBuses struct{ *grpcAPI }

var _ courierv1connect.BusServiceHandler = grpcBuses{}

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
		t, err := pbconv.Time(pbconv.FieldIndex("entries", i, "time"), e.GetTime())
		if err != nil {
			return nil, err
		}
		out[i] = driver.Event{
			ID: e.GetId(), Source: e.GetSource(), DetailType: e.GetDetailType(), Detail: pbconv.RawJSON(e.GetDetail()),
			Resources: e.GetResources(), Time: t, Account: e.GetAccount(), Region: e.GetRegion(), Headers: e.GetHeaders(),
		}
	}
	return out, nil
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
	return &pb.CreateBusResponse{Bus: pbconv.BusInfoPB(info), Created: !existed}, nil
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
	return &pb.GetBusResponse{Bus: pbconv.BusInfoPB(info)}, nil
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
		out.Entries[i] = &pb.PutEventsResult{Id: r.ID, Error: pbconv.ErrorPB(r.Err)}
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
	state, err := pbconv.EnumOf("rule.state", in.GetState(), driver.RuleState(""), pbconv.RuleStates)
	if err != nil {
		return nil, err
	}
	targets, err := pbconv.Targets("rule.targets", in.GetTargets())
	if err != nil {
		return nil, err
	}
	rule := driver.Rule{Description: in.GetDescription(), Pattern: pbconv.RawJSON(in.GetPattern()), Schedule: in.GetSchedule(), State: state, Targets: targets}
	if err := g.s.authorizeDestinations(ctx, targetDestinations(rule.Targets)...); err != nil {
		return nil, err
	}
	_, err = bus.Rule(ctx, req.GetName())
	existed := err == nil
	info, err := bus.PutRule(ctx, req.GetName(), rule)
	if err != nil {
		return nil, err
	}
	return &pb.PutRuleResponse{Rule: pbconv.RuleInfoPB(info), Created: !existed}, nil
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
	return &pb.GetRuleResponse{Rule: pbconv.RuleInfoPB(info)}, nil
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
		out.Rules[i] = pbconv.RuleInfoPB(r)
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
	targets, err := pbconv.Targets("targets", req.GetTargets())
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
	return &pb.PutTargetsResponse{Rule: pbconv.RuleInfoPB(info)}, nil
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
	return &pb.RemoveTargetsResponse{Rule: pbconv.RuleInfoPB(info)}, nil
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
	retention, err := pbconv.Duration("archive.retention", req.GetArchive().GetRetention())
	if err != nil {
		return nil, err
	}
	a := driver.Archive{Description: req.GetArchive().GetDescription(), Pattern: pbconv.RawJSON(req.GetArchive().GetPattern()), Retention: retention}
	_, err = bus.ArchiveInfo(ctx, req.GetName())
	existed := err == nil
	info, err := bus.Archive(ctx, req.GetName(), a)
	if err != nil {
		return nil, err
	}
	return &pb.CreateArchiveResponse{Archive: pbconv.ArchiveInfoPB(info), Created: !existed}, nil
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
	return &pb.GetArchiveResponse{Archive: pbconv.ArchiveInfoPB(info)}, nil
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
		out.Archives[i] = pbconv.ArchiveInfoPB(a)
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
	start, err := pbconv.Time("replay.start", in.GetStart())
	if err != nil {
		return nil, err
	}
	end, err := pbconv.Time("replay.end", in.GetEnd())
	if err != nil {
		return nil, err
	}
	rp := driver.Replay{Bus: in.GetBus(), Archive: in.GetArchive(), Start: start, End: end, Rules: in.GetRules(), Description: in.GetDescription()}
	info, err := g.s.b.StartReplay(ctx, req.GetName(), rp)
	if err != nil {
		return nil, err
	}
	return &pb.StartReplayResponse{Replay: pbconv.ReplayInfoPB(info)}, nil
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
	return &pb.GetReplayResponse{Replay: pbconv.ReplayInfoPB(info)}, nil
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
		out.Replays[i] = pbconv.ReplayInfoPB(r)
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
	return &pb.CancelReplayResponse{Replay: pbconv.ReplayInfoPB(info)}, nil
}
