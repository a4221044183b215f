package redis

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/courier-io/courier/driver"
)

var _ driver.Streams = (*Conn)(nil)

// A record's blob, stored in the partition's Redis stream entry (version
// 2): 0x02, uvarint len + key, uvarint count + headers as in message
// blobs, then the value.
const recordBlobVersion = 2

func appendRecordBlob(dst []byte, r *driver.Record) []byte {
	dst = append(dst, recordBlobVersion)
	dst = binary.AppendUvarint(dst, uint64(len(r.Key)))
	dst = append(dst, r.Key...)
	m := driver.Message{Headers: r.Headers, Body: r.Value}
	// The message blob after its version, group and dedup fields.
	full := appendBlob(nil, &m, "")
	return append(dst, full[3:]...)
}

// decodeRecordBlob decodes a record blob; key and value alias b.
func decodeRecordBlob(b []byte) (key []byte, headers map[string]string, value []byte, err error) {
	if len(b) == 0 || b[0] != recordBlobVersion {
		return nil, nil, nil, errBlob
	}
	n, k := binary.Uvarint(b[1:])
	if k <= 0 || n > uint64(len(b)-1-k) {
		return nil, nil, nil, errBlob
	}
	key = b[1+k : 1+k+int(n)]
	// Reuse the message decoder: version, empty group, empty dedup.
	rest := append([]byte{blobVersion, 0, 0}, b[1+k+int(n):]...)
	bl, err := decodeBlob(rest)
	if err != nil {
		return nil, nil, nil, err
	}
	if len(key) == 0 {
		key = nil
	}
	return key, bl.headers, bl.body, nil
}

func streamNotFound(name string) error { return fmt.Errorf("stream %q: %w", name, driver.ErrNotFound) }

// streamArgs are stream attributes as script arguments: parts, ret ms,
// retb, compact, dret ms, max.
func streamArgs(a driver.StreamAttributes) []any {
	return []any{strconv.Itoa(a.Partitions), strconv.FormatInt(ms(a.Retention), 10), strconv.FormatInt(a.RetentionBytes, 10),
		boolArg(a.Compact), strconv.FormatInt(ms(a.DeleteRetention), 10), strconv.Itoa(a.MaxRecordSize)}
}

func checkStreamMillis(a driver.StreamAttributes) error {
	for _, f := range []struct {
		name string
		d    time.Duration
	}{{"retention", a.Retention}, {"delete_retention", a.DeleteRetention}} {
		if f.d%time.Millisecond != 0 {
			return driver.Invalid(f.name, "%v has a fraction of a millisecond; this backend keeps whole milliseconds", f.d)
		}
	}
	return nil
}

// CreateStream creates a stream, or returns the existing one when its
// attributes are equal (ErrConflict otherwise).
func (c *Conn) CreateStream(ctx context.Context, name string, attrs driver.StreamAttributes) (driver.StreamInfo, error) {
	if err := driver.ValidateStreamName("name", name); err != nil {
		return driver.StreamInfo{}, err
	}
	if err := attrs.Validate(); err != nil {
		return driver.StreamInfo{}, err
	}
	if err := checkStreamMillis(attrs); err != nil {
		return driver.StreamInfo{}, err
	}
	v, err := c.run(ctx, scriptStreamCreate, append([]any{name}, streamArgs(attrs)...)...)
	if err != nil {
		return driver.StreamInfo{}, err
	}
	if str(v) == "conflict" {
		return driver.StreamInfo{}, fmt.Errorf("stream %q exists with other attributes: %w", name, driver.ErrConflict)
	}
	c.streamParts.Store(name, attrs.Partitions)
	return c.StreamInfo(ctx, name)
}

// SetStreamAttributes changes retention and may add partitions.
func (c *Conn) SetStreamAttributes(ctx context.Context, name string, attrs driver.StreamAttributes) (driver.StreamInfo, error) {
	if err := attrs.Validate(); err != nil {
		return driver.StreamInfo{}, err
	}
	if err := checkStreamMillis(attrs); err != nil {
		return driver.StreamInfo{}, err
	}
	v, err := c.run(ctx, scriptStreamSet, append([]any{name}, streamArgs(attrs)...)...)
	if err != nil {
		return driver.StreamInfo{}, err
	}
	switch str(v) {
	case "ok":
		c.streamParts.Store(name, attrs.Partitions)
		return c.StreamInfo(ctx, name)
	case "missing":
		return driver.StreamInfo{}, streamNotFound(name)
	case "compact":
		return driver.StreamInfo{}, fmt.Errorf("stream %q: compaction cannot change after creation: %w", name, driver.ErrConflict)
	case "shrink":
		return driver.StreamInfo{}, fmt.Errorf("stream %q: partitions can be added, never removed: %w", name, driver.ErrConflict)
	}
	return driver.StreamInfo{}, malformed("stream_set", v)
}

