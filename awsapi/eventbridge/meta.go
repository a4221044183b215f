package eventbridge

import (
	"context"
	"strings"
	"time"

	"github.com/courier-io/courier/awsapi"
)

// Keys of the AWS-only data in the metadata store. Bus, rule and target
// names hold no '/', so a bus's or a rule's keys share a prefix that no
// other bus or rule has.
const (
	metaPrefix = "events/"
	// busKey + BUS: busMeta.
	busKey = metaPrefix + "bus/"
	// ruleKey + BUS/RULE: ruleMeta.
	ruleKey = metaPrefix + "rule/"
	// targetKey + BUS/RULE/ID: awsTarget, as PutTargets got it.
	targetKey = metaPrefix + "target/"
	// busTagsKey + BUS, ruleTagsKey + BUS/RULE: []tag.
	busTagsKey  = metaPrefix + "tags/bus/"
	ruleTagsKey = metaPrefix + "tags/rule/"
	// archiveKey + NAME: archiveMeta.
	archiveKey = metaPrefix + "archive/"
	// connectionKey + NAME: connection.
	connectionKey = metaPrefix + "connection/"
	// destinationKey + NAME: apiDestination.
	destinationKey = metaPrefix + "api-destination/"
)

// targetRecordKey is the key of the awsTarget of target id of a rule.
func targetRecordKey(bus, rule, id string) string { return targetKey + bus + "/" + rule + "/" + id }

// busMeta is what a bus has beyond courier's BusInfo.
type busMeta struct {
	// Description replaces courier's once UpdateEventBus set it (courier
	// cannot change a bus's description).
	Description *string   `json:"description,omitempty"`
	Modified    time.Time `json:"modified,omitzero"`
}

// ruleMeta is what a rule has beyond courier's RuleInfo.
type ruleMeta struct {
	RoleArn string `json:"role_arn,omitempty"`
}

// archiveMeta is what an archive has beyond courier's ArchiveInfo.
type archiveMeta struct {
	// Description replaces courier's once UpdateArchive set it.
	Description *string `json:"description,omitempty"`
}

// tag is an EventBridge tag.
type tag struct {
	Key   *string `json:"Key"`
	Value *string `json:"Value"`
}

// Tag limits, as EventBridge documents them.
const (
	maxTags        = 50
	maxTagKeyLen   = 128
	maxTagValueLen = 256
)

// checkTags validates tags as given to CreateEventBus, PutRule or
// TagResource.
func checkTags(tags []tag) error {
	if len(tags) > maxTags {
		return validationf("%d tags; a resource has at most %d", len(tags), maxTags)
	}
	seen := make(map[string]bool, len(tags))
	for i, t := range tags {
		if t.Key == nil || *t.Key == "" || len(*t.Key) > maxTagKeyLen {
			return validationf("Tags[%d].Key must have length between 1 and %d", i, maxTagKeyLen)
		}
		if t.Value == nil || len(*t.Value) > maxTagValueLen {
			return validationf("Tags[%d].Value is required and has at most %d characters", i, maxTagValueLen)
		}
		if strings.HasPrefix(strings.ToLower(*t.Key), "aws:") {
			return validationf("Tags[%d].Key %q: the prefix aws: is reserved for AWS", i, *t.Key)
		}
		if seen[*t.Key] {
			return validationf("Tags[%d].Key %q is given twice", i, *t.Key)
		}
		seen[*t.Key] = true
	}
	return nil
}

// getTags returns the tags stored under key as a map.
func (s *Service) getTags(key string) (map[string]string, error) {
	var m map[string]string
	if _, err := s.env.Meta.Get(key, &m); err != nil {
		return nil, err
	}
	if m == nil {
		m = map[string]string{}
	}
	return m, nil
}

// putTags stores tags under key (none: deletes the key).
func (s *Service) putTags(ctx context.Context, key string, m map[string]string) error {
	if len(m) == 0 {
		return s.env.Meta.Delete(ctx, key)
	}
	return s.env.Meta.Put(ctx, key, m)
}

// tagMap turns validated tags into a map.
func tagMap(tags []tag) map[string]string {
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[*t.Key] = *t.Value
	}
	return m
}

// forgetRule removes a rule's AWS-only data: its record, its targets and
// its tags.
func (s *Service) forgetRule(ctx context.Context, bus, rule string) error {
	meta := s.env.Meta
	if err := meta.Delete(ctx, ruleKey+bus+"/"+rule); err != nil {
		return err
	}
	if err := meta.DeletePrefix(ctx, targetKey+bus+"/"+rule+"/"); err != nil {
		return err
	}
	return meta.Delete(ctx, ruleTagsKey+bus+"/"+rule)
}

// forgetBus removes a bus's AWS-only data and that of its rules.
func (s *Service) forgetBus(ctx context.Context, bus string) error {
	meta := s.env.Meta
	for _, k := range []string{busKey + bus, busTagsKey + bus} {
		if err := meta.Delete(ctx, k); err != nil {
			return err
		}
	}
	for _, p := range []string{ruleKey + bus + "/", targetKey + bus + "/", ruleTagsKey + bus + "/"} {
		if err := meta.DeletePrefix(ctx, p); err != nil {
			return err
		}
	}
	return nil
}

// metaErr wraps a metadata store failure as an InternalException.
func metaErr(err error) error {
	if err == nil {
		return nil
	}
	return &awsapi.Error{Code: "InternalException", Message: err.Error(), Server: true}
}
