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
		Long: `Create a topic. Creating a topic that exists with the same attributes
succeeds; with other attributes it fails with a conflict and changes nothing.

Names are 1 to 80 letters, digits, '-', '_' and '.'. A FIFO topic keeps order
per message group: every message needs --group, its queue and durable
subscriptions are FIFO queues, and it refuses http subscriptions.`,
		Example: `  courier topic create orders
  courier topic create payments.fifo --fifo --content-based-dedup
  courier topic create small --max-message-size 4096`,
		Args: exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkName(driver.ValidateTopicName, args[0]); err != nil {
				return err
			}
			if err := attrs.Validate(); err != nil {
				return flagError(err, map[string]string{"max_message_size": "max-message-size"})
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
	f.BoolVar(&attrs.ContentBasedDedup, "content-based-dedup", false, "deduplicate messages without --dedup-id by the SHA-256 of their body")
	f.IntVar(&attrs.MaxMessageSize, "max-message-size", attrs.MaxMessageSize, fmt.Sprintf("largest message in bytes, body plus headers (%d..%d)", driver.MinMessageSizeLimit, driver.MaxMessageSizeLimit))
	f.BoolVar(&asJSON, "json", false, "print the topic as JSON (the default when stdout is not a terminal)")
	return cmd
}

func newTopicListCmd(e *env) *cobra.Command {
	return newListCmd(e, "topic", (*courier.Broker).ListTopics)
}

func newTopicInfoCmd(e *env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "info NAME",
		Short: "Show a topic's attributes and counters",
		Long: `Show a topic's attributes, how many messages were published (since the server
started), and how many subscriptions and tails it has; 'courier topic
subscriptions' shows the subscriptions themselves.`,
		Example: `  courier topic info orders
  courier topic info orders --json | jq .stats.published`,
		Args: exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withTopic(cmd.Context(), args[0], func(t *courier.Topic) error {
				info, err := t.Info(cmd.Context())
				if err != nil {
					return err
				}
				if e.jsonOutput(asJSON) {
					return e.printJSON(httpapi.TopicInfoJSON(info))
				}
				a, s := info.Attributes, info.Stats
				tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintf(tw, "topic\t%s\nfifo\t%v\ncontent-based dedup\t%v\nmax message size\t%d bytes\n", info.Name, a.FIFO, a.ContentBasedDedup, a.MaxMessageSize)
				fmt.Fprintf(tw, "published\t%d (since the server started)\nsubscriptions\t%d\ntails\t%d\ncreated\t%s\n",
					s.Published, s.Subscriptions, s.Tails, info.CreatedAt.Local().Format(time.RFC3339))
				return tw.Flush()
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON (the default when stdout is not a terminal)")
	return cmd
}

func newTopicDeleteCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a topic with its subscriptions (subscribed queues stay)",
		Long: `Delete a topic, its subscriptions and the messages waiting in its durable and
http subscriptions, and end its tails; queues subscribed to it stay, with their
messages. Prints a confirmation on a terminal and nothing otherwise.`,
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
