package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/driver"
	"github.com/courier-io/courier/internal/httpapi"
)

func newStreamCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "stream",
		Short: "Manage streams: append, read, tail, consumer groups",
		Long: `Manage partitioned streams on the server named by --server (env
COURIER_SERVER): create them, append records, read or tail partitions from
any retained position, and inspect and reset consumer groups.

Records with the same key go to the same partition and keep their order;
offsets count from 0 in each partition. See docs/streams.md.`,
		Example: `  courier stream create clicks --partitions 8 --retention 168h
  echo '{"page":"/home"}' | courier stream append clicks --key user-7
  courier stream read clicks --partition 0 --from earliest
  courier stream tail clicks
  courier stream describe clicks`,
		Args: groupArgs,
		RunE: groupRun,
	}
	cmd.AddCommand(
		newStreamCreateCmd(e), newStreamListCmd(e), newStreamDescribeCmd(e), newStreamDeleteCmd(e),
		newStreamAppendCmd(e), newStreamReadCmd(e), newStreamTailCmd(e), newStreamGroupsCmd(e),
		newStreamResetCmd(e),
	)
	return cmd
}

// checkStreamName checks a stream name given as an argument.
func checkStreamName(name string) error {
	if err := driver.ValidateStreamName("name", name); err != nil {
		var ve *courier.ValidationError
		if errors.As(err, &ve) {
			err = errors.New(ve.Reason)
		}
		return usageError{err}
	}
	return nil
}

// withStream checks the stream name and runs fn with that stream of the
// server.
func (e *env) withStream(ctx context.Context, name string, fn func(s *courier.Stream) error) error {
	if err := checkStreamName(name); err != nil {
		return err
	}
	b, err := e.broker(ctx)
	if err != nil {
		return err
	}
	defer b.Close()
	return fn(b.Stream(name))
}

// streamFlags names the flag of each stream attribute.
var streamFlags = map[string]string{
	"partitions":       "partitions",
	"retention":        "retention",
	"retention_bytes":  "retention-bytes",
	"delete_retention": "delete-retention",
	"max_record_size":  "max-record-size",
}

func newStreamCreateCmd(e *env) *cobra.Command {
	var (
		attrs  = driver.DefaultStreamAttributes()
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a stream (idempotent with the same attributes)",
		Long: `Create a stream. Creating a stream that exists with the same attributes
succeeds; with other attributes it fails with a conflict and changes nothing.
Partitions can be added later by the API, never removed.`,
		Example: `  courier stream create clicks --partitions 8
  courier stream create audit --retention 0s --retention-bytes 1073741824
  courier stream create profiles --compact --retention 0s`,
		Args: exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkStreamName(args[0]); err != nil {
				return err
			}
			if err := attrs.Validate(); err != nil {
				return flagError(err, streamFlags)
			}
			created, err := createStream(cmd.Context(), e, args[0], attrs)
			if err != nil {
				return err
			}
			if e.jsonOutput(asJSON) {
				return e.printJSON(httpapi.StreamInfoJSON(created))
			}
			_, err = fmt.Fprintf(e.stdout, "stream %s is ready with %d partitions\n", created.Name, len(created.Partitions))
			return err
		},
	}
	f := cmd.Flags()
	f.IntVar(&attrs.Partitions, "partitions", attrs.Partitions, fmt.Sprintf("number of partitions (1..%d)", driver.MaxPartitions))
	f.DurationVar(&attrs.Retention, "retention", attrs.Retention, "delete records older than this (0s: no age limit)")
	f.Int64Var(&attrs.RetentionBytes, "retention-bytes", 0, "delete a partition's oldest records beyond this many bytes (0: unlimited)")
	f.BoolVar(&attrs.Compact, "compact", false, "keep only the latest record per key (every record then needs --key)")
	f.DurationVar(&attrs.DeleteRetention, "delete-retention", attrs.DeleteRetention, "how long a compacted stream keeps a delete marker (an empty value)")
	f.IntVar(&attrs.MaxRecordSize, "max-record-size", attrs.MaxRecordSize, fmt.Sprintf("largest record in bytes, key plus value plus headers (%d..%d)", driver.MinMessageSizeLimit, driver.MaxMessageSizeLimit))
	f.BoolVar(&asJSON, "json", false, "print the stream as JSON (the default when stdout is not a terminal)")
	return cmd
}

