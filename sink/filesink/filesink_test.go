package filesink_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/trailkit/trail"
	"github.com/trailkit/trail/sink/filesink"
	"github.com/trailkit/trail/sink/memsink"
)

const logKey = "AWSLogs/111122223333/CloudTrail/us-east-1/2025/03/01/111122223333_CloudTrail_us-east-1_20250301T1015Z_Mu0KsOhtH1ar15ZZ.json.gz"

// listFiles returns every regular file below dir, relative, with '/'.
func listFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	require.NoError(t, filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && !strings.HasSuffix(path, filesink.MetadataSuffix) && d.Name() != filesink.LockFile {
			rel, err := filepath.Rel(dir, path)
			require.NoError(t, err)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	}))
	return out
}

func assertNoTempFiles(t *testing.T, dir string) {
	t.Helper()
	for _, f := range listFiles(t, dir) {
		assert.NotContains(t, filepath.Base(f), ".tmp-", "temporary file left behind: %s", f)
	}
}

func TestWriteObject(t *testing.T) {
	tests := []struct {
		name     string
		opts     filesink.Options
		wantMode fs.FileMode
	}{
		{"defaults", filesink.Options{}, 0o644},
		{"custom mode, no sync", filesink.Options{NoSync: true, FileMode: 0o600}, 0o600},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "audit") // created on first write
			s := filesink.New(dir, tc.opts)
			assert.Equal(t, dir, s.Dir())
			assert.Equal(t, "filesink("+dir+")", s.String())

			require.NoError(t, s.WriteObject(logKey, []byte("first")))
			path := filepath.Join(dir, filepath.FromSlash(logKey))
			got, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.Equal(t, "first", string(got), "nested directories are created")
			st, err := os.Stat(path)
			require.NoError(t, err)
			assert.Equal(t, tc.wantMode, st.Mode().Perm())

			// Overwrite: the new content replaces the old, whatever its length.
			require.NoError(t, s.WriteObject(logKey, []byte("2nd")))
			got, err = os.ReadFile(path)
			require.NoError(t, err)
			assert.Equal(t, "2nd", string(got))

			p, err := s.Path(logKey)
			require.NoError(t, err)
			assert.Equal(t, path, p)
			assert.Equal(t, []string{logKey}, listFiles(t, dir), "only the object, no temporary files")
		})
	}
}

func TestKeysEscapingTheDirectoryAreRejected(t *testing.T) {
	bad := []string{
		"", "/abs", "/abs/x", "../x", "..", "a/../../b", "a/../b", "a/..", "./a", ".", "a//b", "a/", "a/./b",
		`a\b`, `..\x`, "a\x00b",
	}
	for _, key := range bad {
		t.Run(fmt.Sprintf("%q", key), func(t *testing.T) {
			parent := t.TempDir()
			dir := filepath.Join(parent, "audit")
			require.NoError(t, os.Mkdir(dir, 0o755))
			s := filesink.New(dir, filesink.Options{})

			_, err := s.Path(key)
			assert.ErrorIs(t, err, trail.ErrPermanent)
			assert.ErrorIs(t, s.WriteObject(key, []byte("x")), trail.ErrPermanent)
			assert.ErrorIs(t, s.Deliver(context.Background(), &trail.LogFile{Key: key, Body: []byte("x")}), trail.ErrPermanent)

			assert.Equal(t, []string{"audit"}, dirNames(t, parent), "nothing written next to the directory")
			assert.Empty(t, listFiles(t, dir), "nothing written inside it")
		})
	}

	good := []string{"a", "a/b/c.json.gz", "a..b", "..a/b", "a/.b", logKey}
	for _, key := range good {
		t.Run(fmt.Sprintf("accepts %q", key), func(t *testing.T) {
			dir := t.TempDir()
			s := filesink.New(dir, filesink.Options{})
			require.NoError(t, s.WriteObject(key, []byte("x")))
			assert.Equal(t, []string{key}, listFiles(t, dir))
		})
	}
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func TestNoTempFilesLeftBehind(t *testing.T) {
	dir := t.TempDir()
	s := filesink.New(dir, filesink.Options{})
	for i := range 20 {
		require.NoError(t, s.WriteObject(fmt.Sprintf("d%d/k%d", i%3, i), bytes.Repeat([]byte{'x'}, i*1000)))
	}
	assertNoTempFiles(t, dir)

	// A failed rename (a directory is in the way) removes the temporary file.
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "blocked", "key"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "blocked", "key", "child"), nil, 0o644))
	require.Error(t, s.WriteObject("blocked/key", []byte("x")))
	assertNoTempFiles(t, dir)

	// A file where a directory should be: nothing is created.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "plain"), nil, 0o644))
	require.Error(t, s.WriteObject("plain/key", []byte("x")))
	assertNoTempFiles(t, dir)
	assert.Len(t, listFiles(t, dir), 22)
}

