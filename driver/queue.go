package driver

import (
	"context"
	"time"
)

// Capabilities declares what a backend supports. The conformance suite uses
// them to skip cases a backend cannot pass (never to hide a failure), and the
// root package uses them to answer ErrUnsupported early.
type Capabilities struct {
	Queues     bool // implements Queues
	FIFO       bool // FIFO queues: strict order per message group
	Dedup      bool // dedup IDs and content-based dedup within DedupWindow
	Delay      bool // per-queue and per-message delivery delay
	DeadLetter bool // MaxReceives + dead-letter queue
	Redrive    bool // moving messages from a dead-letter queue back
	LongPoll   bool // Receive waits for messages, woken by sends
	Persistent bool // acknowledged writes survive a process restart
	Topics     bool // implements Topics: fan-out, filter policies, durable, queue and ephemeral subscriptions
	Push       bool // HTTP push subscriptions
	Streams    bool // implements Streams: partitions, offsets, consumer groups, retention
	Buses      bool // implements Buses: rules, targets, transformers, schedules, archives, replays
}

// DedupWindow is how long a dedup ID (or a content hash, for content-based
// dedup) is remembered: a second send with the same ID within the window
// returns the first message's ID and stores nothing.
const DedupWindow = 5 * time.Minute

// QueueAttributes are a queue's settings. Values passed to a driver are
// complete and validated (see Validate); DefaultQueueAttributes gives the
// defaults that courier applies to settings a user did not choose.
type QueueAttributes struct {
	// VisibilityTimeout is how long a received message stays invisible to
	// other receivers before it is delivered again. Range 0..12h, default 30s.
	VisibilityTimeout time.Duration `json:"visibility_timeout"`
	// RetentionPeriod is how long an unacknowledged message is kept before it
	// is deleted. Range 1m..14d (336h), default 4 days (96h).
	RetentionPeriod time.Duration `json:"retention_period"`
	// DeliveryDelay postpones the first delivery of every message sent to the
	// queue, unless the message sets its own delay. Range 0..15m, default 0.
	DeliveryDelay time.Duration `json:"delivery_delay"`
	// ReceiveWait is how long a Receive that does not choose its own wait
	// long-polls for messages. Range 0..20s, default 0.
	ReceiveWait time.Duration `json:"receive_wait"`
	// MaxMessageSize limits body plus header keys and values, in bytes.
	// Range 1 KiB..1 MiB, default 1 MiB.
	MaxMessageSize int `json:"max_message_size"`
	// MaxReceives moves a message to DeadLetterQueue when a receive would be
	// its MaxReceives+1-th; 0 disables dead-lettering. Range 0..1000.
	MaxReceives int `json:"max_receives"`
	// DeadLetterQueue names the queue that receives messages after
	// MaxReceives; required when MaxReceives > 0. It must exist when the
	// queue is created or updated and must be FIFO exactly when this queue is.
	DeadLetterQueue string `json:"dead_letter_queue,omitempty"`
	// FIFO makes delivery strictly ordered per message group: while a
	// message of a group is in flight no later message of that group is
	// delivered. Every message sent to a FIFO queue needs a group. Cannot be
	// changed after creation.
	FIFO bool `json:"fifo"`
	// ContentBasedDedup uses the SHA-256 of the body as the dedup ID of
	// messages sent without one.
	ContentBasedDedup bool `json:"content_based_dedup"`
}

// Limits on queue attributes and requests, shared by every surface.
const (
	MaxVisibilityTimeout = 12 * time.Hour
	MinRetentionPeriod   = time.Minute
	MaxRetentionPeriod   = 14 * 24 * time.Hour
	MaxDeliveryDelay     = 15 * time.Minute
	MaxReceiveWait       = 20 * time.Second
	MinMessageSizeLimit  = 1 << 10
	MaxMessageSizeLimit  = 1 << 20
	MaxMaxReceives       = 1000
	MaxQueueNameLen      = 80
	MaxBatch             = 1000 // messages per SendBatch and per Receive on the native API
	MaxHeaders           = 64
	MaxHeaderKeyLen      = 256
	MaxDedupIDLen        = 128
	MaxGroupLen          = 128
)

// DefaultQueueAttributes returns the attributes of a queue created without
// options.
func DefaultQueueAttributes() QueueAttributes {
	return QueueAttributes{
		VisibilityTimeout: 30 * time.Second,
		RetentionPeriod:   4 * 24 * time.Hour,
		MaxMessageSize:    MaxMessageSizeLimit,
	}
}

