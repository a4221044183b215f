package pattern

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Limits checked at compile time.
const (
	// MaxPatternSize bounds the JSON text of a pattern or policy.
	MaxPatternSize = 256 << 10
	// MaxAlternatives bounds the conjunctions a pattern's $or clauses
	// expand to.
	MaxAlternatives = 1024
	// MaxPolicyKeys and MaxPolicyCombinations are SNS's filter policy
	// limits: attribute names (or body leaf paths) and value
	// combinations.
	MaxPolicyKeys         = 5
	MaxPolicyCombinations = 150
)

// Scope is where an SNS filter policy looks.
type Scope int

const (
	// ScopeMessageAttributes matches message attributes (flat policies).
	ScopeMessageAttributes Scope = iota
	// ScopeMessageBody matches the JSON message body (nested policies).
	ScopeMessageBody
)

// Error is a compile error: the path of the offending field in the
// pattern (dotted, "" for the whole pattern) and the reason.
type Error struct {
	Path   string
	Reason string
}

func (e *Error) Error() string {
	if e.Path == "" {
		return e.Reason
	}
	return e.Path + ": " + e.Reason
}

// Pattern is a compiled EventBridge event pattern or SNS filter policy. It
// is immutable and safe for concurrent use.
type Pattern struct {
	src  string
	alts []alternative
	// attrs reports an SNS MessageAttributes policy.
	attrs bool

	once sync.Once
	idx  *index // single-rule index for Match
}

// alternative is one conjunction of the pattern's disjunctive normal
// form: every condition must hold.
type alternative struct{ conds []cond }

// cond tests the values at one key path: it holds if any value passes any
// pred; a cond with an exists:false pred also holds when there is no
// value at the path.
type cond struct {
	path  []string
	preds []pred
}

func (c *cond) negative() bool {
	for i := range c.preds {
		if c.preds[i].kind == predNotExists {
			return true
		}
	}
	return false
}

// String returns the pattern's source.
func (p *Pattern) String() string { return p.src }

// Compile compiles an EventBridge event pattern. Errors are *Error values
// naming the path and the reason.
func Compile(src []byte) (*Pattern, error) {
	return compile(src, dialectEventBridge)
}

// CompileFilterPolicy compiles an SNS filter policy for scope. Beyond the
// operators SNS supports, it enforces SNS's limits: at most 5 keys and 150
// combinations of values (the error says which limit was hit).
func CompileFilterPolicy(src []byte, scope Scope) (*Pattern, error) {
	if scope == ScopeMessageAttributes {
		return compile(src, dialectSNSAttributes)
	}
	return compile(src, dialectSNSBody)
}

type dialect int

const (
	dialectEventBridge dialect = iota
	dialectSNSAttributes
	dialectSNSBody
)

func (d dialect) sns() bool { return d != dialectEventBridge }

func compile(src []byte, d dialect) (*Pattern, error) {
	if len(src) > MaxPatternSize {
		return nil, &Error{Reason: fmt.Sprintf("pattern is %d bytes; the limit is %d", len(src), MaxPatternSize)}
	}
	dec := json.NewDecoder(bytes.NewReader(src))
	dec.UseNumber()
	var root any
	if err := dec.Decode(&root); err != nil {
		return nil, &Error{Reason: "not valid JSON: " + err.Error()}
	}
	if dec.More() {
		return nil, &Error{Reason: "not valid JSON: data after the pattern"}
	}
	obj, ok := root.(map[string]any)
	if !ok {
		return nil, &Error{Reason: "a pattern must be a JSON object"}
	}
	c := compiler{d: d}
	alts, err := c.object(nil, obj, 0)
	if err != nil {
		return nil, err
	}
	if d.sns() {
		if err := checkPolicyLimits(alts); err != nil {
			return nil, err
		}
	}
	return &Pattern{src: string(src), alts: alts, attrs: d == dialectSNSAttributes}, nil
}

type compiler struct{ d dialect }

