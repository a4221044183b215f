package sqs

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	courier "github.com/courier-io/courier"
	"github.com/courier-io/courier/awsapi"
)

// AWS limits of queues.
const (
	maxQueueNameLen = 80
	maxTags         = 50
	maxTagKeyLen    = 128
	maxTagValueLen  = 256
	maxPolicyLen    = 20 << 10
	purgeInterval   = 60 * time.Second
	maxListResults  = 1000
)

// queueMeta is what this package keeps in awsapi.Meta for a queue, under
// "sqs/queue/NAME": what courier queues have no field for.
type queueMeta struct {
	// Created is the courier queue's CreatedAt (unix nanoseconds): meta
	// of a queue that was deleted and created again elsewhere (REST) is
	// recognised as stale and ignored.
	Created             int64             `json:"created"`
	Modified            int64             `json:"modified,omitempty"` // unix seconds of the last change of these fields
	Tags                map[string]string `json:"tags,omitempty"`
	Policy              string            `json:"policy,omitempty"`
	RedriveAllowPolicy  string            `json:"redrive_allow_policy,omitempty"`
	DeduplicationScope  string            `json:"deduplication_scope,omitempty"`
	FifoThroughputLimit string            `json:"fifo_throughput_limit,omitempty"`
	SqsManagedSse       bool              `json:"sqs_managed_sse,omitempty"`
	// KmsReusePeriod is KmsDataKeyReusePeriodSeconds: stored and returned
	// (tools such as Terraform send it by default), meaningless without
	// the KMS key that courier refuses.
	KmsReusePeriod int `json:"kms_reuse_period,omitempty"`
}

// queueState is a queue as SQS sees it: courier's info and the metadata.
type queueState struct {
	name string
	info courier.QueueInfo
	meta queueMeta
}

func metaKey(name string) string { return metaPrefix + "queue/" + name }

// loadQueue returns the state of queue name; QueueDoesNotExist when there
// is none.
func (s *Service) loadQueue(ctx context.Context, name string) (*queueState, error) {
	st, err := s.loadInfo(ctx, name)
	if err != nil {
		return nil, err
	}
	return st, s.loadMeta(st)
}

// loadInfo is loadQueue without the metadata, for the message actions
// that need only courier's info (st.meta stays empty).
func (s *Service) loadInfo(ctx context.Context, name string) (*queueState, error) {
	info, err := s.b.Queue(name).Info(ctx)
	if err != nil {
		if errors.Is(err, courier.ErrNotFound) || errors.Is(err, courier.ErrInvalid) {
			return nil, errQueueDoesNotExist("")
		}
		return nil, err
	}
	return &queueState{name: name, info: info}, nil
}

// loadMeta reads st's metadata into st.meta (left empty when the queue
// has none, or only an older queue of its name had).
func (s *Service) loadMeta(st *queueState) error {
	var m queueMeta
	if ok, err := s.env.Meta.Get(metaKey(st.name), &m); err != nil {
		return err
	} else if ok && m.Created == st.info.CreatedAt.UnixNano() {
		st.meta = m
	}
	return nil
}

// queueMissing reports whether err is loadQueue's QueueDoesNotExist.
func queueMissing(err error) bool {
	var ae *awsapi.Error
	return errors.As(err, &ae) && ae.Type == "QueueDoesNotExist"
}

// saveMeta stores the metadata of st.
func (s *Service) saveMeta(ctx context.Context, st *queueState) error {
	st.meta.Created = st.info.CreatedAt.UnixNano()
	return s.env.Meta.Put(ctx, metaKey(st.name), st.meta)
}

// fifo reports whether the queue is FIFO.
func (st *queueState) fifo() bool { return st.info.Attributes.FIFO }

// dedupScope is the queue's DeduplicationScope ("queue" by default).
func (st *queueState) dedupScope() string {
	if st.meta.DeduplicationScope == "" {
		return "queue"
	}
	return st.meta.DeduplicationScope
}

