package server

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/courier-io/courier/driver"
	"github.com/courier-io/courier/internal/httpapi"
)

// Action is what a request does to a resource. An Identity's Grants
// allow actions on the resources that match their patterns.
type Action string

// The actions. Every endpoint needs one of them (see accessTable and
// docs/server.md); ActionAdmin covers the other three.
const (
	// ActionAdmin allows every action on the matching resources. On "*"
	// it also allows what concerns every resource at once: the lists of
	// all queues, topics, streams and buses, and replays.
	ActionAdmin Action = "admin"
	// ActionPublish allows writing messages: queue send, topic publish,
	// stream append, bus put-events and CloudEvents.
	ActionPublish Action = "publish"
	// ActionConsume allows reading and settling messages: queue and
	// subscription receive, ack, nack and extend, topic tail, stream read,
	// consumer-group join, heartbeat, poll, commit and leave, handler
	// target receive and settle.
	ActionConsume Action = "consume"
	// ActionManage allows changing resources: create, update, delete,
	// purge, redrive, subscriptions, rules and targets, archives, replays,
	// group offset resets and deletes.
	ActionManage Action = "manage"
)

// Actions lists the actions in the order the docs give them.
var Actions = []Action{ActionAdmin, ActionPublish, ActionConsume, ActionManage}

// ParseAction returns the action named s, or an error listing the
// accepted names.
func ParseAction(s string) (Action, error) {
	if a := Action(s); slices.Contains(Actions, a) {
		return a, nil
	}
	return "", fmt.Errorf("unknown action %q; accepted are admin, publish, consume and manage", s)
}

// Grant allows Actions on the resources that match Resource: "*" (every
// resource), or KIND:NAME where KIND is queue, topic, stream or bus and
// NAME is a name in which each "*" matches any run of characters:
// "queue:orders-*", "topic:*", "stream:clicks", "bus:default".
type Grant struct {
	Actions  []Action
	Resource string
}

// resourceKinds are the kinds of resource a grant can name.
var resourceKinds = []string{"queue", "topic", "stream", "bus"}

// maxResourceLen bounds a resource pattern's name part.
const maxResourceLen = 256

// ValidateResource checks a resource pattern of a Grant.
func ValidateResource(pattern string) error {
	if pattern == "*" {
		return nil
	}
	kind, name, ok := strings.Cut(pattern, ":")
	if !ok {
		return fmt.Errorf("%q is not a resource pattern: write \"*\" or KIND:NAME, as in \"queue:orders-*\" (kinds: queue, topic, stream, bus)", pattern)
	}
	if !slices.Contains(resourceKinds, kind) {
		return fmt.Errorf("unknown resource kind %q in %q; accepted are queue, topic, stream and bus", kind, pattern)
	}
	if name == "" {
		return fmt.Errorf("%q names no resource; write %s:* for every %s", pattern, kind, kind)
	}
	if len(name) > maxResourceLen {
		return fmt.Errorf("the name in %q is %d characters long; the limit is %d", pattern, len(name), maxResourceLen)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '*') {
			return fmt.Errorf("%q has character %q in its name; allowed are letters, digits, '-', '_', '.' and the wildcard '*'", pattern, c)
		}
	}
	return nil
}

// matchGlob reports whether s matches pattern, in which each '*' matches
// any run of characters (including none) and every other byte itself.
func matchGlob(pattern, s string) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case p < len(pattern) && pattern[p] == s[i]:
			p++
			i++
		case star >= 0:
			// Let the last star take one more byte and retry.
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// allows reports whether the grants allow one of actions on resource
// ("queue:orders", or "queue:*" for every queue).
func allows(grants []Grant, actions []Action, resource string) bool {
	for _, g := range grants {
		if !matchGlob(g.Resource, resource) {
			continue
		}
		for _, a := range g.Actions {
			if a == ActionAdmin || slices.Contains(actions, a) {
				return true
			}
		}
	}
	return false
}

// access is what a route asks of the identity that calls it.
type access struct {
	// kind is the resource kind ("queue", "topic", "stream", "bus"); ""
	// for a route about no one resource, which needs only an
	// authenticated identity.
	kind string
	// param is the path value that names the resource; "" means every
	// resource of the kind ("queue:*").
	param string
	// actions lists the actions of which one suffices (admin always does).
	actions []Action
	// public routes need no credentials.
	public bool
	// long marks long polls and streams: they count against
	// Limits.MaxStreams.
	long bool
	// surface labels the route's metrics ("rest" when empty).
	surface string
}

