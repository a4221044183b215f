package ui_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/internal/servertest"
	"github.com/courier-io/courier/server"
)

// The browser tests drive the dashboard in headless Chromium (Debian's
// chromium package) against a real server: they load every page, redrive
// a dead-letter queue and test an event pattern through the page, sign in
// with a token, and save a screenshot of each page under artifacts/ui/ at
// the repository root. Without Chromium they skip, unless CI is set: then
// they fail, so that CI cannot pass without running them.

// browserTimeout bounds one test's browser: everything it does must be
// done by then, or the browser is killed and the test fails.
const browserTimeout = 60 * time.Second

// waitTimeout bounds one wait for the page.
const waitTimeout = 15 * time.Second

// artifactsDir is where the screenshots go: artifacts/ui at the root of
// the repository (this package's directory is ui/).
var artifactsDir = filepath.Join("..", "artifacts", "ui")

// chromium returns the path of the Chromium binary, or skips the test
// (fails it when CI is set) when there is none.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	const why = "no chromium or chromium-browser on PATH; install Debian's chromium package (apt-get install -y chromium)"
	if os.Getenv("CI") != "" {
		t.Fatalf("the dashboard's browser tests need headless Chromium, and CI is set: %s", why)
	}
	t.Skipf("skipping the dashboard's browser test: %s (with CI set, this fails)", why)
	return ""
}

// browser is one headless Chromium tab and what the page wrote to its
// console.
type browser struct {
	t   *testing.T
	ctx context.Context
	mu  sync.Mutex
	log []chromedp.ConsoleMessage
}

// newBrowser starts headless Chromium with one tab; the test's cleanup
// closes it and fails the test if a script threw, logged an error, or the
// Content-Security-Policy blocked something.
func newBrowser(t *testing.T) *browser {
	t.Helper()
	exe := chromium(t)
	profile := t.TempDir() // removed after the browser exits (cleanups run last first)
	bounded, cancelBound := context.WithTimeout(context.Background(), browserTimeout)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(bounded,
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 900),
	)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	b := &browser{t: t, ctx: ctx}
	if err := chromedp.Do(ctx); err != nil {
		cancelTab()
		cancelAlloc()
		cancelBound()
		t.Fatalf("starting Chromium (%s): %v", exe, err)
	}
	consoleCtx, cancelConsole := context.WithCancel(ctx)
	messages := chromedp.Console(consoleCtx)
	var wg sync.WaitGroup
	wg.Go(func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.log = append(b.log, m)
			b.mu.Unlock()
		}
	})
	t.Cleanup(func() {
		cancelConsole()
		wg.Wait()
		cancelTab()
		cancelAlloc()
		cancelBound()
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, m := range b.log {
			if pageError(m) {
				t.Errorf("the page's console: %s (%s:%d)", m, m.URL, m.Line)
			} else {
				t.Logf("the page's console (not an error of the page): %s [%s]", m, m.Source)
			}
		}
	})
	return b
}

// pageError reports whether a console message is a fault of the page: an
// exception, console.error, or a browser error that is not the log line
// of a failed request (the tests make some requests fail on purpose).
func pageError(m chromedp.ConsoleMessage) bool {
	switch {
	case m.IsException():
		return true
	case m.Source == "network":
		return false // "Failed to load resource: ... 401/403"
	case m.Type == chromedp.ConsoleError:
		return true
	}
	return m.Source == "security" // a Content-Security-Policy violation
}

// do runs actions, failing the test with what was being done.
func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, waitTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// waitFor polls a JavaScript expression until it is truthy.
func (b *browser) waitFor(what, expr string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, waitTimeout)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
		b.t.Fatalf("waiting until %s (%s): %v\npage text: %s", what, expr, err, b.text("main"))
	}
}

// waitText waits until the element sel contains text.
func (b *browser) waitText(sel, text string) {
	b.t.Helper()
	b.waitFor(fmt.Sprintf("%s shows %q", sel, text),
		fmt.Sprintf(`(document.querySelector(%s)?.textContent || "").includes(%s)`, jsString(sel), jsString(text)))
}

// waitPage waits until the page of kind (and name) has loaded its data.
func (b *browser) waitPage(kind, name string) {
	b.t.Helper()
	sel := fmt.Sprintf(`section.page[data-page=%q][data-ready]`, kind)
	if name != "" {
		sel = fmt.Sprintf(`section.page[data-page=%q][data-name=%q][data-ready]`, kind, name)
	}
	b.do("waiting for the "+kind+" page", chromedp.WaitVisible(chromedp.CSS(sel)))
}

