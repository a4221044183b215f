package driver

import (
	"context"
	"encoding/json"
	"time"
)

// DefaultBus is the bus every backend has; it cannot be deleted.
const DefaultBus = "default"

// Limits of event buses.
const (
	// MaxEventSize bounds one event's envelope (source, detail-type,
	// resources, detail and the rest) in bytes, as EventBridge does.
	MaxEventSize = 256 << 10
	// MaxPutEvents bounds one PutEvents batch on the native API.
	MaxPutEvents = 1000
	// MaxRulesPerBus bounds the rules of one bus.
	MaxRulesPerBus = 10000
	// MaxTargetsPerRule bounds the targets of one rule.
	MaxTargetsPerRule = 5
	// MaxResources bounds the resources of one event.
	MaxResources = 100
	// MaxSourceLen, MaxDetailTypeLen bound those fields.
	MaxSourceLen     = 256
	MaxDetailTypeLen = 256
	// MaxTargetBacklog bounds a target's waiting deliveries.
	MaxTargetBacklog = 10_000_000
	// DefaultTargetBacklog is a target's backlog bound when none is set.
	DefaultTargetBacklog = 1_000_000
	// MaxArchiveRetention is the longest archive retention; 0 keeps forever.
	MaxArchiveRetention = MaxStreamRetention
	// MaxReplayRules bounds the rules a replay may be restricted to.
	MaxReplayRules = 100
)

// BusAttributes are a bus's settings.
type BusAttributes struct {
	Description string `json:"description,omitempty"`
}

// BusStats are a bus's counters since the backend started.
type BusStats struct {
	Accepted  int64 `json:"accepted"`  // events stored
	Matched   int64 `json:"matched"`   // accepted events that matched at least one rule
	Unmatched int64 `json:"unmatched"` // accepted events that matched none
	Rules     int   `json:"rules"`
	Archives  int   `json:"archives"`
}

// BusInfo describes a bus.
type BusInfo struct {
	Name       string        `json:"name"`
	Attributes BusAttributes `json:"attributes"`
	CreatedAt  time.Time     `json:"created_at"`
	Stats      BusStats      `json:"stats"`
}

// Event is an event to put on a bus: the fields of the EventBridge
// envelope a producer sets. The backend adds id (unless set), time (unless
// set), and version, and stores the envelope as JSON:
//
//	{"version":"0","id":"...","detail-type":"...","source":"...","account":"...",
//	 "time":"2026-01-02T03:04:05Z","region":"...","resources":[...],"detail":{...}}
type Event struct {
	// ID identifies the event; empty generates a UUID. CloudEvents keep
	// their own id.
	ID string `json:"id,omitempty"`
	// Source names the producer, e.g. "com.example.orders". Required.
	Source string `json:"source"`
	// DetailType says what happened, e.g. "Order Placed". Required.
	DetailType string `json:"detail-type"`
	// Detail is the event's payload: a JSON object. Required.
	Detail json.RawMessage `json:"detail"`
	// Resources lists what the event concerns (ARNs, URNs, names).
	Resources []string `json:"resources,omitempty"`
	// Time is when the event happened; zero is the time it is accepted.
	Time time.Time `json:"time,omitzero"`
	// Account is the tenant the event belongs to (EventBridge's account);
	// empty is the backend's default.
	Account string `json:"account,omitempty"`
	// Region is the zone the event comes from; empty is the backend's
	// default.
	Region string `json:"region,omitempty"`
	// Headers are carried with the event to every target (trace context
	// travels here); they are not part of the envelope.
	Headers map[string]string `json:"headers,omitempty"`
}

// PutEventsResult is the outcome of one event of a PutEvents batch.
type PutEventsResult struct {
	ID  string
	Err error
}

// RuleState says whether a rule routes events.
type RuleState string

// The rule states.
const (
	RuleEnabled  RuleState = "enabled"
	RuleDisabled RuleState = "disabled"
)

