package pbconv

import (
	"encoding/json"

	"github.com/courier-io/courier/driver"
	pb "github.com/courier-io/courier/internal/gen/courier/v1"
)

// The enums of buses, by their courier values.
var (
	RuleStates = map[pb.RuleState]driver.RuleState{
		pb.RuleState_RULE_STATE_ENABLED:  driver.RuleEnabled,
		pb.RuleState_RULE_STATE_DISABLED: driver.RuleDisabled,
	}
	TargetKinds = map[pb.TargetKind]driver.TargetKind{
		pb.TargetKind_TARGET_KIND_QUEUE:   driver.TargetQueue,
		pb.TargetKind_TARGET_KIND_TOPIC:   driver.TargetTopic,
		pb.TargetKind_TARGET_KIND_STREAM:  driver.TargetStream,
		pb.TargetKind_TARGET_KIND_BUS:     driver.TargetBus,
		pb.TargetKind_TARGET_KIND_HTTP:    driver.TargetHTTP,
		pb.TargetKind_TARGET_KIND_HANDLER: driver.TargetHandler,
	}
	ReplayStates = map[pb.ReplayState]driver.ReplayState{
		pb.ReplayState_REPLAY_STATE_RUNNING:   driver.ReplayRunning,
		pb.ReplayState_REPLAY_STATE_COMPLETED: driver.ReplayCompleted,
		pb.ReplayState_REPLAY_STATE_CANCELLED: driver.ReplayCancelled,
		pb.ReplayState_REPLAY_STATE_FAILED:    driver.ReplayFailed,
	}
)

// RawJSON returns JSON text as a json.RawMessage; empty text is none.
func RawJSON(s string) json.RawMessage {
	if s == "" {
		return nil
	}
	return json.RawMessage(s)
}

// BusInfoPB converts a bus's description.
func BusInfoPB(i driver.BusInfo) *pb.BusInfo {
	return &pb.BusInfo{
		Name: i.Name, Description: i.Attributes.Description, CreatedAt: TimePB(i.CreatedAt),
		Stats: &pb.BusStats{Accepted: i.Stats.Accepted, Matched: i.Stats.Matched, Unmatched: i.Stats.Unmatched, Rules: int32(i.Stats.Rules), Archives: int32(i.Stats.Archives)},
	}
}

// Target converts a target; field names it in errors.
func Target(field string, t *pb.Target) (driver.Target, error) {
	kind, err := EnumOf(field+".kind", t.GetKind(), driver.TargetKind(""), TargetKinds)
	if err != nil {
		return driver.Target{}, err
	}
	out := driver.Target{
		ID: t.GetId(), Kind: kind, Queue: t.GetQueue(), Topic: t.GetTopic(), Stream: t.GetStream(), Bus: t.GetBus(),
		PartitionKeyPath: t.GetPartitionKeyPath(), Input: RawJSON(t.GetInput()), InputPath: t.GetInputPath(),
		CloudEvents: t.GetCloudevents(), DeadLetterQueue: t.GetDeadLetterQueue(), MaxBacklog: int(t.GetMaxBacklog()),
	}
	if h := t.GetHttp(); h != nil {
		timeout, err := Duration(field+".http.timeout", h.GetTimeout())
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
		if out.Retry.MaxAge, err = Duration(field+".retry.max_age", r.GetMaxAge()); err != nil {
			return out, err
		}
		if out.Retry.MinDelay, err = Duration(field+".retry.min_delay", r.GetMinDelay()); err != nil {
			return out, err
		}
		if out.Retry.MaxDelay, err = Duration(field+".retry.max_delay", r.GetMaxDelay()); err != nil {
			return out, err
		}
	}
	return out, nil
}

