package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/driver"
)

// sendFlags names the flag of each message field.
var sendFlags = map[string]string{
	"message.headers":  "header",
	"message.delay":    "delay",
	"message.dedup_id": "dedup-id",
	"message.group":    "group",
}

// maxLineErrors bounds the failed lines send --lines reports one by one.
const maxLineErrors = 10

func newQueueSendCmd(e *env) *cobra.Command {
	var (
		mf    messageFlags
		delay time.Duration
	)
	cmd := &cobra.Command{
		Use:   "send NAME [BODY]",
		Short: "Send a message (BODY, or standard input); print its ID once durable",
		Long: `Send a message and print its ID once the server stored it durably.

The body is BODY or, when absent, all of standard input (which must not be
empty). With --lines every line of standard input is one message (without its
line ending); lines are sent in batches of --batch, and the ID of every
message the server acknowledged is printed, one per line, in input order. A
line the server refuses is reported on stderr with its number and skipped; the
command then fails after sending the rest. On a terminal, progress is shown
on stderr while the IDs go elsewhere.`,
		Example: `  courier queue send orders 'order #1' --header tenant=acme
  echo "order #2" | courier queue send orders
  courier queue send orders --delay 30s < order.json
  seq 1 100000 | courier queue send orders --lines > ids.txt
  courier queue send payments.fifo '{"amount": 5}' --group customer-7 --dedup-id pay-123`,
		Args: rangeArgs([]string{"NAME"}, "BODY", 0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkQueueName("", args[0]); err != nil {
				return err
			}
			m, err := mf.message(e, cmd, args, courier.Message{Delay: delay})
			if err != nil {
				return err
			}
			return e.withQueue(cmd.Context(), args[0], func(q *courier.Queue) error {
				if mf.lines {
					return e.sendLines(cmd.Context(), q.Name(), q.SendBatch, m, mf.batch)
				}
				return e.printID(q.Send(cmd.Context(), m))
			})
		},
	}
	mf.add(cmd, "queues")
	cmd.Flags().DurationVar(&delay, "delay", 0, fmt.Sprintf("delivery delay (0..%v; default: the queue's)", driver.MaxDeliveryDelay))
	return cmd
}

// messageFlags are the flags of the commands that send messages: queue
// send and topic publish.
type messageFlags struct {
	headers        []string
	group, dedupID string
	lines          bool
	batch          int
}

// add registers the flags on cmd; where names what --group is required on.
func (mf *messageFlags) add(cmd *cobra.Command, where string) {
	f := cmd.Flags()
	f.StringArrayVar(&mf.headers, "header", nil, "header KEY=VALUE (repeatable)")
	f.StringVar(&mf.group, "group", "", "message group (required on FIFO "+where+")")
	f.StringVar(&mf.dedupID, "dedup-id", "", "deduplication ID: a repeat within 5 minutes is not stored again and gets the first one's ID")
	f.BoolVar(&mf.lines, "lines", false, "send every line of standard input as one message")
	f.IntVar(&mf.batch, "batch", 100, fmt.Sprintf("messages per request with --lines (1..%d)", driver.MaxBatch))
}

// message checks the flags of cmd and its arguments NAME [BODY], and
// returns the message to send: proto (with what the command's own flags
// set) with the headers, group and dedup ID of the flags, and without
// --lines the body of BODY or of e's standard input. With --lines it has
// no body: each line of standard input is one.
func (mf *messageFlags) message(e *env, cmd *cobra.Command, args []string, proto courier.Message) (courier.Message, error) {
	h, err := parseHeaders(mf.headers)
	if err != nil {
		return proto, err
	}
	proto.Headers, proto.Group, proto.DedupID = h, mf.group, mf.dedupID
	if err := driver.ValidateMessage("message", &proto); err != nil {
		return proto, flagError(err, sendFlags)
	}
	if mf.lines {
		switch {
		case len(args) == 2:
			return proto, usageError{errors.New("--lines reads the messages from standard input; give no BODY")}
		case mf.dedupID != "":
			return proto, usageError{errors.New("--dedup-id would make every line after the first a duplicate; leave it out with --lines")}
		case mf.batch < 1 || mf.batch > driver.MaxBatch:
			return proto, usageError{fmt.Errorf("--batch: %d is out of range; accepted is 1 to %d", mf.batch, driver.MaxBatch)}
		}
		return proto, nil
	}
	if cmd.Flags().Changed("batch") {
		return proto, usageError{errors.New("--batch goes with --lines")}
	}
	m := proto
	if len(args) == 2 {
		m.Body = []byte(args[1])
	} else if m.Body, err = e.readBody(); err != nil {
		return m, err
	}
	if err := driver.ValidateMessage("message", &m); err != nil {
		return m, usageError{errors.New(messageError(err))}
	}
	return m, nil
}

// printID prints the ID of a message that was sent, or returns err.
func (e *env) printID(id string, err error) error {
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(e.stdout, id)
	return err
}

// parseHeaders reads --header KEY=VALUE flags.
func parseHeaders(kvs []string) (map[string]string, error) {
	if len(kvs) == 0 {
		return nil, nil
	}
	h := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, usageError{fmt.Errorf("--header %q: want KEY=VALUE", kv)}
		}
		if _, dup := h[k]; dup {
			return nil, usageError{fmt.Errorf("--header %q: %s is given twice", kv, k)}
		}
		h[k] = v
	}
	return h, nil
}