// Rule routes the events that match its pattern, or the events its
// schedule emits, to its targets.
type Rule struct {
	Description string `json:"description,omitempty"`
	// Pattern is an EventBridge event pattern (see package pattern).
	// Exactly one of Pattern and Schedule is set.
	Pattern json.RawMessage `json:"pattern,omitempty"`
	// Schedule is "rate(5 minutes)" or "cron(0 12 * * ? *)" (package
	// schedule); the rule then emits a "Scheduled Event" to its targets on
	// time, and matches no other events.
	Schedule string `json:"schedule,omitempty"`
	// State is RuleEnabled (the default) or RuleDisabled.
	State RuleState `json:"state,omitempty"`
	// Targets receive the events; at most MaxTargetsPerRule, IDs unique.
	Targets []Target `json:"targets,omitempty"`
}

// TargetKind says where a target delivers.
type TargetKind string

// The target kinds.
const (
	// TargetQueue sends to a courier queue (field Queue).
	TargetQueue TargetKind = "queue"
	// TargetTopic publishes to a courier topic (field Topic).
	TargetTopic TargetKind = "topic"
	// TargetStream appends to a courier stream (field Stream), keyed by
	// PartitionKeyPath.
	TargetStream TargetKind = "stream"
	// TargetBus puts the event on another bus (field Bus).
	TargetBus TargetKind = "bus"
	// TargetHTTP POSTs to an endpoint (field HTTP): an API destination.
	TargetHTTP TargetKind = "http"
	// TargetHandler keeps deliveries for a handler that pulls them
	// (ReceiveTarget), such as a Go function registered in-process.
	TargetHandler TargetKind = "handler"
)

// InputTransformer reshapes the event for a target: values picked by JSON
// paths fill the <name> placeholders of a template (package transform).
type InputTransformer struct {
	InputPaths map[string]string `json:"input_paths,omitempty"`
	Template   string            `json:"template"`
}

// HTTPTarget is an API destination.
type HTTPTarget struct {
	// Endpoint is the http:// or https:// URL events are POSTed to.
	Endpoint string `json:"endpoint"`
	// AuthHeader and AuthValue, when set, are sent with every request
	// (e.g. "Authorization", "Bearer ..."). AuthValue is a secret: it is
	// stored but never returned (info shows "****").
	AuthHeader string `json:"auth_header,omitempty"`
	AuthValue  string `json:"auth_value,omitempty"`
	// Headers are sent with every request.
	Headers map[string]string `json:"headers,omitempty"`
	// MaxPerSecond limits requests per second; 0 is unlimited.
	MaxPerSecond int `json:"max_per_second,omitempty"`
	// Timeout bounds one request; default 15s, range 1ms..60s.
	Timeout time.Duration `json:"timeout,omitempty"`
	// CloudEventsMode is how a target with CloudEvents set sends the
	// event: CloudEventsStructured (the default: the event as a JSON
	// document) or CloudEventsBinary (attributes in ce-* headers, the
	// detail as the body).
	CloudEventsMode string `json:"cloudevents_mode,omitempty"`
}

// The CloudEvents HTTP content modes of HTTPTarget.CloudEventsMode.
const (
	CloudEventsStructured = "structured"
	CloudEventsBinary     = "binary"
)

// RetryPolicy is how a target retries a failed delivery. The wait before
// retry n is drawn uniformly from [0, min(MaxDelay, MinDelay*2^(n-1))]
// (full jitter).
type RetryPolicy struct {
	// MaxAttempts is how many times a delivery is tried; default 185 (as
	// EventBridge), range 1..1000.
	MaxAttempts int `json:"max_attempts,omitempty"`
	// MaxAge gives up on an event this long after it was accepted; default
	// 24h, range 1m..24h.
	MaxAge time.Duration `json:"max_age,omitempty"`
	// MinDelay and MaxDelay bound the backoff; defaults 1s and 5m.
	MinDelay time.Duration `json:"min_delay,omitempty"`
	MaxDelay time.Duration `json:"max_delay,omitempty"`
}

// DefaultRetryPolicy returns the retry policy of a target that chooses none.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{MaxAttempts: 185, MaxAge: 24 * time.Hour, MinDelay: time.Second, MaxDelay: 5 * time.Minute}
}

