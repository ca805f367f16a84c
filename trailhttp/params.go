package trailhttp

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/trailkit/trail/internal/jsontext"
)

// Values of "bodyOmitted" in requestParameters.
const (
	omitTooLarge   = "TooLarge"
	omitInvalid    = "InvalidJSON"
	omitUnreadable = "Unreadable"
)

// isJSON reports whether a Content-Type is application/json or ends in +json
// (parameters such as charset ignored).
func isJSON(ct string) bool {
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	ct = strings.TrimSpace(ct)
	return strings.EqualFold(ct, "application/json") ||
		len(ct) > 5 && strings.EqualFold(ct[len(ct)-5:], "+json") && strings.Contains(ct, "/")
}

// teeReader keeps every byte read from r.
type teeReader struct {
	r   io.Reader
	buf []byte
}

func (t *teeReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	t.buf = append(t.buf, p[:n]...)
	return n, err
}

// Close does nothing: the original body stays open for the handler.
func (t *teeReader) Close() error { return nil }

// replayBody gives the handler the bytes the middleware read, then the rest
// of the original body (or the error that ended reading it).
type replayBody struct {
	io.Reader
	orig io.ReadCloser
}

func (b *replayBody) Close() error { return b.orig.Close() }

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// readBody reads a JSON request body of at most limit bytes through
// http.MaxBytesReader. It returns the body (nil if not read or too large),
// why a body was not recorded (empty if it was, or if there is none), and
// the body to hand to the handler, which yields exactly the bytes of the
// original. MaxBytesReader reads one byte past the limit to detect a larger
// body and does not return it, so the bytes are kept by a tee underneath it.
func readBody(r *http.Request, limit int64) (body []byte, omitted string, replay io.ReadCloser) {
	if limit < 0 || r.Body == nil || r.Body == http.NoBody || !isJSON(r.Header.Get("Content-Type")) {
		return nil, "", nil
	}
	if r.ContentLength > limit {
		return nil, omitTooLarge, nil
	}
	tee := &teeReader{r: r.Body}
	if r.ContentLength > 0 {
		tee.buf = make([]byte, 0, r.ContentLength+1)
	}
	_, err := io.Copy(io.Discard, http.MaxBytesReader(nil, tee, limit))
	var mbe *http.MaxBytesError
	switch {
	case err == nil:
		return tee.buf, "", &replayBody{Reader: bytes.NewReader(tee.buf), orig: r.Body}
	case errors.As(err, &mbe):
		return nil, omitTooLarge, &replayBody{Reader: io.MultiReader(bytes.NewReader(tee.buf), r.Body), orig: r.Body}
	default:
		return nil, omitUnreadable, &replayBody{Reader: io.MultiReader(bytes.NewReader(tee.buf), errReader{err}), orig: r.Body}
	}
}

