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

	qlink link[message] // ready list (standard) or group list (FIFO)
	alink link[message] // all messages of the queue in enqueue order
}

// link is the pair of pointers an element keeps for one list it is in.
type link[T any] struct{ prev, next *T }

// ilist is an intrusive doubly linked list: its elements carry their own
// links (found with the at function each call passes), so adding and
// removing allocates nothing.
type ilist[T any] struct {
	head, tail *T
	n          int
}

func (l *ilist[T]) pushBack(e *T, at func(*T) *link[T]) {
	*at(e) = link[T]{prev: l.tail}
	if l.tail != nil {
		at(l.tail).next = e
	} else {
		l.head = e
	}
	l.tail = e
	l.n++
}

func (l *ilist[T]) remove(e *T, at func(*T) *link[T]) {
	le := at(e)
	if le.prev != nil {
		at(le.prev).next = le.next
	} else {
		l.head = le.next
	}
	if le.next != nil {
		at(le.next).prev = le.prev
	} else {
		l.tail = le.prev
	}
	*le = link[T]{}
	l.n--
}

// insertAfter inserts e after at-element prev (nil: at the front).
func (l *ilist[T]) insertAfter(prev, e *T, at func(*T) *link[T]) {
	if prev == nil {
		*at(e) = link[T]{next: l.head}
		if l.head != nil {
			at(l.head).prev = e
		} else {
			l.tail = e
		}
		l.head = e
		l.n++
		return
	}
	lp := at(prev)
	*at(e) = link[T]{prev: prev, next: lp.next}
	if lp.next != nil {
		at(lp.next).prev = e
	} else {
		l.tail = e
	}
	lp.next = e
	l.n++
}

// The lists a message is in: qlink for its queue's ready list (standard
// queues) or its group's list (FIFO), alink for the queue's list of all
// messages; a group's rlink for the queue's list of ready groups.
func qlink(m *message) *link[message] { return &m.qlink }
func alink(m *message) *link[message] { return &m.alink }
func rlink(g *group) *link[group]     { return &g.rlink }

// insertBySeq inserts m into a list ordered by seq, scanning from the
// tail (messages usually arrive in order).
func insertBySeq(l *ilist[message], m *message) {
	at := l.tail
	for at != nil && at.seq > m.seq {
		at = at.qlink.prev
	}
	l.insertAfter(at, m, qlink)
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
	msgs     ilist[message]
	inFlight int
	rlink    link[group] // in the queue's list of groups that may deliver
	ready    bool
}
