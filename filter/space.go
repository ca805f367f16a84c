package filter

import "unsafe"

// maxFields bounds the fields of a space-delimited line that matching keeps
// on the stack; longer lines are matched with a heap slice.
const maxFields = 64

// splitFields splits a line into space-delimited fields: runs of white space
// separate fields, and the text between a pair of double quotes or square
// brackets is one field (without the quotes or brackets).
func splitFields(line []byte, dst []string) []string {
	i := 0
	for {
		for i < len(line) && isSpace(line[i]) {
			i++
		}
		if i >= len(line) {
			return dst
		}
		var close byte
		switch line[i] {
		case '"':
			close = '"'
		case '[':
			close = ']'
		}
		if close != 0 {
			start := i + 1
			j := start
			for j < len(line) && line[j] != close {
				j++
			}
			if j < len(line) {
				dst = append(dst, bytesView(line[start:j]))
				i = j + 1
				continue
			}
			// unbalanced: an ordinary field
		}
		start := i
		for i < len(line) && !isSpace(line[i]) {
			i++
		}
		dst = append(dst, bytesView(line[start:i]))
	}
}

// bytesView returns b as a string without copying. The result is valid only
// while b is unchanged; matching uses it only during one call.
func bytesView(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

func (p *Pattern) matchSpace(line []byte) bool {
	var fbuf [maxFields]string
	fields := splitFields(line, fbuf[:0])
	var sbuf [32]int
	slotField := sbuf[:0]
	for range p.slots {
		slotField = append(slotField, -1)
	}
	m := spaceMatcher{p: p, fields: fields, slotField: slotField, memo: !p.crossRefs && p.ellipses > 1}
	return m.match(0, 0)
}

type spaceMatcher struct {
	p         *Pattern
	fields    []string
	slotField []int
	memo      bool            // remember failures (several ellipses, no cross references)
	failed    map[[2]int]bool // (slot, field) pairs known not to lead to a match
	steps     int
}

// maxSteps bounds the backtracking of patterns with several ellipses whose
// conditions refer to other fields.
const maxSteps = 1 << 16

func (m *spaceMatcher) match(si, fi int) bool {
	m.steps++
	if m.steps > maxSteps {
		return false
	}
	slots := m.p.slots
	if si == len(slots) {
		if fi != len(m.fields) {
			return false
		}
		if !m.p.crossRefs {
			return true
		}
		for i := range slots {
			if s := &slots[i]; s.expr != nil && !s.selfOnly && !s.expr.evalFields(m.fields, m.slotField) {
				return false
			}
		}
		return true
	}
	key := [2]int{si, fi}
	if m.failed != nil && m.failed[key] {
		return false
	}
	ok := m.matchSlot(si, fi)
	if !ok && m.memo {
		if m.failed == nil {
			m.failed = map[[2]int]bool{}
		}
		m.failed[key] = true
	}
	return ok
}

func (m *spaceMatcher) matchSlot(si, fi int) bool {
	s := &m.p.slots[si]
	if s.ellipsis {
		for j := fi; j <= len(m.fields); j++ {
			if m.match(si+1, j) {
				return true
			}
		}
		return false
	}
	if fi >= len(m.fields) {
		return false
	}
	m.slotField[si] = fi
	if s.expr != nil && s.selfOnly && !s.expr.evalFields(m.fields, m.slotField) {
		m.slotField[si] = -1
		return false
	}
	if m.match(si+1, fi+1) {
		return true
	}
	m.slotField[si] = -1
	return false
}
