package nats

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/courier-io/courier/driver"
)

// A courier stream is one JetStream stream per partition (limits
// retention; MaxAge is the retention, MaxBytes the retention in bytes), so
// that a partition's offsets are its stream's sequences minus one: dense,
// ordered, assigned by the server. Partition 0's stream carries the
// courier attributes in its description and is created last and deleted
// first, so it alone decides whether the courier stream exists.

// streamDesc is what partition 0's description holds.
type streamDesc struct {
	Kind    string                  `json:"courier"` // "stream"
	UID     uint64                  `json:"uid"`
	Created int64                   `json:"created"`
	Updated int64                   `json:"updated"`
	Attrs   driver.StreamAttributes `json:"attributes"`
}

// streamMeta is a stream's cached description.
type streamMeta struct {
	name   string
	desc   streamDesc
	loaded time.Time
}

func (s *streamMeta) parts() int { return s.desc.Attrs.Partitions }

func streamNotFound(name string) error { return fmt.Errorf("stream %q: %w", name, driver.ErrNotFound) }

func (c *conn) partConfig(name string, p int, d *streamDesc) jetstream.StreamConfig {
	a := d.Attrs
	maxBytes := a.RetentionBytes
	if maxBytes == 0 {
		maxBytes = -1
	}
	cfg := jetstream.StreamConfig{
		Name:      c.lay.partStream(name, p),
		Subjects:  []string{c.lay.partSubject(name, p)},
		Retention: jetstream.LimitsPolicy,
		MaxAge:    a.Retention,
		MaxBytes:  maxBytes,
		MaxMsgs:   -1,
		Discard:   jetstream.DiscardOld,
		Storage:   c.cfg.storage,
		Replicas:  c.cfg.replicas,
	}
	if p == 0 {
		b, _ := json.Marshal(d) // plain fields only
		cfg.Description = string(b)
	} else {
		cfg.Description = fmt.Sprintf("courier: partition %d of stream %s", p, name)
	}
	return cfg
}

// streamMeta returns a stream's cached description, loading it when it is
// missing or older than cfg.metaTTL.
func (c *conn) streamMeta(ctx context.Context, name string) (*streamMeta, error) {
	if err := c.usable(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	s := c.streams[name]
	c.mu.Unlock()
	if s != nil && time.Since(s.loaded) < c.cfg.metaTTL {
		return s, nil
	}
	return c.loadStream(ctx, name)
}

func (c *conn) loadStream(ctx context.Context, name string) (*streamMeta, error) {
	st, err := c.stream(ctx, c.lay.partStream(name, 0))
	if err != nil {
		c.forgetStream(name)
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			return nil, streamNotFound(name)
		}
		return nil, mapErr(err)
	}
	s := &streamMeta{name: name, loaded: time.Now()}
	if err := json.Unmarshal([]byte(st.CachedInfo().Config.Description), &s.desc); err != nil || s.desc.Kind != "stream" {
		return nil, fmt.Errorf("JetStream stream %s exists but is not a courier stream: %w", c.lay.partStream(name, 0), driver.ErrConflict)
	}
	c.mu.Lock()
	c.streams[name] = s
	c.mu.Unlock()
	return s, nil
}

func (c *conn) forgetStream(name string) {
	c.mu.Lock()
	delete(c.streams, name)
	c.mu.Unlock()
}

// streamErr maps an error on a stream's partition.
func (c *conn) streamErr(name string, err error) error {
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		c.forgetStream(name)
		return streamNotFound(name)
	}
	return mapErr(err)
}

