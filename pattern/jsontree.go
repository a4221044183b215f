package pattern

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// jkind is the type of a node of a parsed pattern.
type jkind uint8

const (
	jObject jkind = iota
	jArray
	jString
	jNumber
	jTrue
	jFalse
	jNull
)

// jval is a parsed pattern node. Objects keep their members in document
// order, duplicates included: the AWS compiler reads patterns as a stream,
// and where a key repeats the last one wins.
type jval struct {
	kind jkind
	s    string // jString: the string; jNumber: the number's text
	arr  []jval
	obj  []jmember
}

type jmember struct {
	key string
	val jval
}

// parseTree parses one JSON document into a jval.
func parseTree(src []byte) (jval, error) {
	dec := json.NewDecoder(bytes.NewReader(src))
	dec.UseNumber()
	v, err := readValue(dec, 0)
	if err != nil {
		return jval{}, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return jval{}, errors.New("data after the JSON value")
	}
	return v, nil
}

// errDepth reports a pattern nested deeper than MaxDepth.
var errDepth = fmt.Errorf("pattern is nested deeper than %d levels", MaxDepth)

func readValue(dec *json.Decoder, depth int) (jval, error) {
	if depth > MaxDepth {
		return jval{}, errDepth
	}
	tok, err := dec.Token()
	if err != nil {
		if err == io.EOF {
			return jval{}, io.ErrUnexpectedEOF
		}
		return jval{}, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			v := jval{kind: jObject}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return jval{}, err
				}
				key, _ := kt.(string)
				m, err := readValue(dec, depth+1)
				if err != nil {
					return jval{}, err
				}
				v.obj = append(v.obj, jmember{key: key, val: m})
			}
			_, err := dec.Token() // '}'
			return v, err
		case '[':
			v := jval{kind: jArray}
			for dec.More() {
				e, err := readValue(dec, depth+1)
				if err != nil {
					return jval{}, err
				}
				v.arr = append(v.arr, e)
			}
			_, err := dec.Token() // ']'
			return v, err
		}
	case string:
		return jval{kind: jString, s: t}, nil
	case json.Number:
		return jval{kind: jNumber, s: string(t)}, nil
	case bool:
		if t {
			return jval{kind: jTrue}, nil
		}
		return jval{kind: jFalse}, nil
	case nil:
		return jval{kind: jNull}, nil
	}
	return jval{}, fmt.Errorf("unexpected token %v", tok)
}

// text renders v as compact JSON, for error messages.
func (v jval) text() string {
	var b strings.Builder
	v.write(&b)
	s := b.String()
	if len(s) > 64 {
		s = s[:61] + "..."
	}
	return s
}

func (v jval) write(b *strings.Builder) {
	switch v.kind {
	case jObject:
		b.WriteByte('{')
		for i, m := range v.obj {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Quote(m.key))
			b.WriteByte(':')
			m.val.write(b)
		}
		b.WriteByte('}')
	case jArray:
		b.WriteByte('[')
		for i, e := range v.arr {
			if i > 0 {
				b.WriteByte(',')
			}
			e.write(b)
		}
		b.WriteByte(']')
	case jString:
		b.WriteString(strconv.Quote(v.s))
	case jNumber:
		b.WriteString(v.s)
	case jTrue:
		b.WriteString("true")
	case jFalse:
		b.WriteString("false")
	case jNull:
		b.WriteString("null")
	}
}

// kindName names a node's JSON type for error messages.
func (v jval) kindName() string {
	switch v.kind {
	case jObject:
		return "an object"
	case jArray:
		return "an array"
	case jString:
		return "a string"
	case jNumber:
		return "a number"
	case jNull:
		return "null"
	}
	return "a boolean"
}