// QueueStats are a queue's approximate counters at one instant.
type QueueStats struct {
	Visible   int64         `json:"visible"`    // ready to be received now
	InFlight  int64         `json:"in_flight"`  // received, not acked, not settled since, visibility not expired
	Delayed   int64         `json:"delayed"`    // sent with a delay, or whose visibility was changed (nack with a delay, extend), not yet visible
	OldestAge time.Duration `json:"oldest_age"` // age of the oldest message in any state; 0 when empty
}

// QueueInfo describes a queue: its attributes and current stats.
type QueueInfo struct {
	Name       string          `json:"name"`
	Attributes QueueAttributes `json:"attributes"`
	CreatedAt  time.Time       `json:"created_at"`
	UpdatedAt  time.Time       `json:"updated_at"`
	Stats      QueueStats      `json:"stats"`
	// Counters count the queue's traffic since the backend started; nil
	// for backends that do not count it (the embedded engine does).
	Counters *QueueCounters `json:"-"`
}

// QueueCounters count a queue's traffic since the backend started, for
// metrics: they restart from zero with the process.
type QueueCounters struct {
	Sent         int64 // messages stored, by sends, fan-out and moves in
	Received     int64 // deliveries made
	Acked        int64 // deliveries acked
	Nacked       int64 // deliveries made visible again by a nack
	DeadLettered int64 // messages moved to the dead-letter queue
	// ReceiveLatency is the time from a message's storage to each of its
	// deliveries, in seconds.
	ReceiveLatency Histogram
}

// Message is a message to send.
type Message struct {
	// Body is the payload; any bytes.
	Body []byte
	// Headers are application metadata (trace context travels here). They
	// count toward the queue's MaxMessageSize.
	Headers map[string]string
	// Delay postpones this message's first delivery, overriding the queue's
	// DeliveryDelay. Zero means "use the queue's DeliveryDelay".
	Delay time.Duration
	// DedupID makes the send idempotent within DedupWindow.
	DedupID string
	// Group is the message group of a FIFO queue (required there). On a
	// standard queue it is stored and returned but does not order delivery.
	Group string
}

// SendResult is the outcome of sending one message of a batch.
type SendResult struct {
	// ID of the stored message; for a duplicate, the ID of the original.
	ID string
	// Duplicate reports that the dedup ID was seen within DedupWindow and
	// nothing was stored.
	Duplicate bool
	// Sequence is the message's position in its queue (FIFO queues; 0 elsewhere).
	Sequence uint64
	// Err is set when this entry was rejected; the other entries are unaffected.
	Err error
}

// Special values of ReceiveRequest.Wait.
const (
	// WaitQueueDefault (the zero value) uses the queue's ReceiveWait.
	WaitQueueDefault time.Duration = 0
	// NoWait returns at once, even if the queue's ReceiveWait is set.
	NoWait time.Duration = -1
)

// ReceiveRequest asks for messages.
type ReceiveRequest struct {
	// Max is the most messages to return, 1..MaxBatch; 0 means 1.
	Max int
	// Wait is how long to wait for the first message when none is visible:
	// WaitQueueDefault, NoWait, or up to MaxReceiveWait. A send wakes the
	// waiter at once.
	Wait time.Duration
	// Visibility overrides the queue's VisibilityTimeout for these
	// deliveries; 0 means the queue's.
	Visibility time.Duration
}

// Delivery is a received message.
type Delivery struct {
	ID      string
	Body    []byte
	Headers map[string]string
	// Receipt settles this delivery (Ack, ChangeVisibility). It becomes
	// invalid once the message is delivered again.
	Receipt string
	// ReceiveCount counts deliveries of this message, this one included.
	ReceiveCount int
	// SentAt is when the message was stored.
	SentAt time.Time
	// FirstReceivedAt is when the message was first delivered.
	FirstReceivedAt time.Time
	// Group and DedupID are as sent.
	Group   string
	DedupID string
	// Sequence is the message's position in a FIFO queue; 0 elsewhere.
	Sequence uint64
	// SourceQueue names the queue a dead-lettered message came from; empty
	// for messages that were sent to this queue directly.
	SourceQueue string
}