// jsonList decodes a JSON array, or an empty object: Lua's cjson encodes an
// empty table as {}.
type jsonList[T any] []T

// UnmarshalJSON accepts an array or {}.
func (l *jsonList[T]) UnmarshalJSON(b []byte) error {
	if string(b) == "{}" {
		*l = nil
		return nil
	}
	return json.Unmarshal(b, (*[]T)(l))
}

// streamInfoJSON is what stream_info.lua returns.
type streamInfoJSON struct {
	Parts      int                     `json:"parts"`
	Ret        int64                   `json:"ret"`
	RetB       int64                   `json:"retb"`
	Compact    bool                    `json:"compact"`
	DRet       int64                   `json:"dret"`
	Max        int                     `json:"max"`
	Created    int64                   `json:"created"`
	Partitions jsonList[partitionJSON] `json:"partitions"`
	Groups     jsonList[groupJSON]     `json:"groups"`
}

type partitionJSON struct {
	First   int64 `json:"first"`
	End     int64 `json:"end"`
	Records int64 `json:"records"`
	Bytes   int64 `json:"bytes"`
}

type groupJSON struct {
	Name      string               `json:"name"`
	Gen       int64                `json:"gen"`
	Start     string               `json:"start"`
	Members   jsonList[memberJSON] `json:"members"`
	Committed map[string]int64     `json:"committed"`
	Lag       map[string]int64     `json:"lag"`
}

type memberJSON struct {
	Name       string        `json:"name"`
	Seen       int64         `json:"seen"`
	Partitions jsonList[int] `json:"partitions"`
}

