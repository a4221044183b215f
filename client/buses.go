package client

import (
	"context"
	"fmt"

	"github.com/courier-io/courier/driver"
	pb "github.com/courier-io/courier/internal/gen/courier/v1"
	"github.com/courier-io/courier/internal/httpapi"
	"github.com/courier-io/courier/internal/pbconv"
)

// CreateBus implements driver.Buses.
func (c *Conn) CreateBus(ctx context.Context, name string, attrs driver.BusAttributes) (driver.BusInfo, error) {
	res, err := call(ctx, c.buses.CreateBus, &pb.CreateBusRequest{Name: name, Description: attrs.Description})
	if err != nil {
		return driver.BusInfo{}, err
	}
	return pbconv.BusInfo(res.GetBus()), nil
}

// BusInfo implements driver.Buses.
func (c *Conn) BusInfo(ctx context.Context, name string) (driver.BusInfo, error) {
	res, err := call(ctx, c.buses.GetBus, &pb.GetBusRequest{Name: name})
	if err != nil {
		return driver.BusInfo{}, err
	}
	return pbconv.BusInfo(res.GetBus()), nil
}

// ListBuses implements driver.Buses.
func (c *Conn) ListBuses(ctx context.Context) ([]string, error) {
	res, err := call(ctx, c.buses.ListBuses, &pb.ListBusesRequest{})
	if err != nil {
		return nil, err
	}
	return nonNilNames(res.GetNames()), nil
}

// DeleteBus implements driver.Buses.
func (c *Conn) DeleteBus(ctx context.Context, name string) error {
	_, err := call(ctx, c.buses.DeleteBus, &pb.DeleteBusRequest{Name: name})
	return err
}

// PutEvents implements driver.Buses. Each event is first checked here as
// the server checks it, so that one the protobuf encoding cannot carry (a
// field that is not UTF-8) fails alone with the error the server would
// give; the others are sent in one call. Per-event errors match the
// courier sentinels and name the event's place in events
// ("entries[3].detail").
func (c *Conn) PutEvents(ctx context.Context, bus string, events []driver.Event) ([]driver.PutEventsResult, error) {
	if err := driver.ValidateEvents(events); err != nil {
		return nil, err
	}
	res := make([]driver.PutEventsResult, len(events))
	send := make([]driver.Event, 0, len(events))
	at := make([]int, 0, len(events))
	for i := range events {
		if err := events[i].Validate(fmt.Sprintf("entries[%d]", i)); err != nil {
			res[i].Err = err
			continue
		}
		send = append(send, events[i])
		at = append(at, i)
	}
	if len(send) == 0 {
		// Nothing to send; a missing bus still fails the call, as on the
		// server.
		if _, err := c.BusInfo(ctx, bus); err != nil {
			return nil, err
		}
		return res, nil
	}
	answer, err := call(ctx, c.buses.PutEvents, &pb.PutEventsRequest{Bus: bus, Entries: pbconv.EventsPB(send)})
	if err != nil {
		return nil, err
	}
	got, err := pbconv.PutEventsResults(answer.GetEntries(), len(send))
	if err != nil {
		return nil, err
	}
	for j, g := range got {
		res[at[j]] = driver.PutEventsResult{ID: g.ID, Err: httpapi.RenumberEntry(g.Err, j, at[j])}
	}
	return res, nil
}

// PutRule implements driver.Buses.
func (c *Conn) PutRule(ctx context.Context, bus, name string, rule driver.Rule) (driver.RuleInfo, error) {
	res, err := call(ctx, c.buses.PutRule, &pb.PutRuleRequest{Bus: bus, Name: name, Rule: pbconv.RulePB(rule)})
	if err != nil {
		return driver.RuleInfo{}, err
	}
	return pbconv.RuleInfo(res.GetRule())
}

// PutTargets implements driver.Buses.
func (c *Conn) PutTargets(ctx context.Context, bus, rule string, targets []driver.Target) (driver.RuleInfo, error) {
	res, err := call(ctx, c.buses.PutTargets, &pb.PutTargetsRequest{Bus: bus, Rule: rule, Targets: pbconv.TargetsPB(targets)})
	if err != nil {
		return driver.RuleInfo{}, err
	}
	return pbconv.RuleInfo(res.GetRule())
}

// RemoveTargets implements driver.Buses.
func (c *Conn) RemoveTargets(ctx context.Context, bus, rule string, ids []string) (driver.RuleInfo, error) {
	res, err := call(ctx, c.buses.RemoveTargets, &pb.RemoveTargetsRequest{Bus: bus, Rule: rule, Ids: ids})
	if err != nil {
		return driver.RuleInfo{}, err
	}
	return pbconv.RuleInfo(res.GetRule())
}

// RuleInfo implements driver.Buses.
func (c *Conn) RuleInfo(ctx context.Context, bus, name string) (driver.RuleInfo, error) {
	res, err := call(ctx, c.buses.GetRule, &pb.GetRuleRequest{Bus: bus, Name: name})
	if err != nil {
		return driver.RuleInfo{}, err
	}
	return pbconv.RuleInfo(res.GetRule())
}

