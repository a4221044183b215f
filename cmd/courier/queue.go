package main

import (
	"context"
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/driver"
	"github.com/courier-io/courier/internal/httpapi"
)

func newQueueCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "queue",
		Short: "Manage queues and send, receive and settle messages",
		Long: `Manage queues and send, receive and settle messages on the server named by
--server (env COURIER_SERVER).

Queues have SQS semantics: a received message stays invisible to other
receivers for the visibility timeout; ack deletes it, nack returns it, extend
keeps it longer, and after --max-receives receives it moves to the --dlq
dead-letter queue, from where redrive moves it back.`,
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

// createFlags names the flag of each queue attribute.
var createFlags = map[string]string{
	"visibility_timeout": "visibility",
	"retention_period":   "retention",
	"delivery_delay":     "delay",
	"receive_wait":       "receive-wait",
	"max_message_size":   "max-size",
	"max_receives":       "max-receives",
	"dead_letter_queue":  "dlq",
}

func newQueueCreateCmd(e *env) *cobra.Command {
	var (
		visibility, retention, delay, wait time.Duration
		maxReceives, maxSize               int
		dlq                                string
		fifo, contentDedup, asJSON         bool
	)
	cmd := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a queue (idempotent with the same attributes)",
		Long: `Create a queue. Creating a queue that exists with the same attributes
succeeds; with other attributes it fails with a conflict and changes nothing.

Names are 1 to 80 letters, digits, '-', '_' and '.'. The dead-letter queue
must exist first, and be FIFO exactly when the new queue is.`,
		Example: `  courier queue create orders-dlq
  courier queue create orders --visibility 30s --max-receives 3 --dlq orders-dlq
  courier queue create payments.fifo --fifo --content-dedup
  courier queue create slow --receive-wait 20s --retention 336h --max-size 65536`,
		Args: exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if err := checkQueueName("", name); err != nil {
				return err
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
				if !f.Changed("dlq") || !f.Changed("max-receives") {
					return usageError{errors.New("--dlq and --max-receives go together: name the dead-letter queue and the receives before a message moves there")}
				}
				if err := checkQueueName("dlq", dlq); err != nil {
					return err
				}
				if dlq == name {
					return usageError{errors.New("--dlq: a queue cannot be its own dead-letter queue")}
				}
				opts = append(opts, courier.DeadLetter(dlq, maxReceives))
			}
			if fifo {
				opts = append(opts, courier.FIFO())
			}
			if contentDedup {
				opts = append(opts, courier.ContentBasedDedup(true))
			}
			attrs := courier.DefaultQueueAttributes()
			for _, o := range opts {
				o(&attrs)
			}
			if err := attrs.Validate(); err != nil {
				return flagError(err, createFlags)
			}
			b, err := e.broker(cmd.Context())
			if err != nil {
				return err
			}
			defer b.Close()
			q, err := b.CreateQueue(cmd.Context(), name, opts...)
			if err != nil {
				return err
			}
			info, err := q.Info(cmd.Context())
			if err != nil {
				return err
			}
			if e.jsonOutput(asJSON) {
				return e.printJSON(httpapi.InfoJSON(info))
			}
			_, err = fmt.Fprintf(e.stdout, "queue %s is ready\n", info.Name)
			return err
		},
	}
	d := courier.DefaultQueueAttributes()
	f := cmd.Flags()
	f.DurationVar(&visibility, "visibility", d.VisibilityTimeout, fmt.Sprintf("how long a received message stays invisible (0..%v)", driver.MaxVisibilityTimeout))
	f.DurationVar(&retention, "retention", d.RetentionPeriod, fmt.Sprintf("how long messages are kept (%v..%v)", driver.MinRetentionPeriod, driver.MaxRetentionPeriod))
	f.DurationVar(&delay, "delay", d.DeliveryDelay, fmt.Sprintf("delivery delay of new messages (0..%v)", driver.MaxDeliveryDelay))
	f.DurationVar(&wait, "receive-wait", d.ReceiveWait, fmt.Sprintf("long-poll wait of receives that do not give one (0..%v)", driver.MaxReceiveWait))
	f.IntVar(&maxSize, "max-size", d.MaxMessageSize, fmt.Sprintf("largest message in bytes, body plus headers (%d..%d)", driver.MinMessageSizeLimit, driver.MaxMessageSizeLimit))
	f.IntVar(&maxReceives, "max-receives", 0, fmt.Sprintf("receives before a message moves to --dlq (1..%d)", driver.MaxMaxReceives))
	f.StringVar(&dlq, "dlq", "", "dead-letter queue, with --max-receives")
	f.BoolVar(&fifo, "fifo", false, "deliver in order per message group (every message then needs --group)")
	f.BoolVar(&contentDedup, "content-dedup", false, "deduplicate messages without --dedup-id by the SHA-256 of their body")
	f.BoolVar(&asJSON, "json", false, "print the queue as JSON (the default when stdout is not a terminal)")
	return cmd
}

