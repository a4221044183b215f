package pattern

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf16"
)

// Limits checked at compile time (and MaxDepth also when matching).
const (
	// MaxPatternSize bounds the JSON text of a pattern or policy, the
	// size SNS allows for a filter policy. EventBridge's quota on pattern
	// length (2,048 characters by default, adjustable to 4,096) is an
	// account setting, for the API that accepts rules to enforce.
	MaxPatternSize = 256 << 10
	// MaxDepth bounds the nesting of patterns and events.
	MaxDepth = 1000
	// MaxOrCombinations bounds an EventBridge pattern's rule
	// combinations: the product of the lengths of its $or arrays.
	MaxOrCombinations = 1000
	// MaxWildcards bounds the '*' characters of one wildcard operand;
	// EventBridge rejects more as too complex to match.
	MaxWildcards = 5
	// MaxPolicyKeys is SNS's limit on the keys of a filter policy: its
	// top-level keys (for a policy with $or, those of each alternative).
	MaxPolicyKeys = 5
	// MaxPolicyCombinations is SNS's limit on a filter policy's
	// combinations: the product over its value arrays of the number of
	// values times the key's nesting depth, summed over $or alternatives.
	MaxPolicyCombinations = 150
	// MaxPolicyNumber bounds the operands of an SNS numeric operator.
	MaxPolicyNumber = 1e9
)

// Scope is where an SNS filter policy looks.
type Scope int

const (
	// ScopeMessageAttributes matches message attributes (flat policies,
	// Pattern.MatchAttributes and Matcher.MatchAllAttributes).
	ScopeMessageAttributes Scope = iota
	// ScopeMessageBody matches the JSON message body (nested policies,
	// Pattern.Match and Matcher.MatchAll).
	ScopeMessageBody
)

// String returns the scope's AWS name.
func (s Scope) String() string {
	if s == ScopeMessageBody {
		return "MessageBody"
	}
	return "MessageAttributes"
}

// dialect is the language a pattern was compiled in.
type dialect uint8

const (
	dialectEventBridge dialect = iota
	dialectSNSAttributes
	dialectSNSBody
)

func (d dialect) sns() bool { return d != dialectEventBridge }

// Pattern is a compiled EventBridge event pattern or SNS filter policy. It
// is immutable and safe for concurrent use.
type Pattern struct {
	src     string
	dialect dialect
	alts    []alternative // the pattern's disjunctive normal form

	once sync.Once
	snap *snapshot // single-rule matcher for Match, built on first use
}

// alternative is one conjunction of the pattern's disjunctive normal form:
// every condition must hold. Conditions are sorted by path, in the order
// the AWS matcher walks them (which matters for exists:false inside
// arrays, see matchSlow).
type alternative struct{ conds []cond }

// cond tests the values at one path: it holds if a value passes one of
// preds, or, when absent is set, if the path has no value.
type cond struct {
	path   string   // dotted path
	segs   []string // path split at '.'
	top    string   // the pattern's top-level key this condition came from
	preds  []pred
	absent bool // exists:false is one of the alternatives
	// strict: SNS presence, where null and "" do not count as values for
	// exists.
	strict bool
	size   int // nesting depth of the field (SNS complexity)
	nvals  int // number of values in the pattern's array (SNS complexity)
}

// String returns the pattern's source text.
func (p *Pattern) String() string { return p.src }

// Compile compiles an EventBridge event pattern. Invalid patterns fail with
// an *Error naming the path and the reason; unknown operators are errors.
func Compile(src []byte) (*Pattern, error) {
	return compile(src, dialectEventBridge)
}

// CompileFilterPolicy compiles an SNS filter policy for scope. Beyond the
// operators SNS supports (no wildcard or exactly, no case-insensitive
// prefix or suffix, anything-but of values or of one prefix), it enforces
// SNS's limits: at most MaxPolicyKeys keys and
// MaxPolicyCombinations combinations; the *Error says which limit was hit
// and wraps ErrTooManyKeys or ErrTooManyCombinations.
func CompileFilterPolicy(src []byte, scope Scope) (*Pattern, error) {
	switch scope {
	case ScopeMessageAttributes:
		return compile(src, dialectSNSAttributes)
	case ScopeMessageBody:
		return compile(src, dialectSNSBody)
	}
	return nil, &Error{Reason: fmt.Sprintf("unknown scope %d", scope)}
}

