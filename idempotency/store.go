package idempotency

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/courier-io/courier/driver"
)

// Store keeps idempotency records: for each key, either a claim (someone is
// processing it until the claim's lease ends) or a done record (it was
// processed; the record keeps the recorded result until its TTL ends).
// Memory, Embedded, Redis and Postgres implement it; all are safe for
// concurrent use.
type Store interface {
	// Claim tries to take key for lease, the bound on the processing time.
	// The outcome is in Claim.Status: Claimed (process, then Complete or
	// Release), Done (already processed; Claim.Result holds what Complete
	// recorded) or Busy (another consumer holds an unexpired claim; retry
	// after Claim.Expires). A claim whose lease has ended is taken over by
	// the next Claim. Input errors wrap courier.ErrInvalid.
	Claim(ctx context.Context, key string, lease time.Duration) (Claim, error)
	// Complete records that c's key was processed, with result, for ttl.
	// It succeeds while the store still holds c (even after its lease
	// ended, if no one took the key over) and fails with ErrLostClaim
	// otherwise: the lease ended and another consumer claimed the key, or
	// c was already completed or released.
	Complete(ctx context.Context, c Claim, result []byte, ttl time.Duration) error
	// Release gives c up (processing failed), so that a retry can claim the
	// key at once. It fails with ErrLostClaim as Complete does.
	Release(ctx context.Context, c Claim) error
}

// Status is the outcome of a Claim.
type Status uint8

// The outcomes of a Claim.
const (
	// Claimed: the caller holds the key until Claim.Expires; it processes
	// the message and then calls Complete, or Release if processing failed.
	Claimed Status = iota + 1
	// Done: the key was processed; Claim.Result is the recorded result and
	// Claim.Expires is when the record is forgotten.
	Done
	// Busy: another consumer holds the key until Claim.Expires.
	Busy
)

// String returns "claimed", "done" or "busy".
func (s Status) String() string {
	switch s {
	case Claimed:
		return "claimed"
	case Done:
		return "done"
	case Busy:
		return "busy"
	}
	return fmt.Sprintf("Status(%d)", uint8(s))
}

// Claim is the outcome of Store.Claim. A Claimed claim is the caller's
// proof of ownership: pass it to Complete or Release unchanged.
type Claim struct {
	// Key is the idempotency key.
	Key string
	// Status says what the caller should do.
	Status Status
	// Token identifies this claim (Claimed only); Complete and Release
	// check it, so a consumer whose claim was taken over cannot settle the
	// new owner's claim.
	Token string
	// Result is what Complete recorded (Done only); an empty result is nil.
	Result []byte
	// Expires is when the lease ends (Claimed, Busy) or when the done
	// record is forgotten (Done), by the store's clock (the Redis or
	// PostgreSQL server's for those stores).
	Expires time.Time
}

// Limits on inputs, the same for every store.
const (
	// MaxKeyLen is the longest key in bytes.
	MaxKeyLen = 512
	// MaxResultSize is the largest result Complete records, in bytes.
	MaxResultSize = 256 << 10
	// MinDuration and MaxLease bound a lease; MinDuration and MaxTTL bound
	// the TTL of a done record.
	MinDuration = time.Millisecond
	MaxLease    = 24 * time.Hour
	MaxTTL      = 10 * 365 * 24 * time.Hour
)

// claimGrace is how long a store keeps a claim after its lease ended, so
// that a slow holder can still Complete it if no one took the key over;
// after that the claim may be purged and Complete fails with ErrLostClaim.
const claimGrace = time.Minute

// settleTimeout bounds the Complete or Release that Do and DoTx make after
// fn returns; they run even when ctx has been cancelled by then.
const settleTimeout = 5 * time.Second

var (
	// ErrBusy means another consumer is processing the key: retry later
	// (Do returns a *BusyError, which matches it, with the time to retry).
	ErrBusy = errors.New("key is being processed by another consumer")
	// ErrLostClaim means the caller no longer holds its claim: the lease
	// ended and another consumer claimed the key, or the claim was already
	// completed or released. Whatever the caller did may be done again by
	// the new owner; with PostgreSQL, CompleteTx turns this into a rolled
	// back transaction instead.
	ErrLostClaim = errors.New("claim lost: its lease ended and another consumer took the key, or it was already completed or released")
)

// BusyError is returned by Do when another consumer holds the key. It
// matches ErrBusy.
type BusyError struct {
	Key   string
	Until time.Time // when the other consumer's lease ends
}

// Error says which key is busy and until when.
func (e *BusyError) Error() string {
	return fmt.Sprintf("idempotency: key %.64q is being processed by another consumer until %s", e.Key, e.Until.Format(time.RFC3339Nano))
}

// Is reports whether target is ErrBusy.
func (e *BusyError) Is(target error) bool { return target == ErrBusy }

