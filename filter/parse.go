package filter

import (
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// parser is a recursive-descent parser over the pattern text; pos is a byte
// offset into src.
type parser struct {
	src     string
	pos     int
	regexps int
	slotIdx map[string]int // space-delimited: slot names seen so far
}

func (ps *parser) errAt(pos int, msg string) error {
	if pos > len(ps.src) {
		pos = len(ps.src)
	}
	return &SyntaxError{Pattern: ps.src, Column: utf8.RuneCountInString(ps.src[:pos]) + 1, Msg: msg}
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func (ps *parser) skipWS() {
	for ps.pos < len(ps.src) && isSpace(ps.src[ps.pos]) {
		ps.pos++
	}
}

func (ps *parser) eof() bool { return ps.pos >= len(ps.src) }

func (ps *parser) peek() byte {
	if ps.pos < len(ps.src) {
		return ps.src[ps.pos]
	}
	return 0
}

func (ps *parser) hasPrefix(s string) bool { return strings.HasPrefix(ps.src[ps.pos:], s) }

func (ps *parser) parse() (*Pattern, error) {
	ps.skipWS()
	if ps.eof() {
		return &Pattern{kind: KindAll}, nil
	}
	switch ps.peek() {
	case '{':
		return ps.parseJSON()
	case '[':
		return ps.parseSpace()
	}
	return ps.parseTerms()
}

// ---- term patterns ----

func (ps *parser) parseTerms() (*Pattern, error) {
	p := &Pattern{kind: KindTerms}
	for {
		ps.skipWS()
		if ps.eof() {
			break
		}
		list := &p.must
		switch ps.peek() {
		case '-':
			list = &p.mustNot
			ps.pos++
			ps.skipWS()
		case '?':
			list = &p.any
			ps.pos++
			ps.skipWS()
		}
		if ps.eof() {
			return nil, ps.errAt(ps.pos, "expected a term after '-' or '?'")
		}
		start := ps.pos
		var t term
		switch c := ps.peek(); {
		case c == '"':
			s, err := ps.quoted()
			if err != nil {
				return nil, err
			}
			t.text = []byte(s)
		case c == '%':
			re, err := ps.regex()
			if err != nil {
				return nil, err
			}
			t.re = re
		case isAlnum(c) || c == '_':
			for ps.pos < len(ps.src) && (isAlnum(ps.src[ps.pos]) || ps.src[ps.pos] == '_') {
				ps.pos++
			}
			t.text = []byte(ps.src[start:ps.pos])
		default:
			return nil, ps.errAt(ps.pos, "a term holding characters other than letters, digits and '_' must be in double quotes")
		}
		if !ps.eof() && !isSpace(ps.peek()) {
			return nil, ps.errAt(ps.pos, "a term holding characters other than letters, digits and '_' must be in double quotes")
		}
		*list = append(*list, t)
	}
	return p, nil
}

// quoted reads a double-quoted string at pos: \" and \\ are escapes, any
// other backslash is literal.
func (ps *parser) quoted() (string, error) {
	start := ps.pos
	ps.pos++ // opening quote
	var b strings.Builder
	for ps.pos < len(ps.src) {
		c := ps.src[ps.pos]
		switch {
		case c == '"':
			ps.pos++
			return b.String(), nil
		case c == '\\' && ps.pos+1 < len(ps.src) && (ps.src[ps.pos+1] == '"' || ps.src[ps.pos+1] == '\\'):
			b.WriteByte(ps.src[ps.pos+1])
			ps.pos += 2
		default:
			b.WriteByte(c)
			ps.pos++
		}
	}
	return "", ps.errAt(start, "unterminated double-quoted string")
}

// regex reads %regex% at pos. CloudWatch Logs allows letters, digits, the
// symbols : _ # = @ / ; , - and space, and the operators ^ $ ? [ ] { } | \ *
// + . ; a backslash escapes the next character. Parentheses and multi-byte
// characters are not supported.
func (ps *parser) regex() (*regexp.Regexp, error) {
	start := ps.pos
	ps.pos++
	for ps.pos < len(ps.src) {
		c := ps.src[ps.pos]
		switch {
		case c == '%':
			expr := ps.src[start+1 : ps.pos]
			ps.pos++
			if expr == "" {
				return nil, ps.errAt(start, "empty regular expression")
			}
			ps.regexps++
			if ps.regexps > MaxRegexps {
				return nil, ps.errAt(start, "a pattern may hold at most 2 regular expressions")
			}
			re, err := regexp.Compile(expr)
			if err != nil {
				return nil, ps.errAt(start+1, "bad regular expression: "+err.Error())
			}
			return re, nil
		case c == '\\':
			if ps.pos+1 >= len(ps.src) || ps.src[ps.pos+1] >= utf8.RuneSelf {
				return nil, ps.errAt(ps.pos, "a backslash in a regular expression must escape an ASCII character")
			}
			ps.pos += 2
		case isAlnum(c) || strings.IndexByte(":_#=@/;,- ^$?[]{}|*+.", c) >= 0:
			ps.pos++
		case c >= utf8.RuneSelf:
			return nil, ps.errAt(ps.pos, "multi-byte characters are not supported in regular expressions")
		default:
			return nil, ps.errAt(ps.pos, "character "+strconv.QuoteRune(rune(c))+" is not supported in regular expressions")
		}
	}
	return nil, ps.errAt(start, "unterminated regular expression (missing closing %)")
}

// ---- JSON patterns ----

func (ps *parser) parseJSON() (*Pattern, error) {
	open := ps.pos
	ps.pos++ // {
	ps.skipWS()
	if ps.peek() == '}' {
		return nil, ps.errAt(ps.pos, "empty JSON pattern")
	}
	n, err := ps.orExpr(ps.jsonCond)
	if err != nil {
		return nil, err
	}
	ps.skipWS()
	if ps.eof() {
		return nil, ps.errAt(open, "missing closing '}'")
	}
	if ps.peek() != '}' {
		return nil, ps.errAt(ps.pos, "expected '&&', '||' or '}'")
	}
	ps.pos++
	ps.skipWS()
	if !ps.eof() {
		return nil, ps.errAt(ps.pos, "unexpected text after '}'")
	}
	return &Pattern{kind: KindJSON, expr: n.optimize()}, nil
}

// orExpr parses and1 || and2 || …, with leaf parsing conditions.
func (ps *parser) orExpr(leaf func() (*node, error)) (*node, error) {
	var kids []*node
	for {
		n, err := ps.andExpr(leaf)
		if err != nil {
			return nil, err
		}
		kids = append(kids, n)
		ps.skipWS()
		if !ps.hasPrefix("||") {
			break
		}
		ps.pos += 2
	}
	if len(kids) == 1 {
		return kids[0], nil
	}
	return &node{op: nOr, kids: kids}, nil
}

func (ps *parser) andExpr(leaf func() (*node, error)) (*node, error) {
	var kids []*node
	for {
		ps.skipWS()
		n, err := leaf()
		if err != nil {
			return nil, err
		}
		kids = append(kids, n)
		ps.skipWS()
		if !ps.hasPrefix("&&") {
			break
		}
		ps.pos += 2
	}
	if len(kids) == 1 {
		return kids[0], nil
	}
	return &node{op: nAnd, kids: kids}, nil
}

func (ps *parser) jsonCond() (*node, error) {
	ps.skipWS()
	if ps.eof() {
		return nil, ps.errAt(ps.pos, "expected a selector ($.name) or '('")
	}
	if ps.peek() == '(' {
		open := ps.pos
		ps.pos++
		n, err := ps.orExpr(ps.jsonCond)
		if err != nil {
			return nil, err
		}
		ps.skipWS()
		if ps.peek() != ')' {
			if ps.eof() {
				return nil, ps.errAt(open, "missing closing ')'")
			}
			return nil, ps.errAt(ps.pos, "expected '&&', '||' or ')'")
		}
		ps.pos++
		return n, nil
	}
	if ps.peek() != '$' {
		return nil, ps.errAt(ps.pos, "expected a selector ($.name) or '('")
	}
	path, err := ps.selector()
	if err != nil {
		return nil, err
	}
	c := &cond{path: path, slot: -1}
	c.ids = compileEventPath(path)
	if err := ps.test(c, true); err != nil {
		return nil, err
	}
	return &node{op: nCond, c: c}, nil
}

// selector reads $.a.b[0][1].c at pos.
func (ps *parser) selector() ([]seg, error) {
	start := ps.pos
	ps.pos++ // $
	var path []seg
	for ps.pos < len(ps.src) {
		switch ps.src[ps.pos] {
		case '.':
			ps.pos++
			ns := ps.pos
			for ps.pos < len(ps.src) && (isAlnum(ps.src[ps.pos]) || ps.src[ps.pos] == '_' || ps.src[ps.pos] == '-') {
				ps.pos++
			}
			if ps.pos == ns {
				return nil, ps.errAt(ps.pos, "expected a property name (letters, digits, '-', '_') after '.'")
			}
			path = append(path, seg{name: ps.src[ns:ps.pos], index: -1})
			continue
		case '[':
			if len(path) == 0 {
				return nil, ps.errAt(ps.pos, "an array index must follow a property ($.name[0])")
			}
			ps.pos++
			ns := ps.pos
			for ps.pos < len(ps.src) && ps.src[ps.pos] >= '0' && ps.src[ps.pos] <= '9' {
				ps.pos++
			}
			if ps.pos == ns || ps.peek() != ']' {
				return nil, ps.errAt(ps.pos, "expected an array index: [digits]")
			}
			idx, err := strconv.Atoi(ps.src[ns:ps.pos])
			if err != nil {
				return nil, ps.errAt(ns, "array index out of range")
			}
			ps.pos++
			path = append(path, seg{index: idx})
			continue
		}
		break
	}
	if len(path) == 0 {
		return nil, ps.errAt(start, "a selector names a property: $.name")
	}
	if !ps.eof() && !isSpace(ps.peek()) && strings.IndexByte("=!<>", ps.peek()) < 0 {
		return nil, ps.errAt(ps.pos, "unexpected character in selector")
	}
	return path, nil
}

// keyword reports whether the upper-case word w is at pos, followed by a
// non-word character, and consumes it if so.
func (ps *parser) keyword(w string) bool {
	if !ps.hasPrefix(w) {
		return false
	}
	end := ps.pos + len(w)
	if end < len(ps.src) && (isAlnum(ps.src[end]) || ps.src[end] == '_') {
		return false
	}
	ps.pos = end
	return true
}

// test reads the operator and value of a condition (after its selector or
// field name). json selects the JSON-only tests (IS NULL, NOT EXISTS, …).
func (ps *parser) test(c *cond, json bool) error {
	ps.skipWS()
	at := ps.pos
	switch {
	case json && ps.keyword("IS"):
		ps.skipWS()
		switch {
		case ps.keyword("NULL"):
			c.test = tIsNull
		case ps.keyword("TRUE"):
			c.test = tIsTrue
		case ps.keyword("FALSE"):
			c.test = tIsFalse
		default:
			return ps.errAt(ps.pos, "expected NULL, TRUE or FALSE after IS")
		}
		return nil
	case json && ps.keyword("NOT"):
		ps.skipWS()
		if !ps.keyword("EXISTS") {
			return ps.errAt(ps.pos, "expected EXISTS after NOT")
		}
		c.test = tNotExists
		return nil
	case ps.hasPrefix("!="):
		c.op, ps.pos = opNe, ps.pos+2
	case ps.hasPrefix("<="):
		c.op, ps.pos = opLe, ps.pos+2
	case ps.hasPrefix(">="):
		c.op, ps.pos = opGe, ps.pos+2
	case ps.hasPrefix("="):
		c.op, ps.pos = opEq, ps.pos+1
	case ps.hasPrefix("<"):
		c.op, ps.pos = opLt, ps.pos+1
	case ps.hasPrefix(">"):
		c.op, ps.pos = opGt, ps.pos+1
	default:
		if json {
			return ps.errAt(at, "expected an operator (=, !=, <, <=, >, >=, IS, NOT EXISTS)")
		}
		return ps.errAt(at, "expected an operator (=, !=, <, <=, >, >=)")
	}
	c.test = tCmp
	ps.skipWS()
	vat := ps.pos
	lit, err := ps.value()
	if err != nil {
		return err
	}
	if c.op >= opLt && !lit.isNum {
		return ps.errAt(vat, "<, <=, > and >= compare with a number")
	}
	c.lit = lit
	return nil
}

// value reads the right-hand side of a comparison: "quoted", %regex% or a
// bare word (letters, digits and . - _ * +).
func (ps *parser) value() (literal, error) {
	var l literal
	if ps.eof() {
		return l, ps.errAt(ps.pos, "expected a value")
	}
	var s string
	switch c := ps.peek(); {
	case c == '"':
		q, err := ps.quoted()
		if err != nil {
			return l, err
		}
		s, l.quoted = q, true
	case c == '%':
		re, err := ps.regex()
		if err != nil {
			return l, err
		}
		l.re = re
		return l, nil
	default:
		start := ps.pos
		for ps.pos < len(ps.src) {
			c := ps.src[ps.pos]
			if isAlnum(c) || strings.IndexByte("._-*+", c) >= 0 {
				ps.pos++
				continue
			}
			break
		}
		if ps.pos == start {
			return l, ps.errAt(ps.pos, "expected a value (quote values with characters other than letters, digits and . - _ * +)")
		}
		if !ps.eof() {
			c := ps.peek()
			if !isSpace(c) && strings.IndexByte(")}],&|", c) < 0 {
				return l, ps.errAt(ps.pos, "quote values with characters other than letters, digits and . - _ * +")
			}
		}
		s = ps.src[start:ps.pos]
		if isNumber(s) {
			f, err := strconv.ParseFloat(s, 64)
			if err == nil {
				l.isNum, l.num = true, f
			}
		}
	}
	l.text = s
	switch {
	case s == "*":
		l.wild, l.text = wAll, ""
	case len(s) >= 2 && s[0] == '*' && s[len(s)-1] == '*':
		l.wild, l.text = wContains, s[1:len(s)-1]
	case len(s) >= 1 && s[0] == '*':
		l.wild, l.text = wSuffix, s[1:]
	case len(s) >= 1 && s[len(s)-1] == '*':
		l.wild, l.text = wPrefix, s[:len(s)-1]
	}
	return l, nil
}

// ---- space-delimited patterns ----

// slot is one field of a space-delimited pattern.
type slot struct {
	name     string
	ellipsis bool
	expr     *node // nil: any value
	selfOnly bool  // expr refers only to this slot's name
}

func (ps *parser) parseSpace() (*Pattern, error) {
	open := ps.pos
	ps.pos++ // [
	p := &Pattern{kind: KindSpace, names: map[string]int{}}
	var pending []*cond
	for {
		ps.skipWS()
		if ps.eof() {
			return nil, ps.errAt(open, "missing closing ']'")
		}
		var s slot
		switch {
		case ps.hasPrefix("..."):
			ps.pos += 3
			s.ellipsis = true
			p.ellipses++
		case ps.peek() == ',' || ps.peek() == ']':
			// an unnamed field
		default:
			idx := len(p.slots)
			var first string
			leaf := func() (*node, error) {
				ps.skipWS()
				ns := ps.pos
				for ps.pos < len(ps.src) && (isAlnum(ps.src[ps.pos]) || ps.src[ps.pos] == '_') {
					ps.pos++
				}
				if ps.pos == ns {
					return nil, ps.errAt(ps.pos, "expected a field name (letters, digits, '_')")
				}
				c := &cond{field: ps.src[ns:ps.pos], slot: -1}
				if first == "" {
					first = c.field
				}
				ps.skipWS()
				if ps.eof() || ps.peek() == ',' || ps.peek() == ']' {
					if c.field != first {
						return nil, ps.errAt(ps.pos, "expected an operator (=, !=, <, <=, >, >=)")
					}
					c.test = tAny
				} else if err := ps.test(c, false); err != nil {
					return nil, err
				}
				pending = append(pending, c)
				return &node{op: nCond, c: c}, nil
			}
			n, err := ps.orExpr(leaf)
			if err != nil {
				return nil, err
			}
			s.name = first
			if n.op != nCond || n.c.test != tAny {
				s.expr = n
			}
			if _, dup := p.names[first]; !dup {
				p.names[first] = idx
			}
		}
		p.slots = append(p.slots, s)
		ps.skipWS()
		if ps.eof() {
			return nil, ps.errAt(open, "missing closing ']'")
		}
		if ps.peek() == ']' {
			ps.pos++
			break
		}
		if ps.peek() != ',' {
			return nil, ps.errAt(ps.pos, "expected ',' or ']'")
		}
		ps.pos++
	}
	ps.skipWS()
	if !ps.eof() {
		return nil, ps.errAt(ps.pos, "unexpected text after ']'")
	}
	for _, c := range pending {
		if i, ok := p.names[c.field]; ok {
			c.slot = i
		}
	}
	for i := range p.slots {
		s := &p.slots[i]
		s.selfOnly = s.expr == nil || refersOnlyTo(s.expr, i)
		if !s.selfOnly {
			p.crossRefs = true
		}
	}
	return p, nil
}

func refersOnlyTo(n *node, slot int) bool {
	if n.op == nCond {
		return n.c.slot == slot
	}
	for _, k := range n.kids {
		if !refersOnlyTo(k, slot) {
			return false
		}
	}
	return true
}
