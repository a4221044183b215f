package client

import (
	"context"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/courier-io/courier/driver"
	pb "github.com/courier-io/courier/internal/gen/courier/v1"
	"github.com/courier-io/courier/internal/pbconv"
)

// CreateQueue implements driver.Queues.
func (c *Conn) CreateQueue(ctx context.Context, name string, attrs driver.QueueAttributes) (driver.QueueInfo, error) {
	res, err := call(ctx, c.queues.CreateQueue, &pb.CreateQueueRequest{Name: name, Attributes: pbconv.QueueAttributesPB(attrs)})
	if err != nil {
		return driver.QueueInfo{}, err
	}
	return pbconv.QueueInfo(res.GetQueue()), nil
}

// QueueInfo implements driver.Queues.
func (c *Conn) QueueInfo(ctx context.Context, name string) (driver.QueueInfo, error) {
	res, err := call(ctx, c.queues.GetQueue, &pb.GetQueueRequest{Name: name})
	if err != nil {
		return driver.QueueInfo{}, err
	}
	return pbconv.QueueInfo(res.GetQueue()), nil
}

// SetQueueAttributes implements driver.Queues.
func (c *Conn) SetQueueAttributes(ctx context.Context, name string, attrs driver.QueueAttributes) (driver.QueueInfo, error) {
	res, err := call(ctx, c.queues.UpdateQueue, &pb.UpdateQueueRequest{Name: name, Attributes: pbconv.QueueAttributesPB(attrs)})
	if err != nil {
		return driver.QueueInfo{}, err
	}
	return pbconv.QueueInfo(res.GetQueue()), nil
}

// ListQueues implements driver.Queues.
func (c *Conn) ListQueues(ctx context.Context) ([]string, error) {
	res, err := call(ctx, c.queues.ListQueues, &pb.ListQueuesRequest{})
	if err != nil {
		return nil, err
	}
	return nonNilNames(res.GetNames()), nil
}

// nonNilNames returns names, or an empty list for none.
func nonNilNames(names []string) []string {
	if names == nil {
		return []string{}
	}
	return names
}

// DeleteQueue implements driver.Queues.
func (c *Conn) DeleteQueue(ctx context.Context, name string) error {
	_, err := call(ctx, c.queues.DeleteQueue, &pb.DeleteQueueRequest{Name: name})
	return err
}

// PurgeQueue implements driver.Queues.
func (c *Conn) PurgeQueue(ctx context.Context, name string) (int, error) {
	res, err := call(ctx, c.queues.PurgeQueue, &pb.PurgeQueueRequest{Name: name})
	if err != nil {
		return 0, err
	}
	return int(res.GetPurged()), nil
}

// Send implements driver.Queues.
func (c *Conn) Send(ctx context.Context, queue string, msgs []driver.Message) ([]driver.SendResult, error) {
	res, err := call(ctx, c.queues.Send, &pb.SendRequest{Queue: queue, Messages: pbconv.MessagesPB(msgs)})
	if err != nil {
		return nil, err
	}
	return pbconv.SendResults(res.GetResults(), len(msgs))
}

// Receive implements driver.Queues with one Pull.
func (c *Conn) Receive(ctx context.Context, queue string, req driver.ReceiveRequest) ([]driver.Delivery, error) {
	pr := &pb.PullRequest{Queue: queue, Max: int32(req.Max), Wait: durationPtrPB(waitPB(req.Wait)), Visibility: visibilityPB(req.Visibility)}
	res, err := call(ctx, c.queues.Pull, pr)
	if err != nil {
		return nil, err
	}
	return pbconv.Deliveries(res.GetDeliveries()), nil
}

// durationPtrPB is d, unset for nil.
func durationPtrPB(d *time.Duration) *durationpb.Duration {
	if d == nil {
		return nil
	}
	return durationpb.New(*d)
}

// visibilityPB is a receive's visibility override: unset for 0 (the
// queue's).
func visibilityPB(d time.Duration) *durationpb.Duration {
	if d == 0 {
		return nil
	}
	return durationpb.New(d)
}

// Ack implements driver.Queues.
func (c *Conn) Ack(ctx context.Context, queue string, receipts []string) ([]error, error) {
	res, err := call(ctx, c.queues.Ack, &pb.AckRequest{Queue: queue, Receipts: receipts})
	if err != nil {
		return nil, err
	}
	return pbconv.SettleErrors(res.GetFailed(), len(receipts))
}

// ChangeVisibility implements driver.Queues: d = 0 is a nack, otherwise an
// extend by d.
func (c *Conn) ChangeVisibility(ctx context.Context, queue string, receipts []string, d time.Duration) ([]error, error) {
	var failed []*pb.SettleFailure
	if d == 0 {
		res, err := call(ctx, c.queues.Nack, &pb.NackRequest{Queue: queue, Receipts: receipts, Delay: durationpb.New(0)})
		if err != nil {
			return nil, err
		}
		failed = res.GetFailed()
	} else {
		res, err := call(ctx, c.queues.Extend, &pb.ExtendRequest{Queue: queue, Receipts: receipts, Visibility: durationpb.New(d)})
		if err != nil {
			return nil, err
		}
		failed = res.GetFailed()
	}
	return pbconv.SettleErrors(failed, len(receipts))
}

// Redrive implements driver.Queues.
func (c *Conn) Redrive(ctx context.Context, dlq string, req driver.RedriveRequest) (driver.RedriveResult, error) {
	res, err := call(ctx, c.queues.Redrive, &pb.RedriveRequest{Queue: dlq, Max: int32(req.Max), Rate: int32(req.Rate), Destination: req.Destination})
	if err != nil {
		return driver.RedriveResult{}, err
	}
	return driver.RedriveResult{Moved: int(res.GetMoved())}, nil
}
