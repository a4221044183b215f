package server

import (
	"errors"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/driver"
	pb "github.com/courier-io/courier/internal/gen/courier/v1"
	"github.com/courier-io/courier/internal/pbconv"
)

// Conversions between the protobuf messages of courier.v1 and the types of
// the courier API, shared by the gRPC services. Conversions from requests
// check only what the protobuf encoding leaves open (a malformed
// duration, an unknown enum value); every rule lives in the courier API.

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
		delay, err := pbconv.Duration(pbconv.FieldIndex("messages", i, "delay"), m.GetDelay())
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

func sendResultsPB(res []courier.SendResult) []*pb.SendResult {
	out := make([]*pb.SendResult, len(res))
	for i, r := range res {
		out[i] = &pb.SendResult{Id: r.ID, Duplicate: r.Duplicate, Sequence: r.Sequence, Error: pbconv.ErrorPB(r.Err)}
	}
	return out
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
				out = append(out, &pb.SettleFailure{Index: int32(i), Error: pbconv.ErrorPB(e)})
			}
		}
	case err != nil:
		return nil, err
	}
	return out, nil
}
