package filesink_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailkit/trail"
	"github.com/trailkit/trail/internal/testkeys"
	"github.com/trailkit/trail/sink/filesink"
)

const digestKey = "team/AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2025/03/01/111122223333_CloudTrail-Digest_us-east-1_main_us-east-1_20250301T101500Z.json.gz"

// snapshot returns every entry below dir (files with a hash of their content,
// symlinks with their target), to compare before and after an attack.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			require.NoError(t, err)
			out[rel] = "-> " + target
		case d.Type().IsRegular():
			b, err := os.ReadFile(p)
			require.NoError(t, err)
			out[rel] = fmt.Sprintf("%x", sha256.Sum256(b))
		case d.IsDir():
			out[rel] = "dir"
		default:
			out[rel] = d.Type().String()
		}
		return nil
	}))
	return out
}

// plant makes the folder (or file) at the n-th component of key a symlink
// to the same place in outside, where a decoy object already waits.
func plant(t *testing.T, dir, outside, key string, n int) string {
	t.Helper()
	parts := strings.Split(key, "/")
	at := path.Join(parts[:n+1]...)
	require.NoError(t, os.MkdirAll(filepath.Join(dir, filepath.Dir(at)), 0o755))
	target := filepath.Join(outside, filepath.FromSlash(at))
	decoy := filepath.Join(outside, filepath.FromSlash(key))
	require.NoError(t, os.MkdirAll(filepath.Dir(decoy), 0o755))
	require.NoError(t, os.WriteFile(decoy, []byte("decoy outside the directory"), 0o644))
	require.NoError(t, os.WriteFile(decoy+filesink.MetadataSuffix, []byte(`{"signature":"decoy"}`), 0o644))
	require.NoError(t, os.Symlink(target, filepath.Join(dir, filepath.FromSlash(at))))
	return at
}

// TestPlantedSymlinks: a symlink planted at any level of a log file's or a
// digest's key (prefix, AWSLogs, account, CloudTrail or CloudTrail-Digest,
// region, year, month, day, the object itself, its metadata sidecar) makes
// the sink write nothing and read nothing outside its directory: writes
// through a planted folder fail permanently, a planted object is replaced
// (never written through), reads and listings see no decoy.
func TestPlantedSymlinks(t *testing.T) {
	ctx := context.Background()
	for _, key := range []string{"team/" + logKey, digestKey} {
		parts := strings.Split(key, "/")
		for n := range parts {
			folder := n < len(parts)-1
			t.Run(path.Join(parts[:n+1]...), func(t *testing.T) {
				parent := t.TempDir()
				dir, outside := filepath.Join(parent, "audit"), filepath.Join(parent, "outside")
				require.NoError(t, os.MkdirAll(dir, 0o755))
				s := filesink.New(dir, filesink.Options{})
				at := plant(t, dir, outside, key, n)
				before := snapshot(t, outside)

				// Reads and listings never see the decoy.
				body, _, err := s.Get(ctx, key)
				assert.Error(t, err, "read through the symlink at %s", at)
				assert.NotContains(t, string(body), "decoy")
				keys, err := s.List(ctx, "team/")
				if err == nil {
					assert.NotContains(t, keys, key)
				}
				keys, err = s.List(ctx, strings.Join(parts[:len(parts)-1], "/")+"/")
				if err == nil {
					assert.Empty(t, keys)
				} else {
					assert.ErrorIs(t, err, trail.ErrPermanent)
				}

				// Writes: through a planted folder, refused for good; a planted
				// object is replaced by the file, its target untouched.
				err = s.WriteObject(key, []byte("written"))
				if folder {
					assert.ErrorIs(t, err, trail.ErrPermanent)
				} else {
					require.NoError(t, err)
					fi, err := os.Lstat(filepath.Join(dir, filepath.FromSlash(key)))
					require.NoError(t, err)
					assert.True(t, fi.Mode().IsRegular(), "the symlink itself was replaced")
				}
				err = s.DeliverDigest(ctx, &trail.Digest{Key: key, Body: []byte("digest"), Signature: "ab"})
				if folder {
					assert.ErrorIs(t, err, trail.ErrPermanent)
				}
				assert.Equal(t, before, snapshot(t, outside), "nothing outside the directory changed")
			})
		}
	}
	t.Run("metadata sidecar", func(t *testing.T) {
		parent := t.TempDir()
		dir, outside := filepath.Join(parent, "audit"), filepath.Join(parent, "outside")
		s := filesink.New(dir, filesink.Options{})
		require.NoError(t, s.WriteObject(digestKey, []byte("digest")))
		require.NoError(t, os.MkdirAll(outside, 0o755))
		secret := filepath.Join(outside, "secret.json")
		require.NoError(t, os.WriteFile(secret, []byte(`{"signature":"from-outside"}`), 0o644))
		require.NoError(t, os.Symlink(secret, filepath.Join(dir, filepath.FromSlash(digestKey+filesink.MetadataSuffix))))
		_, meta, err := s.Get(ctx, digestKey)
		assert.ErrorIs(t, err, trail.ErrPermanent)
		assert.NotEqual(t, "from-outside", meta["signature"])
		before := snapshot(t, outside)
		assert.ErrorIs(t, s.DeliverDigest(ctx, &trail.Digest{Key: digestKey, Body: []byte("digest"), Signature: "ab"}), trail.ErrPermanent)
		assert.Equal(t, before, snapshot(t, outside))
	})
}

