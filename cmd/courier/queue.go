package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/driver"
	"github.com/courier-io/courier/internal/httpapi"
)

func newQueueCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "queue",
		Short: "Manage queues and send, receive and settle messages",
		Example: `  courier queue create orders --visibility 30s
  echo "order #1" | courier queue send orders
  courier queue receive orders --max 10 --wait 5s --ack`,
		Args: groupArgs,
		RunE: groupRun,
	}
	cmd.AddCommand(
		newQueueCreateCmd(e), newQueueListCmd(e), newQueueStatsCmd(e), newQueueDeleteCmd(e),
		newQueuePurgeCmd(e), newQueueSendCmd(e), newQueueReceiveCmd(e), newQueueAckCmd(e),
		newQueueNackCmd(e), newQueueExtendCmd(e), newQueueRedriveCmd(e),
	)
	return cmd
}

// broker connects to the server.
func (e *env) broker(ctx context.Context) (*courier.Broker, error) {
	return courier.Open(ctx, e.server)
}

// withQueue runs fn with the named queue of the server.
func (e *env) withQueue(cmd *cobra.Command, name string, fn func(ctx context.Context, q *courier.Queue) error) error {
	if err := driver.ValidateQueueName("queue name", name); err != nil {
		return usageError{err}
	}
	ctx := cmd.Context()
	b, err := e.broker(ctx)
	if err != nil {
		return err
	}
	defer b.Close()
	return fn(ctx, b.Queue(name))
}

// jsonOutput reports whether to print JSON lines: asked for, or stdout is
// not a terminal.
func (e *env) jsonOutput(asked bool) bool {
	if asked {
		return true
	}
	f, ok := e.stdout.(*os.File)
	return !ok || !term.IsTerminal(int(f.Fd()))
}

func (e *env) printJSON(v any) error {
	return json.NewEncoder(e.stdout).Encode(v)
}

// checkDuration refuses negative durations for a flag.
func checkDuration(flag string, d time.Duration) error {
	if d < 0 {
		return usageError{fmt.Errorf("--%s %v: must not be negative", flag, d)}
	}
	return nil
}

func newQueueCreateCmd(e *env) *cobra.Command {
	var (
		visibility, retention, delay, wait time.Duration
		maxReceives, maxSize               int
		dlq                                string
		fifo, contentDedup                 bool
	)
	cmd := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a queue (idempotent with the same attributes)",
		Example: `  courier queue create orders-dlq
  courier queue create orders --visibility 30s --max-receives 3 --dlq orders-dlq
  courier queue create payments.fifo --fifo --content-dedup`,
		Args: exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			for flag, d := range map[string]time.Duration{"visibility": visibility, "retention": retention, "delay": delay, "receive-wait": wait} {
				if err := checkDuration(flag, d); err != nil {
					return err
				}
			}
			f := cmd.Flags()
			var opts []courier.QueueOption
			if f.Changed("visibility") {
				opts = append(opts, courier.VisibilityTimeout(visibility))
			}
			if f.Changed("retention") {
				opts = append(opts, courier.Retention(retention))
			}
			if f.Changed("delay") {
				opts = append(opts, courier.DeliveryDelay(delay))
			}
			if f.Changed("receive-wait") {
				opts = append(opts, courier.ReceiveWait(wait))
			}
			if f.Changed("max-size") {
				opts = append(opts, courier.MaxMessageSize(maxSize))
			}
			if f.Changed("dlq") || f.Changed("max-receives") {
				if dlq == "" || maxReceives <= 0 {
					return usageError{errors.New("--dlq and --max-receives go together: name the dead-letter queue and the receives before a message moves there")}
				}
				opts = append(opts, courier.DeadLetter(dlq, maxReceives))
			}
			if fifo {
				opts = append(opts, courier.FIFO())
			}
			if contentDedup {
				opts = append(opts, courier.ContentBasedDedup(true))
			}
			b, err := e.broker(cmd.Context())
			if err != nil {
				return err
			}
			defer b.Close()
			q, err := b.CreateQueue(cmd.Context(), args[0], opts...)
			if err != nil {
				return err
			}
			info, err := q.Info(cmd.Context())
			if err != nil {
				return err
			}
			if e.jsonOutput(false) {
				return e.printJSON(httpapi.InfoJSON(info))
			}
			fmt.Fprintf(e.stdout, "queue %s ready\n", info.Name)
			return nil
		},
	}
	f := cmd.Flags()
	f.DurationVar(&visibility, "visibility", 30*time.Second, "visibility timeout of received messages (0..12h)")
	f.DurationVar(&retention, "retention", 96*time.Hour, "how long messages are kept (1m..336h)")
	f.DurationVar(&delay, "delay", 0, "delivery delay of new messages (0..15m)")
	f.DurationVar(&wait, "receive-wait", 0, "default long-poll wait of receives (0..20s)")
	f.IntVar(&maxSize, "max-size", 1<<20, "largest message in bytes, body plus headers (1024..1048576)")
	f.IntVar(&maxReceives, "max-receives", 0, "receives before a message moves to --dlq (1..1000)")
	f.StringVar(&dlq, "dlq", "", "dead-letter queue (must exist; FIFO exactly when this queue is)")
	f.BoolVar(&fifo, "fifo", false, "strict order per message group")
	f.BoolVar(&contentDedup, "content-dedup", false, "deduplicate by SHA-256 of the body when no dedup ID is given")
	return cmd
}

func newQueueListCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Short:   "List queue names",
		Example: `  courier queue list`,
		Args:    exactArgs(),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := e.broker(cmd.Context())
			if err != nil {
				return err
			}
			defer b.Close()
			names, err := b.ListQueues(cmd.Context())
			if err != nil {
				return err
			}
			for _, n := range names {
				fmt.Fprintln(e.stdout, n)
			}
			return nil
		},
	}
}

func newQueueStatsCmd(e *env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "stats NAME",
		Short:   "Show a queue's attributes and message counts",
		Example: `  courier queue stats orders`,
		Args:    exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withQueue(cmd, args[0], func(ctx context.Context, q *courier.Queue) error {
				info, err := q.Info(ctx)
				if err != nil {
					return err
				}
				if e.jsonOutput(asJSON) {
					return e.printJSON(httpapi.InfoJSON(info))
				}
				a, s := info.Attributes, info.Stats
				tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintf(tw, "queue\t%s\n", info.Name)
				fmt.Fprintf(tw, "visible\t%d\nin flight\t%d\ndelayed\t%d\noldest age\t%v\n", s.Visible, s.InFlight, s.Delayed, s.OldestAge.Round(time.Millisecond))
				fmt.Fprintf(tw, "visibility timeout\t%v\nretention\t%v\ndelivery delay\t%v\nreceive wait\t%v\nmax message size\t%d\n",
					a.VisibilityTimeout, a.RetentionPeriod, a.DeliveryDelay, a.ReceiveWait, a.MaxMessageSize)
				if a.DeadLetterQueue != "" {
					fmt.Fprintf(tw, "dead-letter queue\t%s after %d receives\n", a.DeadLetterQueue, a.MaxReceives)
				}
				fmt.Fprintf(tw, "fifo\t%v\ncontent-based dedup\t%v\ncreated\t%s\n", a.FIFO, a.ContentBasedDedup, info.CreatedAt.Format(time.RFC3339))
				return tw.Flush()
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON (the default when stdout is not a terminal)")
	return cmd
}

func newQueueDeleteCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:     "delete NAME",
		Short:   "Delete a queue and its messages",
		Example: `  courier queue delete orders`,
		Args:    exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withQueue(cmd, args[0], func(ctx context.Context, q *courier.Queue) error {
				if err := q.Delete(ctx); err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "deleted queue %s\n", q.Name())
				return nil
			})
		},
	}
}

func newQueuePurgeCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:     "purge NAME",
		Short:   "Delete every message of a queue",
		Example: `  courier queue purge orders`,
		Args:    exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withQueue(cmd, args[0], func(ctx context.Context, q *courier.Queue) error {
				n, err := q.Purge(ctx)
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "purged %d messages\n", n)
				return nil
			})
		},
	}
}

// parseHeaders reads --header k=v flags.
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
		h[k] = v
	}
	return h, nil
}

