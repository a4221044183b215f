package redis

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/courier-io/courier/driver"
)

// A message's blob is what the driver stores once per queue: everything a
// consumer sees of the message that the server does not assign. The Lua
// scripts treat it as opaque bytes. Layout (version 1):
//
//	0x01
//	uvarint len, group
//	uvarint len, dedup ID
//	uvarint count, then per header (sorted by name): uvarint len, name, uvarint len, value
//	body (the rest)
const blobVersion = 1

// errBlob reports a stored blob this driver cannot read.
var errBlob = errors.New("malformed message blob")

// blob is a decoded message blob.
type blob struct {
	group, dedup string
	headers      map[string]string
	body         []byte
}

// appendBlob appends the blob of m, with dedup as its dedup ID, to dst.
func appendBlob(dst []byte, m *driver.Message, dedup string) []byte {
	dst = append(dst, blobVersion)
	dst = appendString(dst, m.Group)
	dst = appendString(dst, dedup)
	dst = binary.AppendUvarint(dst, uint64(len(m.Headers)))
	if len(m.Headers) > 0 {
		keys := make([]string, 0, len(m.Headers))
		for k := range m.Headers {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			dst = appendString(dst, k)
			dst = appendString(dst, m.Headers[k])
		}
	}
	return append(dst, m.Body...)
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// decodeBlob decodes a blob; the body aliases b.
func decodeBlob(b []byte) (blob, error) {
	var out blob
	if len(b) == 0 || b[0] != blobVersion {
		return out, errBlob
	}
	b = b[1:]
	var err error
	if out.group, b, err = readString(b); err != nil {
		return out, err
	}
	if out.dedup, b, err = readString(b); err != nil {
		return out, err
	}
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)) { // every header takes at least two bytes
		return out, errBlob
	}
	b = b[k:]
	if n > 0 {
		out.headers = make(map[string]string, n)
		for range n {
			var name, value string
			if name, b, err = readString(b); err != nil {
				return out, err
			}
			if value, b, err = readString(b); err != nil {
				return out, err
			}
			out.headers[name] = value
		}
	}
	out.body = b
	return out, nil
}

func readString(b []byte) (string, []byte, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return "", nil, errBlob
	}
	end := k + int(n)
	return string(b[k:end]), b[end:], nil
}

// meta is what the scripts keep with a message's blob: written when it
// enters a queue as "sent|fseq|tseq|xid|source|topic|group" in front of
// the blob (see parseValue), and by each receive as "receives|first" (with
// "|d" while a nack or an extend delays it) in a field of its own.
type meta struct {
	sent, first int64  // server milliseconds; first is 0 before the first receive
	receives    int    // deliveries so far
	fseq        uint64 // position in a FIFO queue; 0 elsewhere
	tseq        uint64 // position in a FIFO topic, for envelopes
	xid         string // the message's ID when it differs from its key in this queue
	source      string // the queue it was dead-lettered from
	topic       string // set when the body is rendered as an envelope of this topic
	group       string
}

var errMeta = errors.New("malformed message metadata")

// parseMeta decodes a metadata string and a receive state ("" before the
// first receive).
func parseMeta(s, r string) (meta, error) {
	var m meta
	var f [6]string
	for i := range f {
		j := strings.IndexByte(s, '|')
		if j < 0 {
			return m, errMeta
		}
		f[i], s = s[:j], s[j+1:]
	}
	m.group = s
	var err error
	if m.sent, err = strconv.ParseInt(f[0], 10, 64); err != nil {
		return m, errMeta
	}
	if f[1] != "" {
		if m.fseq, err = strconv.ParseUint(f[1], 16, 64); err != nil {
			return m, errMeta
		}
	}
	if f[2] != "" {
		if m.tseq, err = strconv.ParseUint(f[2], 10, 64); err != nil {
			return m, errMeta
		}
	}
	m.xid, m.source, m.topic = f[3], f[4], f[5]
	if r != "" {
		rc, first, ok := strings.Cut(strings.TrimSuffix(r, "|d"), "|")
		if !ok {
			return m, errMeta
		}
		if m.receives, err = strconv.Atoi(rc); err != nil || m.receives < 0 {
			return m, errMeta
		}
		if m.first, err = strconv.ParseInt(first, 10, 64); err != nil {
			return m, errMeta
		}
	}
	return m, nil
}

// parseValue decodes a stored message: metadata, a newline, the blob; r
// is its receive state.
func parseValue(v, r string) (meta, blob, error) {
	head, rest, ok := strings.Cut(v, "\n")
	if !ok {
		return meta{}, blob{}, errMeta
	}
	m, err := parseMeta(head, r)
	if err != nil {
		return m, blob{}, err
	}
	b, err := decodeBlob([]byte(rest))
	return m, b, err
}

// A receipt is "gen.id.receives": the queue incarnation, the message's key
// in it (16 hex digits) and the receive count it was delivered with. The
// scripts reject a receipt whose count is not the message's current one
// (the message was delivered again) or whose incarnation is not the
// queue's.
type receipt struct {
	gen      string
	id       string
	receives int
}

func encodeReceipt(gen, id string, receives int) string {
	return gen + "." + id + "." + strconv.Itoa(receives)
}

// parseReceipt decodes a receipt; a malformed one wraps ErrReceiptInvalid.
func parseReceipt(s string) (receipt, error) {
	bad := fmt.Errorf("receipt %.40q is malformed: %w", s, driver.ErrReceiptInvalid)
	gen, rest, ok := strings.Cut(s, ".")
	if !ok || !isDigits(gen) || len(gen) > 19 {
		return receipt{}, bad
	}
	id, count, ok := strings.Cut(rest, ".")
	if !ok || !isID(id) || !isDigits(count) || len(count) > 9 {
		return receipt{}, bad
	}
	n, _ := strconv.Atoi(count)
	if n < 1 {
		return receipt{}, bad
	}
	return receipt{gen: gen, id: id, receives: n}, nil
}

// isDigits reports whether s is a decimal number without leading zeros.
func isDigits(s string) bool {
	if s == "" || len(s) > 1 && s[0] == '0' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isID reports whether s is a message key: 16 lowercase hex digits.
func isID(s string) bool {
	if len(s) != 16 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// A live message is what publish sends to a topic's Pub/Sub channel for
// its tails: "id|sent|tseq|" then the blob. "!deleted" says the topic was
// deleted.
const liveDeleted = "!deleted"

type live struct {
	id   string
	sent int64
	tseq uint64
	blob []byte
}

// parseLive decodes a live message.
func parseLive(s string) (live, error) {
	var l live
	bad := errors.New("malformed live message")
	id, rest, ok := strings.Cut(s, "|")
	if !ok || !isID(id) {
		return l, bad
	}
	sent, rest, ok := strings.Cut(rest, "|")
	if !ok {
		return l, bad
	}
	tseq, rest, ok := strings.Cut(rest, "|")
	if !ok {
		return l, bad
	}
	var err error
	if l.sent, err = strconv.ParseInt(sent, 10, 64); err != nil {
		return l, bad
	}
	if tseq != "" {
		if l.tseq, err = strconv.ParseUint(tseq, 10, 64); err != nil {
			return l, bad
		}
	}
	l.id, l.blob = id, []byte(rest)
	return l, nil
}
