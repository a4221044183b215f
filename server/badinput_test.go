package server_test

import (
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/courier-io/courier/driver"
	"github.com/courier-io/courier/internal/httpapi"
	"github.com/courier-io/courier/server"
)

// badInput is one request that the server must refuse without changing
// anything.
type badInput struct {
	method, path, body string
	status             int
	code               string
	// field is the field the error must name ("" when none applies).
	field string
}

// state is what bad input must not change: the queues and, for each, its
// attributes, timestamps and message counts.
type state map[string]queueState

type queueState struct {
	attrs                    driver.QueueAttributes
	created, updated         time.Time
	visible, inFlight, delay int64
}

func (a *api) state() state {
	a.t.Helper()
	var list httpapi.QueueList
	a.ok("GET", "/v1/queues", "", http.StatusOK, &list)
	s := state{}
	for _, name := range list.Queues {
		info := a.info(name)
		var attrs driver.QueueAttributes
		info.Attributes.ApplyTo(&attrs)
		s[name] = queueState{attrs, info.CreatedAt, info.UpdatedAt, info.Stats.Visible, info.Stats.InFlight, info.Stats.Delayed}
	}
	return s
}

// badInputs lists bad requests for every endpoint. receipt is the receipt
// of a message in flight in "orders": settle cases use it so that a
// request wrongly accepted would change the queue.
func badInputs(t *testing.T, receipt string) []badInput {
	const q = "/v1/queues/orders"
	r := `"receipts":["` + receipt + `"]`
	batch := func(n int) string {
		return `{"messages":[` + strings.TrimSuffix(strings.Repeat(`{"body":"m"},`, n), ",") + `]}`
	}
	receipts := func(n int) string {
		return `{"receipts":[` + strings.TrimSuffix(strings.Repeat(`"`+receipt+`",`, n), ",") + `]}`
	}
	const (
		bad, large, notFound, conflict = http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusNotFound, http.StatusConflict
		inv, tooLarge                  = "invalid_argument", "too_large"
	)

	cases := []badInput{
		// PUT /v1/queues/{name}
		{"PUT", "/v1/queues/new", `{"visibility_timeout":`, bad, inv, "body"},
		{"PUT", "/v1/queues/new", `{visibility_timeout: "1s"}`, bad, inv, "body"},
		{"PUT", "/v1/queues/new", `[]`, bad, inv, "body"},
		{"PUT", "/v1/queues/new", `{} {}`, bad, inv, "body"},
		{"PUT", "/v1/queues/new", `{"visibilty_timeout":"1s"}`, bad, inv, "visibilty_timeout"},
		{"PUT", "/v1/queues/new", `{"max_receives":"3"}`, bad, inv, "max_receives"},
		{"PUT", "/v1/queues/new", `{"max_message_size":2048.5}`, bad, inv, "max_message_size"},
		{"PUT", "/v1/queues/new", `{"fifo":"yes"}`, bad, inv, "fifo"},
		{"PUT", "/v1/queues/new", `{"dead_letter_queue":7}`, bad, inv, "dead_letter_queue"},
		{"PUT", "/v1/queues/new", `{"visibility_timeout":"soon"}`, bad, inv, "visibility_timeout"},
		{"PUT", "/v1/queues/new", `{"visibility_timeout":30}`, bad, inv, "visibility_timeout"},
		{"PUT", "/v1/queues/new", `{"visibility_timeout":"-1s"}`, bad, inv, "visibility_timeout"},
		{"PUT", "/v1/queues/new", `{"visibility_timeout":"12h0m1s"}`, bad, inv, "visibility_timeout"},
		{"PUT", "/v1/queues/new", `{"retention_period":"59s"}`, bad, inv, "retention_period"},
		{"PUT", "/v1/queues/new", `{"retention_period":"337h"}`, bad, inv, "retention_period"},
		{"PUT", "/v1/queues/new", `{"delivery_delay":"-1s"}`, bad, inv, "delivery_delay"},
		{"PUT", "/v1/queues/new", `{"delivery_delay":"16m"}`, bad, inv, "delivery_delay"},
		{"PUT", "/v1/queues/new", `{"receive_wait":"21s"}`, bad, inv, "receive_wait"},
		{"PUT", "/v1/queues/new", `{"max_message_size":1023}`, bad, inv, "max_message_size"},
		{"PUT", "/v1/queues/new", `{"max_message_size":1048577}`, bad, inv, "max_message_size"},
		{"PUT", "/v1/queues/new", `{"max_receives":-1,"dead_letter_queue":"orders-dlq"}`, bad, inv, "max_receives"},
		{"PUT", "/v1/queues/new", `{"max_receives":1001,"dead_letter_queue":"orders-dlq"}`, bad, inv, "max_receives"},
		{"PUT", "/v1/queues/new", `{"max_receives":3}`, bad, inv, "dead_letter_queue"},
		{"PUT", "/v1/queues/new", `{"dead_letter_queue":"orders-dlq"}`, bad, inv, "max_receives"},
		{"PUT", "/v1/queues/new", `{"max_receives":3,"dead_letter_queue":"bad name"}`, bad, inv, "dead_letter_queue"},
		{"PUT", "/v1/queues/new", `{"max_receives":3,"dead_letter_queue":"new"}`, bad, inv, "dead_letter_queue"},
		{"PUT", "/v1/queues/new", `{"max_receives":3,"dead_letter_queue":"missing"}`, bad, inv, "dead_letter_queue"},
		{"PUT", "/v1/queues/new", `{"max_receives":3,"dead_letter_queue":"orders-dlq","fifo":true}`, bad, inv, "dead_letter_queue"},
		{"PUT", q, `{"visibility_timeout":"45s"}`, conflict, "conflict", ""},
		{"PUT", q, `{"fifo":true}`, conflict, "conflict", ""},

		// PATCH /v1/queues/{name}
		{"PATCH", q, ``, bad, inv, "body"},
		{"PATCH", q, `{"visibility_timeout":"1s"`, bad, inv, "body"},
		{"PATCH", q, `"1s"`, bad, inv, "body"},
		{"PATCH", q, `{"visibility":"1s"}`, bad, inv, "visibility"},
		{"PATCH", q, `{"max_receives":true}`, bad, inv, "max_receives"},
		{"PATCH", q, `{"receive_wait":"20 s"}`, bad, inv, "receive_wait"},
		{"PATCH", q, `{"receive_wait":"21s"}`, bad, inv, "receive_wait"},
		{"PATCH", q, `{"visibility_timeout":"-1s"}`, bad, inv, "visibility_timeout"},
		{"PATCH", q, `{"max_receives":2}`, bad, inv, "dead_letter_queue"},
		{"PATCH", q, `{"max_receives":2,"dead_letter_queue":"orders"}`, bad, inv, "dead_letter_queue"},
		{"PATCH", q, `{"fifo":true}`, conflict, "conflict", ""},

		// POST /v1/queues/{name}/messages
		{"POST", q + "/messages", ``, bad, inv, "body"},
		{"POST", q + "/messages", `{"body":"x"`, bad, inv, "body"},
		{"POST", q + "/messages", `"x"`, bad, inv, "body"},
		{"POST", q + "/messages", `{"body":"x"}{"body":"y"}`, bad, inv, "body"},
		{"POST", q + "/messages", `{"text":"x"}`, bad, inv, "text"},
		{"POST", q + "/messages", `{"messages":[{"body":"x","extra":1}]}`, bad, inv, "extra"},
		{"POST", q + "/messages", `{"body":42}`, bad, inv, "body"},
		{"POST", q + "/messages", `{"headers":{"k":1}}`, bad, inv, "headers"},
		{"POST", q + "/messages", `{"headers":["k"]}`, bad, inv, "headers"},
		{"POST", q + "/messages", `{"messages":{"body":"x"}}`, bad, inv, "messages"},
		{"POST", q + "/messages", `{"messages":[{"body":true}]}`, bad, inv, "messages.body"},
		{"POST", q + "/messages", `{"body":"x","delay":"soon"}`, bad, inv, "delay"},
		{"POST", q + "/messages", `{"body":"x","delay":5}`, bad, inv, "delay"},
		{"POST", q + "/messages", `{"body":"x","delay":"-1s"}`, bad, inv, "delay"},
		{"POST", q + "/messages", `{"body":"x","delay":"15m1s"}`, bad, inv, "delay"},
		{"POST", q + "/messages", `{"messages":[{"body":"x"},{"body":"y","delay":"-1s"}]}`, bad, inv, "messages[1].delay"},
		{"POST", q + "/messages", `{"body":"x","body_base64":"eA=="}`, bad, inv, "body_base64"},
		{"POST", q + "/messages", `{"messages":[{"body":"x","body_base64":"eA=="}]}`, bad, inv, "messages[0].body_base64"},
		{"POST", q + "/messages", `{"messages":null}`, bad, inv, "messages"},
		{"POST", q + "/messages", `{"body_base64":"not base64!"}`, bad, inv, "body_base64"},
		{"POST", q + "/messages", `{"body_base64":"eA"}`, bad, inv, "body_base64"},
		{"POST", q + "/messages", `{"messages":[{"body":"ok"},{"body_base64":"%%%"}]}`, bad, inv, "messages[1].body_base64"},
		{"POST", q + "/messages", `{"body":"x","messages":[{"body":"y"}]}`, bad, inv, "body"},
		{"POST", q + "/messages", `{"messages":[]}`, bad, inv, "messages"},
		{"POST", q + "/messages", batch(driver.MaxBatch + 1), large, tooLarge, "messages"},
		{"POST", q + "/messages", `{"body":"x","dedup_id":"has space"}`, bad, inv, "dedup_id"},
		{"POST", q + "/messages", `{"body":"x","group":"` + strings.Repeat("g", driver.MaxGroupLen+1) + `"}`, bad, inv, "group"},
		{"POST", q + "/messages", `{"messages":[{"body":"x","headers":{"":"v"}}]}`, bad, inv, "messages[0].headers"},
		{"POST", q + "/messages", jsonText(t, httpapi.SendRequest{Messages: []httpapi.Message{{Headers: manyHeaders(driver.MaxHeaders + 1)}}}), large, tooLarge, "messages[0].headers"},
		{"POST", q + "/messages", `{"body":"` + strings.Repeat("x", driver.MaxMessageSizeLimit+1) + `"}`, large, tooLarge, "body"},
		{"POST", "/v1/queues/jobs.fifo/messages", `{"body":"no group"}`, bad, inv, "group"},

		// POST /v1/queues/{name}/receive
		{"POST", q + "/receive", `{"max":`, bad, inv, "body"},
		{"POST", q + "/receive", `[1]`, bad, inv, "body"},
		{"POST", q + "/receive", `{"maximum":1}`, bad, inv, "maximum"},
		{"POST", q + "/receive", `{"max":"10"}`, bad, inv, "max"},
		{"POST", q + "/receive", `{"max":1.5}`, bad, inv, "max"},
		{"POST", q + "/receive", `{"max":-1}`, bad, inv, "max"},
		{"POST", q + "/receive", `{"max":1001}`, bad, inv, "max"},
		{"POST", q + "/receive", `{"wait":"21s"}`, bad, inv, "wait"},
		{"POST", q + "/receive", `{"wait":"-1s"}`, bad, inv, "wait"},
		{"POST", q + "/receive", `{"wait":"soon"}`, bad, inv, "wait"},
		{"POST", q + "/receive", `{"wait":20}`, bad, inv, "wait"},
		{"POST", q + "/receive", `{"visibility":"-1s"}`, bad, inv, "visibility"},
		{"POST", q + "/receive", `{"visibility":"12h1s"}`, bad, inv, "visibility"},
		{"POST", q + "/receive", `{"visibility":"1 h"}`, bad, inv, "visibility"},

		// POST /v1/queues/{name}/ack, /nack, /extend
		{"POST", q + "/ack", ``, bad, inv, "body"},
		{"POST", q + "/ack", `{` + r, bad, inv, "body"},
		{"POST", q + "/ack", `{}`, bad, inv, "receipts"},
		{"POST", q + "/ack", `{"receipts":[]}`, bad, inv, "receipts"},
		{"POST", q + "/ack", `{"receipts":null}`, bad, inv, "receipts"},
		{"POST", q + "/ack", `{"receipts":[""]}`, bad, inv, "receipts[0]"},
		{"POST", q + "/ack", `{"receipts":"` + receipt + `"}`, bad, inv, "receipts"},
		{"POST", q + "/ack", `{"receipts":[1]}`, bad, inv, "receipts"},
		{"POST", q + "/ack", `{"receipt":"` + receipt + `"}`, bad, inv, "receipt"},
		{"POST", q + "/ack", receipts(driver.MaxBatch + 1), large, tooLarge, "receipts"},
		{"POST", q + "/ack", `{` + r + `,"delay":"1s"}`, bad, inv, "delay"},
		{"POST", q + "/ack", `{` + r + `,"visibility":"1s"}`, bad, inv, "visibility"},
		{"POST", q + "/nack", ``, bad, inv, "body"},
		{"POST", q + "/nack", `{"receipts":[]}`, bad, inv, "receipts"},
		{"POST", q + "/nack", `{` + r + `,"visibility":"1s"}`, bad, inv, "visibility"},
		{"POST", q + "/nack", `{` + r + `,"delay":"-1s"}`, bad, inv, "delay"},
		{"POST", q + "/nack", `{` + r + `,"delay":"12h1s"}`, bad, inv, "delay"},
		{"POST", q + "/nack", `{` + r + `,"delay":"soon"}`, bad, inv, "delay"},
		{"POST", q + "/nack", `{` + r + `,"delay":1}`, bad, inv, "delay"},
		{"POST", q + "/extend", ``, bad, inv, "body"},
		{"POST", q + "/extend", `{"visibility":"1m"}`, bad, inv, "receipts"},
		{"POST", q + "/extend", `{` + r + `}`, bad, inv, "visibility"},
		{"POST", q + "/extend", `{` + r + `,"visibility":"1m","delay":"1s"}`, bad, inv, "delay"},
		{"POST", q + "/extend", `{` + r + `,"visibility":"-1s"}`, bad, inv, "visibility"},
		{"POST", q + "/extend", `{` + r + `,"visibility":"12h1s"}`, bad, inv, "visibility"},
		{"POST", q + "/extend", `{` + r + `,"visibility":"later"}`, bad, inv, "visibility"},
		{"POST", q + "/extend", `{` + r + `,"visibility":null}`, bad, inv, "visibility"},

		// POST /v1/queues/{dlq}/redrive
		{"POST", "/v1/queues/orders-dlq/redrive", `{"max":`, bad, inv, "body"},
		{"POST", "/v1/queues/orders-dlq/redrive", `{"max":-1}`, bad, inv, "max"},
		{"POST", "/v1/queues/orders-dlq/redrive", `{"max":"all"}`, bad, inv, "max"},
		{"POST", "/v1/queues/orders-dlq/redrive", `{"rate":-1}`, bad, inv, "rate"},
		{"POST", "/v1/queues/orders-dlq/redrive", `{"rate":0.5}`, bad, inv, "rate"},
		{"POST", "/v1/queues/orders-dlq/redrive", `{"destination":"bad/name"}`, bad, inv, "destination"},
		{"POST", "/v1/queues/orders-dlq/redrive", `{"destination":"missing"}`, notFound, "not_found", ""},
		{"POST", "/v1/queues/orders-dlq/redrive", `{"dest":"orders"}`, bad, inv, "dest"},
	}

	// Every endpoint refuses an invalid queue name in the path, and
	// answers 404 for a valid name that is not a queue.
	endpoints := []struct{ method, suffix, body string }{
		{"PUT", "", `{}`}, {"PATCH", "", `{}`}, {"GET", "", ""}, {"DELETE", "", ""},
		{"POST", "/purge", ""}, {"POST", "/messages", `{"body":"x"}`}, {"POST", "/receive", `{"wait":"0s"}`},
		{"POST", "/ack", `{` + r + `}`}, {"POST", "/nack", `{` + r + `}`}, {"POST", "/extend", `{` + r + `,"visibility":"1s"}`},
		{"POST", "/redrive", `{}`},
	}
	for _, e := range endpoints {
		for _, name := range []string{"bad%20name", strings.Repeat("n", driver.MaxQueueNameLen+1), "caf%C3%A9", "a%2Fb", "q%3F", "star*"} {
			cases = append(cases, badInput{e.method, "/v1/queues/" + name + e.suffix, e.body, bad, inv, "name"})
		}
		if e.method != "PUT" {
			cases = append(cases, badInput{e.method, "/v1/queues/missing" + e.suffix, e.body, notFound, "not_found", ""})
		}
	}
	return cases
}

