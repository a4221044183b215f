package sqs

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	courier "github.com/courier-io/courier"
	"github.com/courier-io/courier/awsapi"
)

// Message move task states, as ListMessageMoveTasks reports them.
const (
	taskRunning    = "RUNNING"
	taskCompleted  = "COMPLETED"
	taskCancelling = "CANCELLING"
	taskCancelled  = "CANCELLED"
	taskFailed     = "FAILED"
)

const (
	maxMoveRate        = 500
	maxTasksListed     = 10
	moveChunk          = 10 // messages per Queue.Redrive call, so that a cancel takes effect soon
	keptTasksPerSource = 10
)

// moveTask is a running or finished StartMessageMoveTask. Its mutable
// fields are guarded by Service.mu.
type moveTask struct {
	id, handle         string
	source, dest       string // dest "" moves each message back to its source queue
	sourceARN, destARN string
	rate               int
	started            time.Time
	toMove             int64
	cancel             context.CancelFunc
	done               chan struct{}

	status  string
	moved   int64
	failure string
}

// taskHandle is what a TaskHandle encodes, as AWS's do.
type taskHandle struct {
	TaskID    string `json:"taskId"`
	SourceArn string `json:"sourceArn"`
}

// storedTask is a move task as env.Meta keeps it (key taskKey), so that
// ListMessageMoveTasks reports tasks across restarts and a task running
// when the server stopped resumes when it starts again.
type storedTask struct {
	ID        string `json:"id"`
	Handle    string `json:"handle"`
	Source    string `json:"source"`
	Dest      string `json:"dest,omitempty"`
	SourceARN string `json:"source_arn"`
	DestARN   string `json:"dest_arn,omitempty"`
	Rate      int    `json:"rate,omitempty"`
	Started   int64  `json:"started"` // unix milliseconds
	ToMove    int64  `json:"to_move"`
	Status    string `json:"status"`
	Moved     int64  `json:"moved"`
	Failure   string `json:"failure,omitempty"`
}

// taskKey is the metadata key of a task; the started time orders a
// source's tasks.
func taskKey(source string, started int64, id string) string {
	return fmt.Sprintf("%smovetask/%s/%016x/%s", metaPrefix, source, started, id)
}

// taskPersistEvery is how many moved messages may pass between two
// writes of a running task's progress.
const taskPersistEvery = 100

// persistTask stores t as it is now; the caller holds s.mu. A failure is
// logged: the task itself goes on, and only its record after a restart
// is older.
func (s *Service) persistTask(t *moveTask, status string) {
	st := storedTask{ID: t.id, Handle: t.handle, Source: t.source, Dest: t.dest, SourceARN: t.sourceARN, DestARN: t.destARN,
		Rate: t.rate, Started: t.started.UnixMilli(), ToMove: t.toMove, Status: status, Moved: t.moved, Failure: t.failure}
	if err := s.env.Meta.Put(context.Background(), taskKey(t.source, st.Started, t.id), st); err != nil {
		s.env.Logger.Warn("sqs: storing a message move task", "queue", t.source, "task", t.id, "err", err)
	}
}

// loadTasks reads the stored move tasks and resumes those that were
// running when the server stopped (a task cancelling then ends
// CANCELLED). New calls it before serving.
func (s *Service) loadTasks() error {
	for _, key := range s.env.Meta.Keys(metaPrefix + "movetask/") {
		var st storedTask
		if _, err := s.env.Meta.Get(key, &st); err != nil {
			return err
		}
		t := &moveTask{id: st.ID, handle: st.Handle, source: st.Source, dest: st.Dest, sourceARN: st.SourceARN, destARN: st.DestARN,
			rate: st.Rate, started: time.UnixMilli(st.Started), toMove: st.ToMove, status: st.Status, moved: st.Moved,
			failure: st.Failure, done: make(chan struct{})}
		switch t.status {
		case taskCancelling:
			t.status = taskCancelled
			s.persistTask(t, t.status)
			close(t.done)
		case taskRunning:
			ctx, cancel := context.WithCancel(s.ctx)
			t.cancel = cancel
			s.wg.Add(1)
			go s.runMove(ctx, t)
		default:
			close(t.done)
		}
		s.tasks[t.source] = append(s.tasks[t.source], t) // keys sort by start time
	}
	return nil
}

