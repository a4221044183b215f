package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/driver"
	"github.com/courier-io/courier/internal/httpapi"
)

func newTopicCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "topic",
		Short: "Manage topics: publish, subscriptions, tail",
		Long: `Manage topics on the server named by --server (env COURIER_SERVER): publish
messages, subscribe queues, durable subscriptions and HTTP endpoints with SNS
filter policies, read durable subscriptions, and tail a topic live.

A publish returns once the message is durable in the topic and in every
matching subscription. See docs/topics.md.`,
		Example: `  courier topic create orders
  courier topic subscribe orders audit --kind queue --queue audit
  courier topic subscribe orders eu --kind durable --filter '{"region":["eu"]}'
  echo '{"id":1}' | courier topic publish orders --header region=eu
  courier topic receive orders eu --ack
  courier topic tail orders`,
		Args: groupArgs,
		RunE: groupRun,
	}
	cmd.AddCommand(
		newTopicCreateCmd(e), newTopicListCmd(e), newTopicInfoCmd(e), newTopicDeleteCmd(e), newTopicPublishCmd(e),
		newTopicSubscribeCmd(e), newTopicSubscriptionsCmd(e), newTopicUnsubscribeCmd(e), newTopicConfirmCmd(e),
		newTopicReceiveCmd(e), newTopicAckCmd(e), newTopicTailCmd(e),
	)
	return cmd
}

// checkName checks a name argument with one of package driver's validators.
func checkName(validate func(field, name string) error, name string) error {
	if err := validate("name", name); err != nil {
		var ve *courier.ValidationError
		if errors.As(err, &ve) {
			err = errors.New(ve.Reason)
		}
		return usageError{err}
	}
	return nil
}

// withTopic checks the topic name and runs fn with that topic of the server.
func (e *env) withTopic(ctx context.Context, name string, fn func(t *courier.Topic) error) error {
	if err := checkName(driver.ValidateTopicName, name); err != nil {
		return err
	}
	b, err := e.broker(ctx)
	if err != nil {
		return err
	}
	defer b.Close()
	return fn(b.Topic(name))
}

// withSubscription checks the names and runs fn with the subscription.
func (e *env) withSubscription(ctx context.Context, topic, sub string, fn func(s *courier.Subscription) error) error {
	if err := checkName(driver.ValidateSubscriptionName, sub); err != nil {
		return err
	}
	return e.withTopic(ctx, topic, func(t *courier.Topic) error { return fn(t.Subscription(sub)) })
}

func newTopicCreateCmd(e *env) *cobra.Command {
	var (
		attrs  = driver.DefaultTopicAttributes()
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a topic (idempotent with the same attributes)",
		Example: `  courier topic create orders
  courier topic create payments.fifo --fifo --content-dedup`,
		Args: exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkName(driver.ValidateTopicName, args[0]); err != nil {
				return err
			}
			if err := attrs.Validate(); err != nil {
				return flagError(err, map[string]string{"max_message_size": "max-size"})
			}
			b, err := e.broker(cmd.Context())
			if err != nil {
				return err
			}
			defer b.Close()
			t, err := b.CreateTopic(cmd.Context(), args[0], courier.WithTopicAttributes(attrs))
			if err != nil {
				return err
			}
			info, err := t.Info(cmd.Context())
			if err != nil {
				return err
			}
			if e.jsonOutput(asJSON) {
				return e.printJSON(httpapi.TopicInfoJSON(info))
			}
			_, err = fmt.Fprintf(e.stdout, "topic %s is ready\n", info.Name)
			return err
		},
	}
	f := cmd.Flags()
	f.BoolVar(&attrs.FIFO, "fifo", false, "order per message group (every message then needs --group); delivers only to FIFO queues")
	f.BoolVar(&attrs.ContentBasedDedup, "content-dedup", false, "deduplicate messages without --dedup-id by the SHA-256 of their body")
	f.IntVar(&attrs.MaxMessageSize, "max-size", attrs.MaxMessageSize, fmt.Sprintf("largest message in bytes (%d..%d)", driver.MinMessageSizeLimit, driver.MaxMessageSizeLimit))
	f.BoolVar(&asJSON, "json", false, "print the topic as JSON (the default when stdout is not a terminal)")
	return cmd
}

