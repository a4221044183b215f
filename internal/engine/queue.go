package engine

import (
	"time"

	"github.com/courier-io/courier/driver"
)

// queue is one queue incarnation: its attributes and the index of its
// messages. Its methods are pure state transitions; the engine holds its
// lock around them and logs the records that cause them.
type queue struct {
	qid     uint64
	name    string
	attrs   driver.QueueAttributes
	created int64
	updated int64

	msgs   map[uint64]*message
	ready  ilist[message] // standard queues: visible messages, roughly in send order
	all    ilist[message] // every message in enqueue order
	timers timerHeap      // delayed and in-flight messages by visibleAt

	nVisible, nDelayed, nInFlight int64

	// FIFO queues.
	groups      map[string]*group
	readyGroups ilist[group] // groups with messages and none in flight
	fifoSeq     uint64

	dedup dedupWindow

	// owner is the subscription that owns this queue (durable and HTTP
	// subscriptions); users cannot delete or reconfigure it directly.
	owner *subscription

	// signal, when a long poll waits, is closed (and cleared) when
	// messages may have become receivable.
	signal chan struct{}

	// counters count the live traffic since the engine started (not what
	// recovery replays), for metrics.
	counters driver.QueueCounters
}

func newQueue(qid uint64, name string, attrs driver.QueueAttributes, at int64) *queue {
	q := &queue{
		qid: qid, name: name, attrs: attrs, created: at, updated: at,
		msgs:     make(map[uint64]*message),
		counters: driver.QueueCounters{ReceiveLatency: driver.NewHistogram(driver.LatencyBounds)},
	}
	if attrs.FIFO {
		q.groups = make(map[string]*group)
	}
	return q
}

func (q *queue) fifo() bool { return q.groups != nil }

// wake wakes every long poll of the queue.
func (q *queue) wake() {
	if q.signal != nil {
		close(q.signal)
		q.signal = nil
	}
}

// waitSignal returns the channel the next wake closes, making it if no
// one waits yet (so sends to a queue nobody polls allocate nothing).
func (q *queue) waitSignal() <-chan struct{} {
	if q.signal == nil {
		q.signal = make(chan struct{})
	}
	return q.signal
}

// add indexes a new message; it is visible at once unless m.visibleAt is
// after now.
func (q *queue) add(m *message, groupName string, now int64) {
	m.heapIdx = -1
	q.msgs[m.seq] = m
	q.all.pushBack(m, alink)
	if q.fifo() {
		g := q.groups[groupName]
		if g == nil {
			g = &group{name: groupName}
			q.groups[groupName] = g
		}
		m.group = g
		insertBySeq(&g.msgs, m)
		if g.inFlight == 0 {
			q.markReady(g)
		}
	}
	if m.visibleAt > now {
		m.state = stateDelayed
		q.nDelayed++
		q.timers.push(m)
		return
	}
	m.state = stateVisible
	q.nVisible++
	if !q.fifo() {
		q.ready.pushBack(m, qlink)
	}
}

// leave takes m out of its current state's structures and counters.
func (q *queue) leave(m *message) {
	switch m.state {
	case stateVisible:
		q.nVisible--
		if !q.fifo() {
			q.ready.remove(m, qlink)
		}
	case stateDelayed:
		q.nDelayed--
		q.timers.remove(m)
	case stateInFlight:
		q.nInFlight--
		q.timers.remove(m)
		if g := m.group; g != nil {
			g.inFlight--
			if g.inFlight == 0 {
				q.markReady(g)
			}
		}
	}
}

// remove deletes m from the queue.
func (q *queue) remove(m *message) {
	q.leave(m)
	delete(q.msgs, m.seq)
	q.all.remove(m, alink)
	if g := m.group; g != nil {
		g.msgs.remove(m, qlink)
		if g.msgs.n == 0 {
			q.unmarkReady(g)
			delete(q.groups, g.name)
		}
		m.group = nil
	}
}

