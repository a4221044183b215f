package nats

import (
	"errors"
	"strconv"
	"strings"

	"github.com/cespare/xxhash/v2"
)

// receipt identifies one delivery of one copy of a message. It is self
// contained, so any connection can settle it: the JetStream ack subject
// of the delivery, the queue's incarnation, the message's root sequence
// (the subject token of its later copies), the copy's sequence, the
// delivery's receive count, when the message was first received and the
// time before which the delivery's visibility cannot have ended.
type receipt struct {
	uid       uint64 // queue incarnation
	root      string // the message's root in its queue (see mainRoot)
	seq       uint64 // sequence of the delivered copy
	receives  int64  // this delivery's receive count
	firstRecv int64  // unix nanoseconds
	deadline  int64  // unix nanoseconds: visible again no earlier than this
	subject   string // the delivery's ack subject ("$JS.ACK....")
	stream    string // the stream the ack subject names (part of subject)
}

const (
	receiptVersion = "1"
	ackPrefix      = "$JS.ACK."
	maxReceiptLen  = 1024
)

var errBadReceipt = errors.New("malformed receipt")

// A receipt is text, so that settling one needs no decoding buffer and
// its ack subject is a part of it:
//
//	<checksum>.1.<uid>.<root>.<receives>.<first>.<deadline>.$JS.ACK....
//
// with the checksum (8 hex digits, see checksum) and the uid in
// base 36, the root as mainRoot or auxRoot write it, the other numbers in
// decimal (times in unix nanoseconds). The copy's sequence is read from
// the ack subject.

// encode renders the receipt.
func (r receipt) encode() string {
	var buf [160]byte
	b := append(buf[:0], "00000000."...)
	b = append(b, receiptVersion...)
	b = append(b, '.')
	b = strconv.AppendUint(b, r.uid, 36)
	b = append(b, '.')
	b = append(b, r.root...)
	b = append(b, '.')
	b = strconv.AppendInt(b, r.receives, 10)
	b = append(b, '.')
	b = strconv.AppendInt(b, r.firstRecv, 10)
	b = append(b, '.')
	b = strconv.AppendInt(b, r.deadline, 10)
	b = append(b, '.')
	b = append(b, r.subject...)
	sum := uint32(xxhash.Sum64(b[9:]))
	for i := 7; i >= 0; i-- {
		b[i] = hexDigits[sum&15]
		sum >>= 4
	}
	return string(b)
}

// checksum is 32 bits of the xxHash of s: it tells a receipt from garbage
// or a typo (receipts are not secret; anyone who can read the queue can
// settle its messages).
func checksum(s string) uint32 { return uint32(xxhash.Sum64String(s)) }

// decodeReceipt parses a receipt and checks that its ack subject names the
// copy it claims to settle. It does not allocate: the subject is part of s.
func decodeReceipt(s string) (receipt, error) {
	var r receipt
	if len(s) > maxReceiptLen || len(s) < 9 || s[8] != '.' {
		return r, errBadReceipt
	}
	var sum uint32
	for i := 0; i < 8; i++ {
		v, ok := unhex(s[i])
		if !ok || s[i] >= 'a' && s[i] <= 'f' {
			return r, errBadReceipt
		}
		sum = sum<<4 | uint32(v)
	}
	rest := s[9:]
	if checksum(rest) != sum {
		return r, errBadReceipt
	}
	var f [6]string
	for i := range f {
		dot := strings.IndexByte(rest, '.')
		if dot <= 0 {
			return receipt{}, errBadReceipt
		}
		f[i], rest = rest[:dot], rest[dot+1:]
	}
	if f[0] != receiptVersion || !strings.HasPrefix(rest, ackPrefix) {
		return receipt{}, errBadReceipt
	}
	var err [4]error
	r.uid, err[0] = strconv.ParseUint(f[1], 36, 64)
	r.root = f[2]
	r.receives, err[1] = strconv.ParseInt(f[3], 10, 64)
	r.firstRecv, err[2] = strconv.ParseInt(f[4], 10, 64)
	r.deadline, err[3] = strconv.ParseInt(f[5], 10, 64)
	for _, e := range err {
		if e != nil {
			return receipt{}, errBadReceipt
		}
	}
	a, ok := parseAck(rest)
	if !ok || !validRoot(r.root) || r.receives < 1 {
		return receipt{}, errBadReceipt
	}
	r.seq, r.subject, r.stream = a.seq, rest, a.stream
	return r, nil
}

// ackInfo is what a JetStream ack subject says about a delivery.
type ackInfo struct {
	stream    string // part of the subject
	delivered uint64 // how many times the consumer delivered the message
	seq       uint64 // stream sequence
	ts        int64  // when the message was stored, unix nanoseconds
}

// parseAck reads an ack subject without allocating: v1 is
// $JS.ACK.stream.consumer.delivered.sseq.dseq.ts.pending, v2 adds the
// domain and account hash after ACK (and a token at the end).
func parseAck(subject string) (ackInfo, bool) {
	var t [12]string
	n := 0
	start := 0
	for i := 0; i <= len(subject); i++ {
		if i == len(subject) || subject[i] == '.' {
			if n == len(t) {
				return ackInfo{}, false
			}
			t[n] = subject[start:i]
			n++
			start = i + 1
		}
	}
	if n < 9 || t[0] != "$JS" || t[1] != "ACK" {
		return ackInfo{}, false
	}
	off := 2
	switch {
	case n == 9:
	case n >= 11:
		off = 4
	default:
		return ackInfo{}, false
	}
	for _, tok := range t[:n] {
		if tok == "" || tok == "*" || tok == ">" {
			return ackInfo{}, false
		}
	}
	dc, err1 := strconv.ParseUint(t[off+2], 10, 64)
	seq, err2 := strconv.ParseUint(t[off+3], 10, 64)
	ts, err3 := strconv.ParseInt(t[off+5], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || seq == 0 {
		return ackInfo{}, false
	}
	return ackInfo{stream: t[off], delivered: dc, seq: seq, ts: ts}, true
}