// resolveARN returns the queue an ARN of this account names, which must
// exist: ResourceNotFoundException otherwise.
func (c *call) resolveARN(param, arn string) (*queueState, error) {
	name, err := c.s.env.ParseOwnARN(arn, "sqs", "InvalidParameterValue")
	if err != nil {
		return nil, errInvalidParam("Value %q for parameter %s is invalid. Reason: %s", awsapi.Truncate(arn, 256), param, awsapi.AsError(err).Message)
	}
	st, err := c.s.loadQueue(c.ctx(), name)
	if err != nil {
		if queueMissing(err) {
			return nil, errResourceNotFound("The resource that you specified for the %s parameter doesn't exist: %s.", param, awsapi.Truncate(arn, 256))
		}
		return nil, err
	}
	return st, nil
}

func (c *call) startMessageMoveTask() (any, error) {
	var in startMoveInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if in.SourceArn == "" {
		return nil, errMissing("SourceArn")
	}
	rate := 0
	if v := in.MaxNumberOfMessagesPerSecond; v != nil {
		if *v < 1 || *v > maxMoveRate {
			return nil, errInvalidParam("Value %d for parameter MaxNumberOfMessagesPerSecond is invalid. Reason: it must be between 1 and %d.", *v, maxMoveRate)
		}
		rate = int(*v)
	}
	src, err := c.resolveARN("SourceArn", in.SourceArn)
	if err != nil {
		return nil, err
	}
	if err := c.authorize(awsapi.Manage, src.name); err != nil {
		return nil, err
	}
	var dest *queueState
	if in.DestinationArn != "" {
		if dest, err = c.resolveARN("DestinationArn", in.DestinationArn); err != nil {
			return nil, err
		}
		if dest.name == src.name {
			return nil, errInvalidParam("Value %s for parameter DestinationArn is invalid. Reason: the destination must differ from the source queue.", in.DestinationArn)
		}
	}
	sources, err := c.s.deadLetterSources(c.ctx(), src.name)
	if err != nil {
		return nil, err
	}
	if len(sources) == 0 {
		return nil, errInvalidParam("Source queue must be configured as a Dead Letter Queue: no queue's RedrivePolicy names %s.", in.SourceArn)
	}
	if dest != nil {
		if err := c.authorize(awsapi.Publish, dest.name); err != nil {
			return nil, err
		}
	} else {
		for _, q := range sources {
			if err := c.authorize(awsapi.Publish, q); err != nil {
				return nil, err
			}
		}
	}
	t := &moveTask{
		id: awsapi.NewRequestID(), source: src.name, sourceARN: c.s.queueARN(src.name), rate: rate,
		started: c.s.now(), toMove: src.info.Stats.Visible, status: taskRunning, done: make(chan struct{}),
	}
	if dest != nil {
		t.dest, t.destARN = dest.name, c.s.queueARN(dest.name)
	}
	raw, _ := json.Marshal(taskHandle{TaskID: t.id, SourceArn: t.sourceARN})
	t.handle = base64.StdEncoding.EncodeToString(raw)

	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, &awsapi.Error{Code: "ServiceUnavailable", Message: "the SQS endpoint is shutting down", Status: http.StatusServiceUnavailable, Server: true}
	}
	for _, old := range s.tasks[src.name] {
		if old.status == taskRunning || old.status == taskCancelling {
			return nil, errInvalidParam("There is already a task running. Only one active task is allowed for each source queue arn at a given time (%s).", t.sourceARN)
		}
	}
	ctx, cancel := context.WithCancel(s.ctx)
	t.cancel = cancel
	list := append(s.tasks[src.name], t)
	if len(list) > keptTasksPerSource {
		for _, old := range list[:len(list)-keptTasksPerSource] {
			if err := s.env.Meta.Delete(context.Background(), taskKey(old.source, old.started.UnixMilli(), old.id)); err != nil {
				s.env.Logger.Warn("sqs: deleting an old message move task", "queue", old.source, "task", old.id, "err", err)
			}
		}
		list = list[len(list)-keptTasksPerSource:]
	}
	s.tasks[src.name] = list
	s.persistTask(t, taskRunning)
	s.wg.Add(1)
	go s.runMove(ctx, t)
	return startMoveResult{TaskHandle: t.handle}, nil
}

