package transform

import (
	"unicode/utf16"
	"unicode/utf8"
)

// The functions here write values into the output. The JSON they are given
// has been checked by the scanner, so they do not check it again.

// appendCompact appends the valid JSON value v without insignificant white
// space, as json.Compact does.
func appendCompact(dst, v []byte) []byte {
	start := 0 // the run of v not yet copied
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case ' ', '\t', '\n', '\r':
			dst = append(dst, v[start:i]...)
			start = i + 1
		case '"':
			i = stringEnd(v, i) - 1
		}
	}
	return append(dst, v[start:]...)
}

// appendCompactEscaped appends the valid JSON value v without insignificant
// white space and escaped to stand inside a JSON string: every '"' and '\\'
// gets a backslash. (Compact JSON has no other byte a string cannot hold.)
func appendCompactEscaped(dst, v []byte) []byte {
	inStr := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '"':
			inStr = !inStr
			dst = append(dst, '\\', '"')
		case c == '\\':
			// Only inside strings: an escape, whose next byte is taken as is
			// (a '"' or '\\' escaped again).
			dst = append(dst, '\\', '\\')
			i++
			if v[i] == '"' || v[i] == '\\' {
				dst = append(dst, '\\')
			}
			dst = append(dst, v[i])
		case !inStr && (c == ' ' || c == '\t' || c == '\n' || c == '\r'):
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// needsCompact reports whether v is an object or array, which may hold
// white space to remove.
func needsCompact(v []byte) bool {
	return len(v) > 0 && (v[0] == '{' || v[0] == '[')
}

// stringEnd returns the index just past the JSON string that starts at
// v[i] (a '"').
func stringEnd(v []byte, i int) int {
	for i++; i < len(v); i++ {
		for i < len(v) && strPlain[v[i]] {
			i++
		}
		if i >= len(v) {
			break
		}
		switch v[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(v)
}

// appendUnquoted appends the text that the content of a valid JSON string
// (between its quotes) stands for, decoded as encoding/json decodes it:
// invalid UTF-8 and unpaired surrogates become U+FFFD.
func appendUnquoted(dst, s []byte) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\':
			i++
			switch s[i] {
			case 'b':
				dst = append(dst, '\b')
			case 'f':
				dst = append(dst, '\f')
			case 'n':
				dst = append(dst, '\n')
			case 'r':
				dst = append(dst, '\r')
			case 't':
				dst = append(dst, '\t')
			case 'u':
				r := hex4(s[i+1:])
				i += 4
				if utf16.IsSurrogate(r) {
					if i+6 < len(s) && s[i+1] == '\\' && s[i+2] == 'u' {
						if d := utf16.DecodeRune(r, hex4(s[i+3:])); d != utf8.RuneError {
							dst = utf8.AppendRune(dst, d)
							i += 7
							continue
						}
					}
					r = utf8.RuneError
				}
				dst = utf8.AppendRune(dst, r)
			default: // '"', '\\', '/'
				dst = append(dst, s[i])
			}
			i++
		case c < utf8.RuneSelf:
			dst = append(dst, c)
			i++
		default:
			r, size := utf8.DecodeRune(s[i:])
			if r == utf8.RuneError && size == 1 {
				dst = utf8.AppendRune(dst, r)
			} else {
				dst = append(dst, s[i:i+size]...)
			}
			i += size
		}
	}
	return dst
}

// hex4 decodes the four hexadecimal digits at the start of s.
func hex4(s []byte) rune {
	var r rune
	for _, c := range s[:4] {
		switch {
		case c <= '9':
			c -= '0'
		case c <= 'F':
			c -= 'A' - 10
		default:
			c -= 'a' - 10
		}
		r = r<<4 | rune(c)
	}
	return r
}

const hexDigits = "0123456789abcdef"

// appendEscaped appends s escaped to stand inside a JSON string, as
// encoding/json escapes strings (without its HTML escaping): invalid UTF-8
// becomes \ufffd.
func appendEscaped(dst []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	return append(dst, s[start:]...)
}
