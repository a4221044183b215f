package eventbridge_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	courier "github.com/courier-io/courier"
	"github.com/courier-io/courier/awsapi/gateway"
)

func TestArchiveAndReplay(t *testing.T) {
	f := newFixture(t, gateway.Config{})
	c := ctx(t)
	q := f.queue("out")
	busARN := "arn:aws:events:us-east-1:000000000000:event-bus/default"
	ca, err := f.eb.CreateArchive(c, &eventbridge.CreateArchiveInput{ArchiveName: aws.String("all"), EventSourceArn: aws.String(busARN),
		Description: aws.String("everything"), RetentionDays: aws.Int32(7)})
	if err != nil || aws.ToString(ca.ArchiveArn) != "arn:aws:events:us-east-1:000000000000:archive/all" || ca.State != types.ArchiveStateEnabled {
		t.Fatalf("CreateArchive = %+v, %v", ca, err)
	}
	_, err = f.eb.CreateArchive(c, &eventbridge.CreateArchiveInput{ArchiveName: aws.String("all"), EventSourceArn: aws.String(busARN)})
	wantAPIError(t, err, "ResourceAlreadyExistsException", 400)
	_, err = f.eb.CreateArchive(c, &eventbridge.CreateArchiveInput{ArchiveName: aws.String("p"), EventSourceArn: aws.String(busARN), EventPattern: aws.String(`{"x":1}`)})
	wantAPIError(t, err, "InvalidEventPatternException", 400)

	start := time.Now().Add(-time.Minute)
	entry := types.PutEventsRequestEntry{Source: aws.String("shop"), DetailType: aws.String("Order"), Detail: aws.String(`{"n":1}`)}
	if _, err := f.eb.PutEvents(c, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{entry, entry}}); err != nil {
		t.Fatal(err)
	}
	da, err := f.eb.DescribeArchive(c, &eventbridge.DescribeArchiveInput{ArchiveName: aws.String("all")})
	if err != nil || da.EventCount != 2 || aws.ToInt32(da.RetentionDays) != 7 || aws.ToString(da.EventSourceArn) != busARN || aws.ToString(da.Description) != "everything" {
		t.Fatalf("DescribeArchive = %+v, %v", da, err)
	}
	// The rule and its target come after the events: only the replay brings them.
	if _, err := f.eb.PutRule(c, &eventbridge.PutRuleInput{Name: aws.String("shop"), EventPattern: aws.String(`{"source":["shop"]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.eb.PutTargets(c, &eventbridge.PutTargetsInput{Rule: aws.String("shop"), Targets: []types.Target{{Id: aws.String("q"), Arn: aws.String(q)}}}); err != nil {
		t.Fatal(err)
	}
	ruleARN := "arn:aws:events:us-east-1:000000000000:rule/shop"
	sr, err := f.eb.StartReplay(c, &eventbridge.StartReplayInput{ReplayName: aws.String("again"), EventSourceArn: ca.ArchiveArn,
		EventStartTime: aws.Time(start), EventEndTime: aws.Time(time.Now().Add(time.Second)),
		Destination: &types.ReplayDestination{Arn: aws.String(busARN), FilterArns: []string{ruleARN}}})
	if err != nil || aws.ToString(sr.ReplayArn) != "arn:aws:events:us-east-1:000000000000:replay/again" {
		t.Fatalf("StartReplay = %+v, %v", sr, err)
	}
	for _, body := range f.receive("out", 2) {
		var ev envelope
		if err := json.Unmarshal([]byte(body), &ev); err != nil || ev.ReplayName != "again" || ev.Source != "shop" {
			t.Fatalf("replayed event %s (%v)", body, err)
		}
	}
	var dr *eventbridge.DescribeReplayOutput
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		if dr, err = f.eb.DescribeReplay(c, &eventbridge.DescribeReplayInput{ReplayName: aws.String("again")}); err != nil {
			t.Fatal(err)
		}
		if dr.State != types.ReplayStateRunning {
			break
		}
		time.Sleep(10 * time.Millisecond) // polling a background task's state
	}
	if dr.State != types.ReplayStateCompleted || aws.ToString(dr.EventSourceArn) != aws.ToString(ca.ArchiveArn) ||
		len(dr.Destination.FilterArns) != 1 || dr.Destination.FilterArns[0] != ruleARN {
		t.Fatalf("DescribeReplay = %+v", dr)
	}
	_, err = f.eb.CancelReplay(c, &eventbridge.CancelReplayInput{ReplayName: aws.String("again")})
	wantAPIError(t, err, "IllegalStatusException", 400)
	_, err = f.eb.StartReplay(c, &eventbridge.StartReplayInput{ReplayName: aws.String("again"), EventSourceArn: ca.ArchiveArn,
		EventStartTime: aws.Time(start), EventEndTime: aws.Time(time.Now()), Destination: &types.ReplayDestination{Arn: aws.String(busARN)}})
	wantAPIError(t, err, "ResourceAlreadyExistsException", 400)
	_, err = f.eb.CancelReplay(c, &eventbridge.CancelReplayInput{ReplayName: aws.String("none")})
	wantAPIError(t, err, "ResourceNotFoundException", 400)
	lr, err := f.eb.ListReplays(c, &eventbridge.ListReplaysInput{State: types.ReplayStateCompleted})
	if err != nil || len(lr.Replays) != 1 || aws.ToString(lr.Replays[0].ReplayName) != "again" {
		t.Fatalf("ListReplays = %+v, %v", lr, err)
	}

	if _, err := f.eb.CreateEventBus(c, &eventbridge.CreateEventBusInput{Name: aws.String("other")}); err != nil {
		t.Fatal(err)
	}
	_, err = f.eb.StartReplay(c, &eventbridge.StartReplayInput{ReplayName: aws.String("cross"), EventSourceArn: ca.ArchiveArn,
		EventStartTime: aws.Time(start), EventEndTime: aws.Time(time.Now()), Destination: &types.ReplayDestination{Arn: aws.String("arn:aws:events:us-east-1:000000000000:event-bus/other")}})
	wantAPIError(t, err, "ValidationException", 400)

	if _, err := f.eb.UpdateArchive(c, &eventbridge.UpdateArchiveInput{ArchiveName: aws.String("all"), Description: aws.String("new")}); err != nil {
		t.Fatal(err)
	}
	_, err = f.eb.UpdateArchive(c, &eventbridge.UpdateArchiveInput{ArchiveName: aws.String("all"), RetentionDays: aws.Int32(1)})
	wantAPIError(t, err, "ValidationException", 400) // it holds events
	if _, err := f.eb.CreateArchive(c, &eventbridge.CreateArchiveInput{ArchiveName: aws.String("empty"), EventSourceArn: aws.String("arn:aws:events:us-east-1:000000000000:event-bus/other")}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.eb.UpdateArchive(c, &eventbridge.UpdateArchiveInput{ArchiveName: aws.String("empty"), RetentionDays: aws.Int32(3), EventPattern: aws.String(`{"source":["a"]}`)}); err != nil {
		t.Fatal(err)
	}
	la, err := f.eb.ListArchives(c, &eventbridge.ListArchivesInput{NamePrefix: aws.String("e")})
	if err != nil || len(la.Archives) != 1 || aws.ToInt32(la.Archives[0].RetentionDays) != 3 {
		t.Fatalf("ListArchives = %+v, %v", la, err)
	}
	da, _ = f.eb.DescribeArchive(c, &eventbridge.DescribeArchiveInput{ArchiveName: aws.String("all")})
	if aws.ToString(da.Description) != "new" {
		t.Fatalf("description after UpdateArchive %q", aws.ToString(da.Description))
	}
	if _, err := f.eb.DeleteArchive(c, &eventbridge.DeleteArchiveInput{ArchiveName: aws.String("all")}); err != nil {
		t.Fatal(err)
	}
	_, err = f.eb.DescribeArchive(c, &eventbridge.DescribeArchiveInput{ArchiveName: aws.String("all")})
	wantAPIError(t, err, "ResourceNotFoundException", 400)
}

// endpoint is an HTTP server that records requests and answers status.
type endpoint struct {
	srv    *httptest.Server
	mu     sync.Mutex
	status int
	got    []*http.Request
	bodies []string
	seen   chan struct{}
}

func newEndpoint(t *testing.T, status int) *endpoint {
	e := &endpoint{status: status, seen: make(chan struct{}, 100)}
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		e.mu.Lock()
		e.got = append(e.got, r)
		e.bodies = append(e.bodies, string(b))
		st := e.status
		e.mu.Unlock()
		w.WriteHeader(st)
		e.seen <- struct{}{}
	}))
	t.Cleanup(e.srv.Close)
	return e
}

// wait waits for one more request and returns it with its body.
func (e *endpoint) wait(t *testing.T) (*http.Request, string) {
	t.Helper()
	select {
	case <-e.seen:
	case <-time.After(10 * time.Second):
		t.Fatal("no request reached the endpoint")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.got[len(e.got)-1], e.bodies[len(e.bodies)-1]
}

func TestAPIDestinations(t *testing.T) {
	f := newFixture(t, gateway.Config{})
	c := ctx(t)
	ep := newEndpoint(t, http.StatusOK)
	cc, err := f.eb.CreateConnection(c, &eventbridge.CreateConnectionInput{Name: aws.String("key"), AuthorizationType: types.ConnectionAuthorizationTypeApiKey,
		AuthParameters: &types.CreateConnectionAuthRequestParameters{
			ApiKeyAuthParameters:     &types.CreateConnectionApiKeyAuthRequestParameters{ApiKeyName: aws.String("X-Api-Key"), ApiKeyValue: aws.String("s3cret")},
			InvocationHttpParameters: &types.ConnectionHttpParameters{HeaderParameters: []types.ConnectionHeaderParameter{{Key: aws.String("X-Team"), Value: aws.String("shop")}}},
		}})
	if err != nil || cc.ConnectionState != types.ConnectionStateAuthorized || !strings.HasPrefix(aws.ToString(cc.ConnectionArn), "arn:aws:events:us-east-1:000000000000:connection/key/") {
		t.Fatalf("CreateConnection = %+v, %v", cc, err)
	}
	_, err = f.eb.CreateConnection(c, &eventbridge.CreateConnectionInput{Name: aws.String("oauth"), AuthorizationType: types.ConnectionAuthorizationTypeOauthClientCredentials,
		AuthParameters: &types.CreateConnectionAuthRequestParameters{}})
	wantAPIError(t, err, "ValidationException", 400)
	_, err = f.eb.CreateConnection(c, &eventbridge.CreateConnectionInput{Name: aws.String("key"), AuthorizationType: types.ConnectionAuthorizationTypeBasic,
		AuthParameters: &types.CreateConnectionAuthRequestParameters{BasicAuthParameters: &types.CreateConnectionBasicAuthRequestParameters{Username: aws.String("u"), Password: aws.String("p")}}})
	wantAPIError(t, err, "ResourceAlreadyExistsException", 400)

	// Secrets never come back.
	status, raw := f.raw("DescribeConnection", `{"Name":"key"}`)
	if b, _ := json.Marshal(raw); status != 200 || strings.Contains(string(b), "s3cret") || !strings.Contains(string(b), "X-Api-Key") {
		t.Fatalf("DescribeConnection: %d %s", status, b)
	}
	_, err = f.eb.CreateApiDestination(c, &eventbridge.CreateApiDestinationInput{Name: aws.String("hook"), ConnectionArn: cc.ConnectionArn,
		InvocationEndpoint: aws.String(ep.srv.URL + "/orders/*"), HttpMethod: types.ApiDestinationHttpMethodGet})
	wantAPIError(t, err, "ValidationException", 400)
	ad, err := f.eb.CreateApiDestination(c, &eventbridge.CreateApiDestinationInput{Name: aws.String("hook"), ConnectionArn: cc.ConnectionArn,
		InvocationEndpoint: aws.String(ep.srv.URL + "/orders/*"), HttpMethod: types.ApiDestinationHttpMethodPost, InvocationRateLimitPerSecond: aws.Int32(50)})
	if err != nil || ad.ApiDestinationState != types.ApiDestinationStateActive {
		t.Fatalf("CreateApiDestination = %+v, %v", ad, err)
	}
	if _, err := f.eb.PutRule(c, &eventbridge.PutRuleInput{Name: aws.String("hooked"), EventPattern: aws.String(`{"source":["shop"]}`)}); err != nil {
		t.Fatal(err)
	}
	pt, err := f.eb.PutTargets(c, &eventbridge.PutTargetsInput{Rule: aws.String("hooked"), Targets: []types.Target{{Id: aws.String("h"), Arn: ad.ApiDestinationArn,
		RoleArn:        aws.String("arn:aws:iam::000000000000:role/r"),
		HttpParameters: &types.HttpParameters{PathParameterValues: []string{"42"}, QueryStringParameters: map[string]string{"v": "1"}, HeaderParameters: map[string]string{"X-Extra": "e"}}}}})
	if err != nil || pt.FailedEntryCount != 0 {
		t.Fatalf("PutTargets = %+v, %v", pt, err)
	}
	put := func() {
		t.Helper()
		if _, err := f.eb.PutEvents(c, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{Source: aws.String("shop"), DetailType: aws.String("Order"), Detail: aws.String(`{"id":42}`)}}}); err != nil {
			t.Fatal(err)
		}
	}
	put()
	r, body := ep.wait(t)
	if r.Method != "POST" || r.URL.Path != "/orders/42" || r.URL.Query().Get("v") != "1" || r.Header.Get("X-Api-Key") != "s3cret" ||
		r.Header.Get("X-Team") != "shop" || r.Header.Get("X-Extra") != "e" || !strings.Contains(body, `"detail":{"id":42}`) {
		t.Fatalf("request %s %s headers %v body %s", r.Method, r.URL, r.Header, body)
	}

	// A new secret reaches the target.
	if _, err := f.eb.UpdateConnection(c, &eventbridge.UpdateConnectionInput{Name: aws.String("key"), AuthorizationType: types.ConnectionAuthorizationTypeBasic,
		AuthParameters: &types.UpdateConnectionAuthRequestParameters{BasicAuthParameters: &types.UpdateConnectionBasicAuthRequestParameters{Username: aws.String("ann"), Password: aws.String("pw")}}}); err != nil {
		t.Fatal(err)
	}
	put()
	r, _ = ep.wait(t)
	if want := "Basic " + base64.StdEncoding.EncodeToString([]byte("ann:pw")); r.Header.Get("Authorization") != want || r.Header.Get("X-Api-Key") != "" {
		t.Fatalf("after UpdateConnection: headers %v", r.Header)
	}
	dc, err := f.eb.DeauthorizeConnection(c, &eventbridge.DeauthorizeConnectionInput{Name: aws.String("key")})
	if err != nil || dc.ConnectionState != types.ConnectionStateDeauthorized {
		t.Fatalf("DeauthorizeConnection = %+v, %v", dc, err)
	}
	put()
	if r, _ = ep.wait(t); r.Header.Get("Authorization") != "" {
		t.Fatalf("a deauthorized connection still sends %q", r.Header.Get("Authorization"))
	}
	d, err := f.eb.DescribeConnection(c, &eventbridge.DescribeConnectionInput{Name: aws.String("key")})
	if err != nil || d.ConnectionState != types.ConnectionStateDeauthorized || aws.ToString(d.AuthParameters.BasicAuthParameters.Username) != "ann" {
		t.Fatalf("DescribeConnection = %+v, %v", d, err)
	}

	if _, err := f.eb.UpdateApiDestination(c, &eventbridge.UpdateApiDestinationInput{Name: aws.String("hook"), InvocationEndpoint: aws.String(ep.srv.URL + "/v2/*")}); err != nil {
		t.Fatal(err)
	}
	put()
	if r, _ = ep.wait(t); r.URL.Path != "/v2/42" {
		t.Fatalf("after UpdateApiDestination: %s", r.URL)
	}
	dd, err := f.eb.DescribeApiDestination(c, &eventbridge.DescribeApiDestinationInput{Name: aws.String("hook")})
	if err != nil || aws.ToInt32(dd.InvocationRateLimitPerSecond) != 50 || aws.ToString(dd.ConnectionArn) != aws.ToString(cc.ConnectionArn) {
		t.Fatalf("DescribeApiDestination = %+v, %v", dd, err)
	}
	la, err := f.eb.ListApiDestinations(c, &eventbridge.ListApiDestinationsInput{ConnectionArn: cc.ConnectionArn})
	if err != nil || len(la.ApiDestinations) != 1 {
		t.Fatalf("ListApiDestinations = %+v, %v", la, err)
	}
	lc, err := f.eb.ListConnections(c, &eventbridge.ListConnectionsInput{ConnectionState: types.ConnectionStateDeauthorized})
	if err != nil || len(lc.Connections) != 1 || aws.ToString(lc.Connections[0].Name) != "key" {
		t.Fatalf("ListConnections = %+v, %v", lc, err)
	}
	lt, err := f.eb.ListTargetsByRule(c, &eventbridge.ListTargetsByRuleInput{Rule: aws.String("hooked")})
	if err != nil || aws.ToString(lt.Targets[0].Arn) != aws.ToString(ad.ApiDestinationArn) || aws.ToString(lt.Targets[0].RoleArn) == "" {
		t.Fatalf("ListTargetsByRule = %+v, %v", lt, err)
	}
	// In use: neither can go; once the target is removed both can.
	_, err = f.eb.DeleteApiDestination(c, &eventbridge.DeleteApiDestinationInput{Name: aws.String("hook")})
	wantAPIError(t, err, "ValidationException", 400)
	_, err = f.eb.DeleteConnection(c, &eventbridge.DeleteConnectionInput{Name: aws.String("key")})
	wantAPIError(t, err, "ValidationException", 400)
	if _, err := f.eb.RemoveTargets(c, &eventbridge.RemoveTargetsInput{Rule: aws.String("hooked"), Ids: []string{"h"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.eb.DeleteApiDestination(c, &eventbridge.DeleteApiDestinationInput{Name: aws.String("hook")}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.eb.DeleteConnection(c, &eventbridge.DeleteConnectionInput{Name: aws.String("key")}); err != nil {
		t.Fatal(err)
	}
	_, err = f.eb.DescribeConnection(c, &eventbridge.DescribeConnectionInput{Name: aws.String("key")})
	wantAPIError(t, err, "ResourceNotFoundException", 400)
}

func TestFailingAPIDestinationDeadLetters(t *testing.T) {
	f := newFixture(t, gateway.Config{})
	c := ctx(t)
	ep := newEndpoint(t, http.StatusBadRequest) // a 4xx fails at once, as in EventBridge
	dlq := f.queue("dlq")
	cc, err := f.eb.CreateConnection(c, &eventbridge.CreateConnectionInput{Name: aws.String("c"), AuthorizationType: types.ConnectionAuthorizationTypeApiKey,
		AuthParameters: &types.CreateConnectionAuthRequestParameters{ApiKeyAuthParameters: &types.CreateConnectionApiKeyAuthRequestParameters{ApiKeyName: aws.String("K"), ApiKeyValue: aws.String("v")}}})
	if err != nil {
		t.Fatal(err)
	}
	ad, err := f.eb.CreateApiDestination(c, &eventbridge.CreateApiDestinationInput{Name: aws.String("d"), ConnectionArn: cc.ConnectionArn,
		InvocationEndpoint: aws.String(ep.srv.URL), HttpMethod: types.ApiDestinationHttpMethodPost})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.eb.PutRule(c, &eventbridge.PutRuleInput{Name: aws.String("r"), EventPattern: aws.String(`{"source":["s"]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.eb.PutTargets(c, &eventbridge.PutTargetsInput{Rule: aws.String("r"), Targets: []types.Target{{Id: aws.String("h"), Arn: ad.ApiDestinationArn,
		DeadLetterConfig: &types.DeadLetterConfig{Arn: aws.String(dlq)}, RetryPolicy: &types.RetryPolicy{MaximumRetryAttempts: aws.Int32(0)}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.eb.PutEvents(c, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{Source: aws.String("s"), DetailType: aws.String("t"), Detail: aws.String(`{"n":1}`)}}}); err != nil {
		t.Fatal(err)
	}
	ep.wait(t)
	var ev envelope
	if err := json.Unmarshal([]byte(f.receive("dlq", 1)[0]), &ev); err != nil || ev.Source != "s" {
		t.Fatalf("dead letter %+v, %v", ev, err)
	}
}

func TestScheduleRule(t *testing.T) {
	synctestRun(t, func(t *testing.T) {
		b, err := courier.Open(t.Context(), "mem://")
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		gw, err := gateway.New(t.Context(), b, gateway.Config{}, services)
		if err != nil {
			t.Fatal(err)
		}
		defer gw.Close()
		call := func(action, body string) string {
			req := httptest.NewRequest("POST", "/", strings.NewReader(body))
			req.Header.Set("X-Amz-Target", "AWSEvents."+action)
			req.Header.Set("Content-Type", "application/x-amz-json-1.1")
			w := httptest.NewRecorder()
			gw.ServeHTTP(w, req)
			if w.Code != 200 {
				t.Fatalf("%s: %d %s", action, w.Code, w.Body)
			}
			return w.Body.String()
		}
		if _, err := b.CreateQueue(t.Context(), "ticks"); err != nil {
			t.Fatal(err)
		}
		call("PutRule", `{"Name":"tick","ScheduleExpression":"rate(1 minute)"}`)
		call("PutTargets", `{"Rule":"tick","Targets":[{"Id":"q","Arn":"arn:aws:sqs:us-east-1:000000000000:ticks","Input":"{\"tick\":true}"}]}`)
		time.Sleep(3*time.Minute + time.Second) // fake time: three firings
		ds, err := b.Queue("ticks").Receive(t.Context(), courier.Max(10), courier.Wait(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) != 3 || string(ds[0].Body) != `{"tick":true}` {
			t.Fatalf("after 3 minutes: %d deliveries", len(ds))
		}
		if out := call("DescribeRule", `{"Name":"tick"}`); !strings.Contains(out, `"ScheduleExpression":"rate(1 minute)"`) {
			t.Fatalf("DescribeRule %s", out)
		}
		call("DeleteRule", `{"Name":"tick","Force":true}`)
	})
}

func TestRestartKeepsAWSData(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	c := ctx(t)
	b, err := courier.Open(c, "file://"+dir)
	if err != nil {
		t.Fatal(err)
	}
	ep := newEndpoint(t, http.StatusOK)
	var destARN string
	func() {
		f := startFixture(t, b, gateway.Config{})
		cc, err := f.eb.CreateConnection(c, &eventbridge.CreateConnectionInput{Name: aws.String("c"), AuthorizationType: types.ConnectionAuthorizationTypeApiKey,
			AuthParameters: &types.CreateConnectionAuthRequestParameters{ApiKeyAuthParameters: &types.CreateConnectionApiKeyAuthRequestParameters{ApiKeyName: aws.String("K"), ApiKeyValue: aws.String("v1")}}})
		if err != nil {
			t.Fatal(err)
		}
		ad, err := f.eb.CreateApiDestination(c, &eventbridge.CreateApiDestinationInput{Name: aws.String("d"), ConnectionArn: cc.ConnectionArn,
			InvocationEndpoint: aws.String(ep.srv.URL), HttpMethod: types.ApiDestinationHttpMethodPost})
		if err != nil {
			t.Fatal(err)
		}
		destARN = aws.ToString(ad.ApiDestinationArn)
		if _, err := f.eb.PutRule(c, &eventbridge.PutRuleInput{Name: aws.String("r"), EventPattern: aws.String(`{"source":["s"]}`), RoleArn: aws.String("arn:aws:iam::000000000000:role/x"),
			Tags: []types.Tag{{Key: aws.String("env"), Value: aws.String("prod")}}}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.eb.PutTargets(c, &eventbridge.PutTargetsInput{Rule: aws.String("r"), Targets: []types.Target{{Id: aws.String("h"), Arn: ad.ApiDestinationArn}}}); err != nil {
			t.Fatal(err)
		}
	}()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	b, err = courier.Open(c, "file://"+dir)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	f := startFixture(t, b, gateway.Config{})
	tags, err := f.eb.ListTagsForResource(c, &eventbridge.ListTagsForResourceInput{ResourceARN: aws.String("arn:aws:events:us-east-1:000000000000:rule/r")})
	if err != nil || len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Value) != "prod" {
		t.Fatalf("tags after restart: %+v, %v", tags, err)
	}
	dr, err := f.eb.DescribeRule(c, &eventbridge.DescribeRuleInput{Name: aws.String("r")})
	if err != nil || aws.ToString(dr.RoleArn) != "arn:aws:iam::000000000000:role/x" {
		t.Fatalf("rule after restart: %+v, %v", dr, err)
	}
	dd, err := f.eb.DescribeApiDestination(c, &eventbridge.DescribeApiDestinationInput{Name: aws.String("d")})
	if err != nil || aws.ToString(dd.ApiDestinationArn) != destARN {
		t.Fatalf("api destination after restart: %+v, %v", dd, err)
	}
	lt, err := f.eb.ListTargetsByRule(c, &eventbridge.ListTargetsByRuleInput{Rule: aws.String("r")})
	if err != nil || len(lt.Targets) != 1 || aws.ToString(lt.Targets[0].Arn) != destARN {
		t.Fatalf("targets after restart: %+v, %v", lt, err)
	}
	// The secret was kept: a changed key is rebuilt into the target and delivered.
	if _, err := f.eb.UpdateConnection(c, &eventbridge.UpdateConnectionInput{Name: aws.String("c"),
		AuthParameters: &types.UpdateConnectionAuthRequestParameters{ApiKeyAuthParameters: &types.UpdateConnectionApiKeyAuthRequestParameters{ApiKeyValue: aws.String("v2")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.eb.EnableRule(c, &eventbridge.EnableRuleInput{Name: aws.String("r")}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.eb.PutEvents(c, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{Source: aws.String("s"), DetailType: aws.String("t"), Detail: aws.String(`{}`)}}}); err != nil {
		t.Fatal(err)
	}
	if r, _ := ep.wait(t); r.Header.Get("K") != "v2" {
		t.Fatalf("header K = %q after restart and update", r.Header.Get("K"))
	}
}