// createStream creates a stream and returns its info.
func createStream(ctx context.Context, e *env, name string, attrs courier.StreamAttributes) (courier.StreamInfo, error) {
	b, err := e.broker(ctx)
	if err != nil {
		return courier.StreamInfo{}, err
	}
	defer b.Close()
	s, err := b.CreateStream(ctx, name, courier.WithStreamAttributes(attrs))
	if err != nil {
		return courier.StreamInfo{}, err
	}
	return s.Info(ctx)
}

func newStreamListCmd(e *env) *cobra.Command {
	return newListCmd(e, "stream", (*courier.Broker).ListStreams)
}

func newStreamDescribeCmd(e *env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "describe NAME",
		Short: "Show a stream's partitions (offsets, size) and groups (committed offsets, lag)",
		Example: `  courier stream describe clicks
  courier stream describe clicks --json | jq '.groups[].lag'`,
		Args: exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withStream(cmd.Context(), args[0], func(s *courier.Stream) error {
				info, err := s.Info(cmd.Context())
				if err != nil {
					return err
				}
				if e.jsonOutput(asJSON) {
					return e.printJSON(httpapi.StreamInfoJSON(info))
				}
				a := info.Attributes
				tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintf(tw, "stream\t%s\npartitions\t%d\nretention\t%v\n", info.Name, a.Partitions, a.Retention)
				if a.RetentionBytes > 0 {
					fmt.Fprintf(tw, "retention bytes\t%d per partition\n", a.RetentionBytes)
				}
				if a.Compact {
					fmt.Fprintf(tw, "compacted\tyes, delete markers kept %v\n", a.DeleteRetention)
				}
				fmt.Fprintf(tw, "created\t%s\n\n", info.CreatedAt.Local().Format(time.RFC3339))
				fmt.Fprintln(tw, "PARTITION\tFIRST\tEND\tRECORDS\tBYTES")
				for _, p := range info.Partitions {
					fmt.Fprintf(tw, "%d\t%d\t%d\t%d\t%d\n", p.Partition, p.First, p.End, p.Records, p.Bytes)
				}
				printGroups(tw, info.Groups)
				return tw.Flush()
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON (the default when stdout is not a terminal)")
	return cmd
}

// printGroups writes a table of groups: per partition the committed
// offset and lag, and the owning member.
func printGroups(w io.Writer, groups []courier.GroupInfo) {
	for _, g := range groups {
		fmt.Fprintf(w, "\ngroup %s (generation %d, %d members, new partitions start at %s)\n", g.Name, g.Generation, len(g.Members), g.StartFrom)
		owner := map[int]string{}
		for _, m := range g.Members {
			for _, p := range m.Partitions {
				owner[p] = m.Name
			}
		}
		fmt.Fprintln(w, "PARTITION\tCOMMITTED\tLAG\tMEMBER")
		for p := 0; p < len(g.Lag); p++ {
			committed := "-"
			if c, ok := g.Committed[p]; ok {
				committed = strconv.FormatInt(c, 10)
			}
			m := owner[p]
			if m == "" {
				m = "-"
			}
			fmt.Fprintf(w, "%d\t%s\t%d\t%s\n", p, committed, g.Lag[p], m)
		}
	}
}

func newStreamDeleteCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:     "delete NAME",
		Short:   "Delete a stream, its records and its groups",
		Example: `  courier stream delete clicks`,
		Args:    exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withStream(cmd.Context(), args[0], func(s *courier.Stream) error {
				if err := s.Delete(cmd.Context()); err != nil {
					return err
				}
				return e.confirm("deleted stream %s\n", s.Name())
			})
		},
	}
}