// buildParams encodes requestParameters: {"path":{…},"query":{…},"body":…,
// "bodyOmitted":"…"}, each member only when it has content. It returns nil
// when there is nothing to record or the result would exceed CloudTrail's
// 100 KB.
//
// A part that would not fit (path, query, headers, body) is left out and
// marked: "pathOmitted", "queryOmitted", "headersOmitted" or "bodyOmitted"
// set to "TooLarge".
func buildParams(r *http.Request, body []byte, omitted string, headers []string, redact func(string) bool) json.RawMessage {
	var b []byte
	member := func(name string) {
		if len(b) == 0 {
			b = append(b, '{')
		} else {
			b = append(b, ',')
		}
		b = jsontext.AppendString(b, name)
		b = append(b, ':')
	}
	var marks []string // members left out for size
	fits := func(mark int, name string) {
		if len(b) > maxParams-256 {
			b = b[:mark]
			marks = append(marks, name)
		}
	}
	// entry appends the key k of the next entry of the object name, and
	// the object itself (as member name) before its first entry; *n counts
	// the entries. It reports whether k's value is to be redacted.
	entry := func(name string, n *int, k string) (hidden bool) {
		if *n == 0 {
			member(name)
			b = append(b, '{')
		} else {
			b = append(b, ',')
		}
		*n++
		b = jsontext.AppendString(b, k)
		b = append(b, ':')
		return redact(k)
	}
	// end closes an object of n entries begun at mark (nothing when n is
	// 0); one that does not fit is left out and marked omittedMark.
	end := func(mark, n int, omittedMark string) {
		if n > 0 {
			b = append(b, '}')
			fits(mark, omittedMark)
		}
	}
	if names := wildcards(r.Pattern); len(names) > 0 {
		mark, n := len(b), 0
		for _, name := range names {
			v := r.PathValue(name)
			if entry("path", &n, name) {
				v = Hidden
			}
			b = jsontext.AppendString(b, v)
		}
		end(mark, n, "pathOmitted")
	}
	if r.URL != nil && r.URL.RawQuery != "" {
		if q := r.URL.Query(); len(q) > 0 {
			keys := make([]string, 0, len(q))
			for k := range q {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			mark, n := len(b), 0
			for _, k := range keys {
				vs := q[k]
				if entry("query", &n, k) {
					vs = []string{Hidden}
				}
				b = appendStrings(b, vs)
			}
			end(mark, n, "queryOmitted")
		}
	}
	if len(headers) > 0 {
		mark, n := len(b), 0
		for _, name := range headers {
			vs := r.Header.Values(name)
			if len(vs) == 0 {
				continue
			}
			if entry("headers", &n, name) {
				vs = []string{Hidden}
			}
			b = appendStrings(b, vs)
		}
		end(mark, n, "headersOmitted")
	}
	if body != nil {
		mark := len(b)
		member("body")
		out, err := redactJSON(b, body, redact)
		switch {
		case err != nil:
			b, omitted = b[:mark], omitInvalid
		case len(out) > maxParams-64:
			b, omitted = b[:mark], omitTooLarge
		default:
			b = out
		}
	}
	if omitted != "" {
		member("bodyOmitted")
		b = jsontext.AppendString(b, omitted)
	}
	for _, m := range marks {
		member(m)
		b = jsontext.AppendString(b, omitTooLarge)
	}
	if len(b) == 0 {
		return nil
	}
	b = append(b, '}')
	if len(b) > maxParams {
		return nil
	}
	return b
}

// appendStrings appends one string, or an array of several.
func appendStrings(b []byte, vs []string) []byte {
	if len(vs) == 1 {
		return jsontext.AppendString(b, vs[0])
	}
	b = append(b, '[')
	for j, v := range vs {
		if j > 0 {
			b = append(b, ',')
		}
		b = jsontext.AppendString(b, v)
	}
	return append(b, ']')
}

// wildcards returns the names of the wildcards of a ServeMux pattern
// ("{id}", "{path...}"; not "{$}").
func wildcards(pattern string) []string {
	i := strings.IndexByte(pattern, '{')
	if i < 0 {
		return nil
	}
	var names []string
	for rest := pattern[i:]; ; {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			return names
		}
		rest = rest[i+1:]
		j := strings.IndexByte(rest, '}')
		if j < 0 {
			return names
		}
		name := strings.TrimSuffix(rest[:j], "...")
		rest = rest[j+1:]
		if name != "" && name != "$" {
			names = append(names, name)
		}
	}
}

// maxDepth bounds the nesting of a recorded JSON body.
const maxDepth = 64

var errTooDeep = errors.New("trailhttp: JSON body nested too deeply")

// redactJSON appends the JSON value in src to dst, compacted, with the value
// of every object member whose key redact matches replaced by Hidden.
func redactJSON(dst, src []byte, redact func(string) bool) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(src))
	dec.UseNumber()
	dst, err := copyValue(dec, dst, redact, 0)
	if err != nil {
		return dst, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return dst, errors.New("trailhttp: data after the JSON body")
	}
	return dst, nil
}

func copyValue(dec *json.Decoder, dst []byte, redact func(string) bool, depth int) ([]byte, error) {
	tok, err := dec.Token()
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return dst, err
	}
	switch v := tok.(type) {
	case json.Delim:
		if depth >= maxDepth {
			return dst, errTooDeep
		}
		switch v {
		case '{':
			dst = append(dst, '{')
			for first := true; dec.More(); first = false {
				kt, err := dec.Token()
				if err != nil {
					return dst, err
				}
				key, _ := kt.(string)
				if !first {
					dst = append(dst, ',')
				}
				dst = jsontext.AppendString(dst, key)
				dst = append(dst, ':')
				if redact(key) {
					// Copy the value to consume it and check its syntax,
					// then replace it.
					mark := len(dst)
					if dst, err = copyValue(dec, dst, redactNothing, depth+1); err != nil {
						return dst, err
					}
					dst = jsontext.AppendString(dst[:mark], Hidden)
					continue
				}
				if dst, err = copyValue(dec, dst, redact, depth+1); err != nil {
					return dst, err
				}
			}
			if _, err := dec.Token(); err != nil {
				return dst, err
			}
			return append(dst, '}'), nil
		case '[':
			dst = append(dst, '[')
			for first := true; dec.More(); first = false {
				if !first {
					dst = append(dst, ',')
				}
				if dst, err = copyValue(dec, dst, redact, depth+1); err != nil {
					return dst, err
				}
			}
			if _, err := dec.Token(); err != nil {
				return dst, err
			}
			return append(dst, ']'), nil
		}
		return dst, errors.New("trailhttp: unexpected JSON delimiter")
	case string:
		return jsontext.AppendString(dst, v), nil
	case json.Number:
		return append(dst, v...), nil
	case bool:
		if v {
			return append(dst, "true"...), nil
		}
		return append(dst, "false"...), nil
	case nil:
		return append(dst, "null"...), nil
	}
	return dst, errors.New("trailhttp: unexpected JSON token")
}

func redactNothing(string) bool { return false }
