package resilience

import (
	"sync/atomic"

	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/bulkhead"
	"github.com/failsafe-go/failsafe-go/common"
)

// queueLimit bounds how many attempts may be inside the bulkhead, running or
// waiting: failsafe's bulkhead bounds how long attempts wait but not how many
// do. It is a failsafe policy placed just outside the bulkhead.
type queueLimit struct {
	limit int64
	n     atomic.Int64
}

func (q *queueLimit) ToExecutor(outcome) any { return q }

func (q *queueLimit) Apply(inner func(failsafe.Execution[outcome]) *common.PolicyResult[outcome]) func(failsafe.Execution[outcome]) *common.PolicyResult[outcome] {
	return func(e failsafe.Execution[outcome]) *common.PolicyResult[outcome] {
		if q.n.Add(1) > q.limit {
			q.n.Add(-1)
			return &common.PolicyResult[outcome]{Error: bulkhead.ErrFull, Done: true}
		}
		defer q.n.Add(-1)
		return inner(e)
	}
}