// resource returns the resource r is about, as grants name it.
func (a access) resource(r *http.Request) string {
	if a.param == "" {
		return a.kind + ":*"
	}
	return a.kind + ":" + r.PathValue(a.param)
}

// describe is what reading a resource's description needs: any action on it.
var describe = []Action{ActionPublish, ActionConsume, ActionManage}

// needs is the access of a route about the resource of kind named by the
// path value param.
func needs(kind, param string, actions ...Action) access {
	return access{kind: kind, param: param, actions: actions}
}

// stream marks a long poll or a stream.
func (a access) stream() access {
	a.long = true
	return a
}

// authenticated is the access of a route about no one resource.
var authenticated = access{}

// open is the access of a route that needs no credentials.
var open = access{public: true}

// accessTable is the one table of what every endpoint needs: the action
// and the resource, taken from the path. Every route registered on the
// server must have a row (TestAccessTableCoversRoutes fails otherwise,
// and with authentication on, a route without a row answers 403).
// docs/server.md prints this table (TestAccessTableDocumented).
//
// Lists of all resources of a kind need the action on KIND:* (a grant
// of "queue:orders-*" does not list every queue). Replays are global
// objects: they need manage on bus:*. Endpoints that name a second
// resource in their body check it in the handler: a redrive destination,
// a subscription's queue and a rule target's destination need publish
// on it (authorizeBody).
var accessTable = []struct {
	pattern string
	access  access
}{
	{"GET /healthz", open},
	{"GET /readyz", authenticated},  // open with WithPublicReadyz
	{"GET /metrics", authenticated}, // open with WithPublicMetrics
	{"GET /v1/capabilities", authenticated},
	{"GET /v1/history", authenticated},
	// The dashboard's files (ui.go) hold no data: the page asks the API
	// with the user's token, and the API checks each request.
	{"GET /ui", open},
	{"GET /ui/", open},

	{"GET /v1/queues", needs("queue", "", describe...)},
	{"PUT /v1/queues/{name}", needs("queue", "name", ActionManage)},
	{"PATCH /v1/queues/{name}", needs("queue", "name", ActionManage)},
	{"GET /v1/queues/{name}", needs("queue", "name", describe...)},
	{"GET /v1/queues/{name}/peek", needs("queue", "name", ActionConsume)},
	{"DELETE /v1/queues/{name}", needs("queue", "name", ActionManage)},
	{"POST /v1/queues/{name}/purge", needs("queue", "name", ActionManage)},
	{"POST /v1/queues/{name}/messages", needs("queue", "name", ActionPublish)},
	{"POST /v1/queues/{name}/receive", needs("queue", "name", ActionConsume).stream()},
	{"POST /v1/queues/{name}/ack", needs("queue", "name", ActionConsume)},
	{"POST /v1/queues/{name}/nack", needs("queue", "name", ActionConsume)},
	{"POST /v1/queues/{name}/extend", needs("queue", "name", ActionConsume)},
	{"POST /v1/queues/{name}/redrive", needs("queue", "name", ActionManage)},

	{"GET /v1/topics", needs("topic", "", describe...)},
	{"PUT /v1/topics/{name}", needs("topic", "name", ActionManage)},
	{"GET /v1/topics/{name}", needs("topic", "name", describe...)},
	{"POST /v1/topics/{name}/test-filter", needs("topic", "name", describe...)},
	{"DELETE /v1/topics/{name}", needs("topic", "name", ActionManage)},
	{"POST /v1/topics/{name}/messages", needs("topic", "name", ActionPublish)},
	{"GET /v1/topics/{name}/tail", needs("topic", "name", ActionConsume).stream()},
	{"GET /v1/topics/{name}/subscriptions", needs("topic", "name", describe...)},
	{"PUT /v1/topics/{name}/subscriptions/{sub}", needs("topic", "name", ActionManage)},
	{"GET /v1/topics/{name}/subscriptions/{sub}", needs("topic", "name", describe...)},
	{"DELETE /v1/topics/{name}/subscriptions/{sub}", needs("topic", "name", ActionManage)},
	// The owner of an HTTP endpoint confirms its subscription by visiting
	// the URL the confirmation message names: the unguessable token in
	// it is the credential.
	{"GET /v1/topics/{name}/subscriptions/{sub}/confirm", open},
	{"POST /v1/topics/{name}/subscriptions/{sub}/confirm", open},
	{"POST /v1/topics/{name}/subscriptions/{sub}/receive", needs("topic", "name", ActionConsume).stream()},
	{"POST /v1/topics/{name}/subscriptions/{sub}/ack", needs("topic", "name", ActionConsume)},
	{"POST /v1/topics/{name}/subscriptions/{sub}/nack", needs("topic", "name", ActionConsume)},
	{"POST /v1/topics/{name}/subscriptions/{sub}/extend", needs("topic", "name", ActionConsume)},

	{"GET /v1/streams", needs("stream", "", describe...)},
	{"PUT /v1/streams/{name}", needs("stream", "name", ActionManage)},
	{"PATCH /v1/streams/{name}", needs("stream", "name", ActionManage)},
	{"GET /v1/streams/{name}", needs("stream", "name", describe...)},
	{"DELETE /v1/streams/{name}", needs("stream", "name", ActionManage)},
	{"POST /v1/streams/{name}/records", needs("stream", "name", ActionPublish)},
	{"POST /v1/streams/{name}/read", needs("stream", "name", ActionConsume).stream()},
	{"POST /v1/streams/{name}/groups/{group}/join", needs("stream", "name", ActionConsume)},
	{"POST /v1/streams/{name}/groups/{group}/heartbeat", needs("stream", "name", ActionConsume)},
	{"POST /v1/streams/{name}/groups/{group}/poll", needs("stream", "name", ActionConsume).stream()},
	{"POST /v1/streams/{name}/groups/{group}/commit", needs("stream", "name", ActionConsume)},
	{"POST /v1/streams/{name}/groups/{group}/leave", needs("stream", "name", ActionConsume)},
	{"POST /v1/streams/{name}/groups/{group}/reset", needs("stream", "name", ActionManage)},
	{"DELETE /v1/streams/{name}/groups/{group}", needs("stream", "name", ActionManage)},

	{"GET /v1/buses", needs("bus", "", describe...)},
	{"PUT /v1/buses/{name}", needs("bus", "name", ActionManage)},
	{"GET /v1/buses/{name}", needs("bus", "name", describe...)},
	{"DELETE /v1/buses/{name}", needs("bus", "name", ActionManage)},
	{"POST /v1/buses/{name}/events", needs("bus", "name", ActionPublish)},
	{"POST /v1/buses/{name}/cloudevents", needs("bus", "name", ActionPublish)},
	{"POST /v1/buses/{name}/test-pattern", needs("bus", "name", describe...)},
	{"GET /v1/buses/{name}/rules", needs("bus", "name", describe...)},
	{"PUT /v1/buses/{name}/rules/{rule}", needs("bus", "name", ActionManage)},
	{"GET /v1/buses/{name}/rules/{rule}", needs("bus", "name", describe...)},
	{"DELETE /v1/buses/{name}/rules/{rule}", needs("bus", "name", ActionManage)},
	{"PUT /v1/buses/{name}/rules/{rule}/targets", needs("bus", "name", ActionManage)},
	{"DELETE /v1/buses/{name}/rules/{rule}/targets", needs("bus", "name", ActionManage)},
	{"DELETE /v1/buses/{name}/rules/{rule}/targets/{id}", needs("bus", "name", ActionManage)},
	{"POST /v1/buses/{name}/rules/{rule}/targets/{id}/receive", needs("bus", "name", ActionConsume).stream()},
	{"POST /v1/buses/{name}/rules/{rule}/targets/{id}/settle", needs("bus", "name", ActionConsume)},
	{"GET /v1/buses/{name}/archives", needs("bus", "name", describe...)},
	{"PUT /v1/buses/{name}/archives/{archive}", needs("bus", "name", ActionManage)},
	{"GET /v1/buses/{name}/archives/{archive}", needs("bus", "name", describe...)},
	{"DELETE /v1/buses/{name}/archives/{archive}", needs("bus", "name", ActionManage)},
	{"GET /v1/replays", needs("bus", "", ActionManage)},
	{"POST /v1/replays", needs("bus", "", ActionManage)},
	{"GET /v1/replays/{name}", needs("bus", "", ActionManage)},
	{"POST /v1/replays/{name}/cancel", needs("bus", "", ActionManage)},

	// WebSocket sessions: any identity may connect; each frame that
	// publishes, subscribes or acks is checked against the resource it
	// names (Server.authorize).
	{"GET /v1/ws", access{long: true, surface: "websocket"}},

	// AWS-compatible endpoints (WithAWS, aws.go): the gateway verifies
	// the SigV4 signature itself and checks each action against the
	// grants of the access key's identity (docs/aws.md).
	{"POST /{$}", access{public: true, surface: "aws"}},
	{"GET /{$}", access{public: true, surface: "aws"}},
	{"POST /{account}/{queue}", access{public: true, surface: "aws"}},
	{"GET /aws/sns/signing-cert.pem", open}, // a public certificate

	// Everything else answers 404, to authenticated callers only.
	{"/", authenticated},
	// gRPC (grpc.go): one route per service for short calls, one per stream
	// or long poll; each call checks the resource its request names
	// (grpcAPI.allow) with the action of the matching REST endpoint.
	{"/courier.v1.QueueService/", access{surface: "grpc"}},
	{"/courier.v1.QueueService/Receive", access{long: true, surface: "grpc"}},
	{"/courier.v1.QueueService/Pull", access{long: true, surface: "grpc"}},
	{"/courier.v1.TopicService/", access{surface: "grpc"}},
	{"/courier.v1.TopicService/ReceiveSubscription", access{long: true, surface: "grpc"}},
	{"/courier.v1.TopicService/Tail", access{long: true, surface: "grpc"}},
	{"/courier.v1.TopicService/PullSubscription", access{long: true, surface: "grpc"}},
	{"/courier.v1.StreamService/", access{surface: "grpc"}},
	{"/courier.v1.StreamService/Read", access{long: true, surface: "grpc"}},
	{"/courier.v1.StreamService/Poll", access{long: true, surface: "grpc"}},
	{"/courier.v1.StreamService/Fetch", access{long: true, surface: "grpc"}},
	{"/courier.v1.BusService/", access{surface: "grpc"}},
	{"/courier.v1.BusService/ReceiveTarget", access{long: true, surface: "grpc"}},
	{"/courier.v1.ServerService/", access{surface: "grpc"}},
	{"/courier.v1.ConsumerService/", access{long: true, surface: "grpc"}},
	{"/grpc.reflection.v1.ServerReflection/", access{long: true, surface: "grpc"}},
	{"/grpc.reflection.v1alpha.ServerReflection/", access{long: true, surface: "grpc"}},
}