func pathString(path []string) string { return strings.Join(path, ".") }

func errAt(path []string, format string, args ...any) error {
	return &Error{Path: pathString(path), Reason: fmt.Sprintf(format, args...)}
}

// object compiles a pattern object at path into alternatives.
func (c *compiler) object(path []string, obj map[string]any, depth int) ([]alternative, error) {
	if depth > maxDepth {
		return nil, errAt(path, "nested deeper than %d levels", maxDepth)
	}
	if len(obj) == 0 {
		return nil, errAt(path, "an empty object matches nothing; name at least one field")
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	alts := []alternative{{}}
	for _, k := range keys {
		v := obj[k]
		var next []alternative
		switch {
		case k == "$or":
			branches, ok := v.([]any)
			if !ok || len(branches) < 2 {
				return nil, errAt(append(path, k), "$or takes an array of at least two patterns")
			}
			for i, b := range branches {
				bo, ok := b.(map[string]any)
				if !ok {
					return nil, errAt(append(path, k), "branch %d is not an object", i)
				}
				sub, err := c.object(path, bo, depth+1)
				if err != nil {
					return nil, err
				}
				next = append(next, sub...)
			}
		default:
			child := append(slices.Clip(path), k)
			switch val := v.(type) {
			case map[string]any:
				if c.d == dialectSNSAttributes {
					return nil, errAt(child, "a MessageAttributes policy is flat: an attribute's value must be an array")
				}
				sub, err := c.object(child, val, depth+1)
				if err != nil {
					return nil, err
				}
				next = sub
			case []any:
				preds, err := c.values(child, val)
				if err != nil {
					return nil, err
				}
				next = []alternative{{conds: []cond{{path: child, preds: preds}}}}
			default:
				return nil, errAt(child, "the values to match must be in an array, as in [%s]", jsonText(v))
			}
		}
		if len(alts)*len(next) > MaxAlternatives {
			return nil, errAt(path, "$or clauses expand to more than %d alternatives", MaxAlternatives)
		}
		cross := make([]alternative, 0, len(alts)*len(next))
		for _, a := range alts {
			for _, b := range next {
				cross = append(cross, alternative{conds: append(slices.Clip(a.conds), b.conds...)})
			}
		}
		alts = cross
	}
	return alts, nil
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// values compiles the array of values of one field.
func (c *compiler) values(path []string, vals []any) ([]pred, error) {
	if len(vals) == 0 {
		return nil, errAt(path, "an empty array matches nothing; give at least one value")
	}
	preds := make([]pred, 0, len(vals))
	for _, v := range vals {
		p, err := c.value(path, v)
		if err != nil {
			return nil, err
		}
		preds = append(preds, p)
	}
	return preds, nil
}

func parseNumber(path []string, n json.Number) (float64, error) {
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || math.IsInf(f, 0) {
		return 0, errAt(path, "number %s is out of range", n)
	}
	return f, nil
}

// value compiles one value of a field's array: a literal or an operator.
func (c *compiler) value(path []string, v any) (pred, error) {
	switch x := v.(type) {
	case string:
		return pred{kind: predString, str: x}, nil
	case json.Number:
		f, err := parseNumber(path, x)
		return pred{kind: predNumber, num: f}, err
	case bool:
		if x {
			return pred{kind: predTrue}, nil
		}
		return pred{kind: predFalse}, nil
	case nil:
		return pred{kind: predNull}, nil
	case []any:
		return pred{}, errAt(path, "arrays cannot be nested in a value list")
	case map[string]any:
		if len(x) != 1 {
			return pred{}, errAt(path, "an operator object takes exactly one operator, got %d keys", len(x))
		}
		for op, arg := range x {
			return c.operator(path, op, arg)
		}
	}
	return pred{}, errAt(path, "unsupported value %s", jsonText(v))
}

func (c *compiler) operator(path []string, op string, arg any) (pred, error) {
	switch op {
	case "prefix", "suffix":
		kind, fold := predPrefix, predPrefixFold
		if op == "suffix" {
			kind, fold = predSuffix, predSuffixFold
		}
		switch a := arg.(type) {
		case string:
			return pred{kind: kind, str: a}, nil
		case map[string]any:
			if s, ok := a["equals-ignore-case"].(string); ok && len(a) == 1 {
				return pred{kind: fold, str: s}, nil
			}
		}
		return pred{}, errAt(path, "%s takes a string or {\"equals-ignore-case\": string}", op)
	case "equals-ignore-case":
		s, ok := arg.(string)
		if !ok {
			return pred{}, errAt(path, "equals-ignore-case takes a string")
		}
		return pred{kind: predEqualsFold, str: s}, nil
	case "wildcard":
		if c.d.sns() {
			return pred{}, errAt(path, "SNS filter policies do not support wildcard")
		}
		s, ok := arg.(string)
		if !ok {
			return pred{}, errAt(path, "wildcard takes a string")
		}
		pieces, err := parseWildcard(s)
		if err != nil {
			return pred{}, errAt(path, "wildcard %q: %v", s, err)
		}
		return pred{kind: predWildcard, wild: pieces}, nil
	case "numeric":
		return numeric(path, arg)
	case "exists":
		b, ok := arg.(bool)
		if !ok {
			return pred{}, errAt(path, "exists takes true or false")
		}
		if b {
			return pred{kind: predExists}, nil
		}
		return pred{kind: predNotExists}, nil
	case "cidr":
		s, ok := arg.(string)
		if !ok {
			return pred{}, errAt(path, "cidr takes a string such as \"10.0.0.0/24\"")
		}
		pfx, err := netip.ParsePrefix(s)
		if err != nil {
			return pred{}, errAt(path, "cidr %q is not an IPv4 or IPv6 prefix", s)
		}
		return pred{kind: predCIDR, cidr: pfx.Masked()}, nil
	case "anything-but":
		return c.anythingBut(path, arg)
	}
	return pred{}, errAt(path, "unknown operator %q", op)
}

// numeric compiles ["<", 5], [">=", 0, "<", 10] or ["=", 3].
func numeric(path []string, arg any) (pred, error) {
	a, ok := arg.([]any)
	if !ok || len(a) == 0 || len(a)%2 != 0 || len(a) > 4 {
		return pred{}, errAt(path, "numeric takes one or two operator-number pairs, as in [\">\", 0, \"<=\", 5]")
	}
	p := pred{kind: predNumeric, lo: -infinity, hi: infinity, loIncl: true, hiIncl: true} // open ends include ±Inf
	var haveLo, haveHi bool
	for i := 0; i < len(a); i += 2 {
		op, ok := a[i].(string)
		n, nok := a[i+1].(json.Number)
		if !ok || !nok {
			return pred{}, errAt(path, "numeric takes operator-number pairs, as in [\">\", 0]")
		}
		f, err := parseNumber(path, n)
		if err != nil {
			return pred{}, err
		}
		switch op {
		case "=":
			if len(a) != 2 {
				return pred{}, errAt(path, "numeric \"=\" stands alone")
			}
			return pred{kind: predNumeric, lo: f, hi: f, loIncl: true, hiIncl: true}, nil
		case ">", ">=":
			if haveLo {
				return pred{}, errAt(path, "numeric has two lower bounds")
			}
			haveLo, p.lo, p.loIncl = true, f, op == ">="
		case "<", "<=":
			if haveHi {
				return pred{}, errAt(path, "numeric has two upper bounds")
			}
			haveHi, p.hi, p.hiIncl = true, f, op == "<="
		default:
			return pred{}, errAt(path, "unknown numeric operator %q; use =, <, <=, > or >=", op)
		}
	}
	if haveLo && haveHi && (p.lo > p.hi || p.lo == p.hi && !(p.loIncl && p.hiIncl)) {
		return pred{}, errAt(path, "numeric range needs a lower bound below the upper bound")
	}
	return p, nil
}

// anythingBut compiles anything-but: a value, a list, or one of prefix,
// suffix, wildcard, equals-ignore-case.
func (c *compiler) anythingBut(path []string, arg any) (pred, error) {
	p := pred{kind: predAnythingBut}
	switch a := arg.(type) {
	case string, json.Number:
		in, err := c.value(path, a)
		if err != nil {
			return pred{}, err
		}
		p.inner = []pred{in}
	case []any:
		if len(a) == 0 {
			return pred{}, errAt(path, "anything-but takes a non-empty list")
		}
		kind := ""
		for _, v := range a {
			var k string
			switch v.(type) {
			case string:
				k = "strings"
			case json.Number:
				k = "numbers"
			default:
				return pred{}, errAt(path, "anything-but lists hold strings or numbers, not %s", jsonText(v))
			}
			if kind != "" && k != kind {
				return pred{}, errAt(path, "anything-but lists hold only strings or only numbers")
			}
			kind = k
			in, err := c.value(path, v)
			if err != nil {
				return pred{}, err
			}
			p.inner = append(p.inner, in)
		}
	case map[string]any:
		if len(a) != 1 {
			return pred{}, errAt(path, "anything-but takes one of prefix, suffix, wildcard or equals-ignore-case")
		}
		for op, v := range a {
			switch op {
			case "prefix", "suffix", "wildcard":
				if _, ok := v.(string); !ok {
					return pred{}, errAt(path, "anything-but %s takes a string", op)
				}
				in, err := c.operator(path, op, v)
				if err != nil {
					return pred{}, err
				}
				p.inner = []pred{in}
			case "equals-ignore-case":
				vals := []any{v}
				if list, ok := v.([]any); ok {
					vals = list
				}
				if len(vals) == 0 {
					return pred{}, errAt(path, "anything-but equals-ignore-case takes a string or a non-empty list of strings")
				}
				for _, x := range vals {
					s, ok := x.(string)
					if !ok {
						return pred{}, errAt(path, "anything-but equals-ignore-case takes strings")
					}
					p.inner = append(p.inner, pred{kind: predEqualsFold, str: s})
				}
			default:
				return pred{}, errAt(path, "unknown operator %q inside anything-but", op)
			}
		}
	default:
		return pred{}, errAt(path, "anything-but takes a string, a number, a list or an operator object")
	}
	return p, nil
}

// parseWildcard splits a wildcard pattern at unescaped '*' into literal
// pieces; "\*" is a literal star and "\\" a backslash.
func parseWildcard(s string) ([]string, error) {
	var pieces []string
	var cur strings.Builder
	prevStar := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			if i+1 >= len(s) || s[i+1] != '*' && s[i+1] != '\\' {
				return nil, errors.New(`only "\*" and "\\" may be escaped`)
			}
			i++
			cur.WriteByte(s[i])
			prevStar = false
		case '*':
			if prevStar {
				return nil, errors.New("consecutive '*' are not allowed")
			}
			pieces = append(pieces, cur.String())
			cur.Reset()
			prevStar = true
		default:
			cur.WriteByte(c)
			prevStar = false
		}
	}
	return append(pieces, cur.String()), nil
}

// checkPolicyLimits enforces SNS's limits on a compiled policy.
func checkPolicyLimits(alts []alternative) error {
	keys := map[string]bool{}
	combos := 0
	for _, a := range alts {
		n := 1
		for _, c := range a.conds {
			keys[pathString(c.path)] = true
			n *= len(c.preds)
		}
		combos += n
	}
	if len(keys) > MaxPolicyKeys {
		return &Error{Reason: fmt.Sprintf("filter policy uses %d keys; SNS allows at most %d", len(keys), MaxPolicyKeys)}
	}
	if combos > MaxPolicyCombinations {
		return &Error{Reason: fmt.Sprintf("filter policy has %d combinations of values; SNS allows at most %d", combos, MaxPolicyCombinations)}
	}
	return nil
}
