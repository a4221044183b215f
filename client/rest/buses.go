package rest

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/courier-io/courier/driver"
	"github.com/courier-io/courier/internal/httpapi"
)

var _ driver.Buses = (*Conn)(nil)

func busPath(name, suffix string) string {
	return "/v1/buses/" + url.PathEscape(name) + suffix
}

func rulePath(bus, rule, suffix string) string {
	return busPath(bus, "/rules/"+url.PathEscape(rule)+suffix)
}

func targetPath(bus, rule, target, suffix string) string {
	return rulePath(bus, rule, "/targets/"+url.PathEscape(target)+suffix)
}

func archivePath(bus, archive string) string {
	return busPath(bus, "/archives/"+url.PathEscape(archive))
}

func replayPath(name, suffix string) string {
	return "/v1/replays/" + url.PathEscape(name) + suffix
}

// CreateBus creates a bus, or finds it with an equal description.
func (c *Conn) CreateBus(ctx context.Context, name string, attrs driver.BusAttributes) (driver.BusInfo, error) {
	var info httpapi.BusInfo
	err := c.do(ctx, http.MethodPut, busPath(name, ""), attrs, &info)
	return info.Info(), err
}

// BusInfo returns a bus's description and counters.
func (c *Conn) BusInfo(ctx context.Context, name string) (driver.BusInfo, error) {
	var info httpapi.BusInfo
	err := c.do(ctx, http.MethodGet, busPath(name, ""), nil, &info)
	return info.Info(), err
}

// ListBuses returns the bus names.
func (c *Conn) ListBuses(ctx context.Context) ([]string, error) {
	var list httpapi.BusList
	err := c.do(ctx, http.MethodGet, "/v1/buses", nil, &list)
	return list.Buses, err
}

// DeleteBus deletes a bus with its rules and archives.
func (c *Conn) DeleteBus(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, busPath(name, ""), nil, nil)
}

// PutEvents puts a batch of events. Each event is first checked here as
// the server checks it, so that one the JSON body cannot carry (a detail
// that is not JSON) fails alone with the error the server would give; the
// others are sent in one request. Per-event errors match the courier
// sentinels (errors.Is(res[i].Err, courier.ErrInvalid)) and name the
// event's place in events ("entries[3].detail").
func (c *Conn) PutEvents(ctx context.Context, bus string, events []driver.Event) ([]driver.PutEventsResult, error) {
	if err := driver.ValidateEvents(events); err != nil {
		return nil, err
	}
	res := make([]driver.PutEventsResult, len(events))
	req := httpapi.PutEventsRequest{Entries: make([]httpapi.Event, 0, len(events))}
	at := make([]int, 0, len(events))
	for i := range events {
		if err := events[i].Validate(fmt.Sprintf("entries[%d]", i)); err != nil {
			res[i].Err = err
			continue
		}
		req.Entries = append(req.Entries, httpapi.EventJSON(events[i]))
		at = append(at, i)
	}
	if len(at) == 0 {
		// Nothing to send; a missing bus still fails the call, as on the
		// server.
		if _, err := c.BusInfo(ctx, bus); err != nil {
			return nil, err
		}
		return res, nil
	}
	var resp httpapi.PutEventsResponse
	if err := c.do(ctx, http.MethodPost, busPath(bus, "/events"), req, &resp); err != nil {
		return nil, err
	}
	got, err := resp.Driver(len(at))
	if err != nil {
		return nil, err
	}
	for j, g := range got {
		res[at[j]] = driver.PutEventsResult{ID: g.ID, Err: httpapi.RenumberEntry(g.Err, j, at[j])}
	}
	return res, nil
}

// ruleCall makes a request that answers a rule.
func (c *Conn) ruleCall(ctx context.Context, method, path string, in any) (driver.RuleInfo, error) {
	var info httpapi.RuleInfo
	if err := c.do(ctx, method, path, in, &info); err != nil {
		return driver.RuleInfo{}, err
	}
	return info.Info()
}

// PutRule creates or replaces a rule with its targets.
func (c *Conn) PutRule(ctx context.Context, bus, name string, rule driver.Rule) (driver.RuleInfo, error) {
	return c.ruleCall(ctx, http.MethodPut, rulePath(bus, name, ""), httpapi.RuleJSON(rule))
}

// PutTargets adds targets to a rule or replaces those with equal IDs.
func (c *Conn) PutTargets(ctx context.Context, bus, rule string, targets []driver.Target) (driver.RuleInfo, error) {
	return c.ruleCall(ctx, http.MethodPut, rulePath(bus, rule, "/targets"), httpapi.TargetsRequest{Targets: httpapi.TargetsJSON(targets)})
}

// RemoveTargets removes targets by ID, all in one request.
func (c *Conn) RemoveTargets(ctx context.Context, bus, rule string, ids []string) (driver.RuleInfo, error) {
	switch len(ids) {
	case 0:
		return driver.RuleInfo{}, driver.Invalid("ids", "no target ids given")
	case 1:
		return c.ruleCall(ctx, http.MethodDelete, targetPath(bus, rule, ids[0], ""), nil)
	}
	return c.ruleCall(ctx, http.MethodDelete, rulePath(bus, rule, "/targets?"+url.Values{"id": ids}.Encode()), nil)
}