// routeAccess is accessTable by pattern.
var routeAccess = func() map[string]access {
	m := make(map[string]access, len(accessTable))
	for _, row := range accessTable {
		m[row.pattern] = row.access
	}
	return m
}()

// permissionDenied is the error of an identity that lacks all of actions
// on resource.
func permissionDenied(id *identity, actions []Action, resource string) error {
	want := make([]string, len(actions))
	for i, a := range actions {
		want[i] = string(a)
	}
	return fmt.Errorf("%w: %s may not do this: it needs %s on %s (or admin)",
		httpapi.ErrPermissionDenied, id.describe(), strings.Join(want, " or "), resource)
}

// authorize checks that the identity of ctx (set by the route guard) may
// do action on the resource kind:name. It returns nil when
// authentication is off, and a permission_denied error otherwise. The
// WebSocket session calls it for each frame; handlers call it for
// resources named in a request body.
func (s *Server) authorize(ctx context.Context, action Action, kind, name string) error {
	return s.authorizeAny(ctx, []Action{action}, kind, name)
}

// authorizeAny is authorize for a request that any one of actions
// allows (reading a description: describe).
func (s *Server) authorizeAny(ctx context.Context, actions []Action, kind, name string) error {
	id := identityFrom(ctx)
	if id == nil {
		// No guard ran: only when authentication is off can a handler
		// run without one.
		if s.auth == nil {
			return nil
		}
		return fmt.Errorf("%w: no identity on this request", httpapi.ErrUnauthenticated)
	}
	resource := kind + ":" + name
	if allows(id.grants, actions, resource) {
		return nil
	}
	return permissionDenied(id, actions, resource)
}

// destination is a resource that a request's body makes the server
// write to: kind ("queue", ...) and name.
type destination struct{ kind, name string }

// authorizeDestinations checks that the request's identity may publish to
// each destination with a name: a queue's dead-letter queue, a redrive's
// destination, a subscription's queue, a rule target. Without the check,
// manage on one resource would be a way to write to another.
func (s *Server) authorizeDestinations(ctx context.Context, dests ...destination) error {
	for _, d := range dests {
		if d.name == "" {
			continue
		}
		if err := s.authorize(ctx, ActionPublish, d.kind, d.name); err != nil {
			return err
		}
	}
	return nil
}

// targetDestinations lists where targets deliver: their queue, topic,
// stream or bus and their dead-letter queue.
func targetDestinations(targets []driver.Target) []destination {
	var out []destination
	for _, t := range targets {
		out = append(out, destination{"queue", t.Queue}, destination{"topic", t.Topic},
			destination{"stream", t.Stream}, destination{"bus", t.Bus}, destination{"queue", t.DeadLetterQueue})
	}
	return out
}
