package conformance

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/courier-io/courier"
)

// Features tells the suite how it may drive a backend.
type Features struct {
	// Synctest runs time-dependent cases inside testing/synctest bubbles.
	// Set it for in-process backends whose goroutines and timers all start
	// inside Open (mem://, file://); leave it unset for backends reached
	// over the network.
	Synctest bool
	// Restart, when set, closes b and opens a new broker over the same
	// stored data (a process restart). Persistence cases are skipped
	// without it.
	Restart func(t *testing.T, b *courier.Broker) *courier.Broker
}

// OpenFunc opens a fresh, empty broker for one test case and registers its
// Close with t.Cleanup. It is called inside the case's synctest bubble when
// Features.Synctest is set.
type OpenFunc func(t *testing.T) *courier.Broker

type suite struct {
	open OpenFunc
	f    Features
}

type testCase struct {
	name string
	// timed cases depend on the clock; they run in a synctest bubble when
	// the backend allows it.
	timed bool
	// fakeOnly cases need long stretches of time and run only in a bubble.
	fakeOnly bool
	// queues cases exercise queues only and are skipped by backends
	// without the Queues capability.
	queues bool
	run    func(t *testing.T, s *suite, b *courier.Broker)
}

// Run runs every conformance case as a subtest of t.
func Run(t *testing.T, open OpenFunc, f Features) {
	s := &suite{open: open, f: f}
	var cases []testCase
	// The queue cases need the Queues capability; the topic, stream and bus
	// cases check theirs inside, where they also use queues.
	cases = append(cases, needQueues(adminCases)...)
	cases = append(cases, needQueues(messageCases)...)
	cases = append(cases, needQueues(timeCases)...)
	cases = append(cases, needQueues(fifoCases)...)
	cases = append(cases, needQueues(dlqCases)...)
	cases = append(cases, needQueues(persistenceCases)...)
	cases = append(cases, topicCases...)
	cases = append(cases, pushCases...)
	cases = append(cases, streamCases...)
	cases = append(cases, busCases...)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.fakeOnly && !f.Synctest {
				t.Skip("needs minutes of fake time: runs only with Features.Synctest")
			}
			body := func(t *testing.T) {
				b := s.open(t)
				if c.queues {
					need(t, b, "Queues", b.Capabilities().Queues)
				}
				c.run(t, s, b)
			}
			if c.timed && f.Synctest {
				synctest.Test(t, body)
				return
			}
			body(t)
		})
	}
}

// needQueues marks cases that exercise queues only.
func needQueues(cases []testCase) []testCase {
	out := make([]testCase, len(cases))
	for i, c := range cases {
		c.queues = true
		out[i] = c
	}
	return out
}

// ctx returns a context for one call, bounded so a hung backend fails the
// test instead of hanging it.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return c
}

// must returns v, failing the test if err is set: must(q.Info(c))(t).
func must[T any](v T, err error) func(t *testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return v
	}
}

func check(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
}

func wantErr(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error = %v; want one matching %v", err, target)
	}
}

func need(t *testing.T, b *courier.Broker, name string, ok bool) {
	t.Helper()
	if !ok {
		t.Skipf("backend does not declare capability %s", name)
	}
}

func createQueue(t *testing.T, b *courier.Broker, name string, opts ...courier.QueueOption) *courier.Queue {
	t.Helper()
	return must(b.CreateQueue(ctx(t), name, opts...))(t)
}

func send(t *testing.T, q *courier.Queue, body string) string {
	t.Helper()
	return must(q.Send(ctx(t), courier.Message{Body: []byte(body)}))(t)
}

// receive returns what one Receive call gives.
func receive(t *testing.T, q *courier.Queue, opts ...courier.ReceiveOption) []*courier.Delivery {
	t.Helper()
	return must(q.Receive(ctx(t), opts...))(t)
}

// receiveN receives until n messages arrived, each call waiting up to wait.
func receiveN(t *testing.T, q *courier.Queue, n int, wait time.Duration) []*courier.Delivery {
	t.Helper()
	var out []*courier.Delivery
	for len(out) < n {
		ds := receive(t, q, courier.Max(n-len(out)), courier.Wait(wait))
		if len(ds) == 0 {
			t.Fatalf("received %d messages; want %d (a receive waiting %v returned none)", len(out), n, wait)
		}
		out = append(out, ds...)
	}
	return out
}

func stats(t *testing.T, q *courier.Queue) courier.QueueStats {
	t.Helper()
	return must(q.Info(ctx(t)))(t).Stats
}

func wantStats(t *testing.T, q *courier.Queue, visible, inFlight, delayed int64) {
	t.Helper()
	st := stats(t, q)
	if st.Visible != visible || st.InFlight != inFlight || st.Delayed != delayed {
		t.Fatalf("stats visible/in-flight/delayed = %d/%d/%d; want %d/%d/%d", st.Visible, st.InFlight, st.Delayed, visible, inFlight, delayed)
	}
}

func bodies(ds []*courier.Delivery) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = string(d.Body)
	}
	return out
}
