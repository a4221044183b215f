package engine

import (
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	"github.com/courier-io/courier/driver"
)

// Record types in the log. Every change of queue state is one record,
// written under the engine's lock so that the log's order is the order in
// which changes were applied; replaying the records from a checkpoint
// rebuilds the state exactly. Numbers are stable: they are on disk.
const (
	recMeta        byte = 1  // engine identity: metaRecord
	recCreateQueue byte = 2  // queueRecord
	recSetAttrs    byte = 3  // queueRecord
	recDeleteQueue byte = 4  // qidRecord
	recPurge       byte = 5  // qidRecord
	recSend        byte = 6  // sendRecord; one per message, its body included
	recReceive     byte = 7  // receiveRecord
	recAck         byte = 8  // ackRecord
	recVisibility  byte = 9  // visibilityRecord
	recMove        byte = 10 // moveRecord: dead-lettering and redrive
	recRelocate    byte = 11 // sendRecord of a live message copied by compaction
)

// metaRecord names the engine instance; message IDs embed its nonce.
type metaRecord struct {
	Nonce uint64
}

func (r *metaRecord) encode(e *encoder) { e.uint(r.Nonce) }
func (r *metaRecord) decode(d *decoder) { r.Nonce = d.uint() }

// queueRecord creates a queue or replaces its attributes.
type queueRecord struct {
	QID   uint64
	Name  string
	Attrs driver.QueueAttributes
	At    int64 // unix nanoseconds
}

func (r *queueRecord) encode(e *encoder) {
	e.uint(r.QID)
	e.str(r.Name)
	encodeAttrs(e, &r.Attrs)
	e.int(r.At)
}

func (r *queueRecord) decode(d *decoder) {
	r.QID = d.uint()
	r.Name = d.str()
	decodeAttrs(d, &r.Attrs)
	r.At = d.int()
}

func encodeAttrs(e *encoder, a *driver.QueueAttributes) {
	e.int(int64(a.VisibilityTimeout))
	e.int(int64(a.RetentionPeriod))
	e.int(int64(a.DeliveryDelay))
	e.int(int64(a.ReceiveWait))
	e.uint(uint64(a.MaxMessageSize))
	e.uint(uint64(a.MaxReceives))
	e.str(a.DeadLetterQueue)
	e.bool(a.FIFO)
	e.bool(a.ContentBasedDedup)
}

func decodeAttrs(d *decoder, a *driver.QueueAttributes) {
	a.VisibilityTimeout = time.Duration(d.int())
	a.RetentionPeriod = time.Duration(d.int())
	a.DeliveryDelay = time.Duration(d.int())
	a.ReceiveWait = time.Duration(d.int())
	a.MaxMessageSize = int(d.uint() & 0x7fffffff)
	a.MaxReceives = int(d.uint() & 0x7fffffff)
	a.DeadLetterQueue = d.str()
	a.FIFO = d.bool()
	a.ContentBasedDedup = d.bool()
}

// qidRecord names one queue incarnation.
type qidRecord struct{ QID uint64 }

func (r *qidRecord) encode(e *encoder) { e.uint(r.QID) }
func (r *qidRecord) decode(d *decoder) { r.QID = d.uint() }

// sendRecord stores one message. Receive reads the body and headers back
// from it; the index keeps only its position.
type sendRecord struct {
	QID       uint64
	Seq       uint64
	FIFOSeq   uint64
	SentAt    int64
	VisibleAt int64
	Group     string
	DedupID   string
	Headers   map[string]string
	Body      []byte
}

// sendHeaderSize is the fixed-width start of a sendRecord: QID, Seq and
// FIFOSeq as 8-byte little-endian numbers, so that Send can encode a
// message before it takes the engine lock and patch in the numbers it
// assigns under the lock (patchSend).
const sendHeaderSize = 24

func (r *sendRecord) encode(e *encoder) {
	e.b = binary.LittleEndian.AppendUint64(e.b, r.QID)
	e.b = binary.LittleEndian.AppendUint64(e.b, r.Seq)
	e.b = binary.LittleEndian.AppendUint64(e.b, r.FIFOSeq)
	e.int(r.SentAt)
	e.int(r.VisibleAt)
	e.str(r.Group)
	e.str(r.DedupID)
	e.headers(r.Headers)
	e.bytes(r.Body)
}

func (r *sendRecord) decode(d *decoder) {
	r.QID = d.fixed64()
	r.Seq = d.fixed64()
	r.FIFOSeq = d.fixed64()
	r.SentAt = d.int()
	r.VisibleAt = d.int()
	r.Group = d.str()
	r.DedupID = d.str()
	r.Headers = d.headers()
	r.Body = d.raw()
}

// receiveRecord records deliveries: each message's new receive count and
// the end of its visibility timeout.
type receiveRecord struct {
	QID   uint64
	At    int64
	Items []receiveItem
}

type receiveItem struct {
	Seq       uint64
	Receives  uint64
	VisibleAt int64
}

func (r *receiveRecord) encode(e *encoder) {
	e.uint(r.QID)
	e.int(r.At)
	e.uint(uint64(len(r.Items)))
	for _, it := range r.Items {
		e.uint(it.Seq)
		e.uint(it.Receives)
		e.int(it.VisibleAt)
	}
}

func (r *receiveRecord) decode(d *decoder) {
	r.QID = d.uint()
	r.At = d.int()
	r.Items = make([]receiveItem, d.count(3))
	for i := range r.Items {
		r.Items[i] = receiveItem{Seq: d.uint(), Receives: d.uint(), VisibleAt: d.int()}
	}
}

