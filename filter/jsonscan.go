package filter

import (
	"encoding/json"
)

func jsonValid(b []byte) bool { return json.Valid(b) }

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// lookup follows path from the root of the JSON document doc. It never
// panics on malformed input; what it cannot follow is missing.
func lookup(doc []byte, path []seg) value {
	i := skipWS(doc, 0)
	for _, s := range path {
		if i >= len(doc) {
			return missing
		}
		var ok bool
		if s.index < 0 {
			i, ok = findKey(doc, i, s.name)
		} else {
			i, ok = findIndex(doc, i, s.index)
		}
		if !ok {
			return missing
		}
	}
	return classify(doc, i)
}

// findKey returns the start of the value of the first member named name in
// the object at doc[i].
func findKey(doc []byte, i int, name string) (int, bool) {
	if i >= len(doc) || doc[i] != '{' {
		return 0, false
	}
	i++
	for {
		i = skipWS(doc, i)
		if i >= len(doc) || doc[i] != '"' {
			return 0, false
		}
		end, esc, ok := stringEnd(doc, i)
		if !ok {
			return 0, false
		}
		var match bool
		if esc {
			match = unescape(doc[i:end]) == name
		} else {
			match = string(doc[i+1:end-1]) == name
		}
		i = skipWS(doc, end)
		if i >= len(doc) || doc[i] != ':' {
			return 0, false
		}
		i = skipWS(doc, i+1)
		if match {
			return i, true
		}
		if i, ok = skipValue(doc, i); !ok {
			return 0, false
		}
		i = skipWS(doc, i)
		if i >= len(doc) || doc[i] != ',' {
			return 0, false
		}
		i++
	}
}

// findIndex returns the start of element n of the array at doc[i].
func findIndex(doc []byte, i int, n int) (int, bool) {
	if i >= len(doc) || doc[i] != '[' {
		return 0, false
	}
	i = skipWS(doc, i+1)
	if i < len(doc) && doc[i] == ']' {
		return 0, false
	}
	for k := 0; ; k++ {
		if k == n {
			return i, i < len(doc)
		}
		var ok bool
		if i, ok = skipValue(doc, i); !ok {
			return 0, false
		}
		i = skipWS(doc, i)
		if i >= len(doc) || doc[i] != ',' {
			return 0, false
		}
		i = skipWS(doc, i+1)
	}
}

// stringEnd returns the index just past the string starting at doc[i] (a
// '"'), and whether it holds a backslash escape.
func stringEnd(doc []byte, i int) (end int, esc bool, ok bool) {
	for j := i + 1; j < len(doc); j++ {
		switch doc[j] {
		case '\\':
			esc = true
			j++
		case '"':
			return j + 1, esc, true
		}
	}
	return 0, false, false
}

// skipValue returns the index just past the value starting at doc[i].
func skipValue(doc []byte, i int) (int, bool) {
	if i >= len(doc) {
		return 0, false
	}
	switch doc[i] {
	case '"':
		end, _, ok := stringEnd(doc, i)
		return end, ok
	case '{', '[':
		depth := 0
		for j := i; j < len(doc); j++ {
			switch doc[j] {
			case '"':
				end, _, ok := stringEnd(doc, j)
				if !ok {
					return 0, false
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, true
				}
			}
		}
		return 0, false
	}
	j := i
	for j < len(doc) && scalarByte(doc[j]) {
		j++
	}
	if j == i {
		return 0, false
	}
	return j, true
}

func scalarByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-' || c == '+' || c == '.'
}

// classify returns the value starting at doc[i].
func classify(doc []byte, i int) value {
	if i >= len(doc) {
		return missing
	}
	switch c := doc[i]; c {
	case '"':
		end, esc, ok := stringEnd(doc, i)
		if !ok {
			return missing
		}
		if esc {
			return value{k: vStr, s: unescape(doc[i:end])}
		}
		return value{k: vStr, s: bytesView(doc[i+1 : end-1])}
	case '{', '[':
		return value{k: vCompound}
	case 't':
		if isLit(doc, i, "true") {
			return value{k: vBool, b: true}
		}
	case 'f':
		if isLit(doc, i, "false") {
			return value{k: vBool}
		}
	case 'n':
		if isLit(doc, i, "null") {
			return value{k: vNull}
		}
	default:
		end, ok := skipValue(doc, i)
		if ok {
			return value{k: vNum, s: bytesView(doc[i:end])}
		}
	}
	return missing
}

func isLit(doc []byte, i int, lit string) bool {
	return len(doc)-i >= len(lit) && string(doc[i:i+len(lit)]) == lit
}

// unescape decodes a JSON string literal (with its quotes) the way
// encoding/json does.
func unescape(lit []byte) string {
	var s string
	if err := json.Unmarshal(lit, &s); err != nil {
		return string(lit[1 : len(lit)-1])
	}
	return s
}
