package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/driver"
	"github.com/courier-io/courier/internal/httpapi"
)

func newQueueReceiveCmd(e *env) *cobra.Command {
	var rf receiveFlags
	cmd := &cobra.Command{
		Use:   "receive NAME",
		Short: "Receive messages (JSON lines when piped or with --json)",
		Long: `Receive up to --max messages, waiting up to --wait for the first one when none
is visible (without --wait, the queue's receive wait applies).

Each message comes with its receipt, which ack, nack and extend take; until
then it stays invisible to other receivers for the visibility timeout. With
--ack the messages are acknowledged (deleted) once they are printed, so a
failure to print leaves them to be delivered again.

On a terminal the messages are shown for people; otherwise, or with --json,
each is one line of JSON as the REST API returns it (body, or body_base64 for
a body that is not UTF-8). Receiving nothing prints nothing there.`,
		Example: `  courier queue receive orders
  courier queue receive orders --max 10 --wait 20s --ack
  courier queue receive orders --visibility 5m --json | jq -r .receipt
  courier queue receive orders --max 100 --ack | jq -r .body`,
		Args: exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts, err := rf.options(cmd)
			if err != nil {
				return err
			}
			return e.withQueue(cmd.Context(), args[0], func(q *courier.Queue) error {
				ds, err := q.Receive(cmd.Context(), opts...)
				if err != nil {
					return err
				}
				return e.showReceived(cmd.Context(), ds, rf, q.Ack)
			})
		},
	}
	rf.add(cmd)
	return cmd
}

// receiveFlags are the flags of the receive commands: of queues and of
// durable subscriptions, which read their own queue.
type receiveFlags struct {
	max              int
	wait, visibility time.Duration
	ack, asJSON      bool
}

// add registers the flags on cmd.
func (rf *receiveFlags) add(cmd *cobra.Command) {
	f := cmd.Flags()
	f.IntVar(&rf.max, "max", 1, fmt.Sprintf("most messages to receive (1..%d)", driver.MaxBatch))
	f.DurationVar(&rf.wait, "wait", 0, fmt.Sprintf("how long to wait for a message (0..%v; default: the queue's receive wait)", driver.MaxReceiveWait))
	f.DurationVar(&rf.visibility, "visibility", 0, fmt.Sprintf("how long these messages stay invisible (up to %v; default: the queue's)", driver.MaxVisibilityTimeout))
	f.BoolVar(&rf.ack, "ack", false, "acknowledge (delete) the messages once printed")
	f.BoolVar(&rf.asJSON, "json", false, "print JSON lines (the default when stdout is not a terminal)")
}

// options checks the flags of cmd and returns the receive options they ask
// for.
func (rf *receiveFlags) options(cmd *cobra.Command) ([]courier.ReceiveOption, error) {
	if rf.max < 1 || rf.max > driver.MaxBatch {
		return nil, usageError{fmt.Errorf("--max: %d is out of range; accepted is 1 to %d", rf.max, driver.MaxBatch)}
	}
	if err := checkDuration("wait", rf.wait, 0, driver.MaxReceiveWait); err != nil {
		return nil, err
	}
	if err := checkDuration("visibility", rf.visibility, 0, driver.MaxVisibilityTimeout); err != nil {
		return nil, err
	}
	opts := []courier.ReceiveOption{courier.Max(rf.max)}
	if cmd.Flags().Changed("wait") {
		opts = append(opts, courier.Wait(rf.wait))
	}
	if cmd.Flags().Changed("visibility") {
		if rf.visibility == 0 {
			return nil, usageError{errors.New("--visibility: 0s would be the queue's visibility timeout; leave the flag out for that, or give a positive duration")}
		}
		opts = append(opts, courier.Visibility(rf.visibility))
	}
	return opts, nil
}

// showReceived prints received messages (JSON lines with --json or when
// stdout is not a terminal) and then, with --ack, acknowledges them with
// ack. Printing comes first: a message that could not be shown must come
// back.
func (e *env) showReceived(ctx context.Context, ds []*courier.Delivery, rf receiveFlags, ack func(context.Context, ...string) error) error {
	out := bufio.NewWriter(e.stdout)
	asJSON := e.jsonOutput(rf.asJSON)
	if asJSON {
		enc := jsonEncoder(out)
		for _, d := range ds {
			if err := enc.Encode(httpapi.DeliveryJSON(d.Delivery)); err != nil {
				return err
			}
		}
	} else {
		printDeliveries(out, ds, time.Now())
	}
	if err := out.Flush(); err != nil {
		return err
	}
	if !rf.ack || len(ds) == 0 {
		return nil
	}
	receipts := make([]string, len(ds))
	for i, d := range ds {
		receipts[i] = d.Receipt
	}
	if err := ack(ctx, receipts...); err != nil {
		return err
	}
	if asJSON {
		return nil
	}
	return e.confirm("acked %d messages\n", len(ds))
}

// printDeliveries shows deliveries for people; now dates their age.
func printDeliveries(w io.Writer, ds []*courier.Delivery, now time.Time) {
	if len(ds) == 0 {
		fmt.Fprintln(w, "no messages")
		return
	}
	for i, d := range ds {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "message %s\n", d.ID)
		fmt.Fprintf(w, "  receipt   %s\n", d.Receipt)
		fmt.Fprintf(w, "  sent      %s (%v ago)\n", d.SentAt.Local().Format(time.RFC3339), now.Sub(d.SentAt).Round(time.Second))
		fmt.Fprintf(w, "  receives  %d\n", d.ReceiveCount)
		if d.Group != "" {
			fmt.Fprintf(w, "  group     %s\n", printable(d.Group))
		}
		if d.DedupID != "" {
			fmt.Fprintf(w, "  dedup id  %s\n", printable(d.DedupID))
		}
		if d.SourceQueue != "" {
			fmt.Fprintf(w, "  from      %s (dead-lettered)\n", d.SourceQueue)
		}
		for _, k := range slices.Sorted(maps.Keys(d.Headers)) {
			fmt.Fprintf(w, "  header    %s: %s\n", printable(k), printable(d.Headers[k]))
		}
		body := string(d.Body)
		switch {
		case len(body) == 0:
			fmt.Fprintln(w, "  body      (empty)")
		case !utf8.ValidString(body):
			fmt.Fprintf(w, "  body      (%d bytes, not UTF-8: see it with --json, as body_base64)\n", len(body))
		case !strings.Contains(strings.TrimSuffix(body, "\n"), "\n"):
			fmt.Fprintf(w, "  body      %s\n", printable(strings.TrimSuffix(body, "\n")))
		default:
			fmt.Fprintln(w, "  body")
			for line := range strings.Lines(body) {
				fmt.Fprintf(w, "    %s\n", printable(strings.TrimSuffix(line, "\n")))
			}
		}
	}
}

// printable escapes the control characters of s other than tab, so that a
// message cannot drive the terminal it is shown on.
func printable(s string) string {
	if !strings.ContainsFunc(s, isControl) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if isControl(r) {
			fmt.Fprintf(&b, "\\x%02x", r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func isControl(r rune) bool { return r != '\t' && unicode.IsControl(r) }