func manyHeaders(n int) map[string]string {
	h := make(map[string]string, n)
	for i := range n {
		h[strings.Repeat("h", i+1)] = "v"
	}
	return h
}

// TestBadInput sends bad requests to every endpoint: each gets its status,
// error code and field, and none changes anything.
func TestBadInput(t *testing.T) {
	t.Parallel()
	a := newAPI(t, nil)
	a.create("orders-dlq", "")
	a.create("orders", "")
	a.create("jobs.fifo", `{"fifo":true}`)
	a.ok("POST", "/v1/queues/orders/messages", `{"messages":[{"body":"1"},{"body":"2"},{"body":"3"},{"body":"later","delay":"10m"}]}`, http.StatusOK, nil)
	a.sendOne("orders-dlq", `{"body":"dead"}`)
	a.sendOne("jobs.fifo", `{"body":"f","group":"g"}`)
	receipt := a.receive("orders", `{"visibility":"12h"}`)[0].Receipt
	before := a.state()
	a.wantStats("orders", 2, 1, 1)

	for _, c := range badInputs(t, receipt) {
		var body io.Reader
		if c.body != "" {
			body = strings.NewReader(c.body)
		}
		status, ctype, data := a.send(c.method, c.path, body)
		name := c.method + " " + c.path + " " + c.body
		if len(name) > 160 {
			name = name[:160] + "..."
		}
		if status != c.status {
			t.Errorf("%s: status %d, want %d; answer %s", name, status, c.status, data)
			continue
		}
		e := apiError(t, ctype, data)
		switch {
		case e.Code != c.code:
			t.Errorf("%s: code %q, want %q; answer %s", name, e.Code, c.code, data)
		case e.Field != c.field:
			t.Errorf("%s: field %q, want %q; answer %s", name, e.Field, c.field, data)
		}
	}

	if after := a.state(); !reflect.DeepEqual(after, before) {
		t.Errorf("bad input changed the broker:\nbefore %+v\nafter  %+v", before, after)
	}
	// The in-flight message is still in flight under the same receipt.
	if f := a.settle("orders", "ack", `{"receipts":["`+receipt+`"]}`); len(f) != 0 {
		t.Errorf("the receipt used by the bad requests no longer acks: %+v", f)
	}
}

