package engine

// msgState is where a message is in its life cycle.
type msgState uint8

const (
	stateVisible  msgState = iota // can be received now
	stateDelayed                  // waits for a delivery delay or a nack delay
	stateInFlight                 // received; invisible until its visibility timeout
)

// message is the in-memory index entry of one stored message. The body and
// headers stay in the log (at pos); what is here is what delivery order,
// visibility, retention and receipts need. Keep it small: its size is the
// per-message memory cost of a backlog.
type message struct {
	seq       uint64 // engine-wide, increasing; the message ID derives from it
	pos       pos    // the sendRecord (or its relocated copy) in the log
	sentAt    int64  // unix ns, as first sent
	enq       int64  // unix ns the message entered this queue; retention counts from here
	visibleAt int64  // unix ns; meaningful while delayed or in flight
	firstRecv int64  // unix ns of the first delivery; 0 before
	fifoSeq   uint64 // position in a FIFO queue; 0 on standard queues
	size      int32  // bytes of the sendRecord payload
	receives  int32
	state     msgState
	heapIdx   int32 // index in queue.timers; -1 when not there

	group  *group  // FIFO queues only
	source *string // the queue a dead-lettered message came from

	// prev/next link the standard queue's ready list or the FIFO group's
	// message list; aprev/anext link every message of the queue in
	// enqueue order (retention and oldest age).
	prev, next   *message
	aprev, anext *message
}

// list is an intrusive doubly linked list over message.prev/next.
type list struct {
	head, tail *message
	n          int
}

func (l *list) pushBack(m *message) {
	m.prev, m.next = l.tail, nil
	if l.tail != nil {
		l.tail.next = m
	} else {
		l.head = m
	}
	l.tail = m
	l.n++
}

func (l *list) remove(m *message) {
	if m.prev != nil {
		m.prev.next = m.next
	} else {
		l.head = m.next
	}
	if m.next != nil {
		m.next.prev = m.prev
	} else {
		l.tail = m.prev
	}
	m.prev, m.next = nil, nil
	l.n--
}

// insertOrdered inserts m keeping the list ordered by seq, scanning from
// the tail (messages usually arrive in order).
func (l *list) insertOrdered(m *message) {
	at := l.tail
	for at != nil && at.seq > m.seq {
		at = at.prev
	}
	if at == nil { // new head
		m.prev, m.next = nil, l.head
		if l.head != nil {
			l.head.prev = m
		} else {
			l.tail = m
		}
		l.head = m
		l.n++
		return
	}
	m.prev, m.next = at, at.next
	if at.next != nil {
		at.next.prev = m
	} else {
		l.tail = m
	}
	at.next = m
	l.n++
}

// allList is an intrusive doubly linked list over message.aprev/anext.
type allList struct {
	head, tail *message
}

func (l *allList) pushBack(m *message) {
	m.aprev, m.anext = l.tail, nil
	if l.tail != nil {
		l.tail.anext = m
	} else {
		l.head = m
	}
	l.tail = m
}

func (l *allList) remove(m *message) {
	if m.aprev != nil {
		m.aprev.anext = m.anext
	} else {
		l.head = m.anext
	}
	if m.anext != nil {
		m.anext.aprev = m.aprev
	} else {
		l.tail = m.aprev
	}
	m.aprev, m.anext = nil, nil
}

// timerHeap orders delayed and in-flight messages by visibleAt.
type timerHeap []*message

func (h timerHeap) less(i, j int) bool {
	if h[i].visibleAt != h[j].visibleAt {
		return h[i].visibleAt < h[j].visibleAt
	}
	return h[i].seq < h[j].seq
}

func (h timerHeap) swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].heapIdx = int32(i)
	h[j].heapIdx = int32(j)
}

func (h *timerHeap) push(m *message) {
	m.heapIdx = int32(len(*h))
	*h = append(*h, m)
	h.up(len(*h) - 1)
}

func (h *timerHeap) remove(m *message) {
	i := int(m.heapIdx)
	last := len(*h) - 1
	if i != last {
		h.swap(i, last)
	}
	(*h)[last] = nil
	*h = (*h)[:last]
	m.heapIdx = -1
	if i != last {
		if !h.down(i) {
			h.up(i)
		}
	}
}

// fix restores order after m.visibleAt changed.
func (h *timerHeap) fix(m *message) {
	i := int(m.heapIdx)
	if !h.down(i) {
		h.up(i)
	}
}

func (h timerHeap) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !h.less(i, p) {
			return
		}
		h.swap(i, p)
		i = p
	}
}

func (h timerHeap) down(i int) bool {
	start := i
	n := len(h)
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		c := l
		if r := l + 1; r < n && h.less(r, l) {
			c = r
		}
		if !h.less(c, i) {
			break
		}
		h.swap(i, c)
		i = c
	}
	return i > start
}

// group is a FIFO message group: its messages in order, and how many of
// them are in flight. A group delivers only while none is in flight.
type group struct {
	name     string
	msgs     list
	inFlight int
	// readyPrev/readyNext link the queue's list of groups that may deliver.
	readyPrev, readyNext *group
	ready                bool
}