// StreamInfo returns a stream's attributes, partitions and groups.
func (c *Conn) StreamInfo(ctx context.Context, name string) (driver.StreamInfo, error) {
	v, err := c.run(ctx, scriptStreamInfo, name)
	if err != nil {
		return driver.StreamInfo{}, err
	}
	raw := str(v)
	if raw == "" {
		return driver.StreamInfo{}, streamNotFound(name)
	}
	var j streamInfoJSON
	if err := json.Unmarshal([]byte(raw), &j); err != nil {
		return driver.StreamInfo{}, malformed("stream_info", v)
	}
	info := driver.StreamInfo{
		Name: name,
		Attributes: driver.StreamAttributes{
			Partitions: j.Parts, Retention: time.Duration(j.Ret) * time.Millisecond, RetentionBytes: j.RetB,
			Compact: j.Compact, DeleteRetention: time.Duration(j.DRet) * time.Millisecond, MaxRecordSize: j.Max,
		},
		CreatedAt: fromMS(j.Created),
	}
	for i, p := range j.Partitions {
		info.Partitions = append(info.Partitions, driver.PartitionInfo{Partition: i, First: p.First, End: p.End, Records: p.Records, Bytes: p.Bytes})
	}
	for _, g := range j.Groups {
		gi := driver.GroupInfo{Name: g.Name, Generation: g.Gen, StartFrom: driver.PositionKind(g.Start),
			Committed: partitionMap(g.Committed), Lag: partitionMap(g.Lag)}
		for _, m := range g.Members {
			parts := slices.Clone(m.Partitions)
			slices.Sort(parts)
			gi.Members = append(gi.Members, driver.MemberInfo{Name: m.Name, Partitions: parts, LastSeen: fromMS(m.Seen)})
		}
		slices.SortFunc(gi.Members, func(a, b driver.MemberInfo) int { return cmpString(a.Name, b.Name) })
		info.Groups = append(info.Groups, gi)
	}
	slices.SortFunc(info.Groups, func(a, b driver.GroupInfo) int { return cmpString(a.Name, b.Name) })
	c.streamParts.Store(name, j.Parts)
	return info, nil
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func partitionMap(m map[string]int64) map[int]int64 {
	out := make(map[int]int64, len(m))
	for k, v := range m {
		if p, err := strconv.Atoi(k); err == nil {
			out[p] = v
		}
	}
	return out
}

// ListStreams returns the stream names in sorted order.
func (c *Conn) ListStreams(ctx context.Context) ([]string, error) {
	if err := c.usable(); err != nil {
		return nil, err
	}
	names, err := c.rdb.SMembers(ctx, c.prefix+":streams").Result()
	if err != nil {
		return nil, c.fail(ctx, err)
	}
	slices.Sort(names)
	return names, nil
}

// DeleteStream deletes a stream, its records and its groups.
func (c *Conn) DeleteStream(ctx context.Context, name string) error {
	v, err := c.run(ctx, scriptStreamDelete, name)
	if err != nil {
		return err
	}
	c.streamParts.Delete(name)
	if num(v) == 0 {
		return streamNotFound(name)
	}
	return nil
}

// Append stores records: one script per batch, which assigns offsets and
// applies retention. Keys pick partitions here, with the partition count
// the script confirms.
func (c *Conn) Append(ctx context.Context, stream string, recs []driver.Record) ([]driver.AppendResult, error) {
	if err := driver.ValidateRecords(recs); err != nil {
		return nil, err
	}
	parts := 0
	if v, ok := c.streamParts.Load(stream); ok {
		parts = v.(int)
	}
	for range 5 {
		args := make([]any, 0, 3+5*len(recs))
		args = append(args, stream, strconv.Itoa(parts), strconv.Itoa(len(recs)))
		var buf []byte
		for i := range recs {
			r := &recs[i]
			p := r.Partition
			if p == driver.AnyPartition && len(r.Key) > 0 && parts > 0 {
				p = driver.PartitionForKey(r.Key, parts)
			}
			start := len(buf)
			buf = appendRecordBlob(buf, r)
			args = append(args, strconv.Itoa(p), strconv.Itoa(driver.RecordSize(r)), buf[start:len(buf):len(buf)], r.Key, boolArg(len(r.Value) == 0))
		}
		v, err := c.run(ctx, scriptAppend, args...)
		if err != nil {
			return nil, err
		}
		res := list(v)
		if len(res) == 0 {
			return nil, malformed("append", v)
		}
		switch str(res[0]) {
		case "missing":
			c.streamParts.Delete(stream)
			return nil, streamNotFound(stream)
		case "stale":
			if len(res) != 2 {
				return nil, malformed("append", v)
			}
			parts = int(num(res[1]))
			c.streamParts.Store(stream, parts)
			continue
		case "ok":
		default:
			return nil, malformed("append", v)
		}
		if len(res) != 1+3*len(recs) {
			return nil, malformed("append", v)
		}
		out := make([]driver.AppendResult, len(recs))
		for i := range recs {
			code, p, off := num(res[1+3*i]), int(num(res[2+3*i])), num(res[3+3*i])
			field := fmt.Sprintf("records[%d]", i)
			switch code {
			case 0:
				out[i] = driver.AppendResult{Partition: p, Offset: off}
			case 2:
				out[i].Err = driver.TooLarge(field, "record is %d bytes (key, value and headers); stream %q accepts less", driver.RecordSize(&recs[i]), stream)
			case 3:
				out[i].Err = driver.Invalid(field+".key", "stream %q is compacted; every record needs a key", stream)
			case 4:
				out[i].Err = driver.Invalid(field+".partition", "stream %q has partitions 0 to %d; got %d", stream, parts-1, p)
			default:
				return nil, malformed("append", v)
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("stream %q: its partition count keeps changing: %w", stream, driver.ErrConflict)
}

// positionArgs are a position as script arguments: kind, offset, time µs
// (rounded up, so that a record counts as at or after the time only if it
// is).
func positionArgs(pos driver.Position) []any {
	kind := pos.Kind
	if kind == "" {
		kind = driver.FromEarliest
	}
	us := int64(0)
	if kind == driver.FromTime {
		ns := pos.Time.UnixNano()
		us = ns / 1000
		if ns%1000 > 0 {
			us++
		}
	}
	return []any{string(kind), strconv.FormatInt(pos.Offset, 10), strconv.FormatInt(us, 10)}
}

// records decodes n records (partition, offset, time µs, blob each).
func records(res []any, n int) ([]driver.StreamRecord, error) {
	if len(res) != 4*n {
		return nil, malformed("records", res)
	}
	out := make([]driver.StreamRecord, n)
	for i := range n {
		f := res[4*i : 4*i+4]
		key, headers, value, err := decodeRecordBlob([]byte(str(f[3])))
		if err != nil {
			return nil, fmt.Errorf("record %d: %w: %v", num(f[1]), driver.ErrStorage, err)
		}
		if value == nil {
			value = []byte{}
		}
		out[i] = driver.StreamRecord{Partition: int(num(f[0])), Offset: num(f[1]), Timestamp: time.UnixMicro(num(f[2])),
			Key: key, Value: value, Headers: headers}
	}
	return out, nil
}

// Read returns records of one partition in offset order, long-polling up
// to req.Wait for the next append when there are none.
func (c *Conn) Read(ctx context.Context, stream string, req driver.StreamReadRequest) (driver.StreamReadResult, error) {
	if err := req.Validate(); err != nil {
		return driver.StreamReadResult{}, err
	}
	max, maxBytes := req.Max, req.MaxBytes
	if max == 0 {
		max = 100
	}
	if maxBytes == 0 {
		maxBytes = driver.DefaultReadMaxBytes
	}
	deadline := time.Now().Add(req.Wait)
	from := req.From
	var h *waitHandle
	defer func() {
		if h != nil {
			h.release()
		}
	}()
	for {
		var notify <-chan struct{}
		if h != nil {
			notify = h.signal()
		}
		args := append([]any{stream, strconv.Itoa(req.Partition)}, positionArgs(from)...)
		args = append(args, strconv.Itoa(max), strconv.Itoa(maxBytes))
		v, err := c.run(ctx, scriptRead, args...)
		if err != nil {
			return driver.StreamReadResult{}, err
		}
		res := list(v)
		if len(res) == 0 {
			return driver.StreamReadResult{}, malformed("read", v)
		}
		switch str(res[0]) {
		case "missing":
			return driver.StreamReadResult{}, streamNotFound(stream)
		case "badpart":
			return driver.StreamReadResult{}, driver.Invalid("partition", "stream %q has partitions 0 to %d; got %d", stream, num(res[1])-1, req.Partition)
		case "beyond":
			return driver.StreamReadResult{}, driver.Invalid("from.offset", "offset %d is beyond the end of the partition (%d)", from.Offset, num(res[1]))
		case "ok":
		default:
			return driver.StreamReadResult{}, malformed("read", v)
		}
		if len(res) < 4 {
			return driver.StreamReadResult{}, malformed("read", v)
		}
		next, end, n := num(res[1]), num(res[2]), int(num(res[3]))
		recs, err := records(res[4:], n)
		if err != nil {
			return driver.StreamReadResult{}, err
		}
		left := time.Until(deadline)
		if n > 0 || left <= 0 {
			return driver.StreamReadResult{Records: recs, Next: next, End: end}, nil
		}
		// Wait from where this read ended, for the next append.
		from = driver.Position{Kind: driver.FromOffset, Offset: next}
		if h == nil {
			wctx, cancel := context.WithDeadline(ctx, deadline)
			h, err = c.waker.watch(wctx, c.prefix+":sw:"+stream)
			cancel()
			if err != nil {
				if ctx.Err() != nil {
					return driver.StreamReadResult{}, ctx.Err()
				}
				if c.closed.Load() {
					return driver.StreamReadResult{}, errConnClosed
				}
				return driver.StreamReadResult{Next: next, End: end}, nil
			}
			continue
		}
		if err := c.sleep(ctx, notify, left); err != nil {
			return driver.StreamReadResult{}, err
		}
	}
}

// sleep waits for notify, d or the end of ctx or the Conn.
func (c *Conn) sleep(ctx context.Context, notify <-chan struct{}, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-notify:
	case <-t.C:
	case <-ctx.Done():
		return ctx.Err()
	case <-c.done:
		return errConnClosed
	}
	return nil
}

func validateGroupCall(group, member string) error {
	if err := driver.ValidateGroupName("group", group); err != nil {
		return err
	}
	return driver.ValidateMemberName("member", member)
}

// assignmentOf decodes an assignment (generation, n, then partition and
// offset each) and returns what follows it.
func assignmentOf(res []any) (driver.Assignment, []any, error) {
	if len(res) < 2 {
		return driver.Assignment{}, nil, malformed("assignment", res)
	}
	a := driver.Assignment{Generation: num(res[0]), Offsets: map[int]int64{}}
	n := int(num(res[1]))
	if len(res) < 2+2*n {
		return driver.Assignment{}, nil, malformed("assignment", res)
	}
	for i := range n {
		p := int(num(res[2+2*i]))
		a.Partitions = append(a.Partitions, p)
		a.Offsets[p] = num(res[3+2*i])
	}
	slices.Sort(a.Partitions)
	return a, res[2+2*n:], nil
}

func fenced(stream, group, member string) error {
	return fmt.Errorf("stream %q group %q: member %q is not in the group (its session ended or it left); join again: %w", stream, group, member, driver.ErrFenced)
}

// groupCall runs a group script that answers {'ok', assignment...}.
func (c *Conn) groupCall(ctx context.Context, s *scriptRef, stream, group, member string, args ...any) (driver.Assignment, []any, error) {
	v, err := c.run(ctx, s.script, append([]any{stream, group, member}, args...)...)
	if err != nil {
		return driver.Assignment{}, nil, err
	}
	res := list(v)
	if len(res) == 0 {
		return driver.Assignment{}, nil, malformed(s.name, v)
	}
	switch str(res[0]) {
	case "ok":
		return assignmentOf(res[1:])
	case "missing":
		return driver.Assignment{}, nil, streamNotFound(stream)
	case "fenced":
		return driver.Assignment{}, nil, fenced(stream, group, member)
	}
	return driver.Assignment{}, nil, malformed(s.name, v)
}

// JoinGroup adds member to group, creating the group; joining again is a
// heartbeat that may change the session timeout.
func (c *Conn) JoinGroup(ctx context.Context, stream, group, member string, req driver.JoinRequest) (driver.Assignment, error) {
	if err := validateGroupCall(group, member); err != nil {
		return driver.Assignment{}, err
	}
	if err := req.Normalize(); err != nil {
		return driver.Assignment{}, err
	}
	a, _, err := c.groupCall(ctx, groupJoin, stream, group, member,
		strconv.FormatInt(max(ms(req.SessionTimeout), 1), 10), string(req.StartFrom))
	return a, err
}

// Heartbeat keeps a member alive and returns its assignment.
func (c *Conn) Heartbeat(ctx context.Context, stream, group, member string) (driver.Assignment, error) {
	if err := validateGroupCall(group, member); err != nil {
		return driver.Assignment{}, err
	}
	a, _, err := c.groupCall(ctx, groupHeartbeat, stream, group, member)
	return a, err
}

// Poll reads up to max records from the member's partitions from its
// positions, advancing them, and waits up to wait (in steps of at most
// half the session, each a heartbeat) for some.
func (c *Conn) Poll(ctx context.Context, stream, group, member string, maxRecords int, wait time.Duration) ([]driver.StreamRecord, driver.Assignment, error) {
	if err := validateGroupCall(group, member); err != nil {
		return nil, driver.Assignment{}, err
	}
	if maxRecords == 0 {
		maxRecords = 100
	}
	if maxRecords < 0 || maxRecords > driver.MaxReadRecords {
		return nil, driver.Assignment{}, driver.Invalid("max", "%d is out of range; accepted is 1 to %d", maxRecords, driver.MaxReadRecords)
	}
	if wait < 0 || wait > driver.MaxReceiveWait {
		return nil, driver.Assignment{}, driver.Invalid("wait", "%v is out of range; accepted is 0 to %v", wait, driver.MaxReceiveWait)
	}
	deadline := time.Now().Add(wait)
	var h *waitHandle
	defer func() {
		if h != nil {
			h.release()
		}
	}()
	for {
		var notify <-chan struct{}
		if h != nil {
			notify = h.signal()
		}
		a, rest, err := c.groupCall(ctx, groupPoll, stream, group, member, strconv.Itoa(maxRecords))
		if err != nil {
			return nil, driver.Assignment{}, err
		}
		if len(rest) < 2 {
			return nil, a, malformed("group_poll", rest)
		}
		session, n := time.Duration(num(rest[0]))*time.Millisecond, int(num(rest[1]))
		recs, err := records(rest[2:], n)
		if err != nil {
			return nil, a, err
		}
		left := time.Until(deadline)
		if n > 0 || left <= 0 {
			return recs, a, nil
		}
		if h == nil {
			wctx, cancel := context.WithDeadline(ctx, deadline)
			h, err = c.waker.watch(wctx, c.prefix+":sw:"+stream)
			cancel()
			if err != nil {
				if ctx.Err() != nil {
					return nil, driver.Assignment{}, ctx.Err()
				}
				if c.closed.Load() {
					return nil, driver.Assignment{}, errConnClosed
				}
				return nil, a, nil
			}
			continue
		}
		// Poll again at least twice per session: each poll keeps it alive.
		if err := c.sleep(ctx, notify, min(left, session/2)); err != nil {
			return nil, driver.Assignment{}, err
		}
	}
}

// Commit stores the group's offsets; a partition the member does not own
// in generation fails the commit with ErrFenced.
func (c *Conn) Commit(ctx context.Context, stream, group, member string, generation int64, offsets map[int]int64) error {
	if err := validateGroupCall(group, member); err != nil {
		return err
	}
	if len(offsets) == 0 {
		return driver.Invalid("offsets", "nothing to commit")
	}
	args := []any{stream, group, member, strconv.FormatInt(generation, 10)}
	for p, off := range offsets {
		args = append(args, strconv.Itoa(p), strconv.FormatInt(off, 10))
	}
	v, err := c.run(ctx, scriptGroupCommit, args...)
	if err != nil {
		return err
	}
	res := list(v)
	if len(res) == 0 {
		return malformed("group_commit", v)
	}
	switch str(res[0]) {
	case "ok":
		return nil
	case "missing":
		return streamNotFound(stream)
	case "fenced":
		if len(res) > 1 && num(res[1]) >= 0 {
			return fmt.Errorf("stream %q group %q: member %q does not own partition %d in generation %d: %w", stream, group, member, num(res[1]), generation, driver.ErrFenced)
		}
		return fenced(stream, group, member)
	case "badpart":
		return driver.Invalid(fmt.Sprintf("offsets[%d]", num(res[1])), "stream %q has partitions 0 to %d", stream, num(res[2])-1)
	case "badoff":
		return driver.Invalid(fmt.Sprintf("offsets[%d]", num(res[1])), "offset %d is outside 0 to %d (the partition's end)", offsets[int(num(res[1]))], num(res[2]))
	}
	return malformed("group_commit", v)
}

// LeaveGroup removes a member; its partitions go to the others.
func (c *Conn) LeaveGroup(ctx context.Context, stream, group, member string) error {
	if err := validateGroupCall(group, member); err != nil {
		return err
	}
	v, err := c.run(ctx, scriptGroupLeave, stream, group, member)
	if err != nil {
		return err
	}
	switch str(v) {
	case "ok":
		return nil
	case "missing":
		return streamNotFound(stream)
	case "fenced":
		return fenced(stream, group, member)
	}
	return malformed("group_leave", v)
}

// ResetOffsets sets the committed offsets of a group without members.
func (c *Conn) ResetOffsets(ctx context.Context, stream, group string, partitions []int, pos driver.Position) (map[int]int64, error) {
	if err := driver.ValidateGroupName("group", group); err != nil {
		return nil, err
	}
	if err := pos.Validate("to"); err != nil {
		return nil, err
	}
	args := append([]any{stream, group}, positionArgs(pos)...)
	for _, p := range partitions {
		args = append(args, strconv.Itoa(p))
	}
	v, err := c.run(ctx, scriptGroupReset, args...)
	if err != nil {
		return nil, err
	}
	res := list(v)
	if len(res) == 0 {
		return nil, malformed("group_reset", v)
	}
	switch str(res[0]) {
	case "ok":
		out := make(map[int]int64, (len(res)-1)/2)
		for i := 1; i+1 < len(res); i += 2 {
			out[int(num(res[i]))] = num(res[i+1])
		}
		return out, nil
	case "missing":
		return nil, streamNotFound(stream)
	case "nogroup":
		return nil, fmt.Errorf("stream %q has no group %q: %w", stream, group, driver.ErrNotFound)
	case "members":
		return nil, fmt.Errorf("stream %q group %q has %d members; offsets are reset only while no member is in the group: %w", stream, group, num(res[1]), driver.ErrConflict)
	case "badpart":
		return nil, driver.Invalid("partitions", "stream %q has partitions 0 to %d; got %d", stream, num(res[2])-1, num(res[1]))
	case "beyond":
		return nil, driver.Invalid("to.offset", "offset %d is beyond the end of partition %d (%d)", pos.Offset, num(res[1]), num(res[2]))
	}
	return nil, malformed("group_reset", v)
}

// DeleteGroup forgets a group without members.
func (c *Conn) DeleteGroup(ctx context.Context, stream, group string) error {
	if err := driver.ValidateGroupName("group", group); err != nil {
		return err
	}
	v, err := c.run(ctx, scriptGroupDelete, stream, group)
	if err != nil {
		return err
	}
	switch str(v) {
	case "ok":
		return nil
	case "missing":
		return streamNotFound(stream)
	case "nogroup":
		return fmt.Errorf("stream %q has no group %q: %w", stream, group, driver.ErrNotFound)
	case "members":
		return fmt.Errorf("stream %q group %q has members; a group is deleted only without members: %w", stream, group, driver.ErrConflict)
	}
	return malformed("group_delete", v)
}
