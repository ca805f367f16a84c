package jsontext

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"
)

// appendStringRef is AppendString as it was before it skipped words of
// plain ASCII: the byte-at-a-time reference.
func appendStringRef(dst []byte, s string) []byte {
	dst = append(dst, '"')
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
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// FuzzAppendString: AppendString matches its byte-at-a-time reference.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"plain ascii text that is long", "quote\" back\\slash", "ctl\x01\n\t", "é日本\u2028\u2029", "bad\xff\xfe", "<&>/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := AppendString([]byte("x"), s), appendStringRef([]byte("x"), s); !bytes.Equal(got, want) {
			t.Fatalf("AppendString(%q) = %q, want %q", s, got, want)
		}
	})
}

// TestAppendStringOffsets puts each kind of special character at every
// offset around the 8-byte words AppendString skips.
func TestAppendStringOffsets(t *testing.T) {
	for _, special := range []string{"\"", "\\", "\n", "\x01", "\x7f", "é", "\u2028", "\xff", "<"} {
		for pos := range 20 {
			s := strings.Repeat("a", pos) + special + strings.Repeat("b", 17)
			if got, want := AppendString(nil, s), appendStringRef(nil, s); !bytes.Equal(got, want) {
				t.Errorf("AppendString(%q) = %q, want %q", s, got, want)
			}
		}
	}
}
