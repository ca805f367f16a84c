package sqlhistory

import (
	"encoding/hex"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/trailkit/trail"
)

// escapedValue starts every posting value stored in escaped form.
const escapedValue = "\x01"

// postingValue returns the form in which an attribute value is stored in
// the postings table (a text column): the value itself, or, when PostgreSQL
// text cannot hold it (a NUL byte, invalid UTF-8) or it starts with
// escapedValue, escapedValue followed by the value's bytes in hex. The
// mapping is injective, so lookups find exactly the events that have the
// value, and nothing is lost: the events themselves are stored in blocks
// (binary columns) byte for byte. Appends and lookups use it alike, on
// both dialects.
func postingValue(v string) string {
	if utf8.ValidString(v) && !strings.ContainsRune(v, 0) && !strings.HasPrefix(v, escapedValue) {
		return v
	}
	return escapedValue + hex.EncodeToString([]byte(v))
}

// recordedText returns s as the stored record holds it: the record is JSON
// written by trail's encoder, which replaces every byte that is not part of
// valid UTF-8 with U+FFFD (as the log file does). The head and the postings
// index that text, so that a stored record always matches its head.
func recordedText(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b.WriteString("\uFFFD")
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// recordedQuery returns q with its attribute values as records hold them
// (recordedText), so that a lookup by a value with invalid UTF-8 finds the
// events recorded with it. It returns q itself when nothing changes.
func recordedQuery(q *trail.QueryInput) *trail.QueryInput {
	for i, a := range q.LookupAttributes {
		if utf8.ValidString(a.Value) {
			continue
		}
		c := *q
		c.LookupAttributes = slices.Clone(q.LookupAttributes)
		for j := i; j < len(c.LookupAttributes); j++ {
			c.LookupAttributes[j].Value = recordedText(c.LookupAttributes[j].Value)
		}
		return &c
	}
	return q
}