// TestOversizeBody sends every endpoint that reads a body one byte more
// than server.MaxRequestBytes: each answers 413 and nothing changes.
func TestOversizeBody(t *testing.T) {
	t.Parallel()
	a := newAPI(t, nil)
	a.create("orders-dlq", "")
	a.create("orders", "")
	a.sendOne("orders", `{"body":"1"}`)
	a.sendOne("orders-dlq", `{"body":"dead"}`)
	before := a.state()
	endpoints := []struct{ method, path string }{
		// PUT and PATCH read through decode (optional and required
		// body), send and ack through readBody and their decoders.
		{"PUT", "/v1/queues/new"}, {"PATCH", "/v1/queues/orders"}, {"POST", "/v1/queues/orders/messages"},
		{"POST", "/v1/queues/orders/ack"},
		// These read through readBody too. Under -race each 64 MiB body
		// costs about a second, so a race build checks only the above.
		{"POST", "/v1/queues/orders/receive"}, {"POST", "/v1/queues/orders/nack"},
		{"POST", "/v1/queues/orders/extend"}, {"POST", "/v1/queues/orders-dlq/redrive"},
		{"POST", "/v1/buses/default/events"}, {"PUT", "/v1/buses/default/rules/r"}, {"POST", "/v1/replays"},
	}
	if raceEnabled {
		endpoints = endpoints[:4]
	}
	t.Run("endpoints", func(t *testing.T) {
		for _, e := range endpoints {
			t.Run(e.method+e.path, func(t *testing.T) {
				t.Parallel() // 64 MiB each: worth using both cores under -race
				status, ctype, data, err := a.try(e.method, e.path, oversize())
				if err != nil {
					t.Fatal(err)
				}
				if status != http.StatusRequestEntityTooLarge {
					t.Fatalf("status %d, want 413; answer %.200s", status, data)
				}
				if got := apiError(t, ctype, data); got.Code != "too_large" || got.Field != "body" {
					t.Errorf("error %+v, want too_large on body", got)
				}
			})
		}
	})
	if after := a.state(); !reflect.DeepEqual(after, before) {
		t.Errorf("oversize bodies changed the broker:\nbefore %+v\nafter  %+v", before, after)
	}
}

// oversize is a JSON body one byte over server.MaxRequestBytes, made as it
// is read.
func oversize() io.Reader {
	const head, tail = `{"body":"`, `"}`
	return sized{io.MultiReader(strings.NewReader(head),
		io.LimitReader(xs{}, server.MaxRequestBytes+1-int64(len(head)+len(tail))),
		strings.NewReader(tail)), server.MaxRequestBytes + 1}
}

// sized is a reader that tells its length, so that the request is sent
// with a Content-Length.
type sized struct {
	io.Reader
	n int64
}

func (s sized) Size() int64 { return s.n }

// xs is an endless stream of 'x'.
type xs struct{}

var xChunk = []byte(strings.Repeat("x", 64<<10))

func (xs) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		n += copy(p[n:], xChunk)
	}
	return n, nil
}
