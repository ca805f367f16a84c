package filesink_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trailkit/trail/sink/filesink"
)

// FuzzKey: a key the sink accepts is written inside its directory, under
// exactly that name; nothing appears next to the directory.
func FuzzKey(f *testing.F) {
	for _, k := range []string{"a/b.json.gz", "../x", "a/../b", "/abs", "a//b", ".tmp-x", "a\\b", "a\x00", "..a/b", "a/.b"} {
		f.Add(k)
	}
	parent := f.TempDir()
	dir := filepath.Join(parent, "audit")
	s := filesink.New(dir, filesink.Options{NoSync: true})
	f.Fuzz(func(t *testing.T, key string) {
		if s.WriteObject(key, []byte("x")) != nil {
			return
		}
		got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(key)))
		if err != nil || string(got) != "x" {
			t.Fatalf("accepted %q but it is not at its path: %v", key, err)
		}
		entries, err := os.ReadDir(parent)
		if err != nil || len(entries) != 1 {
			t.Fatalf("something was written next to the directory for key %q", key)
		}
		_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasPrefix(d.Name(), filesink.TempPrefix) {
				t.Fatalf("temporary file left: %s", p)
			}
			return nil
		})
	})
}
