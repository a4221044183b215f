package sns

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	courier "github.com/courier-io/courier"
	"github.com/courier-io/courier/awsapi"
	"github.com/courier-io/courier/driver"
)

// Limits of topics, as SNS documents them (where courier's are not
// tighter).
const (
	// MaxTopics is how many topics CreateTopic creates before
	// TopicLimitExceeded (SNS's default quota).
	MaxTopics = 100000
	// MaxTags is how many tags a topic holds.
	MaxTags = 50
	// pageSize is how many items a List action returns per page.
	pageSize = 100
	// maxPolicyLen bounds a Policy or DeliveryPolicy attribute.
	maxPolicyLen = 30 << 10
)

// topicAttrNames are the topic attributes CreateTopic and
// SetTopicAttributes accept.
var topicAttrNames = map[string]bool{
	"DisplayName": true, "Policy": true, "DeliveryPolicy": true, "FifoTopic": true,
	"ContentBasedDeduplication": true, "SignatureVersion": true, "TracingConfig": true,
}

// refusedTopicAttrs are SNS topic attributes courier knows and does not
// support, with the reason.
var refusedTopicAttrs = map[string]string{
	"KmsMasterKeyId":       "courier does not encrypt topics with AWS KMS keys (a stored key ID would suggest an encryption that does not happen); protect the data directory instead",
	"ArchivePolicy":        "courier FIFO topics do not archive messages for replay; use a courier stream",
	"FifoThroughputScope":  "courier FIFO topics have no throughput modes",
	"DataProtectionPolicy": "courier does not inspect or mask message contents",
}

// checkTopicAttr validates one topic attribute; create tells whether the
// topic is being created (FifoTopic may be set only then).
func checkTopicAttr(name, value string, fifo, create bool) error {
	if why, ok := refusedTopicAttrs[name]; ok {
		return invalidParameter("Attributes Reason: %s is not supported: %s", name, why)
	}
	if strings.HasSuffix(name, "FeedbackRoleArn") || strings.HasSuffix(name, "FeedbackSampleRate") || strings.HasSuffix(name, "SuccessFeedbackRoleArn") {
		return invalidParameter("Attributes Reason: %s is not supported: courier does not log delivery status to CloudWatch", name)
	}
	if !topicAttrNames[name] {
		return invalidParameter("Attributes Reason: Attribute name %.256s is not valid", name)
	}
	switch name {
	case "DisplayName":
		if utf8.RuneCountInString(value) > 100 {
			return invalidParameter("DisplayName Reason: the display name is %d characters; the limit is 100", utf8.RuneCountInString(value))
		}
	case "Policy":
		if err := checkJSONObject("Policy", value); err != nil {
			return err
		}
	case "DeliveryPolicy":
		if _, err := parseTopicDeliveryPolicy(value); err != nil {
			return err
		}
	case "FifoTopic":
		if value != "true" && value != "false" {
			return invalidParameter("Attributes Reason: FifoTopic must be true or false, not %.64q", value)
		}
		if !create && (value == "true") != fifo {
			return invalidParameter("AttributeName Reason: FifoTopic cannot be changed after the topic is created")
		}
	case "ContentBasedDeduplication":
		if value != "true" && value != "false" {
			return invalidParameter("Attributes Reason: ContentBasedDeduplication must be true or false, not %.64q", value)
		}
		if value == "true" && !fifo {
			return invalidParameter("ContentBasedDeduplication Reason: Content-based deduplication can only be set for FIFO topics")
		}
	case "SignatureVersion":
		if value != "1" && value != "2" {
			return invalidParameter("SignatureVersion Reason: must be 1 (SHA1withRSA) or 2 (SHA256withRSA), not %.64q", value)
		}
	case "TracingConfig":
		if value != "PassThrough" && value != "Active" {
			return invalidParameter("TracingConfig Reason: must be PassThrough or Active, not %.64q", value)
		}
	}
	return nil
}

// checkJSONObject checks that value is a JSON object of at most
// maxPolicyLen bytes.
func checkJSONObject(field, value string) error {
	if len(value) > maxPolicyLen {
		return invalidParameter("%s Reason: %d bytes; the limit is %d", field, len(value), maxPolicyLen)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(value), &obj); err != nil {
		return invalidParameter("%s Reason: not a JSON object: %v", field, err)
	}
	return nil
}

