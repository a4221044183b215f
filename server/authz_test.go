package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/internal/httpapi"
)

// newTestServer serves a fresh mem:// broker with opts; the test's
// cleanup drains it and closes the broker.
func newTestServer(t *testing.T, opts ...Option) *Server {
	t.Helper()
	b, err := courier.Open(t.Context(), "mem://")
	if err != nil {
		t.Fatal(err)
	}
	s := New(b, opts...)
	t.Cleanup(func() {
		s.Drain()
		if err := b.Close(); err != nil {
			t.Errorf("closing the broker: %v", err)
		}
	})
	return s
}

// call makes a request to s in-process with the bearer token (none when
// empty) and returns the recorded answer.
func call(s *Server, method, path, token, body string) *httptest.ResponseRecorder {
	var req *http.Request
	if body == "" {
		req = httptest.NewRequest(method, path, nil)
	} else {
		req = httptest.NewRequest(method, path, strings.NewReader(body))
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	s.ServeHTTP(w, req)
	return w
}

// errorCode returns the error code of an answer ("" if it is none).
func errorCode(w *httptest.ResponseRecorder) string {
	var e httpapi.ErrorResponse
	_ = json.Unmarshal(w.Body.Bytes(), &e)
	if e.Error.Code != "" {
		return e.Error.Code
	}
	// The routes of the gRPC surface answer in the request's protocol: a
	// JSON POST is a Connect unary call, whose error is {"code": ...}.
	var connectErr struct {
		Code string `json:"code"`
	}
	_ = json.Unmarshal(w.Body.Bytes(), &connectErr)
	return connectErr.Code
}

// TestAccessTableCoversRoutes checks that every route the server
// registers has a row in accessTable: a route added without one fails
// here (and answers 403 with authentication on).
func TestAccessTableCoversRoutes(t *testing.T) {
	s := newTestServer(t)
	if len(s.mux.patterns) < 60 {
		t.Fatalf("only %d routes recorded: %v", len(s.mux.patterns), s.mux.patterns)
	}
	for _, p := range s.mux.patterns {
		if _, ok := routeAccess[p]; !ok {
			t.Errorf("route %q has no row in accessTable (server/authz.go): say which action on which resource it needs", p)
		}
	}
	seen := map[string]bool{}
	for _, row := range accessTable {
		if seen[row.pattern] {
			t.Errorf("accessTable has two rows for %q", row.pattern)
		}
		seen[row.pattern] = true
		if row.access.kind != "" && len(row.access.actions) == 0 {
			t.Errorf("accessTable row %q names a resource but no action", row.pattern)
		}
	}
}

// matrixPath makes a concrete request path of a route pattern.
func matrixPath(pattern string) (method, path string) {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok {
		method, path = http.MethodGet, pattern
	}
	if path == "/" {
		return method, "/no/such/endpoint"
	}
	r := strings.NewReplacer("{name}", "orders", "{sub}", "s1", "{group}", "g1", "{rule}", "r1", "{id}", "t1", "{archive}", "a1")
	return method, r.Replace(path)
}

// matrixToken is the bearer token of the identity with actions on
// resource in the matrix.
func matrixToken(actions []Action, resource string) string {
	names := make([]string, len(actions))
	for i, a := range actions {
		names[i] = string(a)
	}
	return "token-" + strings.Join(names, "+") + "@" + resource
}

// without returns the actions other than admin and those of actions.
func without(actions []Action) []Action {
	var out []Action
	for _, a := range Actions[1:] {
		if !slices.Contains(actions, a) {
			out = append(out, a)
		}
	}
	return out
}

// TestAuthMatrix walks every registered route with authentication on ×
// {no token, a wrong token, a token without the route's permission, a
// token with it} and checks the answer: 401 with the Bearer challenge,
// 401, 403 permission_denied, and neither 401 nor 403. Public routes
// answer all four; routes about no one resource need only a valid token.
func TestAuthMatrix(t *testing.T) {
	// One identity per (actions, resource) the table asks for, and per
	// the actions that fall short of it on the same resource.
	ids := map[string]Identity{}
	add := func(actions []Action, resource string) {
		tok := matrixToken(actions, resource)
		ids[tok] = Identity{Name: tok, TokenHash: HashToken(tok), Allow: []Grant{
			{Actions: actions, Resource: resource},
			// Everything on another resource of every kind grants nothing here.
			{Actions: []Action{ActionAdmin}, Resource: "queue:other"},
			{Actions: []Action{ActionAdmin}, Resource: "topic:other-*"},
			{Actions: []Action{ActionAdmin}, Resource: "stream:x"},
			{Actions: []Action{ActionAdmin}, Resource: "bus:orders-*"},
		}}
	}
	resourceOf := func(a access) string {
		if a.param == "" {
			return a.kind + ":*"
		}
		return a.kind + ":orders"
	}
	for _, row := range accessTable {
		if a := row.access; a.kind != "" {
			add(a.actions[:1], resourceOf(a))
			if w := without(a.actions); len(w) > 0 {
				add(w, resourceOf(a))
			}
		}
	}
	// An identity with everything, but only on other resources.
	ids[noneToken] = Identity{Name: "none", TokenHash: HashToken(noneToken), Allow: []Grant{
		{Actions: []Action{ActionAdmin}, Resource: "queue:other"},
		{Actions: []Action{ActionAdmin}, Resource: "topic:x*"},
		{Actions: []Action{ActionAdmin}, Resource: "stream:orders-*"},
		{Actions: []Action{ActionAdmin}, Resource: "bus:default"},
	}}
	list := make([]Identity, 0, len(ids))
	for _, id := range ids {
		list = append(list, id)
	}
	s := newTestServer(t, WithIdentities(list...))
	anyToken := matrixToken([]Action{ActionConsume}, "queue:orders")

	for _, pattern := range s.mux.patterns {
		acc, ok := routeAccess[pattern]
		if !ok {
			t.Errorf("%s: no accessTable row", pattern)
			continue
		}
		method, path := matrixPath(pattern)
		body := ""
		if method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch {
			// Refused by every decoder: nothing is created, so no tail
			// or poll finds something to wait on.
			body = `{"matrix_no_such_field": true}`
		}
		t.Run(strings.ReplaceAll(pattern, "/", "_"), func(t *testing.T) {
			withToken := anyToken
			if acc.kind != "" {
				withToken = matrixToken(acc.actions[:1], resourceOf(acc))
			}
			type matrixCase struct {
				name, token string
				want        int // 0: neither 401 nor 403
			}
			cases := []matrixCase{
				{"no token", "", http.StatusUnauthorized},
				{"wrong token", "not-a-token", http.StatusUnauthorized},
				{"with permission", withToken, 0},
			}
			if acc.kind != "" {
				// Routes about no one resource need only a valid token:
				// no token lacks their permission.
				tok := noneToken // any action will do: none on this resource
				if w := without(acc.actions); len(w) > 0 {
					tok = matrixToken(w, resourceOf(acc))
				}
				cases = append(cases, matrixCase{"without permission", tok, http.StatusForbidden})
			}
			for _, c := range cases {
				want := c.want
				if acc.public {
					want = 0
				}
				w := call(s, method, path, c.token, body)
				switch {
				case want == 0 && (w.Code == http.StatusUnauthorized || w.Code == http.StatusForbidden):
					t.Errorf("%s: %s %s answered %d %s", c.name, method, path, w.Code, w.Body)
				case want != 0 && w.Code != want:
					t.Errorf("%s: %s %s answered %d %s, want %d", c.name, method, path, w.Code, w.Body, want)
				case want == http.StatusUnauthorized:
					if errorCode(w) != "unauthenticated" || w.Header().Get("WWW-Authenticate") != `Bearer realm="courier"` {
						t.Errorf("%s: 401 with code %q and WWW-Authenticate %q", c.name, errorCode(w), w.Header().Get("WWW-Authenticate"))
					}
				case want == http.StatusForbidden:
					if errorCode(w) != "permission_denied" {
						t.Errorf("%s: 403 with code %q: %s", c.name, errorCode(w), w.Body)
					}
				}
			}
		})
	}
}

// noneToken is the token of TestAuthMatrix's identity that may do
// everything, on other resources only.
const noneToken = "token-none"

func TestMatchGlob(t *testing.T) {
	for _, c := range []struct {
		pattern, s string
		want       bool
	}{
		{"*", "queue:orders", true},
		{"queue:*", "queue:orders", true},
		{"queue:*", "queue:*", true}, // a grant on every queue covers the list of all
		{"queue:orders-*", "queue:orders-eu", true},
		{"queue:orders-*", "queue:orders-", true},
		{"queue:orders-*", "queue:orders", false},
		{"queue:orders-*", "queue:*", false}, // a prefix grant does not cover every queue
		{"queue:orders-*", "topic:orders-eu", false},
		{"queue:*-dlq", "queue:orders-dlq", true},
		{"queue:*-dlq", "queue:orders-dlq-2", false},
		{"queue:a*b*c", "queue:aXbYc", true},
		{"queue:a*b*c", "queue:aXbYcZ", false},
		{"queue:a**", "queue:a", true},
		{"queue:orders", "queue:orders", true},
		{"queue:orders", "queue:orders2", false},
		{"stream:clicks", "stream:click", false},
		{"", "", true},
		{"", "queue:x", false},
	} {
		if got := matchGlob(c.pattern, c.s); got != c.want {
			t.Errorf("matchGlob(%q, %q) = %v, want %v", c.pattern, c.s, got, c.want)
		}
	}
}

func TestValidateResource(t *testing.T) {
	for _, ok := range []string{"*", "queue:*", "queue:orders-*", "topic:*", "stream:clicks", "bus:default", "queue:a.b_c-d"} {
		if err := ValidateResource(ok); err != nil {
			t.Errorf("ValidateResource(%q) = %v", ok, err)
		}
	}
	for bad, want := range map[string]string{
		"":                                  "not a resource pattern",
		"orders":                            "not a resource pattern",
		"queues:orders":                     "unknown resource kind",
		"queue:":                            "names no resource",
		"queue:orders/eu":                   "character '/'",
		"queue:" + strings.Repeat("x", 257): "the limit is 256",
	} {
		if err := ValidateResource(bad); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ValidateResource(%q) = %v, want an error with %q", bad, err, want)
		}
	}
}