func compile(src []byte, d dialect) (*Pattern, error) {
	if len(src) > MaxPatternSize {
		return nil, &Error{Reason: fmt.Sprintf("pattern is %d bytes; the limit is %d", len(src), MaxPatternSize), Err: ErrTooComplex}
	}
	root, err := parseTree(src)
	if err != nil {
		e := &Error{Reason: "not valid JSON: " + err.Error()}
		if errors.Is(err, errDepth) {
			e.Reason, e.Err = err.Error(), ErrTooComplex
		}
		return nil, e
	}
	if root.kind != jObject {
		return nil, &Error{Reason: "a pattern must be a JSON object, not " + root.kindName()}
	}
	c := compiler{d: d, or: true}
	if d == dialectEventBridge {
		if n := orProduct(root.obj); n > MaxOrCombinations {
			return nil, &Error{Reason: fmt.Sprintf("$or makes %s rule combinations; the limit is %d", countText(n), MaxOrCombinations), Err: ErrTooComplex}
		}
	}
	alts, err := c.root(root)
	if err != nil && c.sawOr {
		// As in AWS, a "$or" that is not a valid $or (not an array of at
		// least two objects, or an object using an operator name as a
		// field) is read as an ordinary field name.
		c2 := compiler{d: d}
		if alts2, err2 := c2.root(root); err2 == nil {
			alts, err = alts2, nil
		}
	}
	if err != nil {
		return nil, err
	}
	if d.sns() {
		if err := checkPolicyLimits(alts); err != nil {
			return nil, err
		}
	}
	for i := range alts {
		slices.SortFunc(alts[i].conds, func(a, b cond) int { return compareUTF16(a.path, b.path) })
	}
	return &Pattern{src: string(src), dialect: d, alts: alts}, nil
}

func countText(n int) string {
	if n == math.MaxInt {
		return "too many"
	}
	return strconv.Itoa(n)
}

