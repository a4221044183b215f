package server

import (
	"errors"
	"strconv"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/driver"
	pb "github.com/courier-io/courier/internal/gen/courier/v1"
	"github.com/courier-io/courier/internal/httpapi"
)

// Conversions between the protobuf messages of courier.v1 and the types of
// the courier API, shared by the gRPC services. Conversions from requests
// check only what the protobuf encoding leaves open (a malformed
// duration, an unknown enum value); every rule lives in the courier API.

// durationOf returns d, or 0 when unset; field names it in errors.
func durationOf(field string, d *durationpb.Duration) (time.Duration, error) {
	if d == nil {
		return 0, nil
	}
	if err := d.CheckValid(); err != nil {
		return 0, driver.Invalid(field, "not a valid duration: %v", err)
	}
	return d.AsDuration(), nil
}

// durationPtr returns d as a pointer, nil when unset.
func durationPtr(field string, d *durationpb.Duration) (*time.Duration, error) {
	if d == nil {
		return nil, nil
	}
	v, err := durationOf(field, d)
	return &v, err
}

// timeOf returns t, or the zero time when unset.
func timeOf(field string, t *timestamppb.Timestamp) (time.Time, error) {
	if t == nil {
		return time.Time{}, nil
	}
	if err := t.CheckValid(); err != nil {
		return time.Time{}, driver.Invalid(field, "not a valid timestamp: %v", err)
	}
	return t.AsTime(), nil
}

func durationPB(d time.Duration) *durationpb.Duration { return durationpb.New(d) }

// timePB returns t, nil for the zero time.
func timePB(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

// errorPB is the error object of a batch entry.
func errorPB(err error) *pb.Error {
	if err == nil {
		return nil
	}
	_, e := httpapi.ErrorOf(err)
	return &pb.Error{Code: e.Code, Message: e.Message, Field: e.Field}
}

// batchSize checks the length of a batch before its entries are
// converted: empty, or over the server's Limits.MaxBatch.
func (g *grpcAPI) batchSize(field string, n int) error {
	if n == 0 {
		return driver.Invalid(field, "is empty; send 1 to %d entries", g.s.limits.MaxBatch)
	}
	return g.s.checkBatch(field, n, func(int) int { return 0 })
}

// messagesDriver converts the messages of a send or publish, after
// checking the batch against the server's limits (count, then each
// message's size) so that nothing is copied for a batch it refuses.
func (g *grpcAPI) messagesDriver(ms []*pb.Message) ([]courier.Message, error) {
	if err := g.batchSize("messages", len(ms)); err != nil {
		return nil, err
	}
	err := g.s.checkBatch("messages", len(ms), func(i int) int {
		n := len(ms[i].GetBody())
		for k, v := range ms[i].GetHeaders() {
			n += len(k) + len(v)
		}
		return n
	})
	if err != nil {
		return nil, err
	}
	out := make([]courier.Message, len(ms))
	for i, m := range ms {
		delay, err := durationOf(fieldIndex("messages", i, "delay"), m.GetDelay())
		if err != nil {
			return nil, err
		}
		body := m.GetBody()
		if body == nil {
			body = []byte{}
		}
		out[i] = courier.Message{Body: body, Headers: m.GetHeaders(), Delay: delay, DedupID: m.GetDedupId(), Group: m.GetGroup()}
	}
	return out, nil
}

// fieldIndex is "batch[i].name" ("batch[i]" when name is empty).
func fieldIndex(batch string, i int, name string) string {
	f := batch + "[" + strconv.Itoa(i) + "]"
	if name == "" {
		return f
	}
	return f + "." + name
}

func sendResultsPB(res []courier.SendResult) []*pb.SendResult {
	out := make([]*pb.SendResult, len(res))
	for i, r := range res {
		out[i] = &pb.SendResult{Id: r.ID, Duplicate: r.Duplicate, Sequence: r.Sequence, Error: errorPB(r.Err)}
	}
	return out
}

func deliveryPB(d *driver.Delivery) *pb.Delivery {
	return &pb.Delivery{
		Id: d.ID, Body: d.Body, Headers: d.Headers, Receipt: d.Receipt, ReceiveCount: int32(d.ReceiveCount),
		SentAt: timePB(d.SentAt), FirstReceivedAt: timePB(d.FirstReceivedAt), Group: d.Group, DedupId: d.DedupID,
		Sequence: d.Sequence, SourceQueue: d.SourceQueue,
	}
}

// settled answers an ack, nack or extend: the receipts that failed, or
// the call's error.
func settled(err error) ([]*pb.SettleFailure, error) {
	out := []*pb.SettleFailure{}
	var be *courier.BatchError
	switch {
	case errors.As(err, &be):
		for i, e := range be.Errors {
			if e != nil {
				out = append(out, &pb.SettleFailure{Index: int32(i), Error: errorPB(e)})
			}
		}
	case err != nil:
		return nil, err
	}
	return out, nil
}

// queueAttributesApply overwrites the attributes of a that in sets.
func queueAttributesApply(in *pb.QueueAttributes, a *driver.QueueAttributes) error {
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
		v, err := durationPtr(d.field, d.in)
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

// ptr returns a pointer to v, for optional fields.
func ptr[T any](v T) *T { return &v }

func queueAttributesPB(a driver.QueueAttributes) *pb.QueueAttributes {
	return &pb.QueueAttributes{
		VisibilityTimeout: durationPB(a.VisibilityTimeout), RetentionPeriod: durationPB(a.RetentionPeriod),
		DeliveryDelay: durationPB(a.DeliveryDelay), ReceiveWait: durationPB(a.ReceiveWait),
		MaxMessageSize: ptr(int32(a.MaxMessageSize)), MaxReceives: ptr(int32(a.MaxReceives)),
		DeadLetterQueue: ptr(a.DeadLetterQueue), Fifo: ptr(a.FIFO), ContentBasedDedup: ptr(a.ContentBasedDedup),
	}
}

func queueStatsPB(s driver.QueueStats) *pb.QueueStats {
	return &pb.QueueStats{Visible: s.Visible, InFlight: s.InFlight, Delayed: s.Delayed, OldestAge: durationPB(s.OldestAge)}
}

func queueInfoPB(i driver.QueueInfo) *pb.QueueInfo {
	return &pb.QueueInfo{
		Name: i.Name, Attributes: queueAttributesPB(i.Attributes), CreatedAt: timePB(i.CreatedAt),
		UpdatedAt: timePB(i.UpdatedAt), Stats: queueStatsPB(i.Stats),
	}
}

// enumOf returns the value of table that v names; 0 (unspecified) is
// zero, and values outside the table are refused naming field.
func enumOf[E ~int32, V any](field string, v E, zero V, table map[E]V) (V, error) {
	if v == 0 {
		return zero, nil
	}
	out, ok := table[v]
	if !ok {
		return zero, driver.Invalid(field, "unknown value %d", int32(v))
	}
	return out, nil
}

// enumPB returns the enum value whose table entry is v (0 when none).
func enumPB[E ~int32, V comparable](v V, table map[E]V) E {
	for e, x := range table {
		if x == v {
			return e
		}
	}
	return 0
}