func TestIdentityValidate(t *testing.T) {
	good := Identity{Name: "orders", TokenHash: HashToken("x"), Allow: []Grant{{Actions: []Action{ActionPublish}, Resource: "queue:orders"}}}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for field, mutate := range map[string]func(*Identity){
		"name":                func(id *Identity) { id.Name = "" },
		"hash":                func(id *Identity) { id.TokenHash = "plaintext-token" },
		"client_certs[0]":     func(id *Identity) { id.ClientCerts = []string{"orders"} },
		"allow":               func(id *Identity) { id.Allow = nil },
		"allow[0].actions":    func(id *Identity) { id.Allow = []Grant{{Resource: "*"}} },
		"allow[0].actions[1]": func(id *Identity) { id.Allow = []Grant{{Actions: []Action{ActionAdmin, "write"}, Resource: "*"}} },
		"allow[0].resource":   func(id *Identity) { id.Allow = []Grant{{Actions: []Action{ActionAdmin}, Resource: "queues:*"}} },
		"rate":                func(id *Identity) { id.Rate = -1 },
		"burst":               func(id *Identity) { id.Burst = -1 },
	} {
		id := good
		mutate(&id)
		err := id.Validate()
		if err == nil || !strings.HasPrefix(err.Error(), field+": ") {
			t.Errorf("%s: Validate() = %v, want an error on %s", field, err, field)
		}
	}
	hashOnly := Identity{Name: "c", Allow: good.Allow}
	if err := hashOnly.Validate(); err == nil {
		t.Error("an identity with neither token nor certificate validates")
	}
	hashOnly.ClientCerts = []string{"uri:spiffe://example.org/orders"}
	if err := hashOnly.Validate(); err != nil {
		t.Errorf("a certificate-only identity: %v", err)
	}
}

