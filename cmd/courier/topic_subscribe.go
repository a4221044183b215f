package main

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/driver"
	"github.com/courier-io/courier/internal/httpapi"
)

// subscribeFlags names the flag of each subscription field.
var subscribeFlags = map[string]string{
	"kind": "kind", "queue": "queue", "endpoint": "endpoint", "filter_policy": "filter", "filter_scope": "filter-scope",
	"push.min_delay": "min-delay", "push.max_delay": "max-delay", "push.max_attempts": "max-attempts",
	"push.max_per_second": "max-per-second", "push.timeout": "timeout", "push.concurrency": "concurrency",
	"push.dead_letter_queue":        "dead-letter-queue",
	"attributes.visibility_timeout": "visibility-timeout", "attributes.retention_period": "retention",
	"attributes.max_receives": "max-receives", "attributes.dead_letter_queue": "dead-letter-queue",
}

// kindFlags are the flags that apply to some kinds of subscription only.
var kindFlags = map[string][]driver.SubscriptionKind{
	"queue":              {driver.KindQueue},
	"endpoint":           {driver.KindHTTP},
	"min-delay":          {driver.KindHTTP},
	"max-delay":          {driver.KindHTTP},
	"max-attempts":       {driver.KindHTTP},
	"max-per-second":     {driver.KindHTTP},
	"timeout":            {driver.KindHTTP},
	"concurrency":        {driver.KindHTTP},
	"visibility-timeout": {driver.KindDurable},
	"retention":          {driver.KindDurable},
	"max-receives":       {driver.KindDurable},
	"dead-letter-queue":  {driver.KindDurable, driver.KindHTTP},
}

// checkKindFlags refuses a flag given for a kind of subscription it does
// not apply to.
func checkKindFlags(cmd *cobra.Command, kind driver.SubscriptionKind) error {
	for _, name := range slices.Sorted(maps.Keys(kindFlags)) {
		kinds := kindFlags[name]
		if cmd.Flags().Changed(name) && !slices.Contains(kinds, kind) {
			names := make([]string, len(kinds))
			for i, k := range kinds {
				names[i] = string(k)
			}
			return usageError{fmt.Errorf("--%s applies to --kind %s, not to --kind %s", name, strings.Join(names, " and "), kind)}
		}
	}
	return nil
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
settings (the kind and target cannot change: unsubscribe first). An update
sets the subscription to what the command line says: a filter or setting left
out is removed or takes its default. Kinds:

  queue    deliver into the existing --queue; all queue semantics apply
  durable  deliver into a queue of the subscription's own, read with
           'courier topic receive' and 'courier topic ack'; its settings are
           --visibility-timeout, --retention, --max-receives and --dead-letter-queue
  http     POST to --endpoint, retrying with jittered backoff from --min-delay to
           --max-delay up to --max-attempts times, then moving the message to
           --dead-letter-queue; nothing is delivered until the endpoint's owner
           confirms with the token sent to it ('courier topic confirm')

--filter is an SNS filter policy matched against the headers (--filter-scope
attributes) or the JSON body (--filter-scope body); without one the
subscription receives every message. Without --raw each message is delivered
in a JSON envelope with its topic, ID, time and headers.`,
		Example: `  courier topic subscribe orders audit --kind queue --queue audit --raw
  courier topic subscribe orders big --kind durable --filter '{"total":[{"numeric":[">=",100]}]}'
  courier topic subscribe orders paid --kind durable --filter '{"status":["paid"]}' --filter-scope body
  courier topic subscribe orders eu --kind durable --visibility-timeout 5m --max-receives 3 --dead-letter-queue eu-dlq
  courier topic subscribe orders hook --kind http --endpoint https://example.com/hook --max-attempts 5 --max-per-second 50`,
		Args: exactArgs("TOPIC", "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkName(driver.ValidateSubscriptionName, args[1]); err != nil {
				return err
			}
			f := cmd.Flags()
			spec.Kind, spec.FilterScope = driver.SubscriptionKind(kind), driver.FilterScope(scope)
			if slices.Contains([]driver.SubscriptionKind{driver.KindQueue, driver.KindDurable, driver.KindHTTP}, spec.Kind) {
				if err := checkKindFlags(cmd, spec.Kind); err != nil {
					return err
				}
			}
			switch {
			case spec.Kind == driver.KindDurable && f.Changed("max-receives") != f.Changed("dead-letter-queue"):
				return usageError{errors.New("--max-receives and --dead-letter-queue go together: name the dead-letter queue and the receives before a message moves there")}
			case spec.Kind == driver.KindHTTP:
				spec.Push.DeadLetterQueue = dlq
			case f.Changed("visibility-timeout") || f.Changed("retention") || f.Changed("max-receives") || f.Changed("dead-letter-queue"):
				a := driver.DefaultQueueAttributes()
				a.VisibilityTimeout, a.RetentionPeriod, a.MaxReceives, a.DeadLetterQueue = visibility, retention, maxReceives, dlq
				spec.Attributes = &a
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
				if info.Status == driver.StatusPendingConfirmation {
					_, err = fmt.Fprintf(e.stdout, "subscription %s of %s is pending confirmation: %s was sent a token; confirm with 'courier topic confirm %s %s TOKEN'\n",
						info.Name, info.Topic, info.Endpoint, info.Topic, info.Name)
					return err
				}
				_, err = fmt.Fprintf(e.stdout, "subscription %s of %s is %s\n", info.Name, info.Topic, info.Status)
				return err
			})
		},
	}
	d := driver.DefaultQueueAttributes()
	f := cmd.Flags()
	f.StringVar(&kind, "kind", "", "queue, durable or http (required)")
	f.StringVar(&spec.Queue, "queue", "", "queue to deliver into (--kind queue)")
	f.StringVar(&spec.Endpoint, "endpoint", "", "http or https URL to POST to (--kind http)")
	f.StringVar(&spec.FilterPolicy, "filter", "", "SNS filter policy (JSON); default: every message")
	f.StringVar(&scope, "filter-scope", string(driver.ScopeAttributes), "what --filter matches: attributes (the headers) or body (a JSON body)")
	f.BoolVar(&spec.Raw, "raw", false, "deliver bodies as published instead of in a JSON envelope")
	f.DurationVar(&visibility, "visibility-timeout", d.VisibilityTimeout, fmt.Sprintf("durable: how long a received message stays invisible (0..%v)", driver.MaxVisibilityTimeout))
	f.DurationVar(&retention, "retention", d.RetentionPeriod, fmt.Sprintf("durable: how long messages are kept (%v..%v)", driver.MinRetentionPeriod, driver.MaxRetentionPeriod))
	f.IntVar(&maxReceives, "max-receives", 0, fmt.Sprintf("durable: receives before a message moves to --dead-letter-queue (1..%d)", driver.MaxMaxReceives))
	f.StringVar(&dlq, "dead-letter-queue", "", "existing queue for messages that failed: durable, after --max-receives; http, after --max-attempts")
	p := driver.DefaultPushPolicy()
	f.DurationVar(&spec.Push.MinDelay, "min-delay", 0, fmt.Sprintf("http: backoff before the first retry, doubling up to --max-delay (default %v)", p.MinDelay))
	f.DurationVar(&spec.Push.MaxDelay, "max-delay", 0, fmt.Sprintf("http: largest backoff between retries (default %v)", p.MaxDelay))
	f.IntVar(&spec.Push.MaxAttempts, "max-attempts", 0, fmt.Sprintf("http: POSTs of a message before it is dead-lettered (1..100, default %d)", p.MaxAttempts))
	f.IntVar(&spec.Push.MaxPerSecond, "max-per-second", 0, "http: most POSTs per second (default: unlimited)")
	f.DurationVar(&spec.Push.Timeout, "timeout", 0, fmt.Sprintf("http: limit of one POST (default %v)", p.Timeout))
	f.IntVar(&spec.Push.Concurrency, "concurrency", 0, fmt.Sprintf("http: POSTs in flight (1..64, default %d)", p.Concurrency))
	f.BoolVar(&asJSON, "json", false, "print the subscription as JSON (the default when stdout is not a terminal)")
	return cmd
}