// ListRules implements driver.Buses.
func (c *Conn) ListRules(ctx context.Context, bus string) ([]driver.RuleInfo, error) {
	res, err := call(ctx, c.buses.ListRules, &pb.ListRulesRequest{Bus: bus})
	if err != nil {
		return nil, err
	}
	out := make([]driver.RuleInfo, len(res.GetRules()))
	for i, r := range res.GetRules() {
		if out[i], err = pbconv.RuleInfo(r); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// DeleteRule implements driver.Buses.
func (c *Conn) DeleteRule(ctx context.Context, bus, name string) error {
	_, err := call(ctx, c.buses.DeleteRule, &pb.DeleteRuleRequest{Bus: bus, Name: name})
	return err
}

// ReceiveTarget implements driver.Buses.
func (c *Conn) ReceiveTarget(ctx context.Context, bus, rule, target string, req driver.ReceiveRequest) ([]driver.Delivery, error) {
	rr := &pb.ReceiveTargetRequest{
		Bus: bus, Rule: rule, Target: target, Max: int32(req.Max), Wait: durationPtrPB(waitPB(req.Wait)), Visibility: visibilityPB(req.Visibility),
	}
	res, err := call(ctx, c.buses.ReceiveTarget, rr)
	if err != nil {
		return nil, err
	}
	return pbconv.Deliveries(res.GetDeliveries()), nil
}

// SettleTarget implements driver.Buses.
func (c *Conn) SettleTarget(ctx context.Context, bus, rule, target, receipt, failure string) error {
	_, err := call(ctx, c.buses.SettleTarget, &pb.SettleTargetRequest{Bus: bus, Rule: rule, Target: target, Receipt: receipt, Failure: failure})
	return err
}

// CreateArchive implements driver.Buses.
func (c *Conn) CreateArchive(ctx context.Context, bus, name string, a driver.Archive) (driver.ArchiveInfo, error) {
	res, err := call(ctx, c.buses.CreateArchive, &pb.CreateArchiveRequest{Bus: bus, Name: name, Archive: pbconv.ArchivePB(a)})
	if err != nil {
		return driver.ArchiveInfo{}, err
	}
	return pbconv.ArchiveInfo(res.GetArchive()), nil
}

// ArchiveInfo implements driver.Buses.
func (c *Conn) ArchiveInfo(ctx context.Context, bus, name string) (driver.ArchiveInfo, error) {
	res, err := call(ctx, c.buses.GetArchive, &pb.GetArchiveRequest{Bus: bus, Name: name})
	if err != nil {
		return driver.ArchiveInfo{}, err
	}
	return pbconv.ArchiveInfo(res.GetArchive()), nil
}

// ListArchives implements driver.Buses.
func (c *Conn) ListArchives(ctx context.Context, bus string) ([]driver.ArchiveInfo, error) {
	res, err := call(ctx, c.buses.ListArchives, &pb.ListArchivesRequest{Bus: bus})
	if err != nil {
		return nil, err
	}
	out := make([]driver.ArchiveInfo, len(res.GetArchives()))
	for i, a := range res.GetArchives() {
		out[i] = pbconv.ArchiveInfo(a)
	}
	return out, nil
}

// DeleteArchive implements driver.Buses.
func (c *Conn) DeleteArchive(ctx context.Context, bus, name string) error {
	_, err := call(ctx, c.buses.DeleteArchive, &pb.DeleteArchiveRequest{Bus: bus, Name: name})
	return err
}

// StartReplay implements driver.Buses.
func (c *Conn) StartReplay(ctx context.Context, name string, r driver.Replay) (driver.ReplayInfo, error) {
	res, err := call(ctx, c.buses.StartReplay, &pb.StartReplayRequest{Name: name, Replay: pbconv.ReplayPB(r)})
	if err != nil {
		return driver.ReplayInfo{}, err
	}
	return pbconv.ReplayInfo(res.GetReplay())
}

// ReplayInfo implements driver.Buses.
func (c *Conn) ReplayInfo(ctx context.Context, name string) (driver.ReplayInfo, error) {
	res, err := call(ctx, c.buses.GetReplay, &pb.GetReplayRequest{Name: name})
	if err != nil {
		return driver.ReplayInfo{}, err
	}
	return pbconv.ReplayInfo(res.GetReplay())
}

// ListReplays implements driver.Buses.
func (c *Conn) ListReplays(ctx context.Context) ([]driver.ReplayInfo, error) {
	res, err := call(ctx, c.buses.ListReplays, &pb.ListReplaysRequest{})
	if err != nil {
		return nil, err
	}
	out := make([]driver.ReplayInfo, len(res.GetReplays()))
	for i, r := range res.GetReplays() {
		if out[i], err = pbconv.ReplayInfo(r); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// CancelReplay implements driver.Buses.
func (c *Conn) CancelReplay(ctx context.Context, name string) (driver.ReplayInfo, error) {
	res, err := call(ctx, c.buses.CancelReplay, &pb.CancelReplayRequest{Name: name})
	if err != nil {
		return driver.ReplayInfo{}, err
	}
	return pbconv.ReplayInfo(res.GetReplay())
}
