package kafka

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/courier-io/courier/driver"
)

// topicOf returns the Kafka topic of stream.
func (c *conn) topicOf(stream string) string { return c.cfg.prefix + stream }

// checkStreamName refuses names courier accepts but the driver reserves.
func checkStreamName(name string) error {
	if err := driver.ValidateStreamName("name", name); err != nil {
		return err
	}
	if strings.HasPrefix(name, "__") {
		return driver.Invalid("name", "stream names starting with \"__\" are reserved for Kafka's and the driver's internal topics")
	}
	return nil
}

// topicConfigs maps stream attributes onto Kafka topic configs.
func topicConfigs(a driver.StreamAttributes) map[string]*string {
	ms := func(d time.Duration) *string { return kadm.StringPtr(strconv.FormatInt(d.Milliseconds(), 10)) }
	cfg := map[string]*string{
		"retention.ms":           kadm.StringPtr("-1"),
		"retention.bytes":        kadm.StringPtr("-1"),
		"cleanup.policy":         kadm.StringPtr("delete"),
		"delete.retention.ms":    ms(a.DeleteRetention),
		"message.timestamp.type": kadm.StringPtr("LogAppendTime"),
		"max.message.bytes":      kadm.StringPtr(strconv.Itoa(maxBatchBytes)),
	}
	if a.Retention > 0 {
		cfg["retention.ms"] = ms(a.Retention)
	}
	if a.RetentionBytes > 0 {
		cfg["retention.bytes"] = kadm.StringPtr(strconv.FormatInt(a.RetentionBytes, 10))
	}
	if a.Compact {
		cfg["cleanup.policy"] = kadm.StringPtr("compact")
		if a.Retention > 0 || a.RetentionBytes > 0 {
			cfg["cleanup.policy"] = kadm.StringPtr("compact,delete")
		}
	}
	return cfg
}

// attributesOf reads stream attributes back from a topic's configs, its
// partition count and the driver's meta entry.
func attributesOf(configs []kadm.Config, partitions int, meta streamMeta, hasMeta bool) driver.StreamAttributes {
	a := driver.StreamAttributes{Partitions: partitions, DeleteRetention: driver.DefaultDeleteRetain, MaxRecordSize: driver.MaxMessageSizeLimit}
	if hasMeta && meta.MaxRecordSize > 0 {
		a.MaxRecordSize = meta.MaxRecordSize
	}
	for _, cv := range configs {
		if cv.Value == nil {
			continue
		}
		v := *cv.Value
		n, _ := strconv.ParseInt(v, 10, 64)
		switch cv.Key {
		case "retention.ms":
			if n > 0 {
				a.Retention = time.Duration(n) * time.Millisecond
			}
		case "retention.bytes":
			if n > 0 {
				a.RetentionBytes = n
			}
		case "delete.retention.ms":
			a.DeleteRetention = time.Duration(n) * time.Millisecond
		case "cleanup.policy":
			a.Compact = slices.Contains(strings.Split(v, ","), "compact")
		}
	}
	return a
}

// waitTopic waits until the topic's metadata shows at least n partitions,
// each with a leader: on a real cluster a created topic takes a moment to
// reach every broker.
func (c *conn) waitTopic(ctx context.Context, topic string, n int) error {
	for delay := 5 * time.Millisecond; ; delay = min(2*delay, 200*time.Millisecond) {
		m, err := c.topicMetadata(ctx, topic, time.Millisecond)
		if err == nil && len(m.leaders) >= n && !slices.Contains(m.leaders, -1) {
			return nil
		}
		if err != nil && !errors.Is(err, driver.ErrNotFound) {
			return err
		}
		if err := sleepCtx(ctx, delay); err != nil {
			return fmt.Errorf("topic %q not ready: %w", topic, err)
		}
	}
}