// RuleInfo returns a rule.
func (c *Conn) RuleInfo(ctx context.Context, bus, name string) (driver.RuleInfo, error) {
	return c.ruleCall(ctx, http.MethodGet, rulePath(bus, name, ""), nil)
}

// ListRules returns a bus's rules by name.
func (c *Conn) ListRules(ctx context.Context, bus string) ([]driver.RuleInfo, error) {
	var list httpapi.RuleList
	if err := c.do(ctx, http.MethodGet, busPath(bus, "/rules"), nil, &list); err != nil {
		return nil, err
	}
	out := make([]driver.RuleInfo, len(list.Rules))
	for i, r := range list.Rules {
		var err error
		if out[i], err = r.Info(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// DeleteRule deletes a rule and its pending deliveries.
func (c *Conn) DeleteRule(ctx context.Context, bus, name string) error {
	return c.do(ctx, http.MethodDelete, rulePath(bus, name, ""), nil, nil)
}

// ReceiveTarget reads the deliveries of a handler target, as a queue
// receive.
func (c *Conn) ReceiveTarget(ctx context.Context, bus, rule, target string, req driver.ReceiveRequest) ([]driver.Delivery, error) {
	return c.receiveFrom(ctx, targetPath(bus, rule, target, "/receive"), req)
}

// SettleTarget acks a delivery of a handler target (empty failure) or
// fails it.
func (c *Conn) SettleTarget(ctx context.Context, bus, rule, target, receipt, failure string) error {
	return c.do(ctx, http.MethodPost, targetPath(bus, rule, target, "/settle"), httpapi.SettleTargetRequest{Receipt: receipt, Failure: failure}, nil)
}

// archiveCall makes a request that answers an archive.
func (c *Conn) archiveCall(ctx context.Context, method, path string, in any) (driver.ArchiveInfo, error) {
	var info httpapi.ArchiveInfo
	if err := c.do(ctx, method, path, in, &info); err != nil {
		return driver.ArchiveInfo{}, err
	}
	return info.Info()
}

// CreateArchive creates an archive of a bus, or finds it with equal
// settings.
func (c *Conn) CreateArchive(ctx context.Context, bus, name string, a driver.Archive) (driver.ArchiveInfo, error) {
	return c.archiveCall(ctx, http.MethodPut, archivePath(bus, name), httpapi.ArchiveJSON(a))
}

// ArchiveInfo returns an archive.
func (c *Conn) ArchiveInfo(ctx context.Context, bus, name string) (driver.ArchiveInfo, error) {
	return c.archiveCall(ctx, http.MethodGet, archivePath(bus, name), nil)
}

// ListArchives returns a bus's archives by name.
func (c *Conn) ListArchives(ctx context.Context, bus string) ([]driver.ArchiveInfo, error) {
	var list httpapi.ArchiveList
	if err := c.do(ctx, http.MethodGet, busPath(bus, "/archives"), nil, &list); err != nil {
		return nil, err
	}
	out := make([]driver.ArchiveInfo, len(list.Archives))
	for i, a := range list.Archives {
		var err error
		if out[i], err = a.Info(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// DeleteArchive deletes an archive and its events.
func (c *Conn) DeleteArchive(ctx context.Context, bus, name string) error {
	return c.do(ctx, http.MethodDelete, archivePath(bus, name), nil, nil)
}

// replayCall makes a request that answers a replay.
func (c *Conn) replayCall(ctx context.Context, method, path string, in any) (driver.ReplayInfo, error) {
	var info httpapi.ReplayInfo
	err := c.do(ctx, method, path, in, &info)
	if err != nil {
		return driver.ReplayInfo{}, err
	}
	return info.Info(), nil
}

// StartReplay starts a replay.
func (c *Conn) StartReplay(ctx context.Context, name string, r driver.Replay) (driver.ReplayInfo, error) {
	return c.replayCall(ctx, http.MethodPost, "/v1/replays", httpapi.ReplayRequestJSON(name, r))
}

// ReplayInfo returns a replay's state and progress.
func (c *Conn) ReplayInfo(ctx context.Context, name string) (driver.ReplayInfo, error) {
	return c.replayCall(ctx, http.MethodGet, replayPath(name, ""), nil)
}

// ListReplays returns every replay by name.
func (c *Conn) ListReplays(ctx context.Context) ([]driver.ReplayInfo, error) {
	var list httpapi.ReplayList
	if err := c.do(ctx, http.MethodGet, "/v1/replays", nil, &list); err != nil {
		return nil, err
	}
	out := make([]driver.ReplayInfo, len(list.Replays))
	for i, r := range list.Replays {
		out[i] = r.Info()
	}
	return out, nil
}

// CancelReplay stops a running replay.
func (c *Conn) CancelReplay(ctx context.Context, name string) (driver.ReplayInfo, error) {
	return c.replayCall(ctx, http.MethodPost, replayPath(name, "/cancel"), nil)
}
