package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/courier-io/courier/cloudevent"
	"github.com/courier-io/courier/driver"
	"github.com/courier-io/courier/pattern"
	"github.com/courier-io/courier/transform"
	"github.com/google/uuid"
)

// PutEvents stores events and routes each to the targets of the enabled
// rules it matches, in one publish record per event: a queue target gets
// the event in its queue directly, other targets in their delivery queue,
// which a dispatcher drains. Archives that keep the event get it in the
// same critical section, so an accepted event is in all of them or, after
// a crash, in none. It returns once every accepted event is durable.
func (e *Engine) PutEvents(ctx context.Context, busName string, events []driver.Event) ([]driver.PutEventsResult, error) {
	if err := driver.ValidateEvents(events); err != nil {
		return nil, err
	}
	return e.putEvents(ctx, busName, events, putOptions{})
}

// putOptions narrow where putEvents routes.
type putOptions struct {
	// only, when not nil, restricts routing to these rules (replays).
	only map[string]bool
	// schedule, when set, sends the events to this schedule rule's
	// targets only.
	schedule *rule
	// replay names the replay that re-sends the events: their envelope
	// gets "replay-name" and archives do not keep them again.
	replay string
	// hops counts the buses the events crossed before this one (bus
	// targets); deliveries carry it in headerBusHops.
	hops int
}

// preparedEvent is an event made ready for the log before the lock.
type preparedEvent struct {
	id       string
	source   string
	envelope []byte
	err      error
	routes   *busRouting
	rules    []*rule
	outputs  [][]targetOutput // per rule, per target
	archives []*archive
}

// targetOutput is what one target gets of an event.
type targetOutput struct {
	body    []byte            // nil: the envelope
	headers map[string]string // added for this target
	failure string            // non-empty: the input could not be made
}

// envelopeJSON is the stored form of an event: the EventBridge envelope.
type envelopeJSON struct {
	Version    string          `json:"version"`
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Account    string          `json:"account"`
	Time       string          `json:"time"`
	Region     string          `json:"region"`
	Resources  []string        `json:"resources"`
	Detail     json.RawMessage `json:"detail"`
	ReplayName string          `json:"replay-name,omitempty"`
}

// buildEnvelope renders an event's envelope, in EventBridge's field order.
// The event has been validated: its detail is a JSON object, which is
// copied as it is.
func buildEnvelope(ev *driver.Event, at int64, replay string) (id string, envelope []byte) {
	id = ev.ID
	if id == "" {
		id = uuid.NewString()
	}
	t := ev.Time
	if t.IsZero() {
		t = time.Unix(0, at)
	}
	account, region := ev.Account, ev.Region
	if account == "" {
		account = defaultAccount
	}
	if region == "" {
		region = defaultRegion
	}
	detail := bytes.TrimSpace(ev.Detail)
	n := 160 + len(id) + len(ev.DetailType) + len(ev.Source) + len(account) + len(region) + len(detail) + len(replay)
	for _, r := range ev.Resources {
		n += len(r) + 3
	}
	b := make([]byte, 0, n)
	b = append(b, `{"version":"0","id":`...)
	b = appendJSONString(b, id)
	b = append(b, `,"detail-type":`...)
	b = appendJSONString(b, ev.DetailType)
	b = append(b, `,"source":`...)
	b = appendJSONString(b, ev.Source)
	b = append(b, `,"account":`...)
	b = appendJSONString(b, account)
	b = append(b, `,"time":"`...)
	b = t.UTC().AppendFormat(b, time.RFC3339)
	b = append(b, `","region":`...)
	b = appendJSONString(b, region)
	b = append(b, `,"resources":[`...)
	for i, r := range ev.Resources {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, r)
	}
	b = append(b, `],"detail":`...)
	b = append(b, detail...)
	if replay != "" {
		b = append(b, `,"replay-name":`...)
		b = appendJSONString(b, replay)
	}
	b = append(b, '}')
	return id, b
}

// appendJSONString appends s (valid UTF-8) as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\t':
			b = append(b, '\\', 't')
		case '\r':
			b = append(b, '\\', 'r')
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// prepare builds the envelope of every event and matches it against rt.
func (e *Engine) prepare(busName string, events []driver.Event, opts putOptions, rt *busRouting, at int64) []preparedEvent {
	out := make([]preparedEvent, len(events))
	for i := range events {
		ev := &events[i]
		pe := &out[i]
		pe.source = ev.Source
		if pe.err = ev.Validate(fmt.Sprintf("entries[%d]", i)); pe.err != nil {
			continue
		}
		id, env := buildEnvelope(ev, at, opts.replay)
		if len(env) > driver.MaxEventSize {
			pe.err = driver.TooLarge(fmt.Sprintf("entries[%d]", i), "event is %d bytes as stored; the limit is %d", len(env), driver.MaxEventSize)
			continue
		}
		pe.id, pe.envelope = id, env
		e.route(busName, pe, opts, rt, at)
	}
	return out
}

