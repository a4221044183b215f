package kafka

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/courier-io/courier/driver"
)

// topicMeta is what the driver needs of a topic's metadata.
type topicMeta struct {
	id      [16]byte
	leaders []int32 // partition -> leader broker (-1 when none)
}

// topicMetadata returns the topic's partitions and leaders, from franz-go's
// metadata cache when it is younger than maxAge (0: the configured
// metadata_max_age). A topic that does not exist is ErrNotFound.
func (c *conn) topicMetadata(ctx context.Context, topic string, maxAge time.Duration) (topicMeta, error) {
	if maxAge == 0 {
		maxAge = c.cfg.metaMaxAge
	}
	req := kmsg.NewPtrMetadataRequest()
	t := kmsg.NewMetadataRequestTopic()
	t.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, t)
	resp, err := c.cl.RequestCachedMetadata(ctx, req, maxAge)
	if err != nil {
		return topicMeta{}, c.mapErr(err)
	}
	for _, rt := range resp.Topics {
		if rt.Topic == nil || *rt.Topic != topic {
			continue
		}
		if err := kerr.ErrorForCode(rt.ErrorCode); err != nil {
			return topicMeta{}, c.mapErr(err)
		}
		m := topicMeta{id: rt.TopicID, leaders: make([]int32, len(rt.Partitions))}
		for _, p := range rt.Partitions {
			if int(p.Partition) < len(m.leaders) {
				m.leaders[p.Partition] = p.Leader
			}
		}
		return m, nil
	}
	return topicMeta{}, c.mapErr(kerr.UnknownTopicOrPartition)
}

// fetchReq asks for one partition from an offset.
type fetchReq struct {
	partition int32
	offset    int64
}

// fetchResult is one partition's answer.
type fetchResult struct {
	records  []*kgo.Record
	next     int64 // the offset after the last batch the broker returned
	hwm      int64
	logStart int64
	err      error // per-partition Kafka error
}

// fetch issues one Fetch request per leader for the partitions of reqs,
// waiting up to wait for at least one byte, and returns what each
// partition gave. maxBytes bounds each partition's answer (Kafka returns
// at least one whole batch even if it is larger). When several leaders are
// asked, the first answer with records ends the others' waits.
func (c *conn) fetch(ctx context.Context, topic string, reqs []fetchReq, maxBytes int32, wait time.Duration) (map[int32]fetchResult, error) {
	for attempt := 0; ; attempt++ {
		maxAge := time.Duration(0)
		if attempt > 0 {
			maxAge = time.Millisecond // the leaders moved: ask again
		}
		m, err := c.topicMetadata(ctx, topic, maxAge)
		if err != nil {
			return nil, err
		}
		byLeader := map[int32][]fetchReq{}
		for _, r := range reqs {
			if int(r.partition) >= len(m.leaders) {
				return nil, driver.Invalid("partition", "%d is out of range; the stream has %d partitions", r.partition, len(m.leaders))
			}
			byLeader[m.leaders[r.partition]] = append(byLeader[m.leaders[r.partition]], r)
		}
		var out map[int32]fetchResult
		var retry bool
		if wait > 0 && len(byLeader) > 1 {
			// Several leaders: ask all without waiting first, so that
			// one leader's answer does not cut another's records short.
			out, retry, err = c.fetchLeaders(ctx, topic, m.id, byLeader, maxBytes, 0)
			if err == nil && !retry && hasRecords(out) {
				return out, nil
			}
		}
		if err == nil && !retry {
			out, retry, err = c.fetchLeaders(ctx, topic, m.id, byLeader, maxBytes, wait)
		}
		if err != nil {
			return nil, err
		}
		if !retry {
			return out, nil
		}
		if attempt >= 20 {
			return nil, fmt.Errorf("topic %q: no partition leader answered after %d tries", topic, attempt+1)
		}
		if err := sleepCtx(ctx, time.Duration(attempt+1)*20*time.Millisecond); err != nil {
			return nil, err
		}
	}
}