// Target is where a rule delivers. Exactly the reference field of its Kind
// is set; at most one of Input, InputPath and InputTransformer.
type Target struct {
	// ID names the target within its rule.
	ID   string     `json:"id"`
	Kind TargetKind `json:"kind"`

	Queue  string      `json:"queue,omitempty"`
	Topic  string      `json:"topic,omitempty"`
	Stream string      `json:"stream,omitempty"`
	Bus    string      `json:"bus,omitempty"`
	HTTP   *HTTPTarget `json:"http,omitempty"`
	// PartitionKeyPath is the JSON path of the value that keys records of
	// a stream target (e.g. "$.detail.customer"); empty uses the event id.
	PartitionKeyPath string `json:"partition_key_path,omitempty"`

	// Input replaces the event by this constant JSON text.
	Input json.RawMessage `json:"input,omitempty"`
	// InputPath delivers the part of the event at this JSON path.
	InputPath string `json:"input_path,omitempty"`
	// InputTransformer delivers a template filled from the event.
	InputTransformer *InputTransformer `json:"input_transformer,omitempty"`
	// CloudEvents delivers the event as a structured-mode CloudEvent
	// (JSON) instead of the EventBridge envelope; it applies when the
	// input is the whole event.
	CloudEvents bool `json:"cloudevents,omitempty"`

	// Retry applies to kinds other than queue; zero fields take the
	// defaults of DefaultRetryPolicy.
	Retry RetryPolicy `json:"retry,omitzero"`
	// DeadLetterQueue receives deliveries that used up the retry policy or
	// could not be made at all, with headers saying why
	// (courier-dlq-reason, courier-dlq-error, courier-bus, courier-rule,
	// courier-target, courier-attempts). It must be a standard queue, and
	// cannot be deleted while a target uses it.
	DeadLetterQueue string `json:"dlq,omitempty"`
	// MaxBacklog bounds deliveries waiting for this target; when full, new
	// events go to the dead-letter queue (or are dropped and counted).
	// Default DefaultTargetBacklog.
	MaxBacklog int `json:"max_backlog,omitempty"`
}

// TargetStats are a target's counters since the backend started, and its
// backlog now.
type TargetStats struct {
	ID           string     `json:"id"`
	Delivered    int64      `json:"delivered"`     // delivered with success
	Retried      int64      `json:"retried"`       // failed attempts that will be retried
	Failed       int64      `json:"failed"`        // gave up: retry policy used up, or undeliverable
	DeadLettered int64      `json:"dead_lettered"` // of Failed and Overflowed, moved to the dead-letter queue
	Overflowed   int64      `json:"overflowed"`    // refused because the backlog was full
	Backlog      QueueStats `json:"backlog"`
}

// RuleStats are a rule's counters.
type RuleStats struct {
	Matched int64         `json:"matched"` // events matched (or emitted, for schedules)
	Targets []TargetStats `json:"targets"`
}

// RuleInfo describes a rule.
type RuleInfo struct {
	Bus       string    `json:"bus"`
	Name      string    `json:"name"`
	Rule                // as stored, defaults applied, secrets masked
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// NextFire is when a schedule rule fires next.
	NextFire time.Time `json:"next_fire,omitzero"`
	Stats    RuleStats `json:"stats"`
}

// Archive keeps the events of a bus (all, or those matching Pattern) for
// Retention.
type Archive struct {
	Description string          `json:"description,omitempty"`
	Pattern     json.RawMessage `json:"pattern,omitempty"`
	// Retention is how long events are kept; 0 keeps them forever.
	Retention time.Duration `json:"retention"`
}

// ArchiveInfo describes an archive.
type ArchiveInfo struct {
	Bus       string    `json:"bus"`
	Name      string    `json:"name"`
	Archive             // as stored
	CreatedAt time.Time `json:"created_at"`
	Events    int64     `json:"events"` // events kept now
	Bytes     int64     `json:"bytes"`  // their size
}

// ReplayState is where a replay is.
type ReplayState string

// The replay states.
const (
	ReplayRunning   ReplayState = "running"
	ReplayCompleted ReplayState = "completed"
	ReplayCancelled ReplayState = "cancelled"
	ReplayFailed    ReplayState = "failed"
)

// Replay re-sends the events of an archive that were accepted in
// [Start, End) to the archive's bus, in order. Replayed events carry a
// "replay-name" field in their envelope, and go only to Rules when set.
type Replay struct {
	Bus     string    `json:"bus"`
	Archive string    `json:"archive"`
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"`
	Rules   []string  `json:"rules,omitempty"`
	// Description is free text.
	Description string `json:"description,omitempty"`
}

