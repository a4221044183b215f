package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/driver"
	"github.com/courier-io/courier/internal/httpapi"
)

// MaxFileBytes bounds a rule or event read whole from a file or standard
// input.
const MaxFileBytes = 16 << 20

// readAll reads r, refusing more than max bytes.
func readAll(r io.Reader, max int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("over %d bytes", max)
	}
	return data, nil
}

// readFileLimited reads the file name, refusing more than max bytes.
func readFileLimited(name string, max int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := readAll(f, max)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return data, nil
}

// entryReader yields the events of put-events one by one: from --entry
// flags, or from a JSON array or JSON lines (a sequence of JSON objects).
type entryReader struct {
	flags []string // --entry values, when given
	dec   *json.Decoder
	array bool // the input is a JSON array; its '[' was read
	n     int  // entries read
}

func newEntryReader(flags []string, r io.Reader) (*entryReader, error) {
	er := &entryReader{flags: flags}
	if flags != nil {
		return er, nil
	}
	br := bufio.NewReader(r)
	for {
		c, err := br.ReadByte()
		if err == io.EOF {
			return nil, usageError{errors.New("no events: give --entry, --file or a JSON array or JSON lines on standard input")}
		}
		if err != nil {
			return nil, fmt.Errorf("reading the events: %w", err)
		}
		if c == ' ' || c == '\t' || c == '\r' || c == '\n' {
			continue
		}
		_ = br.UnreadByte()
		er.array = c == '['
		break
	}
	er.dec = json.NewDecoder(br)
	if er.array {
		if _, err := er.dec.Token(); err != nil {
			return nil, err
		}
	}
	return er, nil
}

// next returns the next entry's JSON text, or io.EOF after the last. A
// malformed input ends the reading with an error naming the entry.
func (er *entryReader) next() (json.RawMessage, error) {
	if er.dec == nil {
		if er.n == len(er.flags) {
			return nil, io.EOF
		}
		er.n++
		return json.RawMessage(er.flags[er.n-1]), nil
	}
	if er.array && !er.dec.More() {
		if _, err := er.dec.Token(); err != nil {
			return nil, fmt.Errorf("after entry %d: the JSON array does not end: %v", er.n, err)
		}
		if _, err := er.dec.Token(); err != io.EOF {
			return nil, fmt.Errorf("after entry %d: unexpected data after the JSON array", er.n)
		}
		return nil, io.EOF
	}
	var raw json.RawMessage
	if err := er.dec.Decode(&raw); err != nil {
		if err == io.EOF && !er.array {
			return nil, io.EOF
		}
		return nil, fmt.Errorf("entry %d: malformed JSON: %v", er.n+1, err)
	}
	er.n++
	return raw, nil
}

// eventPutter sends events in batches and prints one line per entry.
type eventPutter struct {
	e       *env
	bus     *courier.Bus
	asJSON  bool
	out     *bufio.Writer
	pending []courier.Event
	errs    []error // per pending entry: refused before sending
	first   int     // index of pending[0] among all entries
	total   int
	failed  int
}

// add queues an entry (or its decoding error) and sends a full batch.
func (p *eventPutter) add(ctx context.Context, raw json.RawMessage) error {
	i := p.total
	p.total++
	var ev courier.Event
	var j httpapi.Event
	err := decodeStrict(raw, &j)
	if err == nil {
		ev, err = j.Driver(fmt.Sprintf("entries[%d]", i))
	} else {
		err = driver.Invalid(fmt.Sprintf("entries[%d]", i), "not an event: %v", err)
	}
	p.pending = append(p.pending, ev)
	p.errs = append(p.errs, err)
	if len(p.pending) == driver.MaxPutEvents {
		return p.flush(ctx)
	}
	return nil
}

// flush sends the pending entries that decoded and prints every pending
// entry's outcome, in order.
func (p *eventPutter) flush(ctx context.Context) error {
	if len(p.pending) == 0 {
		return nil
	}
	var send []courier.Event
	var at []int
	for k, err := range p.errs {
		if err == nil {
			send = append(send, p.pending[k])
			at = append(at, k)
		}
	}
	res := make([]courier.PutEventsResult, len(p.pending))
	for k, err := range p.errs {
		res[k].Err = err
	}
	if len(send) > 0 {
		got, err := p.bus.PutEvents(ctx, send...)
		if err != nil {
			return err
		}
		for j, g := range got {
			res[at[j]] = courier.PutEventsResult{ID: g.ID, Err: httpapi.RenumberEntry(g.Err, j, p.first+at[j])}
		}
	}
	for _, r := range res {
		if r.Err != nil {
			p.failed++
		}
		if err := p.print(r); err != nil {
			return err
		}
	}
	p.first += len(p.pending)
	p.pending, p.errs = p.pending[:0], p.errs[:0]
	return nil
}

// print writes one entry's outcome: its ID or its error.
func (p *eventPutter) print(r courier.PutEventsResult) error {
	var err error
	switch {
	case p.asJSON:
		err = jsonEncoder(p.out).Encode(httpapi.PutEventsJSON([]courier.PutEventsResult{r}).Entries[0])
	case r.Err != nil:
		_, err = fmt.Fprintf(p.out, "error: %s\n", describe(r.Err))
	default:
		_, err = fmt.Fprintln(p.out, r.ID)
	}
	return err
}