// route matches a prepared event and renders each matched target's input.
func (e *Engine) route(busName string, pe *preparedEvent, opts putOptions, rt *busRouting, at int64) {
	pe.routes = rt
	pe.rules, pe.outputs, pe.archives = pe.rules[:0], pe.outputs[:0], pe.archives[:0]
	switch {
	case opts.schedule != nil:
		pe.rules = append(pe.rules, opts.schedule)
	case len(rt.rules) > 0:
		ids, err := rt.matcher.MatchAll(pe.envelope)
		if err == nil {
			for _, id := range ids {
				if r := rt.rules[id]; r != nil && (opts.only == nil || opts.only[r.name]) {
					pe.rules = append(pe.rules, r)
				}
			}
		}
	}
	for _, r := range pe.rules {
		outs := make([]targetOutput, len(r.targets))
		for j, t := range r.targets {
			outs[j] = t.render(pe, busName, at)
		}
		pe.outputs = append(pe.outputs, outs)
	}
	if opts.replay != "" || opts.schedule != nil {
		return // replayed events are in the archive already; scheduled ones are for their rule only
	}
	pe.archives = append(pe.archives, rt.all...)
	if len(rt.all) < len(rt.archives) {
		if ids, err := rt.archived.MatchAll(pe.envelope); err == nil {
			for _, id := range ids {
				for _, a := range rt.archives {
					if pattern.RuleID(a.name) == id && a.pattern != nil {
						pe.archives = append(pe.archives, a)
					}
				}
			}
		}
	}
}

// Headers the engine adds to deliveries.
const (
	headerPartitionKey = "courier-partition-key" // stream targets: the record key
	headerBusHops      = "courier-bus-hops"      // bus targets: how many buses the event crossed
	headerDLQReason    = "courier-dlq-reason"
	headerDLQError     = "courier-dlq-error"
	headerDLQBus       = "courier-bus"
	headerDLQRule      = "courier-rule"
	headerDLQTarget    = "courier-target"
	headerDLQAttempts  = "courier-attempts"
	headerDLQEventID   = "courier-event-id"
)

// maxOutput bounds a target's rendered input.
const maxOutput = driver.MaxEventSize

// render makes target t's input for a prepared event.
func (t *target) render(pe *preparedEvent, busName string, at int64) targetOutput {
	var o targetOutput
	var err error
	switch {
	case t.transformer != nil:
		o.body, err = t.transformer.Apply(pe.envelope, transform.Context{RuleName: t.rule.name, IngestionTime: time.Unix(0, at)})
	case t.inputPath != nil:
		var found bool
		o.body, found, err = t.inputPath.Extract(pe.envelope)
		if err == nil && !found {
			o.body = []byte("null")
		}
	case len(t.spec.Input) > 0:
		o.body = t.spec.Input
	case t.spec.CloudEvents:
		o.body, err = cloudEventOf(pe.envelope, busName)
	}
	if err == nil && len(o.body) > maxOutput {
		err = fmt.Errorf("the target's input is %d bytes; the limit is %d", len(o.body), maxOutput)
	}
	if err != nil {
		return targetOutput{failure: "input: " + err.Error()}
	}
	if t.spec.Kind == driver.TargetStream {
		key := pe.id
		if t.keyPath != nil {
			if v, found, err := t.keyPath.Extract(pe.envelope); err == nil && found {
				key = jsonText(v)
			}
		}
		o.headers = map[string]string{headerPartitionKey: key}
	}
	return o
}

// jsonText is the text of a JSON value: a string's content, any other
// value as its JSON.
func jsonText(v []byte) string {
	if len(v) > 0 && v[0] == '"' {
		var s string
		if json.Unmarshal(v, &s) == nil {
			return s
		}
	}
	return string(v)
}