// TestAuthOff checks that without WithIdentities every route is open and
// authorize allows everything.
func TestAuthOff(t *testing.T) {
	s := newTestServer(t)
	if w := call(s, "PUT", "/v1/queues/q", "", ""); w.Code != http.StatusCreated {
		t.Fatalf("create without auth: %d %s", w.Code, w.Body)
	}
	if w := call(s, "GET", "/v1/queues/q", "garbage", ""); w.Code != http.StatusOK {
		t.Fatalf("a token is ignored without auth: %d %s", w.Code, w.Body)
	}
	if err := s.authorize(t.Context(), ActionManage, "queue", "q"); err != nil {
		t.Fatal(err)
	}
}

// TestUnknownRouteClosed checks that a route registered without an
// accessTable row is refused with authentication on, even to admin.
func TestUnknownRouteClosed(t *testing.T) {
	s := newTestServer(t, WithIdentities(Identity{Name: "admin", TokenHash: HashToken("admin-token"),
		Allow: []Grant{{Actions: []Action{ActionAdmin}, Resource: "*"}}}))
	s.mux.HandleFunc("GET /v1/unlisted", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	if w := call(s, "GET", "/v1/unlisted", "admin-token", ""); w.Code != http.StatusForbidden || errorCode(w) != "permission_denied" {
		t.Fatalf("unlisted route: %d %s", w.Code, w.Body)
	}
	if w := call(s, "GET", "/v1/queues", "admin-token", ""); w.Code != http.StatusOK {
		t.Fatalf("admin lists queues: %d %s", w.Code, w.Body)
	}
}

// TestTokenForms checks where a token is taken from: the Authorization
// header (Bearer, any case), and ?access_token= on /v1/ws only.
func TestTokenForms(t *testing.T) {
	s := newTestServer(t, WithIdentities(Identity{Name: "reader", TokenHash: HashToken("s3cret"),
		Allow: []Grant{{Actions: []Action{ActionConsume}, Resource: "*"}}}))
	for _, c := range []struct {
		header, query string
		path          string
		want          int
	}{
		{"Bearer s3cret", "", "/v1/capabilities", http.StatusOK},
		{"bearer s3cret", "", "/v1/capabilities", http.StatusOK},
		{"Basic czNjcmV0", "", "/v1/capabilities", http.StatusUnauthorized},
		{"Bearer", "", "/v1/capabilities", http.StatusUnauthorized},
		{"s3cret", "", "/v1/capabilities", http.StatusUnauthorized},
		{"", "access_token=s3cret", "/v1/capabilities", http.StatusUnauthorized},   // only on /v1/ws
		{"Bearer wrong", "access_token=s3cret", "/v1/ws", http.StatusUnauthorized}, // the header wins
		{"", "access_token=wrong", "/v1/ws", http.StatusUnauthorized},
	} {
		target := c.path
		if c.query != "" {
			target += "?" + c.query
		}
		req := httptest.NewRequest("GET", target, nil)
		if c.header != "" {
			req.Header.Set("Authorization", c.header)
		}
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		if w.Code != c.want {
			t.Errorf("%q %s: %d %s, want %d", c.header, target, w.Code, w.Body, c.want)
		}
	}
	// A valid ?access_token= on /v1/ws authenticates the upgrade: the
	// answer is the WebSocket handler's (no upgrade headers here), not 401.
	w := call(s, "GET", "/v1/ws?access_token=s3cret", "", "")
	if w.Code == http.StatusUnauthorized || w.Code == http.StatusForbidden {
		t.Errorf("/v1/ws with ?access_token=: %d %s", w.Code, w.Body)
	}
}

// TestBodyDestinations checks that a resource named in a body needs
// publish on it: a dead-letter queue, a redrive destination, a
// subscription's queue, a rule target.
func TestBodyDestinations(t *testing.T) {
	admin := Identity{Name: "admin", TokenHash: HashToken("admin-token"), Allow: []Grant{{Actions: []Action{ActionAdmin}, Resource: "*"}}}
	ops := Identity{Name: "ops", TokenHash: HashToken("ops-token"), Allow: []Grant{
		{Actions: []Action{ActionManage}, Resource: "*"},
		{Actions: []Action{ActionPublish}, Resource: "queue:open-*"},
	}}
	s := newTestServer(t, WithIdentities(admin, ops))
	for _, q := range []string{"src", "secret", "open-dlq"} {
		if w := call(s, "PUT", "/v1/queues/"+q, "admin-token", ""); w.Code != http.StatusCreated {
			t.Fatalf("create %s: %d %s", q, w.Code, w.Body)
		}
	}
	call(s, "PUT", "/v1/topics/t", "admin-token", "")
	call(s, "PUT", "/v1/buses/b", "admin-token", "")
	for _, c := range []struct {
		name, method, path, body string
	}{
		{"queue dead-letter queue", "PATCH", "/v1/queues/src", `{"max_receives": 3, "dead_letter_queue": "%s"}`},
		{"redrive destination", "POST", "/v1/queues/src/redrive", `{"destination": "%s"}`},
		{"subscription queue", "PUT", "/v1/topics/t/subscriptions/s", `{"kind": "queue", "queue": "%s"}`},
		{"rule target", "PUT", "/v1/buses/b/rules/r", `{"pattern": {"source": ["x"]}, "targets": [{"id": "q", "kind": "queue", "queue": "%s"}]}`},
		{"added target", "PUT", "/v1/buses/b/rules/r/targets", `{"targets": [{"id": "q2", "kind": "queue", "queue": "%s"}]}`},
	} {
		w := call(s, c.method, c.path, "ops-token", fmt.Sprintf(c.body, "secret"))
		if w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "queue:secret") {
			t.Errorf("%s into queue:secret: %d %s, want 403 naming queue:secret", c.name, w.Code, w.Body)
		}
		w = call(s, c.method, c.path, "ops-token", fmt.Sprintf(c.body, "open-dlq"))
		if w.Code >= 300 {
			t.Errorf("%s into queue:open-dlq: %d %s", c.name, w.Code, w.Body)
		}
	}
}

