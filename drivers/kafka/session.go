package kafka

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/courier-io/courier/driver"
)

// protocolName is the assignment protocol the driver's processes agree on
// in the Kafka group (protocol type "consumer", so Kafka's tools show the
// group, its members' assignments and its lag).
const protocolName = "courier-host"

// session is this process's membership of a group's Kafka consumer group.
// Its goroutine heartbeats, rejoins on rebalances and leaves the Kafka
// group when it stops (on Close, when the last local member leaves, or
// when every local member's session ended).
type session struct {
	memberID string
	gen      int32
	since    int64 // when this process joined, for choosing the host

	stop   chan struct{} // closed to stop the goroutine
	done   chan struct{} // closed when it has left the Kafka group
	rejoin chan struct{} // asks the goroutine to rejoin now (capacity 1)
	stable chan struct{} // closed while the membership is current (guarded by g.mu)
	ended  bool          // the goroutine is leaving (guarded by g.mu)
}

// hostData is what a member tells the leader in its join metadata.
type hostData struct {
	Hosting bool  `json:"hosting"`
	Since   int64 `json:"since"`
}

// joinResult is the outcome of one Kafka join and sync.
type joinResult struct {
	memberID  string
	gen       int32
	hosting   bool
	parts     int
	committed map[int]int64 // loaded when the process became the host
	startFrom driver.PositionKind
}

// rebalanceTimeout is how long Kafka waits for members to rejoin.
func (g *cgroup) rebalanceTimeout() time.Duration { return max(g.c.cfg.groupSession, 10*time.Second) }

// joinKafka joins the Kafka group and syncs; when this process becomes
// the host it loads the committed offsets, creating the group's offsets
// (start) when it has none.
func (g *cgroup) joinKafka(ctx context.Context, memberID string, since int64, wasHosting bool, start driver.PositionKind) (joinResult, error) {
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			if err := sleepCtx(ctx, min(time.Duration(attempt)*50*time.Millisecond, time.Second)); err != nil {
				return joinResult{}, err
			}
		}
		meta := kmsg.ConsumerMemberMetadata{Version: 0, Topics: []string{g.topic}}
		meta.UserData, _ = json.Marshal(hostData{Hosting: wasHosting, Since: since})
		jreq := kmsg.NewPtrJoinGroupRequest()
		jreq.Group = g.id
		jreq.SessionTimeoutMillis = int32(g.c.cfg.groupSession / time.Millisecond)
		jreq.RebalanceTimeoutMillis = int32(g.rebalanceTimeout() / time.Millisecond)
		jreq.MemberID = memberID
		jreq.ProtocolType = "consumer"
		jreq.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: protocolName, Metadata: meta.AppendTo(nil)}}
		jresp, err := jreq.RequestWith(ctx, g.c.cl)
		if err != nil {
			return joinResult{}, g.c.mapErr(err)
		}
		switch err := kerr.ErrorForCode(jresp.ErrorCode); {
		case errors.Is(err, kerr.MemberIDRequired):
			memberID = jresp.MemberID
			continue
		case errors.Is(err, kerr.UnknownMemberID):
			memberID = ""
			continue
		case errors.Is(err, kerr.RebalanceInProgress), errors.Is(err, kerr.CoordinatorLoadInProgress),
			errors.Is(err, kerr.CoordinatorNotAvailable), errors.Is(err, kerr.NotCoordinator):
			continue
		case err != nil:
			return joinResult{}, fmt.Errorf("join Kafka group %q: %w", g.id, g.c.mapErr(err))
		}
		memberID = jresp.MemberID
		var plan []kmsg.SyncGroupRequestGroupAssignment
		if jresp.LeaderID == jresp.MemberID {
			if plan, err = g.assign(ctx, jresp.Members); err != nil {
				return joinResult{}, err
			}
		}
		sreq := kmsg.NewPtrSyncGroupRequest()
		sreq.Group = g.id
		sreq.Generation = jresp.Generation
		sreq.MemberID = memberID
		sreq.ProtocolType = kmsg.StringPtr("consumer")
		sreq.Protocol = kmsg.StringPtr(protocolName)
		sreq.GroupAssignment = plan
		sresp, err := sreq.RequestWith(ctx, g.c.cl)
		if err != nil {
			return joinResult{}, g.c.mapErr(err)
		}
		switch err := kerr.ErrorForCode(sresp.ErrorCode); {
		case errors.Is(err, kerr.UnknownMemberID):
			memberID = ""
			continue
		case errors.Is(err, kerr.RebalanceInProgress), errors.Is(err, kerr.IllegalGeneration):
			continue
		case err != nil:
			return joinResult{}, fmt.Errorf("sync Kafka group %q: %w", g.id, g.c.mapErr(err))
		}
		var a kmsg.ConsumerMemberAssignment
		parts := 0
		if len(sresp.MemberAssignment) > 0 {
			if err := a.ReadFrom(sresp.MemberAssignment); err != nil {
				return joinResult{}, fmt.Errorf("Kafka group %q: malformed assignment: %w", g.id, err)
			}
			for _, t := range a.Topics {
				if t.Topic == g.topic {
					parts = len(t.Partitions)
				}
			}
		}
		res := joinResult{memberID: memberID, gen: jresp.Generation, hosting: parts > 0, parts: parts}
		if res.hosting && !wasHosting {
			if err := g.loadOffsets(ctx, &res, start); err != nil {
				return joinResult{}, err
			}
		}
		return res, nil
	}
}