// CreateStream creates the partitions' streams, partition 0 last.
func (c *conn) CreateStream(ctx context.Context, name string, attrs driver.StreamAttributes) (driver.StreamInfo, error) {
	if err := c.usable(); err != nil {
		return driver.StreamInfo{}, err
	}
	if err := driver.ValidateStreamName("name", name); err != nil {
		return driver.StreamInfo{}, err
	}
	if err := attrs.Validate(); err != nil {
		return driver.StreamInfo{}, err
	}
	if attrs.Compact {
		return driver.StreamInfo{}, fmt.Errorf("%w: %w", driver.ErrUnsupported, driver.Invalid("compact", "compacted streams are not supported by the NATS driver: JetStream keeps the last record per subject but cannot expire delete markers after delete_retention"))
	}
	if s, err := c.loadStream(ctx, name); err == nil {
		if s.desc.Attrs != attrs {
			return driver.StreamInfo{}, fmt.Errorf("stream %q exists with other attributes: %w", name, driver.ErrConflict)
		}
		return c.StreamInfo(ctx, name)
	} else if !errors.Is(err, driver.ErrNotFound) {
		return driver.StreamInfo{}, err
	}
	now := time.Now().UnixNano()
	d := &streamDesc{Kind: "stream", UID: randomUID(), Created: now, Updated: now, Attrs: attrs}
	for p := attrs.Partitions - 1; p >= 0; p-- {
		if _, err := c.retryCreate(ctx, c.partConfig(name, p, d), c.js.CreateOrUpdateStream); err != nil {
			if p == 0 && apiCode(err) == jetstream.JSErrCodeStreamNameInUse {
				return c.CreateStream(ctx, name, attrs) // created meanwhile: compare
			}
			return driver.StreamInfo{}, fmt.Errorf("create partition %d of stream %q: %w", p, name, mapErr(err))
		}
	}
	c.forgetStream(name)
	return c.StreamInfo(ctx, name)
}

// SetStreamAttributes changes retention on every partition and adds
// partitions.
func (c *conn) SetStreamAttributes(ctx context.Context, name string, attrs driver.StreamAttributes) (driver.StreamInfo, error) {
	if err := c.usable(); err != nil {
		return driver.StreamInfo{}, err
	}
	if err := attrs.Validate(); err != nil {
		return driver.StreamInfo{}, err
	}
	s, err := c.loadStream(ctx, name)
	if err != nil {
		return driver.StreamInfo{}, err
	}
	switch {
	case attrs.Compact != s.desc.Attrs.Compact:
		return driver.StreamInfo{}, fmt.Errorf("stream %q: compaction cannot change after creation: %w", name, driver.ErrConflict)
	case attrs.Partitions < s.parts():
		return driver.StreamInfo{}, fmt.Errorf("stream %q has %d partitions; partitions can be added, never removed: %w", name, s.parts(), driver.ErrConflict)
	}
	d := s.desc
	d.Attrs, d.Updated = attrs, time.Now().UnixNano()
	for p := attrs.Partitions - 1; p >= 1; p-- {
		if _, err := c.retryCreate(ctx, c.partConfig(name, p, &d), c.js.CreateOrUpdateStream); err != nil {
			return driver.StreamInfo{}, c.streamErr(name, err)
		}
	}
	if _, err := c.retryCreate(ctx, c.partConfig(name, 0, &d), c.js.UpdateStream); err != nil {
		return driver.StreamInfo{}, c.streamErr(name, err)
	}
	c.forgetStream(name)
	return c.StreamInfo(ctx, name)
}

// bounds reads every partition's first and end offsets, records and bytes.
func (c *conn) bounds(ctx context.Context, s *streamMeta) ([]driver.PartitionInfo, error) {
	out := make([]driver.PartitionInfo, s.parts())
	for p := range out {
		pi, err := c.partition(ctx, s, p)
		if err != nil {
			return nil, err
		}
		out[p] = pi
	}
	return out, nil
}

// partition reads one partition's state.
func (c *conn) partition(ctx context.Context, s *streamMeta, p int) (driver.PartitionInfo, error) {
	st, err := c.stream(ctx, c.lay.partStream(s.name, p))
	if err != nil {
		return driver.PartitionInfo{}, c.streamErr(s.name, err)
	}
	state := st.CachedInfo().State
	end := int64(state.LastSeq)
	first := end
	if state.Msgs > 0 {
		first = int64(state.FirstSeq) - 1
	}
	return driver.PartitionInfo{Partition: p, First: first, End: end, Records: int64(state.Msgs), Bytes: int64(state.Bytes)}, nil
}

