package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/driver"
	"github.com/courier-io/courier/internal/httpapi"
)

func newBusCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bus",
		Short: "Manage event buses: events, rules, targets, archives, replays",
		Long: `Manage EventBridge-like event buses on the server named by --server (env
COURIER_SERVER): put events, route them with rules (an event pattern or a
schedule) to targets (queues, topics, streams, other buses, HTTP endpoints,
handlers), archive them and replay archives.

Every server has the bus "default". An event is a JSON object with source,
detail-type and detail (an object), as in EventBridge; a put returns once
the accepted events are durable, and delivery to targets follows, at least
once, with retries. See docs/http-api.md, Buses.`,
		Example: `  courier bus create orders
  courier bus put-rule orders big --pattern '{"detail":{"total":[{"numeric":[">",100]}]}}' \
      --target '{"id":"audit","kind":"queue","queue":"audit"}'
  courier bus put-events orders --entry '{"source":"shop","detail-type":"Order Placed","detail":{"total":250}}'
  courier bus test-pattern --pattern '{"source":["shop"]}' --event '{"source":"shop","detail":{}}'`,
		Args: groupArgs,
		RunE: groupRun,
	}
	cmd.AddCommand(
		newBusCreateCmd(e), newBusListCmd(e), newBusInfoCmd(e), newBusDeleteCmd(e), newBusPutEventsCmd(e),
		newBusPutRuleCmd(e), newBusRulesCmd(e), newBusRuleCmd(e), newBusDeleteRuleCmd(e), newBusTestPatternCmd(e),
		newBusArchiveCmd(e), newBusArchivesCmd(e), newBusDeleteArchiveCmd(e),
		newBusReplayCmd(e), newBusReplaysCmd(e), newBusReplayInfoCmd(e), newBusCancelReplayCmd(e),
	)
	return cmd
}

// withBus checks the bus name and runs fn with that bus of the server.
func (e *env) withBus(ctx context.Context, name string, fn func(b *courier.Broker, bus *courier.Bus) error) error {
	if err := checkName(driver.ValidateBusName, name); err != nil {
		return err
	}
	b, err := e.broker(ctx)
	if err != nil {
		return err
	}
	defer b.Close()
	return fn(b, b.Bus(name))
}

// withBroker runs fn with a connection to the server.
func (e *env) withBroker(ctx context.Context, fn func(b *courier.Broker) error) error {
	b, err := e.broker(ctx)
	if err != nil {
		return err
	}
	defer b.Close()
	return fn(b)
}

// checkArgName checks the name argument what (a rule, an archive, a
// replay) with validate.
func checkArgName(what string, validate func(field, name string) error, name string) error {
	if err := validate("name", name); err != nil {
		var ve *courier.ValidationError
		if errors.As(err, &ve) {
			err = errors.New(ve.Reason)
		}
		return usageError{fmt.Errorf("%s: %w", what, err)}
	}
	return nil
}

// decodeStrict decodes one JSON value of data into v, refusing unknown
// fields and trailing data.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("unexpected data after the JSON value")
	}
	var rest json.RawMessage
	if err := dec.Decode(&rest); err == nil {
		return errors.New("unexpected data after the JSON value")
	}
	return nil
}

// jsonObjectFlag checks that the value of flag is a JSON object.
func jsonObjectFlag(flag, value string) (json.RawMessage, error) {
	v := bytes.TrimSpace([]byte(value))
	if len(v) == 0 || v[0] != '{' || !json.Valid(v) {
		return nil, usageError{fmt.Errorf("--%s: want a JSON object, as in '{\"source\": [\"shop\"]}'", flag)}
	}
	return json.RawMessage(v), nil
}

func newBusCreateCmd(e *env) *cobra.Command {
	var (
		attrs  courier.BusAttributes
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "create NAME",
		Short: "Create an event bus (idempotent with the same description)",
		Long: `Create an event bus. Creating a bus that exists with the same description
succeeds; with another one it fails with a conflict and changes nothing.
Names are 1 to 80 letters, digits, '-', '_' and '.'.`,
		Example: `  courier bus create orders
  courier bus create payments --description "payment lifecycle events"`,
		Args: exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkName(driver.ValidateBusName, args[0]); err != nil {
				return err
			}
			if err := attrs.Validate(); err != nil {
				return flagError(err, map[string]string{"description": "description"})
			}
			return e.withBroker(cmd.Context(), func(b *courier.Broker) error {
				bus, err := b.CreateBus(cmd.Context(), args[0], attrs)
				if err != nil {
					return err
				}
				info, err := bus.Info(cmd.Context())
				if err != nil {
					return err
				}
				if e.jsonOutput(asJSON) {
					return e.printJSON(httpapi.BusInfoJSON(info))
				}
				_, err = fmt.Fprintf(e.stdout, "bus %s is ready\n", info.Name)
				return err
			})
		},
	}
	cmd.Flags().StringVar(&attrs.Description, "description", "", fmt.Sprintf("what the bus is for (at most %d bytes)", driver.MaxDescriptionLen))
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the bus as JSON (the default when stdout is not a terminal)")
	return cmd
}

