package server

import (
	"testing"
	"testing/synctest"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/courier-io/courier"
	pb "github.com/courier-io/courier/internal/gen/courier/v1"
)

// TestFetchCutByDrain checks that a Fetch waiting at a partition's end
// answers that position, not offset 0, when Drain cuts its wait: a reader
// continues from where it was.
func TestFetchCutByDrain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, err := courier.Open(t.Context(), "mem://")
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		st, err := b.CreateStream(t.Context(), "clicks")
		if err != nil {
			t.Fatal(err)
		}
		for range 5 {
			if _, err := st.Append(t.Context(), courier.Record{Value: []byte("c"), Partition: 0}); err != nil {
				t.Fatal(err)
			}
		}
		s := New(b)
		g := grpcStreams{&grpcAPI{s: s, windows: newWindows()}}
		type answer struct {
			res *pb.FetchResponse
			err error
		}
		done := make(chan answer, 1)
		go func() {
			res, err := g.Fetch(t.Context(), &pb.FetchRequest{Stream: "clicks", From: &pb.Position{Position: &pb.Position_Offset{Offset: 5}}, Wait: durationpb.New(20 * time.Second)})
			done <- answer{res, err}
		}()
		synctest.Wait() // the fetch waits at the end of the partition
		s.Drain()
		a := <-done
		if a.err != nil || len(a.res.GetRecords()) != 0 || a.res.GetNext() != 5 || a.res.GetEnd() != 5 {
			t.Fatalf("Fetch cut by Drain = %v, %v; want no records, next 5, end 5", a.res, a.err)
		}
	})
}
