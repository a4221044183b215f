package awsapi_test

import (
	"context"
	"fmt"
	"net/url"
	"testing"

	courier "github.com/courier-io/courier"
	"github.com/courier-io/courier/awsapi"
	"github.com/courier-io/courier/driver"
)

// memConn is what the mem:// engine implements.
type memConn interface {
	driver.Conn
	driver.Queues
	driver.Topics
	driver.Streams
	driver.Buses
}

// noCompaction is the mem:// engine refusing key-compacted streams, as
// the NATS driver does.
type noCompaction struct{ memConn }

func (c noCompaction) CreateStream(ctx context.Context, name string, attrs driver.StreamAttributes) (driver.StreamInfo, error) {
	if attrs.Compact {
		return driver.StreamInfo{}, fmt.Errorf("compacted streams: %w", driver.ErrUnsupported)
	}
	return c.memConn.CreateStream(ctx, name, attrs)
}

func init() {
	driver.Register("nocompaction", func(ctx context.Context, u *url.URL, opts driver.Options) (driver.Conn, error) {
		open, _ := driver.Lookup("mem")
		c, err := open(ctx, &url.URL{Scheme: "mem"}, opts)
		if err != nil {
			return nil, err
		}
		return noCompaction{c.(memConn)}, nil
	})
}

// TestMetaWithoutCompaction checks that a backend without compacted
// streams keeps the metadata in a plain stream, the last write of a key
// winning when it is loaded again.
func TestMetaWithoutCompaction(t *testing.T) {
	ctx := context.Background()
	b, err := courier.Open(ctx, "nocompaction://")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	m, persistent, err := awsapi.OpenMeta(ctx, b)
	if err != nil || !persistent {
		t.Fatalf("OpenMeta: %v, persistent %v", err, persistent)
	}
	for _, v := range []string{"first", "second"} {
		if err := m.Put(ctx, "k", v); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Put(ctx, "gone", "x"); err != nil {
		t.Fatal(err)
	}
	if err := m.Delete(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	info, err := b.Stream(awsapi.MetaStream).Info(ctx)
	if err != nil || info.Attributes.Compact {
		t.Fatalf("meta stream: %+v, %v; want a plain stream", info.Attributes, err)
	}
	again, _, err := awsapi.OpenMeta(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	var v string
	if ok, err := again.Get("k", &v); !ok || err != nil || v != "second" {
		t.Errorf("k after reload = %q, %v, %v; want second", v, ok, err)
	}
	if ok, _ := again.Get("gone", &v); ok {
		t.Errorf("a deleted key came back")
	}
}