func newBusListCmd(e *env) *cobra.Command {
	cmd := newListCmd(e, "bus", (*courier.Broker).ListBuses)
	cmd.Short = "List bus names, one per line"
	return cmd
}

func newBusInfoCmd(e *env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "info NAME",
		Short: "Show a bus's description and counters",
		Long: `Show a bus's description, how many events it accepted since the server started
and how many of those matched a rule, and how many rules and archives it has.`,
		Example: `  courier bus info orders
  courier bus info orders --json | jq .stats.accepted`,
		Args: exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withBus(cmd.Context(), args[0], func(_ *courier.Broker, bus *courier.Bus) error {
				info, err := bus.Info(cmd.Context())
				if err != nil {
					return err
				}
				if e.jsonOutput(asJSON) {
					return e.printJSON(httpapi.BusInfoJSON(info))
				}
				s := info.Stats
				tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintf(tw, "bus\t%s\n", info.Name)
				if info.Attributes.Description != "" {
					fmt.Fprintf(tw, "description\t%s\n", info.Attributes.Description)
				}
				fmt.Fprintf(tw, "accepted\t%d (since the server started)\nmatched\t%d\nunmatched\t%d\nrules\t%d\narchives\t%d\ncreated\t%s\n",
					s.Accepted, s.Matched, s.Unmatched, s.Rules, s.Archives, info.CreatedAt.Local().Format(time.RFC3339))
				return tw.Flush()
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON (the default when stdout is not a terminal)")
	return cmd
}

func newBusDeleteCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a bus with its rules, their pending deliveries and its archives",
		Long: `Delete a bus with its rules, the deliveries its targets have not made yet, and
its archives. The default bus cannot be deleted. Prints a confirmation on a
terminal and nothing otherwise.`,
		Example: `  courier bus delete orders`,
		Args:    exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if args[0] == driver.DefaultBus {
				return usageError{errors.New("the default bus cannot be deleted")}
			}
			return e.withBus(cmd.Context(), args[0], func(_ *courier.Broker, bus *courier.Bus) error {
				if err := bus.Delete(cmd.Context()); err != nil {
					return err
				}
				return e.confirm("deleted bus %s\n", bus.Name())
			})
		},
	}
}

// ruleFlags names the flag of each rule field.
var ruleFlags = map[string]string{"pattern": "pattern", "schedule": "schedule", "description": "description", "state": "disabled"}

// ruleFlagError names the flag of a rule's validation error: a target's
// field is named by the --target flag it came from.
func ruleFlagError(err error, fromFile string) error {
	var ve *courier.ValidationError
	if !errors.As(err, &ve) {
		return usageError{err}
	}
	if fromFile != "" {
		return usageError{fmt.Errorf("%s: %s", fromFile, ve.Error())}
	}
	if rest, ok := strings.CutPrefix(ve.Field, "targets["); ok {
		if i, tail, ok := strings.Cut(rest, "]"); ok {
			if n, err := strconv.Atoi(i); err == nil {
				field := strings.TrimPrefix(tail, ".")
				if field == "" {
					return usageError{fmt.Errorf("--target #%d: %s", n+1, ve.Reason)}
				}
				return usageError{fmt.Errorf("--target #%d: %s: %s", n+1, field, ve.Reason)}
			}
		}
	}
	if ve.Field == "targets" {
		return usageError{fmt.Errorf("--target: %s", ve.Reason)}
	}
	return flagError(err, ruleFlags)
}

