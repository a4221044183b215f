package sns

import (
	"bytes"
	"encoding/json"
	"math"
	"time"
)

// retryPolicy is SNS's healthyRetryPolicy of HTTP/HTTPS deliveries: after
// a failed attempt, NumRetries retries in four phases: NumNoDelayRetries
// at once, NumMinDelayRetries after MinDelayTarget seconds, the backoff
// phase from MinDelayTarget to MaxDelayTarget by BackoffFunction, and
// NumMaxDelayRetries after MaxDelayTarget.
type retryPolicy struct {
	MinDelayTarget     int    `json:"minDelayTarget"`
	MaxDelayTarget     int    `json:"maxDelayTarget"`
	NumRetries         int    `json:"numRetries"`
	NumNoDelayRetries  int    `json:"numNoDelayRetries"`
	NumMinDelayRetries int    `json:"numMinDelayRetries"`
	NumMaxDelayRetries int    `json:"numMaxDelayRetries"`
	BackoffFunction    string `json:"backoffFunction"`
}

// defaultRetryPolicy is SNS's retry policy of HTTP/HTTPS endpoints: three
// retries 20 seconds apart.
var defaultRetryPolicy = retryPolicy{MinDelayTarget: 20, MaxDelayTarget: 20, NumRetries: 3, BackoffFunction: "linear"}

// throttlePolicy limits delivery attempts per second.
type throttlePolicy struct {
	MaxReceivesPerSecond int `json:"maxReceivesPerSecond"`
}

// requestPolicy sets the Content-Type of notifications.
type requestPolicy struct {
	HeaderContentType string `json:"headerContentType"`
}

// subDeliveryPolicy is a subscription's DeliveryPolicy attribute.
type subDeliveryPolicy struct {
	HealthyRetryPolicy *retryPolicy    `json:"healthyRetryPolicy,omitempty"`
	ThrottlePolicy     *throttlePolicy `json:"throttlePolicy,omitempty"`
	RequestPolicy      *requestPolicy  `json:"requestPolicy,omitempty"`
}

// topicDeliveryPolicy is a topic's DeliveryPolicy attribute; only its
// "http" part applies (courier delivers to no other push protocol).
type topicDeliveryPolicy struct {
	HTTP *struct {
		DefaultHealthyRetryPolicy    *retryPolicy    `json:"defaultHealthyRetryPolicy,omitempty"`
		DisableSubscriptionOverrides bool            `json:"disableSubscriptionOverrides"`
		DefaultThrottlePolicy        *throttlePolicy `json:"defaultThrottlePolicy,omitempty"`
		DefaultRequestPolicy         *requestPolicy  `json:"defaultRequestPolicy,omitempty"`
	} `json:"http,omitempty"`
}

// maxDelayTarget bounds minDelayTarget and maxDelayTarget, in seconds.
const maxDelayTarget = 3600

// maxRetries bounds numRetries.
const maxRetries = 100

// decodeStrict decodes a JSON object into v, refusing unknown fields and
// trailing data.
func decodeStrict(field, s string, v any) error {
	if len(s) > maxPolicyLen {
		return invalidParameter("%s Reason: %d bytes; the limit is %d", field, len(s), maxPolicyLen)
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return invalidParameter("%s Reason: %v", field, err)
	}
	if dec.More() {
		return invalidParameter("%s Reason: data after the JSON object", field)
	}
	return nil
}

