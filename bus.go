package courier

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"github.com/courier-io/courier/driver"
)

// Event is an event to put on a bus; see driver.Event for its fields.
type Event = driver.Event

// PutEventsResult is the outcome of one event of PutEvents: its ID or why it
// was refused.
type PutEventsResult = driver.PutEventsResult

// BusAttributes are a bus's settings.
type BusAttributes = driver.BusAttributes

// BusInfo describes a bus.
type BusInfo = driver.BusInfo

// Rule routes matching events (or scheduled ones) to targets; see
// driver.Rule.
type Rule = driver.Rule

// RuleInfo describes a rule with its stats.
type RuleInfo = driver.RuleInfo

// Target is where a rule delivers; see driver.Target.
type Target = driver.Target

// TargetKind says where a target delivers.
type TargetKind = driver.TargetKind

// InputTransformer reshapes an event for a target.
type InputTransformer = driver.InputTransformer

// HTTPTarget is an API destination.
type HTTPTarget = driver.HTTPTarget

// RetryPolicy is how a target retries.
type RetryPolicy = driver.RetryPolicy

// Archive keeps a bus's events for replay.
type Archive = driver.Archive

// ArchiveInfo describes an archive.
type ArchiveInfo = driver.ArchiveInfo

// Replay asks to re-send an archive's events.
type Replay = driver.Replay

// ReplayInfo describes a replay.
type ReplayInfo = driver.ReplayInfo

// The target kinds and rule and replay states.
const (
	TargetQueue   = driver.TargetQueue
	TargetTopic   = driver.TargetTopic
	TargetStream  = driver.TargetStream
	TargetBus     = driver.TargetBus
	TargetHTTP    = driver.TargetHTTP
	TargetHandler = driver.TargetHandler

	RuleEnabled  = driver.RuleEnabled
	RuleDisabled = driver.RuleDisabled

	ReplayRunning   = driver.ReplayRunning
	ReplayCompleted = driver.ReplayCompleted
	ReplayCancelled = driver.ReplayCancelled
	ReplayFailed    = driver.ReplayFailed
)

// DefaultBus is the bus every backend has.
const DefaultBus = driver.DefaultBus

// Bus is a handle to a named event bus. Getting one does not contact the
// backend.
type Bus struct {
	b    *Broker
	name string
}

// Bus returns a handle for the bus name.
func (b *Broker) Bus(name string) *Bus { return &Bus{b: b, name: name} }

func (b *Broker) busDriver() (driver.Buses, error) {
	if b.closed.Load() {
		return nil, ErrClosed
	}
	if b.buses == nil {
		return nil, fmt.Errorf("buses: %w", ErrUnsupported)
	}
	return b.buses, nil
}

// CreateBus creates a bus; idempotent, ErrConflict if it exists with
// another description.
func (b *Broker) CreateBus(ctx context.Context, name string, attrs BusAttributes) (*Bus, error) {
	bd, err := b.busDriver()
	if err != nil {
		return nil, err
	}
	if err := driver.ValidateBusName("name", name); err != nil {
		return nil, fmt.Errorf("create bus: %w", err)
	}
	if err := attrs.Validate(); err != nil {
		return nil, fmt.Errorf("create bus %q: %w", name, err)
	}
	if _, err := bd.CreateBus(ctx, name, attrs); err != nil {
		return nil, fmt.Errorf("create bus %q: %w", name, err)
	}
	return b.Bus(name), nil
}

// ListBuses returns the bus names, sorted.
func (b *Broker) ListBuses(ctx context.Context) ([]string, error) {
	bd, err := b.busDriver()
	if err != nil {
		return nil, err
	}
	return bd.ListBuses(ctx)
}

// DeleteBus deletes a bus with its rules and archives.
func (b *Broker) DeleteBus(ctx context.Context, name string) error {
	return b.Bus(name).Delete(ctx)
}

// Name returns the bus's name.
func (bu *Bus) Name() string { return bu.name }

func (bu *Bus) driver(op string) (driver.Buses, error) {
	bd, err := bu.b.busDriver()
	if err != nil {
		return nil, fmt.Errorf("bus %q: %s: %w", bu.name, op, err)
	}
	if err := driver.ValidateBusName("bus", bu.name); err != nil {
		return nil, fmt.Errorf("bus %q: %s: %w", bu.name, op, err)
	}
	return bd, nil
}

func (bu *Bus) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("bus %q: %s: %w", bu.name, op, err)
}