// compareUTF16 orders strings as Java does, by UTF-16 code units.
func compareUTF16(a, b string) int {
	if isASCII(a) && isASCII(b) {
		return strings.Compare(a, b)
	}
	return slices.Compare(utf16.Encode([]rune(a)), utf16.Encode([]rune(b)))
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// orProduct returns the product of the lengths of the $or arrays in
// members, nested ones included (saturating).
func orProduct(members []jmember) int {
	n := 1
	mul := func(k int) {
		if k > 0 && n > math.MaxInt/k {
			n = math.MaxInt
		} else {
			n *= max(k, 1)
		}
	}
	for _, m := range members {
		switch {
		case m.key == "$or" && m.val.kind == jArray:
			mul(len(m.val.arr))
			for _, b := range m.val.arr {
				if b.kind == jObject {
					mul(orProduct(b.obj))
				}
			}
		case m.val.kind == jObject:
			mul(orProduct(m.val.obj))
		}
	}
	return n
}

// reservedInOr are the names AWS reserves inside $or branches: operator
// names, current and planned.
var reservedInOr = map[string]bool{
	"exactly": true, "equals-ignore-case": true, "prefix": true, "suffix": true,
	"anything-but": true, "exists": true, "wildcard": true, "numeric": true, "cidr": true,
	"=": true, "<": true, "<=": true, ">": true, ">=": true,
	"regex": true, "not-wildcard": true, "not-equals-ignore-case": true,
	"date-after": true, "date-on-or-after": true, "date-before": true, "date-on-or-before": true,
	"in-date-range": true, "ip-address-in-range": true, "ip-address-not-in-range": true,
}

type compiler struct {
	d     dialect
	or    bool // read "$or" as the OR operator
	sawOr bool
}

func errAt(path, format string, args ...any) *Error {
	return &Error{Path: path, Reason: fmt.Sprintf(format, args...)}
}

// joinPath extends the dotted path base with key; at the top level
// (depth 1) the path is the key itself, so that an empty top-level key
// stays a path segment of its own.
func joinPath(base, key string, depth int) string {
	if depth == 1 {
		return key
	}
	return base + "." + key
}

func (c *compiler) root(root jval) ([]alternative, error) {
	if len(root.obj) == 0 {
		return nil, errAt("", "an empty pattern matches nothing; name at least one field")
	}
	alts, err := c.object(nil, "", "", root.obj, 1, false)
	if err != nil {
		return nil, err
	}
	return alts, nil
}

// object compiles the members of a pattern object at path base into the
// alternatives built so far (nil stands for one empty alternative), the
// way the AWS compiler does: fields are written into every alternative in
// document order, a repeated path overwrites the earlier one, and $or
// forks every alternative once per branch.
func (c *compiler) object(alts []alternative, base, top string, members []jmember, depth int, inOr bool) ([]alternative, error) {
	if depth > MaxDepth {
		return nil, &Error{Path: base, Reason: fmt.Sprintf("nested deeper than %d levels", MaxDepth), Err: ErrTooComplex}
	}
	for _, m := range members {
		mtop := top
		if depth == 1 {
			mtop = m.key
		}
		if m.key == "$or" {
			c.sawOr = true
		}
		if m.key == "$or" && c.or {
			var err error
			if alts, err = c.or2(alts, base, top, m.val, depth, inOr); err != nil {
				return nil, err
			}
			continue
		}
		path := joinPath(base, m.key, depth)
		if inOr && reservedInOr[m.key] {
			return nil, errAt(path, "%q is an operator name and cannot be a field inside $or", m.key)
		}
		switch m.val.kind {
		case jObject:
			if c.d == dialectSNSAttributes {
				return nil, errAt(path, "a MessageAttributes filter policy is flat: nested objects need the MessageBody scope")
			}
			if len(m.val.obj) == 0 {
				return nil, errAt(path, "an empty object matches nothing; name at least one field")
			}
			var err error
			if alts, err = c.object(alts, path, mtop, m.val.obj, depth+1, inOr); err != nil {
				return nil, err
			}
		case jArray:
			cd, err := c.values(path, m.val.arr)
			if err != nil {
				return nil, err
			}
			cd.path, cd.segs, cd.top, cd.size, cd.nvals = path, strings.Split(path, "."), mtop, depth, len(m.val.arr)
			if len(alts) == 0 {
				alts = []alternative{{}}
			}
			for i := range alts {
				alts[i].write(cd)
			}
		default:
			return nil, errAt(path, "the values to match must be in an array, as in [%s], or an object of fields", m.val.text())
		}
	}
	return alts, nil
}

// write sets the condition at cd.path, replacing an earlier one.
func (a *alternative) write(cd cond) {
	for i := range a.conds {
		if a.conds[i].path == cd.path {
			a.conds[i] = cd
			return
		}
	}
	a.conds = append(a.conds, cd)
}

// or2 applies a $or: every alternative so far is forked once per branch.
func (c *compiler) or2(alts []alternative, base, top string, v jval, depth int, inOr bool) ([]alternative, error) {
	path := joinPath(base, "$or", depth)
	if v.kind != jArray || len(v.arr) < 2 {
		return nil, errAt(path, "$or takes an array of at least two objects")
	}
	if len(alts) == 0 {
		alts = []alternative{{}}
	}
	var out []alternative
	for i, b := range v.arr {
		if b.kind != jObject {
			return nil, errAt(path, "$or branch %d is %s; each branch must be an object", i, b.kindName())
		}
		if len(b.obj) == 0 {
			return nil, errAt(path, "$or branch %d is empty; name at least one field", i)
		}
		fork := make([]alternative, len(alts))
		for j := range alts {
			fork[j].conds = slices.Clone(alts[j].conds)
		}
		fork, err := c.object(fork, base, top, b.obj, depth, true)
		if err != nil {
			return nil, err
		}
		out = append(out, fork...)
		if c.d.sns() && len(out) > MaxPolicyCombinations {
			return nil, &Error{Path: path, Reason: fmt.Sprintf("filter policy has more than %d combinations of values; SNS allows at most %d", MaxPolicyCombinations, MaxPolicyCombinations), Err: ErrTooManyCombinations}
		}
		if len(out) > MaxOrCombinations {
			return nil, &Error{Path: path, Reason: fmt.Sprintf("$or expands to more than %d alternatives", MaxOrCombinations), Err: ErrTooComplex}
		}
	}
	return out, nil
}

// values compiles the array of values of one field.
func (c *compiler) values(path string, vals []jval) (cond, error) {
	if len(vals) == 0 {
		return cond{}, errAt(path, "an empty array matches nothing; give at least one value")
	}
	cd := cond{strict: c.d.sns()}
	for _, v := range vals {
		switch v.kind {
		case jString:
			cd.preds = append(cd.preds, pred{kind: predString, str: v.s})
		case jNumber:
			f, err := strconv.ParseFloat(v.s, 64)
			if err != nil && !math.IsInf(f, 0) {
				return cond{}, errAt(path, "%s is not a number", v.s)
			}
			cd.preds = append(cd.preds, pred{kind: predNumber, num: f})
		case jTrue:
			cd.preds = append(cd.preds, pred{kind: predTrue})
		case jFalse:
			cd.preds = append(cd.preds, pred{kind: predFalse})
		case jNull:
			cd.preds = append(cd.preds, pred{kind: predNull})
		case jArray:
			return cond{}, errAt(path, "a value list holds strings, numbers, true, false, null or operator objects, not arrays")
		case jObject:
			p, absent, err := c.operator(path, v)
			if err != nil {
				return cond{}, err
			}
			if absent {
				cd.absent = true
			} else {
				cd.preds = append(cd.preds, p)
			}
		}
	}
	return cd, nil
}

// operator compiles one operator object such as {"prefix": "a"}. absent
// reports exists:false, which is a condition on the field, not a test of
// its values.
func (c *compiler) operator(path string, v jval) (p pred, absent bool, err error) {
	if len(v.obj) == 0 {
		return pred{}, false, errAt(path, "an operator object needs an operator, as in {\"prefix\": \"a\"}")
	}
	op, arg := v.obj[0].key, v.obj[0].val
	p, absent, err = c.operand(path, op, arg)
	if err != nil {
		return pred{}, false, err
	}
	if len(v.obj) > 1 {
		return pred{}, false, errAt(path, "an operator object takes exactly one operator; %s has %d", v.text(), len(v.obj))
	}
	return p, absent, nil
}

func (c *compiler) operand(path, op string, arg jval) (pred, bool, error) {
	sns := c.d.sns()
	switch op {
	case "prefix", "suffix":
		kind, foldKind := predPrefix, predPrefixFold
		if op == "suffix" {
			kind, foldKind = predSuffix, predSuffixFold
		}
		switch arg.kind {
		case jString:
			return pred{kind: kind, str: arg.s}, false, nil
		case jObject:
			if !sns {
				if len(arg.obj) == 0 {
					return pred{}, false, errAt(path, "%s: an operator object needs an operator", op)
				}
				if arg.obj[0].key != "equals-ignore-case" {
					return pred{}, false, errAt(path, "%s supports only equals-ignore-case inside, not %q", op, arg.obj[0].key)
				}
				if arg.obj[0].val.kind != jString {
					return pred{}, false, errAt(path, "%s equals-ignore-case takes a string, not %s", op, arg.obj[0].val.kindName())
				}
				if len(arg.obj) > 1 {
					return pred{}, false, errAt(path, "%s takes exactly one operator inside", op)
				}
				return pred{kind: foldKind, str: fold(arg.obj[0].val.s)}, false, nil
			}
		}
		if sns {
			return pred{}, false, errAt(path, "%s takes a string, not %s", op, arg.kindName())
		}
		return pred{}, false, errAt(path, "%s takes a string or {\"equals-ignore-case\": string}, not %s", op, arg.kindName())
	case "equals-ignore-case":
		if arg.kind != jString {
			return pred{}, false, errAt(path, "equals-ignore-case takes a string, not %s", arg.kindName())
		}
		return pred{kind: predEqualsFold, str: fold(arg.s)}, false, nil
	case "exactly":
		if sns {
			break
		}
		if arg.kind != jString {
			return pred{}, false, errAt(path, "exactly takes a string, not %s", arg.kindName())
		}
		return pred{kind: predString, str: arg.s}, false, nil
	case "wildcard":
		if sns {
			return pred{}, false, errAt(path, "SNS filter policies do not support wildcard")
		}
		if arg.kind != jString {
			return pred{}, false, errAt(path, "wildcard takes a string, not %s", arg.kindName())
		}
		pieces, err := parseWildcard(path, arg.s)
		if err != nil {
			return pred{}, false, err
		}
		return pred{kind: predWildcard, predExt: &predExt{wild: pieces}}, false, nil
	case "numeric":
		p, err := c.numeric(path, arg)
		return p, false, err
	case "exists":
		switch arg.kind {
		case jTrue:
			if sns {
				return pred{kind: predPresent}, false, nil
			}
			return pred{kind: predExists}, false, nil
		case jFalse:
			return pred{}, true, nil
		}
		return pred{}, false, errAt(path, "exists takes true or false, not %s", arg.kindName())
	case "cidr":
		if arg.kind != jString {
			return pred{}, false, errAt(path, "cidr takes a string such as \"10.0.0.0/24\", not %s", arg.kindName())
		}
		pfx, err := parseCIDR(arg.s)
		if err != nil {
			return pred{}, false, errAt(path, "cidr %q: %s", arg.s, err.Error())
		}
		return pred{kind: predCIDR, predExt: &predExt{cidr: pfx}}, false, nil
	case "anything-but":
		p, err := c.anythingBut(path, arg)
		return p, false, err
	}
	if sns && (op == "exactly") {
		return pred{}, false, errAt(path, "SNS filter policies do not support %s", op)
	}
	return pred{}, false, errAt(path, "unknown operator %q", op)
}

// numeric compiles ["=", n], ["<", n], ["<=", n], [">", n], [">=", n] or
// a range [">" or ">=", lo, "<" or "<=", hi] with lo < hi.
func (c *compiler) numeric(path string, arg jval) (pred, error) {
	if arg.kind != jArray || len(arg.arr) == 0 {
		return pred{}, errAt(path, "numeric takes an array such as [\">\", 0, \"<=\", 5], not %s", arg.text())
	}
	a := arg.arr
	opAt := func(i int) (string, error) {
		if a[i].kind != jString {
			return "", errAt(path, "numeric: expected an operator (=, <, <=, >, >=) at position %d, got %s", i, a[i].text())
		}
		return a[i].s, nil
	}
	numAt := func(i int, op string) (float64, error) {
		if i >= len(a) || a[i].kind != jNumber {
			return 0, errAt(path, "numeric: %q needs a number after it", op)
		}
		return c.threshold(path, a[i].s)
	}
	op, err := opAt(0)
	if err != nil {
		return pred{}, err
	}
	p := pred{kind: predNumeric, predExt: &predExt{lo: -infinity, hi: infinity, loIncl: true, hiIncl: true}}
	switch op {
	case "=", "<", "<=", ">", ">=":
	default:
		return pred{}, errAt(path, "numeric: unknown operator %q; use =, <, <=, > or >=", op)
	}
	f, err := numAt(1, op)
	if err != nil {
		return pred{}, err
	}
	switch op {
	case "=":
		p.lo, p.hi = f, f
	case "<", "<=":
		p.hi, p.hiIncl = f, op == "<="
	case ">", ">=":
		p.lo, p.loIncl = f, op == ">="
	}
	if len(a) == 2 {
		return p, nil
	}
	if op != ">" && op != ">=" {
		return pred{}, errAt(path, "numeric: a range starts with > or >= and ends with < or <=; %q stands alone", op)
	}
	op2, err := opAt(2)
	if err != nil {
		return pred{}, err
	}
	if op2 != "<" && op2 != "<=" {
		return pred{}, errAt(path, "numeric: a range's upper bound takes < or <=, not %q", op2)
	}
	hi, err := numAt(3, op2)
	if err != nil {
		return pred{}, err
	}
	if len(a) > 4 {
		return pred{}, errAt(path, "numeric: too many terms; a range has one lower and one upper bound")
	}
	if !(p.lo < hi) {
		return pred{}, errAt(path, "numeric range needs a lower bound below the upper bound")
	}
	p.hi, p.hiIncl = hi, op2 == "<="
	return p, nil
}

// threshold validates a number used as a numeric or anything-but operand:
// finite, exactly representable when written as an integer, and within
// SNS's range for SNS policies.
func (c *compiler) threshold(path, text string) (float64, error) {
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, errAt(path, "number %s cannot be compared: it is outside the range of a 64-bit float", text)
	}
	if !strings.ContainsAny(text, ".eE") && len(text) > 15 {
		bi, ok := new(big.Int).SetString(text, 10)
		if ok {
			back, _ := new(big.Float).SetFloat64(f).Int(nil)
			if back.Cmp(bi) != 0 {
				return 0, errAt(path, "number %s cannot be compared exactly: it is not representable as a 64-bit float", text)
			}
		}
	}
	if c.d.sns() && (f < -MaxPolicyNumber || f > MaxPolicyNumber) {
		return 0, errAt(path, "number %s is outside the range SNS compares, -1e9 to 1e9", text)
	}
	return f, nil
}