// StreamInfo describes the stream, its partitions and its groups.
func (c *conn) StreamInfo(ctx context.Context, name string) (driver.StreamInfo, error) {
	if err := c.usable(); err != nil {
		return driver.StreamInfo{}, err
	}
	s, err := c.loadStream(ctx, name)
	if err != nil {
		return driver.StreamInfo{}, err
	}
	parts, err := c.bounds(ctx, s)
	if err != nil {
		return driver.StreamInfo{}, err
	}
	info := driver.StreamInfo{Name: name, Attributes: s.desc.Attrs, CreatedAt: time.Unix(0, s.desc.Created), Partitions: parts, Groups: []driver.GroupInfo{}}
	groups, err := c.groups(ctx, s)
	if err != nil {
		return driver.StreamInfo{}, err
	}
	b := make([]partBounds, len(parts))
	for i, p := range parts {
		b[i] = partBounds{first: p.First, end: p.End}
	}
	now := time.Now().UnixNano()
	for _, g := range groups {
		g.state.expire(now)
		info.Groups = append(info.Groups, g.state.info(g.name, b))
	}
	return info, nil
}

// ListStreams lists the courier streams of the prefix.
func (c *conn) ListStreams(ctx context.Context) ([]string, error) {
	if err := c.usable(); err != nil {
		return nil, err
	}
	names := []string{}
	all, err := c.streamNames(ctx, c.cfg.prefix+".s.*.0")
	if err != nil {
		return nil, mapErr(err)
	}
	for _, st := range all {
		if n, ok := c.lay.streamName(st); ok {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names, nil
}

// DeleteStream deletes partition 0 (the stream is gone from then on), the
// other partitions and the groups.
func (c *conn) DeleteStream(ctx context.Context, name string) error {
	if err := c.usable(); err != nil {
		return err
	}
	s, err := c.loadStream(ctx, name)
	if err != nil {
		return err
	}
	if err := c.deleteStream(ctx, c.lay.partStream(name, 0)); err != nil {
		return c.streamErr(name, err)
	}
	c.forgetStream(name)
	c.dropReaders(name)
	for p := 1; p < s.parts(); p++ {
		if err := c.deleteStream(ctx, c.lay.partStream(name, p)); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
			return mapErr(err)
		}
	}
	return c.deleteGroups(ctx, name)
}

// Append publishes each record to its partition's stream; its offset is
// the stored sequence minus one. Keyless records without a partition go
// round-robin, per connection.
func (c *conn) Append(ctx context.Context, name string, recs []driver.Record) ([]driver.AppendResult, error) {
	if err := c.usable(); err != nil {
		return nil, err
	}
	if err := driver.ValidateRecords(recs); err != nil {
		return nil, err
	}
	s, err := c.streamMeta(ctx, name)
	if err != nil {
		return nil, err
	}
	for _, r := range recs {
		if r.Partition >= s.parts() {
			// Perhaps another connection added partitions: look again.
			if s, err = c.loadStream(ctx, name); err != nil {
				return nil, err
			}
			break
		}
	}
	n := s.parts()
	res := make([]driver.AppendResult, len(recs))
	msgs := make([]*nats.Msg, len(recs))
	for i := range recs {
		r := &recs[i]
		field := fmt.Sprintf("records[%d]", i)
		if size := driver.RecordSize(r); size > s.desc.Attrs.MaxRecordSize {
			res[i].Err = driver.TooLarge(field, "record is %d bytes (key, value and headers); stream %q accepts up to %d", size, name, s.desc.Attrs.MaxRecordSize)
			continue
		}
		p := r.Partition
		switch {
		case p == driver.AnyPartition && len(r.Key) > 0:
			p = driver.PartitionForKey(r.Key, n)
		case p == driver.AnyPartition:
			p = int((c.rr.Add(1) - 1) % uint64(n))
		case p >= n:
			res[i].Err = driver.Invalid(field+".partition", "stream %q has partitions 0 to %d; got %d", name, n-1, p)
			continue
		}
		m := &nats.Msg{Subject: c.lay.partSubject(name, p), Data: r.Value}
		if len(r.Headers) > 0 || r.Key != nil {
			m.Header = make(nats.Header, len(r.Headers)+1)
			putUserHeaders(m.Header, r.Headers)
			if r.Key != nil {
				m.Header[hKey] = []string{base64.RawURLEncoding.EncodeToString(r.Key)}
			}
		}
		if err := c.checkPayload(m, field); err != nil {
			res[i].Err = err
			continue
		}
		msgs[i] = m
		res[i].Partition = p
	}
	acks, err := c.publishAll(ctx, msgs)
	if err != nil {
		return nil, c.streamErr(name, err)
	}
	for i, a := range acks {
		if msgs[i] == nil {
			continue
		}
		if a.err != nil {
			res[i].Err = mapErr(a.err)
			continue
		}
		res[i].Offset = int64(a.seq) - 1
	}
	return res, nil
}

// Read reads records of one partition from a position.
func (c *conn) Read(ctx context.Context, name string, req driver.StreamReadRequest) (driver.StreamReadResult, error) {
	var res driver.StreamReadResult
	if err := c.usable(); err != nil {
		return res, err
	}
	if err := req.Validate(); err != nil {
		return res, err
	}
	s, err := c.streamMeta(ctx, name)
	if err != nil {
		return res, err
	}
	if req.Partition >= s.parts() {
		if s, err = c.loadStream(ctx, name); err != nil {
			return res, err
		}
		if req.Partition >= s.parts() {
			return res, driver.Invalid("partition", "stream %q has partitions 0 to %d; got %d", name, s.parts()-1, req.Partition)
		}
	}
	pi, err := c.partition(ctx, s, req.Partition)
	if err != nil {
		return res, err
	}
	res.End = pi.End
	var from int64
	var at time.Time
	switch req.From.Kind {
	case "", driver.FromEarliest:
		from = pi.First
	case driver.FromLatest:
		from = pi.End
	case driver.FromOffset:
		if req.From.Offset > pi.End {
			return res, driver.Invalid("from.offset", "%d is past the partition's end %d", req.From.Offset, pi.End)
		}
		from = max(req.From.Offset, pi.First)
	case driver.FromTime:
		at = req.From.Time
	}
	maxN := req.Max
	if maxN == 0 {
		maxN = 100
	}
	maxBytes := req.MaxBytes
	if maxBytes == 0 {
		maxBytes = driver.DefaultReadMaxBytes
	}
	if at.IsZero() && from >= pi.End && req.Wait == 0 {
		res.Next = from
		return res, nil
	}
	recs, next, err := c.readPartition(ctx, s, req.Partition, from, at, maxN, maxBytes, req.Wait, pi.End)
	if err != nil {
		return res, err
	}
	if next < 0 { // a read by time found nothing
		next = pi.End
	}
	res.Records, res.Next = recs, next
	res.End = max(res.End, next)
	return res, nil
}

// recordOf converts a fetched message of partition p.
func recordOf(p int, m jetstream.Msg) (driver.StreamRecord, error) {
	md, ok := parseAck(m.Reply())
	if !ok {
		return driver.StreamRecord{}, fmt.Errorf("record without a JetStream ack subject (%q)", m.Reply())
	}
	h := m.Headers()
	r := driver.StreamRecord{Partition: p, Offset: int64(md.seq) - 1, Timestamp: time.Unix(0, md.ts), Value: m.Data(), Headers: userHeaders(h)}
	if k := h.Get(hKey); k != "" {
		var err error
		if r.Key, err = base64.RawURLEncoding.DecodeString(k); err != nil {
			r.Key = []byte(k)
		}
	}
	if r.Value == nil {
		r.Value = []byte{}
	}
	return r, nil
}

func recordSize(r *driver.StreamRecord) int {
	n := len(r.Key) + len(r.Value)
	for k, v := range r.Headers {
		n += len(k) + len(v)
	}
	return n
}