// readBody reads a message body from standard input: all of it, at most
// the largest message.
func (e *env) readBody() ([]byte, error) {
	if e.stdinTTY {
		fmt.Fprintln(e.stderr, "courier: reading the message body from the terminal; end it with Ctrl-D")
	}
	body, err := io.ReadAll(io.LimitReader(e.stdin, driver.MaxMessageSizeLimit+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("reading standard input: %w", err)
	case len(body) == 0:
		return nil, usageError{errors.New("no message body: give BODY or write it to standard input")}
	case len(body) > driver.MaxMessageSizeLimit:
		return nil, usageError{fmt.Errorf("standard input is over %d bytes, the largest message", driver.MaxMessageSizeLimit)}
	}
	return body, nil
}

// sendBatch stores a batch of messages: Queue.SendBatch or
// Topic.PublishBatch.
type sendBatch func(context.Context, []courier.Message) ([]courier.SendResult, error)

// lineSender sends lines as messages in batches and prints the ID of each
// acknowledged one.
type lineSender struct {
	e       *env
	send    sendBatch
	out     *bufio.Writer
	bar     *progressbar.ProgressBar // nil when not on a terminal
	pending []courier.Message
	first   int // line number of pending[0]
	lines   int // lines read
	sent    int // messages acknowledged
	failed  int // lines refused
}

// sendLines sends every line of standard input as a message, in batches
// of batch, printing one ID per acknowledged line. A line refused (by the
// validation here or by the server) is reported on stderr with its number
// and skipped, and the command fails at the end; a batch that fails as a
// whole (the server is gone) stops it at once. Every line before the
// reported one was sent and its ID printed. to names the queue or topic
// that send stores into.
func (e *env) sendLines(ctx context.Context, to string, send sendBatch, proto courier.Message, batch int) error {
	s := &lineSender{e: e, send: send, out: bufio.NewWriter(e.stdout), pending: make([]courier.Message, 0, batch)}
	if e.stderrTTY && !e.stdoutTTY {
		s.bar = progressbar.NewOptions(-1,
			progressbar.OptionSetWriter(e.stderr),
			progressbar.OptionSetDescription("sending to "+to),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("msg"),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionSetSpinnerChangeInterval(0),
			progressbar.OptionClearOnFinish(),
		)
	}
	start := time.Now()
	err := s.run(ctx, proto, batch)
	if ferr := s.out.Flush(); err == nil && ferr != nil {
		err = ferr
	}
	if s.bar != nil {
		s.bar.Finish()
		fmt.Fprintf(e.stderr, "courier: sent %d of %d lines to %s in %v\n", s.sent, s.lines, to, time.Since(start).Round(time.Millisecond))
	}
	if err == nil && s.failed > 0 {
		err = fmt.Errorf("%d of %d lines were not sent", s.failed, s.lines)
	}
	return err
}

func (s *lineSender) run(ctx context.Context, proto courier.Message, batch int) error {
	sc := bufio.NewScanner(s.e.stdin)
	sc.Buffer(make([]byte, 0, 64<<10), driver.MaxMessageSizeLimit+1)
	for sc.Scan() {
		s.lines++
		m := proto
		m.Body = append([]byte(nil), sc.Bytes()...)
		if err := driver.ValidateMessage("message", &m); err != nil {
			s.lineFailed(s.lines, err)
			continue
		}
		if len(s.pending) == 0 {
			s.first = s.lines
		}
		s.pending = append(s.pending, m)
		if len(s.pending) == batch {
			if err := s.flush(ctx); err != nil {
				return err
			}
		}
	}
	err := sc.Err()
	// Send what was read before a read error, so that every line before the
	// one reported is sent.
	if ferr := s.flush(ctx); ferr != nil {
		return ferr
	}
	switch {
	case errors.Is(err, bufio.ErrTooLong):
		return fmt.Errorf("line %d is over %d bytes, the largest message; the lines before it were sent", s.lines+1, driver.MaxMessageSizeLimit)
	case err != nil:
		return fmt.Errorf("reading standard input after line %d: %w", s.lines, err)
	}
	return nil
}

// flush sends the pending batch.
func (s *lineSender) flush(ctx context.Context) error {
	if len(s.pending) == 0 {
		return nil
	}
	res, err := s.send(ctx, s.pending)
	if err != nil {
		return fmt.Errorf("lines %d-%d: %w", s.first, s.first+len(s.pending)-1, err)
	}
	for i, r := range res {
		if r.Err != nil {
			s.lineFailed(s.first+i, r.Err)
			continue
		}
		s.sent++
		if _, err := fmt.Fprintln(s.out, r.ID); err != nil {
			return err
		}
	}
	if s.bar != nil {
		s.bar.Add(len(res))
	}
	s.pending = s.pending[:0]
	return nil
}

// lineFailed reports a refused line, up to maxLineErrors of them.
func (s *lineSender) lineFailed(line int, err error) {
	s.failed++
	if s.bar != nil && s.failed <= maxLineErrors+1 {
		s.bar.Clear()
	}
	switch {
	case s.failed <= maxLineErrors:
		fmt.Fprintf(s.e.stderr, "courier: line %d: %s\n", line, messageError(err))
	case s.failed == maxLineErrors+1:
		fmt.Fprintln(s.e.stderr, "courier: more lines failed; only the first are shown")
	}
}

// messageError describes the refusal of one message. A validation error
// names its field relative to the message ("message.group",
// "messages[3].group"); here it is named by its flag, or not at all for
// the body.
func messageError(err error) string {
	var ve *courier.ValidationError
	if !errors.As(err, &ve) {
		return describe(err)
	}
	_, field, ok := strings.Cut(ve.Field, ".")
	switch {
	case !ok:
		return ve.Reason
	case sendFlags["message."+field] != "":
		return "--" + sendFlags["message."+field] + ": " + ve.Reason
	default:
		return field + ": " + ve.Reason
	}
}
