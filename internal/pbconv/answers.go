package pbconv

import (
	"fmt"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/courier-io/courier/driver"
	pb "github.com/courier-io/courier/internal/gen/courier/v1"
	"github.com/courier-io/courier/internal/httpapi"
)

// The conversions a client needs: driver requests to protobuf, and the
// server's answers back to driver values. Answers come from a courier
// server, which sets every field it documents; an unset message field
// reads as the zero value.

// timeOrZero returns t, the zero time when unset.
func timeOrZero(t *timestamppb.Timestamp) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.AsTime()
}

// Err is the error of a batch entry's error object; nil when unset.
func Err(e *pb.Error) error {
	if e == nil {
		return nil
	}
	return httpapi.Error{Code: e.GetCode(), Message: e.GetMessage(), Field: e.GetField()}.Err()
}

// MessagePB converts a message to send or publish.
func MessagePB(m driver.Message) *pb.Message {
	out := &pb.Message{Body: m.Body, Headers: m.Headers, DedupId: m.DedupID, Group: m.Group}
	if out.Body == nil {
		out.Body = []byte{}
	}
	if m.Delay != 0 {
		out.Delay = durationpb.New(m.Delay)
	}
	return out
}

// MessagesPB converts a batch of messages.
func MessagesPB(ms []driver.Message) []*pb.Message {
	out := make([]*pb.Message, len(ms))
	for i, m := range ms {
		out[i] = MessagePB(m)
	}
	return out
}

// SendResults converts the results of a send or publish of n messages.
func SendResults(rs []*pb.SendResult, n int) ([]driver.SendResult, error) {
	if len(rs) != n {
		return nil, answerCount("results", len(rs), n)
	}
	out := make([]driver.SendResult, n)
	for i, r := range rs {
		out[i] = driver.SendResult{ID: r.GetId(), Duplicate: r.GetDuplicate(), Sequence: r.GetSequence(), Err: Err(r.GetError())}
	}
	return out, nil
}

// answerCount is the error of an answer with the wrong number of entries.
func answerCount(what string, got, want int) error {
	return fmt.Errorf("the server answered %d %s for %d entries", got, what, want)
}

// Deliveries converts received messages.
func Deliveries(ds []*pb.Delivery) []driver.Delivery {
	out := make([]driver.Delivery, len(ds))
	for i, d := range ds {
		out[i] = Delivery(d)
	}
	return out
}

// Delivery converts one received message.
func Delivery(d *pb.Delivery) driver.Delivery {
	return driver.Delivery{
		ID: d.GetId(), Body: nonNil(d.GetBody()), Headers: d.GetHeaders(), Receipt: d.GetReceipt(),
		ReceiveCount: int(d.GetReceiveCount()), SentAt: timeOrZero(d.GetSentAt()), FirstReceivedAt: timeOrZero(d.GetFirstReceivedAt()),
		Group: d.GetGroup(), DedupID: d.GetDedupId(), Sequence: d.GetSequence(), SourceQueue: d.GetSourceQueue(),
	}
}

// nonNil returns b, or an empty slice for nil: an empty body is not nil.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// SettleErrors converts the failures of a settle of n receipts into one
// error per receipt.
func SettleErrors(failed []*pb.SettleFailure, n int) ([]error, error) {
	errs := make([]error, n)
	for _, f := range failed {
		i := int(f.GetIndex())
		if i < 0 || i >= n {
			return nil, fmt.Errorf("the server answered a failure for receipt %d of %d", i, n)
		}
		errs[i] = Err(f.GetError())
	}
	return errs, nil
}

// QueueStats converts a queue's counters.
func QueueStats(s *pb.QueueStats) driver.QueueStats {
	return driver.QueueStats{Visible: s.GetVisible(), InFlight: s.GetInFlight(), Delayed: s.GetDelayed(), OldestAge: s.GetOldestAge().AsDuration()}
}

// QueueAttributes converts complete queue attributes of an answer.
func QueueAttributes(a *pb.QueueAttributes) driver.QueueAttributes {
	return driver.QueueAttributes{
		VisibilityTimeout: a.GetVisibilityTimeout().AsDuration(), RetentionPeriod: a.GetRetentionPeriod().AsDuration(),
		DeliveryDelay: a.GetDeliveryDelay().AsDuration(), ReceiveWait: a.GetReceiveWait().AsDuration(),
		MaxMessageSize: int(a.GetMaxMessageSize()), MaxReceives: int(a.GetMaxReceives()), DeadLetterQueue: a.GetDeadLetterQueue(),
		FIFO: a.GetFifo(), ContentBasedDedup: a.GetContentBasedDedup(),
	}
}

