package idempotency

import (
	"context"
	"fmt"
	"hash/maphash"
	"sync"
	"time"
)

// Memory is a Store in process memory, for tests and for consumers that
// share one process and need no durability: its records are lost with the
// process. Time is time.Now, so tests can drive it with testing/synctest.
// Expired records are replaced by the next Claim of their key; Purge
// removes the others.
type Memory struct {
	ix index
}

// NewMemory returns an empty in-memory store.
func NewMemory() *Memory {
	m := &Memory{}
	m.ix.init("memory", nil)
	return m
}

// Claim implements Store.
func (m *Memory) Claim(ctx context.Context, key string, lease time.Duration) (Claim, error) {
	return m.ix.claim(ctx, key, lease)
}

// Complete implements Store.
func (m *Memory) Complete(ctx context.Context, c Claim, result []byte, ttl time.Duration) error {
	return m.ix.complete(ctx, c, result, ttl)
}

// Release implements Store.
func (m *Memory) Release(ctx context.Context, c Claim) error { return m.ix.release(ctx, c) }

// Purge removes the done records whose TTL has passed and the claims whose
// lease ended more than a minute ago, and reports how many it removed.
func (m *Memory) Purge(ctx context.Context) (int, error) { return m.ix.purge(ctx) }

// record is the state of one key: a claim or a done record.
type record struct {
	status  Status // Claimed or Done
	token   string // Claimed
	result  []byte // Done
	expires time.Time
}

// change is one write to the index: rec nil deletes key.
type change struct {
	key string
	rec *record
}

// persistFunc makes changes durable before the index applies them; a
// failure leaves the index unchanged.
type persistFunc func(ctx context.Context, changes []change) error

// index is the key → record map of Memory and Embedded. Operations on one
// key are serialised by the key's stripe lock, which is held across the
// persist call, so the order of persisted changes per key is the order in
// which the index applied them; different stripes persist concurrently
// (so a durable backend can group-commit them).
type index struct {
	name    string // the store's name in errors
	seed    maphash.Seed
	stripes [64]stripe
	persist persistFunc // nil: memory only
}

type stripe struct {
	mu      sync.Mutex
	records map[string]*record
}

func (ix *index) init(name string, persist persistFunc) {
	ix.name = name
	ix.seed = maphash.MakeSeed()
	ix.persist = persist
	for i := range ix.stripes {
		ix.stripes[i].records = make(map[string]*record)
	}
}

func (ix *index) stripe(key string) *stripe {
	return &ix.stripes[maphash.String(ix.seed, key)%uint64(len(ix.stripes))]
}

// write persists one change; the caller holds the key's stripe lock.
func (ix *index) write(ctx context.Context, key string, rec *record) error {
	if ix.persist == nil {
		return nil
	}
	return ix.persist(ctx, []change{{key: key, rec: rec}})
}

func (ix *index) claim(ctx context.Context, key string, lease time.Duration) (Claim, error) {
	if err := validateClaimArgs(key, lease); err != nil {
		return Claim{}, opError(ix.name, "claim", key, err)
	}
	s := ix.stripe(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if r := s.records[key]; r != nil && now.Before(r.expires) {
		if r.status == Done {
			return Claim{Key: key, Status: Done, Result: clone(r.result), Expires: r.expires}, nil
		}
		return Claim{Key: key, Status: Busy, Expires: r.expires}, nil
	}
	r := &record{status: Claimed, token: newToken(), expires: now.Add(lease)}
	if err := ix.write(ctx, key, r); err != nil {
		return Claim{}, opError(ix.name, "claim", key, err)
	}
	s.records[key] = r
	return Claim{Key: key, Status: Claimed, Token: r.token, Expires: r.expires}, nil
}

// held reports whether the stripe still holds claim c; the caller holds the
// stripe's lock.
func (s *stripe) held(c Claim) bool {
	r := s.records[c.Key]
	return r != nil && r.status == Claimed && r.token == c.Token
}

func (ix *index) complete(ctx context.Context, c Claim, result []byte, ttl time.Duration) error {
	if err := validateSettle(c, result, ttl, true); err != nil {
		return opError(ix.name, "complete", c.Key, err)
	}
	s := ix.stripe(c.Key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.held(c) {
		return opError(ix.name, "complete", c.Key, ErrLostClaim)
	}
	r := &record{status: Done, result: clone(result), expires: time.Now().Add(ttl)}
	if err := ix.write(ctx, c.Key, r); err != nil {
		return opError(ix.name, "complete", c.Key, err)
	}
	s.records[c.Key] = r
	return nil
}

func (ix *index) release(ctx context.Context, c Claim) error {
	if err := validateSettle(c, nil, 0, false); err != nil {
		return opError(ix.name, "release", c.Key, err)
	}
	s := ix.stripe(c.Key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.held(c) {
		return opError(ix.name, "release", c.Key, ErrLostClaim)
	}
	if err := ix.write(ctx, c.Key, nil); err != nil {
		return opError(ix.name, "release", c.Key, err)
	}
	delete(s.records, c.Key)
	return nil
}

// expired reports whether r may be forgotten at now.
func (r *record) expired(now time.Time) bool {
	if r.status == Claimed {
		return !now.Before(r.expires.Add(claimGrace))
	}
	return !now.Before(r.expires)
}

// purge deletes expired records one stripe at a time, persisting the
// deletes of a stripe in one write.
func (ix *index) purge(ctx context.Context) (int, error) {
	n := 0
	for i := range ix.stripes {
		if err := ctx.Err(); err != nil {
			return n, fmt.Errorf("idempotency: %s: purge: %w", ix.name, err)
		}
		m, err := ix.purgeStripe(ctx, &ix.stripes[i])
		n += m
		if err != nil {
			return n, fmt.Errorf("idempotency: %s: purge: %w", ix.name, err)
		}
	}
	return n, nil
}

func (ix *index) purgeStripe(ctx context.Context, s *stripe) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	var gone []change
	for k, r := range s.records {
		if r.expired(now) {
			gone = append(gone, change{key: k})
		}
	}
	if len(gone) == 0 {
		return 0, nil
	}
	if ix.persist != nil {
		if err := ix.persist(ctx, gone); err != nil {
			return 0, err
		}
	}
	for _, c := range gone {
		delete(s.records, c.key)
	}
	return len(gone), nil
}

func clone(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return append([]byte(nil), b...)
}