// checkTopicName validates an SNS topic name: 1 to 256 letters, digits,
// '-' and '_', with ".fifo" at the end of FIFO topics; courier further
// limits names to driver.MaxQueueNameLen characters.
func checkTopicName(name string, fifo bool) error {
	base, isFifo := strings.CutSuffix(name, ".fifo")
	switch {
	case name == "":
		return invalidParameter("Topic Name")
	case isFifo != fifo:
		if fifo {
			return invalidParameter("Topic Name: the name of a FIFO topic must end with .fifo")
		}
		return invalidParameter("Topic Name: a name ending in .fifo needs the attribute FifoTopic=true")
	case len(name) > driver.MaxQueueNameLen:
		return invalidParameter("Topic Name: %d characters; courier's limit is %d (SNS allows 256)", len(name), driver.MaxQueueNameLen)
	case base == "":
		return invalidParameter("Topic Name")
	}
	for i := 0; i < len(base); i++ {
		c := base[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return invalidParameter("Topic Name: character %q at position %d; topic names are letters, digits, hyphens and underscores", c, i)
		}
	}
	return nil
}

// parseTopicARN returns the topic name of a topic ARN in this endpoint's
// region and account.
func (s *Service) parseTopicARN(field, arn string) (string, error) {
	if arn == "" {
		return "", invalidParameter("%s Reason: no value for required parameter", field)
	}
	res, err := s.env.ParseOwnARN(arn, "sns", "InvalidParameter")
	if err != nil {
		return "", invalidParameter("%s Reason: %s", field, awsapi.AsError(err).Message)
	}
	if strings.Contains(res, ":") || driver.ValidateTopicName(field, res) != nil {
		return "", invalidParameter("%s Reason: %.256q is not a topic ARN", field, arn)
	}
	return res, nil
}

// createTopicResult is CreateTopic's result.
type createTopicResult struct {
	XMLName  xml.Name `xml:"CreateTopicResult"`
	TopicArn string   `xml:"TopicArn"`
}

// createTopic creates a topic, or returns the ARN of an existing one
// created with the same attributes.
func (s *Service) createTopic(ctx context.Context, r *awsapi.Request) (any, error) {
	name := r.Form.Get("Name")
	attrs, err := awsapi.Pairs(r.Form, "Attributes.entry", "key", "value")
	if err != nil {
		return nil, snsError(err)
	}
	tags, err := tagList(r.Form)
	if err != nil {
		return nil, err
	}
	fifo := attrs["FifoTopic"] == "true"
	if err := checkTopicName(name, fifo); err != nil {
		return nil, err
	}
	for _, k := range slices.Sorted(maps.Keys(attrs)) {
		if err := checkTopicAttr(k, attrs[k], fifo, true); err != nil {
			return nil, err
		}
	}
	delete(attrs, "FifoTopic") // courier keeps it
	if err := s.authorize(ctx, awsapi.Manage, "topic", name); err != nil {
		return nil, err
	}
	s.admin.Lock()
	defer s.admin.Unlock()
	arn := s.topicARN(name)
	if info, err := s.env.Broker.Topic(name).Info(ctx); err == nil {
		cur := s.topicFromInfo(name, info)
		if cur.FIFO != fifo {
			return nil, invalidParameter("Attributes Reason: Topic already exists with different attributes (FifoTopic)")
		}
		for k, v := range attrs {
			if cur.Attrs[k] != v {
				return nil, invalidParameter("Attributes Reason: Topic already exists with different attributes (%s)", k)
			}
		}
		for k, v := range tags {
			if old, ok := cur.Tags[k]; ok && old != v {
				return nil, invalidParameter("Tags Reason: Topic already exists with different tags (%s)", k)
			}
		}
		if len(tags) > 0 {
			next := cur.clone()
			maps.Copy(next.Tags, tags)
			if len(next.Tags) > MaxTags {
				return nil, tagLimit(len(next.Tags))
			}
			if err := s.putTopic(ctx, name, next); err != nil {
				return nil, err
			}
		}
		return createTopicResult{TopicArn: arn}, nil
	} else if !errors.Is(err, courier.ErrNotFound) {
		return nil, err
	}
	if len(tags) > MaxTags {
		return nil, tagLimit(len(tags))
	}
	names, err := s.env.Broker.ListTopics(ctx)
	if err != nil {
		return nil, err
	}
	if len(names) >= MaxTopics {
		return nil, &awsapi.Error{Code: "TopicLimitExceeded", Message: "Topic limit exceeded: this endpoint holds at most 100000 topics", Status: http.StatusForbidden}
	}
	opts := []courier.TopicOption{}
	if fifo {
		opts = append(opts, courier.FIFOTopic(), courier.TopicContentBasedDedup(attrs["ContentBasedDeduplication"] == "true"))
	}
	if _, err := s.env.Broker.CreateTopic(ctx, name, opts...); err != nil {
		return nil, snsError(err)
	}
	st := &topicState{Attrs: attrs, Tags: tags, FIFO: fifo}
	if err := s.putTopic(ctx, name, st); err != nil {
		return nil, err
	}
	return createTopicResult{TopicArn: arn}, nil
}

