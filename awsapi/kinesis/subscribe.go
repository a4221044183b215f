package kinesis

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"

	courier "github.com/courier-io/courier"
	"github.com/courier-io/courier/awsapi"
)

// SubscribeToShard timing, as in Kinesis.
const (
	// subscriptionTTL is how long a SubscribeToShard session lasts.
	subscriptionTTL = 5 * time.Minute
	// takeoverGrace is how soon after a subscription of the same consumer
	// and shard started another one is refused (ResourceInUseException);
	// after it, the new one takes over.
	takeoverGrace = 5 * time.Second
	// eventInterval is the longest time between two events: a session
	// sends an event, with or without records, at least this often.
	eventInterval = 5 * time.Second
	// endWriteGrace is how long the writes of a session that is ending
	// (time up, Close, takeover, deregistration) may still block: a
	// client that stops reading must not hold the session, and Close,
	// forever.
	endWriteGrace = time.Second
)

// subscription is a live SubscribeToShard session.
type subscription struct {
	started time.Time
	cancel  context.CancelCauseFunc
}

// errTakenOver ends a session that a newer subscription of the same
// consumer and shard replaced.
var errTakenOver = errors.New("a newer SubscribeToShard call for this consumer and shard took over the subscription")

// errShutdown ends the sessions when the service closes.
var errShutdown = errors.New("the Kinesis service is shutting down")

// errDeregistered ends the sessions of a consumer that was deregistered
// or whose stream was deleted.
var errDeregistered = errors.New("the consumer was deregistered or its stream deleted")

// endSubscriptions ends the sessions whose key starts with prefix
// ("STREAM/" or "STREAM/CONSUMER:").
func (s *Service) endSubscriptions(prefix string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for key, sub := range s.subs {
		if strings.HasPrefix(key, prefix) {
			sub.cancel(errDeregistered)
		}
	}
}

// register records a new session under key, taking over an older one, and
// returns its context; done unregisters it.
func (s *Service) register(ctx context.Context, key string) (context.Context, func(), error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.done:
		return nil, nil, internal(errClosed)
	default:
	}
	if old, ok := s.subs[key]; ok {
		if time.Since(old.started) < takeoverGrace {
			return nil, nil, kerr(codeInUse, "Another active subscription exists for this consumer and shard; subscribe again %v after the previous SubscribeToShard call", takeoverGrace)
		}
		old.cancel(errTakenOver)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	sub := &subscription{started: time.Now(), cancel: cancel}
	s.subs[key] = sub
	s.wg.Add(1)
	done := func() {
		cancel(nil)
		s.mu.Lock()
		if s.subs[key] == sub {
			delete(s.subs, key)
		}
		s.mu.Unlock()
		s.wg.Done()
	}
	return ctx, done, nil
}

func (s *Service) subscribeToShard(c *call, in *subscribeInput) (any, error) {
	k, name, _, err := s.resolveConsumer(c, awsapi.Consume, &consumerRef{ConsumerARN: in.ConsumerARN})
	if err != nil {
		return nil, err
	}
	p, ok := parseShardID(*in.ShardID, k.shards())
	if !ok {
		return nil, s.shardNotFound(*in.ShardID, k.name)
	}
	pos := in.StartingPosition
	sp, err := s.startingPoint(k, p, pos.Type, pos.SequenceNumber, pos.Timestamp, "StartingPosition.SequenceNumber")
	if err != nil {
		return nil, err
	}
	if err := dryRun(in.DryRun); err != nil {
		return nil, err
	}
	from := courier.Earliest()
	switch sp.typ {
	case courier.LatestIterator:
		from = courier.Latest()
	case courier.AtSequenceNumber:
		off, _ := courier.ParseSequenceNumber(sp.seq)
		from = courier.AtOffset(off)
	case courier.AtTimestampIterator:
		from = courier.AtTime(sp.at)
	}
	recs, next, err := k.st.Read(c.ctx, p, from, courier.ReadMax(1))
	if err != nil {
		return nil, s.courierError(k.name, err)
	}
	if len(recs) > 0 {
		next = recs[0].Offset
	}
	ctx, done, err := s.register(c.ctx, k.name+"/"+name+":"+shardID(p))
	if err != nil {
		return nil, err
	}
	defer done()
	ctx, cancel := context.WithTimeout(ctx, subscriptionTTL)
	defer cancel()
	sess := &session{s: s, c: c, k: k, partition: p, enc: eventstream.NewEncoder(), rc: http.NewResponseController(c.w)}
	sess.run(ctx, next)
	return streamed, nil
}

