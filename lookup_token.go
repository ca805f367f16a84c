package trail

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"slices"
	"strings"
	"time"
)

// PageCursor is the position of the last event of a page. The next page
// holds the events that come after it in history order (newest first): those
// older than Time, and those of the same second whose EventID sorts before
// EventID.
type PageCursor struct {
	Time    time.Time // whole seconds, UTC
	EventID string

	// Seq, when not zero, is a store-assigned append sequence (the highest
	// one committed when the previous page was read): a store that sets it
	// returns, on later pages, the events appended since with a place
	// before the cursor, so that paging never skips a late append. Zero
	// keeps the plain cursor (and the version 1 token).
	Seq int64
	// LateEnd, LateTime and LateID are the progress through such late
	// events when they fill more than a page: those in sequences
	// (Seq, LateEnd] up to the position (LateTime, LateID) were returned.
	LateEnd  int64
	LateTime time.Time
	LateID   string
}

// After reports whether an event at unix second t with the given ID comes
// after the cursor in history order, that is, belongs to a later page.
func (c PageCursor) After(t int64, eventID string) bool {
	ct := c.Time.Unix()
	return t < ct || t == ct && eventID < c.EventID
}

// PageTokens issues and checks NextTokens for a HistoryStore. A token
// carries the cursor after the last event of a page and a fingerprint of the
// query, authenticated with HMAC-SHA-256 under the store's key: a token that
// was altered, made for another query, or issued by a store with another
// key is refused with ErrInvalidPageToken. Because it names a position (not
// an offset), paging stays consistent while events are appended or pruned.
//
// Stores that serve one history from many processes (a shared database)
// must use the same key in all of them; sqlhistory keeps it in the
// database. A PageTokens is safe for concurrent use.
type PageTokens struct {
	key []byte
}

const (
	tokenVersion  = 1
	tokenVersion2 = 2 // with Seq (and a late-event position)
	tokenMACSize  = 16
	tokenFPSize   = 8
	maxTokenLen   = 1024
	maxTokenIDLen = 256
)

// NewPageTokens returns a token codec keyed with key, or with 32 random bytes
// when key is empty.
func NewPageTokens(key []byte) *PageTokens {
	if len(key) == 0 {
		key = make([]byte, 32)
		_, _ = rand.Read(key) // never fails (crypto/rand documents it)
	}
	return &PageTokens{key: slices.Clone(key)}
}