// CreateStream creates a topic with the stream's partitions and configs;
// creating an existing stream with equal attributes returns its info,
// with different ones ErrConflict.
func (c *conn) CreateStream(ctx context.Context, name string, attrs driver.StreamAttributes) (driver.StreamInfo, error) {
	if err := c.check(); err != nil {
		return driver.StreamInfo{}, err
	}
	if err := checkStreamName(name); err != nil {
		return driver.StreamInfo{}, err
	}
	if err := attrs.Validate(); err != nil {
		return driver.StreamInfo{}, err
	}
	topic := c.topicOf(name)
	_, err := c.adm.CreateTopic(ctx, int32(attrs.Partitions), int16(c.cfg.replication), topicConfigs(attrs), topic)
	switch {
	case errors.Is(err, kerr.TopicAlreadyExists):
		info, err := c.StreamInfo(ctx, name)
		if err != nil {
			return driver.StreamInfo{}, err
		}
		if info.Attributes != attrs {
			return driver.StreamInfo{}, fmt.Errorf("stream %q exists with attributes %+v: %w", name, info.Attributes, driver.ErrConflict)
		}
		return info, nil
	case errors.Is(err, kerr.InvalidTopicException):
		// Kafka refuses names that differ from an existing topic's only
		// in '.' versus '_' (they collide in its metric names).
		return driver.StreamInfo{}, fmt.Errorf("stream %q: Kafka refuses the topic %q (%v): %w", name, topic, err, driver.ErrConflict)
	case err != nil:
		return driver.StreamInfo{}, c.mapErr(err)
	}
	if err := c.meta.put(ctx, topic, &streamMeta{MaxRecordSize: attrs.MaxRecordSize, CreatedAt: time.Now().UTC()}); err != nil {
		return driver.StreamInfo{}, err
	}
	if err := c.waitTopic(ctx, topic, attrs.Partitions); err != nil {
		return driver.StreamInfo{}, err
	}
	return c.StreamInfo(ctx, name)
}

// SetStreamAttributes changes retention (topic configs), MaxRecordSize
// (the meta topic) and adds partitions (CreatePartitions). Compaction
// cannot change and partitions cannot be removed (ErrConflict).
func (c *conn) SetStreamAttributes(ctx context.Context, name string, attrs driver.StreamAttributes) (driver.StreamInfo, error) {
	if err := c.check(); err != nil {
		return driver.StreamInfo{}, err
	}
	if err := attrs.Validate(); err != nil {
		return driver.StreamInfo{}, err
	}
	cur, err := c.streamAttributes(ctx, name)
	if err != nil {
		return driver.StreamInfo{}, err
	}
	if cur.Compact != attrs.Compact {
		return driver.StreamInfo{}, fmt.Errorf("stream %q: compaction cannot change after creation: %w", name, driver.ErrConflict)
	}
	if attrs.Partitions < cur.Partitions {
		return driver.StreamInfo{}, fmt.Errorf("stream %q has %d partitions; partitions cannot be removed: %w", name, cur.Partitions, driver.ErrConflict)
	}
	topic := c.topicOf(name)
	var alter []kadm.AlterConfig
	for k, v := range topicConfigs(attrs) {
		alter = append(alter, kadm.AlterConfig{Op: kadm.SetConfig, Name: k, Value: v})
	}
	resps, err := c.adm.AlterTopicConfigs(ctx, alter, topic)
	if err == nil {
		for _, r := range resps {
			if r.Err != nil {
				err = r.Err
			}
		}
	}
	if err != nil {
		return driver.StreamInfo{}, c.mapErr(err)
	}
	if attrs.Partitions > cur.Partitions {
		resps, err := c.adm.UpdatePartitions(ctx, attrs.Partitions, topic)
		if err == nil {
			err = resps.Error()
		}
		if err != nil {
			return driver.StreamInfo{}, c.mapErr(err)
		}
		if err := c.waitTopic(ctx, topic, attrs.Partitions); err != nil {
			return driver.StreamInfo{}, err
		}
	}
	if attrs.MaxRecordSize != cur.MaxRecordSize {
		m, _, err := c.meta.get(ctx, topic)
		if err != nil {
			return driver.StreamInfo{}, err
		}
		m.MaxRecordSize = attrs.MaxRecordSize
		if err := c.meta.put(ctx, topic, &m); err != nil {
			return driver.StreamInfo{}, err
		}
	}
	return c.StreamInfo(ctx, name)
}

// streamAttributes reads a stream's attributes (ErrNotFound when its topic
// does not exist).
func (c *conn) streamAttributes(ctx context.Context, name string) (driver.StreamAttributes, error) {
	a, _, err := c.streamAttributesMeta(ctx, name)
	return a, err
}

func (c *conn) streamAttributesMeta(ctx context.Context, name string) (driver.StreamAttributes, streamMeta, error) {
	topic := c.topicOf(name)
	m, err := c.topicMetadata(ctx, topic, time.Millisecond)
	if err != nil {
		return driver.StreamAttributes{}, streamMeta{}, fmt.Errorf("stream %q: %w", name, err)
	}
	rcs, err := c.adm.DescribeTopicConfigs(ctx, topic)
	if err != nil {
		return driver.StreamAttributes{}, streamMeta{}, c.mapErr(err)
	}
	rc, err := rcs.On(topic, nil)
	if err == nil {
		err = rc.Err
	}
	if err != nil {
		return driver.StreamAttributes{}, streamMeta{}, fmt.Errorf("stream %q: %w", name, c.mapErr(err))
	}
	meta, ok, err := c.meta.get(ctx, topic)
	if err != nil {
		return driver.StreamAttributes{}, streamMeta{}, err
	}
	return attributesOf(rc.Configs, len(m.leaders), meta, ok), meta, nil
}

