package pbconv

import (
	"strconv"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/courier-io/courier/driver"
	pb "github.com/courier-io/courier/internal/gen/courier/v1"
	"github.com/courier-io/courier/internal/httpapi"
)

// Duration returns d, or 0 when unset; field names it in errors.
func Duration(field string, d *durationpb.Duration) (time.Duration, error) {
	if d == nil {
		return 0, nil
	}
	if err := d.CheckValid(); err != nil {
		return 0, driver.Invalid(field, "not a valid duration: %v", err)
	}
	return d.AsDuration(), nil
}

// DurationPtr returns d as a pointer, nil when unset.
func DurationPtr(field string, d *durationpb.Duration) (*time.Duration, error) {
	if d == nil {
		return nil, nil
	}
	v, err := Duration(field, d)
	return &v, err
}

// Time returns t, or the zero time when unset.
func Time(field string, t *timestamppb.Timestamp) (time.Time, error) {
	if t == nil {
		return time.Time{}, nil
	}
	if err := t.CheckValid(); err != nil {
		return time.Time{}, driver.Invalid(field, "not a valid timestamp: %v", err)
	}
	return t.AsTime(), nil
}

// DurationPB converts d.
func DurationPB(d time.Duration) *durationpb.Duration { return durationpb.New(d) }

// TimePB returns t, nil for the zero time.
func TimePB(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

// ErrorPB is the error object of a batch entry.
func ErrorPB(err error) *pb.Error {
	if err == nil {
		return nil
	}
	_, e := httpapi.ErrorOf(err)
	return &pb.Error{Code: e.Code, Message: e.Message, Field: e.Field}
}

// FieldIndex is "batch[i].name" ("batch[i]" when name is empty).
func FieldIndex(batch string, i int, name string) string {
	f := batch + "[" + strconv.Itoa(i) + "]"
	if name == "" {
		return f
	}
	return f + "." + name
}

// DeliveryPB converts a received message.
func DeliveryPB(d *driver.Delivery) *pb.Delivery {
	return &pb.Delivery{
		Id: d.ID, Body: d.Body, Headers: d.Headers, Receipt: d.Receipt, ReceiveCount: int32(d.ReceiveCount),
		SentAt: TimePB(d.SentAt), FirstReceivedAt: TimePB(d.FirstReceivedAt), Group: d.Group, DedupId: d.DedupID,
		Sequence: d.Sequence, SourceQueue: d.SourceQueue,
	}
}

// ApplyQueueAttributes overwrites the attributes of a that in sets.
func ApplyQueueAttributes(in *pb.QueueAttributes, a *driver.QueueAttributes) error {
	if in == nil {
		return nil
	}
	for _, d := range []struct {
		field string
		in    *durationpb.Duration
		out   *time.Duration
	}{
		{"visibility_timeout", in.VisibilityTimeout, &a.VisibilityTimeout},
		{"retention_period", in.RetentionPeriod, &a.RetentionPeriod},
		{"delivery_delay", in.DeliveryDelay, &a.DeliveryDelay},
		{"receive_wait", in.ReceiveWait, &a.ReceiveWait},
	} {
		v, err := DurationPtr(d.field, d.in)
		if err != nil {
			return err
		}
		if v != nil {
			*d.out = *v
		}
	}
	if in.MaxMessageSize != nil {
		a.MaxMessageSize = int(*in.MaxMessageSize)
	}
	if in.MaxReceives != nil {
		a.MaxReceives = int(*in.MaxReceives)
	}
	if in.DeadLetterQueue != nil {
		a.DeadLetterQueue = *in.DeadLetterQueue
	}
	if in.Fifo != nil {
		a.FIFO = *in.Fifo
	}
	if in.ContentBasedDedup != nil {
		a.ContentBasedDedup = *in.ContentBasedDedup
	}
	return nil
}

// Ptr returns a pointer to v, for optional fields.
func Ptr[T any](v T) *T { return &v }

// QueueAttributesPB converts complete queue attributes, every field set.
func QueueAttributesPB(a driver.QueueAttributes) *pb.QueueAttributes {
	return &pb.QueueAttributes{
		VisibilityTimeout: DurationPB(a.VisibilityTimeout), RetentionPeriod: DurationPB(a.RetentionPeriod),
		DeliveryDelay: DurationPB(a.DeliveryDelay), ReceiveWait: DurationPB(a.ReceiveWait),
		MaxMessageSize: Ptr(int32(a.MaxMessageSize)), MaxReceives: Ptr(int32(a.MaxReceives)),
		DeadLetterQueue: Ptr(a.DeadLetterQueue), Fifo: Ptr(a.FIFO), ContentBasedDedup: Ptr(a.ContentBasedDedup),
	}
}

// QueueStatsPB converts a queue's counters.
func QueueStatsPB(s driver.QueueStats) *pb.QueueStats {
	return &pb.QueueStats{Visible: s.Visible, InFlight: s.InFlight, Delayed: s.Delayed, OldestAge: DurationPB(s.OldestAge)}
}

// QueueInfoPB converts a queue's description.
func QueueInfoPB(i driver.QueueInfo) *pb.QueueInfo {
	return &pb.QueueInfo{
		Name: i.Name, Attributes: QueueAttributesPB(i.Attributes), CreatedAt: TimePB(i.CreatedAt),
		UpdatedAt: TimePB(i.UpdatedAt), Stats: QueueStatsPB(i.Stats),
	}
}

// EnumOf returns the value of table that v names; 0 (unspecified) is
// zero, and values outside the table are refused naming field.
func EnumOf[E ~int32, V any](field string, v E, zero V, table map[E]V) (V, error) {
	if v == 0 {
		return zero, nil
	}
	out, ok := table[v]
	if !ok {
		return zero, driver.Invalid(field, "unknown value %d", int32(v))
	}
	return out, nil
}

// EnumPB returns the enum value whose table entry is v (0 when none).
func EnumPB[E ~int32, V comparable](v V, table map[E]V) E {
	for e, x := range table {
		if x == v {
			return e
		}
	}
	return 0
}