// deleteTopic deletes a topic with its subscriptions; deleting a topic
// that does not exist succeeds, as in SNS.
func (s *Service) deleteTopic(ctx context.Context, r *awsapi.Request) (any, error) {
	name, err := s.parseTopicARN("TopicArn", r.Form.Get("TopicArn"))
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, awsapi.Manage, "topic", name); err != nil {
		return nil, err
	}
	s.admin.Lock()
	defer s.admin.Unlock()
	for _, sub := range s.topicSubs(name) {
		s.stopPusher(sub.ID)
	}
	if err := s.env.Broker.DeleteTopic(ctx, name); err != nil && !errors.Is(err, courier.ErrNotFound) {
		return nil, snsError(err)
	}
	for _, sub := range s.topicSubs(name) {
		if err := s.dropSub(ctx, sub); err != nil {
			return nil, err
		}
	}
	if err := s.env.Meta.Delete(ctx, topicKeyPrefix+name); err != nil {
		return nil, err
	}
	s.forgetTopic(name)
	return nil, nil
}

// listTopicsResult is ListTopics' result.
type listTopicsResult struct {
	XMLName xml.Name `xml:"ListTopicsResult"`
	Topics  []struct {
		TopicArn string `xml:"TopicArn"`
	} `xml:"Topics>member"`
	NextToken string `xml:"NextToken,omitempty"`
}

// listTopics lists the topics, pageSize per page.
func (s *Service) listTopics(ctx context.Context, r *awsapi.Request) (any, error) {
	if err := s.authorize(ctx, awsapi.Describe, "topic", "*"); err != nil {
		return nil, err
	}
	after, err := decodeToken(r.Form.Get("NextToken"))
	if err != nil {
		return nil, err
	}
	names, err := s.env.Broker.ListTopics(ctx)
	if err != nil {
		return nil, err
	}
	start, _ := slices.BinarySearch(names, after)
	if after != "" && start < len(names) && names[start] == after {
		start++
	}
	var res listTopicsResult
	for i := start; i < len(names); i++ {
		if len(res.Topics) == pageSize {
			res.NextToken = encodeToken(names[i-1])
			break
		}
		res.Topics = append(res.Topics, struct {
			TopicArn string `xml:"TopicArn"`
		}{s.topicARN(names[i])})
	}
	return res, nil
}

// encodeToken returns the NextToken of a page that ends after key.
func encodeToken(key string) string { return base64.RawURLEncoding.EncodeToString([]byte(key)) }

// decodeToken returns the key a NextToken continues after.
func decodeToken(tok string) (string, error) {
	if tok == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || !utf8.Valid(b) {
		return "", invalidParameter("NextToken Reason: %.64q is not a token of this endpoint", tok)
	}
	return string(b), nil
}

// attrEntry is one <entry> of an attribute map.
type attrEntry struct {
	Key   string `xml:"key"`
	Value string `xml:"value"`
}

// attrEntries returns m as sorted <entry> elements.
func attrEntries(m map[string]string) []attrEntry {
	out := make([]attrEntry, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, attrEntry{k, m[k]})
	}
	return out
}

// getTopicAttributesResult is GetTopicAttributes' result.
type getTopicAttributesResult struct {
	XMLName    xml.Name    `xml:"GetTopicAttributesResult"`
	Attributes []attrEntry `xml:"Attributes>entry"`
}