// assign is the leader's plan: every partition of the stream goes to one
// process, the host, and the others stand by. The host stays the host
// while it is in the group; otherwise the process that joined first
// becomes it.
func (g *cgroup) assign(ctx context.Context, members []kmsg.JoinGroupResponseMember) ([]kmsg.SyncGroupRequestGroupAssignment, error) {
	m, err := g.c.topicMetadata(ctx, g.topic, time.Millisecond)
	if err != nil {
		return nil, err
	}
	host, best := "", hostData{}
	for _, mem := range members {
		var md kmsg.ConsumerMemberMetadata
		var hd hostData
		if md.ReadFrom(mem.ProtocolMetadata) == nil {
			_ = json.Unmarshal(md.UserData, &hd)
		}
		better := host == "" ||
			hd.Hosting && !best.Hosting ||
			hd.Hosting == best.Hosting && (hd.Since < best.Since || hd.Since == best.Since && mem.MemberID < host)
		if better {
			host, best = mem.MemberID, hd
		}
	}
	all := make([]int32, len(m.leaders))
	for i := range all {
		all[i] = int32(i)
	}
	out := make([]kmsg.SyncGroupRequestGroupAssignment, 0, len(members))
	for _, mem := range members {
		a := kmsg.ConsumerMemberAssignment{Version: 0}
		if mem.MemberID == host {
			a.Topics = []kmsg.ConsumerMemberAssignmentTopic{{Topic: g.topic, Partitions: all}}
		}
		out = append(out, kmsg.SyncGroupRequestGroupAssignment{MemberID: mem.MemberID, MemberAssignment: a.AppendTo(nil)})
	}
	return out, nil
}

// offsetMetadata is the metadata the driver stores with each committed
// offset: the group's start policy, which is fixed when it is created.
func offsetMetadata(start driver.PositionKind) string { return "courier start=" + string(start) }

// parseOffsetMetadata reads offsetMetadata; ok is false for offsets
// committed by something else.
func parseOffsetMetadata(s string) (driver.PositionKind, bool) {
	v, ok := strings.CutPrefix(s, "courier start=")
	if !ok {
		return "", false
	}
	switch k := driver.PositionKind(v); k {
	case driver.FromEarliest, driver.FromLatest:
		return k, true
	}
	return "", false
}

// loadOffsets reads the group's committed offsets; a group without any
// is new, and its offsets are created at the start it asks for (the ends
// of the partitions for FromLatest), so that where a group started
// survives restarts.
func (g *cgroup) loadOffsets(ctx context.Context, res *joinResult, start driver.PositionKind) error {
	committed, startFrom, found, err := g.c.fetchCommitted(ctx, g.id, g.topic)
	if err != nil {
		return err
	}
	if found {
		res.committed, res.startFrom = committed, startFrom
		return nil
	}
	first, end, err := g.c.offsets(ctx, g.topic)
	if err != nil {
		return err
	}
	init := first
	if start == driver.FromLatest {
		init = end
	}
	if err := g.c.commitOffsets(ctx, g.id, g.topic, res.memberID, res.gen, init, start); err != nil {
		return err
	}
	res.committed, res.startFrom = init, start
	return nil
}

