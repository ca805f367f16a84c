package sqlhistory

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzPostingValue: the stored form of an attribute value is always text
// PostgreSQL holds (valid UTF-8, no NUL) and indexes (at most
// maxPostingValue bytes), different values never share a stored form, and
// migration 3 reads version 2 forms back exactly.
func FuzzPostingValue(f *testing.F) {
	for _, s := range []string{"alice", "a\x00b", "\xff", "\x01", "\x0141", "", "\xed\xa0\x80", "\x02", "\x02ab",
		strings.Repeat("é", 1024), strings.Repeat("é", 1025), strings.Repeat("a", 2049), strings.Repeat("\x00", 1100)} {
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
		if len(pa) > maxPostingValue {
			t.Fatalf("stored form of %d bytes, over %d", len(pa), maxPostingValue)
		}
		if v, ok := valueOfV2(postingValueV2(a)); !ok || v != a {
			t.Fatalf("version 2 form of %q reads back as %q, %v", a, v, ok)
		}
		if v, ok := valueOfV2(a); ok && postingValueV2(v) != a {
			t.Fatalf("valueOfV2(%q) = %q, whose form is %q", a, v, postingValueV2(v))
		}
		if r := recordedText(a); !utf8.ValidString(r) || (utf8.ValidString(a) && r != a) {
			t.Fatalf("recordedText(%q) = %q", a, r)
		}
	})
}