func newTopicSubscriptionsCmd(e *env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "subscriptions TOPIC",
		Short: "List a topic's subscriptions with their status, filter and counters",
		Long: `List a topic's subscriptions by name: kind, target (queue or endpoint), status,
the messages delivered and filtered out since the server started, the backlog
(messages waiting in the subscription's queue: visible, in flight and delayed)
and the filter policy. With --json, or when stdout is not a terminal, each
subscription is one line of JSON as the REST API returns it.`,
		Example: `  courier topic subscriptions orders
  courier topic subscriptions orders --json | jq -r 'select(.status != "active") | .name'`,
		Args: exactArgs("TOPIC"),
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
				if len(subs) == 0 {
					_, err := fmt.Fprintf(e.stdout, "topic %s has no subscriptions\n", t.Name())
					return err
				}
				tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tKIND\tTARGET\tSTATUS\tDELIVERED\tFILTERED OUT\tBACKLOG\tFILTER")
				for _, s := range subs {
					target := s.Queue + s.Endpoint
					if target == "" {
						target = "-"
					}
					filter := "-"
					if s.FilterPolicy != "" {
						filter = string(s.FilterScope) + " " + s.FilterPolicy
					}
					b := s.Stats.Backlog
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%d\t%s\n", s.Name, s.Kind, printable(target), s.Status,
						s.Stats.Delivered, s.Stats.FilteredOut, b.Visible+b.InFlight+b.Delayed, printable(filter))
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
		Use:   "unsubscribe TOPIC NAME",
		Short: "Delete a subscription (and the messages waiting in a durable or http one)",
		Long: `Delete a subscription. The messages waiting in a durable or http subscription
are deleted with it; a subscribed queue stays, with its messages. Prints a
confirmation on a terminal and nothing otherwise.`,
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
		Use:   "confirm TOPIC NAME TOKEN",
		Short: "Confirm an http subscription with the token its endpoint received",
		Long: `Activate a pending http subscription with the token that its endpoint received
in the SubscriptionConfirmation request ("token" in the JSON body). A wrong
token is refused and changes nothing. Prints a confirmation on a terminal and
nothing otherwise.`,
		Example: `  courier topic confirm orders hook 3f9a0c...`,
		Args:    exactArgs("TOPIC", "NAME", "TOKEN"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := driver.ValidateConfirmToken(args[2]); err != nil {
				return usageError{err}
			}
			return e.withSubscription(cmd.Context(), args[0], args[1], func(s *courier.Subscription) error {
				if err := s.Topic().ConfirmSubscription(cmd.Context(), s.Name(), args[2]); err != nil {
					return err
				}
				return e.confirm("subscription %s of %s is active\n", s.Name(), s.Topic().Name())
			})
		},
	}
}
