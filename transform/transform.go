package transform

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Limits of an InputTransformer, as EventBridge sets them, and of its
// output.
const (
	// MaxVariables bounds the variables of InputPaths.
	MaxVariables = 100
	// MaxNameLen bounds a variable name in bytes.
	MaxNameLen = 256
	// MaxTemplateSize bounds a template in bytes.
	MaxTemplateSize = 8192
	// MaxOutputSize bounds what Apply renders, in bytes: the size of the
	// largest message courier accepts (1 MiB). Targets apply their own,
	// possibly smaller, limits to what they are given.
	MaxOutputSize = 1 << 20
)

// The predefined variables.
const (
	varRuleName      = "aws.events.rule-name"
	varRuleARN       = "aws.events.rule-arn"
	varEvent         = "aws.events.event"
	varEventJSON     = "aws.events.event.json"
	varIngestionTime = "aws.events.event.ingestion-time"
	reservedPrefix   = "aws.events."
)

// InputTransformer is EventBridge's InputTransformer: variables that JSON
// paths pick out of the event, and a template whose <name> placeholders
// they fill. The package documentation describes the rules.
type InputTransformer struct {
	// InputPaths maps variable names to JSON paths (see Path); at most
	// MaxVariables.
	InputPaths map[string]string `json:"input_paths,omitempty"`
	// Template is the text to render, at most MaxTemplateSize bytes; a
	// JSON template when it starts with '{', '[' or '"'.
	Template string `json:"template"`
}

// Context is what the predefined variables expand to.
type Context struct {
	// RuleName is <aws.events.rule-name>.
	RuleName string
	// RuleARN is <aws.events.rule-arn>; empty renders as the empty string.
	RuleARN string
	// IngestionTime is <aws.events.event.ingestion-time>, rendered in UTC
	// as RFC 3339 to the second (2026-01-02T03:04:05Z).
	IngestionTime time.Time
}

// Transformer is a compiled InputTransformer. It is immutable and safe for
// concurrent use.
type Transformer struct {
	json  bool
	segs  []segment
	root  *node // the trie of the paths the template uses; nil if none
	slots int   // the number of distinct paths in the trie
	size  int   // the bytes of template text in segs
}

type segKind uint8

const (
	segText      segKind = iota // template text
	segValue                    // the value of a path: a variable, or the whole event
	segRuleName                 // Context.RuleName
	segRuleARN                  // Context.RuleARN
	segIngestion                // Context.IngestionTime
)

// segment is a piece of the template: text, or a placeholder.
type segment struct {
	kind  segKind
	inStr bool   // the placeholder is inside a string of a JSON template
	slot  int    // segValue: where the scanner records the value
	text  string // segText: the text; otherwise the placeholder's name
	off   int    // the offset of the piece in the template
}

// Compile checks and compiles t. It fails with an *Error that names the
// field at fault: a variable name that is empty, longer than MaxNameLen,
// has characters other than letters, digits, '_', '.' and '-', or starts
// with "aws.events."; a path that does not compile (Err is its *PathError);
// more than MaxVariables variables or a template longer than
// MaxTemplateSize (Err is ErrTooLarge); or a JSON template that is not JSON
// once its placeholders are replaced by null (outside strings) or nothing
// (inside strings), with the offset, line and column of the fault. Names
// are checked in sorted order, so the error is the same on every call.
func Compile(t InputTransformer) (*Transformer, error) {
	if len(t.Template) > MaxTemplateSize {
		return nil, &Error{Field: "template", Reason: fmt.Sprintf("is %d bytes; accepted is at most %d", len(t.Template), MaxTemplateSize), Err: ErrTooLarge}
	}
	if len(t.InputPaths) > MaxVariables {
		return nil, &Error{Field: "input_paths", Reason: fmt.Sprintf("has %d variables; accepted is at most %d", len(t.InputPaths), MaxVariables), Err: ErrTooLarge}
	}
	names := make([]string, 0, len(t.InputPaths))
	for name := range t.InputPaths {
		names = append(names, name)
	}
	slices.Sort(names)
	paths := make(map[string]*Path, len(names))
	for _, name := range names {
		field := fmt.Sprintf("input_paths[%q]", shorten(name, 64))
		if reason := checkName(name); reason != "" {
			return nil, &Error{Field: field, Reason: reason}
		}
		p, err := CompilePath(t.InputPaths[name])
		if err != nil {
			return nil, &Error{Field: field, Reason: err.Error(), Err: err}
		}
		paths[name] = p
	}

	tr := &Transformer{json: isJSONTemplate(t.Template)}
	tr.parse(t.Template, paths)
	if tr.json {
		if err := tr.check(t.Template, paths); err != nil {
			return nil, err
		}
	}

	// The trie of the paths used, one slot per distinct path.
	root := newNode()
	used := false
	for i := range tr.segs {
		sg := &tr.segs[i]
		if sg.kind != segValue {
			continue
		}
		var steps []step
		if p := paths[sg.text]; p != nil {
			steps = p.steps
		}
		n := root.insert(steps)
		if n.slot < 0 {
			n.slot = tr.slots
			tr.slots++
		}
		sg.slot = n.slot
		used = true
	}
	if used {
		root.finish()
		tr.root = root
	}
	return tr, nil
}

