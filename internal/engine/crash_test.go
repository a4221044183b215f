package engine_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/courier-io/courier"
)

// crashChildEnv makes the test binary run crashChild instead of the tests.
const crashChildEnv = "COURIER_ENGINE_CRASH_CHILD"

// crashChild sends messages to queue "crash" in the data directory named by
// the environment from 4 concurrent producers and prints "ack <body> <id>"
// for each send that returned, until it is killed.
func crashChild(dir string) {
	ctx := context.Background()
	b, err := courier.Open(ctx, "file://"+dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		os.Exit(2)
	}
	q, err := b.CreateQueue(ctx, "crash", courier.VisibilityTimeout(time.Hour))
	if err != nil {
		fmt.Fprintln(os.Stderr, "create:", err)
		os.Exit(2)
	}
	out := bufio.NewWriter(os.Stdout)
	var mu sync.Mutex
	pid := os.Getpid()
	var wg sync.WaitGroup
	for p := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				body := fmt.Sprintf("%d-%d-%d", pid, p, i)
				id, err := q.Send(ctx, courier.Message{Body: []byte(body)})
				if err != nil {
					fmt.Fprintln(os.Stderr, "send:", err)
					os.Exit(2)
				}
				mu.Lock()
				fmt.Fprintf(out, "ack %s %s\n", body, id)
				out.Flush()
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

// TestCrashKeepsAcknowledgedMessages kills a sending child process with
// SIGKILL at random moments, many times over the same data directory, and
// then checks that every send the child saw acknowledged is stored exactly
// once and that the directory opens cleanly.
func TestCrashKeepsAcknowledgedMessages(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns child processes")
	}
	dir := t.TempDir()
	acked := map[string]string{} // body -> id
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	cycles := 25
	for c := range cycles {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		killAfter := 1 + rng.IntN(400)
		sc := bufio.NewScanner(stdout)
		n := 0
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) == 3 && f[0] == "ack" {
				acked[f[1]] = f[2]
				n++
			}
			if n == killAfter {
				if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
				break
			}
		}
		// Lines printed before the kill landed still count as acknowledged.
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) == 3 && f[0] == "ack" {
				acked[f[1]] = f[2]
			}
		}
		err = cmd.Wait()
		if n < killAfter {
			t.Fatalf("cycle %d: child exited after %d acks (%v): %s", c, n, err, stderr.String())
		}
	}

	ctx := context.Background()
	b, err := courier.Open(ctx, "file://"+dir)
	if err != nil {
		t.Fatalf("reopen after %d kills: %v", cycles, err)
	}
	defer b.Close()
	q := b.Queue("crash")
	seen := map[string]int{}
	for {
		ds, err := q.Receive(ctx, courier.Max(1000), courier.Wait(0))
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) == 0 {
			break
		}
		for _, d := range ds {
			seen[string(d.Body)]++
			if id, ok := acked[string(d.Body)]; ok && id != d.ID {
				t.Fatalf("message %s stored with ID %s; the child was told %s", d.Body, d.ID, id)
			}
		}
	}
	for body := range acked {
		if seen[body] != 1 {
			t.Fatalf("acknowledged message %s stored %d times", body, seen[body])
		}
	}
	for body, n := range seen {
		if n != 1 {
			t.Fatalf("message %s stored %d times", body, n)
		}
	}
	t.Logf("%d kills, %d acknowledged sends, %d stored (unacknowledged sends may survive too)", cycles, len(acked), len(seen))
}
