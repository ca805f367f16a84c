package filter

import (
	"encoding/json"
	"errors"
	"io"
	"testing"
	"unicode/utf8"

	"github.com/trailkit/trail"
)

func seedPatterns() []string {
	s := []string{``, `ERROR`, `"a b"`, `-x ?y ?z`, `%ab+c%`, `{ $.a = 1 }`, `{ ($.a = "x*" || $.b != *y) && $.c[0].d >= -1.5e3 }`,
		`{ $.a IS NULL && $.b NOT EXISTS || $.c IS TRUE || $.d IS FALSE }`, `{ $.m = %^a[bc]{1,2}$% }`,
		`[ip, user, ..., status = 4* && status != 403, size > 10]`, `[a, ..., b = x || b = y, ...]`, `[..., r=*.html*, s=4*,]`}
	for _, p := range CIS() {
		s = append(s, p.Pattern)
	}
	return s
}

func FuzzCompile(f *testing.F) {
	for _, s := range seedPatterns() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, pattern string) {
		p, err := Compile(pattern)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) || !errors.Is(err, ErrSyntax) {
				t.Fatalf("Compile(%q) error %T is not a *SyntaxError", pattern, err)
			}
			if n := utf8.RuneCountInString(pattern); se.Column < 1 || se.Column > n+1 && utf8.ValidString(pattern) {
				t.Fatalf("Compile(%q): column %d outside 1..%d", pattern, se.Column, n+1)
			}
			return
		}
		if p.String() != pattern {
			t.Fatalf("String() = %q", p.String())
		}
		// a compiled pattern matches without panicking
		p.Match([]byte(pattern))
		p.Match([]byte(`{"a":1,"b":[{"c":"x"}]}`))
		p.MatchEvent(apiCall("s3.amazonaws.com", "GetObject"))
	})
}

func FuzzMatch(f *testing.F) {
	msgs := []string{`{"a":1}`, `ERROR x`, `127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET / HTTP/1.0" 200 15`,
		string(apiCall("iam.amazonaws.com", "CreateUser").AppendJSON(nil)), `{"a":[1,{"b":"\u00e9\"x"}],"c":null,"d":true}`, `[1,2]`, `{"a":`}
	for i, s := range seedPatterns() {
		f.Add(s, msgs[i%len(msgs)])
	}
	f.Fuzz(func(t *testing.T, pattern, message string) {
		p, err := Compile(pattern)
		if err != nil {
			return
		}
		got := p.Match([]byte(message))
		// JSON patterns: the same answer on the message re-encoded compactly
		if p.Kind() == KindJSON && json.Valid([]byte(message)) {
			var v any
			if json.Unmarshal([]byte(message), &v) == nil && !hasDupKeys(message) {
				re, _ := json.Marshal(v)
				if p.Match(re) != got && !lossyNumbers(message) {
					t.Fatalf("pattern %q: %v on %s, %v on %s", pattern, got, message, !got, re)
				}
			}
		}
	})
}

// hasDupKeys reports whether message may repeat an object key (json.Marshal
// of a decoded map keeps the last one; patterns take the first).
func hasDupKeys(message string) bool {
	dec := json.NewDecoder(stringsReader(message))
	var walk func() bool
	walk = func() bool {
		tok, err := dec.Token()
		if err != nil {
			return true
		}
		switch tok {
		case json.Delim('{'):
			seen := map[string]bool{}
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return true
				}
				ks, _ := k.(string)
				if seen[ks] {
					return true
				}
				seen[ks] = true
				if walk() {
					return true
				}
			}
			_, err = dec.Token()
			return err != nil
		case json.Delim('['):
			for dec.More() {
				if walk() {
					return true
				}
			}
			_, err = dec.Token()
			return err != nil
		}
		return false
	}
	return walk()
}

// lossyNumbers: re-encoding a decoded number can change its text (1.0 -> 1,
// 1e2 -> 100), which text comparisons see.
func lossyNumbers(message string) bool {
	for i := 0; i < len(message); i++ {
		if c := message[i]; c == '.' || c == 'e' || c == 'E' || c == '-' || c == '+' || c >= '0' && c <= '9' {
			return true
		}
	}
	return false
}

// FuzzMatchEventAgrees checks that MatchEvent gives Match's answer on the
// encoded record for events built from fuzzed field values.
func FuzzMatchEventAgrees(f *testing.F) {
	for _, s := range seedPatterns() {
		f.Add(s, "ConsoleLogin", "AccessDenied", "Root", "", `{"MFAUsed":"No"}`, true)
	}
	f.Add(`{ $.requestParameters.x[0] = 1 }`, "", "", "", "lambda.amazonaws.com", `{"x":[1]}`, false)
	f.Fuzz(func(t *testing.T, pattern, name, code, idType, invokedBy, raw string, ro bool) {
		p, err := Compile(pattern)
		if err != nil {
			return
		}
		for _, s := range []string{name, code, idType, invokedBy} {
			if !utf8.ValidString(s) {
				return
			}
		}
		ev := apiCall("s3.amazonaws.com", name)
		ev.ErrorCode, ev.UserIdentity.Type, ev.UserIdentity.InvokedBy = code, idType, invokedBy
		ev.ReadOnly = trail.Bool(ro)
		if json.Valid([]byte(raw)) && len(raw) > 0 && (raw[0] == '{' || raw[0] == '[') {
			ev.AdditionalEventData = json.RawMessage(raw)
			ev.RequestParameters = json.RawMessage(raw)
		}
		js := ev.AppendJSON(nil)
		if !json.Valid(js) {
			return
		}
		if a, b := p.MatchEvent(ev), p.Match(js); a != b {
			t.Fatalf("pattern %q: MatchEvent %v, Match %v on %s", pattern, a, b, js)
		}
	})
}

func stringsReader(s string) *stringReader { return &stringReader{s: s} }

type stringReader struct{ s string }

func (r *stringReader) Read(p []byte) (int, error) {
	if len(r.s) == 0 {
		return 0, errEOF
	}
	n := copy(p, r.s)
	r.s = r.s[n:]
	return n, nil
}

var errEOF = io.EOF