// Info returns the bus's attributes and stats.
func (bu *Bus) Info(ctx context.Context) (BusInfo, error) {
	bd, err := bu.driver("info")
	if err != nil {
		return BusInfo{}, err
	}
	info, err := bd.BusInfo(ctx, bu.name)
	return info, bu.wrap("info", err)
}

// Delete deletes the bus with its rules, their pending deliveries and its
// archives. The default bus cannot be deleted.
func (bu *Bus) Delete(ctx context.Context) error {
	bd, err := bu.driver("delete")
	if err != nil {
		return err
	}
	if bu.name == DefaultBus {
		return bu.wrap("delete", driver.Invalid("name", "the default bus cannot be deleted"))
	}
	return bu.wrap("delete", bd.DeleteBus(ctx, bu.name))
}

// PutEvents stores up to 1000 events and routes each to the targets of the
// rules it matches. It returns one result per event once the accepted ones
// are durable; an event that fails validation fails alone (its result's
// Err), and delivery to targets happens afterwards, at least once.
func (bu *Bus) PutEvents(ctx context.Context, events ...Event) ([]PutEventsResult, error) {
	bd, err := bu.driver("put events")
	if err != nil {
		return nil, err
	}
	if err := driver.ValidateEvents(events); err != nil {
		return nil, bu.wrap("put events", err)
	}
	res, err := bd.PutEvents(ctx, bu.name, events)
	return res, bu.wrap("put events", err)
}

// PutEvent puts one event and returns its ID.
func (bu *Bus) PutEvent(ctx context.Context, ev Event) (string, error) {
	res, err := bu.PutEvents(ctx, ev)
	if err != nil {
		return "", err
	}
	if res[0].Err != nil {
		return "", bu.wrap("put event", res[0].Err)
	}
	return res[0].ID, nil
}

// PutRule creates or replaces the rule name with its targets.
func (bu *Bus) PutRule(ctx context.Context, name string, rule Rule) (RuleInfo, error) {
	bd, err := bu.driver("put rule")
	if err != nil {
		return RuleInfo{}, err
	}
	if err := driver.ValidateRuleName("name", name); err != nil {
		return RuleInfo{}, bu.wrap("put rule", err)
	}
	if err := rule.Normalize(); err != nil {
		return RuleInfo{}, bu.wrap("put rule "+name, err)
	}
	info, err := bd.PutRule(ctx, bu.name, name, rule)
	return info, bu.wrap("put rule "+name, err)
}

// PutTargets adds targets to the rule, or replaces those with equal IDs.
func (bu *Bus) PutTargets(ctx context.Context, rule string, targets ...Target) (RuleInfo, error) {
	bd, err := bu.driver("put targets")
	if err != nil {
		return RuleInfo{}, err
	}
	if err := driver.ValidateRuleName("rule", rule); err != nil {
		return RuleInfo{}, bu.wrap("put targets", err)
	}
	if err := driver.NormalizeTargets("targets", targets, driver.MaxTargetsPerRule); err != nil {
		return RuleInfo{}, bu.wrap("put targets of "+rule, err)
	}
	info, err := bd.PutTargets(ctx, bu.name, rule, targets)
	return info, bu.wrap("put targets of "+rule, err)
}

// RemoveTargets removes the rule's targets with these IDs, and their
// pending deliveries.
func (bu *Bus) RemoveTargets(ctx context.Context, rule string, ids ...string) (RuleInfo, error) {
	bd, err := bu.driver("remove targets")
	if err != nil {
		return RuleInfo{}, err
	}
	if err := driver.ValidateRuleName("rule", rule); err != nil {
		return RuleInfo{}, bu.wrap("remove targets", err)
	}
	for i, id := range ids {
		if err := driver.ValidateTargetID(fmt.Sprintf("ids[%d]", i), id); err != nil {
			return RuleInfo{}, bu.wrap("remove targets of "+rule, err)
		}
	}
	info, err := bd.RemoveTargets(ctx, bu.name, rule, ids)
	return info, bu.wrap("remove targets of "+rule, err)
}

// Rule returns the rule name with its stats.
func (bu *Bus) Rule(ctx context.Context, name string) (RuleInfo, error) {
	bd, err := bu.driver("rule")
	if err != nil {
		return RuleInfo{}, err
	}
	if err := driver.ValidateRuleName("name", name); err != nil {
		return RuleInfo{}, bu.wrap("rule", err)
	}
	info, err := bd.RuleInfo(ctx, bu.name, name)
	return info, bu.wrap("rule "+name, err)
}

