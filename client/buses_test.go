package client_test

import (
	"context"
	"encoding/json"
	"errors"
	neturl "net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/driver"
)

// TestBusesOverHTTP uses every bus call of the Go API through http://.
func TestBusesOverHTTP(t *testing.T) {
	for _, c := range clients {
		t.Run(c.name, func(t *testing.T) { testBuses(t, c.prefix) })
	}
}

func testBuses(t *testing.T, prefix string) {
	url, _ := serve(t, "mem://")
	b := openRemote(t, prefix+url)
	ctx := t.Context()
	if !b.Capabilities().Buses {
		t.Fatalf("capabilities %+v: want buses", b.Capabilities())
	}
	shop, err := b.CreateBus(ctx, "shop", courier.BusAttributes{Description: "shop events"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.CreateBus(ctx, "shop", courier.BusAttributes{Description: "other"}); !errors.Is(err, courier.ErrConflict) {
		t.Fatalf("re-creating with another description: %v", err)
	}
	if names, err := b.ListBuses(ctx); err != nil || !reflect.DeepEqual(names, []string{"default", "shop"}) {
		t.Fatalf("ListBuses = %v, %v", names, err)
	}
	if info, err := shop.Info(ctx); err != nil || info.Name != "shop" || info.Attributes.Description != "shop events" || info.CreatedAt.IsZero() {
		t.Fatalf("Info = %+v, %v", info, err)
	}
	if err := b.DeleteBus(ctx, "default"); !errors.Is(err, courier.ErrInvalid) {
		t.Fatalf("deleting the default bus: %v", err)
	}
	if _, err := b.Bus("missing").Info(ctx); !errors.Is(err, courier.ErrNotFound) {
		t.Fatalf("Info of a missing bus: %v", err)
	}

	// A rule with a target of every kind round-trips, its secret masked.
	for _, q := range []string{"audit", "dead"} {
		if _, err := b.CreateQueue(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.CreateBus(ctx, "other", courier.BusAttributes{}); err != nil {
		t.Fatal(err)
	}
	rule := courier.Rule{
		Description: "every kind",
		Pattern:     json.RawMessage(`{"source":["shop"]}`),
		Targets: []courier.Target{
			{ID: "q", Kind: courier.TargetQueue, Queue: "audit", DeadLetterQueue: "dead", MaxBacklog: 10},
			{ID: "t", Kind: courier.TargetTopic, Topic: "news", Input: json.RawMessage(`{"fixed":true}`),
				Retry: courier.RetryPolicy{MaxAttempts: 3, MaxAge: time.Hour, MinDelay: 2 * time.Second, MaxDelay: time.Minute}},
			{ID: "s", Kind: courier.TargetStream, Stream: "log", PartitionKeyPath: "$.detail.customer", CloudEvents: true},
			{ID: "b", Kind: courier.TargetBus, Bus: "other"},
			{ID: "h", Kind: courier.TargetHTTP, HTTP: &courier.HTTPTarget{Endpoint: "http://127.0.0.1:1/hook", AuthHeader: "Authorization",
				AuthValue: "Bearer secret", Headers: map[string]string{"x-app": "shop"}, MaxPerSecond: 5, Timeout: 2 * time.Second}},
			{ID: "p", Kind: courier.TargetHandler, InputPath: "$.detail"},
		},
	}
	if _, err := shop.PutRule(ctx, "all", rule); !errors.Is(err, courier.ErrTooLarge) {
		t.Fatalf("a rule with 6 targets: %v", err)
	}
	rule.Targets = rule.Targets[:5]
	info, err := shop.PutRule(ctx, "all", rule)
	if err != nil {
		t.Fatal(err)
	}
	want := rule
	want.Targets = append([]courier.Target(nil), rule.Targets...)
	if err := want.Normalize(); err != nil {
		t.Fatal(err)
	}
	h := *want.Targets[4].HTTP
	h.AuthValue = "****"
	want.Targets[4].HTTP = &h
	if !reflect.DeepEqual(info.Rule, want) || info.Bus != "shop" || info.Name != "all" || len(info.Stats.Targets) != 5 {
		t.Errorf("PutRule answered %+v\nwant %+v", info.Rule, want)
	}
	if got, err := shop.Rule(ctx, "all"); err != nil || !reflect.DeepEqual(got.Rule, info.Rule) {
		t.Errorf("Rule = %+v, %v", got, err)
	}
	if _, err := shop.PutRule(ctx, "bad", courier.Rule{Pattern: json.RawMessage(`{"source":["s"]}`),
		Targets: []courier.Target{{ID: "d", Kind: courier.TargetHandler, DeadLetterQueue: "missing"}}}); !isField(err, "targets[0].dlq") {
		t.Errorf("a missing dead-letter queue: %v", err)
	}
	info, err = shop.RemoveTargets(ctx, "all", "t", "s")
	if err != nil || len(info.Targets) != 3 || info.Targets[1].ID != "b" {
		t.Fatalf("RemoveTargets(t, s) = %+v, %v", info.Targets, err)
	}
	info, err = shop.RemoveTargets(ctx, "all", "b")
	if err != nil || len(info.Targets) != 2 {
		t.Fatalf("RemoveTargets(b) = %+v, %v", info.Targets, err)
	}
	if _, err := shop.RemoveTargets(ctx, "all", "b"); !errors.Is(err, courier.ErrNotFound) {
		t.Errorf("removing a removed target: %v", err)
	}
	info, err = shop.PutTargets(ctx, "all", courier.Target{ID: "q", Kind: courier.TargetQueue, Queue: "audit"})
	if err != nil || len(info.Targets) != 2 || info.Targets[0].DeadLetterQueue != "" {
		t.Fatalf("PutTargets = %+v, %v", info.Targets, err)
	}
	if _, err := shop.PutRule(ctx, "tick", courier.Rule{Schedule: "rate(1 hour)", State: courier.RuleDisabled}); err != nil {
		t.Fatal(err)
	}
	rules, err := shop.Rules(ctx)
	if err != nil || len(rules) != 2 || rules[0].Name != "all" || rules[1].Schedule != "rate(1 hour)" || rules[1].Targets != nil {
		t.Fatalf("Rules = %+v, %v", rules, err)
	}
	if err := shop.DeleteRule(ctx, "tick"); err != nil {
		t.Fatal(err)
	}
	if _, err := shop.Rule(ctx, "tick"); !errors.Is(err, courier.ErrNotFound) {
		t.Fatalf("Rule after DeleteRule: %v", err)
	}

	// Archive before putting, so that the events can be replayed.
	ai, err := shop.Archive(ctx, "kept", courier.Archive{Description: "all", Retention: 24 * time.Hour})
	if err != nil || ai.Retention != 24*time.Hour || ai.Description != "all" {
		t.Fatalf("Archive = %+v, %v", ai, err)
	}
	if _, err := shop.Archive(ctx, "kept", courier.Archive{Retention: time.Hour}); !errors.Is(err, courier.ErrConflict) {
		t.Fatalf("re-creating an archive with other settings: %v", err)
	}

	// Each event fails alone, with the error the engine gives, named by
	// its place in the batch: here (a detail that is not JSON, a bad
	// time), or on the server (an envelope over the limit).
	start := time.Now().Add(-time.Minute)
	big := `{"x":"` + strings.Repeat("x", driver.MaxEventSize-10) + `"}`
	res, err := shop.PutEvents(ctx,
		courier.Event{Source: "shop", DetailType: "placed", Detail: json.RawMessage(`{"n":1}`), Headers: map[string]string{"traceparent": "tp"}},
		courier.Event{Source: "shop", DetailType: "placed", Detail: json.RawMessage(`{not json`)},
		courier.Event{Source: "shop", DetailType: "placed", Detail: json.RawMessage(`{}`), Time: time.Date(1969, 1, 1, 0, 0, 0, 0, time.UTC)},
		courier.Event{Source: "shop", DetailType: "placed", Detail: json.RawMessage(big)},
		courier.Event{ID: "mine", Source: "shop", DetailType: "placed", Detail: json.RawMessage(`{"n":2}`), Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
		courier.Event{DetailType: "placed", Detail: json.RawMessage(`{}`)},
	)
	if err != nil || len(res) != 6 {
		t.Fatalf("PutEvents = %+v, %v", res, err)
	}
	for i, w := range []struct {
		sentinel error
		field    string
	}{{nil, ""}, {courier.ErrInvalid, "entries[1].detail"}, {courier.ErrInvalid, "entries[2].time"},
		{courier.ErrTooLarge, "entries[3]"}, {nil, ""}, {courier.ErrInvalid, "entries[5].source"}} {
		switch {
		case w.sentinel == nil && (res[i].Err != nil || res[i].ID == ""):
			t.Errorf("event %d: %+v, want an id", i, res[i])
		case w.sentinel != nil && (!errors.Is(res[i].Err, w.sentinel) || !isField(res[i].Err, w.field) || res[i].ID != ""):
			t.Errorf("event %d: %+v, want %v on %s", i, res[i], w.sentinel, w.field)
		}
	}
	if res[4].ID != "mine" {
		t.Errorf("an event with an id got %q", res[4].ID)
	}
	ds, err := b.Queue("audit").Receive(ctx, courier.Max(10), courier.Wait(5*time.Second))
	if err != nil || len(ds) == 0 {
		t.Fatalf("Receive = %d, %v", len(ds), err)
	}
	env, err := courier.ParseEvent(ds[0].Body)
	if err != nil || env.ID != res[0].ID || env.Source != "shop" || ds[0].Headers["traceparent"] != "tp" {
		t.Errorf("delivered %+v (%v), headers %v", env, err, ds[0].Headers)
	}
	if _, err := b.Bus("missing").PutEvents(ctx, courier.Event{Source: "s", DetailType: "t", Detail: json.RawMessage(`{}`)}); !errors.Is(err, courier.ErrNotFound) {
		t.Errorf("PutEvents on a missing bus: %v", err)
	}
	if _, err := b.Bus("missing").PutEvents(ctx, courier.Event{DetailType: "t"}); !errors.Is(err, courier.ErrNotFound) {
		t.Errorf("PutEvents of invalid events on a missing bus: %v", err)
	}

	// Archives and replays.
	archives, err := shop.Archives(ctx)
	if err != nil || len(archives) != 1 || archives[0].Events != 2 {
		t.Fatalf("Archives = %+v, %v", archives, err)
	}
	if ai, err := shop.ArchiveInfo(ctx, "kept"); err != nil || ai.Events != 2 || ai.Bytes == 0 {
		t.Fatalf("ArchiveInfo = %+v, %v", ai, err)
	}
	end := time.Now().Add(time.Minute)
	rp, err := shop.Replay(ctx, "again", "kept", start, end, "all")
	if err != nil || rp.Name != "again" || rp.Archive != "kept" || !rp.Start.Equal(start) || !rp.End.Equal(end) || !reflect.DeepEqual(rp.Rules, []string{"all"}) {
		t.Fatalf("Replay = %+v, %v", rp, err)
	}
	if _, err := shop.Replay(ctx, "again", "kept", start, end); !errors.Is(err, courier.ErrExists) {
		t.Fatalf("a second replay of the same name: %v", err)
	}
	if rp, err := b.ReplayInfo(ctx, "again"); err != nil || rp.Name != "again" || rp.StartedAt.IsZero() {
		t.Fatalf("ReplayInfo = %+v, %v", rp, err)
	}
	if replays, err := b.Replays(ctx); err != nil || len(replays) != 1 {
		t.Fatalf("Replays = %+v, %v", replays, err)
	}
	if rp, err := b.CancelReplay(ctx, "again"); err == nil && rp.State != courier.ReplayCancelled || err != nil && !errors.Is(err, courier.ErrConflict) {
		t.Fatalf("CancelReplay = %+v, %v", rp, err)
	}
	if _, err := b.ReplayInfo(ctx, "missing"); !errors.Is(err, courier.ErrNotFound) {
		t.Fatalf("ReplayInfo of a missing replay: %v", err)
	}
	if err := shop.DeleteArchive(ctx, "kept"); err != nil {
		t.Fatal(err)
	}
	if _, err := shop.ArchiveInfo(ctx, "kept"); !errors.Is(err, courier.ErrNotFound) {
		t.Fatalf("ArchiveInfo after DeleteArchive: %v", err)
	}
	if err := b.DeleteBus(ctx, "shop"); err != nil {
		t.Fatal(err)
	}
	if _, err := shop.Rules(ctx); !errors.Is(err, courier.ErrNotFound) {
		t.Fatalf("Rules of a deleted bus: %v", err)
	}
}

func mustURL(t *testing.T, s string) *neturl.URL {
	t.Helper()
	u, err := neturl.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// isField reports whether err is a validation error of field.
func isField(err error, field string) bool {
	var ve *courier.ValidationError
	return errors.As(err, &ve) && ve.Field == field
}

// TestHandleOverHTTP runs a handler target's handler through http://.
func TestHandleOverHTTP(t *testing.T) {
	for _, c := range clients {
		t.Run(c.name, func(t *testing.T) { testHandle(t, c.prefix) })
	}
}

func testHandle(t *testing.T, prefix string) {
	url, _ := serve(t, "mem://")
	b := openRemote(t, prefix+url)
	bus := b.Bus(courier.DefaultBus)
	if _, err := bus.PutRule(t.Context(), "work", courier.Rule{Pattern: json.RawMessage(`{"source":["jobs"]}`),
		Targets: []courier.Target{{ID: "h", Kind: courier.TargetHandler}}}); err != nil {
		t.Fatal(err)
	}
	got := make(chan courier.EventEnvelope, 1)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- bus.Handle(ctx, "work", "h", func(ctx context.Context, d driver.Delivery) error {
			env, err := courier.ParseEvent(d.Body)
			if err != nil {
				return err
			}
			got <- env
			return nil
		})
	}()
	id, err := bus.PutEvent(t.Context(), courier.Event{Source: "jobs", DetailType: "run", Detail: json.RawMessage(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case env := <-got:
		if env.ID != id {
			t.Errorf("handled %+v, want event %s", env, id)
		}
	case err := <-done:
		t.Fatalf("Handle returned %v", err)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Handle returned %v after its context ended", err)
	}
}