// checkName returns why name is not a valid variable name, or "".
func checkName(name string) string {
	const accepted = "accepted are letters, digits, '_', '.' and '-'"
	switch {
	case name == "":
		return fmt.Sprintf("variable name is empty; it must be 1 to %d bytes", MaxNameLen)
	case len(name) > MaxNameLen:
		return fmt.Sprintf("variable name is %d bytes; accepted is 1 to %d", len(name), MaxNameLen)
	}
	for i := 0; i < len(name); i++ {
		if !nameChar(name[i]) {
			return fmt.Sprintf("variable name has %s at offset %d; %s", quoteRune(name[i:]), i, accepted)
		}
	}
	if strings.HasPrefix(name, reservedPrefix) {
		return fmt.Sprintf("variable names starting with %q are reserved for the predefined variables", reservedPrefix)
	}
	return ""
}

func nameChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '-'
}

// isJSONTemplate reports whether a template is JSON: whether it starts,
// after JSON white space, with '{', '[' or '"'.
func isJSONTemplate(tmpl string) bool {
	switch firstByte([]byte(tmpl)) {
	case '{', '[', '"':
		return true
	}
	return false
}

// placeholder returns the name of the placeholder that tmpl[i] ('<')
// starts, and the offset after it, or "" when no name of the right form
// follows.
func placeholder(tmpl string, i int) (string, int) {
	j := i + 1
	for j < len(tmpl) && j-i-1 < MaxNameLen && nameChar(tmpl[j]) {
		j++
	}
	if j == i+1 || j >= len(tmpl) || tmpl[j] != '>' {
		return "", 0
	}
	return tmpl[i+1 : j], j + 1
}

// predefined reports whether name is a predefined variable.
func predefined(name string) bool {
	switch name {
	case varRuleName, varRuleARN, varEvent, varEventJSON, varIngestionTime:
		return true
	}
	return false
}

// parse splits tmpl into text and placeholders. In a JSON template it
// tracks whether each placeholder is inside a string.
func (t *Transformer) parse(tmpl string, paths map[string]*Path) {
	inStr := false
	start := 0
	for i := 0; i < len(tmpl); {
		c := tmpl[i]
		if t.json {
			switch {
			case inStr && c == '\\':
				// An escape: no placeholder starts inside it.
				if i+1 < len(tmpl) && tmpl[i+1] == 'u' {
					i += 6
				} else {
					i += 2
				}
				continue
			case c == '"':
				inStr = !inStr
				i++
				continue
			}
		}
		if c != '<' {
			i++
			continue
		}
		name, next := placeholder(tmpl, i)
		if name == "" || paths[name] == nil && !predefined(name) {
			i++
			continue
		}
		kind := segValue // a variable, or the whole event (the value at "$")
		switch name {
		case varRuleName:
			kind = segRuleName
		case varRuleARN:
			kind = segRuleARN
		case varIngestionTime:
			kind = segIngestion
		}
		if start < i {
			t.segs = append(t.segs, segment{kind: segText, text: tmpl[start:i], off: start})
			t.size += i - start
		}
		t.segs = append(t.segs, segment{kind: kind, inStr: inStr, text: name, off: i})
		i = next
		start = i
	}
	if start < len(tmpl) {
		t.segs = append(t.segs, segment{kind: segText, text: tmpl[start:], off: start})
		t.size += len(tmpl) - start
	}
}

// check returns an error when the JSON template is not JSON once its
// placeholders are replaced by null outside strings and nothing inside.
func (t *Transformer) check(tmpl string, paths map[string]*Path) error {
	var b []byte
	for _, sg := range t.segs {
		switch {
		case sg.kind == segText:
			b = append(b, sg.text...)
		case !sg.inStr:
			b = append(b, "null"...)
		}
	}
	err := valid(b)
	if err == nil {
		return nil
	}
	var se *syntaxError
	if !errors.As(err, &se) {
		return &Error{Field: "template", Reason: err.Error()}
	}
	// Find where in the template se.offset (in b) is: in a placeholder
	// replaced by null, or in the template's text.
	off, reason := len(tmpl), se.msg
	pos := 0 // the offset in b of sg
	for _, sg := range t.segs {
		n := 0
		switch {
		case sg.kind == segText:
			n = len(sg.text)
		case !sg.inStr:
			n = len("null")
		}
		if se.offset >= pos+n {
			pos += n
			continue
		}
		if sg.kind != segText {
			off = sg.off
			reason = fmt.Sprintf("<%s> cannot stand here: outside a string a placeholder is replaced by a whole JSON value", sg.text)
			break
		}
		off = sg.off + se.offset - pos
		if name, _ := placeholder(tmpl, off); tmpl[off] == '<' && name != "" && paths[name] == nil && !predefined(name) {
			reason = fmt.Sprintf("<%s> is neither a variable of input_paths nor a predefined variable", name)
		}
		break
	}
	line := 1 + strings.Count(tmpl[:off], "\n")
	col := off - strings.LastIndexByte(tmpl[:off], '\n')
	return &Error{Field: "template", Reason: fmt.Sprintf("at offset %d (line %d, column %d): %s", off, line, col, reason)}
}