// QueueInfo converts a queue's description.
func QueueInfo(i *pb.QueueInfo) driver.QueueInfo {
	return driver.QueueInfo{
		Name: i.GetName(), Attributes: QueueAttributes(i.GetAttributes()), CreatedAt: timeOrZero(i.GetCreatedAt()),
		UpdatedAt: timeOrZero(i.GetUpdatedAt()), Stats: QueueStats(i.GetStats()),
	}
}

// TopicAttributesPB converts complete topic attributes.
func TopicAttributesPB(a driver.TopicAttributes) *pb.TopicAttributes {
	return &pb.TopicAttributes{Fifo: Ptr(a.FIFO), ContentBasedDedup: Ptr(a.ContentBasedDedup), MaxMessageSize: Ptr(int32(a.MaxMessageSize))}
}

// TopicInfo converts a topic's description.
func TopicInfo(i *pb.TopicInfo) driver.TopicInfo {
	a, s := i.GetAttributes(), i.GetStats()
	return driver.TopicInfo{
		Name:       i.GetName(),
		Attributes: driver.TopicAttributes{FIFO: a.GetFifo(), ContentBasedDedup: a.GetContentBasedDedup(), MaxMessageSize: int(a.GetMaxMessageSize())},
		CreatedAt:  timeOrZero(i.GetCreatedAt()),
		Stats:      driver.TopicStats{Published: s.GetPublished(), Subscriptions: int(s.GetSubscriptions()), Tails: int(s.GetTails())},
	}
}

// SubscriptionPB converts a subscription request.
func SubscriptionPB(s driver.Subscription) *pb.Subscription {
	return SubscriptionInfoPB(driver.SubscriptionInfo{Subscription: s}).GetSubscription()
}

// SubscriptionInfo converts a subscription's description.
func SubscriptionInfo(i *pb.SubscriptionInfo) (driver.SubscriptionInfo, error) {
	sub, err := Subscription(i.GetSubscription())
	if err != nil {
		return driver.SubscriptionInfo{}, err
	}
	if a := i.GetSubscription().GetAttributes(); a != nil {
		attrs := QueueAttributes(a)
		sub.Attributes = &attrs
	}
	status, err := EnumOf("status", i.GetStatus(), driver.SubscriptionStatus(""), SubscriptionStatuses)
	if err != nil {
		return driver.SubscriptionInfo{}, err
	}
	s := i.GetStats()
	return driver.SubscriptionInfo{
		Topic: i.GetTopic(), Name: i.GetName(), Subscription: sub, Status: status,
		CreatedAt: timeOrZero(i.GetCreatedAt()), UpdatedAt: timeOrZero(i.GetUpdatedAt()),
		Stats: driver.SubscriptionStats{
			Delivered: s.GetDelivered(), FilteredOut: s.GetFilteredOut(), PushFailures: s.GetPushFailures(),
			DeadLettered: s.GetDeadLettered(), Backlog: QueueStats(s.GetBacklog()),
		},
	}, nil
}

// StreamAttributesPB converts complete stream attributes.
func StreamAttributesPB(a driver.StreamAttributes) *pb.StreamAttributes {
	return &pb.StreamAttributes{
		Partitions: Ptr(int32(a.Partitions)), Retention: DurationPB(a.Retention), RetentionBytes: Ptr(a.RetentionBytes),
		Compact: Ptr(a.Compact), DeleteRetention: DurationPB(a.DeleteRetention), MaxRecordSize: Ptr(int32(a.MaxRecordSize)),
	}
}

// offsets converts a partition -> offset map.
func offsets(m map[int32]int64) map[int]int64 {
	out := make(map[int]int64, len(m))
	for p, o := range m {
		out[int(p)] = o
	}
	return out
}

// partitions converts partition numbers.
func partitions(ps []int32) []int {
	out := make([]int, len(ps))
	for i, p := range ps {
		out[i] = int(p)
	}
	return out
}