// setVisibleAt moves m to the visible state if at is not after now, or to
// the delayed state until at.
func (q *queue) setVisibleAt(m *message, at, now int64) {
	q.leave(m)
	m.visibleAt = at
	if at > now {
		m.state = stateDelayed
		q.nDelayed++
		q.timers.push(m)
		return
	}
	m.state = stateVisible
	q.nVisible++
	if !q.fifo() {
		q.ready.pushBack(m, qlink)
	}
}

// deliver puts m in flight until visibleAt with the given receive count.
func (q *queue) deliver(m *message, receives int32, visibleAt, now int64) {
	q.leave(m)
	m.receives = receives
	if m.firstRecv == 0 {
		m.firstRecv = now
	}
	m.visibleAt = visibleAt
	m.state = stateInFlight
	q.nInFlight++
	q.timers.push(m)
	if g := m.group; g != nil {
		g.inFlight++
		q.unmarkReady(g)
	}
}

func (q *queue) markReady(g *group) {
	if g.ready || g.msgs.n == 0 {
		return
	}
	g.ready = true
	q.readyGroups.pushBack(g, rlink)
}

func (q *queue) unmarkReady(g *group) {
	if !g.ready {
		return
	}
	g.ready = false
	q.readyGroups.remove(g, rlink)
}

// advance applies the passage of time up to now: expired delays and
// visibility timeouts make messages visible, expired retention deletes
// them (calling gone for each), and old dedup IDs are forgotten.
func (q *queue) advance(now int64, gone func(*message)) {
	for len(q.timers) > 0 && q.timers[0].visibleAt <= now {
		m := q.timers[0]
		q.setVisibleAt(m, m.visibleAt, now)
	}
	retention := int64(q.attrs.RetentionPeriod)
	for m := q.all.head; m != nil && m.enq+retention <= now; m = q.all.head {
		q.remove(m)
		gone(m)
	}
	q.dedup.expire(now)
}

// receivable returns up to max visible messages that ok allows (durable
// ones), in delivery order, without changing anything. A FIFO group stops
// at its first message that ok refuses, so order holds.
func (q *queue) receivable(max int, ok func(*message) bool) []*message {
	var out []*message
	if !q.fifo() {
		for m := q.ready.head; m != nil && len(out) < max; m = m.qlink.next {
			if ok(m) {
				out = append(out, m)
			}
		}
		return out
	}
	for g := q.readyGroups.head; g != nil && len(out) < max; g = g.rlink.next {
		for m := g.msgs.head; m != nil && m.state == stateVisible && len(out) < max && ok(m); m = m.qlink.next {
			out = append(out, m)
		}
	}
	return out
}

// nextTimer returns when the next delayed or in-flight message becomes
// visible, or 0 when none waits.
func (q *queue) nextTimer() int64 {
	if len(q.timers) == 0 {
		return 0
	}
	return q.timers[0].visibleAt
}

// stats returns the queue's counters at now (after advance).
func (q *queue) stats(now int64) driver.QueueStats {
	st := driver.QueueStats{Visible: q.nVisible, InFlight: q.nInFlight, Delayed: q.nDelayed}
	if h := q.all.head; h != nil && now > h.enq {
		st.OldestAge = time.Duration(now - h.enq)
	}
	return st
}

func (q *queue) info(now int64) driver.QueueInfo {
	return driver.QueueInfo{
		Name:       q.name,
		Attributes: q.attrs,
		CreatedAt:  time.Unix(0, q.created),
		UpdatedAt:  time.Unix(0, q.updated),
		Stats:      q.stats(now),
		Counters:   q.countersCopy(),
	}
}

// countersCopy returns a copy of q's counters.
func (q *queue) countersCopy() *driver.QueueCounters {
	c := q.counters
	c.ReceiveLatency = c.ReceiveLatency.Clone()
	return &c
}
