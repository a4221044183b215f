package sns

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	courier "github.com/courier-io/courier"
	"github.com/courier-io/courier/awsapi"
	"github.com/courier-io/courier/driver"
)

// MaxFilterPolicies is how many subscriptions of a topic may have a
// filter policy (SNS's default quota).
const MaxFilterPolicies = 200

// pendingARN is what Subscribe returns for a subscription that waits for
// confirmation, unless ReturnSubscriptionArn is true.
const pendingARN = "pending confirmation"

// subAttrNames are the subscription attributes Subscribe and
// SetSubscriptionAttributes accept.
var subAttrNames = map[string]bool{
	"FilterPolicy": true, "FilterPolicyScope": true, "RawMessageDelivery": true,
	"RedrivePolicy": true, "DeliveryPolicy": true,
}

// redrivePolicy is a subscription's RedrivePolicy attribute.
type redrivePolicy struct {
	DeadLetterTargetArn string `json:"deadLetterTargetArn"`
}

// checkSubAttr validates one subscription attribute of a subscription
// over protocol (attrs are all of its attributes, for the filter scope).
func (s *Service) checkSubAttr(ctx context.Context, name, value, protocol string, attrs map[string]string) error {
	if !subAttrNames[name] {
		if name == "SubscriptionRoleArn" {
			return invalidParameter("Attributes Reason: SubscriptionRoleArn applies to Firehose subscriptions, which courier does not deliver to")
		}
		return invalidParameter("Attributes Reason: Attribute name %.256s is not valid", name)
	}
	switch name {
	case "FilterPolicy":
		if value == "" {
			return nil
		}
		if len(value) > 256<<10 {
			return invalidParameter("FilterPolicy: %d bytes; the limit is 256 KiB", len(value))
		}
		if _, err := driver.CompileFilter("FilterPolicy", value, filterScope(attrs["FilterPolicyScope"])); err != nil {
			return invalidParameter("FilterPolicy: %s", strings.TrimPrefix(err.Error(), "invalid argument: "))
		}
	case "FilterPolicyScope":
		if value != "MessageAttributes" && value != "MessageBody" {
			return invalidParameter("Attributes Reason: FilterPolicyScope: Invalid value [%.64s]. Please use either MessageBody or MessageAttributes", value)
		}
	case "RawMessageDelivery":
		if value != "true" && value != "false" {
			return invalidParameter("Attributes Reason: RawMessageDelivery: Invalid value [%.64s]. Must be true or false.", value)
		}
	case "RedrivePolicy":
		if value == "" {
			return nil
		}
		var rp redrivePolicy
		if err := decodeStrict("RedrivePolicy", value, &rp); err != nil {
			return err
		}
		q, err := s.parseQueueARN("RedrivePolicy: deadLetterTargetArn", rp.DeadLetterTargetArn)
		if err != nil {
			return err
		}
		if _, err := s.env.Broker.Queue(q).Info(ctx); err != nil {
			return invalidParameter("RedrivePolicy: deadLetterTargetArn: queue %q does not exist", q)
		}
		// Failed deliveries are sent to the queue: the caller must be
		// allowed to send to it, as to a subscribed queue.
		if err := s.authorize(ctx, awsapi.Publish, "queue", q); err != nil {
			return err
		}
	case "DeliveryPolicy":
		if protocol != "http" && protocol != "https" {
			return invalidParameter("Attributes Reason: DeliveryPolicy: Delivery protocol [%s] does not support delivery policies", protocol)
		}
		if value == "" {
			return nil
		}
		if _, err := parseSubDeliveryPolicy(value); err != nil {
			return err
		}
	}
	return nil
}

// errFilterPolicyLimit is the error for a filter policy beyond
// MaxFilterPolicies on a topic.
func errFilterPolicyLimit() error {
	return &awsapi.Error{Code: "FilterPolicyLimitExceeded", Message: "Filter policy limit exceeded: a topic has at most 200 subscriptions with filter policies", Status: http.StatusForbidden}
}

