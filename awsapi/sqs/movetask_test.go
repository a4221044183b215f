package sqs

import (
	"context"
	"errors"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	courier "github.com/courier-io/courier"
	"github.com/courier-io/courier/awsapi/awstest"
)

// deadLetter sets up queue src with dead-letter queue dlq (maxReceiveCount
// 1) and moves n messages there by receiving each twice.
func deadLetter(t *testing.T, te *testEnv, n int) (src, dlq string) {
	t.Helper()
	ctx := context.Background()
	dlq = te.createQueue("dlq", nil)
	src = te.createQueue("src", map[string]string{"RedrivePolicy": `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:dlq","maxReceiveCount":"1"}`})
	for range n {
		if _, err := te.c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(src), MessageBody: aws.String("m")}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := te.c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(src), MaxNumberOfMessages: 10})
	if err != nil || len(got.Messages) != n {
		t.Fatalf("first receive: %v %v", got, err)
	}
	for _, m := range got.Messages {
		if _, err := te.c.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(src), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0}); err != nil {
			t.Fatal(err)
		}
	}
	// The second receive moves them to the DLQ instead of delivering.
	again, err := te.c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(src), MaxNumberOfMessages: 10})
	if err != nil || len(again.Messages) != 0 {
		t.Fatalf("second receive: %v %v", again, err)
	}
	if a := te.attrs(dlq); a["ApproximateNumberOfMessages"] != itoa(n) {
		t.Fatalf("dlq holds %s, want %d", a["ApproximateNumberOfMessages"], n)
	}
	return src, dlq
}

func itoa(n int) string { return strconv.Itoa(n) }

// waitTask polls ListMessageMoveTasks until the newest task is not
// RUNNING: the task works in the background.
func waitTask(t *testing.T, te *testEnv, source string) types.ListMessageMoveTasksResultEntry {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, err := te.c.ListMessageMoveTasks(context.Background(), &sqs.ListMessageMoveTasksInput{SourceArn: aws.String(source)})
		if err != nil || len(out.Results) == 0 {
			t.Fatalf("list tasks: %v %v", out, err)
		}
		if r := out.Results[0]; *r.Status != "RUNNING" || time.Now().After(deadline) {
			return r
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestDeadLetterAndMoveTask(t *testing.T) {
	te := newEnv(t)
	ctx := context.Background()
	src, dlq := deadLetter(t, te, 3)
	srcs, err := te.c.ListDeadLetterSourceQueues(ctx, &sqs.ListDeadLetterSourceQueuesInput{QueueUrl: aws.String(dlq)})
	if err != nil || len(srcs.QueueUrls) != 1 || srcs.QueueUrls[0] != src {
		t.Fatalf("dead-letter sources: %v %v", srcs, err)
	}
	peek, err := te.c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(dlq), MessageSystemAttributeNames: []types.MessageSystemAttributeName{"DeadLetterQueueSourceArn"}})
	if err != nil || peek.Messages[0].Attributes["DeadLetterQueueSourceArn"] != "arn:aws:sqs:us-east-1:000000000000:src" {
		t.Fatalf("dlq message: %+v %v", peek, err)
	}
	if _, err := te.c.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(dlq), ReceiptHandle: peek.Messages[0].ReceiptHandle, VisibilityTimeout: 0}); err != nil {
		t.Fatal(err)
	}

	// Not a DLQ; unknown queue; bad rate.
	_, err = te.c.StartMessageMoveTask(ctx, &sqs.StartMessageMoveTaskInput{SourceArn: aws.String("arn:aws:sqs:us-east-1:000000000000:src")})
	awstest.WantCode(t, err, "InvalidParameterValue")
	_, err = te.c.StartMessageMoveTask(ctx, &sqs.StartMessageMoveTaskInput{SourceArn: aws.String("arn:aws:sqs:us-east-1:000000000000:nope")})
	var rnf *types.ResourceNotFoundException
	if !errors.As(err, &rnf) {
		t.Fatalf("unknown source: %v", err)
	}
	_, err = te.c.StartMessageMoveTask(ctx, &sqs.StartMessageMoveTaskInput{SourceArn: aws.String("arn:aws:sqs:us-east-1:000000000000:dlq"), MaxNumberOfMessagesPerSecond: aws.Int32(501)})
	awstest.WantCode(t, err, "InvalidParameterValue")

	// Back to the source queue.
	dlqArn := "arn:aws:sqs:us-east-1:000000000000:dlq"
	start, err := te.c.StartMessageMoveTask(ctx, &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(dlqArn)})
	if err != nil || start.TaskHandle == nil {
		t.Fatalf("start: %v %v", start, err)
	}
	r := waitTask(t, te, dlqArn)
	if *r.Status != "COMPLETED" || r.ApproximateNumberOfMessagesMoved != 3 || aws.ToInt64(r.ApproximateNumberOfMessagesToMove) != 3 {
		t.Fatalf("task: %+v", r)
	}
	if a := te.attrs(src); a["ApproximateNumberOfMessages"] != "3" {
		t.Fatalf("source after redrive: %v", a)
	}
	_, err = te.c.CancelMessageMoveTask(ctx, &sqs.CancelMessageMoveTaskInput{TaskHandle: start.TaskHandle})
	if !errors.As(err, &rnf) {
		t.Fatalf("cancel of a completed task: %v", err)
	}
}