func newQueueListCmd(e *env) *cobra.Command {
	cmd := newListCmd(e, "queue", (*courier.Broker).ListQueues)
	cmd.Long = `List the names of all queues, sorted, one per line (also when stdout is not a
terminal, so that the output can go to xargs).`
	cmd.Example = `  courier queue list
  courier queue list | xargs -n1 courier queue stats`
	return cmd
}

// newListCmd returns a "list" command printing the names list returns,
// one per line.
func newListCmd(e *env, noun string, list func(*courier.Broker, context.Context) ([]string, error)) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Short:   "List " + noun + " names, one per line",
		Example: "  courier " + noun + " list",
		Args:    exactArgs(),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := e.broker(cmd.Context())
			if err != nil {
				return err
			}
			defer b.Close()
			names, err := list(b, cmd.Context())
			if err != nil {
				return err
			}
			for _, n := range names {
				if _, err := fmt.Fprintln(e.stdout, n); err != nil {
					return err
				}
			}
			return nil
		},
	}
}

func newQueueStatsCmd(e *env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "stats NAME",
		Short: "Show a queue's message counts and attributes",
		Long: `Show a queue's message counts (visible, in flight, delayed; approximate, as of
one instant) and the age of its oldest message, then its attributes.`,
		Example: `  courier queue stats orders
  courier queue stats orders --json | jq .stats.visible`,
		Args: exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withQueue(cmd.Context(), args[0], func(q *courier.Queue) error {
				info, err := q.Info(cmd.Context())
				if err != nil {
					return err
				}
				if e.jsonOutput(asJSON) {
					return e.printJSON(httpapi.InfoJSON(info))
				}
				a, s := info.Attributes, info.Stats
				tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintf(tw, "queue\t%s\n", info.Name)
				fmt.Fprintf(tw, "visible\t%d\nin flight\t%d\ndelayed\t%d\n", s.Visible, s.InFlight, s.Delayed)
				if s.Visible+s.InFlight+s.Delayed > 0 {
					fmt.Fprintf(tw, "oldest message\t%v old\n", s.OldestAge.Round(time.Millisecond))
				}
				fmt.Fprintf(tw, "visibility timeout\t%v\nretention\t%v\ndelivery delay\t%v\nreceive wait\t%v\nmax message size\t%d bytes\n",
					a.VisibilityTimeout, a.RetentionPeriod, a.DeliveryDelay, a.ReceiveWait, a.MaxMessageSize)
				if a.DeadLetterQueue != "" {
					fmt.Fprintf(tw, "dead-letter queue\t%s after %d receives\n", a.DeadLetterQueue, a.MaxReceives)
				}
				fmt.Fprintf(tw, "fifo\t%v\ncontent-based dedup\t%v\ncreated\t%s\n",
					a.FIFO, a.ContentBasedDedup, info.CreatedAt.Local().Format(time.RFC3339))
				return tw.Flush()
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON (the default when stdout is not a terminal)")
	return cmd
}

func newQueueDeleteCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a queue and its messages",
		Long: `Delete a queue and all its messages. Prints a confirmation on a terminal and
nothing otherwise.`,
		Example: `  courier queue delete orders`,
		Args:    exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withQueue(cmd.Context(), args[0], func(q *courier.Queue) error {
				if err := q.Delete(cmd.Context()); err != nil {
					return err
				}
				return e.confirm("deleted queue %s\n", q.Name())
			})
		},
	}
}