// getTopicAttributes returns a topic's attributes.
func (s *Service) getTopicAttributes(ctx context.Context, r *awsapi.Request) (any, error) {
	name, err := s.parseTopicARN("TopicArn", r.Form.Get("TopicArn"))
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, awsapi.Describe, "topic", name); err != nil {
		return nil, err
	}
	t, err := s.existingTopic(ctx, name)
	if err != nil {
		return nil, err
	}
	arn := s.topicARN(name)
	out := map[string]string{
		"TopicArn":                arn,
		"Owner":                   s.env.AccountID,
		"DisplayName":             t.Attrs["DisplayName"],
		"Policy":                  defaultPolicy(arn, s.env.AccountID),
		"SubscriptionsConfirmed":  "0",
		"SubscriptionsPending":    "0",
		"SubscriptionsDeleted":    "0",
		"EffectiveDeliveryPolicy": effectiveTopicDeliveryPolicy(t.Attrs["DeliveryPolicy"]),
	}
	for k, v := range t.Attrs {
		out[k] = v
	}
	if t.FIFO {
		out["FifoTopic"] = "true"
		out["ContentBasedDeduplication"] = strconv.FormatBool(t.contentDedup())
	}
	confirmed, pending := 0, 0
	for _, sub := range s.topicSubs(name) {
		if sub.Pending {
			pending++
		} else {
			confirmed++
		}
	}
	out["SubscriptionsConfirmed"] = strconv.Itoa(confirmed)
	out["SubscriptionsPending"] = strconv.Itoa(pending)
	return getTopicAttributesResult{Attributes: attrEntries(out)}, nil
}

// setTopicAttributes sets one topic attribute.
func (s *Service) setTopicAttributes(ctx context.Context, r *awsapi.Request) (any, error) {
	name, err := s.parseTopicARN("TopicArn", r.Form.Get("TopicArn"))
	if err != nil {
		return nil, err
	}
	attr, value := r.Form.Get("AttributeName"), r.Form.Get("AttributeValue")
	if attr == "" {
		return nil, invalidParameter("AttributeName Reason: no value for required parameter")
	}
	if err := s.authorize(ctx, awsapi.Manage, "topic", name); err != nil {
		return nil, err
	}
	s.admin.Lock()
	defer s.admin.Unlock()
	t, err := s.existingTopic(ctx, name)
	if err != nil {
		return nil, err
	}
	if err := checkTopicAttr(attr, value, t.FIFO, false); err != nil {
		return nil, err
	}
	if attr == "FifoTopic" {
		return nil, nil // unchanged, checked above
	}
	next := t.clone()
	if value == "" && attr != "DisplayName" {
		delete(next.Attrs, attr)
	} else {
		next.Attrs[attr] = value
	}
	return nil, s.putTopic(ctx, name, next)
}

// defaultPolicy is the access policy SNS gives a new topic.
func defaultPolicy(arn, account string) string {
	b, _ := json.Marshal(map[string]any{
		"Version": "2008-10-17",
		"Id":      "__default_policy_ID",
		"Statement": []any{map[string]any{
			"Sid":       "__default_statement_ID",
			"Effect":    "Allow",
			"Principal": map[string]string{"AWS": "*"},
			"Action": []string{"SNS:GetTopicAttributes", "SNS:SetTopicAttributes", "SNS:AddPermission",
				"SNS:RemovePermission", "SNS:DeleteTopic", "SNS:Subscribe", "SNS:ListSubscriptionsByTopic", "SNS:Publish"},
			"Resource":  arn,
			"Condition": map[string]any{"StringEquals": map[string]string{"AWS:SourceOwner": account}},
		}},
	})
	return string(b)
}

// Tags.

// tagList decodes Tags.member.N.Key/Value, checking SNS's limits.
func tagList(form map[string][]string) (map[string]string, error) {
	tags, err := awsapi.Pairs(form, "Tags.member", "Key", "Value")
	if err != nil {
		return nil, snsError(err)
	}
	for k, v := range tags {
		if err := checkTag(k, v); err != nil {
			return nil, err
		}
	}
	return tags, nil
}