// Rules lists the bus's rules by name.
func (bu *Bus) Rules(ctx context.Context) ([]RuleInfo, error) {
	bd, err := bu.driver("rules")
	if err != nil {
		return nil, err
	}
	rules, err := bd.ListRules(ctx, bu.name)
	return rules, bu.wrap("rules", err)
}

// DeleteRule deletes the rule and its pending deliveries.
func (bu *Bus) DeleteRule(ctx context.Context, name string) error {
	bd, err := bu.driver("delete rule")
	if err != nil {
		return err
	}
	if err := driver.ValidateRuleName("name", name); err != nil {
		return bu.wrap("delete rule", err)
	}
	return bu.wrap("delete rule "+name, bd.DeleteRule(ctx, bu.name, name))
}

// Archive creates the archive name of this bus (idempotent for equal
// settings): from now on it keeps the bus's events, or those matching its
// pattern, for its retention.
func (bu *Bus) Archive(ctx context.Context, name string, a Archive) (ArchiveInfo, error) {
	bd, err := bu.driver("archive")
	if err != nil {
		return ArchiveInfo{}, err
	}
	if err := driver.ValidateArchiveName("name", name); err != nil {
		return ArchiveInfo{}, bu.wrap("archive", err)
	}
	if err := a.Normalize(); err != nil {
		return ArchiveInfo{}, bu.wrap("archive "+name, err)
	}
	info, err := bd.CreateArchive(ctx, bu.name, name, a)
	return info, bu.wrap("archive "+name, err)
}

// ArchiveInfo returns an archive of this bus.
func (bu *Bus) ArchiveInfo(ctx context.Context, name string) (ArchiveInfo, error) {
	bd, err := bu.driver("archive info")
	if err != nil {
		return ArchiveInfo{}, err
	}
	if err := driver.ValidateArchiveName("name", name); err != nil {
		return ArchiveInfo{}, bu.wrap("archive info", err)
	}
	info, err := bd.ArchiveInfo(ctx, bu.name, name)
	return info, bu.wrap("archive "+name, err)
}

// Archives lists the bus's archives by name.
func (bu *Bus) Archives(ctx context.Context) ([]ArchiveInfo, error) {
	bd, err := bu.driver("archives")
	if err != nil {
		return nil, err
	}
	out, err := bd.ListArchives(ctx, bu.name)
	return out, bu.wrap("archives", err)
}

// DeleteArchive deletes an archive and the events it keeps.
func (bu *Bus) DeleteArchive(ctx context.Context, name string) error {
	bd, err := bu.driver("delete archive")
	if err != nil {
		return err
	}
	if err := driver.ValidateArchiveName("name", name); err != nil {
		return bu.wrap("delete archive", err)
	}
	return bu.wrap("delete archive "+name, bd.DeleteArchive(ctx, bu.name, name))
}

// Replay starts the replay name: the events archive kept that were
// accepted in [start, end) are put on this bus again, in order, marked
// with "replay-name" in their envelope, and routed only to rules when
// rules are given. Follow it with Broker.ReplayInfo.
func (bu *Bus) Replay(ctx context.Context, name, archive string, start, end time.Time, rules ...string) (ReplayInfo, error) {
	return bu.b.StartReplay(ctx, name, Replay{Bus: bu.name, Archive: archive, Start: start, End: end, Rules: rules})
}

// StartReplay starts a replay from a complete request.
func (b *Broker) StartReplay(ctx context.Context, name string, r Replay) (ReplayInfo, error) {
	bd, err := b.busDriver()
	if err != nil {
		return ReplayInfo{}, err
	}
	if err := driver.ValidateReplayName("name", name); err != nil {
		return ReplayInfo{}, fmt.Errorf("replay: %w", err)
	}
	if err := r.Normalize(); err != nil {
		return ReplayInfo{}, fmt.Errorf("replay %q: %w", name, err)
	}
	info, err := bd.StartReplay(ctx, name, r)
	if err != nil {
		return ReplayInfo{}, fmt.Errorf("replay %q: %w", name, err)
	}
	return info, nil
}

// ReplayInfo returns a replay's state and progress.
func (b *Broker) ReplayInfo(ctx context.Context, name string) (ReplayInfo, error) {
	bd, err := b.busDriver()
	if err != nil {
		return ReplayInfo{}, err
	}
	if err := driver.ValidateReplayName("name", name); err != nil {
		return ReplayInfo{}, fmt.Errorf("replay: %w", err)
	}
	info, err := bd.ReplayInfo(ctx, name)
	if err != nil {
		return ReplayInfo{}, fmt.Errorf("replay %q: %w", name, err)
	}
	return info, nil
}