func newTopicListCmd(e *env) *cobra.Command {
	return newListCmd(e, "topic", (*courier.Broker).ListTopics)
}

func newTopicInfoCmd(e *env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "info NAME",
		Short:   "Show a topic's attributes and counters",
		Example: `  courier topic info orders`,
		Args:    exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withTopic(cmd.Context(), args[0], func(t *courier.Topic) error {
				info, err := t.Info(cmd.Context())
				if err != nil {
					return err
				}
				if e.jsonOutput(asJSON) {
					return e.printJSON(httpapi.TopicInfoJSON(info))
				}
				tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintf(tw, "topic\t%s\nfifo\t%v\ncontent-based dedup\t%v\nmax message size\t%d bytes\n", info.Name, info.Attributes.FIFO, info.Attributes.ContentBasedDedup, info.Attributes.MaxMessageSize)
				fmt.Fprintf(tw, "published\t%d (since the server started)\nsubscriptions\t%d\ntails\t%d\ncreated\t%s\n",
					info.Stats.Published, info.Stats.Subscriptions, info.Stats.Tails, info.CreatedAt.Local().Format(time.RFC3339))
				return tw.Flush()
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON (the default when stdout is not a terminal)")
	return cmd
}

func newTopicDeleteCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:     "delete NAME",
		Short:   "Delete a topic with its subscriptions (subscribed queues stay)",
		Example: `  courier topic delete orders`,
		Args:    exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withTopic(cmd.Context(), args[0], func(t *courier.Topic) error {
				if err := t.Delete(cmd.Context()); err != nil {
					return err
				}
				return e.confirm("deleted topic %s\n", t.Name())
			})
		},
	}
}