// TestPlantedSymlinkChainResumption: a recorder restarting on a directory
// whose CloudTrail-Digest folder was replaced by a symlink to another chain
// neither continues that chain nor writes into it.
func TestPlantedSymlinkChainResumption(t *testing.T) {
	ctx := context.Background()
	key := testkeys.RSA(t)
	parent := t.TempDir()
	other, dir := filepath.Join(parent, "other"), filepath.Join(parent, "audit")
	run := func(dir string) (*trail.Recorder, error) {
		return trail.New(trail.Config{AccountID: "111122223333", Region: "us-east-1", Trails: []trail.Trail{{
			Name: "main", Bucket: "audit-bucket", Interval: time.Hour,
			Sinks:      []trail.Sink{filesink.New(dir, filesink.Options{NoSync: true})},
			Validation: &trail.Validation{Signer: key},
		}}})
	}
	// A real chain in the other directory.
	rec, err := run(other)
	require.NoError(t, err)
	require.NoError(t, rec.Record(ctx, &trail.Event{EventSource: "orders.example.com", EventName: "Op"}))
	require.NoError(t, rec.Close(ctx))
	digestDir := filepath.Join(other, "AWSLogs", "111122223333", "CloudTrail-Digest")
	_, err = os.Stat(digestDir)
	require.NoError(t, err)

	require.NoError(t, os.MkdirAll(filepath.Join(dir, "AWSLogs", "111122223333"), 0o755))
	require.NoError(t, os.Symlink(digestDir, filepath.Join(dir, "AWSLogs", "111122223333", "CloudTrail-Digest")))
	before := snapshot(t, other)
	rec, err = run(dir)
	if err == nil {
		_ = rec.Record(ctx, &trail.Event{EventSource: "orders.example.com", EventName: "Op"})
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_ = rec.Close(cctx)
		cancel()
	}
	assert.Equal(t, before, snapshot(t, other), "nothing written into the planted folder")

	// What resumption reads: no digest of the other chain is listed or read.
	s := filesink.New(dir, filesink.Options{})
	keys, err := s.List(ctx, "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/")
	assert.Empty(t, keys)
	assert.ErrorIs(t, err, trail.ErrPermanent)
	for rel := range before {
		if strings.Contains(rel, "CloudTrail-Digest") && strings.HasSuffix(rel, ".json.gz") {
			_, _, err := s.Get(ctx, filepath.ToSlash(rel)) // the same key in dir
			assert.ErrorIs(t, err, trail.ErrPermanent, rel)
		}
	}
}

// TestSpecialFilesAreNotOpened: a FIFO or a folder planted where an object
// is read is refused at once (no read blocks), and is never listed.
func TestSpecialFilesAreNotOpened(t *testing.T) {
	dir := t.TempDir()
	s := filesink.New(dir, filesink.Options{})
	require.NoError(t, s.WriteObject(logKey, []byte("x")))
	fifo := strings.Replace(logKey, ".json.gz", "-fifo.json.gz", 1)
	require.NoError(t, syscall.Mkfifo(filepath.Join(dir, filepath.FromSlash(fifo)), 0o644))
	require.NoError(t, syscall.Mkfifo(filepath.Join(dir, filepath.FromSlash(logKey+filesink.MetadataSuffix)), 0o644))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	done := make(chan error, 2)
	go func() { _, _, err := s.Get(ctx, fifo); done <- err }()
	go func() { _, _, err := s.Get(ctx, logKey); done <- err }()
	for range 2 {
		select {
		case err := <-done:
			assert.ErrorIs(t, err, trail.ErrPermanent)
		case <-ctx.Done():
			t.Fatal("Get blocked on a FIFO")
		}
	}
	keys, err := s.List(ctx, "")
	require.NoError(t, err)
	assert.Equal(t, []string{logKey}, keys)
}

