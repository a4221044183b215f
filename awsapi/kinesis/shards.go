package kinesis

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"

	courier "github.com/courier-io/courier"
)

// hashSpace is 2^128, the size of the Kinesis hash key space.
var hashSpace = new(big.Int).Lsh(big.NewInt(1), 128)

// shardID names partition i as Kinesis names shards.
func shardID(i int) string { return fmt.Sprintf("shardId-%012d", i) }

// parseShardID returns the partition of a shard ID of a stream with n
// shards, and false when there is no such shard. Like Kinesis, it accepts
// the bare number too ("1" for "shardId-000000000001").
func parseShardID(id string, n int) (int, bool) {
	digits := strings.TrimPrefix(id, "shardId-")
	if digits == "" || len(digits) > 12 || !allDigits(digits) {
		return 0, false
	}
	i, err := strconv.Atoi(digits)
	if err != nil || i >= n {
		return 0, false
	}
	return i, true
}

// hashRange returns the hash key range of shard i of n, as decimal
// strings: [ceil(i*2^128/n), ceil((i+1)*2^128/n) - 1], so that a hash h
// belongs to shard floor(h*n/2^128), the partition courier.PartitionForKey
// computes for the MD5 of a key.
func hashRange(i, n int) hashKeyRange {
	start := ceilDiv(new(big.Int).Mul(hashSpace, big.NewInt(int64(i))), int64(n))
	end := ceilDiv(new(big.Int).Mul(hashSpace, big.NewInt(int64(i+1))), int64(n))
	end.Sub(end, big.NewInt(1))
	return hashKeyRange{StartingHashKey: start.String(), EndingHashKey: end.String()}
}

// ceilDiv returns ceil(a/d) for a >= 0, d > 0.
func ceilDiv(a *big.Int, d int64) *big.Int {
	q, r := new(big.Int).QuoRem(a, big.NewInt(d), new(big.Int))
	if r.Sign() != 0 {
		q.Add(q, big.NewInt(1))
	}
	return q
}

// shardForHashKey returns the shard of an ExplicitHashKey among n shards:
// floor(h*n/2^128). The key must be a decimal below 2^128.
func shardForHashKey(key string, n int) (int, error) {
	h, ok := new(big.Int).SetString(key, 10)
	if !ok || h.Sign() < 0 || h.Cmp(hashSpace) >= 0 {
		return 0, invalid("Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. Specified value was %s", key)
	}
	h.Mul(h, big.NewInt(int64(n)))
	h.Rsh(h, 128)
	return int(h.Int64()), nil
}

// shardForPartitionKey returns the shard of a partition key among n
// shards: the one whose range holds the key's MD5 as a big-endian 128-bit
// number.
func shardForPartitionKey(key string, n int) int {
	return courier.PartitionForKey([]byte(key), n)
}

// Sequence numbers. Kinesis sequence numbers match 0|([1-9]\d{0,128})
// and clients (the KCL) compare them as big integers. courier's
// SequenceNumber is the offset zero-padded to 20 digits, which has a
// leading zero; so a Kinesis sequence number is "1" followed by offset+1
// zero-padded to 20 digits: 21 digits without a leading zero, in the same
// order as strings and as integers. Offset -1 ("100000000000000000000")
// is the shard's StartingSequenceNumber, before its first record: AFTER
// it is offset 0, as after a Kinesis shard's starting sequence number.
const seqPrefix = "1"

// seqLen is the length of this endpoint's sequence numbers.
const seqLen = 21

// sequenceNumber returns the Kinesis sequence number of offset (>= -1).
func sequenceNumber(offset int64) string { return seqPrefix + courier.SequenceNumber(offset+1) }

// parseSequenceNumber returns the offset a sequence number stands for
// (-1 for a shard's starting sequence number).
func parseSequenceNumber(s string) (int64, bool) {
	if len(s) != seqLen || !strings.HasPrefix(s, seqPrefix) {
		return 0, false
	}
	n, err := courier.ParseSequenceNumber(s[len(seqPrefix):])
	if err != nil {
		return 0, false
	}
	return n - 1, true
}