// session writes the event stream of one SubscribeToShard call.
type session struct {
	s         *Service
	c         *call
	k         *kstream
	partition int
	enc       *eventstream.Encoder
	rc        *http.ResponseController // of c.w
}

// run streams the shard from offset next until ctx ends (5 minutes, the
// client leaving, a takeover, deregistration or Close) or a read fails.
func (ss *session) run(ctx context.Context, next int64) {
	w := ss.c.w
	// Once ctx ends, writes get a deadline, so that a write blocked on a
	// client that does not read returns. finished keeps the deadline from
	// being set after run returned, when w is no longer this session's.
	var mu sync.Mutex
	finished := false
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		if !finished {
			_ = ss.rc.SetWriteDeadline(time.Now().Add(endWriteGrace))
		}
	})
	defer func() {
		stop()
		mu.Lock()
		finished = true
		mu.Unlock()
	}()
	h := w.Header()
	h.Set("Content-Type", "application/vnd.amazon.eventstream")
	awsapi.RequestID(w)
	w.WriteHeader(http.StatusOK)
	if ss.send("event", "initial-response", struct{}{}) != nil {
		return
	}
	for {
		wait := eventInterval
		if dl, ok := ctx.Deadline(); ok {
			wait = min(wait, time.Until(dl))
		}
		recs, n, err := ss.k.st.Read(ctx, ss.partition, courier.AtOffset(next), courier.ReadMax(maxGetRecords), courier.ReadWait(max(wait, 0)))
		if err != nil || ctx.Err() != nil {
			ss.end(ctx, err)
			return
		}
		var behind int64
		if len(recs) > 0 {
			info, ierr := ss.k.st.Info(ctx)
			if ierr == nil && n < info.Partitions[ss.partition].End {
				behind = max(time.Since(recs[len(recs)-1].Timestamp).Milliseconds(), 0)
			}
		}
		next = n
		ev := subscribeToShardEvent{Records: records(recs), ContinuationSequenceNumber: sequenceNumber(next - 1), MillisBehindLatest: behind}
		if ss.send("event", "SubscribeToShardEvent", ev) != nil {
			return
		}
	}
}

// end finishes the stream: normally when the session's time is up, the
// client left or the service closes; with an exception event when a read
// failed or another subscription took over.
func (ss *session) end(ctx context.Context, err error) {
	var e *awsapi.Error
	switch cause := context.Cause(ctx); {
	case errors.Is(cause, errTakenOver):
		e = kerr(codeInUse, "%v", errTakenOver)
	case errors.Is(cause, errDeregistered):
		e = kerr(codeNotFound, "%v", errDeregistered)
	case ctx.Err() != nil:
		return // time is up, the client left, or Close
	case err != nil:
		e = awsapi.AsError(ss.s.courierError(ss.k.name, err))
	default:
		return
	}
	_ = ss.send("exception", e.TypeName(), struct {
		Message string `json:"message"`
	}{e.Message})
}

// send writes one event-stream message and flushes it: an event
// (:event-type) or an exception (:exception-type), with v as a JSON or
// CBOR payload in the request's encoding.
func (ss *session) send(msgType, eventType string, v any) error {
	var msg eventstream.Message
	ct := "application/json"
	var err error
	if ss.c.r.CBOR {
		ct = awsapi.ContentTypeCBOR11
		msg.Payload, err = cborEnc.Marshal(v)
	} else {
		msg.Payload, err = json.Marshal(v)
	}
	if err != nil {
		return err
	}
	if msgType == "exception" {
		msg.Headers.Set(":exception-type", eventstream.StringValue(eventType))
	} else {
		msg.Headers.Set(":event-type", eventstream.StringValue(eventType))
	}
	msg.Headers.Set(":content-type", eventstream.StringValue(ct))
	msg.Headers.Set(":message-type", eventstream.StringValue(msgType))
	if err := ss.enc.Encode(ss.c.w, msg); err != nil {
		return err
	}
	return ss.rc.Flush()
}