func newBusPutEventsCmd(e *env) *cobra.Command {
	var (
		entries []string
		file    string
		asJSON  bool
	)
	cmd := &cobra.Command{
		Use:   "put-events BUS [--entry JSON]... | [--file FILE]",
		Short: "Put events on a bus; print each one's ID or why it was refused",
		Long: `Put events on BUS and print one line per event, in order, once the accepted
ones are durable: its ID, or "error: " and why it was refused. With --json
(the default when stdout is not a terminal) each line is {"id": "..."} or
{"error": {"code": ..., "message": ..., "field": ...}}.

An event is a JSON object as the REST API takes it:

  {"source": "shop", "detail-type": "Order Placed", "detail": {"id": 7},
   "resources": ["order/7"], "time": "2026-01-02T03:04:05Z", "id": "...",
   "account": "...", "region": "...", "headers": {"traceparent": "..."}}

The events are the --entry flags or, without them, --file (or standard input):
a JSON array of events, or JSON lines (one event per line). They are sent in
batches of 1000. A refused event does not stop the others; the command then
exits 1 after putting the rest.`,
		Example: `  courier bus put-events orders --entry '{"source":"shop","detail-type":"Order Placed","detail":{"total":250}}'
  courier bus put-events orders --file events.json
  jq -c '.[]' events.json | courier bus put-events orders`,
		Args: exactArgs("BUS"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(entries) > 0 && file != "" {
				return usageError{errors.New("give the events with --entry or --file, not both")}
			}
			if err := checkName(driver.ValidateBusName, args[0]); err != nil {
				return err
			}
			in := e.stdin
			switch {
			case len(entries) > 0:
				in = nil
			case file != "" && file != "-":
				f, err := os.Open(file)
				if err != nil {
					return usageError{err}
				}
				defer f.Close()
				in = f
			case e.stdinTTY:
				fmt.Fprintln(e.stderr, "courier: reading events from the terminal; end them with Ctrl-D")
			}
			er, err := newEntryReader(entries, in)
			if err != nil {
				return err
			}
			return e.withBus(cmd.Context(), args[0], func(_ *courier.Broker, bus *courier.Bus) error {
				p := &eventPutter{e: e, bus: bus, asJSON: e.jsonOutput(asJSON), out: bufio.NewWriter(e.stdout)}
				defer p.out.Flush()
				for {
					raw, err := er.next()
					if err == io.EOF {
						break
					}
					if err == nil {
						err = p.add(cmd.Context(), raw)
					}
					if err != nil {
						if ferr := p.flush(cmd.Context()); ferr != nil {
							return ferr
						}
						return err
					}
				}
				if err := p.flush(cmd.Context()); err != nil {
					return err
				}
				if p.failed > 0 {
					return fmt.Errorf("%d of %d events were not accepted", p.failed, p.total)
				}
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&entries, "entry", nil, "an event as a JSON object (repeatable)")
	f.StringVar(&file, "file", "", `read the events from this file ("-": standard input): a JSON array or JSON lines`)
	f.BoolVar(&asJSON, "json", false, "print JSON lines (the default when stdout is not a terminal)")
	return cmd
}

func newBusTestPatternCmd(e *env) *cobra.Command {
	var (
		pattern, event string
		asJSON         bool
	)
	cmd := &cobra.Command{
		Use:   "test-pattern --pattern JSON [--event JSON]",
		Short: "Test whether an event pattern matches an event (no server needed)",
		Long: `Test whether the EventBridge event pattern --pattern matches the event
--event (or, without it, the event on standard input): a whole event
envelope, as targets receive it, such as

  {"source": "shop", "detail-type": "Order Placed", "detail": {"total": 250}}

It prints "match: true" or "match: false" ({"match": true} with --json, the
default when stdout is not a terminal) and exits 0 when the pattern matches,
1 when it does not, and 2 when the pattern or the event is invalid. It runs
here, without a server, with the matcher the server uses.`,
		Example: `  courier bus test-pattern --pattern '{"source":["shop"]}' --event '{"source":"shop","detail":{}}'
  courier bus test-pattern --pattern '{"detail":{"total":[{"numeric":[">",100]}]}}' < event.json && echo big`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, args []string) error {
			if pattern == "" {
				return usageError{errors.New("--pattern is required: an event pattern as a JSON object")}
			}
			p, err := jsonObjectFlag("pattern", pattern)
			if err != nil {
				return err
			}
			var ev []byte
			if cmd.Flags().Changed("event") {
				ev = []byte(event)
			} else {
				if e.stdinTTY {
					fmt.Fprintln(e.stderr, "courier: reading the event from the terminal; end it with Ctrl-D")
				}
				if ev, err = readAll(e.stdin, driver.MaxEventSize*4); err != nil {
					return fmt.Errorf("reading the event from standard input: %w", err)
				}
			}
			if v := bytes.TrimSpace(ev); len(v) == 0 || v[0] != '{' || !json.Valid(v) {
				return usageError{errors.New("--event: want the event as a JSON object, as in '{\"source\": \"shop\", \"detail\": {}}'")}
			}
			match, err := courier.TestPattern(p, ev)
			if err != nil {
				return flagError(err, map[string]string{"pattern": "pattern", "event": "event"})
			}
			if e.jsonOutput(asJSON) {
				err = e.printJSON(httpapi.TestPatternResponse{Match: match})
			} else {
				_, err = fmt.Fprintf(e.stdout, "match: %v\n", match)
			}
			if err == nil && !match {
				err = errors.New("the pattern does not match the event")
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&pattern, "pattern", "", "the event pattern, a JSON object")
	f.StringVar(&event, "event", "", "the event envelope, a JSON object (default: standard input)")
	f.BoolVar(&asJSON, "json", false, "print JSON (the default when stdout is not a terminal)")
	return cmd
}