// confirm prints a confirmation for people: only on a terminal.
func (e *env) confirm(format string, args ...any) error {
	if !e.stdoutTTY {
		return nil
	}
	_, err := fmt.Fprintf(e.stdout, format, args...)
	return err
}

func newQueuePurgeCmd(e *env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "purge NAME",
		Short: "Delete every message of a queue",
		Long: `Delete every message of a queue, in flight and delayed ones included, and
print how many there were.`,
		Example: `  courier queue purge orders
  courier queue purge orders --json   # {"queue":"orders","purged":12}`,
		Args: exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withQueue(cmd.Context(), args[0], func(q *courier.Queue) error {
				n, err := q.Purge(cmd.Context())
				if err != nil {
					return err
				}
				if e.jsonOutput(asJSON) {
					return e.printJSON(struct {
						Queue  string `json:"queue"`
						Purged int    `json:"purged"`
					}{q.Name(), n})
				}
				_, err = fmt.Fprintf(e.stdout, "purged %d messages from %s\n", n, q.Name())
				return err
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON (the default when stdout is not a terminal)")
	return cmd
}

// redriveFlags names the flag of each redrive request field.
var redriveFlags = map[string]string{"max": "max", "rate": "rate", "destination": "to"}

func newQueueRedriveCmd(e *env) *cobra.Command {
	var (
		req    driver.RedriveRequest
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "redrive DLQ",
		Short: "Move messages from a dead-letter queue back to their queues",
		Long: `Move the visible messages of a dead-letter queue back to the queues they were
dead-lettered from (or all to --to), and print how many moved. Each move is
atomic; an interrupted redrive leaves every message in one of the two queues.`,
		Example: `  courier queue redrive orders-dlq
  courier queue redrive orders-dlq --max 100 --rate 10
  courier queue redrive orders-dlq --to orders-retry`,
		Args: exactArgs("DLQ"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := req.Validate(); err != nil {
				return flagError(err, redriveFlags)
			}
			return e.withQueue(cmd.Context(), args[0], func(q *courier.Queue) error {
				var opts []courier.RedriveOption
				if req.Max > 0 {
					opts = append(opts, courier.RedriveMax(req.Max))
				}
				if req.Rate > 0 {
					opts = append(opts, courier.RedriveRate(req.Rate))
				}
				if req.Destination != "" {
					opts = append(opts, courier.RedriveTo(req.Destination))
				}
				n, err := q.Redrive(cmd.Context(), opts...)
				if err != nil {
					return err
				}
				if e.jsonOutput(asJSON) {
					return e.printJSON(struct {
						Queue string `json:"queue"`
						Moved int    `json:"moved"`
					}{q.Name(), n})
				}
				_, err = fmt.Fprintf(e.stdout, "moved %d messages from %s\n", n, q.Name())
				return err
			})
		},
	}
	f := cmd.Flags()
	f.IntVar(&req.Max, "max", 0, "most messages to move (default: all visible)")
	f.IntVar(&req.Rate, "rate", 0, "most messages moved per second (default: unlimited)")
	f.StringVar(&req.Destination, "to", "", "move every message to this queue (default: the queue each came from)")
	f.BoolVar(&asJSON, "json", false, "print JSON (the default when stdout is not a terminal)")
	return cmd
}
