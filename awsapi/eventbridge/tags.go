package eventbridge

import (
	"context"
	"maps"
	"slices"
	"strings"

	"github.com/courier-io/courier/awsapi"
)

// taggable resolves a ResourceARN of TagResource, UntagResource or
// ListTagsForResource: an event bus or a rule of this endpoint, which must
// exist. It checks perm on the resource's bus before it looks the
// resource up (so a refused caller cannot tell whether it exists) and
// returns the metadata key of its tags.
func (s *Service) taggable(ctx context.Context, perm awsapi.Permission, arn string) (key string, err error) {
	if arn == "" || len(arn) > maxTargetARNLen {
		return "", validationf("1 validation error detected: Value at 'resourceARN' failed to satisfy constraint: Member must have length between 1 and %d", maxTargetARNLen)
	}
	res, err := s.env.ParseOwnARN(arn, "events", "ValidationException")
	if err != nil {
		return "", err
	}
	switch {
	case strings.HasPrefix(res, "event-bus/"):
		bus, err := s.authorizedBus(ctx, perm, "ResourceARN", arn)
		if err != nil {
			return "", err
		}
		if _, err := s.busInfo(ctx, bus); err != nil {
			return "", err
		}
		return busTagsKey + bus, nil
	case strings.HasPrefix(res, "rule/"):
		bus, name := splitRuleResource(strings.TrimPrefix(res, "rule/"))
		ref, err := s.authorizedRule(ctx, perm, "ResourceARN", name, bus)
		if err != nil {
			return "", err
		}
		if _, err := s.rule(ctx, ref); err != nil {
			return "", err
		}
		return ruleTagsKey + ref.bus + "/" + ref.name, nil
	}
	kind, _, _ := strings.Cut(res, "/")
	return "", validationf("ResourceARN %q: EventBridge tags event buses and rules only, not %s resources", awsapi.Truncate(arn, 256), kind)
}

func (s *Service) tagResource(ctx context.Context, body []byte) (any, error) {
	var in struct {
		ResourceARN string `json:"ResourceARN"`
		Tags        []tag  `json:"Tags"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.Tags == nil {
		return nil, validationf("1 validation error detected: Value null at 'tags' failed to satisfy constraint: Member must not be null")
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	return s.changeTags(ctx, in.ResourceARN, func(m map[string]string) error {
		maps.Copy(m, tagMap(in.Tags))
		if len(m) > maxTags {
			return validationf("the resource would have %d tags; the limit is %d", len(m), maxTags)
		}
		return nil
	})
}

func (s *Service) untagResource(ctx context.Context, body []byte) (any, error) {
	var in struct {
		ResourceARN string   `json:"ResourceARN"`
		TagKeys     []string `json:"TagKeys"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.TagKeys == nil {
		return nil, validationf("1 validation error detected: Value null at 'tagKeys' failed to satisfy constraint: Member must not be null")
	}
	return s.changeTags(ctx, in.ResourceARN, func(m map[string]string) error {
		for _, k := range in.TagKeys {
			delete(m, k)
		}
		return nil
	})
}

// changeTags is TagResource and UntagResource once their input is
// checked: under the service's lock, it resolves arn (Manage permission),
// lets edit change the resource's tags and stores them unless edit fails.
func (s *Service) changeTags(ctx context.Context, arn string, edit func(map[string]string) error) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key, err := s.taggable(ctx, awsapi.Manage, arn)
	if err != nil {
		return nil, err
	}
	m, err := s.getTags(key)
	if err != nil {
		return nil, metaErr(err)
	}
	if err := edit(m); err != nil {
		return nil, err
	}
	return struct{}{}, metaErr(s.putTags(ctx, key, m))
}

func (s *Service) listTagsForResource(ctx context.Context, body []byte) (any, error) {
	var in struct {
		ResourceARN string `json:"ResourceARN"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	key, err := s.taggable(ctx, awsapi.Describe, in.ResourceARN)
	if err != nil {
		return nil, err
	}
	m, err := s.getTags(key)
	if err != nil {
		return nil, metaErr(err)
	}
	out := struct {
		Tags []tag `json:"Tags"`
	}{Tags: []tag{}}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out.Tags = append(out.Tags, tag{Key: &k, Value: new(m[k])})
	}
	return out, nil
}