// StreamInfo converts a stream's description.
func StreamInfo(i *pb.StreamInfo) (driver.StreamInfo, error) {
	a := i.GetAttributes()
	out := driver.StreamInfo{
		Name: i.GetName(),
		Attributes: driver.StreamAttributes{
			Partitions: int(a.GetPartitions()), Retention: a.GetRetention().AsDuration(), RetentionBytes: a.GetRetentionBytes(),
			Compact: a.GetCompact(), DeleteRetention: a.GetDeleteRetention().AsDuration(), MaxRecordSize: int(a.GetMaxRecordSize()),
		},
		CreatedAt:  timeOrZero(i.GetCreatedAt()),
		Partitions: []driver.PartitionInfo{},
		Groups:     []driver.GroupInfo{},
	}
	for _, p := range i.GetPartitions() {
		out.Partitions = append(out.Partitions, driver.PartitionInfo{
			Partition: int(p.GetPartition()), First: p.GetFirstOffset(), End: p.GetEndOffset(), Records: p.GetRecords(), Bytes: p.GetBytes(),
		})
	}
	for _, g := range i.GetGroups() {
		start, err := EnumOf("groups.start_from", g.GetStartFrom(), driver.FromEarliest, StartFroms)
		if err != nil {
			return out, err
		}
		gi := driver.GroupInfo{
			Name: g.GetName(), Generation: g.GetGeneration(), Committed: offsets(g.GetCommitted()), Lag: offsets(g.GetLag()),
			StartFrom: start, Members: []driver.MemberInfo{},
		}
		for _, m := range g.GetMembers() {
			gi.Members = append(gi.Members, driver.MemberInfo{Name: m.GetName(), Partitions: partitions(m.GetPartitions()), LastSeen: timeOrZero(m.GetLastSeen())})
		}
		out.Groups = append(out.Groups, gi)
	}
	return out, nil
}

// RecordsPB converts records to append.
func RecordsPB(rs []driver.Record) []*pb.Record {
	out := make([]*pb.Record, len(rs))
	for i, r := range rs {
		out[i] = &pb.Record{Key: r.Key, Value: nonNil(r.Value), Headers: r.Headers}
		if r.Partition != driver.AnyPartition {
			out[i].Partition = Ptr(int32(r.Partition))
		}
	}
	return out
}

// AppendResults converts the results of an append of n records.
func AppendResults(rs []*pb.AppendResult, n int) ([]driver.AppendResult, error) {
	if len(rs) != n {
		return nil, answerCount("results", len(rs), n)
	}
	out := make([]driver.AppendResult, n)
	for i, r := range rs {
		out[i] = driver.AppendResult{Partition: int(r.GetPartition()), Offset: r.GetOffset(), Err: Err(r.GetError())}
	}
	return out, nil
}

// StreamRecords converts read records.
func StreamRecords(rs []*pb.StreamRecord) []driver.StreamRecord {
	out := make([]driver.StreamRecord, len(rs))
	for i, r := range rs {
		out[i] = driver.StreamRecord{
			Partition: int(r.GetPartition()), Offset: r.GetOffset(), Timestamp: timeOrZero(r.GetTimestamp()),
			Key: r.GetKey(), Value: nonNil(r.GetValue()), Headers: r.GetHeaders(),
		}
	}
	return out
}

// PositionPB converts a position.
func PositionPB(p driver.Position) *pb.Position {
	switch p.Kind {
	case driver.FromLatest:
		return &pb.Position{Position: &pb.Position_Latest{Latest: &emptypb.Empty{}}}
	case driver.FromOffset:
		return &pb.Position{Position: &pb.Position_Offset{Offset: p.Offset}}
	case driver.FromTime:
		return &pb.Position{Position: &pb.Position_Time{Time: timestamppb.New(p.Time)}}
	}
	return &pb.Position{Position: &pb.Position_Earliest{Earliest: &emptypb.Empty{}}}
}

// Assignment converts a member's assignment.
func Assignment(a *pb.Assignment) driver.Assignment {
	return driver.Assignment{Generation: a.GetGeneration(), Partitions: partitions(a.GetPartitions()), Offsets: offsets(a.GetOffsets())}
}

// OffsetsOf converts a partition -> offset map of an answer.
func OffsetsOf(m map[int32]int64) map[int]int64 { return offsets(m) }

// EventsPB converts events to put.
func EventsPB(es []driver.Event) []*pb.Event {
	out := make([]*pb.Event, len(es))
	for i, e := range es {
		out[i] = &pb.Event{
			Id: e.ID, Source: e.Source, DetailType: e.DetailType, Detail: string(e.Detail), Resources: e.Resources,
			Time: TimePB(e.Time), Account: e.Account, Region: e.Region, Headers: e.Headers,
		}
	}
	return out
}

// PutEventsResults converts the results of a put of n events.
func PutEventsResults(rs []*pb.PutEventsResult, n int) ([]driver.PutEventsResult, error) {
	if len(rs) != n {
		return nil, answerCount("entries", len(rs), n)
	}
	out := make([]driver.PutEventsResult, n)
	for i, r := range rs {
		out[i] = driver.PutEventsResult{ID: r.GetId(), Err: Err(r.GetError())}
	}
	return out, nil
}

