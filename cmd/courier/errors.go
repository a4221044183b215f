package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/courier-io/courier"
)

// Exit codes.
const (
	exitOK          = 0
	exitError       = 1   // the operation failed, on the server or on the way to it
	exitUsage       = 2   // bad flags or arguments; nothing was sent
	exitInterrupted = 130 // the context ended (SIGINT or SIGTERM), as shells report SIGINT
)

// usageError marks an error in how the command was called, found before
// anything was sent to the server.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// report prints err as one line on w and returns the exit code for it.
// path names the command, for the help hint of usage errors.
func report(ctx context.Context, w io.Writer, path string, err error) int {
	var ue usageError
	switch {
	case errors.As(err, &ue):
		fmt.Fprintf(w, "courier: %s (see '%s --help')\n", oneLine(ue.err.Error()), path)
		return exitUsage
	case ctx.Err() != nil && errors.Is(err, ctx.Err()):
		fmt.Fprintln(w, "courier: interrupted")
		return exitInterrupted
	default:
		fmt.Fprintf(w, "courier: %s\n", describe(err))
		return exitError
	}
}

// describe returns the text of err for stderr. A not-found error is told
// by its innermost layer, which names what is missing ("queue \"x\": not
// found"), since the layers above it repeat the queue name around it.
func describe(err error) string {
	if errors.Is(err, courier.ErrNotFound) {
		err = innermost(err)
	}
	// Errors of courier.Open start with the program's name already.
	return oneLine(strings.TrimPrefix(err.Error(), "courier: "))
}

// sentinels are the errors that say only what kind of failure happened.
var sentinels = []error{
	courier.ErrNotFound, courier.ErrExists, courier.ErrConflict, courier.ErrTooLarge, courier.ErrInvalid,
	courier.ErrStorage, courier.ErrClosed, courier.ErrReceiptInvalid, courier.ErrUnsupported,
	context.Canceled, context.DeadlineExceeded,
}

// innermost returns the deepest error in err's chain that is not a bare
// sentinel: the most specific message. It stops at an error that wraps
// several (a batch error).
func innermost(err error) error {
	for {
		next := errors.Unwrap(err)
		if next == nil || slices.Contains(sentinels, next) {
			return err
		}
		err = next
	}
}

// lineBreaks turns line breaks into spaces.
var lineBreaks = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ")

// oneLine joins the lines of a message, so that every error is one line
// even when a server's answer quoted in it was not.
func oneLine(s string) string { return strings.TrimSpace(lineBreaks.Replace(s)) }