func TestMoveTaskCancel(t *testing.T) {
	te := newEnv(t)
	ctx := context.Background()
	deadLetter(t, te, 5)
	dest := te.createQueue("dest", nil)
	dlqArn := "arn:aws:sqs:us-east-1:000000000000:dlq"
	// One message a second: the task is running when we cancel it.
	start, err := te.c.StartMessageMoveTask(ctx, &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(dlqArn),
		DestinationArn: aws.String("arn:aws:sqs:us-east-1:000000000000:dest"), MaxNumberOfMessagesPerSecond: aws.Int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = te.c.StartMessageMoveTask(ctx, &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(dlqArn)})
	awstest.WantCode(t, err, "InvalidParameterValue") // one running task per source
	list, err := te.c.ListMessageMoveTasks(ctx, &sqs.ListMessageMoveTasksInput{SourceArn: aws.String(dlqArn), MaxResults: aws.Int32(10)})
	if err != nil || len(list.Results) != 1 || *list.Results[0].Status != "RUNNING" || aws.ToString(list.Results[0].TaskHandle) != *start.TaskHandle {
		t.Fatalf("running task: %+v %v", list, err)
	}
	out, err := te.c.CancelMessageMoveTask(ctx, &sqs.CancelMessageMoveTaskInput{TaskHandle: start.TaskHandle})
	if err != nil {
		t.Fatal(err)
	}
	if out.ApproximateNumberOfMessagesMoved >= 5 {
		t.Fatalf("cancel after all moved: %d", out.ApproximateNumberOfMessagesMoved)
	}
	r := waitTask(t, te, dlqArn)
	if *r.Status != "CANCELLED" || r.TaskHandle != nil || *r.DestinationArn != "arn:aws:sqs:us-east-1:000000000000:dest" {
		t.Fatalf("cancelled task: %+v", r)
	}
	moved := te.attrs(dest)["ApproximateNumberOfMessages"]
	if moved != itoa(int(out.ApproximateNumberOfMessagesMoved)) {
		t.Fatalf("dest holds %s, task reports %d", moved, out.ApproximateNumberOfMessagesMoved)
	}
	// A new task may start now; Close stops it.
	if _, err := te.c.StartMessageMoveTask(ctx, &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(dlqArn), MaxNumberOfMessagesPerSecond: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	if err := te.svc.Close(); err != nil {
		t.Fatal(err)
	}
	if r := waitTask(t, te, dlqArn); *r.Status != "CANCELLED" {
		t.Fatalf("task after Close: %+v", r)
	}
}

// TestDeleteQueueForgetsMoveTasks: the tasks of a deleted queue go with
// it; a queue created again under its name lists none.
func TestDeleteQueueForgetsMoveTasks(t *testing.T) {
	te := newEnv(t)
	ctx := context.Background()
	src, dlq := deadLetter(t, te, 1)
	dlqArn := "arn:aws:sqs:us-east-1:000000000000:dlq"
	if _, err := te.c.StartMessageMoveTask(ctx, &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(dlqArn)}); err != nil {
		t.Fatal(err)
	}
	waitTask(t, te, dlqArn)
	// courier refuses to delete a dead-letter queue in use: a caller's
	// error (400), not one SDKs retry as the service's (500).
	_, err := te.c.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: aws.String(dlq)})
	var re *awshttp.ResponseError
	if !errors.As(err, &re) || re.HTTPStatusCode() != 400 {
		t.Fatalf("DeleteQueue of a dead-letter queue in use: %v; want a 400", err)
	}
	for _, q := range []string{src, dlq} {
		if _, err := te.c.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: aws.String(q)}); err != nil {
			t.Fatal(err)
		}
	}
	te.createQueue("dlq", nil)
	out, err := te.c.ListMessageMoveTasks(ctx, &sqs.ListMessageMoveTasksInput{SourceArn: aws.String(dlqArn)})
	if err != nil || len(out.Results) != 0 {
		t.Fatalf("tasks of the new queue dlq: %+v %v", out, err)
	}
	te.svc.mu.Lock()
	defer te.svc.mu.Unlock()
	if n := len(te.svc.tasks); n != 0 {
		t.Fatalf("%d sources of move tasks remembered after their queues were deleted", n)
	}
}

