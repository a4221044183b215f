package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/driver"
	"github.com/courier-io/courier/internal/httpapi"
)

// tailFlags names the flag of each tail option.
var tailFlags = map[string]string{"filter_policy": "filter", "filter_scope": "filter-scope", "buffer": "buffer"}

func newTopicTailCmd(e *env) *cobra.Command {
	var (
		opts   driver.TailOptions
		scope  string
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "tail NAME",
		Short: "Print messages published to a topic as they come, until interrupted",
		Long: `Open an ephemeral subscription of the topic and print each message published
from now on that matches --filter, until interrupted (Ctrl-C), which ends it
with exit code 0. Nothing is stored for it: a tail sees only what is published
while it runs, and does not affect the other subscriptions.

Without --raw each body is the JSON envelope with the message's topic, ID, time
and headers. On a terminal each message is one line: time, ID, headers and
body; otherwise, or with --json, one line of JSON as the REST API returns it.
A reader slower than the publishers loses the oldest messages beyond --buffer;
how many is printed on stderr at the end.`,
		Example: `  courier topic tail orders
  courier topic tail orders --filter '{"region":["eu"]}' --raw
  courier topic tail orders --filter '{"total":[{"numeric":[">",100]}]}' --filter-scope body --json | jq .body`,
		Args: exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.FilterScope = driver.FilterScope(scope)
			if opts.Buffer < 1 || opts.Buffer > driver.MaxTailBuffer {
				return usageError{fmt.Errorf("--buffer: %d is out of range; accepted is 1 to %d", opts.Buffer, driver.MaxTailBuffer)}
			}
			if err := opts.Normalize(); err != nil {
				return flagError(err, tailFlags)
			}
			ctx := cmd.Context()
			return e.withTopic(ctx, args[0], func(t *courier.Topic) error {
				tail, err := t.Tail(ctx, courier.WithTailOptions(opts))
				if err != nil {
					return err
				}
				defer tail.Close()
				out := bufio.NewWriter(e.stdout)
				asJSON := e.jsonOutput(asJSON)
				enc := jsonEncoder(out)
				for {
					m, err := tail.Next(ctx)
					if err != nil {
						if ctx.Err() != nil {
							err = nil // interrupted: the normal end
						}
						if d := tail.Dropped(); d > 0 {
							fmt.Fprintf(e.stderr, "courier: %d messages were dropped: the reader was slower than the publishers (see --buffer)\n", d)
						}
						return errors.Join(err, out.Flush())
					}
					if asJSON {
						err = enc.Encode(httpapi.DeliveryJSON(m))
					} else {
						printTailMessage(out, m)
					}
					if err == nil {
						err = out.Flush()
					}
					if err != nil {
						return err
					}
				}
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.FilterPolicy, "filter", "", "SNS filter policy (JSON); default: every message")
	f.StringVar(&scope, "filter-scope", string(driver.ScopeAttributes), "what --filter matches: attributes (the headers) or body (a JSON body)")
	f.BoolVar(&opts.Raw, "raw", false, "print bodies as published instead of in the JSON envelope")
	f.IntVar(&opts.Buffer, "buffer", driver.DefaultTailBuffer, fmt.Sprintf("messages kept for a slow reader (1..%d)", driver.MaxTailBuffer))
	f.BoolVar(&asJSON, "json", false, "print JSON lines (the default when stdout is not a terminal)")
	return cmd
}

// printTailMessage shows a tailed message for people, on one line: time,
// ID, headers and body, with control characters escaped.
func printTailMessage(w io.Writer, m courier.TailMessage) {
	fmt.Fprintf(w, "%s  %s", m.SentAt.Local().Format("2006-01-02T15:04:05.000Z07:00"), m.ID)
	for _, k := range slices.Sorted(maps.Keys(m.Headers)) {
		fmt.Fprintf(w, "  %s=%s", printable(k), printable(m.Headers[k]))
	}
	switch {
	case len(m.Body) == 0:
		fmt.Fprintln(w, "  (empty)")
	case !utf8.Valid(m.Body):
		fmt.Fprintf(w, "  (%d bytes, not UTF-8: see it with --json, as body_base64)\n", len(m.Body))
	default:
		fmt.Fprintf(w, "  %s\n", printable(string(m.Body)))
	}
}