// ReplayInfo describes a replay.
type ReplayInfo struct {
	Name      string      `json:"name"`
	Replay                // as requested
	State     ReplayState `json:"state"`
	Replayed  int64       `json:"replayed"`            // events re-sent so far
	LastEvent time.Time   `json:"last_event,omitzero"` // acceptance time of the last event re-sent
	StartedAt time.Time   `json:"started_at"`          // when the replay was started
	EndedAt   time.Time   `json:"ended_at,omitzero"`   // when it completed, was cancelled or failed
	Error     string      `json:"error,omitempty"`     // why it failed
}

// Buses is the event bus pattern (EventBridge semantics).
type Buses interface {
	// CreateBus creates a bus; idempotent like CreateQueue.
	CreateBus(ctx context.Context, name string, attrs BusAttributes) (BusInfo, error)
	// BusInfo returns a bus, or ErrNotFound.
	BusInfo(ctx context.Context, name string) (BusInfo, error)
	// ListBuses returns the bus names in sorted order.
	ListBuses(ctx context.Context) ([]string, error)
	// DeleteBus deletes a bus with its rules, their pending deliveries and
	// its archives. The default bus cannot be deleted (ErrInvalid).
	DeleteBus(ctx context.Context, name string) error
	// PutEvents validates and stores events, routing each to the targets
	// of the enabled rules it matches, and returns one result per event
	// after the accepted ones are durable. Delivery happens afterwards.
	PutEvents(ctx context.Context, bus string, events []Event) ([]PutEventsResult, error)
	// PutRule creates or replaces a rule (targets included). Targets that
	// keep their ID and kind keep their pending deliveries.
	PutRule(ctx context.Context, bus, name string, rule Rule) (RuleInfo, error)
	// PutTargets adds targets to a rule or replaces those with equal IDs.
	PutTargets(ctx context.Context, bus, rule string, targets []Target) (RuleInfo, error)
	// RemoveTargets removes targets by ID, with their pending deliveries.
	RemoveTargets(ctx context.Context, bus, rule string, ids []string) (RuleInfo, error)
	// RuleInfo returns a rule, or ErrNotFound.
	RuleInfo(ctx context.Context, bus, name string) (RuleInfo, error)
	// ListRules returns the bus's rules by name.
	ListRules(ctx context.Context, bus string) ([]RuleInfo, error)
	// DeleteRule deletes a rule and its pending deliveries.
	DeleteRule(ctx context.Context, bus, name string) error
	// ReceiveTarget reads the deliveries waiting for a handler target, as
	// Receive reads a queue.
	ReceiveTarget(ctx context.Context, bus, rule, target string, req ReceiveRequest) ([]Delivery, error)
	// SettleTarget settles a delivery of a handler target: an empty
	// failure acks it; otherwise the target's retry policy applies (retry
	// after a jittered backoff, or the dead-letter queue, with failure in
	// the courier-dlq-error header).
	SettleTarget(ctx context.Context, bus, rule, target, receipt, failure string) error
	// CreateArchive creates an archive of a bus; idempotent for equal
	// settings, ErrConflict otherwise.
	CreateArchive(ctx context.Context, bus, name string, a Archive) (ArchiveInfo, error)
	// ArchiveInfo returns an archive, or ErrNotFound.
	ArchiveInfo(ctx context.Context, bus, name string) (ArchiveInfo, error)
	// ListArchives returns a bus's archives by name.
	ListArchives(ctx context.Context, bus string) ([]ArchiveInfo, error)
	// DeleteArchive deletes an archive and its events.
	DeleteArchive(ctx context.Context, bus, name string) error
	// StartReplay starts replaying; names are unique among replays.
	StartReplay(ctx context.Context, name string, r Replay) (ReplayInfo, error)
	// ReplayInfo returns a replay, or ErrNotFound.
	ReplayInfo(ctx context.Context, name string) (ReplayInfo, error)
	// ListReplays returns every replay by name.
	ListReplays(ctx context.Context) ([]ReplayInfo, error)
	// CancelReplay stops a running replay; ErrConflict when it has ended.
	CancelReplay(ctx context.Context, name string) (ReplayInfo, error)
}
