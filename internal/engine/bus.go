package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/courier-io/courier/driver"
	"github.com/courier-io/courier/pattern"
	"github.com/courier-io/courier/schedule"
	"github.com/courier-io/courier/transform"
)

// bus is one event bus incarnation: its rules and archives and the routing
// that PutEvents matches against.
type bus struct {
	bid      uint64
	name     string
	attrs    driver.BusAttributes
	created  int64
	rules    map[string]*rule
	archives map[string]*archive

	// routes is rebuilt under e.mu on every change of rules or archives;
	// PutEvents matches against it without the lock.
	routes                       atomic.Pointer[busRouting]
	ruleMatcher, archiveMatcher  syncedMatcher
	accepted, matched, unmatched atomic.Int64
}

// rule is a rule of a bus.
type rule struct {
	bus     *bus
	name    string
	spec    driver.Rule
	created int64
	updated int64
	targets []*target
	sched   *schedule.Schedule // schedule rules only
	pattern *pattern.Pattern   // pattern rules only; compiled once when applied
	matched atomic.Int64
	// stop ends the rule's dispatchers and schedule (live engines only).
	stop context.CancelFunc
}

// target is a target of a rule: its compiled input and the queue its
// deliveries wait in.
type target struct {
	rule *rule
	spec driver.Target
	qid  uint64 // the delivery queue

	transformer *transform.Transformer
	inputPath   *transform.Path
	keyPath     *transform.Path

	delivered, retried, failed, deadLettered, overflowed atomic.Int64
}

// queueName is the name of t's delivery queue; the caller holds e.mu.
func (e *Engine) queueName(t *target) string {
	if q := e.byID[t.qid]; q != nil {
		return q.name
	}
	return deliveryQueueName(t.rule.bus.name, t.rule.name, t.spec.ID, t.qid)
}

// busRouting is an immutable view of where a bus's events go. Its
// matchers are the bus's, shared by every routing of the bus: a routing is
// replaced after its matchers change, so a caller that matched with the
// routing it loaded and finds it still current under e.mu got the matches
// of that routing.
type busRouting struct {
	rules    map[pattern.RuleID]*rule // enabled rules with a pattern
	matcher  *pattern.Matcher         // their patterns
	archives []*archive               // every archive
	archived *pattern.Matcher         // the patterns of archives that have one
	all      []*archive               // archives without a pattern
}

// deliveryQueueName names the queue a target's deliveries wait in: one
// per target incarnation (qid), so that a new queue never replaces the one
// a stored rule still points at. Users cannot choose names with '/', and
// topic subscriptions' queues have one '/' only, so it never collides.
func deliveryQueueName(busName, rule, id string, qid uint64) string {
	return busName + "/" + rule + "/" + id + "/" + strconv.FormatUint(qid, 10)
}

// isDeliveryQueue reports whether a queue name is a delivery queue's.
func isDeliveryQueue(name string) bool { return strings.Count(name, "/") == 3 }

// archiveStreamName names the stream an archive keeps its events in.
func archiveStreamName(busName, archive string) string { return busName + "/" + archive }

// Default envelope fields of events that set none.
const (
	defaultAccount = "000000000000"
	defaultRegion  = "local"
)

// reroute publishes b's routing after a change of rules or archives; the
// caller holds e.mu. The bus's matchers are updated in place, only for
// what changed (they publish new snapshots, so matching needs no lock);
// the routing records which rules and archives they stand for.
func (b *bus) reroute() {
	rt := &busRouting{rules: make(map[pattern.RuleID]*rule, len(b.rules)), matcher: b.ruleMatcher.m, archived: b.archiveMatcher.m}
	want := make(map[pattern.RuleID]*pattern.Pattern, len(b.rules))
	for name, r := range b.rules {
		if r.spec.State != driver.RuleEnabled || r.pattern == nil {
			continue // disabled, a schedule rule, or a pattern this build rejects (it matches nothing)
		}
		id := pattern.RuleID(name)
		rt.rules[id] = r
		want[id] = r.pattern
	}
	b.ruleMatcher.sync(want)
	archived := map[pattern.RuleID]*pattern.Pattern{}
	for name, a := range b.archives {
		rt.archives = append(rt.archives, a)
		if a.pattern == nil {
			rt.all = append(rt.all, a)
		} else {
			archived[pattern.RuleID(name)] = a.pattern
		}
	}
	b.archiveMatcher.sync(archived)
	b.routes.Store(rt)
}

