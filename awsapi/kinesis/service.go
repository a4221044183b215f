package kinesis

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"

	courier "github.com/courier-io/courier"
	"github.com/courier-io/courier/awsapi"
)

// Service serves the Kinesis actions over the environment's broker. It
// implements awsapi.Service; its only background work is the
// SubscribeToShard sessions, which Close ends.
type Service struct {
	env *awsapi.Env

	// mu serializes the read-modify-write of metadata entries (tags,
	// consumers, mode) and guards subs.
	mu sync.Mutex
	// createMu serializes CreateStream from its existence check to its
	// metadata write, so that of two concurrent creates of one name the
	// second answers ResourceInUseException, as in Kinesis.
	createMu sync.Mutex
	subs     map[string]*subscription // consumer ARN + shard -> live SubscribeToShard

	done   chan struct{} // closed by Close
	closed sync.Once
	wg     sync.WaitGroup // SubscribeToShard sessions
}

// New returns the Kinesis service of env. It fails when env has no
// broker or metadata store.
func New(env *awsapi.Env) (*Service, error) {
	if env == nil || env.Broker == nil || env.Meta == nil || env.Auth == nil {
		return nil, errors.New("kinesis: the environment needs a broker, a metadata store and an authorizer")
	}
	return &Service{env: env, subs: map[string]*subscription{}, done: make(chan struct{})}, nil
}

