package rabbitmq

import (
	"container/heap"
	"sync"
	"time"
)

// reaper owns the deadlines of held deliveries: one goroutine returns each
// delivery to its queue when its visibility ends or it reaches the hold
// limit.
type reaper struct {
	c    *Conn
	mu   sync.Mutex
	h    dueHeap
	wake chan struct{}
}

func newReaper(c *Conn) *reaper {
	return &reaper{c: c, wake: make(chan struct{}, 1)}
}

// schedule (re)computes e's deadline and queues it; the caller holds
// e.qs.mu.
func (r *reaper) schedule(e *inflight) {
	due := e.visible
	if e.holdEnd.Before(due) {
		due = e.holdEnd
	}
	r.mu.Lock()
	e.due = due
	if e.heapIdx > 0 {
		heap.Fix(&r.h, e.heapIdx-1)
	} else {
		heap.Push(&r.h, e)
	}
	first := r.h[0] == e
	r.mu.Unlock()
	if first {
		select {
		case r.wake <- struct{}{}:
		default:
		}
	}
}

// remove unqueues e; the caller holds e.qs.mu.
func (r *reaper) remove(e *inflight) {
	r.mu.Lock()
	if e.heapIdx > 0 {
		heap.Remove(&r.h, e.heapIdx-1)
	}
	r.mu.Unlock()
}

func (r *reaper) run() {
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		now := time.Now()
		var due []*inflight
		r.mu.Lock()
		for len(r.h) > 0 && !r.h[0].due.After(now) {
			due = append(due, heap.Pop(&r.h).(*inflight))
		}
		next := time.Hour
		if len(r.h) > 0 {
			next = r.h[0].due.Sub(now)
		}
		r.mu.Unlock()
		for _, e := range due {
			e.qs.expire(e, now)
		}
		t.Reset(next)
		select {
		case <-t.C:
		case <-r.wake:
		case <-r.c.done:
			return
		}
	}
}

// dueHeap orders held deliveries by deadline. heapIdx is the position
// plus one, so that zero means "not queued".
type dueHeap []*inflight

func (h dueHeap) Len() int           { return len(h) }
func (h dueHeap) Less(i, j int) bool { return h[i].due.Before(h[j].due) }
func (h dueHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].heapIdx, h[j].heapIdx = i+1, j+1
}
func (h *dueHeap) Push(x any) {
	e := x.(*inflight)
	e.heapIdx = len(*h) + 1
	*h = append(*h, e)
}
func (h *dueHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	e.heapIdx = 0
	return e
}
