package sqlhistory

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzPostingValue: the stored form of an attribute value is always text
// PostgreSQL holds (valid UTF-8, no NUL), and different values never share
// a stored form.
func FuzzPostingValue(f *testing.F) {
	for _, s := range []string{"alice", "a\x00b", "\xff", "\x01", "\x0141", "", "\xed\xa0\x80"} {
		f.Add(s, s+"x")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		pa, pb := postingValue(a), postingValue(b)
		for _, p := range []string{pa, pb} {
			if !utf8.ValidString(p) || strings.ContainsRune(p, 0) {
				t.Fatalf("stored form %q is not PostgreSQL text", p)
			}
		}
		if a != b && pa == pb {
			t.Fatalf("%q and %q share the stored form %q", a, b, pa)
		}
		if r := recordedText(a); !utf8.ValidString(r) || (utf8.ValidString(a) && r != a) {
			t.Fatalf("recordedText(%q) = %q", a, r)
		}
	})
}