// syncedMatcher is a Matcher kept equal to a wanted rule set by adding
// and removing only the rules that differ.
type syncedMatcher struct {
	m     *pattern.Matcher
	rules map[pattern.RuleID]*pattern.Pattern // what m holds
}

func newSyncedMatcher() syncedMatcher {
	return syncedMatcher{m: pattern.NewMatcher(), rules: map[pattern.RuleID]*pattern.Pattern{}}
}

// sync makes the matcher hold exactly want.
func (sm *syncedMatcher) sync(want map[pattern.RuleID]*pattern.Pattern) {
	add := map[pattern.RuleID]*pattern.Pattern{}
	for id, p := range want {
		if sm.rules[id] != p {
			add[id] = p
			sm.rules[id] = p
		}
	}
	var remove []pattern.RuleID
	for id := range sm.rules {
		if _, ok := want[id]; !ok {
			remove = append(remove, id)
			delete(sm.rules, id)
		}
	}
	if len(add) > 0 {
		_ = sm.m.AddAll(add) // patterns are non-nil
	}
	if len(remove) > 0 {
		sm.m.Remove(remove...)
	}
}

// lockBus takes e.mu and returns the bus named name, checking that the
// engine accepts changes (write) or at least calls. On error e.mu is
// released.
func (e *Engine) lockBus(name string, write bool) (*bus, error) {
	e.mu.Lock()
	err := e.usable()
	if write {
		err = e.writable()
	}
	var b *bus
	if err == nil {
		if b = e.buses[name]; b == nil {
			err = fmt.Errorf("bus %q: %w", name, driver.ErrNotFound)
		}
	}
	if err != nil {
		e.mu.Unlock()
		return nil, err
	}
	return b, nil
}

// lockRule takes e.mu and returns a rule; on error e.mu is released.
func (e *Engine) lockRule(busName, name string, write bool) (*rule, error) {
	b, err := e.lockBus(busName, write)
	if err != nil {
		return nil, err
	}
	r := b.rules[name]
	if r == nil {
		e.mu.Unlock()
		return nil, fmt.Errorf("bus %q has no rule %q: %w", busName, name, driver.ErrNotFound)
	}
	return r, nil
}

func (b *bus) info() driver.BusInfo {
	return driver.BusInfo{
		Name: b.name, Attributes: b.attrs, CreatedAt: time.Unix(0, b.created),
		Stats: driver.BusStats{
			Accepted: b.accepted.Load(), Matched: b.matched.Load(), Unmatched: b.unmatched.Load(),
			Rules: len(b.rules), Archives: len(b.archives),
		},
	}
}

// dropOrphanQueues drops delivery queues no rule uses: left by a crash
// between creating a target's queue and storing its rule. The caller
// holds e.mu; it runs once recovery is complete.
func (e *Engine) dropOrphanQueues() {
	used := map[uint64]bool{}
	for _, b := range e.buses {
		for _, r := range b.rules {
			for _, t := range r.targets {
				used[t.qid] = true
			}
		}
	}
	for name, q := range e.queues {
		if isDeliveryQueue(name) && !used[q.qid] {
			e.dropQueue(q)
		}
	}
}

// ensureDefaultBus creates the default bus if it does not exist; the
// caller holds e.mu. It does not wait for durability: a default bus lost
// in a crash is created again on the next start.
func (e *Engine) ensureDefaultBus() {
	if e.buses[driver.DefaultBus] != nil || e.writable() != nil {
		return
	}
	rec := &busRecord{BID: e.nextBID, Name: driver.DefaultBus, At: now()}
	if _, _, err := e.log(recCreateBus, encodeRecord(rec)); err != nil {
		e.logger.Error("creating the default bus failed", "err", err)
		return
	}
	e.applyCreateBus(rec)
}

