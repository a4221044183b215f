package nats

import (
	"strconv"
	"strings"
)

// Courier names (queues, topics, streams, subscriptions, groups) use the
// characters A-Z a-z 0-9 '-', '_' and '.'. JetStream stream names and
// subject tokens cannot hold '.', so a name is written with every '.'
// replaced by '=' (a character courier names never contain): the mapping
// is one to one and readable in `nats stream ls`.

// encName maps a courier name to a stream-name and subject-token safe form.
func encName(name string) string { return strings.ReplaceAll(name, ".", "=") }

// decName reverses encName.
func decName(s string) string { return strings.ReplaceAll(s, "=", ".") }

// layout names every JetStream object of one courier namespace (the URL's
// prefix option). With prefix P:
//
//	queue Q              stream P_q_Q            subject  P.q.Q
//	                     stream P_qx_Q           subjects P.qx.Q.>  (delayed copies, markers, lineage)
//	subscription S of T  stream P_b_<len T>_T_S  subject  P.b.T.S
//	                     stream P_bx_<len T>_T_S subjects P.bx.T.S.>
//	topic T              stream P_t_T            subject  P.t.T
//	stream S, partition i stream P_s_S_i         subject  P.s.S.i
//	groups, subscriptions KV bucket P_meta
//
// A queue's main stream has one literal subject on purpose: JetStream
// loads every acked message again to check other consumers' interest in a
// work-queue stream with several subjects or a wildcard, which costs the
// hot path (send, receive, ack) about a sixth of its throughput.
type layout struct{ prefix string }

// queueName returns the queue whose stream is stream, if it is one.
func (l layout) queueName(stream string) (string, bool) {
	rest, ok := strings.CutPrefix(stream, l.prefix+"_q_")
	if !ok || rest == "" {
		return "", false
	}
	return decName(rest), true
}

func (l layout) topicStream(name string) string  { return l.prefix + "_t_" + encName(name) }
func (l layout) topicSubject(name string) string { return l.prefix + ".t." + encName(name) }

// topicName returns the topic whose stream is stream, if it is one.
func (l layout) topicName(stream string) (string, bool) {
	rest, ok := strings.CutPrefix(stream, l.prefix+"_t_")
	if !ok || rest == "" {
		return "", false
	}
	return decName(rest), true
}

func (l layout) partStream(name string, p int) string {
	return l.prefix + "_s_" + encName(name) + "_" + strconv.Itoa(p)
}

func (l layout) partSubject(name string, p int) string {
	return l.prefix + ".s." + encName(name) + "." + strconv.Itoa(p)
}

// streamName returns the courier stream whose partition 0 is stream.
func (l layout) streamName(stream string) (string, bool) {
	rest, ok := strings.CutPrefix(stream, l.prefix+"_s_")
	if !ok {
		return "", false
	}
	rest, ok = strings.CutSuffix(rest, "_0")
	if !ok || rest == "" {
		return "", false
	}
	return decName(rest), true
}

func (l layout) bucket() string { return l.prefix + "_meta" }

// queue returns the reference of the user queue name.
func (l layout) queue(name string) qref {
	e := encName(name)
	return qref{name: name,
		stream: l.prefix + "_q_" + e, subj: l.prefix + ".q." + e,
		aux: l.prefix + "_qx_" + e, auxSubj: l.prefix + ".qx." + e}
}

// subQueue returns the reference of the queue a durable subscription owns.
func (l layout) subQueue(topic, sub string) qref {
	t := encName(topic)
	id := strconv.Itoa(len(t)) + "_" + t + "_" + encName(sub)
	return qref{
		name:   topic + "/" + sub,
		stream: l.prefix + "_b_" + id, subj: l.prefix + ".b." + t + "." + encName(sub),
		aux: l.prefix + "_bx_" + id, auxSubj: l.prefix + ".bx." + t + "." + encName(sub),
		topic: topic, sub: sub,
	}
}

// queueRef resolves a queue name as it appears in SourceQueue: "topic/sub"
// names a durable subscription's queue, anything else a user queue.
func (l layout) queueRef(name string) qref {
	if t, s, ok := strings.Cut(name, "/"); ok {
		return l.subQueue(t, s)
	}
	return l.queue(name)
}

// qref names one courier queue's JetStream objects. Its main stream holds
// the visible and in-flight copies on one subject, read by the main
// consumer. Its auxiliary stream holds delayed copies (aux.d.<root>, read
// by the delay consumer until they are due), markers of changed
// visibility (aux.v.<seq>) and lineage records (aux.r.<root>: where the
// newest copy of a moved message is).
type qref struct {
	name    string // courier name: "orders", or "topic/sub" for a subscription
	stream  string // main stream
	subj    string // its one subject
	aux     string // auxiliary stream
	auxSubj string // prefix of its subjects
	topic   string // set for a durable subscription's queue
	sub     string
}

// Consumer names: the main consumer on the main stream, the delay
// consumer on the auxiliary one.
const (
	mainConsumer  = "courier"
	delayConsumer = "courier-delay"
)

// firstToken is the subject token of a delayed message's first copy: its
// root is its own sequence, known only once it is stored.
const firstToken = "_"

func (q qref) delayed(root string) string { return q.auxSubj + ".d." + root }
func (q qref) delayFilter() string        { return q.auxSubj + ".d.*" }
func (q qref) markerFilter() string       { return q.auxSubj + ".v.*" }
func (q qref) marker(seq uint64) string   { return q.auxSubj + ".v." + strconv.FormatUint(seq, 10) }
func (q qref) lineage(root string) string { return q.auxSubj + ".r." + root }
func (q qref) lineageFilter() string      { return q.auxSubj + ".r.*" }

// Roots name messages within a queue: a message first stored in the main
// stream has the decimal sequence of that copy as its root, one first
// stored delayed "d" and the sequence of that copy in the auxiliary
// stream. A message ID is the queue's incarnation and the root.
func mainRoot(seq uint64) string { return strconv.FormatUint(seq, 10) }
func auxRoot(seq uint64) string  { return "d" + strconv.FormatUint(seq, 10) }

// validRoot accepts the roots mainRoot and auxRoot make.
func validRoot(r string) bool {
	s := strings.TrimPrefix(r, "d")
	if s == "" || s[0] == '0' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