// filterScope maps SNS's FilterPolicyScope to courier's.
func filterScope(v string) driver.FilterScope {
	if v == "MessageBody" {
		return driver.ScopeBody
	}
	return driver.ScopeAttributes
}

// parseQueueARN returns the queue name of an SQS ARN of this endpoint.
func (s *Service) parseQueueARN(field, arn string) (string, error) {
	res, err := s.env.ParseOwnARN(arn, "sqs", "InvalidParameter")
	if err != nil {
		return "", invalidParameter("%s: %s", field, awsapi.AsError(err).Message)
	}
	if driver.ValidateQueueName(field, res) != nil {
		return "", invalidParameter("%s: %.256q is not an SQS queue ARN", field, arn)
	}
	return res, nil
}

// courierSpec is the courier subscription that carries sub.
func courierSpec(sub *subState) courier.SubscriptionSpec {
	spec := courier.SubscriptionSpec{
		FilterPolicy: sub.Attrs["FilterPolicy"],
		FilterScope:  filterScope(sub.Attrs["FilterPolicyScope"]),
	}
	switch {
	case sub.isHTTP():
		spec.Kind = driver.KindDurable // drained by the service's workers, which render SNS's format
	case sub.Queue != "":
		spec.Kind, spec.Queue, spec.Raw = driver.KindQueue, sub.Queue, sub.raw()
	default:
		spec.Kind, spec.Raw = driver.KindDurable, sub.raw()
	}
	return spec
}

// subscribeResult is Subscribe's result.
type subscribeResult struct {
	XMLName         xml.Name `xml:"SubscribeResult"`
	SubscriptionArn string   `xml:"SubscriptionArn"`
}