// CreateBus creates a bus, or returns the existing one if its attributes
// are equal.
func (e *Engine) CreateBus(ctx context.Context, name string, attrs driver.BusAttributes) (driver.BusInfo, error) {
	if err := driver.ValidateBusName("name", name); err != nil {
		return driver.BusInfo{}, err
	}
	if err := attrs.Validate(); err != nil {
		return driver.BusInfo{}, err
	}
	e.mu.Lock()
	if err := e.writable(); err != nil {
		e.mu.Unlock()
		return driver.BusInfo{}, err
	}
	if b := e.buses[name]; b != nil {
		defer e.mu.Unlock()
		if b.attrs != attrs {
			return driver.BusInfo{}, fmt.Errorf("bus %q exists with other attributes: %w", name, driver.ErrConflict)
		}
		return b.info(), nil
	}
	rec := &busRecord{BID: e.nextBID, Name: name, Attrs: attrs, At: now()}
	_, wait, err := e.log(recCreateBus, encodeRecord(rec))
	if err != nil {
		e.mu.Unlock()
		return driver.BusInfo{}, err
	}
	e.applyCreateBus(rec)
	info := e.buses[name].info()
	e.mu.Unlock()
	return info, e.await(ctx, wait)
}

// BusInfo returns a bus.
func (e *Engine) BusInfo(ctx context.Context, name string) (driver.BusInfo, error) {
	b, err := e.lockBus(name, false)
	if err != nil {
		return driver.BusInfo{}, err
	}
	defer e.mu.Unlock()
	return b.info(), nil
}