// text returns the text of the element sel ("" if there is none).
func (b *browser) text(sel string) string {
	ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
	defer cancel()
	s, _ := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`document.querySelector(%s)?.innerText || ""`, jsString(sel))))
	return s
}

// click clicks the element sel.
func (b *browser) click(sel string) {
	b.t.Helper()
	b.do("clicking "+sel, chromedp.Click(chromedp.CSS(sel)))
}

// screenshot saves the whole page as artifacts/ui/NAME.png.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	b.save(name, chromedp.FullScreenshot(100)) // quality 100 is PNG
}

// screenshotViewport saves what the window shows (a modal dialog sits
// in the viewport, which a full-page capture lays out again).
func (b *browser) screenshotViewport(name string) {
	b.t.Helper()
	b.save(name, chromedp.CaptureScreenshot())
}

// save runs a screenshot action and writes its PNG as artifacts/ui/NAME.png.
func (b *browser) save(name string, shot chromedp.Action[[]byte]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, waitTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, shot)
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.MkdirAll(artifactsDir, 0o755); err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(artifactsDir, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	q, _ := json.Marshal(s)
	return string(q)
}

// rest makes REST calls to a test server, with a bearer token when one is
// set.
type rest struct {
	t     *testing.T
	url   string
	token string
}

// call makes a request with a JSON body ("" for none), fails the test
// unless it succeeds, and returns the answer's body.
func (c rest) call(method, path, body string) []byte {
	c.t.Helper()
	req, err := http.NewRequestWithContext(c.t.Context(), method, c.url+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		c.t.Fatalf("%s %s %s: %d %s", method, path, body, resp.StatusCode, data)
	}
	return data
}

// requireDashboard fails the test unless the server serves the page.
func requireDashboard(t *testing.T, url string) {
	t.Helper()
	resp, err := http.Get(url + "/ui/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /ui/ answered %d: the server does not mount the dashboard (routes() in server/server.go must call s.uiRoutes())", resp.StatusCode)
	}
}

// seed makes what the pages show: a queue whose three messages were
// dead-lettered into orders-dlq, a topic with two filtered subscriptions,
// a stream with a lagging consumer group, and a bus with a rule and an
// archive.
func seed(c rest) {
	c.call("PUT", "/v1/queues/orders-dlq", "")
	c.call("PUT", "/v1/queues/orders", `{"max_receives": 1, "dead_letter_queue": "orders-dlq", "visibility_timeout": "0s"}`)
	c.call("PUT", "/v1/queues/audit", "")
	c.call("POST", "/v1/queues/orders/messages", `{"messages": [{"body": "order #1"}, {"body": "order #2", "headers": {"tenant": "acme"}}, {"body": "order #3"}]}`)
	c.call("POST", "/v1/queues/orders/receive", `{"max": 10}`) // first delivery; visible again at once
	c.call("POST", "/v1/queues/orders/receive", `{"max": 10}`) // a second would be one too many: dead-lettered
	c.call("POST", "/v1/queues/orders/messages", `{"body": "order #4"}`)

	c.call("PUT", "/v1/topics/news", "")
	c.call("PUT", "/v1/topics/news/subscriptions/eu", `{"kind": "queue", "queue": "audit", "filter_policy": {"region": ["eu"]}}`)
	c.call("PUT", "/v1/topics/news/subscriptions/big", `{"kind": "durable", "filter_policy": {"total": [{"numeric": [">=", 100]}]}, "filter_scope": "body"}`)
	c.call("POST", "/v1/topics/news/messages", `{"body": "{\"total\": 250}", "headers": {"region": "eu"}}`)

	c.call("PUT", "/v1/streams/clicks", `{"partitions": 2}`)
	c.call("POST", "/v1/streams/clicks/records", `{"records": [{"key": "a", "value": "1"}, {"key": "b", "value": "2"}, {"key": "c", "value": "3"}, {"key": "d", "value": "4"}]}`)
	c.call("POST", "/v1/streams/clicks/groups/analytics/join", `{"member": "w1", "session_timeout": "10m"}`)

	c.call("PUT", "/v1/buses/shop", `{"description": "shop events"}`)
	c.call("PUT", "/v1/buses/shop/rules/big", `{"description": "orders over 100", "pattern": {"source": ["shop"], "detail": {"total": [{"numeric": [">", 100]}]}}, "targets": [{"id": "audit", "kind": "queue", "queue": "audit"}]}`)
	c.call("PUT", "/v1/buses/shop/archives/all", `{"retention": "720h"}`)
	c.call("POST", "/v1/buses/shop/events", `{"entries": [{"source": "shop", "detail-type": "Order Placed", "detail": {"total": 250}}, {"source": "shop", "detail-type": "Order Placed", "detail": {"total": 20}}]}`)
}