// subscribe subscribes an endpoint to a topic (see docs/aws.md (SNS) for
// the protocols); subscribing the same endpoint again returns the
// existing subscription.
func (s *Service) subscribe(ctx context.Context, r *awsapi.Request) (any, error) {
	topic, err := s.parseTopicARN("TopicArn", r.Form.Get("TopicArn"))
	if err != nil {
		return nil, err
	}
	protocol, endpoint := r.Form.Get("Protocol"), r.Form.Get("Endpoint")
	attrs, err := awsapi.Pairs(r.Form, "Attributes.entry", "key", "value")
	if err != nil {
		return nil, snsError(err)
	}
	returnARN := r.Form.Get("ReturnSubscriptionArn") == "true"
	switch protocol {
	case "sqs", "http", "https", "courier":
	case "":
		return nil, invalidParameter("Protocol Reason: no value for required parameter")
	case "email", "email-json", "sms", "application", "lambda", "firehose":
		return nil, invalidParameter("Protocol Reason: courier does not deliver over %s; it supports sqs, http, https and courier", protocol)
	default:
		return nil, invalidParameter("Amazon SNS does not support this protocol string: %.64s", protocol)
	}
	for _, k := range slices.Sorted(maps.Keys(attrs)) {
		if err := s.checkSubAttr(ctx, k, attrs[k], protocol, attrs); err != nil {
			return nil, err
		}
	}
	sub := &subState{Topic: topic, Protocol: protocol, Endpoint: endpoint, Attrs: attrs, BaseURL: r.BaseURL, Owner: s.env.AccountID}
	switch protocol {
	case "sqs":
		if sub.Queue, err = s.parseQueueARN("SQS endpoint ARN", endpoint); err != nil {
			return nil, err
		}
	case "courier":
		kind, name, _ := strings.Cut(endpoint, ":")
		switch kind {
		case "queue":
			if driver.ValidateQueueName("Endpoint", name) != nil {
				return nil, invalidParameter("Endpoint Reason: %.256q is not queue:NAME with a courier queue name", endpoint)
			}
			sub.Queue = name
		case "durable":
			if driver.ValidateSubscriptionName("Endpoint", name) != nil {
				return nil, invalidParameter("Endpoint Reason: %.256q is not durable:NAME with a courier subscription name", endpoint)
			}
			sub.Courier = name
		default:
			return nil, invalidParameter("Endpoint Reason: a courier endpoint is queue:NAME (a courier queue) or durable:NAME (a courier durable subscription), not %.256q", endpoint)
		}
	default:
		u, err := url.Parse(endpoint)
		if err != nil || u.Scheme != protocol || u.Host == "" {
			return nil, invalidParameter("Endpoint Reason: %.256q is not an %s URL", endpoint, protocol)
		}
	}
	if err := s.authorize(ctx, awsapi.Manage, "topic", topic); err != nil {
		return nil, err
	}
	if sub.Queue != "" {
		if err := s.authorize(ctx, awsapi.Publish, "queue", sub.Queue); err != nil {
			return nil, err
		}
	}
	s.admin.Lock()
	defer s.admin.Unlock()
	t, err := s.existingTopic(ctx, topic)
	if err != nil {
		return nil, err
	}
	if sub.isHTTP() && t.FIFO {
		return nil, invalidParameter("Invalid protocol type: %s: FIFO topics deliver to SQS queues and courier subscriptions only", protocol)
	}
	filters := 0
	for _, old := range s.topicSubs(topic) {
		if old.Protocol == protocol && old.Endpoint == endpoint {
			for k, v := range attrs {
				if old.Attrs[k] != v {
					return nil, invalidParameter("Attributes Reason: Subscription already exists with different attributes (%s)", k)
				}
			}
			if old.Pending && !returnARN {
				return subscribeResult{SubscriptionArn: pendingARN}, nil
			}
			return subscribeResult{SubscriptionArn: s.subARN(old)}, nil
		}
		if sub.Queue != "" && old.Queue == sub.Queue {
			return nil, invalidParameter("Endpoint Reason: queue %q is already subscribed to this topic as %s %s", sub.Queue, old.Protocol, old.Endpoint)
		}
		if sub.Courier != "" && old.Courier == sub.Courier {
			return nil, invalidParameter("Endpoint Reason: courier subscription %q already exists", sub.Courier)
		}
		if old.Attrs["FilterPolicy"] != "" {
			filters++
		}
	}
	if attrs["FilterPolicy"] != "" && filters >= MaxFilterPolicies {
		return nil, errFilterPolicyLimit()
	}
	sub.ID = awsapi.NewRequestID()
	sub.Created = time.Now().UTC()
	if sub.Courier == "" {
		sub.Courier = "sns-" + sub.ID
	} else if _, err := s.env.Broker.Topic(topic).Subscription(sub.Courier).Info(ctx); err == nil {
		return nil, invalidParameter("Endpoint Reason: courier subscription %q of this topic exists already (not made through SNS)", sub.Courier)
	}
	if sub.isHTTP() {
		tok := make([]byte, 32)
		_, _ = rand.Read(tok)
		sub.Pending, sub.Token = true, hex.EncodeToString(tok)
		if err := s.putSub(ctx, sub); err != nil {
			return nil, err
		}
		s.sendConfirmation(sub)
		if !returnARN {
			return subscribeResult{SubscriptionArn: pendingARN}, nil
		}
		return subscribeResult{SubscriptionArn: s.subARN(sub)}, nil
	}
	if _, err := s.env.Broker.Topic(topic).Subscribe(ctx, sub.Courier, courierSpec(sub)); err != nil {
		if errors.Is(err, courier.ErrNotFound) && sub.Queue != "" {
			return nil, invalidParameter("Endpoint Reason: queue %q does not exist", sub.Queue)
		}
		return nil, snsError(err)
	}
	if err := s.putSub(ctx, sub); err != nil {
		_ = s.env.Broker.Topic(topic).Unsubscribe(ctx, sub.Courier)
		return nil, err
	}
	return subscribeResult{SubscriptionArn: s.subARN(sub)}, nil
}

// confirmSubscriptionResult is ConfirmSubscription's result.
type confirmSubscriptionResult struct {
	XMLName         xml.Name `xml:"ConfirmSubscriptionResult"`
	SubscriptionArn string   `xml:"SubscriptionArn"`
}