func hasRecords(res map[int32]fetchResult) bool {
	for _, r := range res {
		if len(r.records) > 0 {
			return true
		}
	}
	return false
}

// fetchLeaders runs the per-leader requests; retry reports a leader that
// moved or was not known, so the caller refreshes metadata.
func (c *conn) fetchLeaders(ctx context.Context, topic string, id [16]byte, byLeader map[int32][]fetchReq, maxBytes int32, wait time.Duration) (map[int32]fetchResult, bool, error) {
	if _, ok := byLeader[-1]; ok {
		return nil, true, nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu    sync.Mutex
		out   = map[int32]fetchResult{}
		retry bool
		first error
		wg    sync.WaitGroup
	)
	for leader, rs := range byLeader {
		waitFor := wait
		wg.Go(func() {
			res, err := c.fetchOne(ctx, topic, id, leader, rs, maxBytes, waitFor)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if first == nil && !(errors.Is(err, context.Canceled) && len(out) > 0) {
					first = err
				}
				return
			}
			got := false
			for p, r := range res {
				switch {
				case errors.Is(r.err, kerr.NotLeaderForPartition), errors.Is(r.err, kerr.UnknownLeaderEpoch),
					errors.Is(r.err, kerr.FencedLeaderEpoch), errors.Is(r.err, kerr.LeaderNotAvailable),
					errors.Is(r.err, kerr.UnknownTopicID), errors.Is(r.err, kerr.ReplicaNotAvailable):
					retry = true
					continue
				}
				out[p] = r
				got = got || len(r.records) > 0
			}
			if got && wait > 0 {
				cancel() // the others need not wait any longer
			}
		})
	}
	wg.Wait()
	if retry {
		return nil, true, nil
	}
	if first != nil && len(out) == 0 {
		return nil, false, c.mapErr(first)
	}
	return out, false, nil
}

// fetchOne sends one Fetch request to leader.
func (c *conn) fetchOne(ctx context.Context, topic string, id [16]byte, leader int32, rs []fetchReq, maxBytes int32, wait time.Duration) (map[int32]fetchResult, error) {
	req := kmsg.NewPtrFetchRequest()
	req.ReplicaID = -1
	req.MaxWaitMillis = int32(wait / time.Millisecond)
	req.MinBytes = 1
	req.MaxBytes = max(maxBytes, 1) * int32(len(rs))
	if req.MaxBytes < 0 || req.MaxBytes > driver.MaxReadBytes*4 {
		req.MaxBytes = driver.MaxReadBytes * 4
	}
	req.SessionID = 0
	req.SessionEpoch = -1
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = topic
	rt.TopicID = id
	for _, r := range rs {
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.Partition = r.partition
		rp.FetchOffset = r.offset
		rp.LogStartOffset = -1
		rp.CurrentLeaderEpoch = -1
		rp.PartitionMaxBytes = max(maxBytes, 1)
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	kresp, err := c.cl.Broker(int(leader)).Request(ctx, req)
	if err != nil {
		return nil, err
	}
	resp := kresp.(*kmsg.FetchResponse)
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		return nil, err
	}
	from := map[int32]int64{}
	for _, r := range rs {
		from[r.partition] = r.offset
	}
	out := map[int32]fetchResult{}
	for i := range resp.Topics {
		t := &resp.Topics[i]
		for j := range t.Partitions {
			rp := &t.Partitions[j]
			off := from[rp.Partition]
			fp, last := kgo.ProcessFetchPartition(kgo.ProcessFetchPartitionOpts{Offset: off, Topic: topic, Partition: rp.Partition}, rp, kgo.DefaultDecompressor(), nil)
			res := fetchResult{records: fp.Records, hwm: fp.HighWatermark, logStart: fp.LogStartOffset, err: fp.Err, next: max(last, off)}
			out[rp.Partition] = res
		}
	}
	return out, nil
}

// sleepCtx waits for d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
