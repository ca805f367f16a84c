package trailhttp

import (
	"bytes"
	"encoding/json"
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