func newBusPutRuleCmd(e *env) *cobra.Command {
	var (
		pattern, schedule, description, file string
		targets                              []string
		disabled, asJSON                     bool
	)
	cmd := &cobra.Command{
		Use:   "put-rule BUS RULE (--pattern JSON | --schedule EXPR) [--target JSON]... | --file RULE.json",
		Short: "Create or replace a rule with its targets",
		Long: `Create the rule RULE of BUS, or replace it: the rule becomes what the command
line says (targets left out are removed, with their pending deliveries;
targets that keep their id and kind keep theirs).

A rule has an EventBridge event --pattern (a JSON object) or a --schedule,
"rate(5 minutes)" or "cron(0 12 * * ? *)" (UTC), which emits a "Scheduled
Event" to its targets on time. Each --target is a target as a JSON object:

  {"id": "audit", "kind": "queue", "queue": "audit"}
  {"id": "t", "kind": "topic" | "stream" | "bus" | "handler", "topic": ...}
  {"id": "hook", "kind": "http", "http": {"endpoint": "https://...", "auth_header": "Authorization",
   "auth_value": "Bearer ...", "headers": {...}, "max_per_second": 10, "timeout": "5s"}}

with optional "input", "input_path" or "input_transformer" ({"input_paths":
{...}, "template": "..."}), "partition_key_path" (stream), "cloudevents",
"retry" ({"max_attempts", "max_age", "min_delay", "max_delay"}), "dlq" and
"max_backlog". --file reads the whole rule, as the REST API takes it, from
a file ("-": standard input) instead of the other flags.`,
		Example: `  courier bus put-rule orders big --pattern '{"detail":{"total":[{"numeric":[">",100]}]}}' \
      --target '{"id":"audit","kind":"queue","queue":"audit"}'
  courier bus put-rule orders nightly --schedule 'cron(0 2 * * ? *)' --target '{"id":"h","kind":"handler"}'
  courier bus put-rule orders paused --pattern '{"source":["shop"]}' --disabled
  courier bus put-rule orders big --file big-rule.json`,
		Args: exactArgs("BUS", "RULE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkArgName("rule", driver.ValidateRuleName, args[1]); err != nil {
				return err
			}
			var rule courier.Rule
			f := cmd.Flags()
			if file != "" {
				for _, name := range []string{"pattern", "schedule", "description", "target", "disabled"} {
					if f.Changed(name) {
						return usageError{fmt.Errorf("--file holds the whole rule; leave out --%s", name)}
					}
				}
				data, err := e.readFile(file)
				if err != nil {
					return err
				}
				var j httpapi.Rule
				if err := decodeStrict(data, &j); err != nil {
					return usageError{fmt.Errorf("%s: not a rule: %v", file, err)}
				}
				if rule, err = j.Driver(); err != nil {
					return ruleFlagError(err, file)
				}
			} else {
				if pattern != "" {
					p, err := jsonObjectFlag("pattern", pattern)
					if err != nil {
						return err
					}
					rule.Pattern = p
				}
				rule.Schedule, rule.Description = schedule, description
				if disabled {
					rule.State = courier.RuleDisabled
				}
				for i, t := range targets {
					var j httpapi.Target
					if err := decodeStrict([]byte(t), &j); err != nil {
						return usageError{fmt.Errorf("--target #%d: not a target: %v", i+1, err)}
					}
					rule.Targets = append(rule.Targets, j.Driver())
				}
			}
			if err := rule.Normalize(); err != nil {
				return ruleFlagError(err, file)
			}
			return e.withBus(cmd.Context(), args[0], func(_ *courier.Broker, bus *courier.Bus) error {
				info, err := bus.PutRule(cmd.Context(), args[1], rule)
				if err != nil {
					return err
				}
				if e.jsonOutput(asJSON) {
					return e.printJSON(httpapi.RuleInfoJSON(info))
				}
				targets := fmt.Sprintf("%d targets", len(info.Targets))
				if len(info.Targets) == 1 {
					targets = "1 target"
				}
				_, err = fmt.Fprintf(e.stdout, "rule %s of %s is %s with %s\n", info.Name, info.Bus, info.State, targets)
				return err
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&pattern, "pattern", "", "EventBridge event pattern, a JSON object")
	f.StringVar(&schedule, "schedule", "", `schedule instead of a pattern: "rate(5 minutes)" or "cron(0 12 * * ? *)"`)
	f.StringVar(&description, "description", "", "what the rule is for")
	f.StringArrayVar(&targets, "target", nil, fmt.Sprintf("a target as a JSON object (repeatable, at most %d)", driver.MaxTargetsPerRule))
	f.BoolVar(&disabled, "disabled", false, "create the rule disabled: it routes nothing until put again without --disabled")
	f.StringVar(&file, "file", "", `read the rule as JSON from this file ("-": standard input) instead of the flags`)
	f.BoolVar(&asJSON, "json", false, "print the rule as JSON (the default when stdout is not a terminal)")
	return cmd
}

// readFile reads a file named by a flag, or standard input for "-".
func (e *env) readFile(name string) ([]byte, error) {
	if name == "-" {
		data, err := readAll(e.stdin, MaxFileBytes)
		if err != nil {
			return nil, fmt.Errorf("reading standard input: %w", err)
		}
		return data, nil
	}
	data, err := readFileLimited(name, MaxFileBytes)
	if err != nil {
		return nil, usageError{err}
	}
	return data, nil
}

// ruleTarget describes where a target delivers, for people.
func ruleTarget(t courier.Target) string {
	switch t.Kind {
	case courier.TargetQueue:
		return "queue " + t.Queue
	case courier.TargetTopic:
		return "topic " + t.Topic
	case courier.TargetStream:
		return "stream " + t.Stream
	case courier.TargetBus:
		return "bus " + t.Bus
	case courier.TargetHTTP:
		if t.HTTP != nil {
			return "http " + t.HTTP.Endpoint
		}
	}
	return string(t.Kind)
}

// ruleMatch is a rule's pattern or schedule, for people.
func ruleMatch(r courier.RuleInfo) string {
	if r.Schedule != "" {
		return r.Schedule
	}
	return string(r.Pattern)
}

func newBusRulesCmd(e *env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "rules BUS",
		Short: "List a bus's rules: state, pattern or schedule, targets, events matched",
		Example: `  courier bus rules orders
  courier bus rules orders --json | jq -r .name`,
		Args: exactArgs("BUS"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withBus(cmd.Context(), args[0], func(_ *courier.Broker, bus *courier.Bus) error {
				rules, err := bus.Rules(cmd.Context())
				if err != nil {
					return err
				}
				if e.jsonOutput(asJSON) {
					for _, r := range rules {
						if err := e.printJSON(httpapi.RuleInfoJSON(r)); err != nil {
							return err
						}
					}
					return nil
				}
				if len(rules) == 0 {
					_, err := fmt.Fprintf(e.stdout, "bus %s has no rules\n", bus.Name())
					return err
				}
				tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "RULE\tSTATE\tMATCHED\tTARGETS\tPATTERN OR SCHEDULE")
				for _, r := range rules {
					fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\n", r.Name, r.State, r.Stats.Matched, len(r.Targets), ruleMatch(r))
				}
				return tw.Flush()
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON line per rule (the default when stdout is not a terminal)")
	return cmd
}

func newBusRuleCmd(e *env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "rule BUS RULE",
		Short: "Show a rule with its targets and their counters",
		Long: `Show a rule: its state, pattern or schedule (and when it fires next), and per
target where it delivers, how many deliveries succeeded, were retried,
failed, went to the dead-letter queue or overflowed, and its backlog. Auth
values of http targets show as "****".`,
		Example: `  courier bus rule orders big
  courier bus rule orders big --json | jq '.stats.targets[].backlog'`,
		Args: exactArgs("BUS", "RULE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkArgName("rule", driver.ValidateRuleName, args[1]); err != nil {
				return err
			}
			return e.withBus(cmd.Context(), args[0], func(_ *courier.Broker, bus *courier.Bus) error {
				r, err := bus.Rule(cmd.Context(), args[1])
				if err != nil {
					return err
				}
				if e.jsonOutput(asJSON) {
					return e.printJSON(httpapi.RuleInfoJSON(r))
				}
				tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintf(tw, "rule\t%s\nbus\t%s\nstate\t%s\n", r.Name, r.Bus, r.State)
				if r.Description != "" {
					fmt.Fprintf(tw, "description\t%s\n", r.Description)
				}
				if r.Schedule != "" {
					fmt.Fprintf(tw, "schedule\t%s\n", r.Schedule)
					if !r.NextFire.IsZero() {
						fmt.Fprintf(tw, "next fire\t%s\n", r.NextFire.Local().Format(time.RFC3339))
					}
				} else {
					fmt.Fprintf(tw, "pattern\t%s\n", r.Pattern)
				}
				fmt.Fprintf(tw, "matched\t%d\ncreated\t%s\nupdated\t%s\n\n", r.Stats.Matched,
					r.CreatedAt.Local().Format(time.RFC3339), r.UpdatedAt.Local().Format(time.RFC3339))
				if len(r.Targets) == 0 {
					fmt.Fprintln(tw, "no targets")
					return tw.Flush()
				}
				fmt.Fprintln(tw, "TARGET\tDELIVERS TO\tDELIVERED\tRETRIED\tFAILED\tDEAD-LETTERED\tOVERFLOWED\tBACKLOG")
				for i, t := range r.Targets {
					s := driver.TargetStats{}
					if i < len(r.Stats.Targets) {
						s = r.Stats.Targets[i]
					}
					fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\n", t.ID, ruleTarget(t), s.Delivered, s.Retried, s.Failed,
						s.DeadLettered, s.Overflowed, s.Backlog.Visible+s.Backlog.InFlight+s.Backlog.Delayed)
				}
				return tw.Flush()
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON (the default when stdout is not a terminal)")
	return cmd
}

func newBusDeleteRuleCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:     "delete-rule BUS RULE",
		Short:   "Delete a rule and the deliveries its targets have not made yet",
		Example: `  courier bus delete-rule orders big`,
		Args:    exactArgs("BUS", "RULE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkArgName("rule", driver.ValidateRuleName, args[1]); err != nil {
				return err
			}
			return e.withBus(cmd.Context(), args[0], func(_ *courier.Broker, bus *courier.Bus) error {
				if err := bus.DeleteRule(cmd.Context(), args[1]); err != nil {
					return err
				}
				return e.confirm("deleted rule %s of %s\n", args[1], bus.Name())
			})
		},
	}
}