// confirmSubscription confirms a pending HTTP/HTTPS subscription with the
// token sent to its endpoint. It needs no permission (the token proves
// the caller received the confirmation), so it also works as the
// unsigned GET of SubscribeURL.
func (s *Service) confirmSubscription(ctx context.Context, r *awsapi.Request) (any, error) {
	topic, err := s.parseTopicARN("TopicArn", r.Form.Get("TopicArn"))
	if err != nil {
		return nil, err
	}
	token := r.Form.Get("Token")
	if token == "" {
		return nil, invalidParameter("Token Reason: no value for required parameter")
	}
	auth := r.Form.Get("AuthenticateOnUnsubscribe")
	if auth != "" && auth != "true" && auth != "false" {
		return nil, invalidParameter("AuthenticateOnUnsubscribe Reason: must be true or false")
	}
	s.admin.Lock()
	defer s.admin.Unlock()
	if _, err := s.existingTopic(ctx, topic); err != nil {
		return nil, err
	}
	var sub *subState
	for _, c := range s.topicSubs(topic) {
		if c.Token != "" && c.Token == token {
			sub = c
			break
		}
	}
	if sub == nil {
		return nil, invalidParameter("Token")
	}
	if !sub.Pending {
		return confirmSubscriptionResult{SubscriptionArn: s.subARN(sub)}, nil
	}
	next := sub.clone()
	next.Pending = false
	next.ConfirmationWasAuthenticated = auth == "true"
	if _, err := s.env.Broker.Topic(topic).Subscribe(ctx, next.Courier, courierSpec(next)); err != nil {
		return nil, snsError(err)
	}
	if err := s.putSub(ctx, next); err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.startPusherLocked(next)
	s.mu.Unlock()
	return confirmSubscriptionResult{SubscriptionArn: s.subARN(next)}, nil
}

// subByARN resolves a SubscriptionArn.
func (s *Service) subByARN(arn string) (*subState, error) {
	if arn == "" {
		return nil, invalidParameter("SubscriptionArn Reason: no value for required parameter")
	}
	res, err := s.env.ParseOwnARN(arn, "sns", "InvalidParameter")
	if err != nil {
		return nil, invalidParameter("SubscriptionArn Reason: %s", awsapi.AsError(err).Message)
	}
	topic, id, ok := strings.Cut(res, ":")
	if !ok || topic == "" || id == "" {
		return nil, invalidParameter("SubscriptionArn Reason: %.256q is not a subscription ARN (TOPICARN:ID)", arn)
	}
	sub := s.sub(id)
	if sub == nil || sub.Topic != topic {
		return nil, notFound("Subscription does not exist")
	}
	return sub, nil
}

// unsubscribe deletes a subscription: its HTTP deliveries stop and its
// courier subscription is deleted.
func (s *Service) unsubscribe(ctx context.Context, r *awsapi.Request) (any, error) {
	sub, err := s.subByARN(r.Form.Get("SubscriptionArn"))
	if err != nil {
		return nil, err
	}
	// An unsigned request is the UnsubscribeURL of a notification: the
	// subscription ARN is its proof, as in SNS, unless the subscription
	// was confirmed with AuthenticateOnUnsubscribe.
	// Subscriptions made without confirmation (sqs, courier) were made by
	// an authorized caller, as SNS's same-account ones: an unsigned
	// request needs the authorizer's consent too (it has it only with
	// authentication off).
	switch {
	case signed(r.HTTP), !sub.isHTTP():
		if err := s.authorize(ctx, awsapi.Manage, "topic", sub.Topic); err != nil {
			return nil, err
		}
	case sub.ConfirmationWasAuthenticated:
		return nil, &awsapi.Error{Code: "AuthorizationError", Message: "This subscription was confirmed with AuthenticateOnUnsubscribe: unsubscribing needs a signed request", Status: http.StatusForbidden}
	}
	s.admin.Lock()
	defer s.admin.Unlock()
	if s.sub(sub.ID) == nil {
		return nil, nil // removed meanwhile
	}
	s.stopPusher(sub.ID)
	if !sub.Pending {
		if err := s.env.Broker.Topic(sub.Topic).Unsubscribe(ctx, sub.Courier); err != nil && !errors.Is(err, courier.ErrNotFound) {
			return nil, snsError(err)
		}
	}
	return nil, s.dropSub(ctx, sub)
}