func newQueueSendCmd(e *env) *cobra.Command {
	var (
		headers        []string
		group, dedupID string
		delay          time.Duration
		lines          bool
		batch          int
	)
	cmd := &cobra.Command{
		Use:   "send NAME [BODY]",
		Short: "Send a message (BODY, or standard input); print its ID once durable",
		Long: `Send a message and print its ID once the server stored it durably.

The body is BODY or, when absent, all of standard input. With --lines every
line of standard input is one message; lines are sent in batches and one ID is
printed per line, in order, for every message acknowledged.`,
		Example: `  courier queue send orders 'order #1' --header tenant=acme
  echo "order #2" | courier queue send orders
  seq 1 1000 | courier queue send orders --lines
  courier queue send payments.fifo '{"amount": 5}' --group customer-7 --dedup-id pay-123`,
		Args: rangeArgs([]string{"NAME"}, "BODY", 0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			h, err := parseHeaders(headers)
			if err != nil {
				return err
			}
			if err := checkDuration("delay", delay); err != nil {
				return err
			}
			if batch < 1 || batch > driver.MaxBatch {
				return usageError{fmt.Errorf("--batch %d: must be between 1 and %d", batch, driver.MaxBatch)}
			}
			if lines && len(args) == 2 {
				return usageError{errors.New("--lines reads messages from standard input; do not give BODY")}
			}
			proto := courier.Message{Headers: h, Group: group, DedupID: dedupID, Delay: delay}
			if lines && dedupID != "" {
				return usageError{errors.New("--dedup-id would make every line after the first a duplicate; leave it out with --lines")}
			}
			return e.withQueue(cmd, args[0], func(ctx context.Context, q *courier.Queue) error {
				if lines {
					return e.sendLines(ctx, q, proto, batch)
				}
				m := proto
				if len(args) == 2 {
					m.Body = []byte(args[1])
				} else {
					body, err := io.ReadAll(io.LimitReader(e.stdin, driver.MaxMessageSizeLimit+1))
					if err != nil {
						return fmt.Errorf("reading standard input: %w", err)
					}
					if len(body) > driver.MaxMessageSizeLimit {
						return fmt.Errorf("standard input is over %d bytes, the largest message", driver.MaxMessageSizeLimit)
					}
					m.Body = body
				}
				id, err := q.Send(ctx, m)
				if err != nil {
					return err
				}
				fmt.Fprintln(e.stdout, id)
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&headers, "header", nil, "header KEY=VALUE (repeatable)")
	f.StringVar(&group, "group", "", "message group (required on FIFO queues)")
	f.StringVar(&dedupID, "dedup-id", "", "deduplication ID (a repeat within 5 minutes is not stored again)")
	f.DurationVar(&delay, "delay", 0, "delivery delay (0..15m; default: the queue's)")
	f.BoolVar(&lines, "lines", false, "send every line of standard input as one message")
	f.IntVar(&batch, "batch", 100, "messages per request with --lines (1..1000)")
	return cmd
}

// sendLines sends every line of stdin as a message, in batches, printing
// one ID per acknowledged line. Lines that fail are reported on stderr
// with their number; the command then fails after sending the rest.
func (e *env) sendLines(ctx context.Context, q *courier.Queue, proto courier.Message, batch int) error {
	sc := bufio.NewScanner(e.stdin)
	sc.Buffer(make([]byte, 64<<10), driver.MaxMessageSizeLimit+1)
	var pending []courier.Message
	line, failed := 0, 0
	flush := func() error {
		if len(pending) == 0 {
			return nil
		}
		res, err := q.SendBatch(ctx, pending)
		if err != nil {
			return fmt.Errorf("lines %d-%d: %w", line-len(pending)+1, line, err)
		}
		for i, r := range res {
			if r.Err != nil {
				failed++
				fmt.Fprintf(e.stderr, "courier: line %d: %v\n", line-len(pending)+1+i, r.Err)
				continue
			}
			fmt.Fprintln(e.stdout, r.ID)
		}
		pending = pending[:0]
		return nil
	}
	for sc.Scan() {
		line++
		m := proto
		m.Body = append([]byte(nil), sc.Bytes()...)
		pending = append(pending, m)
		if len(pending) == batch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("line %d is over %d bytes, the largest message", line+1, driver.MaxMessageSizeLimit)
		}
		return fmt.Errorf("reading standard input: %w", err)
	}
	if err := flush(); err != nil {
		return err
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d lines were not sent", failed, line)
	}
	return nil
}

func newQueueReceiveCmd(e *env) *cobra.Command {
	var (
		max              int
		wait, visibility time.Duration
		ack, asJSON      bool
	)
	cmd := &cobra.Command{
		Use:   "receive NAME",
		Short: "Receive messages (JSON lines when piped or with --json)",
		Long: `Receive up to --max messages, waiting up to --wait for the first one.

Each message is printed with its receipt, which ack, nack and extend take.
With --ack the messages are acknowledged (deleted) after they are printed.`,
		Example: `  courier queue receive orders
  courier queue receive orders --max 10 --wait 20s --ack
  courier queue receive orders --json | jq -r .body`,
		Args: exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if max < 1 || max > driver.MaxBatch {
				return usageError{fmt.Errorf("--max %d: must be between 1 and %d", max, driver.MaxBatch)}
			}
			if err := checkDuration("wait", wait); err != nil {
				return err
			}
			if err := checkDuration("visibility", visibility); err != nil {
				return err
			}
			return e.withQueue(cmd, args[0], func(ctx context.Context, q *courier.Queue) error {
				opts := []courier.ReceiveOption{courier.Max(max), courier.Wait(wait)}
				if visibility > 0 {
					opts = append(opts, courier.Visibility(visibility))
				}
				ds, err := q.Receive(ctx, opts...)
				if err != nil {
					return err
				}
				asJSON := e.jsonOutput(asJSON)
				receipts := make([]string, len(ds))
				for i, d := range ds {
					receipts[i] = d.Receipt
					if asJSON {
						if err := e.printJSON(httpapi.DeliveryJSON(d.Delivery)); err != nil {
							return err
						}
						continue
					}
					fmt.Fprintf(e.stdout, "id %s  receives %d  sent %s\n", d.ID, d.ReceiveCount, d.SentAt.Format(time.RFC3339))
					for k, v := range d.Headers {
						fmt.Fprintf(e.stdout, "  %s: %s\n", k, v)
					}
					fmt.Fprintf(e.stdout, "  receipt %s\n%s\n\n", d.Receipt, d.Body)
				}
				if ack && len(ds) > 0 {
					return q.Ack(ctx, receipts...)
				}
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.IntVar(&max, "max", 1, "most messages to receive (1..1000)")
	f.DurationVar(&wait, "wait", 0, "how long to wait for a message (0..20s)")
	f.DurationVar(&visibility, "visibility", 0, "visibility timeout for these messages (default: the queue's)")
	f.BoolVar(&ack, "ack", false, "acknowledge (delete) the messages after printing them")
	f.BoolVar(&asJSON, "json", false, "print JSON lines (the default when stdout is not a terminal)")
	return cmd
}

func newQueueAckCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:     "ack NAME RECEIPT...",
		Short:   "Acknowledge (delete) received messages",
		Example: `  courier queue ack orders AQEBx...`,
		Args:    rangeArgs([]string{"NAME"}, "RECEIPT", 1, -1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withQueue(cmd, args[0], func(ctx context.Context, q *courier.Queue) error {
				return q.Ack(ctx, args[1:]...)
			})
		},
	}
}

func newQueueNackCmd(e *env) *cobra.Command {
	var delay time.Duration
	cmd := &cobra.Command{
		Use:     "nack NAME RECEIPT...",
		Short:   "Return received messages to the queue, visible after --delay",
		Example: `  courier queue nack orders AQEBx... --delay 30s`,
		Args:    rangeArgs([]string{"NAME"}, "RECEIPT", 1, -1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkDuration("delay", delay); err != nil {
				return err
			}
			return e.withQueue(cmd, args[0], func(ctx context.Context, q *courier.Queue) error {
				return q.Nack(ctx, delay, args[1:]...)
			})
		},
	}
	cmd.Flags().DurationVar(&delay, "delay", 0, "when the messages become visible again (0..12h)")
	return cmd
}

func newQueueExtendCmd(e *env) *cobra.Command {
	var visibility time.Duration
	cmd := &cobra.Command{
		Use:     "extend NAME RECEIPT... --visibility D",
		Short:   "Keep received messages invisible for longer",
		Example: `  courier queue extend orders AQEBx... --visibility 5m`,
		Args:    rangeArgs([]string{"NAME"}, "RECEIPT", 1, -1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("visibility") {
				return usageError{errors.New("--visibility is required: how long the messages stay invisible from now")}
			}
			if err := checkDuration("visibility", visibility); err != nil {
				return err
			}
			return e.withQueue(cmd, args[0], func(ctx context.Context, q *courier.Queue) error {
				return q.Extend(ctx, visibility, args[1:]...)
			})
		},
	}
	cmd.Flags().DurationVar(&visibility, "visibility", 0, "visibility timeout from now (0..12h)")
	return cmd
}

func newQueueRedriveCmd(e *env) *cobra.Command {
	var (
		max, rate int
		to        string
	)
	cmd := &cobra.Command{
		Use:   "redrive DLQ",
		Short: "Move messages from a dead-letter queue back to their queues",
		Example: `  courier queue redrive orders-dlq
  courier queue redrive orders-dlq --max 100 --rate 10
  courier queue redrive orders-dlq --to orders-retry`,
		Args: exactArgs("DLQ"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if max < 0 || rate < 0 {
				return usageError{errors.New("--max and --rate must not be negative")}
			}
			return e.withQueue(cmd, args[0], func(ctx context.Context, q *courier.Queue) error {
				var opts []courier.RedriveOption
				if max > 0 {
					opts = append(opts, courier.RedriveMax(max))
				}
				if rate > 0 {
					opts = append(opts, courier.RedriveRate(rate))
				}
				if to != "" {
					opts = append(opts, courier.RedriveTo(to))
				}
				n, err := q.Redrive(ctx, opts...)
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "moved %d messages\n", n)
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.IntVar(&max, "max", 0, "most messages to move (default: all)")
	f.IntVar(&rate, "rate", 0, "most messages per second (default: unlimited)")
	f.StringVar(&to, "to", "", "destination queue (default: each message's source queue)")
	return cmd
}