// TestMoveTasksSurviveRestart: a finished task is still listed after a
// restart on file://, and a task running when the endpoint stopped runs
// again (same handle, its progress kept) and can be cancelled.
func TestMoveTasksSurviveRestart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	ctx := context.Background()
	b, err := courier.Open(ctx, "file://"+dir)
	if err != nil {
		t.Fatal(err)
	}
	te := start(t, b)
	deadLetter(t, te, 5)
	dlqArn := "arn:aws:sqs:us-east-1:000000000000:dlq"
	te.createQueue("dest", nil)
	destArn := "arn:aws:sqs:us-east-1:000000000000:dest"
	// A task that finishes: the 5 dead letters move to dest; then 5 more
	// messages in the DLQ for the slow task.
	if _, err := te.c.StartMessageMoveTask(ctx, &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(dlqArn), DestinationArn: aws.String(destArn)}); err != nil {
		t.Fatal(err)
	}
	if r := waitTask(t, te, dlqArn); *r.Status != "COMPLETED" || r.ApproximateNumberOfMessagesMoved != 5 {
		t.Fatalf("first task: %+v", r)
	}
	for range 5 {
		if _, err := te.c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(te.url + "/000000000000/dlq"), MessageBody: aws.String("m")}); err != nil {
			t.Fatal(err)
		}
	}
	// One message a second: still running when the endpoint stops.
	slow, err := te.c.StartMessageMoveTask(ctx, &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(dlqArn), DestinationArn: aws.String(destArn), MaxNumberOfMessagesPerSecond: aws.Int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	te2 := restart(t, te, b, dir)
	list, err := te2.c.ListMessageMoveTasks(ctx, &sqs.ListMessageMoveTasksInput{SourceArn: aws.String(dlqArn), MaxResults: aws.Int32(10)})
	if err != nil || len(list.Results) != 2 {
		t.Fatalf("tasks after restart: %+v %v", list, err)
	}
	resumed, done := list.Results[0], list.Results[1]
	if *done.Status != "COMPLETED" || done.ApproximateNumberOfMessagesMoved != 5 {
		t.Errorf("finished task after restart: %+v", done)
	}
	if *resumed.Status != "RUNNING" || aws.ToString(resumed.TaskHandle) != *slow.TaskHandle || aws.ToInt64(resumed.ApproximateNumberOfMessagesToMove) != 5 {
		t.Fatalf("running task after restart: %+v", resumed)
	}
	out, err := te2.c.CancelMessageMoveTask(ctx, &sqs.CancelMessageMoveTaskInput{TaskHandle: slow.TaskHandle})
	if err != nil {
		t.Fatalf("cancel the resumed task: %v", err)
	}
	if r := waitTask(t, te2, dlqArn); *r.Status != "CANCELLED" {
		t.Fatalf("resumed task after cancel: %+v", r)
	}
	// Every message is in exactly one of the two queues.
	inDest, _ := strconv.Atoi(te2.attrs(te2.url + "/000000000000/dest")["ApproximateNumberOfMessages"])
	inDLQ, _ := strconv.Atoi(te2.attrs(te2.url + "/000000000000/dlq")["ApproximateNumberOfMessages"])
	if inDest+inDLQ != 10 || int64(inDest) != 5+out.ApproximateNumberOfMessagesMoved {
		t.Fatalf("dest %d + dlq %d messages; the resumed task reports %d moved", inDest, inDLQ, out.ApproximateNumberOfMessagesMoved)
	}
}