// cloudEventOf renders a stored envelope as a structured-mode CloudEvent.
func cloudEventOf(envelope []byte, busName string) ([]byte, error) {
	var env envelopeJSON
	if err := json.Unmarshal(envelope, &env); err != nil {
		return nil, err
	}
	ce := cloudevent.Event{
		ID: env.ID, Source: env.Source, SpecVersion: "1.0", Type: env.DetailType,
		DataContentType: "application/json", Data: env.Detail,
		Extensions: map[string]string{"account": env.Account, "region": env.Region, "bus": busName},
	}
	if t, err := time.Parse(time.RFC3339, env.Time); err == nil {
		ce.Time = t
	}
	if len(env.Resources) == 1 {
		ce.Subject = env.Resources[0]
	} else if len(env.Resources) > 1 {
		ce.Extensions["resources"] = strings.Join(env.Resources, ",")
	}
	if env.ReplayName != "" {
		ce.Extensions["replayname"] = env.ReplayName
	}
	return ce.MarshalStructured()
}

// putEvents is PutEvents after the batch checks.
func (e *Engine) putEvents(ctx context.Context, busName string, events []driver.Event, opts putOptions) ([]driver.PutEventsResult, error) {
	e.mu.Lock()
	b, err := e.buses[busName], e.usable()
	e.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if b == nil {
		return nil, fmt.Errorf("bus %q: %w", busName, driver.ErrNotFound)
	}
	at := now()
	rt := b.routes.Load()
	prepared := e.prepare(busName, events, opts, rt, at)

	b2, err := e.lockBus(busName, true)
	if err != nil {
		return nil, err
	}
	if b2 != b || b.routes.Load() != rt { // changed meanwhile: route again
		b, rt = b2, b2.routes.Load()
		for i := range prepared {
			if prepared[i].err == nil {
				e.route(busName, &prepared[i], opts, rt, at)
			}
		}
	}
	if opts.schedule != nil && b.rules[opts.schedule.name] != opts.schedule {
		e.mu.Unlock()
		return nil, fmt.Errorf("rule %q changed: %w", opts.schedule.name, driver.ErrConflict)
	}
	results := make([]driver.PutEventsResult, len(events))
	recs := make([]publishRecord, 0, len(events))
	payloads := make([][]byte, 0, len(events))
	var archived []appendRecord
	var archivedParts []*partition
	seq := e.nextSeq
	var matched int64
	placed := map[*target]int{} // deliveries placed in this batch, for the backlog bound
	for i := range prepared {
		pe := &prepared[i]
		if pe.err != nil {
			results[i].Err = pe.err
			continue
		}
		results[i].ID = pe.id
		headers := events[i].Headers
		if opts.hops > 0 {
			headers = make(map[string]string, len(events[i].Headers)+1)
			for k, v := range events[i].Headers {
				headers[k] = v
			}
			headers[headerBusHops] = strconv.Itoa(opts.hops)
		}
		r := publishRecord{Seq: seq, PublishedAt: at, Topic: busName, Group: pe.source, Headers: headers, Body: pe.envelope}
		seq++
		for k, ru := range pe.rules {
			ru.matched.Add(1)
			for j, t := range ru.targets {
				tg, ok := e.place(t, pe, &pe.outputs[k][j], headers, seq, placed)
				if ok {
					r.Targets = append(r.Targets, tg)
					seq++
				}
			}
		}
		if len(pe.rules) > 0 {
			matched++
		}
		recs = append(recs, r)
		payloads = append(payloads, encodeRecord(&recs[len(recs)-1]))
		for _, a := range pe.archives {
			s := e.streamByID[a.sid]
			if s == nil || len(s.parts) == 0 {
				continue
			}
			p := s.parts[0]
			n := 0
			for _, q := range archivedParts {
				if q == p {
					n++
				}
			}
			archived = append(archived, appendRecord{SID: a.sid, Offset: p.end + int64(n), Timestamp: max(p.lastTS, at), Value: pe.envelope, Headers: headers})
			archivedParts = append(archivedParts, p)
		}
	}
	if len(recs) == 0 {
		e.mu.Unlock()
		return results, nil
	}
	ps, wait, err := e.log(recPublish, payloads...)
	if err != nil {
		e.mu.Unlock()
		return nil, err
	}
	for k := range recs {
		var p pos
		if ps != nil {
			p = ps[k]
		}
		e.applyPublish(&recs[k], p, payloads[k])
	}
	if len(archived) > 0 {
		ap := make([][]byte, len(archived))
		for k := range archived {
			ap[k] = encodeRecord(&archived[k])
		}
		aps, awaitArchive, err := e.log(recAppend, ap...)
		if err != nil {
			e.mu.Unlock()
			return nil, err
		}
		for k := range archived {
			var p pos
			if aps != nil {
				p = aps[k]
			}
			e.applyAppend(&archived[k], p, ap[k])
		}
		wait = awaitArchive // the log syncs in order: this wait covers the events too
	}
	archivedEnds := make(map[*partition]int64, len(archivedParts)) // this batch's end per archive
	for _, p := range archivedParts {
		archivedEnds[p] = p.end
	}
	b.accepted.Add(int64(len(recs)))
	b.matched.Add(matched)
	b.unmatched.Add(int64(len(recs)) - matched)
	e.mu.Unlock()
	err = e.awaitThen(ctx, wait, func() {
		e.ackThrough(ps[len(ps)-1])
		for k := range recs {
			for _, tg := range recs[k].Targets {
				if q := e.byID[tg.QID]; q != nil {
					q.wake()
				}
			}
		}
		for p, end := range archivedEnds {
			p.durable = max(p.durable, min(end, p.end))
		}
	})
	if err != nil {
		return nil, err
	}
	return results, nil
}

