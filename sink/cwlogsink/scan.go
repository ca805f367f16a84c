package cwlogsink

import (
	"bytes"
	"time"
)

// eventTime returns the top-level "eventTime" of a compact or indented JSON
// record, parsed as CloudTrail's time format (RFC 3339, UTC). It walks the
// top-level object and skips nested values, so a key "eventTime" inside
// requestParameters never matches. ok is false when the record has no
// parseable top-level eventTime.
func eventTime(rec []byte) (t time.Time, ok bool) {
	i := skipWS(rec, 0)
	if i >= len(rec) || rec[i] != '{' {
		return time.Time{}, false
	}
	i++
	for {
		i = skipWS(rec, i)
		if i >= len(rec) || rec[i] != '"' {
			return time.Time{}, false
		}
		keyStart := i + 1
		end := skipString(rec, i)
		if end < 0 {
			return time.Time{}, false
		}
		key := rec[keyStart : end-1]
		i = skipWS(rec, end)
		if i >= len(rec) || rec[i] != ':' {
			return time.Time{}, false
		}
		i = skipWS(rec, i+1)
		if bytes.Equal(key, []byte("eventTime")) {
			if i >= len(rec) || rec[i] != '"' {
				return time.Time{}, false
			}
			vend := skipString(rec, i)
			if vend < 0 {
				return time.Time{}, false
			}
			t, err := time.Parse(time.RFC3339, string(rec[i+1:vend-1]))
			return t, err == nil
		}
		i = skipValue(rec, i)
		if i < 0 {
			return time.Time{}, false
		}
		i = skipWS(rec, i)
		if i >= len(rec) || rec[i] != ',' {
			return time.Time{}, false
		}
		i++
	}
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i] == '"', or
// -1 if it is unterminated.
func skipString(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}

// skipValue returns the index after the JSON value starting at b[i], or -1.
// Nested objects and arrays are skipped by counting brackets outside
// strings; the record is assumed to be valid JSON.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				k := skipString(b, j)
				if k < 0 {
					return -1
				}
				j = k - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	default: // number, true, false, null
		j := i
		for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\n' && b[j] != '\r' && b[j] != '\t' {
			j++
		}
		if j == i {
			return -1
		}
		return j
	}
}