// validateQueueName checks a new queue's name as AWS does.
func validateQueueName(name string, fifo bool) error {
	base, isFifoName := strings.CutSuffix(name, ".fifo")
	ok := name != "" && len(name) <= maxQueueNameLen && base != ""
	for _, c := range base {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			ok = false
		}
	}
	switch {
	case fifo && (!ok || !isFifoName):
		return errInvalidParam("The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length; %q is not such a name.", awsapi.Truncate(name, 100))
	case !fifo && (!ok || isFifoName):
		return errInvalidParam("Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length; %q is not such a name (a name ending in .fifo needs the attribute FifoQueue=true).", awsapi.Truncate(name, 100))
	}
	return nil
}

// Queue attribute names.
const (
	attrDelaySeconds          = "DelaySeconds"
	attrMaximumMessageSize    = "MaximumMessageSize"
	attrRetention             = "MessageRetentionPeriod"
	attrPolicy                = "Policy"
	attrReceiveWait           = "ReceiveMessageWaitTimeSeconds"
	attrVisibilityTimeout     = "VisibilityTimeout"
	attrRedrivePolicy         = "RedrivePolicy"
	attrRedriveAllowPolicy    = "RedriveAllowPolicy"
	attrKmsMasterKeyID        = "KmsMasterKeyId"
	attrKmsReusePeriod        = "KmsDataKeyReusePeriodSeconds"
	attrSqsManagedSse         = "SqsManagedSseEnabled"
	attrFifoQueue             = "FifoQueue"
	attrContentBasedDedup     = "ContentBasedDeduplication"
	attrDeduplicationScope    = "DeduplicationScope"
	attrFifoThroughputLimit   = "FifoThroughputLimit"
	attrQueueArn              = "QueueArn"
	attrApproxMessages        = "ApproximateNumberOfMessages"
	attrApproxNotVisible      = "ApproximateNumberOfMessagesNotVisible"
	attrApproxDelayed         = "ApproximateNumberOfMessagesDelayed"
	attrCreatedTimestamp      = "CreatedTimestamp"
	attrLastModifiedTimestamp = "LastModifiedTimestamp"
)

// readOnlyAttrs are the attributes GetQueueAttributes reports and no
// request sets.
var readOnlyAttrs = map[string]bool{
	attrQueueArn: true, attrApproxMessages: true, attrApproxNotVisible: true, attrApproxDelayed: true,
	attrCreatedTimestamp: true, attrLastModifiedTimestamp: true,
}

// fifoOnlyAttrs exist only on FIFO queues.
var fifoOnlyAttrs = map[string]bool{
	attrFifoQueue: true, attrContentBasedDedup: true, attrDeduplicationScope: true, attrFifoThroughputLimit: true,
}

// intAttr parses an integer attribute in [lo, hi].
func intAttr(name, v string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, errAttrValue("Invalid value for the parameter %s: %q is not an integer from %d to %d.", name, awsapi.Truncate(v, 64), lo, hi)
	}
	return n, nil
}

// boolAttr parses "true" or "false" (any case, as AWS accepts).
func boolAttr(name, v string) (bool, error) {
	switch strings.ToLower(v) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, errAttrValue("Invalid value for the parameter %s: %q is not true or false.", name, awsapi.Truncate(v, 64))
}

// redrivePolicy is the RedrivePolicy attribute.
type redrivePolicy struct {
	DeadLetterTargetArn string          `json:"deadLetterTargetArn"`
	MaxReceiveCount     json.RawMessage `json:"maxReceiveCount"`
}

// redriveAllowPolicy is the RedriveAllowPolicy attribute.
type redriveAllowPolicy struct {
	RedrivePermission string   `json:"redrivePermission"`
	SourceQueueArns   []string `json:"sourceQueueArns,omitempty"`
}