// Close ends the open SubscribeToShard sessions (each sends no more
// events and finishes its response) and waits for them. Requests that
// arrive after Close get an InternalFailureException. Close is
// idempotent.
func (s *Service) Close() error {
	s.mu.Lock()
	s.closed.Do(func() { close(s.done) })
	for _, sub := range s.subs {
		sub.cancel(errShutdown)
	}
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

// call is one request being served.
type call struct {
	ctx context.Context
	r   *awsapi.Request
	w   http.ResponseWriter
}

// action is one Kinesis operation: how its input decodes, and what it
// does with it.
type action struct {
	decode func(body []byte, isCBOR bool) (any, error)
	run    func(s *Service, c *call, in any) (any, error)
}

// act builds the action of f, whose input shape is In.
func act[In any, PIn interface {
	*In
	validator
}](f func(s *Service, c *call, in PIn) (any, error)) action {
	return action{
		decode: func(body []byte, isCBOR bool) (any, error) {
			in := PIn(new(In))
			return in, decodeInput(body, isCBOR, in)
		},
		run: func(s *Service, c *call, in any) (any, error) { return f(s, c, in.(PIn)) },
	}
}

// actions are the supported operations.
var actions map[string]action

func init() {
	actions = map[string]action{
		"CreateStream":                  act((*Service).createStream),
		"DeleteStream":                  act((*Service).deleteStream),
		"ListStreams":                   act((*Service).listStreams),
		"DescribeStream":                act((*Service).describeStream),
		"DescribeStreamSummary":         act((*Service).describeStreamSummary),
		"ListShards":                    act((*Service).listShards),
		"PutRecord":                     act((*Service).putRecord),
		"PutRecords":                    act((*Service).putRecords),
		"GetShardIterator":              act((*Service).getShardIterator),
		"GetRecords":                    act((*Service).getRecords),
		"IncreaseStreamRetentionPeriod": act((*Service).increaseRetention),
		"DecreaseStreamRetentionPeriod": act((*Service).decreaseRetention),
		"AddTagsToStream":               act((*Service).addTagsToStream),
		"RemoveTagsFromStream":          act((*Service).removeTagsFromStream),
		"ListTagsForStream":             act((*Service).listTagsForStream),
		"TagResource":                   act((*Service).tagResource),
		"UntagResource":                 act((*Service).untagResource),
		"ListTagsForResource":           act((*Service).listTagsForResource),
		"RegisterStreamConsumer":        act((*Service).registerConsumer),
		"DescribeStreamConsumer":        act((*Service).describeConsumer),
		"ListStreamConsumers":           act((*Service).listConsumers),
		"DeregisterStreamConsumer":      act((*Service).deregisterConsumer),
		"SubscribeToShard":              act((*Service).subscribeToShard),
		"UpdateStreamMode":              act((*Service).updateStreamMode),
		"UpdateMaxRecordSize":           act((*Service).updateMaxRecordSize),
		"DescribeLimits":                act((*Service).describeLimits),
	}
}

// unsupportedActions are the Kinesis operations courier does not
// implement, with the reason their UnknownOperationException gives.
var unsupportedActions = map[string]string{
	"SplitShard":                             "a courier partition cannot be split: shards are fixed slices of the hash key space with no parent/child lineage",
	"MergeShards":                            "courier partitions cannot be merged or removed",
	"UpdateShardCount":                       "adding courier partitions re-slices the hash key space without closing parent shards, so readers would lose Kinesis's per-key ordering across the change",
	"StartStreamEncryption":                  "server-side encryption with KMS keys is not available; streams report EncryptionType NONE",
	"StopStreamEncryption":                   "server-side encryption with KMS keys is not available; streams report EncryptionType NONE",
	"EnableEnhancedMonitoring":               "there are no shard-level CloudWatch metrics; use courier's Prometheus metrics",
	"DisableEnhancedMonitoring":              "there are no shard-level CloudWatch metrics; use courier's Prometheus metrics",
	"PutResourcePolicy":                      "IAM resource policies are not evaluated; courier's server grants decide access",
	"GetResourcePolicy":                      "IAM resource policies are not evaluated; courier's server grants decide access",
	"DeleteResourcePolicy":                   "IAM resource policies are not evaluated; courier's server grants decide access",
	"UpdateStreamWarmThroughput":             "courier streams have no provisioned throughput to warm",
	"UpdateStreamRecordDistributionStrategy": "only the USER_PARTITION_KEY strategy exists",
	"DescribeAccountSettings":                "there are no account settings (minimum throughput billing)",
	"UpdateAccountSettings":                  "there are no account settings (minimum throughput billing)",
	"CreateChannel":                          "Kinesis channels are not implemented",
	"DeleteChannel":                          "Kinesis channels are not implemented",
	"DescribeChannel":                        "Kinesis channels are not implemented",
	"ListChannels":                           "Kinesis channels are not implemented",
	"UpdateChannel":                          "Kinesis channels are not implemented",
	"CreateQueue":                            "Kinesis queues are not implemented; use courier's SQS endpoint",
	"DeleteQueue":                            "Kinesis queues are not implemented; use courier's SQS endpoint",
	"DescribeQueue":                          "Kinesis queues are not implemented; use courier's SQS endpoint",
	"ListQueues":                             "Kinesis queues are not implemented; use courier's SQS endpoint",
	"UpdateQueue":                            "Kinesis queues are not implemented; use courier's SQS endpoint",
	"ReceiveQueueRecords":                    "Kinesis queues are not implemented; use courier's SQS endpoint",
	"AcknowledgeQueueRecords":                "Kinesis queues are not implemented; use courier's SQS endpoint",
	"UpdateQueueRecordsVisibility":           "Kinesis queues are not implemented; use courier's SQS endpoint",
	"ReceiveDeadLetterQueueRecords":          "Kinesis dead-letter queues are not implemented",
	"AcknowledgeDeadLetterQueueRecords":      "Kinesis dead-letter queues are not implemented",
	"RestoreDeadLetterQueueRecords":          "Kinesis dead-letter queues are not implemented",
	"UpdateDeadLetterQueueRecordsVisibility": "Kinesis dead-letter queues are not implemented",
}

// Serve implements awsapi.Service: it answers a Kinesis_20131202.* call
// in the request's encoding (JSON 1.1, or CBOR when r.CBOR). An action
// it does not know, or one it does not implement, gets an
// UnknownOperationException.
func (s *Service) Serve(w http.ResponseWriter, r *awsapi.Request) {
	a, ok := actions[r.Action]
	if !ok {
		if reason, known := unsupportedActions[r.Action]; known {
			writeError(w, r, unsupported(r.Action, reason))
			return
		}
		writeError(w, r, kerr(codeUnknownOp, "Kinesis has no operation %q", awsapi.Truncate(r.Action, 64)))
		return
	}
	select {
	case <-s.done:
		writeError(w, r, internal(errClosed))
		return
	default:
	}
	in, err := a.decode(r.Body, r.CBOR)
	if err != nil {
		writeError(w, r, err)
		return
	}
	c := &call{ctx: r.Context(), r: r, w: w}
	out, err := a.run(s, c, in)
	switch {
	case err != nil:
		writeError(w, r, err)
	case out == streamed:
		// SubscribeToShard wrote its event stream.
	default:
		writeOutput(w, r, out)
	}
}

// streamed is what an action returns when it has written its response.
var streamed = new(struct{ streamed bool })

// reservedPrefix starts the courier streams that are courier's own (the
// AWS metadata stream, awsapi.MetaStream): Kinesis neither lists nor
// touches them.
const reservedPrefix = "_courier"

// hidden reports whether the stream name is one Kinesis must not see.
func hidden(name string) bool {
	return strings.HasPrefix(name, reservedPrefix)
}

// streamName resolves a streamRef to a stream name: StreamName, or the
// name in StreamARN; both must agree when both are given.
func (s *Service) streamName(ref *streamRef) (string, error) {
	var name string
	if ref.StreamARN != nil {
		n, err := s.streamFromARN(*ref.StreamARN)
		if err != nil {
			return "", err
		}
		name = n
	}
	if ref.StreamName != nil {
		if name != "" && name != *ref.StreamName {
			return "", invalid("StreamName %q and StreamARN %q name different streams", *ref.StreamName, *ref.StreamARN)
		}
		name = *ref.StreamName
	}
	if name == "" {
		return "", invalid("Either StreamName or StreamARN should be provided.")
	}
	return name, nil
}

// streamFromARN returns the stream name of a stream ARN of this region
// and account.
func (s *Service) streamFromARN(arn string) (string, error) {
	res, err := s.env.ParseOwnARN(arn, "kinesis", codeInvalidArgument)
	if err != nil {
		return "", err
	}
	name, ok := strings.CutPrefix(res, "stream/")
	if !ok || name == "" || strings.Contains(name, "/") {
		return "", invalid("%q is not a Kinesis stream ARN (arn:aws:kinesis:REGION:ACCOUNT:stream/NAME)", awsapi.Truncate(arn, 256))
	}
	return name, nil
}

// streamARN returns the ARN of stream name.
func (s *Service) streamARN(name string) string { return s.env.ARN("kinesis", "stream/"+name) }

// authorize checks perm on stream name for the caller.
func (s *Service) authorize(c *call, perm awsapi.Permission, name string) error {
	return s.env.Authorize(c.ctx, perm, "stream", name)
}

// kstream is a stream looked up for an action.
type kstream struct {
	name string
	st   *courier.Stream
	info courier.StreamInfo
}

// lookup authorizes perm on the stream and returns it; a hidden or
// missing stream is a ResourceNotFoundException.
func (s *Service) lookup(c *call, perm awsapi.Permission, name string) (*kstream, error) {
	if hidden(name) {
		return nil, s.streamNotFound(name)
	}
	if err := s.authorize(c, perm, name); err != nil {
		return nil, err
	}
	st := s.env.Broker.Stream(name)
	info, err := st.Info(c.ctx)
	if err != nil {
		return nil, s.courierError(name, err)
	}
	return &kstream{name: name, st: st, info: info}, nil
}

// lookupRef resolves ref and looks the stream up.
func (s *Service) lookupRef(c *call, perm awsapi.Permission, ref *streamRef) (*kstream, error) {
	name, err := s.streamName(ref)
	if err != nil {
		return nil, err
	}
	return s.lookup(c, perm, name)
}

// shards is the stream's number of shards.
func (k *kstream) shards() int { return k.info.Attributes.Partitions }

// dryRun answers a request with DryRun set, once it has been validated
// and authorized.
func dryRun(v *bool) error {
	if v != nil && *v {
		return kerr(codeDryRun, "Request would have succeeded, but DryRun flag is set.")
	}
	return nil
}
