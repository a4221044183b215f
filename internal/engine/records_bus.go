package engine

import (
	"github.com/courier-io/courier/driver"
)

// Record types of event buses; numbers are on disk like those in
// records.go. Events themselves are publish records (recPublish) whose
// targets are the queues they are delivered into.
const (
	recCreateBus     byte = 23 // busRecord
	recDeleteBus     byte = 24 // bidRecord
	recPutRule       byte = 25 // ruleRecord: create or replace a rule and its targets
	recDeleteRule    byte = 26 // busItemRecord
	recCreateArchive byte = 27 // archiveRecord
	recDeleteArchive byte = 28 // busItemRecord
	recReplay        byte = 29 // replayRecord: a replay's state
)

// busRecord creates a bus.
type busRecord struct {
	BID   uint64
	Name  string
	Attrs driver.BusAttributes
	At    int64
}

func (r *busRecord) encode(e *encoder) {
	e.uint(r.BID)
	e.str(r.Name)
	e.str(r.Attrs.Description)
	e.int(r.At)
}

func (r *busRecord) decode(d *decoder) {
	r.BID = d.uint()
	r.Name = d.str()
	r.Attrs.Description = d.str()
	r.At = d.int()
}

// bidRecord names one bus incarnation.
type bidRecord struct{ BID uint64 }

func (r *bidRecord) encode(e *encoder) { e.uint(r.BID) }
func (r *bidRecord) decode(d *decoder) { r.BID = d.uint() }

// ruleRecord creates or replaces a rule. Spec is the normalized
// driver.Rule as JSON (secrets included); QIDs are the delivery queues of
// its targets, in target order, created by queue records logged just
// before when new.
type ruleRecord struct {
	BID     uint64
	Name    string
	Spec    []byte
	QIDs    []uint64
	Created int64
	At      int64
}

func (r *ruleRecord) encode(e *encoder) {
	e.uint(r.BID)
	e.str(r.Name)
	e.bytes(r.Spec)
	e.seqs(r.QIDs)
	e.int(r.Created)
	e.int(r.At)
}

func (r *ruleRecord) decode(d *decoder) {
	r.BID = d.uint()
	r.Name = d.str()
	r.Spec = d.raw()
	r.QIDs = d.seqs()
	r.Created = d.int()
	r.At = d.int()
}

// busItemRecord names a rule or an archive of a bus.
type busItemRecord struct {
	BID  uint64
	Name string
}

func (r *busItemRecord) encode(e *encoder) { e.uint(r.BID); e.str(r.Name) }
func (r *busItemRecord) decode(d *decoder) { r.BID = d.uint(); r.Name = d.str() }

// archiveRecord creates an archive; SID is the stream that keeps its
// events, created by a stream record logged just before.
type archiveRecord struct {
	BID  uint64
	Name string
	Spec []byte // driver.Archive as JSON
	SID  uint64
	At   int64
}

func (r *archiveRecord) encode(e *encoder) {
	e.uint(r.BID)
	e.str(r.Name)
	e.bytes(r.Spec)
	e.uint(r.SID)
	e.int(r.At)
}

func (r *archiveRecord) decode(d *decoder) {
	r.BID = d.uint()
	r.Name = d.str()
	r.Spec = d.raw()
	r.SID = d.uint()
	r.At = d.int()
}

// replayRecord is a replay's state: the driver.ReplayInfo and where in the
// archive it goes on, as JSON.
type replayRecord struct {
	Name  string
	State []byte
}

func (r *replayRecord) encode(e *encoder) { e.str(r.Name); e.bytes(r.State) }
func (r *replayRecord) decode(d *decoder) { r.Name = d.str(); r.State = d.raw() }
