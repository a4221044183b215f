package kinesis

import (
	"maps"
	"slices"
	"strings"

	"github.com/courier-io/courier/awsapi"
)

// checkNewTags checks tags to add to existing ones: no key reserved by
// AWS ("aws:"), and at most 50 tags together.
func checkNewTags(add, existing map[string]string) error {
	n := len(existing)
	for k := range add {
		if strings.HasPrefix(strings.ToLower(k), "aws:") {
			return invalid("Tag key %q starts with aws:, which AWS reserves", k)
		}
		if _, ok := existing[k]; !ok {
			n++
		}
	}
	if n > maxTags {
		return invalid("Failed to add tags: a resource can have at most %d tags; it would have %d", maxTags, n)
	}
	return nil
}

// addTags adds the tags add to *tags, checked as checkNewTags does.
func addTags(tags *map[string]string, add map[string]string) error {
	if err := checkNewTags(add, *tags); err != nil {
		return err
	}
	if *tags == nil {
		*tags = map[string]string{}
	}
	maps.Copy(*tags, add)
	return nil
}

// removeTags removes keys from tags; missing keys are ignored.
func removeTags(tags map[string]string, keys []string) {
	for _, key := range keys {
		delete(tags, key)
	}
}

// sortedTags returns tags as a list sorted by key.
func sortedTags(tags map[string]string) []tag {
	out := make([]tag, 0, len(tags))
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		out = append(out, tag{Key: k, Value: tags[k]})
	}
	return out
}

func (s *Service) addTagsToStream(c *call, in *addTagsInput) (any, error) {
	k, err := s.lookupRef(c, awsapi.Manage, &in.streamRef)
	if err != nil {
		return nil, err
	}
	return nil, s.tagStream(c, k, in.Tags)
}

// tagStream adds tags to a stream.
func (s *Service) tagStream(c *call, k *kstream, tags map[string]string) error {
	return s.updateStreamMeta(c.ctx, k, func(m *streamMeta) error { return addTags(&m.Tags, tags) })
}

func (s *Service) removeTagsFromStream(c *call, in *removeTagsInput) (any, error) {
	k, err := s.lookupRef(c, awsapi.Manage, &in.streamRef)
	if err != nil {
		return nil, err
	}
	return nil, s.untagStream(c, k, in.TagKeys)
}

// untagStream removes tag keys from a stream; missing keys are ignored.
func (s *Service) untagStream(c *call, k *kstream, keys []string) error {
	return s.updateStreamMeta(c.ctx, k, func(m *streamMeta) error {
		removeTags(m.Tags, keys)
		return nil
	})
}

func (s *Service) listTagsForStream(c *call, in *listTagsForStreamInput) (any, error) {
	k, err := s.lookupRef(c, awsapi.Describe, &in.streamRef)
	if err != nil {
		return nil, err
	}
	limit := maxTags
	if in.Limit != nil {
		limit = int(*in.Limit)
	}
	m, err := s.metaOf(k)
	if err != nil {
		return nil, err
	}
	out := &listTagsForStreamOutput{Tags: []tag{}}
	for _, t := range sortedTags(m.Tags) {
		if in.ExclusiveStartTagKey != nil && t.Key <= *in.ExclusiveStartTagKey {
			continue
		}
		if len(out.Tags) == limit {
			out.HasMoreTags = true
			break
		}
		out.Tags = append(out.Tags, t)
	}
	return out, nil
}

// resource is what a tagging ARN names: a stream, or a consumer of it.
type resource struct {
	stream   string
	consumer string // "" for the stream
}

// parseResourceARN parses a stream ARN or a consumer ARN
// (stream/NAME/consumer/CONSUMER:TIMESTAMP).
func (s *Service) parseResourceARN(arn string) (resource, error) {
	res, err := s.env.ParseOwnARN(arn, "kinesis", codeInvalidArgument)
	if err != nil {
		return resource{}, err
	}
	parts := strings.Split(res, "/")
	switch {
	case len(parts) == 2 && parts[0] == "stream" && parts[1] != "":
		return resource{stream: parts[1]}, nil
	case len(parts) == 4 && parts[0] == "stream" && parts[1] != "" && parts[2] == "consumer":
		name, _, ok := strings.Cut(parts[3], ":")
		if ok && name != "" {
			return resource{stream: parts[1], consumer: name}, nil
		}
	}
	return resource{}, invalid("%q is not the ARN of a Kinesis stream or stream consumer", awsapi.Truncate(arn, 256))
}

// lookupResource parses a tagging ARN and looks up its stream, checking
// perm on it.
func (s *Service) lookupResource(c *call, perm awsapi.Permission, arn string) (resource, *kstream, error) {
	res, err := s.parseResourceARN(arn)
	if err != nil {
		return resource{}, nil, err
	}
	k, err := s.lookup(c, perm, res.stream)
	return res, k, err
}

func (s *Service) tagResource(c *call, in *tagResourceInput) (any, error) {
	res, k, err := s.lookupResource(c, awsapi.Manage, *in.ResourceARN)
	if err != nil {
		return nil, err
	}
	if res.consumer == "" {
		return nil, s.tagStream(c, k, in.Tags)
	}
	return nil, s.updateConsumer(c, k, res.consumer, *in.ResourceARN, func(m *consumerMeta) error { return addTags(&m.Tags, in.Tags) })
}

func (s *Service) untagResource(c *call, in *untagResourceInput) (any, error) {
	res, k, err := s.lookupResource(c, awsapi.Manage, *in.ResourceARN)
	if err != nil {
		return nil, err
	}
	if res.consumer == "" {
		return nil, s.untagStream(c, k, in.TagKeys)
	}
	return nil, s.updateConsumer(c, k, res.consumer, *in.ResourceARN, func(m *consumerMeta) error {
		removeTags(m.Tags, in.TagKeys)
		return nil
	})
}

func (s *Service) listTagsForResource(c *call, in *listTagsForResourceInput) (any, error) {
	res, k, err := s.lookupResource(c, awsapi.Describe, *in.ResourceARN)
	if err != nil {
		return nil, err
	}
	if res.consumer == "" {
		m, err := s.metaOf(k)
		if err != nil {
			return nil, err
		}
		return &listTagsForResourceOutput{Tags: sortedTags(m.Tags)}, nil
	}
	m, err := s.consumer(k, res.consumer, *in.ResourceARN)
	if err != nil {
		return nil, err
	}
	return &listTagsForResourceOutput{Tags: sortedTags(m.Tags)}, nil
}