// Encode returns the NextToken that continues q after the event at last.
func (p *PageTokens) Encode(q *QueryInput, last PageCursor) string {
	id := last.EventID
	if len(id) > maxTokenIDLen {
		id = id[:maxTokenIDLen] // cannot happen for stored events; keeps tokens bounded
	}
	b := make([]byte, 0, 1+8+2+len(id)+tokenFPSize+tokenMACSize)
	if last.Seq == 0 {
		b = append(b, tokenVersion)
	} else {
		b = append(b, tokenVersion2)
	}
	b = binary.BigEndian.AppendUint64(b, uint64(last.Time.Unix()))
	b = binary.AppendUvarint(b, uint64(len(id)))
	b = append(b, id...)
	if last.Seq != 0 {
		b = binary.AppendUvarint(b, uint64(last.Seq))
		b = binary.AppendUvarint(b, uint64(last.LateEnd))
		if last.LateEnd != 0 {
			lid := last.LateID
			if len(lid) > maxTokenIDLen {
				lid = lid[:maxTokenIDLen]
			}
			b = binary.BigEndian.AppendUint64(b, uint64(last.LateTime.Unix()))
			b = binary.AppendUvarint(b, uint64(len(lid)))
			b = append(b, lid...)
		}
	}
	fp := q.fingerprint()
	b = append(b, fp[:tokenFPSize]...)
	b = append(b, p.mac(b)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Decode checks q.NextToken and returns its cursor. ok is false when q has no
// NextToken (the first page). A token that is malformed, altered, issued for
// another query or by another key gives a *LookupError matching
// ErrInvalidPageToken.
func (p *PageTokens) Decode(q *QueryInput) (c PageCursor, ok bool, err error) {
	tok := q.NextToken
	if tok == "" {
		return PageCursor{}, false, nil
	}
	if len(tok) > maxTokenLen {
		return PageCursor{}, false, tokenErr("NextToken too long")
	}
	// One encoding only: the decoder skips '\r' and '\n' even in strict
	// mode, so a token is accepted only if it is exactly what Encode writes
	// for the bytes it decodes to (no line breaks, padding or other
	// alphabet).
	b, derr := base64.RawURLEncoding.Strict().DecodeString(tok)
	if derr == nil && base64.RawURLEncoding.EncodedLen(len(b)) != len(tok) {
		derr = errNonCanonicalToken
	}
	if derr != nil || len(b) < 1+8+1+tokenFPSize+tokenMACSize || (b[0] != tokenVersion && b[0] != tokenVersion2) {
		return PageCursor{}, false, tokenErr("malformed NextToken")
	}
	body, mac := b[:len(b)-tokenMACSize], b[len(b)-tokenMACSize:]
	if !hmac.Equal(mac, p.mac(body)) {
		return PageCursor{}, false, tokenErr("NextToken was not issued by this history")
	}
	sec := int64(binary.BigEndian.Uint64(body[1:9]))
	rest := body[9:]
	n, k := binary.Uvarint(rest)
	if k <= 0 || n > maxTokenIDLen || uint64(len(rest)-k) < n+tokenFPSize {
		return PageCursor{}, false, tokenErr("malformed NextToken")
	}
	c = PageCursor{Time: time.Unix(sec, 0).UTC(), EventID: string(rest[k : k+int(n)])}
	rest = rest[k+int(n):]
	if b[0] == tokenVersion2 {
		var ok bool
		if c, rest, ok = decodeSeq(c, rest); !ok {
			return PageCursor{}, false, tokenErr("malformed NextToken")
		}
	}
	fp := q.fingerprint()
	if len(rest) != tokenFPSize || !hmac.Equal(rest, fp[:tokenFPSize]) {
		return PageCursor{}, false, tokenErr("NextToken belongs to a different query; reuse it only with the parameters it came with")
	}
	return c, true, nil
}

var errNonCanonicalToken = errors.New("non-canonical token encoding")

// decodeSeq reads the version 2 fields (canonical varints only).
func decodeSeq(c PageCursor, rest []byte) (PageCursor, []byte, bool) {
	uv := func() (uint64, bool) {
		v, k := binary.Uvarint(rest)
		if k <= 0 || k != len(binary.AppendUvarint(nil, v)) || v > 1<<62 {
			return 0, false
		}
		rest = rest[k:]
		return v, true
	}
	seq, ok1 := uv()
	end, ok2 := uv()
	if !ok1 || !ok2 || seq == 0 {
		return c, nil, false
	}
	c.Seq, c.LateEnd = int64(seq), int64(end)
	if end != 0 {
		if len(rest) < 8 {
			return c, nil, false
		}
		c.LateTime = time.Unix(int64(binary.BigEndian.Uint64(rest[:8])), 0).UTC()
		rest = rest[8:]
		n, ok := uv()
		if !ok || n > maxTokenIDLen || uint64(len(rest)) < n {
			return c, nil, false
		}
		c.LateID = string(rest[:n])
		rest = rest[n:]
	}
	return c, rest, true
}

func (p *PageTokens) mac(body []byte) []byte {
	h := hmac.New(sha256.New, p.key)
	h.Write(body)
	return h.Sum(nil)[:tokenMACSize]
}

// fingerprint hashes what identifies a query for paging: the normalized time
// bounds (a zero EndTime stays "now"), the filter and the attributes in a
// canonical order. MaxResults and NextToken are left out, so the page size
// may change from page to page.
func (q *QueryInput) fingerprint() [32]byte {
	h := sha256.New()
	var b []byte
	b = append(b, "trail-lookup-v1"...)
	lo, hi := int64(0), int64(0)
	var flags byte
	if !q.StartTime.IsZero() {
		lo, flags = ceilUnix(q.StartTime), flags|1
	}
	if !q.EndTime.IsZero() {
		hi, flags = q.EndTime.Unix(), flags|2
	}
	b = append(b, flags, byte(q.Errors))
	b = binary.BigEndian.AppendUint64(b, uint64(lo))
	b = binary.BigEndian.AppendUint64(b, uint64(hi))
	attrs := slices.Clone(q.LookupAttributes)
	slices.SortFunc(attrs, func(x, y LookupAttribute) int {
		if c := strings.Compare(string(x.Key), string(y.Key)); c != 0 {
			return c
		}
		return strings.Compare(x.Value, y.Value)
	})
	for _, a := range attrs {
		b = binary.AppendUvarint(b, uint64(len(a.Key)))
		b = append(b, a.Key...)
		b = binary.AppendUvarint(b, uint64(len(a.Value)))
		b = append(b, a.Value...)
	}
	h.Write(b)
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// ceilUnix returns t in Unix seconds, rounded up.
func ceilUnix(t time.Time) int64 {
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	return s
}
