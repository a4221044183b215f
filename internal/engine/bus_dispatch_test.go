package engine

import (
	"context"
	"testing"

	"github.com/courier-io/courier/driver"
)

// TestSendToTargetOfChangedKind checks that a delivery built for a
// standard queue target that is FIFO by the time of the send (created
// between the lookup and the send) fails for a retry, while the same
// refusal without the change is permanent.
func TestSendToTargetOfChangedKind(t *testing.T) {
	e := newEngine(nil, discardLogger())
	ctx := context.Background()
	attrs := driver.DefaultQueueAttributes()
	attrs.FIFO = true
	must(e.CreateQueue(ctx, "late.fifo", attrs))(t)
	d := &dispatcher{e: e, t: &target{spec: driver.Target{ID: "t", Kind: driver.TargetQueue, Queue: "late.fifo"}}}
	ds := []driver.Delivery{{ID: "d1", Body: []byte(`{"n": 1}`), Group: "my app (v2)"}}

	// Built as for a standard queue: the FIFO queue refuses it (no group).
	errs := d.sendToTarget(ctx, ds, false)
	if errs[0] == nil || isPermanent(errs[0]) {
		t.Fatalf("a delivery built before the target became FIFO failed with %v; want a failure that is retried", errs[0])
	}
	if n := must(e.QueueInfo(ctx, "late.fifo"))(t).Stats.Visible; n != 0 {
		t.Fatalf("the refused delivery left %d messages", n)
	}
	// The retry looks the target up again and delivers, in the source's group.
	if errs := d.sendToTarget(ctx, ds, d.targetIsFIFO()); errs[0] != nil {
		t.Fatalf("the retry failed: %v", errs[0])
	}
	got := must(e.Receive(ctx, "late.fifo", driver.ReceiveRequest{Max: 1}))(t)
	if len(got) != 1 || got[0].Group != fifoGroup("my app (v2)") {
		t.Fatalf("received %+v; want the delivery in the source's group", got)
	}

	// A refusal that does not come from a change of kind stays permanent.
	attrs = driver.DefaultQueueAttributes()
	attrs.MaxMessageSize = 1024
	must(e.CreateQueue(ctx, "small", attrs))(t)
	d = &dispatcher{e: e, t: &target{spec: driver.Target{ID: "t", Kind: driver.TargetQueue, Queue: "small"}}}
	big := []driver.Delivery{{ID: "d2", Body: make([]byte, 2048)}}
	if errs := d.sendToTarget(ctx, big, d.targetIsFIFO()); !isPermanent(errs[0]) {
		t.Fatalf("a message too large for the queue failed with %v; want a permanent failure", errs[0])
	}
}
