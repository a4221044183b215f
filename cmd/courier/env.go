package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/term"

	"github.com/courier-io/courier"
)

// env is what commands share: the streams, whether they are terminals, and
// the server flag.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	// stdinTTY, stdoutTTY and stderrTTY report whether the streams are
	// terminals: output is for people there, and JSON lines elsewhere.
	stdinTTY, stdoutTTY, stderrTTY bool
	// server is the --server URL.
	server string
}

func newEnv(stdin io.Reader, stdout, stderr io.Writer) *env {
	return &env{
		stdin: stdin, stdout: stdout, stderr: stderr,
		stdinTTY: isTerminal(stdin), stdoutTTY: isTerminal(stdout), stderrTTY: isTerminal(stderr),
	}
}

// isTerminal reports whether s is a file on a terminal.
func isTerminal(s any) bool {
	f, ok := s.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// jsonOutput reports whether to print JSON lines: asked for with --json,
// or stdout is not a terminal.
func (e *env) jsonOutput(asked bool) bool { return asked || !e.stdoutTTY }

// printJSON prints v as one line of JSON.
func (e *env) printJSON(v any) error { return jsonEncoder(e.stdout).Encode(v) }

// jsonEncoder returns an encoder of JSON lines to w that leaves <, > and &
// as they are, for readers and jq alike.
func jsonEncoder(w io.Writer) *json.Encoder {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc
}

// broker connects to the server. A URL that courier.Open refuses is a
// usage error; a server that does not answer is named with the flag that
// chose it.
func (e *env) broker(ctx context.Context) (*courier.Broker, error) {
	b, err := courier.Open(ctx, e.server)
	switch {
	case err == nil:
		return b, nil
	case errors.Is(err, courier.ErrInvalid):
		return nil, usageError{fmt.Errorf("--server %q: %s", e.server, innermost(err).Error())}
	case errors.Is(err, courier.ErrClosed):
		return nil, fmt.Errorf("cannot reach the courier server at %s (--server or COURIER_SERVER): %s", e.server, innermost(err).Error())
	default:
		return nil, err
	}
}

// withQueue checks the queue name and runs fn with that queue of the
// server.
func (e *env) withQueue(ctx context.Context, name string, fn func(q *courier.Queue) error) error {
	if err := checkQueueName("", name); err != nil {
		return err
	}
	b, err := e.broker(ctx)
	if err != nil {
		return err
	}
	defer b.Close()
	return fn(b.Queue(name))
}
