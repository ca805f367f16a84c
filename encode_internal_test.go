package trail

import (
	"bytes"
	"testing"
)

// compactRef is appendCompact's byte-at-a-time reference.
func compactRef(raw []byte) []byte {
	var dst []byte
	inString, escaped := false, false
	for _, c := range raw {
		if inString {
			dst = append(dst, c)
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		case '"':
			inString = true
		}
		dst = append(dst, c)
	}
	return dst
}

// FuzzAppendCompact: appendCompact, which copies whole strings and runs,
// matches the byte-at-a-time reference on any input, JSON or not.
func FuzzAppendCompact(f *testing.F) {
	for _, s := range []string{`{"a": "b c", "d" : [1, 2]}`, `{"k":"x\" y\\", "z": null}`, "{\n\t\"a\" :\r 1}", `"unterminated \"`, `{}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if got, want := appendCompact([]byte("pre"), raw), append([]byte("pre"), compactRef(raw)...); !bytes.Equal(got, want) {
			t.Fatalf("appendCompact(%q) = %q, want %q", raw, got, want)
		}
	})
}