// docRow is the line of the action table of docs/server.md for a row of
// accessTable.
func docRow(pattern string, a access) string {
	actions, resource := "any identity", "—"
	switch {
	case a.surface == "aws":
		actions = "SigV4 signature; each action's own (docs/aws.md)"
	case a.public:
		actions = "none (open)"
	case a.kind != "":
		names := make([]string, len(a.actions))
		for i, x := range a.actions {
			names[i] = string(x)
		}
		actions = strings.Join(names, ", ")
		if len(names) > 1 {
			actions = strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
		}
		name := "*"
		if a.param != "" {
			name = "{" + a.param + "}"
		}
		resource = "`" + a.kind + ":" + name + "`"
	}
	long := ""
	if a.long {
		long = "yes"
	}
	return fmt.Sprintf("| `%s` | %s | %s | %s |", pattern, actions, resource, long)
}

// TestAccessTableDocumented checks that docs/server.md prints every row
// of accessTable as it is.
func TestAccessTableDocumented(t *testing.T) {
	data, err := os.ReadFile("../docs/server.md")
	if err != nil {
		t.Fatal(err)
	}
	var missing []string
	for _, row := range accessTable {
		if line := docRow(row.pattern, row.access); !strings.Contains(string(data), line+"\n") {
			missing = append(missing, line)
		}
	}
	if len(missing) > 0 {
		t.Errorf("docs/server.md lacks these rows of the action table (or has them otherwise):\n%s", strings.Join(missing, "\n"))
	}
}