// queueStats returns a queue's visible and in-flight counts, through the
// Go API.
func queueStats(t *testing.T, b *courier.Broker, name string) (visible, inFlight int64) {
	t.Helper()
	info, err := b.Queue(name).Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return info.Stats.Visible, info.Stats.InFlight
}

// TestDashboardBrowser loads every page of the dashboard against a
// running server, redrives a dead-letter queue through the page (with its
// confirmation), tests a filter policy and an event pattern, follows a
// topic and a stream live, and saves a screenshot of each page.
func TestDashboardBrowser(t *testing.T) {
	srv := servertest.Start(t, "mem://", server.WithHistory(server.HistoryConfig{Interval: 200 * time.Millisecond}))
	requireDashboard(t, srv.URL)
	b := newBrowser(t) // closed before the server stops (cleanups run last first)
	api := rest{t: t, url: srv.URL}
	seed(api)

	// Overview, with the chart of all queues once it has samples.
	b.do("opening the dashboard", chromedp.Navigate(srv.URL+"/ui/"))
	b.waitPage("overview", "")
	b.waitFor("the queue chart has a line", `document.querySelector("#chart-queues path.line") !== null`)
	b.waitText("#health", "ready")
	b.waitFor("the request rate is measured", `/^[0-9.]+[kMG]?$/.test(document.querySelector("#throughput .stat-value")?.textContent)`)
	b.screenshot("overview")

	// Queues, and the dead-letter queue's page.
	b.click(`#nav a[data-section="queues"]`)
	b.waitPage("queues", "")
	b.waitFor("the list links orders-dlq", `document.querySelector('#queue-list a[href="#/queues/orders-dlq"]') !== null`)
	b.screenshot("queues")
	b.click(`#queue-list a[href="#/queues/orders-dlq"]`)
	b.waitPage("queue", "orders-dlq")
	b.waitFor("the peek shows the three dead letters", `document.querySelectorAll("#peek tbody tr").length === 3`)
	b.waitText("#stat-visible", "3")
	b.waitText("#main", "dead-letter queue of orders")
	b.screenshot("queue-dlq")

	// Redrive: the dialog's button stays disabled until the name is typed.
	b.click("#redrive-open")
	b.do("opening the redrive dialog", chromedp.WaitVisible(chromedp.CSS("#confirm-input")))
	b.waitFor("the redrive button is disabled", `document.querySelector("#confirm-ok").disabled`)
	b.do("typing the queue's name", chromedp.SendKeys(chromedp.CSS("#confirm-input"), "orders-dlq"))
	b.waitFor("the redrive button is enabled", `!document.querySelector("#confirm-ok").disabled`)
	b.screenshotViewport("queue-redrive-confirm")
	b.click("#confirm-ok")
	b.waitText("#redrive-result", "moved 3")
	if visible, inFlight := queueStats(t, srv.Broker, "orders-dlq"); visible+inFlight != 0 {
		t.Errorf("orders-dlq after the redrive: %d visible, %d in flight; want it empty", visible, inFlight)
	}
	if visible, _ := queueStats(t, srv.Broker, "orders"); visible != 4 {
		t.Errorf("orders after the redrive: %d visible, want 4 (3 redriven, 1 never dead-lettered)", visible)
	}
	b.waitText("#peek", "The queue is empty.")
	b.screenshot("queue-redriven")

	// The source queue's page: its messages, peeked, are still there after.
	b.click(`#main a[href="#/queues/orders"]`)
	b.waitPage("queue", "orders")
	b.waitFor("the peek shows four messages", `document.querySelectorAll("#peek tbody tr").length === 4`)
	if visible, _ := queueStats(t, srv.Broker, "orders"); visible != 4 {
		t.Errorf("orders after peeking: %d visible, want 4: a peek must not consume", visible)
	}
	b.screenshot("queue")

	// Topics: subscriptions, a filter test, and a live tail.
	b.click(`#nav a[data-section="topics"]`)
	b.waitPage("topics", "")
	b.waitFor("the list links news", `document.querySelector('#topic-list a[href="#/topics/news"]') !== null`)
	b.screenshot("topics")
	b.click(`#topic-list a[href="#/topics/news"]`)
	b.waitPage("topic", "news")
	b.waitFor("both subscriptions show", `document.querySelectorAll("#subscriptions tbody tr").length === 2`)
	b.click("#filter-test") // {"region": ["eu"]} against headers {"region": "eu"}
	b.waitFor("the filter matches", `document.querySelector("#filter-result .match.yes") !== null`)
	b.click(`button[data-sub="big"]`) // the body-scoped policy, total >= 100, against {"total": 250}
	b.waitFor("the policy of big is loaded", `document.querySelector("#filter-scope").value === "body"`)
	b.click("#filter-test")
	b.waitFor("big's policy matches the body", `document.querySelector("#filter-result .match.yes") !== null`)
	b.do("changing the message", chromedp.SetValue(chromedp.CSS("#filter-body"), `{"total": 20}`))
	b.click("#filter-test")
	b.waitFor("a smaller total does not match", `document.querySelector("#filter-result .match.no") !== null`)
	b.click("#tail-start")
	b.waitText("#tail-status", "live")
	if _, err := srv.Broker.Topic("news").Publish(t.Context(), courier.Message{Body: []byte("live from the test"), Headers: map[string]string{"region": "eu"}}); err != nil {
		t.Fatal(err)
	}
	b.waitText("#tail-list", "live from the test")
	b.screenshot("topic")

	// Streams: partitions, group lag over time, and a live tail.
	b.click(`#nav a[data-section="streams"]`)
	b.waitPage("streams", "")
	b.waitFor("the list links clicks", `document.querySelector('#stream-list a[href="#/streams/clicks"]') !== null`)
	b.screenshot("streams")
	b.click(`#stream-list a[href="#/streams/clicks"]`)
	b.waitPage("stream", "clicks")
	b.waitText("#groups", "analytics")
	b.waitFor("the lag chart has a line", `document.querySelector("#chart-lag path.line") !== null`)
	b.click("#tail-start")
	b.waitText("#tail-status", "live")
	api.call("POST", "/v1/streams/clicks/records", `{"records": [{"key": "k", "value": "appended while tailing", "partition": 0}]}`)
	b.waitText("#tail-list", "appended while tailing")
	b.screenshot("stream")

	// Bus: rules, the pattern test of the rule's pattern against a
	// matching and a non-matching event, archives and replays.
	b.click(`#nav a[data-section="buses"]`)
	b.waitPage("buses", "")
	b.waitFor("the list links shop", `document.querySelector('#bus-list a[href="#/buses/shop"]') !== null`)
	b.screenshot("buses")
	b.click(`#bus-list a[href="#/buses/shop"]`)
	b.waitPage("bus", "shop")
	b.waitText("#archives", "all")
	b.click(`button[data-rule="big"]`)
	b.waitFor("the rule's pattern is loaded", `document.querySelector("#pattern").value.includes("numeric")`)
	b.click("#pattern-test") // the sample event has a total of 250
	b.waitFor("the pattern test answers", `document.querySelector("#pattern-result .match") !== null`)
	if got := b.text("#pattern-result"); got != "✔ match" {
		t.Errorf("pattern test of a total of 250 against > 100 shows %q, want \"✔ match\"", got)
	}
	b.do("changing the event", chromedp.SetValue(chromedp.CSS("#pattern-event"),
		`{"version": "0", "id": "x", "detail-type": "Order Placed", "source": "shop", "account": "1", "time": "2026-01-02T03:04:05Z", "region": "local", "resources": [], "detail": {"total": 20}}`))
	b.click("#pattern-test")
	b.waitFor("the pattern test answers again", `document.querySelector("#pattern-result .match.no") !== null`)
	if got := b.text("#pattern-result"); got != "✘ no match" {
		t.Errorf("pattern test of a total of 20 against > 100 shows %q, want \"✘ no match\"", got)
	}
	// A replay of the archive, started from the page.
	b.click("#replay-start-btn")
	b.waitText("#replay-result", "replay replay-")
	b.waitFor("the replay is listed", `document.querySelectorAll("#replays tbody tr").length === 1`)
	replays, err := srv.Broker.Replays(t.Context())
	if err != nil || len(replays) != 1 || replays[0].Bus != "shop" || replays[0].Archive != "all" {
		t.Errorf("replays after starting one from the page: %+v, %v", replays, err)
	}
	b.do("scrolling to the top", chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
	b.screenshot("bus")
}

// TestDashboardLogin runs the dashboard against a server with
// authentication on: the page asks for a token, refuses a wrong one, loads
// with a right one, shows the server's 403 for an action the identity may
// not do (and the action does not happen), follows a topic over the
// WebSocket with the token, and forgets the token on sign-out.
func TestDashboardLogin(t *testing.T) {
	const adminToken, viewerToken = "admin-token-0123456789", "viewer-token-0123456789"
	srv := servertest.Start(t, "mem://", server.WithIdentities(
		server.Identity{Name: "admin", TokenHash: server.HashToken(adminToken),
			Allow: []server.Grant{{Actions: []server.Action{server.ActionAdmin}, Resource: "*"}}},
		server.Identity{Name: "viewer", TokenHash: server.HashToken(viewerToken),
			Allow: []server.Grant{{Actions: []server.Action{server.ActionPublish, server.ActionConsume}, Resource: "*"}}},
	))
	requireDashboard(t, srv.URL)
	b := newBrowser(t)
	admin := rest{t: t, url: srv.URL, token: adminToken}
	admin.call("PUT", "/v1/queues/jobs", "")
	admin.call("POST", "/v1/queues/jobs/messages", `{"body": "job 1"}`)
	admin.call("PUT", "/v1/topics/alerts", "")

	b.do("opening the dashboard", chromedp.Navigate(srv.URL+"/ui/"))
	b.do("waiting for the sign-in form", chromedp.WaitVisible(chromedp.CSS("#login-token")))
	b.screenshot("login")

	b.do("signing in with a wrong token", chromedp.SendKeys(chromedp.CSS("#login-token"), "not-the-token"))
	b.click("#login-submit")
	b.waitText("#login-error", "unauthenticated")
	b.screenshot("login-refused")

	b.do("signing in as viewer", chromedp.SetValue(chromedp.CSS("#login-token"), viewerToken))
	b.click("#login-submit")
	b.waitPage("overview", "")
	b.waitText("#session-status", "Signed in")
	b.do("the sign-out button shows", chromedp.WaitVisible(chromedp.CSS("#logout")))

	// The viewer may read the queue but not purge it.
	b.click(`#nav a[data-section="queues"]`)
	b.waitPage("queues", "")
	b.click(`#queue-list a[href="#/queues/jobs"]`)
	b.waitPage("queue", "jobs")
	b.waitFor("the peek shows the job", `document.querySelectorAll("#peek tbody tr").length === 1`)
	b.click("#purge")
	b.do("opening the purge dialog", chromedp.WaitVisible(chromedp.CSS("#confirm-input")))
	b.do("typing the queue's name", chromedp.SendKeys(chromedp.CSS("#confirm-input"), "jobs"))
	b.click("#confirm-ok")
	b.waitText("#purge-result", "permission_denied")
	b.waitText("#purge-result", "manage")
	if visible, _ := queueStats(t, srv.Broker, "jobs"); visible != 1 {
		t.Errorf("jobs after a refused purge: %d visible, want 1", visible)
	}
	b.screenshot("forbidden")

	// The live tail authenticates the WebSocket with the token.
	b.do("opening the topic", chromedp.Navigate(srv.URL+"/ui/#/topics/alerts"))
	b.waitPage("topic", "alerts")
	b.click("#tail-start")
	b.waitText("#tail-status", "live")
	if _, err := srv.Broker.Topic("alerts").Publish(t.Context(), courier.Message{Body: []byte("disk full")}); err != nil {
		t.Fatal(err)
	}
	b.waitText("#tail-list", "disk full")

	b.click("#logout")
	b.do("waiting for the sign-in form", chromedp.WaitVisible(chromedp.CSS("#login-token")))
	b.waitFor("the token is forgotten", `sessionStorage.getItem("courier.token") === null`)
}