// TestAtomicOverwrite: readers racing with overwrites see the old or the
// new content, never a partial file or no file.
func TestAtomicOverwrite(t *testing.T) {
	dir := t.TempDir()
	s := filesink.New(dir, filesink.Options{NoSync: true})
	a, b := bytes.Repeat([]byte{'a'}, 256<<10), bytes.Repeat([]byte{'b'}, 100<<10)
	require.NoError(t, s.WriteObject(logKey, a))
	path, err := s.Path(logKey)
	require.NoError(t, err)

	var done atomic.Bool
	var reads atomic.Int64
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for !done.Load() {
				got, err := os.ReadFile(path)
				if err != nil {
					t.Errorf("read during overwrite: %v", err)
					return
				}
				if !bytes.Equal(got, a) && !bytes.Equal(got, b) {
					t.Errorf("read a torn file of %d bytes", len(got))
					return
				}
				reads.Add(1)
			}
		})
	}
	for i := range 200 {
		data := a
		if i%2 == 0 {
			data = b
		}
		require.NoError(t, s.WriteObject(logKey, data))
	}
	done.Store(true)
	wg.Wait()
	assert.Positive(t, reads.Load())
	assertNoTempFiles(t, dir)
}

func TestConcurrentDeliveries(t *testing.T) {
	dir := t.TempDir()
	s := filesink.New(dir, filesink.Options{NoSync: true})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 25 {
				key := fmt.Sprintf("AWSLogs/111122223333/CloudTrail/us-east-1/2025/03/01/f-%d-%d.json.gz", g, i%5)
				if err := s.Deliver(context.Background(), &trail.LogFile{Key: key, Body: []byte(key)}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	files := listFiles(t, dir)
	assert.Len(t, files, 40)
	for _, f := range files {
		got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f)))
		require.NoError(t, err)
		assert.Equal(t, f, string(got))
	}
}

func TestDeliverCanceledContext(t *testing.T) {
	dir := t.TempDir()
	s := filesink.New(dir, filesink.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, s.Deliver(ctx, &trail.LogFile{Key: logKey, Body: []byte("x")}), context.Canceled)
	assert.Empty(t, listFiles(t, dir))
}

// TestWithRecorder stores a recorder's files on disk under their keys.
func TestWithRecorder(t *testing.T) {
	dir := t.TempDir()
	disk, mem := filesink.New(dir, filesink.Options{}), memsink.New()
	ctx := context.Background()
	rec, err := trail.New(trail.Config{AccountID: "111122223333", Region: "us-east-1", Trails: []trail.Trail{
		{Name: "main", Prefix: "team", MultiRegion: true, Sinks: []trail.Sink{disk, mem}}}})
	require.NoError(t, err)
	for i, region := range []string{"us-east-1", "eu-west-1", "us-east-1"} {
		require.NoError(t, rec.Record(ctx, &trail.Event{EventSource: "orders.example.com", EventName: fmt.Sprint("Op", i), AWSRegion: region}))
	}
	require.NoError(t, rec.Close(ctx))

	files := mem.Files()
	require.Len(t, files, 2)
	var keys []string
	for _, f := range files {
		keys = append(keys, f.Key)
		assert.True(t, strings.HasPrefix(f.Key, "team/AWSLogs/111122223333/CloudTrail/"+f.Region+"/"), f.Key)
		body, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f.Key)))
		require.NoError(t, err)
		assert.Equal(t, f.Body, body)
		zr, err := gzip.NewReader(bytes.NewReader(body))
		require.NoError(t, err)
		js, err := io.ReadAll(zr)
		require.NoError(t, err)
		assert.Equal(t, f.JSON, js)
	}
	assert.ElementsMatch(t, keys, listFiles(t, dir))
}