func newTopicPublishCmd(e *env) *cobra.Command {
	var (
		headers        []string
		group, dedupID string
	)
	cmd := &cobra.Command{
		Use:   "publish NAME [BODY]",
		Short: "Publish a message (BODY or standard input) and print its ID",
		Long: `Publish one message whose body is BODY or, without it, standard input, and
print its ID once it is durable in the topic and every matching subscription.`,
		Example: `  courier topic publish orders '{"id": 1}' --header region=eu
  cat order.json | courier topic publish orders.fifo --group customer-7 --dedup-id order-1`,
		Args: rangeArgs([]string{"NAME"}, "BODY", 0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			h, err := parseHeaders(headers)
			if err != nil {
				return err
			}
			msg := courier.Message{Headers: h, Group: group, DedupID: dedupID}
			if len(args) == 2 {
				msg.Body = []byte(args[1])
			} else if msg.Body, err = e.readBody(); err != nil {
				return err
			}
			if err := driver.ValidateMessage("", &msg); err != nil {
				return flagError(err, map[string]string{".group": "group", ".dedup_id": "dedup-id", ".headers": "header"})
			}
			return e.withTopic(cmd.Context(), args[0], func(t *courier.Topic) error {
				id, err := t.Publish(cmd.Context(), msg)
				if err != nil {
					return err
				}
				_, err = fmt.Fprintln(e.stdout, id)
				return err
			})
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&headers, "header", nil, "header KEY=VALUE (repeatable); filter policies on attributes match headers")
	f.StringVar(&group, "group", "", "message group (required on FIFO topics)")
	f.StringVar(&dedupID, "dedup-id", "", "deduplication ID (5-minute window)")
	return cmd
}

// subscribeFlags names the flag of each subscription field.
var subscribeFlags = map[string]string{
	"kind": "kind", "queue": "queue", "endpoint": "endpoint", "filter_policy": "filter", "filter_scope": "filter-scope",
	"push.min_delay": "min-delay", "push.max_delay": "max-delay", "push.max_attempts": "max-attempts",
	"push.max_per_second": "max-per-second", "push.timeout": "timeout", "push.concurrency": "concurrency",
	"push.dead_letter_queue": "dead-letter-queue", "attributes.visibility_timeout": "visibility",
	"attributes.max_receives": "max-receives", "attributes.dead_letter_queue": "dead-letter-queue",
	"attributes.retention_period": "retention",
}

func newTopicSubscribeCmd(e *env) *cobra.Command {
	var (
		spec                  driver.Subscription
		kind, scope           string
		visibility, retention time.Duration
		maxReceives           int
		dlq                   string
		asJSON                bool
	)
	cmd := &cobra.Command{
		Use:   "subscribe TOPIC NAME --kind queue|durable|http",
		Short: "Create or update a subscription",
		Long: `Create the subscription NAME of TOPIC, or update its filter, raw flag and
settings (kind and target cannot change). Kinds:
  queue    deliver into the existing --queue
  durable  a queue of the subscription's own, read with 'courier topic receive'
  http     POST to --endpoint with retries; the endpoint first gets a confirmation
           request whose token 'courier topic confirm' takes`,
		Example: `  courier topic subscribe orders audit --kind queue --queue audit --raw
  courier topic subscribe orders big --kind durable --filter '{"total":[{"numeric":[">=",100]}]}'
  courier topic subscribe orders paid --kind durable --filter '{"status":["paid"]}' --filter-scope body
  courier topic subscribe orders hook --kind http --endpoint https://example.com/hook --max-attempts 5`,
		Args: exactArgs("TOPIC", "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkName(driver.ValidateSubscriptionName, args[1]); err != nil {
				return err
			}
			f := cmd.Flags()
			spec.Kind, spec.FilterScope = driver.SubscriptionKind(kind), driver.FilterScope(scope)
			if spec.Kind == driver.KindDurable && (f.Changed("visibility") || f.Changed("max-receives") || f.Changed("retention") || f.Changed("dead-letter-queue")) {
				a := driver.DefaultQueueAttributes()
				if f.Changed("visibility") {
					a.VisibilityTimeout = visibility
				}
				if f.Changed("retention") {
					a.RetentionPeriod = retention
				}
				a.MaxReceives, a.DeadLetterQueue = maxReceives, dlq
				spec.Attributes = &a
			}
			if spec.Kind == driver.KindHTTP {
				spec.Push.DeadLetterQueue = dlq
			}
			if err := spec.Normalize(); err != nil {
				return flagError(err, subscribeFlags)
			}
			return e.withTopic(cmd.Context(), args[0], func(t *courier.Topic) error {
				info, err := t.Subscribe(cmd.Context(), args[1], spec)
				if err != nil {
					return err
				}
				if e.jsonOutput(asJSON) {
					return e.printJSON(httpapi.SubscriptionInfoJSON(info))
				}
				_, err = fmt.Fprintf(e.stdout, "subscription %s of %s is %s\n", info.Name, info.Topic, info.Status)
				return err
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&kind, "kind", "", "queue, durable or http (required)")
	f.StringVar(&spec.Queue, "queue", "", "queue to deliver into (--kind queue)")
	f.StringVar(&spec.Endpoint, "endpoint", "", "URL to POST to (--kind http)")
	f.StringVar(&spec.FilterPolicy, "filter", "", "SNS filter policy (JSON); default: every message")
	f.StringVar(&scope, "filter-scope", "attributes", "what --filter matches: attributes (the headers) or body (a JSON body)")
	f.BoolVar(&spec.Raw, "raw", false, "deliver bodies as published instead of in a JSON envelope")
	f.DurationVar(&visibility, "visibility", 30*time.Second, "visibility timeout of a durable subscription's queue")
	f.DurationVar(&retention, "retention", 96*time.Hour, "retention of a durable subscription's queue")
	f.IntVar(&maxReceives, "max-receives", 0, "receives before a durable subscription's message moves to --dead-letter-queue")
	f.StringVar(&dlq, "dead-letter-queue", "", "dead-letter queue (durable: with --max-receives; http: after --max-attempts)")
	f.DurationVar(&spec.Push.MinDelay, "min-delay", 0, "http: first retry backoff (default 1s)")
	f.DurationVar(&spec.Push.MaxDelay, "max-delay", 0, "http: largest retry backoff (default 60s)")
	f.IntVar(&spec.Push.MaxAttempts, "max-attempts", 0, "http: POSTs before giving up (default 10)")
	f.IntVar(&spec.Push.MaxPerSecond, "max-per-second", 0, "http: most POSTs per second (default unlimited)")
	f.DurationVar(&spec.Push.Timeout, "timeout", 0, "http: limit of one POST (default 15s)")
	f.IntVar(&spec.Push.Concurrency, "concurrency", 0, "http: POSTs in flight (default 4)")
	f.BoolVar(&asJSON, "json", false, "print the subscription as JSON (the default when stdout is not a terminal)")
	return cmd
}

func newTopicSubscriptionsCmd(e *env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "subscriptions TOPIC",
		Short:   "List a topic's subscriptions with their status, filter and counters",
		Example: `  courier topic subscriptions orders`,
		Args:    exactArgs("TOPIC"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withTopic(cmd.Context(), args[0], func(t *courier.Topic) error {
				subs, err := t.Subscriptions(cmd.Context())
				if err != nil {
					return err
				}
				if e.jsonOutput(asJSON) {
					for _, s := range subs {
						if err := e.printJSON(httpapi.SubscriptionInfoJSON(s)); err != nil {
							return err
						}
					}
					return nil
				}
				tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tKIND\tTARGET\tSTATUS\tDELIVERED\tFILTERED OUT\tBACKLOG\tFILTER")
				for _, s := range subs {
					target := s.Queue + s.Endpoint
					if target == "" {
						target = "-"
					}
					filter := s.FilterPolicy
					if filter == "" {
						filter = "-"
					} else if s.FilterScope == driver.ScopeBody {
						filter = "body " + filter
					}
					b := s.Stats.Backlog
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%d\t%s\n", s.Name, s.Kind, target, s.Status, s.Stats.Delivered, s.Stats.FilteredOut, b.Visible+b.InFlight+b.Delayed, filter)
				}
				return tw.Flush()
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON line per subscription (the default when stdout is not a terminal)")
	return cmd
}

func newTopicUnsubscribeCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:     "unsubscribe TOPIC NAME",
		Short:   "Delete a subscription (and the messages waiting in a durable or http one)",
		Example: `  courier topic unsubscribe orders eu`,
		Args:    exactArgs("TOPIC", "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withSubscription(cmd.Context(), args[0], args[1], func(s *courier.Subscription) error {
				if err := s.Delete(cmd.Context()); err != nil {
					return err
				}
				return e.confirm("deleted subscription %s of %s\n", s.Name(), s.Topic().Name())
			})
		},
	}
}

func newTopicConfirmCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:     "confirm TOPIC NAME TOKEN",
		Short:   "Confirm an http subscription with the token its endpoint received",
		Example: `  courier topic confirm orders hook 3f9a...`,
		Args:    exactArgs("TOPIC", "NAME", "TOKEN"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := driver.ValidateConfirmToken(args[2]); err != nil {
				return usageError{err}
			}
			return e.withTopic(cmd.Context(), args[0], func(t *courier.Topic) error {
				if err := t.ConfirmSubscription(cmd.Context(), args[1], args[2]); err != nil {
					return err
				}
				return e.confirm("subscription %s of %s is active\n", args[1], t.Name())
			})
		},
	}
}