// run is the session's goroutine: it heartbeats every fifth of the Kafka
// session timeout, rejoins on rebalances, expires silent local members and
// leaves the Kafka group when it stops.
func (g *cgroup) run(s *session) {
	defer g.c.wg.Done()
	defer close(s.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-s.stop:
		case <-g.c.done:
		case <-ctx.Done():
		}
		cancel()
	}()
	defer g.leaveKafka(s)
	interval := g.c.cfg.groupSession / 5
	lastOK := time.Now()
	t := time.NewTimer(interval)
	defer t.Stop()
	needRejoin := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.rejoin:
			needRejoin = true
		}
		g.mu.Lock()
		g.expire(time.Now())
		if len(g.members) == 0 {
			s.ended = true
			g.mu.Unlock()
			return
		}
		memberID, gen, wasHosting := s.memberID, s.gen, g.hosting
		g.mu.Unlock()
		if !needRejoin {
			hreq := kmsg.NewPtrHeartbeatRequest()
			hreq.Group, hreq.Generation, hreq.MemberID = g.id, gen, memberID
			resp, err := hreq.RequestWith(ctx, g.c.cl)
			if err == nil {
				err = kerr.ErrorForCode(resp.ErrorCode)
			}
			switch {
			case err == nil:
				lastOK = time.Now()
			case errors.Is(err, kerr.RebalanceInProgress):
				needRejoin = true
			case errors.Is(err, kerr.UnknownMemberID), errors.Is(err, kerr.IllegalGeneration), errors.Is(err, kerr.FencedInstanceID):
				g.c.log.Warn("Kafka fenced this process's group membership; its members lose their partitions", "group", g.id, "err", err)
				g.lose(s, errors.Is(err, kerr.UnknownMemberID))
				needRejoin, wasHosting = true, false
			case ctx.Err() != nil:
				return
			default:
				// The coordinator is unreachable: franz-go reconnects on
				// the next request. Past the Kafka session Kafka has
				// given the partitions away, so the members stop.
				if time.Since(lastOK) > g.c.cfg.groupSession {
					g.lose(s, true)
				}
				g.c.log.Debug("group heartbeat failed", "group", g.id, "err", err)
			}
		}
		if needRejoin {
			g.mu.Lock()
			select {
			case <-s.stable:
				s.stable = make(chan struct{})
			default:
			}
			memberID = s.memberID
			g.mu.Unlock()
			jctx, jcancel := context.WithTimeout(ctx, g.rebalanceTimeout()+g.c.cfg.groupSession)
			res, err := g.joinKafka(jctx, memberID, s.since, wasHosting, driver.FromEarliest)
			jcancel()
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				g.c.log.Warn("rejoining the Kafka group failed; retrying", "group", g.id, "err", err)
				t.Reset(interval)
				continue
			}
			g.apply(s, res)
			needRejoin = false
			lastOK = time.Now()
		}
		t.Reset(interval)
	}
}

// apply installs a join result: the membership becomes current and the
// hosted partitions are given to the local members.
func (g *cgroup) apply(s *session, res joinResult) {
	g.mu.Lock()
	defer g.mu.Unlock()
	s.memberID, s.gen = res.memberID, res.gen
	if res.committed != nil {
		g.committed = res.committed
		if res.startFrom != "" {
			g.startFrom = res.startFrom
		}
	}
	g.setHosting(res.hosting, res.parts)
	select {
	case <-s.stable:
	default:
		close(s.stable)
	}
}

// lose drops the hosted partitions after Kafka fenced this process; with
// forget the member ID is dropped too and the next join starts afresh.
func (g *cgroup) lose(s *session, forget bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.setHosting(false, 0)
	if forget {
		s.memberID = ""
	}
}

// leaveKafka tells the coordinator this process leaves, so that another
// process takes the partitions at once instead of after the session
// timeout.
func (g *cgroup) leaveKafka(s *session) {
	g.mu.Lock()
	s.ended = true
	memberID := s.memberID
	g.setHosting(false, 0)
	g.mu.Unlock()
	if memberID == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req := kmsg.NewPtrLeaveGroupRequest()
	req.Group = g.id
	req.MemberID = memberID
	req.Members = []kmsg.LeaveGroupRequestMember{{MemberID: memberID}}
	if _, err := req.RequestWith(ctx, g.c.cl); err != nil {
		g.c.log.Warn("leaving the Kafka group failed; it expires after the session timeout", "group", g.id, "err", err)
	}
}