// Replays lists every replay by name.
func (b *Broker) Replays(ctx context.Context) ([]ReplayInfo, error) {
	bd, err := b.busDriver()
	if err != nil {
		return nil, err
	}
	return bd.ListReplays(ctx)
}

// CancelReplay stops a running replay; ErrConflict when it has ended.
func (b *Broker) CancelReplay(ctx context.Context, name string) (ReplayInfo, error) {
	bd, err := b.busDriver()
	if err != nil {
		return ReplayInfo{}, err
	}
	if err := driver.ValidateReplayName("name", name); err != nil {
		return ReplayInfo{}, fmt.Errorf("cancel replay: %w", err)
	}
	info, err := bd.CancelReplay(ctx, name)
	if err != nil {
		return ReplayInfo{}, fmt.Errorf("cancel replay %q: %w", name, err)
	}
	return info, nil
}

// TestPattern reports whether an EventBridge event pattern matches an event
// (its JSON envelope). An invalid pattern or event fails with ErrInvalid.
func TestPattern(pattern, event []byte) (bool, error) {
	p, err := driver.CompilePattern("pattern", pattern)
	if err != nil {
		return false, err
	}
	if p == nil {
		return false, driver.Invalid("pattern", "is empty")
	}
	ok, err := p.Match(event)
	if err != nil {
		return false, driver.Invalid("event", "%v", err)
	}
	return ok, nil
}

// EventEnvelope is an event as delivered to targets that receive the
// whole event: the EventBridge envelope.
type EventEnvelope struct {
	Version    string          `json:"version"`
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Account    string          `json:"account"`
	Time       time.Time       `json:"time"`
	Region     string          `json:"region"`
	Resources  []string        `json:"resources"`
	Detail     json.RawMessage `json:"detail"`
	// ReplayName is set on events re-sent by a replay.
	ReplayName string `json:"replay-name,omitempty"`
}

// ParseEvent decodes a delivered event envelope.
func ParseEvent(body []byte) (EventEnvelope, error) {
	var env EventEnvelope
	if err := json.Unmarshal(body, &env); err != nil {
		return EventEnvelope{}, driver.Invalid("body", "not an event envelope: %v", err)
	}
	return env, nil
}

// EventHandler processes one delivery of a handler target: its body is the
// event envelope (see ParseEvent) or the target's input. Returning nil
// settles the delivery; an error makes the target's retry policy apply
// (retry after a jittered backoff, finally the dead-letter queue with the
// error as the reason).
type EventHandler func(ctx context.Context, d TargetDelivery) error

// TargetDelivery is a delivery of a handler target.
type TargetDelivery = driver.Delivery

// HandleOption configures Handle.
type HandleOption func(*handleConfig)

type handleConfig struct {
	concurrency int
	visibility  time.Duration
}

// Concurrency sets how many deliveries Handle processes at once (default 1).
func Concurrency(n int) HandleOption { return func(c *handleConfig) { c.concurrency = n } }

// HandlerTimeout sets how long a delivery stays invisible to other
// handlers while one works on it (default 30s); the handler's context ends
// then.
func HandlerTimeout(d time.Duration) HandleOption { return func(c *handleConfig) { c.visibility = d } }

