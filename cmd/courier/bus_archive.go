package main

import (
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/driver"
	"github.com/courier-io/courier/internal/httpapi"
)

func newBusArchiveCmd(e *env) *cobra.Command {
	var (
		a       courier.Archive
		pattern string
		asJSON  bool
	)
	cmd := &cobra.Command{
		Use:   "archive BUS ARCHIVE [--pattern JSON] [--retention DURATION]",
		Short: "Create an archive that keeps a bus's events for replays",
		Long: `Create the archive ARCHIVE of BUS: from now on it keeps the events the bus
accepts, or those matching --pattern, for --retention (0s, the default: for
ever). Creating an archive that exists with the same settings succeeds; with
others it fails with a conflict. Replay its events with 'courier bus replay'.`,
		Example: `  courier bus archive orders all
  courier bus archive orders big --pattern '{"detail":{"total":[{"numeric":[">",100]}]}}' --retention 720h`,
		Args: exactArgs("BUS", "ARCHIVE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkArgName("archive", driver.ValidateArchiveName, args[1]); err != nil {
				return err
			}
			if pattern != "" {
				p, err := jsonObjectFlag("pattern", pattern)
				if err != nil {
					return err
				}
				a.Pattern = p
			}
			if err := a.Normalize(); err != nil {
				return flagError(err, map[string]string{"pattern": "pattern", "retention": "retention", "description": "description"})
			}
			return e.withBus(cmd.Context(), args[0], func(_ *courier.Broker, bus *courier.Bus) error {
				info, err := bus.Archive(cmd.Context(), args[1], a)
				if err != nil {
					return err
				}
				if e.jsonOutput(asJSON) {
					return e.printJSON(httpapi.ArchiveInfoJSON(info))
				}
				keep := "for " + info.Retention.String()
				if info.Retention == 0 {
					keep = "forever"
				}
				_, err = fmt.Fprintf(e.stdout, "archive %s of %s keeps %s %s\n", info.Name, info.Bus, archiveWhat(info), keep)
				return err
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&pattern, "pattern", "", "keep only the events this event pattern (a JSON object) matches")
	f.DurationVar(&a.Retention, "retention", 0, fmt.Sprintf("how long events are kept (0s: for ever; at most %v)", driver.MaxArchiveRetention))
	f.StringVar(&a.Description, "description", "", "what the archive is for")
	f.BoolVar(&asJSON, "json", false, "print the archive as JSON (the default when stdout is not a terminal)")
	return cmd
}

// archiveWhat says which events an archive keeps, for people.
func archiveWhat(a courier.ArchiveInfo) string {
	if a.Pattern == nil {
		return "every event"
	}
	return "the events matching " + string(a.Pattern)
}

// retentionText is a retention for people.
func retentionText(d time.Duration) string {
	if d == 0 {
		return "forever"
	}
	return d.String()
}

func newBusArchivesCmd(e *env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "archives BUS",
		Short: "List a bus's archives: pattern, retention, events kept",
		Example: `  courier bus archives orders
  courier bus archives orders --json | jq .events`,
		Args: exactArgs("BUS"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withBus(cmd.Context(), args[0], func(_ *courier.Broker, bus *courier.Bus) error {
				archives, err := bus.Archives(cmd.Context())
				if err != nil {
					return err
				}
				if e.jsonOutput(asJSON) {
					for _, a := range archives {
						if err := e.printJSON(httpapi.ArchiveInfoJSON(a)); err != nil {
							return err
						}
					}
					return nil
				}
				if len(archives) == 0 {
					_, err := fmt.Fprintf(e.stdout, "bus %s has no archives\n", bus.Name())
					return err
				}
				tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ARCHIVE\tEVENTS\tBYTES\tRETENTION\tPATTERN")
				for _, a := range archives {
					p := string(a.Pattern)
					if p == "" {
						p = "(every event)"
					}
					fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\n", a.Name, a.Events, a.Bytes, retentionText(a.Retention), p)
				}
				return tw.Flush()
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON line per archive (the default when stdout is not a terminal)")
	return cmd
}

func newBusDeleteArchiveCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:     "delete-archive BUS ARCHIVE",
		Short:   "Delete an archive and the events it keeps",
		Example: `  courier bus delete-archive orders all`,
		Args:    exactArgs("BUS", "ARCHIVE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkArgName("archive", driver.ValidateArchiveName, args[1]); err != nil {
				return err
			}
			return e.withBus(cmd.Context(), args[0], func(_ *courier.Broker, bus *courier.Bus) error {
				if err := bus.DeleteArchive(cmd.Context(), args[1]); err != nil {
					return err
				}
				return e.confirm("deleted archive %s of %s\n", args[1], bus.Name())
			})
		},
	}
}

// parseTimeFlag reads an RFC 3339 time flag.
func parseTimeFlag(flag, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, usageError{fmt.Errorf("--%s is required: an RFC 3339 time such as 2026-01-02T03:04:05Z", flag)}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, usageError{fmt.Errorf("--%s %q: want an RFC 3339 time such as 2026-01-02T03:04:05Z", flag, s)}
	}
	return t, nil
}

// replayFlags names the flag of each replay field.
var replayFlags = map[string]string{"bus": "bus", "archive": "archive", "start": "start", "end": "end", "rules": "rule", "description": "description"}

// printReplay prints a replay for people or as JSON.
func (e *env) printReplay(r courier.ReplayInfo, asJSON bool) error {
	if e.jsonOutput(asJSON) {
		return e.printJSON(httpapi.ReplayInfoJSON(r))
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "replay\t%s\nstate\t%s\nbus\t%s\narchive\t%s\nevents accepted\t%s to %s\n", r.Name, r.State, r.Bus, r.Archive,
		r.Start.Local().Format(time.RFC3339), r.End.Local().Format(time.RFC3339))
	if len(r.Rules) > 0 {
		fmt.Fprintf(tw, "rules\t%s\n", strings.Join(r.Rules, ", "))
	}
	if r.Description != "" {
		fmt.Fprintf(tw, "description\t%s\n", r.Description)
	}
	fmt.Fprintf(tw, "replayed\t%d events\n", r.Replayed)
	if !r.LastEvent.IsZero() {
		fmt.Fprintf(tw, "last event\taccepted %s\n", r.LastEvent.Local().Format(time.RFC3339))
	}
	fmt.Fprintf(tw, "started\t%s\n", r.StartedAt.Local().Format(time.RFC3339))
	if !r.EndedAt.IsZero() {
		fmt.Fprintf(tw, "ended\t%s\n", r.EndedAt.Local().Format(time.RFC3339))
	}
	if r.Error != "" {
		fmt.Fprintf(tw, "error\t%s\n", r.Error)
	}
	return tw.Flush()
}

func newBusReplayCmd(e *env) *cobra.Command {
	var (
		r          courier.Replay
		start, end string
		asJSON     bool
	)
	cmd := &cobra.Command{
		Use:   "replay REPLAY --bus BUS --archive ARCHIVE --start TIME --end TIME [--rule RULE]...",
		Short: "Start replaying an archive's events on its bus",
		Long: `Start the replay REPLAY: the events ARCHIVE kept that were accepted from
--start (inclusive) to --end (exclusive), RFC 3339 times, are put on BUS again,
in order, marked with "replay-name" in their envelope, and routed only to the
rules named by --rule when given. It prints the replay as started; follow it
with 'courier bus replay-info REPLAY'. Replay names are unique.`,
		Example: `  courier bus replay fix-1 --bus orders --archive all --start 2026-01-01T00:00:00Z --end 2026-01-02T00:00:00Z
  courier bus replay fix-2 --bus orders --archive all --start 2026-01-01T00:00:00Z --end 2026-01-02T00:00:00Z --rule big`,
		Args: exactArgs("REPLAY"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkArgName("replay", driver.ValidateReplayName, args[0]); err != nil {
				return err
			}
			for _, f := range []string{"bus", "archive"} {
				if !cmd.Flags().Changed(f) {
					return usageError{fmt.Errorf("--%s is required", f)}
				}
			}
			var err error
			if r.Start, err = parseTimeFlag("start", start); err != nil {
				return err
			}
			if r.End, err = parseTimeFlag("end", end); err != nil {
				return err
			}
			if err := r.Normalize(); err != nil {
				var ve *courier.ValidationError
				if errors.As(err, &ve) && strings.HasPrefix(ve.Field, "rules[") {
					return usageError{fmt.Errorf("--rule: %s", ve.Reason)}
				}
				return flagError(err, replayFlags)
			}
			return e.withBroker(cmd.Context(), func(b *courier.Broker) error {
				info, err := b.StartReplay(cmd.Context(), args[0], r)
				if err != nil {
					return err
				}
				return e.printReplay(info, asJSON)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&r.Bus, "bus", "", "the bus of the archive (required)")
	f.StringVar(&r.Archive, "archive", "", "the archive to replay (required)")
	f.StringVar(&start, "start", "", "replay events accepted from this RFC 3339 time on (required)")
	f.StringVar(&end, "end", "", "replay events accepted before this RFC 3339 time (required)")
	f.StringArrayVar(&r.Rules, "rule", nil, "send the events only to this rule (repeatable; default: every rule)")
	f.StringVar(&r.Description, "description", "", "what the replay is for")
	f.BoolVar(&asJSON, "json", false, "print the replay as JSON (the default when stdout is not a terminal)")
	return cmd
}

func newBusReplaysCmd(e *env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "replays",
		Short: "List the replays: state and progress",
		Example: `  courier bus replays
  courier bus replays --json | jq -r 'select(.state == "running") | .name'`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withBroker(cmd.Context(), func(b *courier.Broker) error {
				replays, err := b.Replays(cmd.Context())
				if err != nil {
					return err
				}
				if e.jsonOutput(asJSON) {
					for _, r := range replays {
						if err := e.printJSON(httpapi.ReplayInfoJSON(r)); err != nil {
							return err
						}
					}
					return nil
				}
				if len(replays) == 0 {
					_, err := fmt.Fprintln(e.stdout, "no replays")
					return err
				}
				tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "REPLAY\tSTATE\tBUS\tARCHIVE\tREPLAYED\tSTARTED")
				for _, r := range replays {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", r.Name, r.State, r.Bus, r.Archive, r.Replayed, r.StartedAt.Local().Format(time.RFC3339))
				}
				return tw.Flush()
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON line per replay (the default when stdout is not a terminal)")
	return cmd
}

func newBusReplayInfoCmd(e *env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "replay-info REPLAY",
		Short: "Show a replay's state and progress",
		Example: `  courier bus replay-info fix-1
  courier bus replay-info fix-1 --json | jq -r .state`,
		Args: exactArgs("REPLAY"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkArgName("replay", driver.ValidateReplayName, args[0]); err != nil {
				return err
			}
			return e.withBroker(cmd.Context(), func(b *courier.Broker) error {
				info, err := b.ReplayInfo(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				return e.printReplay(info, asJSON)
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON (the default when stdout is not a terminal)")
	return cmd
}

func newBusCancelReplayCmd(e *env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "cancel-replay REPLAY",
		Short: "Stop a running replay",
		Long: `Stop a running replay and print it. The events it replayed stay replayed.
A replay that has ended (completed, cancelled or failed) cannot be cancelled:
that fails with a conflict.`,
		Example: `  courier bus cancel-replay fix-1`,
		Args:    exactArgs("REPLAY"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkArgName("replay", driver.ValidateReplayName, args[0]); err != nil {
				return err
			}
			return e.withBroker(cmd.Context(), func(b *courier.Broker) error {
				info, err := b.CancelReplay(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				return e.printReplay(info, asJSON)
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON (the default when stdout is not a terminal)")
	return cmd
}
