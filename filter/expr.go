package filter

import (
	"regexp"
	"strconv"
)

// node is a boolean expression of conditions.
type node struct {
	op   nodeOp
	kids []*node  // nAnd, nOr
	c    *cond    // nCond, nIn (the selector)
	set  []string // nIn
}

// optimize rewrites every || of exact string comparisons on one selector
// ($.eventName = A || $.eventName = B || …, the shape of most CIS patterns)
// into one nIn node that selects once, and flattens nested && and ||.
func (n *node) optimize() *node {
	if n.op == nCond || n.op == nIn {
		return n
	}
	var kids []*node
	for _, k := range n.kids {
		k = k.optimize()
		if k.op == n.op {
			kids = append(kids, k.kids...)
		} else {
			kids = append(kids, k)
		}
	}
	n.kids = kids
	if n.op != nOr {
		return n
	}
	// group the exact comparisons by selector, keeping the first's position
	var out []*node
	groups := map[string]*node{}
	for _, k := range kids {
		if !exactEq(k) {
			out = append(out, k)
			continue
		}
		key := pathKey(k.c)
		if g := groups[key]; g != nil {
			g.set = append(g.set, k.c.lit.text)
			continue
		}
		g := &node{op: nIn, c: k.c, set: []string{k.c.lit.text}}
		groups[key] = g
		out = append(out, g)
	}
	for i, k := range out {
		if k.op == nIn && len(k.set) == 1 {
			out[i] = &node{op: nCond, c: k.c}
		}
	}
	if len(out) == 1 {
		return out[0]
	}
	n.kids = out
	return n
}

func exactEq(n *node) bool {
	if n.op != nCond {
		return false
	}
	c := n.c
	return c.test == tCmp && c.op == opEq && c.lit.re == nil && !c.lit.isNum && c.lit.wild == wExact && c.path != nil
}

func pathKey(c *cond) string {
	var b []byte
	for _, s := range c.path {
		if s.index >= 0 {
			b = append(b, '[')
			b = strconv.AppendInt(b, int64(s.index), 10)
			b = append(b, ']')
			continue
		}
		b = append(b, '.')
		b = append(b, s.name...)
	}
	return string(b)
}

// inSet is the test of an nIn node: the value is a string (or a number
// whose text is) in set.
func inSet(v value, set []string) bool {
	if v.k != vStr && v.k != vNum {
		return false
	}
	for _, s := range set {
		if len(s) == len(v.s) && s == v.s {
			return true
		}
	}
	return false
}

type nodeOp uint8

const (
	nCond nodeOp = iota
	nAnd
	nOr
	nIn // c's selector equals one of set (an || of exact string comparisons)
)

// cond is one condition: a selector (JSON) or a field (space-delimited),
// and a test.
type cond struct {
	test testKind
	op   cmpOp
	lit  literal

	// JSON patterns
	path []seg
	ids  []uint8 // path compiled against trail.Event (see event.go)

	// space-delimited patterns
	field string
	slot  int // index of the slot named field, or -1
}

type testKind uint8

const (
	tCmp testKind = iota
	tIsNull
	tIsTrue
	tIsFalse
	tNotExists
	tAny // a bare field name in a space-delimited slot: always true
)

type cmpOp uint8

const (
	opEq cmpOp = iota
	opNe
	opLt
	opLe
	opGt
	opGe
)

// seg is one step of a JSON selector: a property name, or an array index
// when index >= 0.
type seg struct {
	name  string
	index int
}

// literal is the right-hand side of a comparison.
type literal struct {
	text   string // without the wildcard stars
	wild   wildKind
	isNum  bool // a bare number
	num    float64
	re     *regexp.Regexp
	quoted bool
}

type wildKind uint8

const (
	wExact    wildKind = iota
	wPrefix            // text*
	wSuffix            // *text
	wContains          // *text*
	wAll               // *
)

// vkind is the kind of a selected value.
type vkind uint8

const (
	vMissing vkind = iota
	vNull
	vBool
	vNum
	vStr
	vCompound // object or array
)

// value is what a selector selected. For vNum, s is the number's text; for
// vBool, b is the value.
type value struct {
	k vkind
	b bool
	s string
}