// validateKey checks a key: 1..MaxKeyLen bytes of UTF-8 without NUL (the
// keys go into PostgreSQL text columns, Redis keys and stream keys alike).
func validateKey(key string) error {
	switch {
	case key == "":
		return driver.Invalid("key", "is empty")
	case len(key) > MaxKeyLen:
		return driver.Invalid("key", "is %d bytes; the limit is %d", len(key), MaxKeyLen)
	case !utf8.ValidString(key):
		return driver.Invalid("key", "is not valid UTF-8")
	case strings.IndexByte(key, 0) >= 0:
		return driver.Invalid("key", "contains a NUL byte")
	}
	return nil
}

func validateDuration(field string, d, max time.Duration) error {
	if d < MinDuration || d > max {
		return driver.Invalid(field, "%v is out of range; accepted is %v to %v", d, MinDuration, max)
	}
	return nil
}

func validateClaimArgs(key string, lease time.Duration) error {
	if err := validateKey(key); err != nil {
		return err
	}
	return validateDuration("lease", lease, MaxLease)
}

// validateSettle checks the arguments of Complete (withResult) or Release.
func validateSettle(c Claim, result []byte, ttl time.Duration, withResult bool) error {
	if err := validateKey(c.Key); err != nil {
		return err
	}
	if c.Status != Claimed || c.Token == "" {
		return driver.Invalid("claim", "status is %v; only a claim returned as %v can be settled", c.Status, Claimed)
	}
	if !withResult {
		return nil
	}
	if len(result) > MaxResultSize {
		return driver.TooLarge("result", "is %d bytes; the limit is %d", len(result), MaxResultSize)
	}
	return validateDuration("ttl", ttl, MaxTTL)
}

// opError wraps err with the store, the operation and the key (cut to 64
// characters: a rejected key may be long).
func opError(store, op, key string, err error) error {
	return fmt.Errorf("idempotency: %s: %s %.64q: %w", store, op, key, err)
}

// newToken returns a random claim token.
func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

// Do runs the claim → process → record protocol around fn:
//
//   - Claim key for lease. Done: return the recorded result with dup true,
//     without calling fn. Busy: return a *BusyError (errors.Is(err,
//     ErrBusy)); retry after its Until, e.g. by nacking the message with
//     that delay.
//   - Claimed: call fn with a context that ends when the lease does. If fn
//     succeeds, Complete records its result for ttl and Do returns it. If fn
//     fails (or panics), Release lets a retry claim the key at once and Do
//     returns fn's error (or re-panics).
//
// The Complete or Release after fn runs even if ctx was cancelled
// meanwhile, for at most 5 seconds. If Complete fails with ErrLostClaim,
// fn's effect happened but the lease had ended and another consumer took
// the key, which may do it again: keep fn well within the lease, or use
// Postgres.DoTx, which commits the effect and the record together.
func Do(ctx context.Context, s Store, key string, lease, ttl time.Duration, fn func(ctx context.Context) ([]byte, error)) (result []byte, dup bool, err error) {
	return protocol(ctx, s, key, lease, ttl,
		func(ctx context.Context, _ Claim) ([]byte, error) { return fn(ctx) },
		func(ctx context.Context, c Claim, result []byte) error { return s.Complete(ctx, c, result, ttl) })
}

// protocol is Do with hooks: process runs under the claim, then complete
// records the result (nil: process recorded it itself, as DoTx does).
// Complete, or Release when process fails or panics, gets a context that
// survives ctx's cancellation for settleTimeout.
func protocol(ctx context.Context, s Store, key string, lease, ttl time.Duration,
	process func(ctx context.Context, c Claim) ([]byte, error),
	complete func(ctx context.Context, c Claim, result []byte) error) (result []byte, dup bool, err error) {
	if err := validateDuration("ttl", ttl, MaxTTL); err != nil {
		return nil, false, opError("do", "claim", key, err) // before claiming, so no claim is left behind
	}
	start := time.Now()
	c, err := s.Claim(ctx, key, lease)
	if err != nil {
		return nil, false, err
	}
	switch c.Status {
	case Claimed:
	case Done:
		return c.Result, true, nil
	case Busy:
		return nil, false, &BusyError{Key: c.Key, Until: c.Expires}
	default:
		return nil, false, opError("do", "claim", key, fmt.Errorf("store returned unknown status %v", c.Status))
	}

	settleCtx := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
	}
	returned := false
	defer func() {
		if !returned { // process panicked: release, then let the panic go on
			sctx, cancel := settleCtx()
			defer cancel()
			_ = s.Release(sctx, c)
		}
	}()
	pctx, cancel := context.WithDeadline(ctx, start.Add(lease))
	result, err = process(pctx, c)
	cancel()
	returned = true

	sctx, cancelSettle := settleCtx()
	defer cancelSettle()
	if err != nil {
		if rerr := s.Release(sctx, c); rerr != nil && !errors.Is(rerr, ErrLostClaim) {
			return nil, false, errors.Join(err, fmt.Errorf("release after failure: %w", rerr))
		}
		return nil, false, err
	}
	if complete != nil {
		if err := complete(sctx, c, result); err != nil {
			return result, false, err
		}
	}
	return result, false, nil
}
