package bench

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// jetStreamSystem is an in-process nats-server with JetStream on file
// storage in its own directory, listening on a random loopback port, and
// one client connection to it over TCP.
type jetStreamSystem struct {
	srv *server.Server
	nc  *nats.Conn
	js  jetstream.JetStream
}

// openJetStream starts the server with its store in dir. With syncAlways
// every write is fsync'd before it is acknowledged (sync_interval:
// always); without it the server's default applies (fsync every 2
// minutes).
func openJetStream(ctx context.Context, dir string, syncAlways bool) (_ *jetStreamSystem, err error) {
	srv, err := server.NewServer(&server.Options{
		ServerName:             "courier-bench",
		Host:                   "127.0.0.1",
		Port:                   server.RANDOM_PORT,
		NoLog:                  true,
		NoSigs:                 true,
		JetStream:              true,
		StoreDir:               dir,
		SyncAlways:             syncAlways,
		DisableJetStreamBanner: true,
	})
	if err != nil {
		return nil, fmt.Errorf("nats-server: %w", err)
	}
	srv.Start()
	s := &jetStreamSystem{srv: srv}
	defer func() {
		if err != nil {
			err = errors.Join(err, s.close())
		}
	}()
	if !srv.ReadyForConnections(10 * time.Second) {
		return nil, errors.New("nats-server: not ready for connections after 10s")
	}
	s.nc, err = nats.Connect(srv.ClientURL(), nats.Name("courier-bench"), nats.NoReconnect())
	if err != nil {
		return nil, fmt.Errorf("nats: connect: %w", err)
	}
	s.js, err = jetstream.New(s.nc)
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	return s, nil
}

// queue creates a file-storage work-queue stream for name and a durable
// pull consumer on it with explicit acks and an ack wait long enough that
// nothing is redelivered during a run.
func (s *jetStreamSystem) queue(ctx context.Context, name string) (target, error) {
	stream := streamName(name)
	subject := "bench." + stream
	st, err := s.js.CreateStream(ctx, jetstream.StreamConfig{
		Name:      stream,
		Subjects:  []string{subject},
		Storage:   jetstream.FileStorage,
		Retention: jetstream.WorkQueuePolicy,
	})
	if err != nil {
		return nil, fmt.Errorf("create stream %s: %w", stream, err)
	}
	cons, err := st.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable:   "bench",
		AckPolicy: jetstream.AckExplicitPolicy,
		AckWait:   5 * time.Minute,
	})
	if err != nil {
		return nil, fmt.Errorf("create consumer on %s: %w", stream, err)
	}
	return &jetStreamQueue{js: s.js, subject: subject, cons: cons}, nil
}

// streamName maps a queue name to a valid stream name (no dots).
func streamName(name string) string {
	b := []byte(name)
	for i, c := range b {
		if c == '.' || c == '-' {
			b[i] = '_'
		}
	}
	return string(b)
}

// close closes the connection and shuts the server down, waiting for it.
func (s *jetStreamSystem) close() error {
	if s.nc != nil {
		s.nc.Close()
	}
	s.srv.Shutdown()
	s.srv.WaitForShutdown()
	return nil
}

type jetStreamQueue struct {
	js      jetstream.JetStream
	subject string
	cons    jetstream.Consumer
}

// publish is a synchronous js.Publish: it returns once the PubAck arrived.
func (q *jetStreamQueue) publish(ctx context.Context, body []byte) error {
	_, err := q.js.Publish(ctx, q.subject, body)
	return err
}

// consume pulls up to max available messages (FetchNoWait; when none is
// available it waits up to a second for some), then acks them: Ack on
// each but the last and DoubleAck, which waits for the server's reply, on
// the last. The server processes one consumer's acks in order, so when the
// reply arrives the whole batch is settled.
func (q *jetStreamQueue) consume(ctx context.Context, max int, seen func([]byte)) (int, error) {
	batch, err := q.cons.FetchNoWait(max)
	if err != nil {
		return 0, fmt.Errorf("fetch: %w", err)
	}
	msgs, err := drain(batch)
	if err == nil && len(msgs) == 0 {
		wctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		batch, err = q.cons.Fetch(max, jetstream.FetchContext(wctx))
		if err != nil {
			return 0, fmt.Errorf("fetch: %w", err)
		}
		msgs, err = drain(batch)
	}
	if err != nil {
		return 0, fmt.Errorf("fetch: %w", err)
	}
	for i, m := range msgs {
		seen(m.Data())
		if i < len(msgs)-1 {
			if err := m.Ack(); err != nil {
				return i, fmt.Errorf("ack: %w", err)
			}
		}
	}
	if len(msgs) > 0 {
		if err := msgs[len(msgs)-1].DoubleAck(ctx); err != nil {
			return len(msgs) - 1, fmt.Errorf("ack: %w", err)
		}
	}
	return len(msgs), nil
}

// drain collects a fetch's messages; a fetch that ended because its
// context did is not an error.
func drain(batch jetstream.MessageBatch) ([]jetstream.Msg, error) {
	var msgs []jetstream.Msg
	for m := range batch.Messages() {
		msgs = append(msgs, m)
	}
	err := batch.Error()
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) || errors.Is(err, nats.ErrTimeout) {
		err = nil
	}
	return msgs, err
}