// RedriveRequest moves messages out of a dead-letter queue.
type RedriveRequest struct {
	// Max is the most messages to move; 0 moves all that are visible.
	Max int
	// Rate limits moves per second; 0 is unlimited.
	Rate int
	// Destination is the queue to move to; empty moves each message back to
	// the queue it was dead-lettered from.
	Destination string
}

// RedriveResult reports a finished redrive.
type RedriveResult struct {
	Moved int `json:"moved"`
}

// MaxPeek is the most messages one Peek returns.
const MaxPeek = 100

// Message states that Peek reports.
const (
	StateVisible  = "visible"   // can be received now
	StateDelayed  = "delayed"   // waits for a delivery delay or a nack delay
	StateInFlight = "in_flight" // received; invisible until its visibility timeout
)

// PeekedMessage is a stored message seen without receiving it: its
// Delivery has no receipt and its receive count is unchanged by the peek.
type PeekedMessage struct {
	Delivery
	// State is StateVisible, StateDelayed or StateInFlight.
	State string
	// VisibleAt is when a delayed or in-flight message becomes visible;
	// zero for a visible one.
	VisibleAt time.Time
}

// Peeker is implemented by backends that can show a queue's messages
// without receiving them (an operator's view: the dashboard, the CLI).
// Peek returns up to max (1..MaxPeek) messages of the queue, oldest first,
// in any state, and changes nothing.
type Peeker interface {
	Peek(ctx context.Context, queue string, max int) ([]PeekedMessage, error)
}

// Queues is the queue pattern (SQS semantics). Inputs have been validated
// by the root package with the functions of this package; drivers still
// check what depends on state (a message against its queue's size limit,
// a FIFO send without a group). Methods return promptly when ctx ends.
type Queues interface {
	// CreateQueue creates a queue. It is idempotent: creating an existing
	// queue with equal attributes returns its info; with different
	// attributes it fails with ErrConflict.
	CreateQueue(ctx context.Context, name string, attrs QueueAttributes) (QueueInfo, error)
	// QueueInfo returns attributes and stats, or ErrNotFound.
	QueueInfo(ctx context.Context, name string) (QueueInfo, error)
	// SetQueueAttributes replaces the queue's attributes; FIFO cannot change
	// (ErrConflict).
	SetQueueAttributes(ctx context.Context, name string, attrs QueueAttributes) (QueueInfo, error)
	// ListQueues returns all queue names in sorted order.
	ListQueues(ctx context.Context) ([]string, error)
	// DeleteQueue deletes the queue and its messages.
	DeleteQueue(ctx context.Context, name string) error
	// PurgeQueue deletes every message of the queue and reports how many.
	PurgeQueue(ctx context.Context, name string) (int, error)
	// Send stores msgs and returns one result per message, after every
	// stored message is durable (per the backend's durability contract).
	// An error return means the whole batch failed and nothing can be
	// assumed stored; per-message rejections are in SendResult.Err.
	Send(ctx context.Context, queue string, msgs []Message) ([]SendResult, error)
	// Receive returns up to req.Max visible messages, waiting as req.Wait
	// says; no messages and a nil error when the wait ends empty.
	Receive(ctx context.Context, queue string, req ReceiveRequest) ([]Delivery, error)
	// Ack deletes the messages of receipts. The result has one entry per
	// receipt: nil, or an error wrapping ErrReceiptInvalid. Acking a message
	// that no longer exists succeeds.
	Ack(ctx context.Context, queue string, receipts []string) ([]error, error)
	// ChangeVisibility makes the messages of receipts visible again after d
	// from now (d = 0: at once). It serves both nack (with a delay) and
	// extend. One result per receipt as for Ack.
	ChangeVisibility(ctx context.Context, queue string, receipts []string, d time.Duration) ([]error, error)
	// Redrive moves messages from the dead-letter queue dlq and reports how
	// many moved. Each move is atomic: a message is in exactly one queue.
	Redrive(ctx context.Context, dlq string, req RedriveRequest) (RedriveResult, error)
}

// Conn is an open connection to a backend. Pattern interfaces (Queues, ...)
// are implemented by the same value; the root package finds them with a type
// assertion guided by Capabilities.
type Conn interface {
	// Capabilities reports what the backend supports; constant for a Conn.
	Capabilities() Capabilities
	// Close releases the connection; pending calls fail with ErrClosed. It
	// is idempotent.
	Close() error
}
