package kinesis_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	courier "github.com/courier-io/courier"
	"github.com/courier-io/courier/awsapi/awstest"
	"github.com/courier-io/courier/awsapi/gateway"
)

// h2Fixture serves the gateway over TLS with HTTP/2, as Kinesis serves
// SubscribeToShard, and counts the HTTP/2 requests.
type h2Fixture struct {
	*fixture
	h2 atomic.Int64
}

func newH2Fixture(t *testing.T) *h2Fixture {
	ctx := context.Background()
	b, err := courier.Open(ctx, "mem://")
	if err != nil {
		t.Fatal(err)
	}
	g, err := gateway.New(ctx, b, gateway.Config{}, services)
	if err != nil {
		t.Fatal(err)
	}
	f := &h2Fixture{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor == 2 {
			f.h2.Add(1)
		}
		g.ServeHTTP(w, r)
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(func() {
		srv.CloseClientConnections()
		if err := g.Close(); err != nil {
			t.Error(err)
		}
		srv.Close()
		b.Close()
	})
	f.fixture = &fixture{t: t, b: b, url: srv.URL, c: client(srv.URL, srv.Client()), ctx: ctx}
	return f
}

// nextEvent waits (up to a deadline: the events come over the network)
// for the next SubscribeToShardEvent.
func nextEvent(t *testing.T, es *kinesis.SubscribeToShardEventStream) *types.SubscribeToShardEvent {
	t.Helper()
	select {
	case ev, ok := <-es.Events():
		if !ok {
			t.Fatalf("the event stream ended: %v", es.Err())
		}
		v, ok := ev.(*types.SubscribeToShardEventStreamMemberSubscribeToShardEvent)
		if !ok {
			t.Fatalf("event %T", ev)
		}
		return &v.Value
	case <-time.After(20 * time.Second):
		t.Fatal("no event within 20s")
	}
	return nil
}

func TestSubscribeToShard(t *testing.T) {
	f := newH2Fixture(t)
	arn := f.createStream("sub", 1).StreamDescription.StreamARN
	carn := must[*kinesis.RegisterStreamConsumerOutput](t)(f.c.RegisterStreamConsumer(f.ctx, &kinesis.RegisterStreamConsumerInput{StreamARN: arn, ConsumerName: aws.String("efo")})).Consumer.ConsumerARN
	put := func(data string) string {
		out := must[*kinesis.PutRecordOutput](t)(f.c.PutRecord(f.ctx, &kinesis.PutRecordInput{StreamName: aws.String("sub"), PartitionKey: aws.String("k"), Data: []byte(data)}))
		return aws.ToString(out.SequenceNumber)
	}
	var seqs []string
	for i := range 3 {
		seqs = append(seqs, put(fmt.Sprint("r", i)))
	}
	shard := aws.String("shardId-000000000000")
	out, err := f.c.SubscribeToShard(f.ctx, &kinesis.SubscribeToShardInput{ConsumerARN: carn, ShardId: shard, StartingPosition: &types.StartingPosition{Type: types.ShardIteratorTypeTrimHorizon}})
	if err != nil {
		t.Fatal(err)
	}
	es := out.GetStream()
	defer es.Close()
	var got []string
	var cont string
	for len(got) < 3 {
		ev := nextEvent(t, es)
		for _, r := range ev.Records {
			got = append(got, string(r.Data))
			if aws.ToString(r.PartitionKey) != "k" || r.ApproximateArrivalTimestamp == nil {
				t.Fatalf("record %+v", r)
			}
		}
		cont = aws.ToString(ev.ContinuationSequenceNumber)
	}
	if fmt.Sprint(got) != "[r0 r1 r2]" || cont != seqs[2] {
		t.Fatalf("records %v, continuation %s; want [r0 r1 r2], %s", got, cont, seqs[2])
	}
	// Records put while subscribed arrive on the open stream.
	last := put("live")
	for got = nil; len(got) == 0; {
		ev := nextEvent(t, es)
		for _, r := range ev.Records {
			got = append(got, string(r.Data))
		}
		cont = aws.ToString(ev.ContinuationSequenceNumber)
	}
	if fmt.Sprint(got) != "[live]" || cont != last {
		t.Fatalf("live records %v, continuation %s", got, cont)
	}
	// A second subscription of the same consumer and shard within 5s is
	// refused.
	_, err = f.c.SubscribeToShard(f.ctx, &kinesis.SubscribeToShardInput{ConsumerARN: carn, ShardId: shard, StartingPosition: &types.StartingPosition{Type: types.ShardIteratorTypeLatest}})
	awstest.WantCode(t, err, "ResourceInUseException")
	if f.h2.Load() == 0 {
		t.Fatal("no request came over HTTP/2")
	}

	// Resuming after the continuation sequence number, on another shard
	// subscription: errors first.
	for _, c := range []struct {
		in   kinesis.SubscribeToShardInput
		code string
	}{
		{kinesis.SubscribeToShardInput{ConsumerARN: carn, ShardId: aws.String("shardId-000000000009"), StartingPosition: &types.StartingPosition{Type: types.ShardIteratorTypeLatest}}, "ResourceNotFoundException"},
		{kinesis.SubscribeToShardInput{ConsumerARN: aws.String(aws.ToString(arn) + "/consumer/nobody:1"), ShardId: shard, StartingPosition: &types.StartingPosition{Type: types.ShardIteratorTypeLatest}}, "ResourceNotFoundException"},
		{kinesis.SubscribeToShardInput{ConsumerARN: carn, ShardId: shard, StartingPosition: &types.StartingPosition{Type: types.ShardIteratorTypeAtSequenceNumber}}, "InvalidArgumentException"},
	} {
		_, err := f.c.SubscribeToShard(f.ctx, &c.in)
		awstest.WantCode(t, err, c.code)
	}
	es.Close()

	// Deregistering the consumer ends a live subscription with an error.
	carn2 := must[*kinesis.RegisterStreamConsumerOutput](t)(f.c.RegisterStreamConsumer(f.ctx, &kinesis.RegisterStreamConsumerInput{StreamARN: arn, ConsumerName: aws.String("other")})).Consumer.ConsumerARN
	out, err = f.c.SubscribeToShard(f.ctx, &kinesis.SubscribeToShardInput{ConsumerARN: carn2, ShardId: shard, StartingPosition: &types.StartingPosition{Type: types.ShardIteratorTypeAfterSequenceNumber, SequenceNumber: aws.String(seqs[1])}})
	if err != nil {
		t.Fatal(err)
	}
	es2 := out.GetStream()
	defer es2.Close()
	ev := nextEvent(t, es2)
	if len(ev.Records) != 2 || string(ev.Records[0].Data) != "r2" {
		t.Fatalf("AFTER_SEQUENCE_NUMBER: %d records", len(ev.Records))
	}
	if _, err := f.c.DeregisterStreamConsumer(f.ctx, &kinesis.DeregisterStreamConsumerInput{ConsumerARN: carn2}); err != nil {
		t.Fatal(err)
	}
	for {
		select {
		case _, ok := <-es2.Events():
			if ok {
				continue // an event sent before the deregistration
			}
			awstest.WantCode(t, es2.Err(), "ResourceNotFoundException")
			return
		case <-time.After(20 * time.Second):
			t.Fatal("the subscription of a deregistered consumer did not end")
		}
	}
}

// TestCloseWithStalledSubscriber checks that Close ends a SubscribeToShard
// session whose client stopped reading: its writes block once the
// connection's buffers are full, and Close (the server's drain) must not
// wait for them forever.
func TestCloseWithStalledSubscriber(t *testing.T) {
	ctx := context.Background()
	b, err := courier.Open(ctx, "mem://")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	url, g := awstest.Start(t, b, gateway.Config{}, services)
	f := &fixture{t: t, b: b, url: url, c: client(url, nil), ctx: ctx}
	f.createStream("slow", 1)
	arn := aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/slow")
	cons := must[*kinesis.RegisterStreamConsumerOutput](t)(f.c.RegisterStreamConsumer(ctx, &kinesis.RegisterStreamConsumerInput{StreamARN: arn, ConsumerName: aws.String("c")}))
	data := bytes.Repeat([]byte("x"), 1000<<10)
	for range 8 {
		must[*kinesis.PutRecordOutput](t)(f.c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("slow"), PartitionKey: aws.String("k"), Data: data}))
	}

	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.(*net.TCPConn).SetReadBuffer(4 << 10)
	body := fmt.Sprintf(`{"ConsumerARN":%q,"ShardId":"shardId-000000000000","StartingPosition":{"Type":"TRIM_HORIZON"}}`, aws.ToString(cons.Consumer.ConsumerARN))
	fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: Kinesis_20131202.SubscribeToShard\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	// Read the response head, then stop reading.
	head := make([]byte, 64)
	if _, err := io.ReadFull(conn, head); err != nil || !bytes.HasPrefix(head, []byte("HTTP/1.1 200")) {
		t.Fatalf("SubscribeToShard answered %q, %v", head, err)
	}
	time.Sleep(time.Second) // the session fills the buffers and blocks writing

	closed := make(chan error, 1)
	go func() { closed <- g.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		conn.Close() // let Close return before the test ends
		<-closed
		t.Fatal("Close waited more than 10s for a session whose client does not read")
	}
}