// signed reports whether r carries a SigV4 signature.
func signed(r *http.Request) bool {
	return r.Header.Get("Authorization") != "" || r.URL.Query().Get("X-Amz-Signature") != ""
}

// subscriptionMember is one subscription of a list.
type subscriptionMember struct {
	SubscriptionArn string `xml:"SubscriptionArn"`
	Owner           string `xml:"Owner"`
	Protocol        string `xml:"Protocol"`
	Endpoint        string `xml:"Endpoint"`
	TopicArn        string `xml:"TopicArn"`
}

// listSubscriptionsResult is the result of ListSubscriptions and
// ListSubscriptionsByTopic.
type listSubscriptionsResult struct {
	XMLName       xml.Name
	Subscriptions []subscriptionMember `xml:"Subscriptions>member"`
	NextToken     string               `xml:"NextToken,omitempty"`
}

// listSubs returns a page of subs after NextToken.
func (s *Service) listSubs(subs []*subState, token, result string) (any, error) {
	after, err := decodeToken(token)
	if err != nil {
		return nil, err
	}
	res := listSubscriptionsResult{XMLName: xml.Name{Local: result}, Subscriptions: []subscriptionMember{}}
	for i, sub := range subs {
		if after != "" && sub.key() <= after {
			continue
		}
		if len(res.Subscriptions) == pageSize {
			res.NextToken = encodeToken(subs[i-1].key())
			break
		}
		arn := s.subARN(sub)
		if sub.Pending {
			arn = "PendingConfirmation"
		}
		res.Subscriptions = append(res.Subscriptions, subscriptionMember{
			SubscriptionArn: arn, Owner: sub.Owner, Protocol: sub.Protocol, Endpoint: sub.Endpoint, TopicArn: s.topicARN(sub.Topic),
		})
	}
	return res, nil
}

// listSubscriptions lists every subscription made through SNS.
func (s *Service) listSubscriptions(ctx context.Context, r *awsapi.Request) (any, error) {
	if err := s.authorize(ctx, awsapi.Describe, "topic", "*"); err != nil {
		return nil, err
	}
	return s.listSubs(s.topicSubs(""), r.Form.Get("NextToken"), "ListSubscriptionsResult")
}

// listSubscriptionsByTopic lists a topic's subscriptions made through SNS.
func (s *Service) listSubscriptionsByTopic(ctx context.Context, r *awsapi.Request) (any, error) {
	topic, err := s.parseTopicARN("TopicArn", r.Form.Get("TopicArn"))
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, awsapi.Describe, "topic", topic); err != nil {
		return nil, err
	}
	if _, err := s.existingTopic(ctx, topic); err != nil {
		return nil, err
	}
	return s.listSubs(s.topicSubs(topic), r.Form.Get("NextToken"), "ListSubscriptionsByTopicResult")
}

// getSubscriptionAttributesResult is GetSubscriptionAttributes' result.
type getSubscriptionAttributesResult struct {
	XMLName    xml.Name    `xml:"GetSubscriptionAttributesResult"`
	Attributes []attrEntry `xml:"Attributes>entry"`
}

