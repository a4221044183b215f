package engine

import (
	"context"
	"testing"

	"github.com/courier-io/courier/driver"
)

// TestDuplicatesWithinOneBatch checks that a dedup ID repeated inside one
// batch stores the message once and answers the first one's ID.
func TestDuplicatesWithinOneBatch(t *testing.T) {
	e := newEngine(nil, discardLogger())
	e.nonce = 1
	ctx := context.Background()
	must(e.CreateQueue(ctx, "q", driver.DefaultQueueAttributes()))(t)
	res := must(e.Send(ctx, "q", []driver.Message{
		{Body: []byte("a"), DedupID: "k"},
		{Body: []byte("b")},
		{Body: []byte("a again"), DedupID: "k"},
	}))(t)
	if res[0].Duplicate || res[1].Duplicate || !res[2].Duplicate || res[2].ID != res[0].ID || res[0].ID == "" || res[1].ID == res[0].ID {
		t.Fatalf("results = %+v", res)
	}
	info := must(e.QueueInfo(ctx, "q"))(t)
	if info.Stats.Visible != 2 {
		t.Fatalf("stored %d messages; want 2", info.Stats.Visible)
	}
}
