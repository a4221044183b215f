// Package kafka is courier's driver for Apache Kafka (and Kafka-compatible
// brokers), built on franz-go. Import it for its side effect:
//
//	import _ "github.com/courier-io/courier/drivers/kafka"
//
//	b, err := courier.Open(ctx, "kafka://broker1:9092,broker2:9092?prefix=prod.")
//
// # URL
//
//	kafka://[user:password@]host[:port][,host2[:port2]...][?option=value&...]
//
// The hosts are the seed brokers (port 9092 when omitted); franz-go
// discovers the rest of the cluster. Options, with their defaults:
//
//	brokers=h:p,h:p              more seed brokers (needed for IPv6 lists, which a URL host cannot hold)
//	prefix=                      prepended to every topic and consumer-group ID the driver uses
//	                             (letters, digits, '.', '_', '-'; at most 64); "" maps streams to topics
//	                             of the same name, so existing topics are streams
//	client_id=courier            the Kafka client ID
//	tls=false                    connect with TLS
//	tls_ca=FILE                  PEM CA bundle to verify the brokers (default: the system roots)
//	tls_cert=FILE, tls_key=FILE  client certificate for mutual TLS
//	tls_server_name=NAME         expected broker certificate name (default: the host dialled)
//	tls_insecure_skip_verify=false
//	sasl=                        plain, scram-sha-256 or scram-sha-512, with the URL's user and
//	                             password (which sasl requires and which require sasl); use with
//	                             tls=true outside trusted networks
//	replication_factor=-1        replicas of the topics the driver creates (-1: the broker's default)
//	compression=none             producer batch compression: none, gzip, snappy, lz4 or zstd
//	linger=0                     how long the producer waits to fill a batch (0 to 1s)
//	dial_timeout=10s             connection timeout
//	group_session_timeout=10s    the Kafka session of this process's consumer-group membership
//	                             (1s to 30m, within the brokers' group.min/max.session.timeout.ms)
//	metadata_max_age=5s          how long partition counts and leaders are cached
//
// Every call honours its context's deadline; franz-go reconnects on its
// own after a broker or the network fails, and a call in progress retries
// until its context ends.
//
// # Mapping
//
// A stream is a topic with as many partitions. Append produces with the
// idempotent producer and acks from all in-sync replicas, so an appended
// record is on every in-sync replica when Append returns and a retried
// produce neither duplicates nor reorders. The driver picks each record's
// partition itself: the record's own, else driver.PartitionForKey of its key
// (courier's hash, not Kafka's murmur2, so keys land in the same partition
// on every courier backend), else round robin; Partitioner gives franz-go
// producers that write to courier streams the same placement. Courier headers are Kafka
// record headers. Topics are created with message.timestamp.type=
// LogAppendTime, so a record's timestamp is when the broker appended it;
// Kafka keeps milliseconds and the driver reports the last nanosecond of
// the record's millisecond, so AtTime(t) finds every record appended after
// t. Retention is retention.ms and retention.bytes (-1 for 0, "unlimited"),
// compaction is cleanup.policy=compact (compact,delete with a retention)
// with delete.retention.ms; an empty value on a compacted stream is a
// tombstone. MaxRecordSize and the creation time, which topic configs cannot
// hold, live in the compacted topic <prefix>__courier_streams; stream names
// starting with "__" are reserved. Topics get max.message.bytes of 1 MiB
// plus framing. Read is a Fetch from the partition's leader with Kafka's own
// long poll; positions are resolved with ListOffsets. StreamInfo reports
// log start and end offsets, sizes from DescribeLogDirs, and the groups.
//
// # Consumer groups
//
// A courier group is the Kafka consumer group "<prefix><stream>/<group>":
// its committed offsets are Kafka's (OffsetCommit, with the group's start
// policy in the offset metadata), so Kafka's tools show them and their lag.
// Courier's group protocol (members joining and leaving without a barrier,
// session timeouts from 100ms, cooperative two-phase moves, per-partition
// generation fencing) is not Kafka's, so membership works in two levels.
// Each process whose members joined a group is one member of the Kafka
// group, heartbeating in the background; the driver's assignor gives every
// partition to one process, the host (it stays the host while it is in the
// group, else the process that joined first becomes it). The host's
// members share the partitions by courier's rules, exactly as in the
// embedded engine; members joined through other processes stand by with no
// partitions, and take over from the committed offsets when the host leaves
// (Close, or its last member leaving) or its Kafka session expires. Commits
// carry the host's Kafka member ID and generation, so Kafka fences a
// process that lost the group; its members then get ErrFenced and join
// again. ResetOffsets and DeleteGroup need a group without members in any
// process (ErrConflict otherwise).
//
// # What Kafka cannot do
//
// Capabilities declares Streams and Persistent only. Kafka has no
// per-message acknowledgement, visibility timeout, receive count or
// delay, so courier queues (and topic subscriptions, which deliver into
// queues) are not offered: emulating them would mean keeping per-message
// state outside Kafka's log. Buses are not offered either. The calls of
// those patterns fail with ErrUnsupported.
package kafka
