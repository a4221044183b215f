package kafka

import (
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/courier-io/courier/driver"
)

// Partitioner returns a franz-go partitioner that places records as
// courier's Append does: a keyed record goes to driver.PartitionForKey of
// its key (MD5 scaled to partition ranges, not Kafka's murmur2), a record
// without key round robin. Give it to franz-go producers that write to
// courier streams (kgo.RecordPartitioner(kafka.Partitioner())) so that a
// key's records stay in one partition whichever side appends them.
func Partitioner() kgo.Partitioner { return keyHashPartitioner{} }

type keyHashPartitioner struct{}

// ForTopic returns the partitioner of one topic.
func (keyHashPartitioner) ForTopic(string) kgo.TopicPartitioner { return &keyHashTopicPartitioner{} }

type keyHashTopicPartitioner struct{ rr atomic.Uint64 }

// RequiresConsistency is true for keyed records: they must not move to
// another partition when theirs is briefly unavailable.
func (*keyHashTopicPartitioner) RequiresConsistency(r *kgo.Record) bool { return len(r.Key) > 0 }

// Partition returns r's partition among n.
func (p *keyHashTopicPartitioner) Partition(r *kgo.Record, n int) int {
	if len(r.Key) > 0 {
		return driver.PartitionForKey(r.Key, n)
	}
	return int(p.rr.Add(1) % uint64(n))
}