// checkTag validates a tag as SNS does: a key of 1 to 128 characters, a
// value of at most 256, not starting with "aws:".
func checkTag(k, v string) error {
	switch {
	case k == "" || utf8.RuneCountInString(k) > 128:
		return invalidParameter("Tags Reason: a tag key has 1 to 128 characters; %.140q does not", k)
	case utf8.RuneCountInString(v) > 256:
		return invalidParameter("Tags Reason: the value of tag %q has more than 256 characters", k)
	case strings.HasPrefix(strings.ToLower(k), "aws:"):
		return invalidParameter("Tags Reason: tag key %q uses the reserved prefix aws:", k)
	}
	return nil
}

// tagLimit is the error for more than MaxTags tags.
func tagLimit(n int) error {
	return awsapi.Errorf("TagLimitExceeded", "Could not complete request: tag quota of per resource exceeded (%d tags; the limit is %d)", n, MaxTags)
}

// tagTopic resolves the topic of a ResourceArn for the tag actions.
func (s *Service) tagTopic(ctx context.Context, r *awsapi.Request, perm awsapi.Permission) (string, *topicState, error) {
	arn := r.Form.Get("ResourceArn")
	name, err := s.parseTopicARN("ResourceArn", arn)
	if err != nil {
		return "", nil, err
	}
	if err := s.authorize(ctx, perm, "topic", name); err != nil {
		return "", nil, err
	}
	t, err := s.existingTopic(ctx, name)
	if err != nil {
		return "", nil, &awsapi.Error{Code: "ResourceNotFound", Message: "Resource does not exist: " + arn, Status: http.StatusNotFound}
	}
	return name, t, nil
}

// tagResource adds or replaces tags of a topic.
func (s *Service) tagResource(ctx context.Context, r *awsapi.Request) (any, error) {
	tags, err := tagList(r.Form)
	if err != nil {
		return nil, err
	}
	if len(tags) == 0 {
		return nil, invalidParameter("Tags Reason: no tags given")
	}
	err = s.changeTags(ctx, r, func(m map[string]string) error {
		maps.Copy(m, tags)
		if len(m) > MaxTags {
			return tagLimit(len(m))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return struct {
		XMLName xml.Name `xml:"TagResourceResult"`
	}{}, nil
}

// untagResource removes tags of a topic; missing keys are ignored.
func (s *Service) untagResource(ctx context.Context, r *awsapi.Request) (any, error) {
	keys, err := awsapi.List(r.Form, "TagKeys.member")
	if err != nil {
		return nil, snsError(err)
	}
	if len(keys) == 0 {
		return nil, invalidParameter("TagKeys Reason: no tag keys given")
	}
	err = s.changeTags(ctx, r, func(m map[string]string) error {
		for _, k := range keys {
			delete(m, k)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return struct {
		XMLName xml.Name `xml:"UntagResourceResult"`
	}{}, nil
}

// changeTags is TagResource and UntagResource once their input is
// checked: under the admin lock, it finds the topic of the request's
// ResourceArn (Manage permission), lets edit change a copy of its tags and
// stores that copy unless edit fails.
func (s *Service) changeTags(ctx context.Context, r *awsapi.Request, edit func(tags map[string]string) error) error {
	s.admin.Lock()
	defer s.admin.Unlock()
	name, t, err := s.tagTopic(ctx, r, awsapi.Manage)
	if err != nil {
		return err
	}
	next := t.clone()
	if err := edit(next.Tags); err != nil {
		return err
	}
	return s.putTopic(ctx, name, next)
}

// tag is one <member> of a tag list.
type tag struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

// listTagsResult is ListTagsForResource's result.
type listTagsResult struct {
	XMLName xml.Name `xml:"ListTagsForResourceResult"`
	Tags    []tag    `xml:"Tags>member"`
}

// listTagsForResource returns a topic's tags.
func (s *Service) listTagsForResource(ctx context.Context, r *awsapi.Request) (any, error) {
	_, t, err := s.tagTopic(ctx, r, awsapi.Describe)
	if err != nil {
		return nil, err
	}
	res := listTagsResult{Tags: []tag{}}
	for _, k := range slices.Sorted(maps.Keys(t.Tags)) {
		res.Tags = append(res.Tags, tag{k, t.Tags[k]})
	}
	return res, nil
}