// Handle runs h for every delivery of the handler target (kind "handler")
// of rule until ctx ends, then waits for the deliveries in progress and
// returns ctx's error. A panic in h counts as a failure of that delivery.
func (bu *Bus) Handle(ctx context.Context, rule, target string, h EventHandler, opts ...HandleOption) error {
	cfg := handleConfig{concurrency: 1, visibility: 30 * time.Second}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.concurrency < 1 || cfg.concurrency > 1000 {
		return bu.wrap("handle", driver.Invalid("concurrency", "%d is out of range 1..1000", cfg.concurrency))
	}
	if err := checkRangeVisibility(cfg.visibility); err != nil {
		return bu.wrap("handle", err)
	}
	bd, err := bu.driver("handle")
	if err != nil {
		return err
	}
	if err := driver.ValidateRuleName("rule", rule); err != nil {
		return bu.wrap("handle", err)
	}
	if err := driver.ValidateTargetID("target", target); err != nil {
		return bu.wrap("handle", err)
	}
	// Fail early on a wrong target rather than polling forever.
	info, err := bd.RuleInfo(ctx, bu.name, rule)
	if err != nil {
		return bu.wrap("handle "+rule+"/"+target, err)
	}
	found := false
	for _, t := range info.Targets {
		if t.ID == target {
			found = true
			if t.Kind != TargetHandler {
				return bu.wrap("handle "+rule+"/"+target, driver.Invalid("target", "is a %s target; Handle serves handler targets", t.Kind))
			}
		}
	}
	if !found {
		return bu.wrap("handle "+rule, fmt.Errorf("no target %q: %w", target, ErrNotFound))
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	slots := make(chan struct{}, cfg.concurrency)
	for ctx.Err() == nil {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			continue
		}
		ds, err := bd.ReceiveTarget(ctx, bu.name, rule, target, driver.ReceiveRequest{Max: 1, Wait: driver.MaxReceiveWait, Visibility: cfg.visibility})
		if err != nil || len(ds) == 0 {
			<-slots
			if err != nil && ctx.Err() == nil {
				if errors.Is(err, ErrNotFound) || errors.Is(err, ErrClosed) {
					return bu.wrap("handle "+rule+"/"+target, err)
				}
				pause(ctx, time.Second)
			}
			continue
		}
		d := ds[0]
		wg.Go(func() {
			defer func() { <-slots }()
			hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.visibility)
			failure := runHandler(hctx, h, d)
			cancel()
			settle := ""
			if failure != nil {
				settle = failure.Error()
				if settle == "" {
					settle = "handler failed"
				}
			}
			_ = bd.SettleTarget(context.WithoutCancel(ctx), bu.name, rule, target, d.Receipt, settle)
		})
	}
	return ctx.Err()
}

// runHandler calls h, turning a panic into an error.
func runHandler(ctx context.Context, h EventHandler, d TargetDelivery) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("handler panicked: %v\n%s", r, debug.Stack())
		}
	}()
	return h(ctx, d)
}

func checkRangeVisibility(d time.Duration) error {
	if d < time.Second || d > driver.MaxVisibilityTimeout {
		return driver.Invalid("timeout", "%v is out of range 1s..%v", d, driver.MaxVisibilityTimeout)
	}
	return nil
}

// pause waits d or until ctx ends.
func pause(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// ReceiveTarget reads up to Max deliveries waiting for the handler target
// of rule, as Queue.Receive reads a queue; settle each with SettleTarget.
// Handle is the loop most code wants; this is for consumers that poll
// themselves (servers, other languages' clients).
func (bu *Bus) ReceiveTarget(ctx context.Context, rule, target string, opts ...ReceiveOption) ([]TargetDelivery, error) {
	var req driver.ReceiveRequest
	for _, o := range opts {
		o(&req)
	}
	return bu.ReceiveTargetRequest(ctx, rule, target, req)
}

// ReceiveTargetRequest is ReceiveTarget with a complete request.
func (bu *Bus) ReceiveTargetRequest(ctx context.Context, rule, target string, req driver.ReceiveRequest) ([]TargetDelivery, error) {
	bd, err := bu.driver("receive target")
	if err != nil {
		return nil, err
	}
	if err := driver.ValidateRuleName("rule", rule); err != nil {
		return nil, bu.wrap("receive target", err)
	}
	if err := driver.ValidateTargetID("target", target); err != nil {
		return nil, bu.wrap("receive target", err)
	}
	if err := req.Validate(); err != nil {
		return nil, bu.wrap("receive target", err)
	}
	ds, err := bd.ReceiveTarget(ctx, bu.name, rule, target, req)
	return ds, bu.wrap("receive target "+rule+"/"+target, err)
}

// SettleTarget settles a delivery of a handler target: an empty failure
// acks it; otherwise the target's retry policy applies, with failure as
// the reason recorded if it reaches the dead-letter queue.
func (bu *Bus) SettleTarget(ctx context.Context, rule, target, receipt, failure string) error {
	bd, err := bu.driver("settle target")
	if err != nil {
		return err
	}
	if err := driver.ValidateRuleName("rule", rule); err != nil {
		return bu.wrap("settle target", err)
	}
	if err := driver.ValidateTargetID("target", target); err != nil {
		return bu.wrap("settle target", err)
	}
	if err := driver.ValidateReceipts([]string{receipt}); err != nil {
		return bu.wrap("settle target", err)
	}
	return bu.wrap("settle target "+rule+"/"+target, bd.SettleTarget(ctx, bu.name, rule, target, receipt, failure))
}