// applyAttributes sets attrs on st as CreateQueue (creating) or
// SetQueueAttributes does, after checking every one; on error st may be
// partly changed and must be dropped.
func (c *call) applyAttributes(st *queueState, attrs map[string]string, creating bool) error {
	a := &st.info.Attributes
	if v, ok := attrs[attrFifoQueue]; ok {
		if !creating {
			return errAttrName("Attribute %s can only be set when the queue is created.", attrFifoQueue)
		}
		fifo, err := boolAttr(attrFifoQueue, v)
		if err != nil {
			return err
		}
		a.FIFO = fifo
	}
	for _, name := range slices.Sorted(maps.Keys(attrs)) {
		v := attrs[name]
		if fifoOnlyAttrs[name] && !a.FIFO {
			return errAttrName("Unknown Attribute %s: it exists only on FIFO queues.", name)
		}
		switch name {
		case attrFifoQueue:
		case attrDelaySeconds:
			n, err := intAttr(name, v, 0, 900)
			if err != nil {
				return err
			}
			a.DeliveryDelay = time.Duration(n) * time.Second
		case attrMaximumMessageSize:
			n, err := intAttr(name, v, 1024, 1<<20)
			if err != nil {
				return err
			}
			a.MaxMessageSize = n
		case attrRetention:
			n, err := intAttr(name, v, 60, 1209600)
			if err != nil {
				return err
			}
			a.RetentionPeriod = time.Duration(n) * time.Second
		case attrReceiveWait:
			n, err := intAttr(name, v, 0, 20)
			if err != nil {
				return err
			}
			a.ReceiveWait = time.Duration(n) * time.Second
		case attrVisibilityTimeout:
			n, err := intAttr(name, v, 0, 43200)
			if err != nil {
				return err
			}
			a.VisibilityTimeout = time.Duration(n) * time.Second
		case attrPolicy:
			if v != "" && (len(v) > maxPolicyLen || !json.Valid([]byte(v)) || !strings.HasPrefix(strings.TrimSpace(v), "{")) {
				return errAttrValue("Invalid value for the parameter Policy: it must be a JSON policy document of at most %d bytes.", maxPolicyLen)
			}
			st.meta.Policy = v
		case attrRedrivePolicy:
			if err := c.applyRedrivePolicy(st, v); err != nil {
				return err
			}
		case attrRedriveAllowPolicy:
			norm, err := c.parseRedriveAllowPolicy(v)
			if err != nil {
				return err
			}
			st.meta.RedriveAllowPolicy = norm
		case attrKmsMasterKeyID:
			if v == "" {
				continue // no KMS key: what courier does anyway
			}
			return errAttrValue("Invalid value for the parameter %s: courier does not encrypt queues with KMS keys (SSE-KMS is not supported); leave %s unset.", name, name)
		case attrKmsReusePeriod:
			n, err := intAttr(name, v, 60, 86400)
			if err != nil {
				return err
			}
			st.meta.KmsReusePeriod = n
		case attrSqsManagedSse:
			on, err := boolAttr(name, v)
			if err != nil {
				return err
			}
			st.meta.SqsManagedSse = on
		case attrContentBasedDedup:
			on, err := boolAttr(name, v)
			if err != nil {
				return err
			}
			a.ContentBasedDedup = on
		case attrDeduplicationScope:
			if v != "messageGroup" && v != "queue" {
				return errAttrValue("Invalid value for the parameter DeduplicationScope: %q; valid are messageGroup and queue.", awsapi.Truncate(v, 64))
			}
			st.meta.DeduplicationScope = v
		case attrFifoThroughputLimit:
			if v != "perQueue" && v != "perMessageGroupId" {
				return errAttrValue("Invalid value for the parameter FifoThroughputLimit: %q; valid are perQueue and perMessageGroupId.", awsapi.Truncate(v, 64))
			}
			st.meta.FifoThroughputLimit = v
		default:
			if readOnlyAttrs[name] {
				return errAttrName("Attribute %s is read-only: GetQueueAttributes reports it, no request sets it.", name)
			}
			return errAttrName("Unknown Attribute %s.", awsapi.Truncate(name, 128))
		}
	}
	if st.meta.FifoThroughputLimit == "perMessageGroupId" && st.dedupScope() != "messageGroup" {
		return errAttrValue("Invalid value for the parameter FifoThroughputLimit: perMessageGroupId is allowed only when DeduplicationScope is messageGroup.")
	}
	return nil
}