var missing = value{}

func (c *cond) eval(v value) bool {
	switch c.test {
	case tNotExists:
		return v.k == vMissing
	case tIsNull:
		return v.k == vNull
	case tIsTrue:
		return v.k == vBool && v.b
	case tIsFalse:
		return v.k == vBool && !v.b
	case tAny:
		return true
	}
	if v.k != vStr && v.k != vNum {
		return false
	}
	switch c.op {
	case opEq:
		return c.lit.matches(v)
	case opNe:
		return !c.lit.matches(v)
	}
	// numeric comparison
	var x float64
	if v.k == vNum || isNumber(v.s) {
		f, err := strconv.ParseFloat(v.s, 64)
		if err != nil {
			return false
		}
		x = f
	} else {
		return false
	}
	y := c.lit.num
	switch c.op {
	case opLt:
		return x < y
	case opLe:
		return x <= y
	case opGt:
		return x > y
	case opGe:
		return x >= y
	}
	return false
}

// matches is the = test of a string or number value.
func (l *literal) matches(v value) bool {
	if l.re != nil {
		return l.re.MatchString(v.s)
	}
	if l.isNum && (v.k == vNum || isNumber(v.s)) {
		f, err := strconv.ParseFloat(v.s, 64)
		return err == nil && f == l.num
	}
	s := v.s
	switch l.wild {
	case wExact:
		return s == l.text
	case wAll:
		return true
	case wPrefix:
		return len(s) >= len(l.text) && s[:len(l.text)] == l.text
	case wSuffix:
		return len(s) >= len(l.text) && s[len(s)-len(l.text):] == l.text
	case wContains:
		return containsString(s, l.text)
	}
	return false
}

func containsString(s, sub string) bool {
	n := len(sub)
	for i := 0; i+n <= len(s); i++ {
		if s[i:i+n] == sub {
			return true
		}
	}
	return false
}

// isNumber reports whether s is a number as filter patterns write them: an
// optional sign, digits with an optional fraction (or a fraction alone), and
// an optional exponent.
func isNumber(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
		digits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			digits++
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		ed := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			ed++
		}
		if ed == 0 {
			return false
		}
	}
	return i == len(s)
}

func (n *node) evalJSON(doc []byte) bool {
	switch n.op {
	case nAnd:
		for _, k := range n.kids {
			if !k.evalJSON(doc) {
				return false
			}
		}
		return true
	case nOr:
		for _, k := range n.kids {
			if k.evalJSON(doc) {
				return true
			}
		}
		return false
	case nIn:
		return inSet(lookup(doc, n.c.path), n.set)
	}
	return n.c.eval(lookup(doc, n.c.path))
}

func (n *node) evalFields(fields []string, slotField []int) bool {
	switch n.op {
	case nAnd:
		for _, k := range n.kids {
			if !k.evalFields(fields, slotField) {
				return false
			}
		}
		return true
	case nOr:
		for _, k := range n.kids {
			if k.evalFields(fields, slotField) {
				return true
			}
		}
		return false
	}
	c := n.c
	if c.test == tAny {
		return true
	}
	if c.slot < 0 || slotField[c.slot] < 0 {
		return false
	}
	return c.eval(value{k: vStr, s: fields[slotField[c.slot]]})
}

// requiredNames returns, when the expression can only match events whose
// eventName is one of a known set, that set (a necessary condition Metrics
// uses to skip filters with one map lookup per event).
func (n *node) requiredNames() ([]string, bool) {
	switch n.op {
	case nIn:
		if isEventNamePath(n.c.path) {
			return n.set, true
		}
	case nCond:
		if exactEq(n) && isEventNamePath(n.c.path) {
			return []string{n.c.lit.text}, true
		}
	case nAnd:
		for _, k := range n.kids {
			if s, ok := k.requiredNames(); ok {
				return s, true
			}
		}
	case nOr:
		var all []string
		for _, k := range n.kids {
			s, ok := k.requiredNames()
			if !ok {
				return nil, false
			}
			all = append(all, s...)
		}
		return all, true
	}
	return nil, false
}

func isEventNamePath(p []seg) bool { return len(p) == 1 && p[0].index < 0 && p[0].name == "eventName" }
