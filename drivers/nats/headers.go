package nats

import (
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// Headers the driver sets on JetStream messages. User headers travel
// beside them (see putUserHeaders).
const (
	hID        = "Courier-Id"             // message ID, on every copy but the first
	hRoot      = "Courier-Root"           // sequence of the message's first copy in this stream
	hReceives  = "Courier-Receives"       // deliveries before this copy
	hFirstRecv = "Courier-First-Received" // first delivery, unix nanoseconds
	hSent      = "Courier-Sent"           // when the message was first stored, unix nanoseconds
	hVisibleAt = "Courier-Visible-At"     // a delayed copy's due time, unix nanoseconds
	hGroup     = "Courier-Group"
	hDedup     = "Courier-Dedup"
	hSource    = "Courier-Source" // queue a dead-lettered message came from
	hKey       = "Courier-Key"    // a stream record's key, base64
	hEscaped   = "Courier-H-"     // prefix of an escaped user header
	hMsgID     = "Nats-Msg-Id"    // JetStream's dedup ID
)

// putUserHeaders adds a courier message's headers to h. A header whose
// name and value NATS carries unchanged keeps its name, so other NATS
// clients read it as is; others (names with characters NATS forbids,
// names starting with "Courier-" or "Nats-", values with control
// characters or surrounding blanks, which NATS would trim) travel as
// "Courier-H-<escaped name>: <escaped value>", percent-escaped.
func putUserHeaders(h nats.Header, user map[string]string) {
	for k, v := range user {
		if plainKey(k) && plainValue(v) {
			h[k] = []string{v}
			continue
		}
		h[hEscaped+escape(k, keyByte)] = []string{escape(v, valueByte)}
	}
}

// userHeaders extracts the courier headers of a message: escaped ones
// decoded, the driver's own and JetStream's left out. It returns nil when
// there are none.
func userHeaders(h nats.Header) map[string]string {
	var out map[string]string
	for k, vs := range h {
		if len(vs) == 0 {
			continue
		}
		var name, value string
		switch {
		case strings.HasPrefix(k, hEscaped):
			n, ok1 := unescape(k[len(hEscaped):])
			v, ok2 := unescape(vs[0])
			if !ok1 || !ok2 || n == "" {
				continue // not written by this driver; drop rather than guess
			}
			name, value = n, v
		case reserved(k):
			continue
		default:
			name, value = k, vs[0]
		}
		if out == nil {
			out = make(map[string]string, len(h))
		}
		out[name] = value
	}
	return out
}

// reserved reports whether a header name belongs to the driver or to
// JetStream ("Courier-..." and "Nats-...", in any case).
func reserved(k string) bool {
	return hasPrefixFold(k, "courier-") || hasPrefixFold(k, "nats-")
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// keyByte reports whether c may appear unescaped in a header name: NATS
// accepts printable ASCII except "()/,:;<=>?@[\]{}; '%' starts an escape.
func keyByte(c byte) bool {
	if c < 0x21 || c > 0x7e {
		return false
	}
	return !strings.ContainsRune("\"()/,:;<=>?@[\\]{}%", rune(c))
}

// valueByte reports whether c may appear unescaped in an escaped value.
func valueByte(c byte) bool { return c > 0x20 && c != 0x7f && c != '%' }

// plainKey reports whether k can be a NATS header name as it is.
func plainKey(k string) bool {
	if k == "" || reserved(k) {
		return false
	}
	for i := 0; i < len(k); i++ {
		if !keyByte(k[i]) && k[i] != '%' {
			return false
		}
	}
	return true
}

// plainValue reports whether NATS carries v unchanged: no control
// characters (CR and LF would be replaced) and no blanks at either end
// (which are trimmed).
func plainValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	if v != "" && (isBlank(v[0]) || isBlank(v[len(v)-1])) {
		return false
	}
	return true
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' }

const hexDigits = "0123456789ABCDEF"

// escape percent-escapes every byte of s for which keep is false.
func escape(s string, keep func(byte) bool) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if !keep(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if keep(c) {
			b = append(b, c)
			continue
		}
		b = append(b, '%', hexDigits[c>>4], hexDigits[c&15])
	}
	return string(b)
}

// unescape decodes %XX escapes; it reports false for a malformed one.
func unescape(s string) (string, bool) {
	if !strings.Contains(s, "%") {
		return s, true
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b = append(b, s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", false
		}
		hi, ok1 := unhex(s[i+1])
		lo, ok2 := unhex(s[i+2])
		if !ok1 || !ok2 {
			return "", false
		}
		b = append(b, hi<<4|lo)
		i += 2
	}
	return string(b), true
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// headerInt reads a decimal header; 0 when absent or malformed.
func headerInt(h nats.Header, k string) int64 {
	v := h.Get(k)
	if v == "" {
		return 0
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// headerTime reads a unix-nanosecond header; the zero time when absent.
func headerTime(h nats.Header, k string) time.Time {
	if n := headerInt(h, k); n > 0 {
		return time.Unix(0, n)
	}
	return time.Time{}
}

func setInt(h nats.Header, k string, n int64) { h[k] = []string{strconv.FormatInt(n, 10)} }