// runMove moves the task's messages in small Redrive calls until the
// messages visible at its start have moved, none is left, it fails, or
// it is cancelled (CancelMessageMoveTask or Close).
func (s *Service) runMove(ctx context.Context, t *moveTask) {
	defer s.wg.Done()
	defer close(t.done)
	defer t.cancel()
	q := s.b.Queue(t.source)
	var opts []courier.RedriveOption
	if t.dest != "" {
		opts = append(opts, courier.RedriveTo(t.dest))
	}
	if t.rate > 0 {
		opts = append(opts, courier.RedriveRate(t.rate))
	}
	s.mu.Lock()
	moved := t.moved // a resumed task goes on from what it had moved
	s.mu.Unlock()
	persisted := moved
	status, failure := taskCompleted, ""
	for moved < t.toMove {
		if ctx.Err() != nil {
			status = taskCancelled
			break
		}
		n, err := q.Redrive(ctx, append(opts, courier.RedriveMax(int(min(moveChunk, t.toMove-moved))))...)
		moved += int64(n)
		s.mu.Lock()
		t.moved = moved
		if moved-persisted >= taskPersistEvery {
			s.persistTask(t, taskRunning)
			persisted = moved
		}
		s.mu.Unlock()
		if err != nil {
			if ctx.Err() != nil {
				status = taskCancelled
			} else {
				status, failure = taskFailed, err.Error()
				s.env.Logger.Warn("sqs: message move task failed", "queue", t.source, "task", t.id, "err", err)
			}
			break
		}
		if n == 0 {
			break
		}
	}
	if status == taskCompleted && ctx.Err() != nil {
		status = taskCancelled
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if status == taskCancelled && s.ctx.Err() != nil && t.status == taskRunning {
		// The server is stopping, not the task: it stays RUNNING in the
		// record and resumes at the next start.
		s.persistTask(t, taskRunning)
		t.status = taskCancelled
		return
	}
	t.status, t.failure = status, failure
	s.persistTask(t, status)
}

func (c *call) listMessageMoveTasks() (any, error) {
	var in listMoveInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if in.SourceArn == "" {
		return nil, errMissing("SourceArn")
	}
	max, err := maxResults(in.MaxResults, maxTasksListed)
	if err != nil {
		return nil, err
	}
	if max == 0 {
		max = 1
	}
	src, err := c.resolveARN("SourceArn", in.SourceArn)
	if err != nil {
		return nil, err
	}
	if err := c.authorize(awsapi.Describe, src.name); err != nil {
		return nil, err
	}
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	out := listMoveResult{Results: []moveTaskEntry{}}
	list := s.tasks[src.name]
	for i := len(list) - 1; i >= 0 && len(out.Results) < max; i-- {
		t := list[i]
		e := moveTaskEntry{Status: t.status, SourceArn: t.sourceARN, DestinationArn: t.destARN,
			ApproximateNumberOfMessagesMoved: t.moved, FailureReason: t.failure, StartedTimestamp: t.started.UnixMilli()}
		toMove := t.toMove
		e.ApproximateNumberOfMessagesToMove = &toMove
		if t.rate > 0 {
			r := int64(t.rate)
			e.MaxNumberOfMessagesPerSecond = &r
		}
		if t.status == taskRunning {
			e.TaskHandle = t.handle
		}
		out.Results = append(out.Results, e)
	}
	return out, nil
}

func (c *call) cancelMessageMoveTask() (any, error) {
	var in cancelMoveInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if in.TaskHandle == "" {
		return nil, errMissing("TaskHandle")
	}
	var h taskHandle
	raw, err := base64.StdEncoding.DecodeString(in.TaskHandle)
	if err == nil {
		err = json.Unmarshal(raw, &h)
	}
	if err != nil || h.TaskID == "" {
		return nil, errResourceNotFound("Task handle %q is not a valid message move task handle.", awsapi.Truncate(in.TaskHandle, 100))
	}
	source, err := c.s.env.ParseOwnARN(h.SourceArn, "sqs", "ResourceNotFoundException")
	if err != nil {
		return nil, errResourceNotFound("Task handle %q names no queue of this endpoint.", awsapi.Truncate(in.TaskHandle, 100))
	}
	if err := c.authorize(awsapi.Manage, source); err != nil {
		return nil, err
	}
	s := c.s
	s.mu.Lock()
	var t *moveTask
	for _, x := range s.tasks[source] {
		if x.id == h.TaskID {
			t = x
		}
	}
	if t == nil || t.status != taskRunning {
		s.mu.Unlock()
		if t == nil {
			return nil, errResourceNotFound("Message move task %s does not exist.", h.TaskID)
		}
		return nil, errResourceNotFound("Message move task %s is not running (it is %s); only a running task can be cancelled.", h.TaskID, t.status)
	}
	t.status = taskCancelling
	s.mu.Unlock()
	t.cancel()
	select {
	case <-t.done:
	case <-c.ctx().Done():
		return nil, fmt.Errorf("cancel message move task: %w", c.ctx().Err())
	}
	s.mu.Lock()
	moved := t.moved
	s.mu.Unlock()
	return cancelMoveResult{ApproximateNumberOfMessagesMoved: moved}, nil
}