// JSON reports whether the output is JSON (template mode) rather than
// text.
func (t *Transformer) JSON() bool { return t.json }

// Apply renders the template for event (a JSON object), with c for the
// predefined variables. The event is read once, whatever the number of
// variables; the output is a new slice.
//
// Apply fails with an error wrapping ErrInvalidEvent when event is not a
// JSON object (checked in full, as json.Valid does), ErrTooLarge when the
// output would exceed MaxOutputSize, and ErrInvalidOutput when a JSON
// template rendered text that is not JSON (checked like the event; Compile
// rules this out, so it is a safety net). A
// path that finds nothing is not an error: its placeholders render as null
// outside strings and as nothing inside strings and in text templates.
func (t *Transformer) Apply(event []byte, c Context) ([]byte, error) {
	switch b := firstByte(event); b {
	case '{':
	case 0:
		return nil, fmt.Errorf("%w: the event is empty, not a JSON object", ErrInvalidEvent)
	default:
		return nil, fmt.Errorf("%w: the event is not a JSON object: it starts with %s", ErrInvalidEvent, quoteChar(b))
	}
	var buf [8]span // where the values are; on the stack for most templates
	var spans []span
	if t.slots <= len(buf) {
		spans = buf[:t.slots]
	} else {
		spans = make([]span, t.slots)
	}
	s := scanner{data: event, spans: spans}
	if _, err := s.document(t.root); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidEvent, err)
	}

	// Size the output from the values found; compaction and escaping change
	// it little, and append copes with the difference.
	size := t.size
	for i := range t.segs {
		switch sg := &t.segs[i]; sg.kind {
		case segValue:
			sp := spans[sg.slot]
			size += sp.end - sp.start + 4
		case segRuleName:
			size += len(c.RuleName) + 2
		case segRuleARN:
			size += len(c.RuleARN) + 2
		case segIngestion:
			size += len(time.RFC3339) + 2
		}
	}
	out := make([]byte, 0, min(size, MaxOutputSize))
	for i := range t.segs {
		out = t.appendSegment(out, &t.segs[i], event, spans, &c)
		if len(out) > MaxOutputSize {
			return nil, fmt.Errorf("%w: the output exceeds %d bytes", ErrTooLarge, MaxOutputSize)
		}
	}
	if t.json {
		if err := valid(out); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalidOutput, err)
		}
	}
	return out, nil
}

// appendSegment appends the rendering of one segment.
func (t *Transformer) appendSegment(out []byte, sg *segment, event []byte, spans []span, c *Context) []byte {
	switch sg.kind {
	case segText:
		return append(out, sg.text...)
	case segRuleName:
		return t.appendString(out, sg, c.RuleName)
	case segRuleARN:
		return t.appendString(out, sg, c.RuleARN)
	case segIngestion:
		quote := t.json && !sg.inStr
		if quote {
			out = append(out, '"')
		}
		out = c.IngestionTime.UTC().AppendFormat(out, time.RFC3339)
		if quote {
			out = append(out, '"')
		}
		return out
	}
	sp := spans[sg.slot]
	if sp.end == 0 {
		if t.json && !sg.inStr {
			return append(out, "null"...)
		}
		return out
	}
	v := event[sp.start:sp.end]
	switch {
	case v[0] == '"' && !t.json:
		return appendUnquoted(out, v[1:len(v)-1])
	case v[0] == '"' && sg.inStr:
		return append(out, v[1:len(v)-1]...)
	case sg.inStr:
		return appendCompactEscaped(out, v)
	case needsCompact(v):
		return appendCompact(out, v)
	}
	return append(out, v...)
}

// appendString appends a string of the Context.
func (t *Transformer) appendString(out []byte, sg *segment, s string) []byte {
	switch {
	case !t.json:
		return append(out, s...)
	case sg.inStr:
		return appendEscaped(out, s)
	}
	out = append(out, '"')
	out = appendEscaped(out, s)
	return append(out, '"')
}
