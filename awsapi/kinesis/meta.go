package kinesis

import (
	"context"
	"maps"
	"strings"

	courier "github.com/courier-io/courier"
)

// Metadata keys: everything this package stores in env.Meta starts with
// metaPrefix.
const (
	metaPrefix      = "kinesis/"
	streamKeyBase   = metaPrefix + "stream/"
	consumerKeyBase = metaPrefix + "consumer/"
)

// streamMeta is what a Kinesis stream has that its courier stream does
// not: the capacity mode and the tags. Created is the courier stream's
// creation time (Unix ns): an entry whose Created differs belongs to an
// earlier stream of the same name (deleted outside Kinesis) and is
// ignored.
type streamMeta struct {
	Created int64             `json:"created"`
	Mode    string            `json:"mode,omitempty"`
	Tags    map[string]string `json:"tags,omitempty"`
}

// consumerMeta is a registered stream consumer. StreamCreated ties it to
// one incarnation of its stream, like streamMeta.Created.
type consumerMeta struct {
	StreamCreated int64             `json:"stream_created"`
	Created       int64             `json:"created"` // Unix ms
	Tags          map[string]string `json:"tags,omitempty"`
}

func streamKey(name string) string               { return streamKeyBase + name }
func consumerPrefix(stream string) string        { return consumerKeyBase + stream + "/" }
func consumerKey(stream, consumer string) string { return consumerPrefix(stream) + consumer }

// streamMeta returns the metadata of the stream whose info is given; a
// stream without any (created outside Kinesis) is PROVISIONED without
// tags.
func (s *Service) streamMeta(name string, info courier.StreamInfo) (streamMeta, error) {
	var m streamMeta
	ok, err := s.env.Meta.Get(streamKey(name), &m)
	if err != nil {
		return streamMeta{}, err
	}
	if !ok || m.Created != info.CreatedAt.UnixNano() {
		m = streamMeta{Created: info.CreatedAt.UnixNano()}
	}
	if m.Mode == "" {
		m.Mode = "PROVISIONED"
	}
	return m, nil
}

// metaOf returns the metadata of a looked-up stream (only the actions
// that show its mode or tags need it).
func (s *Service) metaOf(k *kstream) (streamMeta, error) {
	m, err := s.streamMeta(k.name, k.info)
	if err != nil {
		return streamMeta{}, internal(err)
	}
	return m, nil
}

// updateStreamMeta applies f to the stream's metadata and stores it,
// under s.mu so that concurrent updates do not lose each other's changes.
func (s *Service) updateStreamMeta(ctx context.Context, k *kstream, f func(m *streamMeta) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.streamMeta(k.name, k.info)
	if err != nil {
		return internal(err)
	}
	m.Tags = maps.Clone(m.Tags)
	if err := f(&m); err != nil {
		return err
	}
	if err := s.env.Meta.Put(ctx, streamKey(k.name), m); err != nil {
		return internal(err)
	}
	return nil
}

// consumers returns the consumers registered on the stream, by name.
func (s *Service) consumers(k *kstream) (map[string]consumerMeta, error) {
	out := map[string]consumerMeta{}
	prefix := consumerPrefix(k.name)
	for _, key := range s.env.Meta.Keys(prefix) {
		var m consumerMeta
		ok, err := s.env.Meta.Get(key, &m)
		if err != nil {
			return nil, internal(err)
		}
		if ok && m.StreamCreated == k.info.CreatedAt.UnixNano() {
			out[strings.TrimPrefix(key, prefix)] = m
		}
	}
	return out, nil
}

// forgetStream removes the metadata of a deleted stream.
func (s *Service) forgetStream(ctx context.Context, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.env.Meta.DeletePrefix(ctx, consumerPrefix(name)); err != nil {
		return internal(err)
	}
	if err := s.env.Meta.Delete(ctx, streamKey(name)); err != nil {
		return internal(err)
	}
	return nil
}
