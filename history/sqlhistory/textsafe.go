package sqlhistory

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/trailkit/trail"
)

// escapedValue starts every posting value stored in escaped form, and
// hashedValue every one stored in bounded form.
const (
	escapedValue = "\x01"
	hashedValue  = "\x02"
)

// maxPostingValue is the longest stored form of a posting value, in bytes:
// PostgreSQL refuses a B-tree index row over about 2.7 KB (a third of a
// page), and a posting row is the value plus 26 bytes of key and headers.
const maxPostingValue = 2048

// postingValue returns the form in which an attribute value is stored in
// the postings table (a text column):
//
//   - the value itself, when PostgreSQL text can hold it and it does not
//     start with escapedValue or hashedValue;
//   - else escapedValue followed by the value's bytes in hex (a NUL byte,
//     invalid UTF-8, or one of the two markers first);
//   - and when that form is longer than maxPostingValue, hashedValue, the
//     hex SHA-256 of the value, ":" and the start of that form (cut at a
//     character boundary), maxPostingValue bytes at most.
//
// The mapping is injective (up to SHA-256 collisions), so a posting finds
// only the blocks that hold the value; Lookup then compares the full value
// in each block's head, so that it returns exactly the events that have
// it. Nothing is lost: the events themselves are stored in blocks (binary
// columns) byte for byte. Appends, lookups and prunes use it alike, on
// both dialects.
func postingValue(v string) string {
	f := v
	if !utf8.ValidString(v) || strings.ContainsRune(v, 0) || strings.HasPrefix(v, escapedValue) || strings.HasPrefix(v, hashedValue) {
		f = escapedValue + hex.EncodeToString([]byte(v))
	}
	if len(f) <= maxPostingValue {
		return f
	}
	sum := sha256.Sum256([]byte(v))
	head := hashedValue + hex.EncodeToString(sum[:]) + ":"
	cut := maxPostingValue - len(head)
	for cut > 0 && !utf8.RuneStart(f[cut]) {
		cut--
	}
	return head + f[:cut]
}

// postingValueV2 is the stored form of schema version 2 (no bound, no
// hashedValue marker); migration 3 rewrites the postings it differs in.
func postingValueV2(v string) string {
	if utf8.ValidString(v) && !strings.ContainsRune(v, 0) && !strings.HasPrefix(v, escapedValue) {
		return v
	}
	return escapedValue + hex.EncodeToString([]byte(v))
}

// valueOfV2 returns the value whose version 2 stored form is f (false when
// f is no such form).
func valueOfV2(f string) (string, bool) {
	v := f
	if strings.HasPrefix(f, escapedValue) {
		b, err := hex.DecodeString(f[len(escapedValue):])
		if err != nil {
			return "", false
		}
		v = string(b)
	}
	return v, postingValueV2(v) == f
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