func newStreamAppendCmd(e *env) *cobra.Command {
	var (
		key       string
		partition int
		headers   []string
		lines     bool
	)
	cmd := &cobra.Command{
		Use:   "append NAME [VALUE]",
		Short: "Append a record (or one per line of standard input with --lines)",
		Long: `Append a record whose value is VALUE or, without it, standard input. Prints
PARTITION/OFFSET of each record once it is durable. With --lines every line
of standard input is a record, appended in batches of 1000.

Without --partition the key chooses the partition; without a key either,
records are spread round robin.`,
		Example: `  courier stream append clicks '{"page":"/home"}' --key user-7
  seq 1 1000 | courier stream append numbers --lines
  courier stream append audit "login" --partition 0 --header source=cli`,
		Args: rangeArgs([]string{"NAME"}, "VALUE", 0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			h, err := parseHeaders(headers)
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("partition") && (partition < 0 || partition >= driver.MaxPartitions) {
				return usageError{fmt.Errorf("--partition: %d is out of range; accepted is 0 to %d", partition, driver.MaxPartitions-1)}
			}
			if !cmd.Flags().Changed("partition") {
				partition = courier.AnyPartition
			}
			proto := courier.Record{Headers: h, Partition: partition}
			if key != "" {
				proto.Key = []byte(key)
			}
			if lines && len(args) == 2 {
				return usageError{errors.New("--lines reads standard input; give no VALUE with it")}
			}
			var recs []courier.Record
			if !lines {
				value := []byte(nil)
				if len(args) == 2 {
					value = []byte(args[1])
				} else if value, err = e.readBody(); err != nil {
					return err
				}
				r := proto
				r.Value = value
				recs = []courier.Record{r}
				if err := driver.ValidateRecords(recs); err != nil {
					return usageError{err}
				}
			}
			return e.withStream(cmd.Context(), args[0], func(s *courier.Stream) error {
				out := bufio.NewWriter(e.stdout)
				defer out.Flush()
				if !lines {
					return appendAndPrint(cmd.Context(), s, recs, out, 1)
				}
				sc := bufio.NewScanner(e.stdin)
				sc.Buffer(make([]byte, 64<<10), driver.MaxMessageSizeLimit)
				line := 0
				for {
					batch := make([]courier.Record, 0, 1000)
					for len(batch) < 1000 && sc.Scan() {
						r := proto
						r.Value = append([]byte(nil), sc.Bytes()...)
						batch = append(batch, r)
					}
					if len(batch) == 0 {
						break
					}
					if err := appendAndPrint(cmd.Context(), s, batch, out, line+1); err != nil {
						return err
					}
					line += len(batch)
				}
				if err := sc.Err(); err != nil {
					return fmt.Errorf("reading standard input after line %d: %w", line, err)
				}
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&key, "key", "", "record key: picks the partition and, on compacted streams, what the record replaces")
	f.IntVar(&partition, "partition", 0, "partition to append to (default: chosen by the key)")
	f.StringArrayVar(&headers, "header", nil, "header KEY=VALUE (repeatable)")
	f.BoolVar(&lines, "lines", false, "append each line of standard input as a record")
	return cmd
}

// appendAndPrint appends recs and prints PARTITION/OFFSET per record; a
// rejected record (first is the number of recs[0]) fails the command after
// the others are printed.
func appendAndPrint(ctx context.Context, s *courier.Stream, recs []courier.Record, out io.Writer, first int) error {
	res, err := s.AppendBatch(ctx, recs)
	if err != nil {
		return err
	}
	var failed []error
	for i, r := range res {
		if r.Err != nil {
			failed = append(failed, fmt.Errorf("record %d: %w", first+i, r.Err))
			continue
		}
		if _, err := fmt.Fprintf(out, "%d/%d\n", r.Partition, r.Offset); err != nil {
			return err
		}
	}
	return errors.Join(failed...)
}

// parsePosition reads --from: earliest, latest, an offset or an RFC 3339 time.
func parsePosition(flag, s string) (courier.Position, error) {
	switch s {
	case "earliest":
		return courier.Earliest(), nil
	case "latest":
		return courier.Latest(), nil
	}
	if off, err := strconv.ParseInt(s, 10, 64); err == nil && off >= 0 {
		return courier.AtOffset(off), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return courier.AtTime(t), nil
	}
	return courier.Position{}, usageError{fmt.Errorf("--%s %q: use earliest, latest, an offset or an RFC 3339 time", flag, s)}
}

// printRecord writes one record for people or as a JSON line.
func printRecord(w io.Writer, r courier.StreamRecord, asJSON bool) error {
	if asJSON {
		return jsonEncoder(w).Encode(httpapi.StreamRecordJSON(r))
	}
	key := ""
	if len(r.Key) > 0 {
		key = " key=" + printable(string(r.Key))
	}
	_, err := fmt.Fprintf(w, "%d/%d %s%s %s\n", r.Partition, r.Offset, r.Timestamp.Local().Format(time.RFC3339Nano), key, printable(string(r.Value)))
	return err
}

func newStreamReadCmd(e *env) *cobra.Command {
	var (
		partition, max int
		from           string
		wait           time.Duration
		asJSON         bool
	)
	cmd := &cobra.Command{
		Use:   "read NAME",
		Short: "Read records of one partition from a position",
		Long: `Read up to --max records of one partition from --from (earliest, latest, an
offset, or an RFC 3339 time), waiting up to --wait when there are none. On a
terminal each record is one line "PARTITION/OFFSET TIME key=KEY VALUE";
otherwise, or with --json, one JSON line as the REST API returns it.`,
		Example: `  courier stream read clicks --partition 3 --from 1200 --max 10
  courier stream read clicks --from 2026-11-25T10:00:00Z --json | jq -r .value`,
		Args: exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			pos, err := parsePosition("from", from)
			if err != nil {
				return err
			}
			if max < 1 || max > driver.MaxReadRecords {
				return usageError{fmt.Errorf("--max: %d is out of range; accepted is 1 to %d", max, driver.MaxReadRecords)}
			}
			req := driver.StreamReadRequest{Partition: partition, From: pos, Max: max, Wait: wait}
			if err := req.Validate(); err != nil {
				return flagError(err, map[string]string{"partition": "partition", "max": "max", "wait": "wait", "from": "from"})
			}
			return e.withStream(cmd.Context(), args[0], func(s *courier.Stream) error {
				recs, _, err := s.Read(cmd.Context(), partition, pos, courier.ReadMax(max), courier.ReadWait(wait))
				if err != nil {
					return err
				}
				out := bufio.NewWriter(e.stdout)
				for _, r := range recs {
					if err := printRecord(out, r, e.jsonOutput(asJSON)); err != nil {
						return err
					}
				}
				return out.Flush()
			})
		},
	}
	f := cmd.Flags()
	f.IntVar(&partition, "partition", 0, "partition to read")
	f.StringVar(&from, "from", "earliest", "where to start: earliest, latest, an offset or an RFC 3339 time")
	f.IntVar(&max, "max", 100, fmt.Sprintf("most records (1..%d)", driver.MaxReadRecords))
	f.DurationVar(&wait, "wait", 0, fmt.Sprintf("how long to wait for a record when there is none (0..%v)", driver.MaxReceiveWait))
	f.BoolVar(&asJSON, "json", false, "print JSON lines (the default when stdout is not a terminal)")
	return cmd
}

func newStreamTailCmd(e *env) *cobra.Command {
	var (
		from   string
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "tail NAME",
		Short: "Print records of every partition as they are appended, until interrupted",
		Long: `Print the records of every partition from --from (default latest: only new
records) as they arrive, until interrupted (Ctrl-C), which ends it with exit
code 0. It reads like any reader: consumer groups are not affected.`,
		Example: `  courier stream tail clicks
  courier stream tail clicks --from earliest --json | jq -r .value`,
		Args: exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			pos, err := parsePosition("from", from)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			return e.withStream(ctx, args[0], func(s *courier.Stream) error {
				info, err := s.Info(ctx)
				if err != nil {
					return err
				}
				var mu sync.Mutex
				out := bufio.NewWriter(e.stdout)
				errs := make(chan error, len(info.Partitions))
				var wg sync.WaitGroup
				for _, p := range info.Partitions {
					wg.Go(func() {
						r := s.Reader(p.Partition, pos, courier.ReadMax(1000), courier.ReadWait(5*time.Second))
						for ctx.Err() == nil {
							recs, err := r.Next(ctx)
							if err != nil {
								if ctx.Err() == nil {
									errs <- err
								}
								return
							}
							mu.Lock()
							for _, rec := range recs {
								if err := printRecord(out, rec, e.jsonOutput(asJSON)); err != nil {
									errs <- err
									mu.Unlock()
									return
								}
							}
							err = out.Flush()
							mu.Unlock()
							if err != nil {
								errs <- err
								return
							}
						}
					})
				}
				wg.Wait()
				close(errs)
				return <-errs // nil when interrupted
			})
		},
	}
	cmd.Flags().StringVar(&from, "from", "latest", "where to start in each partition: earliest, latest, an offset or an RFC 3339 time")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON lines (the default when stdout is not a terminal)")
	return cmd
}

func newStreamGroupsCmd(e *env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "groups NAME",
		Short:   "Show a stream's consumer groups: members, committed offsets and lag",
		Example: `  courier stream groups clicks`,
		Args:    exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withStream(cmd.Context(), args[0], func(s *courier.Stream) error {
				info, err := s.Info(cmd.Context())
				if err != nil {
					return err
				}
				if e.jsonOutput(asJSON) {
					for _, g := range info.Groups {
						if err := e.printJSON(g); err != nil {
							return err
						}
					}
					return nil
				}
				if len(info.Groups) == 0 {
					_, err := fmt.Fprintf(e.stdout, "stream %s has no consumer groups\n", s.Name())
					return err
				}
				tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
				printGroups(tw, info.Groups)
				return tw.Flush()
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON line per group (the default when stdout is not a terminal)")
	return cmd
}

func newStreamResetCmd(e *env) *cobra.Command {
	var (
		to         string
		partitions []int
		asJSON     bool
	)
	cmd := &cobra.Command{
		Use:   "reset-offsets NAME GROUP --to POSITION",
		Short: "Set a group's committed offsets (the group must have no members)",
		Long: `Set the committed offsets of GROUP to --to (earliest, latest, an offset or an
RFC 3339 time) for --partition (repeatable; default all), then print them.
Stop the group's members first: a group with members is refused.`,
		Example: `  courier stream reset-offsets clicks analytics --to earliest
  courier stream reset-offsets clicks analytics --to 2026-11-25T00:00:00Z --partition 0 --partition 1`,
		Args: exactArgs("NAME", "GROUP"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if to == "" {
				return usageError{errors.New("--to is required: earliest, latest, an offset or an RFC 3339 time")}
			}
			pos, err := parsePosition("to", to)
			if err != nil {
				return err
			}
			if err := driver.ValidateGroupName("group", args[1]); err != nil {
				return usageError{err}
			}
			return e.withStream(cmd.Context(), args[0], func(s *courier.Stream) error {
				offs, err := s.Group(args[1]).ResetOffsets(cmd.Context(), pos, partitions...)
				if err != nil {
					return err
				}
				if e.jsonOutput(asJSON) {
					return e.printJSON(httpapi.ResetResponse{Offsets: httpapi.OffsetsJSON(offs)})
				}
				var b strings.Builder
				for p := 0; p < driver.MaxPartitions && len(offs) > 0; p++ {
					if o, ok := offs[p]; ok {
						fmt.Fprintf(&b, "partition %d -> %d\n", p, o)
						delete(offs, p)
					}
				}
				_, err = io.WriteString(e.stdout, b.String())
				return err
			})
		},
	}
	cmd.Flags().StringVar(&to, "to", "", "earliest, latest, an offset or an RFC 3339 time")
	cmd.Flags().IntSliceVar(&partitions, "partition", nil, "partition to reset (repeatable; default all)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON (the default when stdout is not a terminal)")
	return cmd
}
