package engine

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/courier-io/courier/driver"
	"github.com/courier-io/courier/internal/wal/vfs"
)

// gatedFS holds every file Sync while its gate is closed, so a test can
// look at the engine while a write is not yet durable.
type gatedFS struct {
	vfs.FS
	mu      sync.Mutex
	gate    chan struct{} // nil: syncs pass
	entered chan struct{} // receives when a sync waits at the gate
}

func (g *gatedFS) Create(name string) (vfs.File, error) {
	f, err := g.FS.Create(name)
	return gatedFile{f, g}, err
}

func (g *gatedFS) OpenReadWrite(name string) (vfs.File, error) {
	f, err := g.FS.OpenReadWrite(name)
	return gatedFile{f, g}, err
}

// hold closes the gate: the next syncs wait until release.
func (g *gatedFS) hold() {
	g.mu.Lock()
	g.gate = make(chan struct{})
	g.mu.Unlock()
}

func (g *gatedFS) release() {
	g.mu.Lock()
	close(g.gate)
	g.gate = nil
	g.mu.Unlock()
}

// open releases the gate if it is closed.
func (g *gatedFS) open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.gate != nil {
		close(g.gate)
		g.gate = nil
	}
}

type gatedFile struct {
	vfs.File
	g *gatedFS
}

func (f gatedFile) Sync() error {
	f.g.mu.Lock()
	gate := f.g.gate
	f.g.mu.Unlock()
	if gate != nil {
		f.g.entered <- struct{}{}
		<-gate
	}
	return f.File.Sync()
}

// TestNothingIsDeliveredBeforeItIsDurable holds the fsync of a send (and
// of a stream append): while it waits, receivers and readers see nothing
// of it; once it is durable they do.
func TestNothingIsDeliveredBeforeItIsDurable(t *testing.T) {
	g := &gatedFS{FS: vfs.NewStrictMem(), entered: make(chan struct{}, 16)}
	c := openTestDir(t, g, 1<<20)
	defer c.Close()
	defer g.open() // a failing test must not leave a sync waiting: Close would hang
	ctx := context.Background()
	must(c.CreateQueue(ctx, "q", driver.DefaultQueueAttributes()))(t)
	must(c.CreateStream(ctx, "s", driver.DefaultStreamAttributes()))(t)

	g.hold()
	sent := make(chan error, 2)
	go func() {
		_, err := c.Send(ctx, "q", []driver.Message{{Body: []byte("pending")}})
		sent <- err
	}()
	<-g.entered // the send's fsync waits
	if ds := must(c.Receive(ctx, "q", driver.ReceiveRequest{Wait: driver.NoWait}))(t); len(ds) != 0 {
		t.Fatalf("received %q before its send was durable", ds[0].Body)
	}
	// A receiver waiting meanwhile gets the message once it is durable.
	got := make(chan []driver.Delivery, 1)
	go func() {
		ds, _ := c.Receive(ctx, "q", driver.ReceiveRequest{Wait: 10 * time.Second})
		got <- ds
	}()
	g.release()
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	if ds := <-got; len(ds) != 1 || string(ds[0].Body) != "pending" {
		t.Fatalf("the waiting receiver got %v", ds)
	}

	g.hold()
	go func() {
		_, err := c.Append(ctx, "s", []driver.Record{{Value: []byte("pending")}})
		sent <- err
	}()
	<-g.entered // the append's fsync waits
	if res := must(c.Read(ctx, "s", driver.StreamReadRequest{}))(t); len(res.Records) != 0 || res.End != 0 {
		t.Fatalf("read %d records (end %d) before the append was durable", len(res.Records), res.End)
	}
	g.release()
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	if res := must(c.Read(ctx, "s", driver.StreamReadRequest{}))(t); len(res.Records) != 1 {
		t.Fatalf("after the append was durable the stream reads %d records", len(res.Records))
	}
}
