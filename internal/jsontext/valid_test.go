package jsontext

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// slowValid is what QuickValid stands for: encoding/json's Valid, valid
// UTF-8, and no \u escape that is a lone surrogate.
func slowValid(b []byte) bool {
	if !json.Valid(b) || !utf8.Valid(b) {
		return false
	}
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' {
			continue
		}
		i++
		if b[i] != 'u' {
			continue
		}
		r := Hex4(b[i+1 : i+5])
		i += 4
		switch {
		case r >= 0xd800 && r <= 0xdbff:
			if i+6 < len(b) && b[i+1] == '\\' && b[i+2] == 'u' {
				if lo := Hex4(b[i+3 : i+7]); lo >= 0xdc00 && lo <= 0xdfff {
					i += 6
					continue
				}
			}
			return false
		case r >= 0xdc00 && r <= 0xdfff:
			return false
		}
	}
	return true
}

// depth is the nesting depth of valid JSON text b.
func depth(b []byte) int {
	d, top, inStr := 0, 0, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case inStr && c == '\\':
			i++
		case c == '"':
			inStr = !inStr
		case inStr:
		case c == '{' || c == '[':
			d++
			top = max(top, d)
		case c == '}' || c == ']':
			d--
		}
	}
	return top
}

func TestQuickValid(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{`{}`, true},
		{` {"a":1} `, true},
		{`{"a":[1,2,{"b":null}],"c":"d"}`, true},
		{`{"a":true,"b":false,"c":-0.5e+10,"d":1E3,"e":0}`, true},
		{`"str\"ing\u00e9\ud83d\ude00"`, true},
		{`[]`, true},
		{`[ ]`, true},
		{`{ }`, true},
		{"{\"é\":\"日本語\"}", true},
		{`{"long":"abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz"}`, true},
		{``, false},
		{` `, false},
		{`{`, false},
		{`{"a"}`, false},
		{`{"a":}`, false},
		{`{"a":1,}`, false},
		{`[1,]`, false},
		{`{"a":1}{}`, false},
		{`{'a':1}`, false},
		{`{"a":01}`, false},
		{`{"a":1.}`, false},
		{`{"a":.5}`, false},
		{`{"a":1e}`, false},
		{`{"a":-}`, false},
		{`{"a":tru}`, false},
		{`{"a":nul}`, false},
		{"{\"a\":\"\x01\"}", false},
		{"{\"a\":\"\xff\"}", false},
		{"{\"a\":\"\xed\xa0\x80\"}", false}, // a surrogate encoded in UTF-8
		{`{"a":"\x"}`, false},
		{`{"a":"\u12"}`, false},
		{`{"a":"\ud800"}`, false},
		{`{"a":"\ud800\u0041"}`, false},
		{`{"a":"\udc00"}`, false},
		{`{"a":"unterminated}`, false},
		{`{"a":1]`, false},
		{`[1}`, false},
		{strings.Repeat("[", QuickDepth) + strings.Repeat("]", QuickDepth), true},
		{strings.Repeat("[", QuickDepth+1) + strings.Repeat("]", QuickDepth+1), false}, // conservative
	} {
		t.Run(tc.in, func(t *testing.T) {
			if got := QuickValid([]byte(tc.in)); got != tc.want {
				t.Errorf("QuickValid(%q) = %v, want %v", tc.in, got, tc.want)
			}
			if tc.want && !slowValid([]byte(tc.in)) {
				t.Errorf("slowValid(%q) = false", tc.in)
			}
		})
	}
}

// FuzzQuickValid checks QuickValid against encoding/json: a true result is
// always right, and a false one on text encoding/json accepts only for
// nesting deeper than QuickDepth.
func FuzzQuickValid(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":[1,2,{"b":null}],"c":"d\u00e9"}`, `"\ud83d\ude00"`, `{"a":-0.5e+10}`,
		"{\"k\":\"\xe6\x97\xa5\"}", `[[[[]]]]`, `{"a":"\ud800"}`, ` {"x" : true , "y":false} `} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		quick, slow := QuickValid(b), slowValid(b)
		if quick && !slow {
			t.Fatalf("QuickValid(%q) = true, encoding/json and the UTF-8 checks say no", b)
		}
		if slow && !quick && depth(b) <= QuickDepth {
			t.Fatalf("QuickValid(%q) = false for valid text of depth %d", b, depth(b))
		}
	})
}

func BenchmarkQuickValid(b *testing.B) {
	in := []byte(`{"orderId":"0b5f14549354","clientToken":"253311c3-f6da-4d05-8c21-0d4ad4cde36b","filters":[{"name":"status","values":["OPEN"]}],"maxResults":37,"tags":[{"key":"cost-center","value":"cc-0002"}],"order":{"id":"a86e3bd6505a","arn":"arn:aws:orders:us-east-1:111122223333:order/a86e3bd6505a","status":"CREATED","createdAt":"Dec 1, 2026, 7:37:14 PM","version":1,"etag":"\"67da94d9b46a0b499212a7787cc34387\""}}`)
	b.Run("quick", func(b *testing.B) {
		b.SetBytes(int64(len(in)))
		for b.Loop() {
			QuickValid(in)
		}
	})
	b.Run("json.Valid+utf8", func(b *testing.B) {
		b.SetBytes(int64(len(in)))
		for b.Loop() {
			slowValid(in)
		}
	})
}

// TestQuickValidOffsets puts each kind of special byte at every offset of
// a string around the 8-byte words QuickValid scans, and compares with
// encoding/json.
func TestQuickValidOffsets(t *testing.T) {
	for _, special := range []string{`\"`, `\n`, `\u00e9`, `\ud83d\ude00`, `\ud800`, "\x01", "\xff", "é", "日", `"`, `\`} {
		for pos := range 24 {
			in := []byte(`{"k":"` + strings.Repeat("a", pos) + special + strings.Repeat("b", 17) + `"}`)
			if got, want := QuickValid(in), slowValid(in); got != want {
				t.Errorf("QuickValid(%q) = %v, want %v", in, got, want)
			}
		}
	}
}