// StreamInfo returns attributes, partitions (from ListOffsets and the
// brokers' log dirs) and the stream's consumer groups.
func (c *conn) StreamInfo(ctx context.Context, name string) (driver.StreamInfo, error) {
	if err := c.check(); err != nil {
		return driver.StreamInfo{}, err
	}
	attrs, meta, err := c.streamAttributesMeta(ctx, name)
	if err != nil {
		return driver.StreamInfo{}, err
	}
	info := driver.StreamInfo{Name: name, Attributes: attrs, CreatedAt: meta.CreatedAt}
	first, end, err := c.offsets(ctx, c.topicOf(name))
	if err != nil {
		return driver.StreamInfo{}, err
	}
	sizes, err := c.partitionBytes(ctx, c.topicOf(name), attrs.Partitions)
	if err != nil {
		return driver.StreamInfo{}, err
	}
	for p := range attrs.Partitions {
		info.Partitions = append(info.Partitions, driver.PartitionInfo{Partition: p, First: first[p], End: end[p], Records: end[p] - first[p], Bytes: sizes[p]})
	}
	if info.Groups, err = c.groupInfos(ctx, name, first, end); err != nil {
		return driver.StreamInfo{}, err
	}
	return info, nil
}

// offsets returns each partition's log start and end offsets.
func (c *conn) offsets(ctx context.Context, topic string) (first, end map[int]int64, err error) {
	starts, err := c.adm.ListStartOffsets(ctx, topic)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return nil, nil, c.mapErr(err)
	}
	ends, err := c.adm.ListEndOffsets(ctx, topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return nil, nil, c.mapErr(err)
	}
	first, end = map[int]int64{}, map[int]int64{}
	for p, o := range starts[topic] {
		first[int(p)] = o.Offset
	}
	for p, o := range ends[topic] {
		end[int(p)] = o.Offset
	}
	return first, end, nil
}

// partitionBytes returns each partition's size on its leader's log dir.
func (c *conn) partitionBytes(ctx context.Context, topic string, n int) (map[int]int64, error) {
	set := kadm.TopicsSet{}
	for p := range n {
		set.Add(topic, int32(p))
	}
	dirs, err := c.adm.DescribeAllLogDirs(ctx, set)
	if err != nil {
		return nil, fmt.Errorf("describe log dirs of %q: %w", topic, c.mapErr(err))
	}
	out := map[int]int64{}
	for _, bd := range dirs {
		for _, d := range bd {
			if d.Err != nil {
				continue // an offline directory holds no replica we can size
			}
			for _, p := range d.Topics[topic] {
				out[int(p.Partition)] = max(out[int(p.Partition)], p.Size)
			}
		}
	}
	return out, nil
}

// ListStreams lists the topics under the prefix, except Kafka's and the
// driver's internal ones.
func (c *conn) ListStreams(ctx context.Context) ([]string, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	topics, err := c.adm.ListTopics(ctx)
	if err != nil {
		return nil, c.mapErr(err)
	}
	var out []string
	for _, t := range topics.Names() {
		name, ok := strings.CutPrefix(t, c.cfg.prefix)
		if !ok || checkStreamName(name) != nil {
			continue
		}
		out = append(out, name)
	}
	slices.Sort(out)
	return out, nil
}

// DeleteStream deletes the topic, its meta entry and the committed
// offsets of its groups.
func (c *conn) DeleteStream(ctx context.Context, name string) error {
	if err := c.check(); err != nil {
		return err
	}
	topic := c.topicOf(name)
	if _, err := c.topicMetadata(ctx, topic, time.Millisecond); err != nil {
		return fmt.Errorf("stream %q: %w", name, err)
	}
	groups, err := c.listGroups(ctx, name)
	if err != nil {
		return err
	}
	resp, err := c.adm.DeleteTopic(ctx, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		return fmt.Errorf("stream %q: %w", name, c.mapErr(err))
	}
	c.cl.PurgeTopicsFromClient(topic)
	c.ahead.forget(topic)
	c.invalidate(name)
	if len(groups) > 0 {
		// Groups whose members are still joined elsewhere stay until
		// they leave; Kafka expires their offsets as it does for any
		// group.
		if _, err := c.adm.DeleteGroups(ctx, groups...); err != nil {
			c.log.Warn("deleting the groups of a deleted stream", "stream", name, "err", err)
		}
	}
	return c.meta.put(ctx, topic, nil)
}
