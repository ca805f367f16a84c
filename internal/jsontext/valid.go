package jsontext

import (
	"encoding/binary"
	"math/bits"
	"unicode/utf8"
)

// QuickDepth is the deepest nesting QuickValid follows; deeper input is
// reported as not valid (the caller then checks it the slow way).
const QuickDepth = 64

// QuickValid reports, in one pass and without allocating, whether b is
// interoperable JSON text: one JSON value with optional surrounding
// whitespace that encoding/json's Valid accepts, valid UTF-8, and no \u
// escape that denotes a lone surrogate. It is conservative: it also
// reports false for valid text nested deeper than QuickDepth, so a false
// result means "not certainly valid" and a caller that must tell why
// checks again with encoding/json. A true result is certain.
func QuickValid(b []byte) bool {
	var (
		stack uint64 // bit d-1 set: the container at depth d is an object
		depth int
		i     int
		ok    bool
		n     = len(b)
	)
value:
	i = skipSpace(b, i)
	if i >= n {
		return false
	}
	switch c := b[i]; c {
	case '{':
		if depth == QuickDepth {
			return false
		}
		stack = stack<<1 | 1
		depth++
		i = skipSpace(b, i+1)
		if i < n && b[i] == '}' {
			i++
			stack >>= 1
			depth--
			goto end
		}
		goto key
	case '[':
		if depth == QuickDepth {
			return false
		}
		stack <<= 1
		depth++
		i = skipSpace(b, i+1)
		if i < n && b[i] == ']' {
			i++
			stack >>= 1
			depth--
			goto end
		}
		goto value
	case '"':
		if i, ok = scanString(b, i+1); !ok {
			return false
		}
		goto end
	case 't':
		if i+4 > n || string(b[i:i+4]) != "true" {
			return false
		}
		i += 4
		goto end
	case 'f':
		if i+5 > n || string(b[i:i+5]) != "false" {
			return false
		}
		i += 5
		goto end
	case 'n':
		if i+4 > n || string(b[i:i+4]) != "null" {
			return false
		}
		i += 4
		goto end
	default:
		if i, ok = scanNumber(b, i); !ok {
			return false
		}
		goto end
	}
key:
	if i >= n || b[i] != '"' {
		return false
	}
	if i, ok = scanString(b, i+1); !ok {
		return false
	}
	i = skipSpace(b, i)
	if i >= n || b[i] != ':' {
		return false
	}
	i++
	goto value
end:
	i = skipSpace(b, i)
	if depth == 0 {
		return i == n
	}
	if i >= n {
		return false
	}
	if stack&1 == 1 {
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
			goto key
		case '}':
			i++
			stack >>= 1
			depth--
			goto end
		}
		return false
	}
	switch b[i] {
	case ',':
		i++
		goto value
	case ']':
		i++
		stack >>= 1
		depth--
		goto end
	}
	return false
}

func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// scanNumber scans a JSON number starting at b[i]:
// -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?
func scanNumber(b []byte, i int) (int, bool) {
	n := len(b)
	if i < n && b[i] == '-' {
		i++
	}
	switch {
	case i < n && b[i] == '0':
		i++
	case i < n && b[i] >= '1' && b[i] <= '9':
		i++
		for i < n && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return i, false
	}
	if i < n && b[i] == '.' {
		i++
		if i >= n || b[i] < '0' || b[i] > '9' {
			return i, false
		}
		for i < n && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	if i < n && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < n && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= n || b[i] < '0' || b[i] > '9' {
			return i, false
		}
		for i < n && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	return i, true
}

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// special marks the bytes of w that are control characters, '"', '\\' or
// not ASCII: the lowest marked byte is exact (the classic has-less-than
// and has-zero-byte tests borrow only upward from a matching byte), so
// bits.TrailingZeros64(special(w))/8 is the index of the first such byte,
// and 0 means there is none.
func special(w uint64) uint64 {
	lt := (w - ones*0x20) & ^w
	q := w ^ (ones * '"')
	bs := w ^ (ones * '\\')
	return (lt | (q-ones)&^q | (bs-ones)&^bs | w) & highs
}

// scanString scans the rest of a JSON string whose opening quote is
// before b[i] and returns the index after its closing quote.
func scanString(b []byte, i int) (int, bool) {
	n := len(b)
	for {
		for i+8 <= n {
			if m := special(binary.LittleEndian.Uint64(b[i:])); m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				break
			}
			i += 8
		}
		if i >= n {
			return i, false
		}
		c := b[i]
		switch {
		case c == '"':
			return i + 1, true
		case c == '\\':
			if i+1 >= n {
				return i, false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > n {
					return i, false
				}
				r := Hex4(b[i+2 : i+6])
				switch {
				case r < 0:
					return i, false
				case r >= 0xd800 && r <= 0xdbff:
					if i+12 > n || b[i+6] != '\\' || b[i+7] != 'u' {
						return i, false
					}
					if lo := Hex4(b[i+8 : i+12]); lo < 0xdc00 || lo > 0xdfff {
						return i, false
					}
					i += 12
				case r >= 0xdc00 && r <= 0xdfff:
					return i, false
				default:
					i += 6
				}
			default:
				return i, false
			}
		case c < 0x20:
			return i, false
		case c < utf8.RuneSelf:
			i++
		default:
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 {
				return i, false
			}
			i += size
		}
	}
}

// Hex4 returns the value of the four hexadecimal digits b[:4] (a \uXXXX
// escape's digits, either case), or -1 if one of them is not a hex digit.
func Hex4(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return -1
		}
	}
	return r
}