// anythingBut compiles anything-but: a string, a number, a list of
// strings or of numbers, or (prefix | suffix | wildcard |
// equals-ignore-case) of a string or a list of strings; SNS accepts only a
// prefix of a string among the latter.
func (c *compiler) anythingBut(path string, arg jval) (pred, error) {
	p := pred{kind: predAnythingBut, predExt: &predExt{}}
	switch arg.kind {
	case jString:
		p.inner = []pred{{kind: predString, str: arg.s}}
	case jNumber:
		f, err := c.threshold(path, arg.s)
		if err != nil {
			return pred{}, err
		}
		p.inner = []pred{{kind: predNumber, num: f}}
	case jArray:
		var strs, nums int
		for _, e := range arg.arr {
			switch e.kind {
			case jString:
				strs++
				p.inner = append(p.inner, pred{kind: predString, str: e.s})
			case jNumber:
				nums++
				f, err := c.threshold(path, e.s)
				if err != nil {
					return pred{}, err
				}
				p.inner = append(p.inner, pred{kind: predNumber, num: f})
			default:
				return pred{}, errAt(path, "anything-but lists hold strings or numbers, not %s", e.kindName())
			}
		}
		if strs > 0 && nums > 0 || strs+nums == 0 {
			return pred{}, errAt(path, "anything-but lists hold either only strings or only numbers, and at least one")
		}
	case jObject:
		if len(arg.obj) == 0 {
			return pred{}, errAt(path, "anything-but: an operator object needs an operator")
		}
		op, v := arg.obj[0].key, arg.obj[0].val
		allowed := op == "prefix" || !c.d.sns() && (op == "suffix" || op == "wildcard" || op == "equals-ignore-case")
		if !allowed {
			if c.d.sns() && (op == "suffix" || op == "wildcard" || op == "equals-ignore-case") {
				return pred{}, errAt(path, "SNS filter policies do not support %s inside anything-but", op)
			}
			return pred{}, errAt(path, "anything-but supports prefix, suffix, wildcard or equals-ignore-case inside, not %q", op)
		}
		vals := []jval{v}
		if v.kind == jArray {
			if c.d.sns() {
				return pred{}, errAt(path, "anything-but %s takes a string, not an array", op)
			}
			vals = v.arr
			if len(vals) == 0 {
				return pred{}, errAt(path, "anything-but %s takes a string or a non-empty list of strings", op)
			}
		}
		for _, e := range vals {
			if e.kind != jString {
				return pred{}, errAt(path, "anything-but %s takes strings, not %s", op, e.kindName())
			}
			switch op {
			case "prefix", "suffix":
				if e.s == "" {
					return pred{}, errAt(path, "anything-but %s cannot be empty", op)
				}
				k := predPrefix
				if op == "suffix" {
					k = predSuffix
				}
				p.inner = append(p.inner, pred{kind: k, str: e.s})
			case "equals-ignore-case":
				p.inner = append(p.inner, pred{kind: predEqualsFold, str: fold(e.s)})
			case "wildcard":
				pieces, err := parseWildcard(path, e.s)
				if err != nil {
					return pred{}, err
				}
				p.inner = append(p.inner, pred{kind: predWildcard, predExt: &predExt{wild: pieces}})
			}
		}
		if len(arg.obj) > 1 {
			return pred{}, errAt(path, "anything-but takes exactly one operator inside")
		}
	default:
		return pred{}, errAt(path, "anything-but takes a string, a number, a list of either, or an operator object, not %s", arg.kindName())
	}
	return p, nil
}