// applyRedrivePolicy sets or (v empty) removes st's dead-letter queue,
// checking that the target exists, has st's type and allows st as a
// source by its RedriveAllowPolicy.
func (c *call) applyRedrivePolicy(st *queueState, v string) error {
	a := &st.info.Attributes
	if v == "" {
		a.DeadLetterQueue, a.MaxReceives = "", 0
		return nil
	}
	bad := func(reason string, args ...any) error {
		return errInvalidParam("Value %s for parameter RedrivePolicy is invalid. Reason: %s", awsapi.Truncate(v, 256), fmt.Sprintf(reason, args...))
	}
	var p redrivePolicy
	dec := json.NewDecoder(strings.NewReader(v))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return bad("it must be a JSON object with deadLetterTargetArn and maxReceiveCount (%v).", err)
	}
	if p.DeadLetterTargetArn == "" || len(p.MaxReceiveCount) == 0 {
		return bad("Redrive policy requires both deadLetterTargetArn and maxReceiveCount.")
	}
	raw := strings.Trim(string(p.MaxReceiveCount), `"`)
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > 1000 {
		return bad("maxReceiveCount must be an integer from 1 to 1000.")
	}
	dlq, err := c.s.env.ParseOwnARN(p.DeadLetterTargetArn, "sqs", "InvalidParameterValue")
	if err != nil {
		return bad("deadLetterTargetArn: %s", awsapi.AsError(err).Message)
	}
	if dlq == st.name {
		return bad("a queue cannot be its own dead-letter queue.")
	}
	// The broker moves the queue's failed messages into the dead-letter
	// queue: the caller must be allowed to send to it.
	if err := c.authorize(awsapi.Publish, dlq); err != nil {
		return err
	}
	target, err := c.s.loadQueue(c.ctx(), dlq)
	if err != nil {
		if queueMissing(err) {
			return bad("Dead letter target does not exist.")
		}
		return err
	}
	if target.fifo() != a.FIFO {
		return bad("Dead-letter queue must be same type of queue as the source.")
	}
	if pol := target.meta.RedriveAllowPolicy; pol != "" {
		var allow redriveAllowPolicy
		_ = json.Unmarshal([]byte(pol), &allow)
		arn := c.s.queueARN(st.name)
		switch allow.RedrivePermission {
		case "denyAll":
			return bad("Queue %s does not allow any source queue to use it as dead-letter queue (its RedriveAllowPolicy is denyAll).", dlq)
		case "byQueue":
			if !slices.Contains(allow.SourceQueueArns, arn) {
				return bad("Queue %s does not allow %s as a source queue (not in its RedriveAllowPolicy's sourceQueueArns).", dlq, arn)
			}
		}
	}
	a.DeadLetterQueue, a.MaxReceives = dlq, n
	return nil
}

// parseRedriveAllowPolicy checks a RedriveAllowPolicy and returns it
// normalized ("" removes it).
func (c *call) parseRedriveAllowPolicy(v string) (string, error) {
	if v == "" {
		return "", nil
	}
	bad := func(reason string) error {
		return errInvalidParam("Value %s for parameter RedriveAllowPolicy is invalid. Reason: %s", awsapi.Truncate(v, 256), reason)
	}
	var p redriveAllowPolicy
	dec := json.NewDecoder(strings.NewReader(v))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return "", bad("it must be a JSON object with redrivePermission and, for byQueue, sourceQueueArns.")
	}
	switch p.RedrivePermission {
	case "allowAll", "denyAll":
		if len(p.SourceQueueArns) > 0 {
			return "", bad("sourceQueueArns may be given only with redrivePermission byQueue.")
		}
	case "byQueue":
		if len(p.SourceQueueArns) == 0 || len(p.SourceQueueArns) > 10 {
			return "", bad("redrivePermission byQueue needs 1 to 10 sourceQueueArns.")
		}
		for _, arn := range p.SourceQueueArns {
			if _, err := c.s.env.ParseOwnARN(arn, "sqs", "InvalidParameterValue"); err != nil {
				return "", bad("sourceQueueArns: " + awsapi.AsError(err).Message)
			}
		}
	default:
		return "", bad("redrivePermission must be allowAll, denyAll or byQueue.")
	}
	out, _ := json.Marshal(p)
	return string(out), nil
}