// TestCheck: the start-up check refuses a directory the sink cannot use,
// clearly and permanently, and trail.New refuses the trail.
func TestCheck(t *testing.T) {
	ctx := context.Background()
	parent := t.TempDir()
	file := filepath.Join(parent, "a-file")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	cases := map[string]string{
		"directory is a file":    file,
		"directory under a file": filepath.Join(file, "audit"),
		"empty":                  "",
	}
	for name, dir := range cases {
		t.Run(name, func(t *testing.T) {
			s := filesink.New(dir, filesink.Options{})
			err := s.Check(ctx)
			require.ErrorIs(t, err, trail.ErrPermanent)
			assert.Contains(t, err.Error(), "filesink")
			_, err = filesink.Open(ctx, dir, filesink.Options{})
			require.ErrorIs(t, err, trail.ErrPermanent)
			_, err = trail.New(trail.Config{AccountID: "111122223333", Region: "us-east-1",
				Trails: []trail.Trail{{Name: "main", Sinks: []trail.Sink{s}}}})
			require.ErrorIs(t, err, trail.ErrInvalidConfig)
			assert.Contains(t, err.Error(), "filesink")
			assert.ErrorIs(t, s.Deliver(ctx, &trail.LogFile{Key: logKey, Body: []byte("x")}), trail.ErrPermanent)
		})
	}
	t.Run("read-only directory", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("runs as root: file permissions are not enforced (EACCES is covered by TestIsPermanent)")
		}
		dir := filepath.Join(parent, "ro")
		require.NoError(t, os.Mkdir(dir, 0o555))
		err := filesink.New(dir, filesink.Options{}).Check(ctx)
		require.ErrorIs(t, err, trail.ErrPermanent)
		assert.ErrorIs(t, err, fs.ErrPermission)
	})
	t.Run("creates a missing directory", func(t *testing.T) {
		dir := filepath.Join(parent, "new", "audit")
		s, err := filesink.Open(ctx, dir, filesink.Options{})
		require.NoError(t, err)
		assert.Empty(t, listFiles(t, dir), "the probe file is removed")
		require.NoError(t, s.Check(ctx))
	})
}

func TestIsPermanent(t *testing.T) {
	pe := func(err error) error {
		return fmt.Errorf("wrapped: %w", &fs.PathError{Op: "open", Path: "x", Err: err})
	}
	for _, errno := range []syscall.Errno{syscall.EACCES, syscall.EPERM, syscall.ENOTDIR, syscall.EROFS, syscall.EISDIR, syscall.ELOOP, syscall.ENAMETOOLONG} {
		assert.True(t, filesink.IsPermanent(pe(errno)), "%v", errno)
	}
	for _, errno := range []syscall.Errno{syscall.ENOSPC, syscall.EIO, syscall.EINTR, syscall.EAGAIN, syscall.ENOENT} {
		assert.False(t, filesink.IsPermanent(pe(errno)), "%v", errno)
	}
	assert.False(t, filesink.IsPermanent(context.Canceled))
	assert.True(t, filesink.IsPermanent(fmt.Errorf("x: %w", trail.ErrPermanent)))

	// A real EISDIR/EEXIST: a folder with content where the object goes.
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "k", "child"), 0o755))
	assert.ErrorIs(t, filesink.New(dir, filesink.Options{}).WriteObject("k", []byte("x")), trail.ErrPermanent)
}

// TestStaleTempFilesRemoved: the next start removes the temporary files a
// crashed run left (its process is gone, or they are old), keeps a live
// writer's fresh ones, and never follows a symlink while doing so.
func TestStaleTempFilesRemoved(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	day := filepath.Join(dir, "AWSLogs", "111122223333", "CloudTrail", "us-east-1", "2025", "03", "01")
	require.NoError(t, os.MkdirAll(day, 0o755))
	outside := t.TempDir()
	victim := filepath.Join(outside, ".tmp-victim")
	require.NoError(t, os.WriteFile(victim, []byte("keep"), 0o644))
	files := map[string]bool{ // name -> removed
		".tmp-p999999999-1-abc-file.json.gz":                    true,  // dead writer
		".tmp-file.json.gz-12345":                               true,  // old naming, no pid
		fmt.Sprintf(".tmp-p%d-1-abc-live.json.gz", os.Getpid()): false, // a live writer, fresh
		fmt.Sprintf(".tmp-p%d-2-abc-old.json.gz", os.Getpid()):  true,  // a live pid, but old
		"kept.json.gz": false,
	}
	for name := range files {
		require.NoError(t, os.WriteFile(filepath.Join(day, name), []byte("partial"), 0o644))
	}
	old := time.Now().Add(-time.Hour)
	require.NoError(t, os.Chtimes(filepath.Join(day, fmt.Sprintf(".tmp-p%d-2-abc-old.json.gz", os.Getpid())), old, old))
	require.NoError(t, os.Symlink(victim, filepath.Join(day, ".tmp-p999999999-9-x-link")))
	require.NoError(t, os.Symlink(outside, filepath.Join(dir, "AWSLogs", "linked")))

	require.NoError(t, filesink.New(dir, filesink.Options{}).Check(ctx))
	for name, removed := range files {
		_, err := os.Lstat(filepath.Join(day, name))
		if removed {
			assert.ErrorIs(t, err, fs.ErrNotExist, name)
		} else {
			assert.NoError(t, err, name)
		}
	}
	got, err := os.ReadFile(victim)
	require.NoError(t, err)
	assert.Equal(t, "keep", string(got), "no symlink followed")

	// KeepTempFiles opts out.
	stale := filepath.Join(day, ".tmp-p999999999-3-abc-x")
	require.NoError(t, os.WriteFile(stale, nil, 0o644))
	require.NoError(t, filesink.New(dir, filesink.Options{KeepTempFiles: true}).Check(ctx))
	_, err = os.Stat(stale)
	assert.NoError(t, err)
}
