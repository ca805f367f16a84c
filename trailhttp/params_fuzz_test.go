package trailhttp

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// FuzzRedactJSON feeds arbitrary request bodies to the redacting copier: it
// never panics, and what it accepts comes out as valid JSON with every
// "password" member hidden.
func FuzzRedactJSON(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `{"password":"x","n":[1,{"password":2}]}`, `[`, `{"a":"\u00e9"}`, `1e400`, `"x"`, strings.Repeat("[", 100)} {
		f.Add([]byte(s))
	}
	redact := func(k string) bool { return k == "password" }
	f.Fuzz(func(t *testing.T, body []byte) {
		out, err := redactJSON(nil, body, redact)
		if err != nil {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("redactJSON(%q) = %q, not valid JSON", body, out)
		}
		var v any
		dec := json.NewDecoder(bytes.NewReader(out))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		var walk func(any)
		walk = func(v any) {
			switch x := v.(type) {
			case map[string]any:
				for k, e := range x {
					if k == "password" && e != Hidden {
						t.Fatalf("member %q not hidden in %s", k, out)
					}
					walk(e)
				}
			case []any:
				for _, e := range x {
					walk(e)
				}
			}
		}
		walk(v)
	})
}

// FuzzBuildParams feeds arbitrary query strings and header values to the
// requestParameters builder: the result is nil or valid JSON of at most
// 100 KB, and the value of a secret query parameter never appears.
func FuzzBuildParams(f *testing.F) {
	for _, q := range []string{"a=1&b=2", "pwd=hunter2", "x=%ff%fe", "a=1&a=2&a=3", strings.Repeat("k=v&", 100), "=&=&%", "pin=1234&pin=5678"} {
		f.Add(q, "Bearer abc")
	}
	f.Fuzz(func(t *testing.T, rawQuery, header string) {
		r, err := http.NewRequest("GET", "http://example.com/x", nil)
		if err != nil {
			t.Fatal(err)
		}
		r.URL.RawQuery = rawQuery
		r.Header.Set("Authorization", header)
		out := buildParams(r, nil, "", []string{"Authorization"}, DefaultRedact)
		if out == nil {
			return
		}
		if !json.Valid(out) || len(out) > maxParams {
			t.Fatalf("buildParams(%q) = %d bytes, valid=%v", rawQuery, len(out), json.Valid(out))
		}
		var p struct {
			Query   map[string]any `json:"query"`
			Headers map[string]any `json:"headers"`
		}
		if err := json.Unmarshal(out, &p); err != nil {
			t.Fatal(err)
		}
		for k, v := range p.Query {
			if DefaultRedact(k) && v != Hidden {
				t.Fatalf("secret query parameter %q recorded as %v", k, v)
			}
		}
		if v, ok := p.Headers["Authorization"]; ok && v != Hidden {
			t.Fatalf("Authorization recorded as %v", v)
		}
	})
}