// attributes renders every attribute of st as GetQueueAttributes reports
// it.
func (s *Service) attributes(st *queueState) map[string]string {
	a := st.info.Attributes
	sec := func(d time.Duration) string { return strconv.FormatInt(int64(d/time.Second), 10) }
	modified := st.info.UpdatedAt.Unix()
	if st.meta.Modified > modified {
		modified = st.meta.Modified
	}
	out := map[string]string{
		attrQueueArn:              s.queueARN(st.name),
		attrApproxMessages:        strconv.FormatInt(st.info.Stats.Visible, 10),
		attrApproxNotVisible:      strconv.FormatInt(st.info.Stats.InFlight, 10),
		attrApproxDelayed:         strconv.FormatInt(st.info.Stats.Delayed, 10),
		attrCreatedTimestamp:      strconv.FormatInt(st.info.CreatedAt.Unix(), 10),
		attrLastModifiedTimestamp: strconv.FormatInt(modified, 10),
		attrVisibilityTimeout:     sec(a.VisibilityTimeout),
		attrMaximumMessageSize:    strconv.Itoa(a.MaxMessageSize),
		attrRetention:             sec(a.RetentionPeriod),
		attrDelaySeconds:          sec(a.DeliveryDelay),
		attrReceiveWait:           sec(a.ReceiveWait),
		attrSqsManagedSse:         strconv.FormatBool(st.meta.SqsManagedSse),
	}
	if st.meta.KmsReusePeriod != 0 {
		out[attrKmsReusePeriod] = strconv.Itoa(st.meta.KmsReusePeriod)
	}
	if a.DeadLetterQueue != "" {
		p, _ := json.Marshal(struct {
			DeadLetterTargetArn string `json:"deadLetterTargetArn"`
			MaxReceiveCount     int    `json:"maxReceiveCount"`
		}{s.queueARN(a.DeadLetterQueue), a.MaxReceives})
		out[attrRedrivePolicy] = string(p)
	}
	if st.meta.RedriveAllowPolicy != "" {
		out[attrRedriveAllowPolicy] = st.meta.RedriveAllowPolicy
	}
	if st.meta.Policy != "" {
		out[attrPolicy] = st.meta.Policy
	}
	if a.FIFO {
		out[attrFifoQueue] = "true"
		out[attrContentBasedDedup] = strconv.FormatBool(a.ContentBasedDedup)
		out[attrDeduplicationScope] = st.dedupScope()
		limit := st.meta.FifoThroughputLimit
		if limit == "" {
			limit = "perQueue"
		}
		out[attrFifoThroughputLimit] = limit
	}
	return out
}

// knownAttr reports whether name is an attribute GetQueueAttributes knows.
func knownAttr(name string) bool {
	switch name {
	case attrDelaySeconds, attrMaximumMessageSize, attrRetention, attrPolicy, attrReceiveWait, attrVisibilityTimeout,
		attrRedrivePolicy, attrRedriveAllowPolicy, attrKmsMasterKeyID, attrKmsReusePeriod, attrSqsManagedSse:
		return true
	}
	return readOnlyAttrs[name] || fifoOnlyAttrs[name]
}

// validateTags checks tags as AWS does.
func validateTags(tags map[string]string) error {
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		v := tags[k]
		switch {
		case k == "" || len(k) > maxTagKeyLen:
			return errInvalidParam("Tag key %q must be 1 to %d characters long.", awsapi.Truncate(k, 140), maxTagKeyLen)
		case len(v) > maxTagValueLen:
			return errInvalidParam("Value of tag %q is %d characters long; the limit is %d.", k, len(v), maxTagValueLen)
		case strings.HasPrefix(strings.ToLower(k), "aws:"):
			return errInvalidParam("Tag key %q starts with aws:, which AWS reserves.", k)
		}
		for _, s := range []string{k, v} {
			for _, r := range s {
				if !(unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsSpace(r) || strings.ContainsRune("_.:/=+-@", r)) {
					return errInvalidParam("Tag %q has character %q; allowed are letters, digits, spaces and _ . : / = + - @.", awsapi.Truncate(k, 140), r)
				}
			}
		}
	}
	if len(tags) > maxTags {
		return errInvalidParam("Too many tags: %d given; a queue has at most %d.", len(tags), maxTags)
	}
	return nil
}