// validate checks p as SNS does.
func (p *retryPolicy) validate(field string) error {
	switch {
	case p.MinDelayTarget < 1 || p.MinDelayTarget > maxDelayTarget:
		return invalidParameter("%s Reason: minDelayTarget %d is out of range 1..%d seconds", field, p.MinDelayTarget, maxDelayTarget)
	case p.MaxDelayTarget < p.MinDelayTarget || p.MaxDelayTarget > maxDelayTarget:
		return invalidParameter("%s Reason: maxDelayTarget %d is out of range minDelayTarget (%d)..%d seconds", field, p.MaxDelayTarget, p.MinDelayTarget, maxDelayTarget)
	case p.NumRetries < 0 || p.NumRetries > maxRetries:
		return invalidParameter("%s Reason: numRetries %d is out of range 0..%d", field, p.NumRetries, maxRetries)
	case p.NumNoDelayRetries < 0 || p.NumMinDelayRetries < 0 || p.NumMaxDelayRetries < 0:
		return invalidParameter("%s Reason: retry counts cannot be negative", field)
	case p.NumNoDelayRetries+p.NumMinDelayRetries+p.NumMaxDelayRetries > p.NumRetries:
		return invalidParameter("%s Reason: numNoDelayRetries + numMinDelayRetries + numMaxDelayRetries (%d) exceed numRetries (%d)", field,
			p.NumNoDelayRetries+p.NumMinDelayRetries+p.NumMaxDelayRetries, p.NumRetries)
	}
	switch p.BackoffFunction {
	case "":
		p.BackoffFunction = "linear"
	case "linear", "arithmetic", "geometric", "exponential":
	default:
		return invalidParameter("%s Reason: backoffFunction %.32q is not arithmetic, exponential, geometric or linear", field, p.BackoffFunction)
	}
	return nil
}

// validateOthers checks the throttle and request policies.
func validateOthers(field string, t *throttlePolicy, r *requestPolicy) error {
	if t != nil && t.MaxReceivesPerSecond < 1 {
		return invalidParameter("%s Reason: maxReceivesPerSecond must be at least 1", field)
	}
	if r != nil && len(r.HeaderContentType) > 256 {
		return invalidParameter("%s Reason: headerContentType is longer than 256 characters", field)
	}
	return nil
}

// parseSubDeliveryPolicy decodes and checks a subscription's DeliveryPolicy.
func parseSubDeliveryPolicy(s string) (subDeliveryPolicy, error) {
	var p subDeliveryPolicy
	if err := decodeStrict("DeliveryPolicy", s, &p); err != nil {
		return p, err
	}
	if p.HealthyRetryPolicy != nil {
		if err := p.HealthyRetryPolicy.validate("DeliveryPolicy"); err != nil {
			return p, err
		}
	}
	return p, validateOthers("DeliveryPolicy", p.ThrottlePolicy, p.RequestPolicy)
}

// parseTopicDeliveryPolicy decodes and checks a topic's DeliveryPolicy.
func parseTopicDeliveryPolicy(s string) (topicDeliveryPolicy, error) {
	var p topicDeliveryPolicy
	if err := decodeStrict("DeliveryPolicy", s, &p); err != nil {
		return p, err
	}
	if p.HTTP != nil {
		if p.HTTP.DefaultHealthyRetryPolicy != nil {
			if err := p.HTTP.DefaultHealthyRetryPolicy.validate("DeliveryPolicy"); err != nil {
				return p, err
			}
		}
		return p, validateOthers("DeliveryPolicy", p.HTTP.DefaultThrottlePolicy, p.HTTP.DefaultRequestPolicy)
	}
	return p, nil
}

// effectiveTopicDeliveryPolicy is a topic's EffectiveDeliveryPolicy: its
// DeliveryPolicy with SNS's defaults filled in.
func effectiveTopicDeliveryPolicy(policy string) string {
	p, _ := parseTopicDeliveryPolicy(policy) // checked when set
	retry, disable := defaultRetryPolicy, false
	var throttle *throttlePolicy
	req := requestPolicy{HeaderContentType: "text/plain; charset=UTF-8"}
	if p.HTTP != nil {
		if p.HTTP.DefaultHealthyRetryPolicy != nil {
			retry = *p.HTTP.DefaultHealthyRetryPolicy
		}
		disable = p.HTTP.DisableSubscriptionOverrides
		throttle = p.HTTP.DefaultThrottlePolicy
		if p.HTTP.DefaultRequestPolicy != nil && p.HTTP.DefaultRequestPolicy.HeaderContentType != "" {
			req = *p.HTTP.DefaultRequestPolicy
		}
	}
	b, _ := json.Marshal(map[string]any{"http": map[string]any{
		"defaultHealthyRetryPolicy":    retry,
		"disableSubscriptionOverrides": disable,
		"defaultThrottlePolicy":        throttle,
		"defaultRequestPolicy":         req,
	}})
	return string(b)
}