// getSubscriptionAttributes returns a subscription's attributes.
func (s *Service) getSubscriptionAttributes(ctx context.Context, r *awsapi.Request) (any, error) {
	sub, err := s.subByARN(r.Form.Get("SubscriptionArn"))
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, awsapi.Describe, "topic", sub.Topic); err != nil {
		return nil, err
	}
	out := map[string]string{
		"SubscriptionArn":              s.subARN(sub),
		"TopicArn":                     s.topicARN(sub.Topic),
		"Owner":                        sub.Owner,
		"Protocol":                     sub.Protocol,
		"Endpoint":                     sub.Endpoint,
		"ConfirmationWasAuthenticated": strconv.FormatBool(sub.ConfirmationWasAuthenticated),
		"PendingConfirmation":          strconv.FormatBool(sub.Pending),
		"RawMessageDelivery":           strconv.FormatBool(sub.raw()),
		"SubscriptionPrincipal":        "arn:aws:iam::" + s.env.AccountID + ":root",
	}
	for k, v := range sub.Attrs {
		if v != "" {
			out[k] = v
		}
	}
	if out["FilterPolicy"] != "" && out["FilterPolicyScope"] == "" {
		out["FilterPolicyScope"] = "MessageAttributes"
	}
	if sub.isHTTP() {
		t, err := s.topic(ctx, sub.Topic)
		if err != nil {
			return nil, err
		}
		out["EffectiveDeliveryPolicy"] = effectiveDelivery(t.Attrs["DeliveryPolicy"], sub.Attrs["DeliveryPolicy"]).String()
	}
	return getSubscriptionAttributesResult{Attributes: attrEntries(out)}, nil
}

// setSubscriptionAttributes sets one subscription attribute; filter
// policy, scope and raw delivery apply to messages published afterwards.
func (s *Service) setSubscriptionAttributes(ctx context.Context, r *awsapi.Request) (any, error) {
	sub, err := s.subByARN(r.Form.Get("SubscriptionArn"))
	if err != nil {
		return nil, err
	}
	name, value := r.Form.Get("AttributeName"), r.Form.Get("AttributeValue")
	if name == "" {
		return nil, invalidParameter("AttributeName Reason: no value for required parameter")
	}
	if err := s.authorize(ctx, awsapi.Manage, "topic", sub.Topic); err != nil {
		return nil, err
	}
	s.admin.Lock()
	defer s.admin.Unlock()
	if sub = s.sub(sub.ID); sub == nil {
		return nil, notFound("Subscription does not exist")
	}
	next := sub.clone()
	if value == "" {
		delete(next.Attrs, name)
	} else {
		next.Attrs[name] = value
	}
	if err := s.checkSubAttr(ctx, name, value, sub.Protocol, next.Attrs); err != nil {
		return nil, err
	}
	if name == "FilterPolicyScope" && next.Attrs["FilterPolicy"] != "" {
		if err := s.checkSubAttr(ctx, "FilterPolicy", next.Attrs["FilterPolicy"], sub.Protocol, next.Attrs); err != nil {
			return nil, err
		}
	}
	if name == "FilterPolicy" && value != "" && sub.Attrs["FilterPolicy"] == "" {
		n := 0
		for _, o := range s.topicSubs(sub.Topic) {
			if o.Attrs["FilterPolicy"] != "" {
				n++
			}
		}
		if n >= MaxFilterPolicies {
			return nil, errFilterPolicyLimit()
		}
	}
	if !sub.Pending {
		if _, err := s.env.Broker.Topic(sub.Topic).Subscribe(ctx, next.Courier, courierSpec(next)); err != nil {
			return nil, snsError(err)
		}
	}
	if err := s.putSub(ctx, next); err != nil {
		return nil, err
	}
	if next.isHTTP() && !next.Pending && (name == "DeliveryPolicy" || name == "RawMessageDelivery" || name == "RedrivePolicy") {
		s.stopPusher(next.ID)
		s.mu.Lock()
		s.startPusherLocked(next)
		s.mu.Unlock()
	}
	return nil, nil
}

// deadLetterQueue returns the courier queue of sub's RedrivePolicy, or "".
func (s *Service) deadLetterQueue(sub *subState) string {
	var rp redrivePolicy
	if sub.Attrs["RedrivePolicy"] == "" || json.Unmarshal([]byte(sub.Attrs["RedrivePolicy"]), &rp) != nil {
		return ""
	}
	q, err := s.parseQueueARN("", rp.DeadLetterTargetArn)
	if err != nil {
		return ""
	}
	return q
}