func (c *call) createQueue() (any, error) {
	var in createQueueInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if in.QueueName == "" {
		return nil, errMissing("QueueName")
	}
	if err := c.authorize(awsapi.Manage, in.QueueName); err != nil {
		return nil, err
	}
	if err := validateTags(in.Tags); err != nil {
		return nil, err
	}
	ctx := c.ctx()
	existing, err := c.s.loadQueue(ctx, in.QueueName)
	switch {
	case err == nil:
		// Idempotent when the request's attributes match the queue's.
		want := *existing
		if err := c.applyAttributes(&want, in.Attributes, true); err != nil {
			return nil, err
		}
		if want.info.Attributes != existing.info.Attributes || !sameMeta(want.meta, existing.meta) {
			return nil, errBatch("QueueAlreadyExists", "QueueNameExists", "A queue already exists with the same name and a different value for attribute(s) %s.", strings.Join(slices.Sorted(maps.Keys(in.Attributes)), ", "))
		}
		return createQueueResult{QueueUrl: c.queueURL(in.QueueName)}, nil
	case queueMissing(err):
	default:
		return nil, err
	}
	st := &queueState{name: in.QueueName, info: courier.QueueInfo{Attributes: courier.DefaultQueueAttributes()}}
	if err := c.applyAttributes(st, in.Attributes, true); err != nil {
		return nil, err
	}
	if err := validateQueueName(in.QueueName, st.fifo()); err != nil {
		return nil, err
	}
	if _, err := c.s.b.CreateQueue(ctx, in.QueueName, courier.WithAttributes(st.info.Attributes)); err != nil {
		if errors.Is(err, courier.ErrConflict) || errors.Is(err, courier.ErrExists) {
			return nil, errBatch("QueueAlreadyExists", "QueueNameExists", "A queue already exists with the same name and different attributes: %v", err)
		}
		return nil, err
	}
	info, err := c.s.b.Queue(in.QueueName).Info(ctx)
	if err != nil {
		return nil, err
	}
	st.info = info
	st.meta.Tags = in.Tags
	if err := c.s.saveMeta(ctx, st); err != nil {
		return nil, err
	}
	return createQueueResult{QueueUrl: c.queueURL(in.QueueName)}, nil
}

// sameMeta compares the attributes of two metadata records (not tags).
func sameMeta(a, b queueMeta) bool {
	return a.Policy == b.Policy && a.RedriveAllowPolicy == b.RedriveAllowPolicy && a.DeduplicationScope == b.DeduplicationScope &&
		a.FifoThroughputLimit == b.FifoThroughputLimit && a.SqsManagedSse == b.SqsManagedSse && a.KmsReusePeriod == b.KmsReusePeriod
}

func (c *call) deleteQueue() (any, error) {
	var in queueInput
	name, err := c.decodeQueue(&in)
	if err != nil {
		return nil, err
	}
	if err := c.authorize(awsapi.Manage, name); err != nil {
		return nil, err
	}
	if err := c.s.b.DeleteQueue(c.ctx(), name); err != nil {
		if errors.Is(err, courier.ErrNotFound) || errors.Is(err, courier.ErrInvalid) {
			return nil, errQueueDoesNotExist("")
		}
		return nil, err
	}
	c.s.forgetQueue(name)
	return nil, c.s.env.Meta.Delete(c.ctx(), metaKey(name))
}

// forgetQueue drops the in-memory state of a deleted queue.
func (s *Service) forgetQueue(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.purged, name)
	delete(s.tasks, name) // a running one fails with its queue
	if err := s.env.Meta.DeletePrefix(context.Background(), metaPrefix+"movetask/"+name+"/"); err != nil {
		s.env.Logger.Warn("sqs: deleting the message move tasks of a deleted queue", "queue", name, "err", err)
	}
	for k := range s.attempts {
		if strings.HasPrefix(k, name+"\x00") {
			s.dropAttemptLocked(k)
		}
	}
}

// maxResults checks an optional MaxResults in 1..hi.
func maxResults(v *int64, hi int) (int, error) {
	if v == nil {
		return 0, nil
	}
	if *v < 1 || *v > int64(hi) {
		return 0, errInvalidParam("Value %d for parameter MaxResults is invalid. Reason: it must be between 1 and %d.", *v, hi)
	}
	return int(*v), nil
}

// page returns the names after the NextToken token, at most max of them
// (all when max is 0), and the token of the rest.
func page(names []string, token string, max int) ([]string, string, error) {
	if token != "" {
		after, err := base64.RawURLEncoding.DecodeString(token)
		if err != nil || len(after) == 0 {
			return nil, "", errInvalidParam("Invalid NextToken value %q.", awsapi.Truncate(token, 64))
		}
		i, _ := slices.BinarySearch(names, string(after))
		for i < len(names) && names[i] <= string(after) {
			i++
		}
		names = names[i:]
	}
	if max == 0 || len(names) <= max {
		return names, "", nil
	}
	return names[:max], base64.RawURLEncoding.EncodeToString([]byte(names[max-1])), nil
}