// place decides where target t's delivery of an event goes, as message
// seq: straight into a queue target's queue when it can take it, else the
// target's delivery queue, or its dead-letter queue when the input could
// not be made or the backlog is full. It returns false when the delivery
// is dropped (no dead-letter queue). The caller holds e.mu.
func (e *Engine) place(t *target, pe *preparedEvent, o *targetOutput, headers map[string]string, seq uint64, placed map[*target]int) (publishTarget, bool) {
	tg := publishTarget{Seq: seq, Raw: true, Body: o.body, Headers: o.headers}
	size := len(pe.envelope)
	if o.body != nil {
		size = len(o.body)
	}
	for k, v := range headers {
		size += len(k) + len(v)
	}
	for k, v := range o.headers {
		size += len(k) + len(v)
	}
	reason, detail := "", ""
	switch {
	case o.failure != "":
		reason, detail = "input-failed", o.failure
		tg.Body = nil
	default:
		if t.spec.Kind == driver.TargetQueue {
			if q := e.queues[t.spec.Queue]; q != nil && !q.fifo() && !strings.Contains(q.name, "/") && size <= q.attrs.MaxMessageSize {
				tg.QID = q.qid
				t.delivered.Add(1)
				return tg, true
			}
		}
		dq := e.byID[t.qid]
		if dq == nil {
			reason, detail = "undeliverable", "the target's delivery queue is missing"
			break
		}
		if waiting := len(dq.msgs) + placed[t]; waiting < t.spec.MaxBacklog {
			placed[t]++
			tg.QID = dq.qid
			return tg, true
		}
		t.overflowed.Add(1)
		reason, detail = "backlog-full", fmt.Sprintf("the target has %d deliveries waiting, its max_backlog", len(dq.msgs)+placed[t])
	}
	t.failed.Add(1)
	dlq := e.queues[t.spec.DeadLetterQueue]
	if t.spec.DeadLetterQueue == "" || dlq == nil || dlq.fifo() {
		e.logger.Warn("bus: delivery dropped", "bus", t.rule.bus.name, "rule", t.rule.name, "target", t.spec.ID, "event_id", pe.id, "reason", reason, "err", detail)
		return tg, false
	}
	t.deadLettered.Add(1)
	tg.QID = dlq.qid
	tg.Headers = t.dlqHeaders(reason, detail, 0, pe.id)
	return tg, true
}

// dlqHeaders are the headers that say why a delivery was dead-lettered.
func (t *target) dlqHeaders(reason, detail string, attempts int, eventID string) map[string]string {
	if len(detail) > 1024 {
		detail = detail[:1024]
	}
	h := map[string]string{
		headerDLQReason: reason, headerDLQError: detail,
		headerDLQBus: t.rule.bus.name, headerDLQRule: t.rule.name, headerDLQTarget: t.spec.ID,
		headerDLQAttempts: fmt.Sprint(attempts),
	}
	if eventID != "" {
		h[headerDLQEventID] = eventID
	}
	return h
}

// eventOf parses a stored envelope back into an event (for bus targets and
// replays).
func eventOf(envelope []byte, headers map[string]string) (driver.Event, string, error) {
	var env envelopeJSON
	d := json.NewDecoder(bytes.NewReader(envelope))
	if err := d.Decode(&env); err != nil {
		return driver.Event{}, "", fmt.Errorf("not an event envelope: %w", err)
	}
	ev := driver.Event{ID: env.ID, Source: env.Source, DetailType: env.DetailType, Detail: env.Detail, Account: env.Account, Region: env.Region, Headers: headers}
	if len(env.Resources) > 0 {
		ev.Resources = env.Resources
	}
	if t, err := time.Parse(time.RFC3339, env.Time); err == nil {
		ev.Time = t
	}
	return ev, env.ReplayName, nil
}