// BusInfo converts a bus's description.
func BusInfo(i *pb.BusInfo) driver.BusInfo {
	s := i.GetStats()
	return driver.BusInfo{
		Name: i.GetName(), Attributes: driver.BusAttributes{Description: i.GetDescription()}, CreatedAt: timeOrZero(i.GetCreatedAt()),
		Stats: driver.BusStats{Accepted: s.GetAccepted(), Matched: s.GetMatched(), Unmatched: s.GetUnmatched(), Rules: int(s.GetRules()), Archives: int(s.GetArchives())},
	}
}

// RulePB converts a rule to put.
func RulePB(r driver.Rule) *pb.Rule {
	out := &pb.Rule{Description: r.Description, Pattern: string(r.Pattern), Schedule: r.Schedule, State: EnumPB[pb.RuleState](r.State, RuleStates)}
	for _, t := range r.Targets {
		out.Targets = append(out.Targets, TargetPB(t))
	}
	return out
}

// TargetsPB converts targets to put.
func TargetsPB(ts []driver.Target) []*pb.Target {
	out := make([]*pb.Target, len(ts))
	for i, t := range ts {
		out[i] = TargetPB(t)
	}
	return out
}

// RuleInfo converts a rule's description.
func RuleInfo(i *pb.RuleInfo) (driver.RuleInfo, error) {
	r := i.GetRule()
	state, err := EnumOf("rule.state", r.GetState(), driver.RuleState(""), RuleStates)
	if err != nil {
		return driver.RuleInfo{}, err
	}
	var targets []driver.Target // nil for none, as the engine answers
	if len(r.GetTargets()) > 0 {
		if targets, err = Targets("rule.targets", r.GetTargets()); err != nil {
			return driver.RuleInfo{}, err
		}
	}
	out := driver.RuleInfo{
		Bus: i.GetBus(), Name: i.GetName(),
		Rule:      driver.Rule{Description: r.GetDescription(), Pattern: RawJSON(r.GetPattern()), Schedule: r.GetSchedule(), State: state, Targets: targets},
		CreatedAt: timeOrZero(i.GetCreatedAt()), UpdatedAt: timeOrZero(i.GetUpdatedAt()), NextFire: timeOrZero(i.GetNextFire()),
		Stats: driver.RuleStats{Matched: i.GetStats().GetMatched(), Targets: []driver.TargetStats{}},
	}
	for _, t := range i.GetStats().GetTargets() {
		out.Stats.Targets = append(out.Stats.Targets, driver.TargetStats{
			ID: t.GetId(), Delivered: t.GetDelivered(), Retried: t.GetRetried(), Failed: t.GetFailed(),
			DeadLettered: t.GetDeadLettered(), Overflowed: t.GetOverflowed(), Backlog: QueueStats(t.GetBacklog()),
		})
	}
	return out, nil
}

// ArchivePB converts an archive to create.
func ArchivePB(a driver.Archive) *pb.Archive {
	return &pb.Archive{Description: a.Description, Pattern: string(a.Pattern), Retention: DurationPB(a.Retention)}
}

// ArchiveInfo converts an archive's description.
func ArchiveInfo(i *pb.ArchiveInfo) driver.ArchiveInfo {
	a := i.GetArchive()
	return driver.ArchiveInfo{
		Bus: i.GetBus(), Name: i.GetName(),
		Archive:   driver.Archive{Description: a.GetDescription(), Pattern: RawJSON(a.GetPattern()), Retention: a.GetRetention().AsDuration()},
		CreatedAt: timeOrZero(i.GetCreatedAt()), Events: i.GetEvents(), Bytes: i.GetBytes(),
	}
}

// ReplayPB converts a replay to start.
func ReplayPB(r driver.Replay) *pb.Replay {
	return &pb.Replay{Bus: r.Bus, Archive: r.Archive, Start: TimePB(r.Start), End: TimePB(r.End), Rules: r.Rules, Description: r.Description}
}

// ReplayInfo converts a replay's description.
func ReplayInfo(i *pb.ReplayInfo) (driver.ReplayInfo, error) {
	state, err := EnumOf("state", i.GetState(), driver.ReplayState(""), ReplayStates)
	if err != nil {
		return driver.ReplayInfo{}, err
	}
	r := i.GetReplay()
	return driver.ReplayInfo{
		Name: i.GetName(),
		Replay: driver.Replay{
			Bus: r.GetBus(), Archive: r.GetArchive(), Start: timeOrZero(r.GetStart()), End: timeOrZero(r.GetEnd()),
			Rules: r.GetRules(), Description: r.GetDescription(),
		},
		State: state, Replayed: i.GetReplayed(), LastEvent: timeOrZero(i.GetLastEvent()), StartedAt: timeOrZero(i.GetStartedAt()),
		EndedAt: timeOrZero(i.GetEndedAt()), Error: i.GetError(),
	}, nil
}