// ListBuses returns the bus names in order.
func (e *Engine) ListBuses(ctx context.Context) ([]string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.usable(); err != nil {
		return nil, err
	}
	names := make([]string, 0, len(e.buses))
	for n := range e.buses {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, nil
}

// DeleteBus deletes a bus, its rules with their pending deliveries, and
// its archives.
func (e *Engine) DeleteBus(ctx context.Context, name string) error {
	if name == driver.DefaultBus {
		return driver.Invalid("name", "the default bus cannot be deleted")
	}
	b, err := e.lockBus(name, true)
	if err != nil {
		return err
	}
	rec := &bidRecord{BID: b.bid}
	_, wait, err := e.log(recDeleteBus, encodeRecord(rec))
	if err != nil {
		e.mu.Unlock()
		return err
	}
	e.applyDeleteBus(rec)
	e.mu.Unlock()
	return e.await(ctx, wait)
}

// checkTargets checks a rule's targets against the engine's state; the
// caller holds e.mu.
func (e *Engine) checkTargets(b *bus, targets []driver.Target) error {
	for i, t := range targets {
		if t.Kind == driver.TargetBus && t.Bus == b.name {
			return driver.Invalid(fmt.Sprintf("targets[%d].bus", i), "a rule cannot target its own bus")
		}
		if t.DeadLetterQueue != "" {
			q := e.queues[t.DeadLetterQueue]
			if q == nil {
				return driver.Invalid(fmt.Sprintf("targets[%d].dlq", i), "queue %q does not exist; create it first", t.DeadLetterQueue)
			}
			if q.fifo() {
				return driver.Invalid(fmt.Sprintf("targets[%d].dlq", i), "queue %q is a FIFO queue; a dead-letter queue of targets must be a standard queue", t.DeadLetterQueue)
			}
		}
	}
	return nil
}

// deliveryQueueAttributes are the attributes of a target's delivery queue:
// the dispatcher settles every delivery itself, and gives up after the
// retry policy's MaxAge, so the queue keeps messages for its longest
// retention and dead-letters nothing.
func deliveryQueueAttributes() driver.QueueAttributes {
	a := driver.DefaultQueueAttributes()
	a.VisibilityTimeout = 5 * time.Minute
	a.RetentionPeriod = driver.MaxRetentionPeriod
	return a
}

// PutRule creates or replaces a rule.
func (e *Engine) PutRule(ctx context.Context, busName, name string, spec driver.Rule) (driver.RuleInfo, error) {
	if err := driver.ValidateRuleName("name", name); err != nil {
		return driver.RuleInfo{}, err
	}
	if err := spec.Normalize(); err != nil {
		return driver.RuleInfo{}, err
	}
	b, err := e.lockBus(busName, true)
	if err != nil {
		return driver.RuleInfo{}, err
	}
	return e.putRuleLocked(ctx, b, name, spec)
}

// PutTargets adds targets to a rule or replaces those with equal IDs.
func (e *Engine) PutTargets(ctx context.Context, busName, name string, targets []driver.Target) (driver.RuleInfo, error) {
	if len(targets) == 0 {
		return driver.RuleInfo{}, driver.Invalid("targets", "no targets given")
	}
	if err := driver.NormalizeTargets("targets", targets, driver.MaxTargetsPerRule); err != nil {
		return driver.RuleInfo{}, err
	}
	r, err := e.lockRule(busName, name, true)
	if err != nil {
		return driver.RuleInfo{}, err
	}
	spec := r.spec
	spec.Targets = append([]driver.Target(nil), r.spec.Targets...)
	for _, t := range targets {
		i := targetIndex(spec.Targets, t.ID)
		if i < 0 {
			spec.Targets = append(spec.Targets, t)
		} else {
			spec.Targets[i] = t
		}
	}
	if len(spec.Targets) > driver.MaxTargetsPerRule {
		e.mu.Unlock()
		return driver.RuleInfo{}, driver.TooLarge("targets", "rule %q would have %d targets; the limit is %d", name, len(spec.Targets), driver.MaxTargetsPerRule)
	}
	return e.putRuleLocked(ctx, r.bus, name, spec)
}

// RemoveTargets removes targets by ID.
func (e *Engine) RemoveTargets(ctx context.Context, busName, name string, ids []string) (driver.RuleInfo, error) {
	if len(ids) == 0 {
		return driver.RuleInfo{}, driver.Invalid("ids", "no target ids given")
	}
	r, err := e.lockRule(busName, name, true)
	if err != nil {
		return driver.RuleInfo{}, err
	}
	spec := r.spec
	spec.Targets = nil
	for _, t := range r.spec.Targets {
		keep := true
		for _, id := range ids {
			if t.ID == id {
				keep = false
			}
		}
		if keep {
			spec.Targets = append(spec.Targets, t)
		}
	}
	for i, id := range ids {
		if targetIndex(r.spec.Targets, id) < 0 {
			e.mu.Unlock()
			return driver.RuleInfo{}, fmt.Errorf("ids[%d]: rule %q has no target %q: %w", i, name, id, driver.ErrNotFound)
		}
	}
	return e.putRuleLocked(ctx, r.bus, name, spec)
}

func targetIndex(ts []driver.Target, id string) int {
	for i := range ts {
		if ts[i].ID == id {
			return i
		}
	}
	return -1
}

// putRuleLocked stores a normalized rule; the caller holds e.mu, which is
// released.
func (e *Engine) putRuleLocked(ctx context.Context, b *bus, name string, spec driver.Rule) (driver.RuleInfo, error) {
	if err := e.checkTargets(b, spec.Targets); err != nil {
		e.mu.Unlock()
		return driver.RuleInfo{}, err
	}
	at := now()
	old := b.rules[name]
	if old == nil && len(b.rules) >= driver.MaxRulesPerBus {
		e.mu.Unlock()
		return driver.RuleInfo{}, driver.TooLarge("name", "bus %q has %d rules, the limit", b.name, driver.MaxRulesPerBus)
	}
	specJSON, err := marshalSpec(spec)
	if err != nil {
		e.mu.Unlock()
		return driver.RuleInfo{}, fmt.Errorf("encoding rule: %w", err)
	}
	if old != nil {
		if oldJSON, _ := marshalSpec(old.spec); string(oldJSON) == string(specJSON) {
			info := e.ruleInfo(old, at)
			e.mu.Unlock()
			return info, nil
		}
	}
	rec := &ruleRecord{BID: b.bid, Name: name, Spec: specJSON, QIDs: make([]uint64, len(spec.Targets)), Created: at, At: at}
	if old != nil {
		rec.Created = old.created
	}
	var wait func(context.Context) error
	for i, t := range spec.Targets {
		if old != nil {
			if j := targetIndex(old.spec.Targets, t.ID); j >= 0 && old.spec.Targets[j].Kind == t.Kind && old.targets[j].qid != 0 && e.byID[old.targets[j].qid] != nil {
				rec.QIDs[i] = old.targets[j].qid
				continue
			}
		}
		// A new queue; the rule record drops the queues it no longer uses,
		// so a crash before it leaves the stored rule whole (and at worst
		// an unused queue, dropped at the next start).
		qr := &queueRecord{QID: e.nextQID, Name: deliveryQueueName(b.name, name, t.ID, e.nextQID), Attrs: deliveryQueueAttributes(), At: at}
		if _, _, err := e.log(recCreateQueue, encodeRecord(qr)); err != nil {
			e.mu.Unlock()
			return driver.RuleInfo{}, err
		}
		e.applyCreate(qr)
		rec.QIDs[i] = qr.QID
	}
	_, wait, err = e.log(recPutRule, encodeRecord(rec))
	if err != nil {
		e.mu.Unlock()
		return driver.RuleInfo{}, err
	}
	e.applyPutRule(rec)
	r := b.rules[name]
	e.startRule(r)
	info := e.ruleInfo(r, at)
	e.mu.Unlock()
	return info, e.await(ctx, wait)
}

// RuleInfo returns a rule.
func (e *Engine) RuleInfo(ctx context.Context, busName, name string) (driver.RuleInfo, error) {
	r, err := e.lockRule(busName, name, false)
	if err != nil {
		return driver.RuleInfo{}, err
	}
	defer e.mu.Unlock()
	return e.ruleInfo(r, now()), nil
}

// ListRules returns a bus's rules by name.
func (e *Engine) ListRules(ctx context.Context, busName string) ([]driver.RuleInfo, error) {
	b, err := e.lockBus(busName, false)
	if err != nil {
		return nil, err
	}
	defer e.mu.Unlock()
	at := now()
	out := make([]driver.RuleInfo, 0, len(b.rules))
	for _, r := range b.rules {
		out = append(out, e.ruleInfo(r, at))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// DeleteRule deletes a rule and its pending deliveries.
func (e *Engine) DeleteRule(ctx context.Context, busName, name string) error {
	r, err := e.lockRule(busName, name, true)
	if err != nil {
		return err
	}
	rec := &busItemRecord{BID: r.bus.bid, Name: name}
	_, wait, err := e.log(recDeleteRule, encodeRecord(rec))
	if err != nil {
		e.mu.Unlock()
		return err
	}
	e.applyDeleteRule(rec)
	e.mu.Unlock()
	return e.await(ctx, wait)
}

// ruleInfo describes r at now, secrets masked; the caller holds e.mu.
func (e *Engine) ruleInfo(r *rule, at int64) driver.RuleInfo {
	info := driver.RuleInfo{Bus: r.bus.name, Name: r.name, Rule: r.spec, CreatedAt: time.Unix(0, r.created), UpdatedAt: time.Unix(0, r.updated)}
	info.Targets = make([]driver.Target, len(r.spec.Targets))
	for i, t := range r.spec.Targets {
		if t.HTTP != nil {
			h := *t.HTTP
			if h.AuthValue != "" {
				h.AuthValue = "****"
			}
			t.HTTP = &h
		}
		info.Targets[i] = t
	}
	if r.sched != nil && r.spec.State == driver.RuleEnabled {
		info.NextFire = r.sched.Anchor(time.Unix(0, r.created)).Next(time.Unix(0, at)).UTC()
	}
	info.Stats.Matched = r.matched.Load()
	info.Stats.Targets = make([]driver.TargetStats, len(r.targets))
	for i, t := range r.targets {
		st := driver.TargetStats{
			ID: t.spec.ID, Delivered: t.delivered.Load(), Retried: t.retried.Load(), Failed: t.failed.Load(),
			DeadLettered: t.deadLettered.Load(), Overflowed: t.overflowed.Load(),
		}
		if q := e.byID[t.qid]; q != nil {
			q.advance(at, e.forget)
			st.Backlog = q.stats(at)
		}
		info.Stats.Targets[i] = st
	}
	return info
}

func (e *Engine) applyCreateBus(r *busRecord) {
	if old := e.buses[r.Name]; old != nil { // only in a damaged log: keep the newer
		e.dropBus(old)
	}
	b := &bus{bid: r.BID, name: r.Name, attrs: r.Attrs, created: r.At, rules: make(map[string]*rule), archives: make(map[string]*archive),
		ruleMatcher: newSyncedMatcher(), archiveMatcher: newSyncedMatcher()}
	b.reroute()
	e.buses[r.Name] = b
	e.busByID[r.BID] = b
	e.nextBID = max(e.nextBID, r.BID+1)
}

func (e *Engine) applyDeleteBus(r *bidRecord) {
	if b := e.busByID[r.BID]; b != nil {
		e.dropBus(b)
	}
}

func (e *Engine) dropBus(b *bus) {
	for _, r := range b.rules {
		e.dropRule(r)
	}
	for _, a := range b.archives {
		e.dropArchive(a)
	}
	b.reroute()
	delete(e.buses, b.name)
	delete(e.busByID, b.bid)
}

// dropRule removes a rule with its delivery queues.
func (e *Engine) dropRule(r *rule) {
	if r.stop != nil {
		r.stop()
		r.stop = nil
	}
	for _, t := range r.targets {
		if q := e.byID[t.qid]; q != nil {
			e.dropQueue(q)
		}
	}
	delete(r.bus.rules, r.name)
}

func (e *Engine) applyPutRule(rec *ruleRecord) {
	b := e.busByID[rec.BID]
	if b == nil {
		return
	}
	var spec driver.Rule
	if err := json.Unmarshal(rec.Spec, &spec); err != nil || len(rec.QIDs) != len(spec.Targets) {
		e.logger.Error("rule record unreadable; rule skipped", "bus", b.name, "rule", rec.Name, "err", err)
		return
	}
	old := b.rules[rec.Name]
	r := &rule{bus: b, name: rec.Name, spec: spec, created: rec.Created, updated: rec.At}
	if spec.Schedule != "" {
		r.sched, _ = schedule.Parse(spec.Schedule)
	}
	r.pattern, _ = driver.CompilePattern("pattern", spec.Pattern)
	keep := make(map[uint64]bool, len(rec.QIDs))
	for i, ts := range spec.Targets {
		t := &target{rule: r, spec: ts, qid: rec.QIDs[i]}
		keep[t.qid] = true
		t.compile()
		if old != nil {
			if j := targetIndex(old.spec.Targets, ts.ID); j >= 0 && old.targets[j].qid == t.qid {
				o := old.targets[j]
				t.delivered.Store(o.delivered.Load())
				t.retried.Store(o.retried.Load())
				t.failed.Store(o.failed.Load())
				t.deadLettered.Store(o.deadLettered.Load())
				t.overflowed.Store(o.overflowed.Load())
			}
		}
		r.targets = append(r.targets, t)
	}
	if old != nil {
		r.matched.Store(old.matched.Load())
		if old.stop != nil {
			old.stop()
		}
		for _, t := range old.targets {
			if q := e.byID[t.qid]; q != nil && !keep[t.qid] {
				e.dropQueue(q)
			}
		}
	}
	b.rules[rec.Name] = r
	b.reroute()
}

// compile compiles the target's input and partition key path; they were
// valid when stored.
func (t *target) compile() {
	if t.spec.InputTransformer != nil {
		t.transformer, _ = transform.Compile(transform.InputTransformer(*t.spec.InputTransformer))
	}
	if t.spec.InputPath != "" {
		t.inputPath, _ = transform.CompilePath(t.spec.InputPath)
	}
	if t.spec.PartitionKeyPath != "" {
		t.keyPath, _ = transform.CompilePath(t.spec.PartitionKeyPath)
	}
}

func (e *Engine) applyDeleteRule(rec *busItemRecord) {
	b := e.busByID[rec.BID]
	if b == nil {
		return
	}
	if r := b.rules[rec.Name]; r != nil {
		e.dropRule(r)
		b.reroute()
	}
}

// marshalSpec encodes a stored spec (a rule, an archive, a replay's
// state) as JSON, leaving <, > and & as they are so that patterns and
// templates read back byte for byte.
func marshalSpec(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