func newTopicReceiveCmd(e *env) *cobra.Command {
	var (
		max         int
		wait        time.Duration
		ack, asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "receive TOPIC NAME",
		Short: "Receive messages of a durable subscription",
		Long: `Receive up to --max messages of the durable subscription NAME, waiting up to
--wait for the first one, as 'courier queue receive' does for queues; with --ack
they are acknowledged once printed.`,
		Example: `  courier topic receive orders eu --max 10 --wait 5s --ack`,
		Args:    exactArgs("TOPIC", "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if max < 1 || max > driver.MaxBatch {
				return usageError{fmt.Errorf("--max: %d is out of range; accepted is 1 to %d", max, driver.MaxBatch)}
			}
			if err := checkDuration("wait", wait, 0, driver.MaxReceiveWait); err != nil {
				return err
			}
			return e.withSubscription(cmd.Context(), args[0], args[1], func(s *courier.Subscription) error {
				ds, err := s.Receive(cmd.Context(), courier.Max(max), courier.Wait(wait))
				if err != nil {
					return err
				}
				out := bufio.NewWriter(e.stdout)
				if e.jsonOutput(asJSON) {
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
				if !ack || len(ds) == 0 {
					return nil
				}
				receipts := make([]string, len(ds))
				for i, d := range ds {
					receipts[i] = d.Receipt
				}
				return s.Ack(cmd.Context(), receipts...)
			})
		},
	}
	f := cmd.Flags()
	f.IntVar(&max, "max", 1, fmt.Sprintf("most messages to receive (1..%d)", driver.MaxBatch))
	f.DurationVar(&wait, "wait", 0, fmt.Sprintf("how long to wait for a message (0..%v)", driver.MaxReceiveWait))
	f.BoolVar(&ack, "ack", false, "acknowledge (delete) the messages once printed")
	f.BoolVar(&asJSON, "json", false, "print JSON lines (the default when stdout is not a terminal)")
	return cmd
}

func newTopicAckCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:     "ack TOPIC NAME RECEIPT...",
		Short:   "Acknowledge messages of a durable subscription",
		Example: `  courier topic ack orders eu AgEBB2DViw`,
		Args:    rangeArgs([]string{"TOPIC", "NAME"}, "RECEIPT", 1, -1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkReceipts(args[2:]); err != nil {
				return err
			}
			return e.withSubscription(cmd.Context(), args[0], args[1], func(s *courier.Subscription) error {
				if err := s.Ack(cmd.Context(), args[2:]...); err != nil {
					return err
				}
				return e.confirm("acked %d messages\n", len(args)-2)
			})
		},
	}
}

func newTopicTailCmd(e *env) *cobra.Command {
	var (
		opts        driver.TailOptions
		scope       string
		raw, asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "tail NAME",
		Short: "Print messages published to a topic as they come, until interrupted",
		Long: `Open an ephemeral subscription and print each message published from now on
that matches --filter, until interrupted (Ctrl-C ends it with exit code 0).
Without --raw the body is the JSON envelope with the message's ID, time and
headers. A reader slower than the publishers loses the oldest messages beyond
--buffer; their count is printed at the end.`,
		Example: `  courier topic tail orders
  courier topic tail orders --filter '{"region":["eu"]}' --raw --json | jq .body`,
		Args: exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.FilterScope, opts.Raw = driver.FilterScope(scope), raw
			if opts.Buffer < 1 || opts.Buffer > driver.MaxTailBuffer {
				return usageError{fmt.Errorf("--buffer: %d is out of range; accepted is 1 to %d", opts.Buffer, driver.MaxTailBuffer)}
			}
			if err := opts.Normalize(); err != nil {
				return flagError(err, map[string]string{"filter_policy": "filter", "filter_scope": "filter-scope", "buffer": "buffer"})
			}
			ctx := cmd.Context()
			return e.withTopic(ctx, args[0], func(t *courier.Topic) error {
				tail, err := t.Tail(ctx, courier.WithTailOptions(opts))
				if err != nil {
					return err
				}
				defer tail.Close()
				out := bufio.NewWriter(e.stdout)
				for {
					m, err := tail.Next(ctx)
					if err != nil {
						if ctx.Err() != nil {
							err = nil // interrupted: the normal end
						}
						if d := tail.Dropped(); d > 0 {
							fmt.Fprintf(e.stderr, "courier: %d messages were dropped: the reader was slower than the publishers\n", d)
						}
						return errors.Join(err, out.Flush())
					}
					if err := printTailMessage(out, m, e.jsonOutput(asJSON)); err != nil {
						return err
					}
					if err := out.Flush(); err != nil {
						return err
					}
				}
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.FilterPolicy, "filter", "", "SNS filter policy (JSON); default: every message")
	f.StringVar(&scope, "filter-scope", "attributes", "what --filter matches: attributes (the headers) or body")
	f.BoolVar(&raw, "raw", false, "print bodies as published instead of the JSON envelope")
	f.IntVar(&opts.Buffer, "buffer", driver.DefaultTailBuffer, fmt.Sprintf("messages kept for a slow reader (1..%d)", driver.MaxTailBuffer))
	f.BoolVar(&asJSON, "json", false, "print JSON lines (the default when stdout is not a terminal)")
	return cmd
}

// printTailMessage prints one tailed message for people or as a JSON line.
func printTailMessage(w io.Writer, m courier.TailMessage, asJSON bool) error {
	if asJSON {
		return jsonEncoder(w).Encode(httpapi.DeliveryJSON(m))
	}
	_, err := fmt.Fprintf(w, "%s %s %s\n", m.SentAt.Local().Format(time.RFC3339Nano), m.ID, printable(string(m.Body)))
	return err
}