// ackRecord deletes messages.
type ackRecord struct {
	QID  uint64
	Seqs []uint64
}

func (r *ackRecord) encode(e *encoder) {
	e.uint(r.QID)
	e.seqs(r.Seqs)
}

func (r *ackRecord) decode(d *decoder) {
	r.QID = d.uint()
	r.Seqs = d.seqs()
}

// visibilityRecord changes when messages become visible (nack, extend):
// at once when VisibleAt is not after At.
type visibilityRecord struct {
	QID       uint64
	At        int64
	VisibleAt int64
	Seqs      []uint64
}

func (r *visibilityRecord) encode(e *encoder) {
	e.uint(r.QID)
	e.int(r.At)
	e.int(r.VisibleAt)
	e.seqs(r.Seqs)
}

func (r *visibilityRecord) decode(d *decoder) {
	r.QID = d.uint()
	r.At = d.int()
	r.VisibleAt = d.int()
	r.Seqs = d.seqs()
}

// moveRecord moves a message to another queue (to its dead-letter queue, or
// back by redrive). The body stays where it is in the log.
type moveRecord struct {
	From, To uint64
	Seq      uint64
	At       int64
	Source   string // the queue a dead-lettered message came from; empty on redrive
}

func (r *moveRecord) encode(e *encoder) {
	e.uint(r.From)
	e.uint(r.To)
	e.uint(r.Seq)
	e.int(r.At)
	e.str(r.Source)
}

func (r *moveRecord) decode(d *decoder) {
	r.From = d.uint()
	r.To = d.uint()
	r.Seq = d.uint()
	r.At = d.int()
	r.Source = d.str()
}

// record is implemented by every record type.
type record interface {
	encode(*encoder)
	decode(*decoder)
}

// newRecord returns an empty record of type typ.
func newRecord(typ byte) (record, error) {
	switch typ {
	case recMeta:
		return &metaRecord{}, nil
	case recCreateQueue, recSetAttrs:
		return &queueRecord{}, nil
	case recDeleteQueue, recPurge:
		return &qidRecord{}, nil
	case recSend, recRelocate:
		return &sendRecord{}, nil
	case recReceive:
		return &receiveRecord{}, nil
	case recAck:
		return &ackRecord{}, nil
	case recVisibility:
		return &visibilityRecord{}, nil
	case recMove:
		return &moveRecord{}, nil
	case recCreateTopic:
		return &topicRecord{}, nil
	case recDeleteTopic:
		return &tidRecord{}, nil
	case recSubscribe:
		return &subscribeRecord{}, nil
	case recUnsubscribe:
		return &unsubscribeRecord{}, nil
	case recPublish:
		return &publishRecord{}, nil
	case recCreateStream, recSetStream:
		return &streamRecord{}, nil
	case recDeleteStream:
		return &sidRecord{}, nil
	case recAppend, recStreamRelocate:
		return &appendRecord{}, nil
	case recGroup:
		return &groupRecord{}, nil
	case recCreateBus:
		return &busRecord{}, nil
	case recDeleteBus:
		return &bidRecord{}, nil
	case recPutRule:
		return &ruleRecord{}, nil
	case recDeleteRule, recDeleteArchive:
		return &busItemRecord{}, nil
	case recCreateArchive:
		return &archiveRecord{}, nil
	case recReplay:
		return &replayRecord{}, nil
	}
	return nil, fmt.Errorf("unknown record type %d", typ)
}

// decodeRecord decodes a record payload of type typ.
func decodeRecord(typ byte, payload []byte) (record, error) {
	r, err := newRecord(typ)
	if err != nil {
		return nil, err
	}
	d := decoder{b: payload}
	r.decode(&d)
	if err := d.end(); err != nil {
		return nil, fmt.Errorf("record type %d: %w", typ, err)
	}
	return r, nil
}

// encodeRecord returns the payload of r.
func encodeRecord(r record) []byte {
	var e encoder
	if s, ok := r.(*sendRecord); ok {
		e.b = make([]byte, 0, s.sizeHint())
	}
	r.encode(&e)
	return e.b
}

// smallPayloads recycles the encoded messages of file:// sends, which are
// garbage once the log has copied them.
var smallPayloads = sync.Pool{New: func() any { b := make([]byte, 0, smallPayload); return &b }}

const smallPayload = 4 << 10

// encodeSend encodes a message into a pooled buffer when it is small;
// release it with releaseSend.
func encodeSend(r *sendRecord) []byte {
	if r.sizeHint() > smallPayload {
		return encodeRecord(r)
	}
	e := encoder{b: (*smallPayloads.Get().(*[]byte))[:0]}
	r.encode(&e)
	return e.b
}

// releaseSend returns a buffer of encodeSend to the pool.
func releaseSend(b []byte) {
	if cap(b) == smallPayload {
		b = b[:0]
		smallPayloads.Put(&b)
	}
}

// patchSend sets the numbers of an encoded sendRecord.
func patchSend(payload []byte, qid, seq, fifoSeq uint64) {
	binary.LittleEndian.PutUint64(payload[0:8], qid)
	binary.LittleEndian.PutUint64(payload[8:16], seq)
	binary.LittleEndian.PutUint64(payload[16:24], fifoSeq)
}

// sizeHint is an upper bound of the encoded size, so that encoding a
// message allocates once.
func (r *sendRecord) sizeHint() int {
	n := 8*binary.MaxVarintLen64 + len(r.Group) + len(r.DedupID) + len(r.Body)
	n += headersSize(r.Headers)
	return n
}