// parseWildcard splits a wildcard operand at unescaped '*' into literal
// pieces; "\*" is a literal star and "\\" a backslash. Consecutive stars,
// other escapes and more than MaxWildcards stars are errors.
func parseWildcard(path, s string) ([]string, error) {
	var pieces []string
	var cur strings.Builder
	stars := 0
	for i := 0; i < len(s); i++ {
		switch ch := s[i]; ch {
		case '\\':
			if i+1 >= len(s) || s[i+1] != '*' && s[i+1] != '\\' {
				return nil, errAt(path, "wildcard %q: invalid escape at byte %d; only \\* and \\\\ may be escaped", s, i)
			}
			i++
			cur.WriteByte(s[i])
		case '*':
			if i+1 < len(s) && s[i+1] == '*' {
				return nil, errAt(path, "wildcard %q: consecutive '*' at byte %d", s, i)
			}
			stars++
			pieces = append(pieces, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(ch)
		}
	}
	if stars > MaxWildcards {
		return nil, &Error{Path: path, Reason: fmt.Sprintf("wildcard %q is too complex: %d wildcard characters, the limit is %d", s, stars, MaxWildcards), Err: ErrTooComplex}
	}
	return append(pieces, cur.String()), nil
}

// parseCIDR reads "address/bits" the way the AWS matcher does: host bits
// are ignored, an IPv4 mask is below 32 and an IPv6 mask below 128 (match
// a single address with its exact string).
func parseCIDR(s string) (netip.Prefix, error) {
	addrText, bitsText, ok := strings.Cut(s, "/")
	if !ok || strings.Contains(bitsText, "/") || bitsText == "" {
		return netip.Prefix{}, fmt.Errorf("needs exactly one '/'")
	}
	t := strings.TrimPrefix(bitsText, "+")
	bits, err := strconv.Atoi(t)
	if err != nil || t != bitsText && strings.HasPrefix(t, "-") {
		return netip.Prefix{}, fmt.Errorf("mask bits must be an integer")
	}
	if bits < 0 {
		return netip.Prefix{}, fmt.Errorf("mask bits must not be negative")
	}
	addr, ok := parseIP(addrText)
	if !ok {
		return netip.Prefix{}, fmt.Errorf("%q is not an IPv4 or IPv6 address", addrText)
	}
	if addr.Is4() && bits > 31 {
		return netip.Prefix{}, fmt.Errorf("IPv4 mask bits must be < 32")
	}
	if addr.Is6() && bits > 127 {
		return netip.Prefix{}, fmt.Errorf("IPv6 mask bits must be < 128")
	}
	return netip.PrefixFrom(addr, bits).Masked(), nil
}

// checkPolicyLimits enforces SNS's key and combination limits.
func checkPolicyLimits(alts []alternative) error {
	keys := 0
	for _, a := range alts {
		seen := map[string]bool{}
		for _, c := range a.conds {
			seen[c.top] = true
		}
		keys = max(keys, len(seen))
	}
	if keys > MaxPolicyKeys {
		return &Error{Reason: fmt.Sprintf("filter policy uses %d keys; SNS allows at most %d", keys, MaxPolicyKeys), Err: ErrTooManyKeys}
	}
	n := 0
	for _, a := range alts {
		k := 1
		for _, c := range a.conds {
			k = satMul(k, satMul(c.nvals, c.size))
		}
		n = satAdd(n, k)
	}
	if n > MaxPolicyCombinations {
		return &Error{Reason: fmt.Sprintf("filter policy has %s combinations of values; SNS allows at most %d", countText(n), MaxPolicyCombinations), Err: ErrTooManyCombinations}
	}
	return nil
}

func satMul(a, b int) int {
	if a != 0 && b > math.MaxInt/a {
		return math.MaxInt
	}
	return a * b
}

func satAdd(a, b int) int {
	if a > math.MaxInt-b {
		return math.MaxInt
	}
	return a + b
}