// Targets converts targets, refusing more than a rule may have
// before converting any.
func Targets(field string, ts []*pb.Target) ([]driver.Target, error) {
	if len(ts) > driver.MaxTargetsPerRule {
		return nil, driver.TooLarge(field, "%d targets; the limit is %d", len(ts), driver.MaxTargetsPerRule)
	}
	out := make([]driver.Target, len(ts))
	for i, t := range ts {
		var err error
		if out[i], err = Target(FieldIndex(field, i, ""), t); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// TargetPB converts a target.
func TargetPB(t driver.Target) *pb.Target {
	out := &pb.Target{
		Id: t.ID, Kind: EnumPB[pb.TargetKind](t.Kind, TargetKinds), Queue: t.Queue, Topic: t.Topic, Stream: t.Stream, Bus: t.Bus,
		PartitionKeyPath: t.PartitionKeyPath, Input: string(t.Input), InputPath: t.InputPath, Cloudevents: t.CloudEvents,
		DeadLetterQueue: t.DeadLetterQueue, MaxBacklog: int64(t.MaxBacklog),
		Retry: &pb.RetryPolicy{
			MaxAttempts: int32(t.Retry.MaxAttempts), MaxAge: DurationPB(t.Retry.MaxAge),
			MinDelay: DurationPB(t.Retry.MinDelay), MaxDelay: DurationPB(t.Retry.MaxDelay),
		},
	}
	if h := t.HTTP; h != nil {
		out.Http = &pb.HTTPTarget{
			Endpoint: h.Endpoint, AuthHeader: h.AuthHeader, AuthValue: h.AuthValue, Headers: h.Headers,
			MaxPerSecond: int32(h.MaxPerSecond), Timeout: DurationPB(h.Timeout), CloudeventsMode: h.CloudEventsMode,
		}
	}
	if it := t.InputTransformer; it != nil {
		out.InputTransformer = &pb.InputTransformer{InputPaths: it.InputPaths, Template: it.Template}
	}
	return out
}

// RuleInfoPB converts a rule's description.
func RuleInfoPB(i driver.RuleInfo) *pb.RuleInfo {
	rule := &pb.Rule{Description: i.Description, Pattern: string(i.Pattern), Schedule: i.Schedule, State: EnumPB[pb.RuleState](i.State, RuleStates)}
	for _, t := range i.Targets {
		rule.Targets = append(rule.Targets, TargetPB(t))
	}
	stats := &pb.RuleStats{Matched: i.Stats.Matched}
	for _, t := range i.Stats.Targets {
		stats.Targets = append(stats.Targets, &pb.TargetStats{
			Id: t.ID, Delivered: t.Delivered, Retried: t.Retried, Failed: t.Failed, DeadLettered: t.DeadLettered,
			Overflowed: t.Overflowed, Backlog: QueueStatsPB(t.Backlog),
		})
	}
	return &pb.RuleInfo{
		Bus: i.Bus, Name: i.Name, Rule: rule, CreatedAt: TimePB(i.CreatedAt), UpdatedAt: TimePB(i.UpdatedAt),
		NextFire: TimePB(i.NextFire), Stats: stats,
	}
}

// ArchiveInfoPB converts an archive's description.
func ArchiveInfoPB(i driver.ArchiveInfo) *pb.ArchiveInfo {
	return &pb.ArchiveInfo{
		Bus: i.Bus, Name: i.Name, CreatedAt: TimePB(i.CreatedAt), Events: i.Events, Bytes: i.Bytes,
		Archive: &pb.Archive{Description: i.Description, Pattern: string(i.Pattern), Retention: DurationPB(i.Retention)},
	}
}

// ReplayInfoPB converts a replay's description.
func ReplayInfoPB(i driver.ReplayInfo) *pb.ReplayInfo {
	return &pb.ReplayInfo{
		Name: i.Name, State: EnumPB[pb.ReplayState](i.State, ReplayStates), Replayed: i.Replayed,
		LastEvent: TimePB(i.LastEvent), StartedAt: TimePB(i.StartedAt), EndedAt: TimePB(i.EndedAt), Error: i.Error,
		Replay: &pb.Replay{
			Bus: i.Bus, Archive: i.Archive, Start: TimePB(i.Start), End: TimePB(i.End), Rules: i.Rules, Description: i.Description,
		},
	}
}