func (c *call) listQueues() (any, error) {
	var in listQueuesInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	max, err := maxResults(in.MaxResults, maxListResults)
	if err != nil {
		return nil, err
	}
	if err := c.authorize(awsapi.Describe, "*"); err != nil {
		return nil, err
	}
	all, err := c.s.b.ListQueues(c.ctx())
	if err != nil {
		return nil, err
	}
	var names []string
	for _, n := range all {
		if strings.HasPrefix(n, in.QueueNamePrefix) {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	if max == 0 && len(names) > maxListResults {
		names = names[:maxListResults]
	}
	names, next, err := page(names, in.NextToken, max)
	if err != nil {
		return nil, err
	}
	out := listQueuesResult{QueueUrls: make([]string, len(names)), NextToken: next}
	for i, n := range names {
		out.QueueUrls[i] = c.queueURL(n)
	}
	return out, nil
}

func (c *call) getQueueURL() (any, error) {
	var in getQueueURLInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if in.QueueName == "" {
		return nil, errMissing("QueueName")
	}
	if in.QueueOwnerAWSAccountId != "" && in.QueueOwnerAWSAccountId != c.s.env.AccountID {
		return nil, errQueueDoesNotExist(fmt.Sprintf("this endpoint serves account %s, not %s", c.s.env.AccountID, awsapi.Truncate(in.QueueOwnerAWSAccountId, 20)))
	}
	if _, err := c.authorizedInfo(awsapi.Describe, in.QueueName); err != nil {
		return nil, err
	}
	return getQueueURLResult{QueueUrl: c.queueURL(in.QueueName)}, nil
}

func (c *call) getQueueAttributes() (any, error) {
	var in getQueueAttributesInput
	name, err := c.decodeQueue(&in)
	if err != nil {
		return nil, err
	}
	for _, n := range in.AttributeNames {
		if n != "All" && !knownAttr(n) {
			return nil, errAttrName("Unknown Attribute %s.", awsapi.Truncate(n, 128))
		}
	}
	st, err := c.authorizedQueue(awsapi.Describe, name)
	if err != nil {
		return nil, err
	}
	all := c.s.attributes(st)
	out := attrMap{}
	for _, n := range in.AttributeNames {
		if n == "All" {
			maps.Copy(out, all)
			continue
		}
		if fifoOnlyAttrs[n] && !st.fifo() {
			return nil, errAttrName("Unknown Attribute %s: it exists only on FIFO queues.", n)
		}
		if v, ok := all[n]; ok {
			out[n] = v
		}
	}
	return getQueueAttributesResult{Attributes: out}, nil
}

func (c *call) setQueueAttributes() (any, error) {
	var in setQueueAttributesInput
	name, err := c.decodeQueue(&in)
	if err != nil {
		return nil, err
	}
	if in.Attributes == nil {
		return nil, errMissing("Attributes")
	}
	st, err := c.authorizedQueue(awsapi.Manage, name)
	if err != nil {
		return nil, err
	}
	ctx := c.ctx()
	old := *st
	if err := c.applyAttributes(st, in.Attributes, false); err != nil {
		return nil, err
	}
	if st.info.Attributes != old.info.Attributes {
		info, err := c.s.b.Queue(name).SetAttributes(ctx, courier.WithAttributes(st.info.Attributes))
		if err != nil {
			return nil, err
		}
		st.info = info
	}
	if !sameMeta(st.meta, old.meta) {
		st.meta.Modified = c.s.now().Unix()
		if err := c.s.saveMeta(ctx, st); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

func (c *call) purgeQueue() (any, error) {
	var in queueInput
	name, err := c.decodeQueue(&in)
	if err != nil {
		return nil, err
	}
	if _, err := c.authorizedInfo(awsapi.Manage, name); err != nil {
		return nil, err
	}
	now := c.s.now()
	c.s.mu.Lock()
	last, ok := c.s.purged[name]
	if ok && now.Sub(last) < purgeInterval {
		c.s.mu.Unlock()
		return nil, &awsapi.Error{Code: "AWS.SimpleQueueService.PurgeQueueInProgress", Type: "PurgeQueueInProgress", Status: 403,
			Message: fmt.Sprintf("Only one PurgeQueue operation on %s is allowed every 60 seconds; the last one was %s ago.", name, now.Sub(last).Round(time.Second))}
	}
	for q, t := range c.s.purged {
		if now.Sub(t) >= purgeInterval {
			delete(c.s.purged, q) // no longer limits; queues deleted elsewhere leave theirs
		}
	}
	c.s.purged[name] = now
	c.s.mu.Unlock()
	if _, err := c.s.b.Queue(name).Purge(c.ctx()); err != nil {
		c.s.mu.Lock()
		if c.s.purged[name] == now {
			delete(c.s.purged, name)
		}
		c.s.mu.Unlock()
		return nil, err
	}
	return nil, nil
}

func (c *call) tagQueue() (any, error) {
	var in tagQueueInput
	name, err := c.decodeQueue(&in)
	if err != nil {
		return nil, err
	}
	if len(in.Tags) == 0 {
		return nil, errMissing("Tags")
	}
	if err := validateTags(in.Tags); err != nil {
		return nil, err
	}
	st, err := c.authorizedQueue(awsapi.Manage, name)
	if err != nil {
		return nil, err
	}
	tags := maps.Clone(st.meta.Tags)
	if tags == nil {
		tags = map[string]string{}
	}
	maps.Copy(tags, in.Tags)
	if len(tags) > maxTags {
		return nil, errInvalidParam("Too many tags added for queue %s: it would have %d; the limit is %d.", name, len(tags), maxTags)
	}
	st.meta.Tags = tags
	return nil, c.s.saveMeta(c.ctx(), st)
}

func (c *call) untagQueue() (any, error) {
	var in untagQueueInput
	name, err := c.decodeQueue(&in)
	if err != nil {
		return nil, err
	}
	if len(in.TagKeys) == 0 {
		return nil, errMissing("TagKeys")
	}
	st, err := c.authorizedQueue(awsapi.Manage, name)
	if err != nil {
		return nil, err
	}
	tags := maps.Clone(st.meta.Tags)
	for _, k := range in.TagKeys {
		delete(tags, k)
	}
	st.meta.Tags = tags
	return nil, c.s.saveMeta(c.ctx(), st)
}

func (c *call) listQueueTags() (any, error) {
	var in queueInput
	name, err := c.decodeQueue(&in)
	if err != nil {
		return nil, err
	}
	st, err := c.authorizedQueue(awsapi.Describe, name)
	if err != nil {
		return nil, err
	}
	return listQueueTagsResult{Tags: st.meta.Tags}, nil
}

// deadLetterSources returns the queues whose dead-letter queue is dlq,
// sorted.
func (s *Service) deadLetterSources(ctx context.Context, dlq string) ([]string, error) {
	all, err := s.b.ListQueues(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, n := range all {
		info, err := s.b.Queue(n).Info(ctx)
		if err != nil {
			if errors.Is(err, courier.ErrNotFound) {
				continue // deleted meanwhile
			}
			return nil, err
		}
		if info.Attributes.DeadLetterQueue == dlq {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out, nil
}

func (c *call) listDeadLetterSourceQueues() (any, error) {
	var in listDeadLetterSourceQueuesInput
	name, err := c.decodeQueue(&in)
	if err != nil {
		return nil, err
	}
	max, err := maxResults(in.MaxResults, maxListResults)
	if err != nil {
		return nil, err
	}
	if err := c.authorize(awsapi.Describe, "*"); err != nil {
		return nil, err
	}
	if _, err := c.s.loadInfo(c.ctx(), name); err != nil {
		return nil, err
	}
	srcs, err := c.s.deadLetterSources(c.ctx(), name)
	if err != nil {
		return nil, err
	}
	srcs, next, err := page(srcs, in.NextToken, max)
	if err != nil {
		return nil, err
	}
	out := listDeadLetterSourceQueuesResult{QueueUrls: make([]string, len(srcs)), NextToken: next}
	for i, n := range srcs {
		out.QueueUrls[i] = c.queueURL(n)
	}
	return out, nil
}