// deliveryPlan is how the workers of an HTTP subscription deliver.
type deliveryPlan struct {
	retry       retryPolicy
	perSecond   int // 0: unlimited
	contentType string
}

// effectiveDelivery combines a topic's and a subscription's delivery
// policies with SNS's defaults: the subscription's policy wins unless the
// topic disables subscription overrides.
func effectiveDelivery(topicPolicy, subPolicy string) deliveryPlan {
	plan := deliveryPlan{retry: defaultRetryPolicy, contentType: "text/plain; charset=UTF-8"}
	var tp topicDeliveryPolicy
	if topicPolicy != "" {
		tp, _ = parseTopicDeliveryPolicy(topicPolicy) // checked when set
	}
	override := true
	if tp.HTTP != nil {
		if tp.HTTP.DefaultHealthyRetryPolicy != nil {
			plan.retry = *tp.HTTP.DefaultHealthyRetryPolicy
		}
		if tp.HTTP.DefaultThrottlePolicy != nil {
			plan.perSecond = tp.HTTP.DefaultThrottlePolicy.MaxReceivesPerSecond
		}
		if tp.HTTP.DefaultRequestPolicy != nil && tp.HTTP.DefaultRequestPolicy.HeaderContentType != "" {
			plan.contentType = tp.HTTP.DefaultRequestPolicy.HeaderContentType
		}
		override = !tp.HTTP.DisableSubscriptionOverrides
	}
	if override && subPolicy != "" {
		sp, _ := parseSubDeliveryPolicy(subPolicy)
		if sp.HealthyRetryPolicy != nil {
			plan.retry = *sp.HealthyRetryPolicy
		}
		if sp.ThrottlePolicy != nil {
			plan.perSecond = sp.ThrottlePolicy.MaxReceivesPerSecond
		}
		if sp.RequestPolicy != nil && sp.RequestPolicy.HeaderContentType != "" {
			plan.contentType = sp.RequestPolicy.HeaderContentType
		}
	}
	return plan
}

// effectiveSubDeliveryPolicy renders a plan as a subscription's
// EffectiveDeliveryPolicy attribute.
func (p deliveryPlan) String() string {
	m := map[string]any{"healthyRetryPolicy": p.retry, "requestPolicy": requestPolicy{p.contentType}}
	if p.perSecond > 0 {
		m["throttlePolicy"] = throttlePolicy{p.perSecond}
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// delay returns the wait before retry k (1 for the first retry), and
// false when the policy allows no retry k.
func (p retryPolicy) delay(k int) (time.Duration, bool) {
	if k < 1 || k > p.NumRetries {
		return 0, false
	}
	lo := time.Duration(p.MinDelayTarget) * time.Second
	hi := time.Duration(p.MaxDelayTarget) * time.Second
	nd, nmin, nmax := p.NumNoDelayRetries, p.NumMinDelayRetries, p.NumMaxDelayRetries
	nb := p.NumRetries - nd - nmin - nmax
	switch {
	case k <= nd:
		return 0, true
	case k <= nd+nmin:
		return lo, true
	case k <= nd+nmin+nb:
		x := float64(k-nd-nmin) / float64(nb)
		var f float64
		switch p.BackoffFunction {
		case "arithmetic":
			f = x * x
		case "geometric", "exponential":
			if lo > 0 {
				return time.Duration(float64(lo) * math.Pow(float64(hi)/float64(lo), x)), true
			}
			f = x
		default: // linear
			f = x
		}
		return lo + time.Duration(f*float64(hi-lo)), true
	default:
		return hi, true
	}
}
