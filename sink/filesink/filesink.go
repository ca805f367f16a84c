// Package filesink is a trail.Sink that writes log files to a local
// directory with the same key layout as S3: the file for key K is stored at
// <dir>/K. Writes are atomic: a temporary file in the target directory is
// written, synced and renamed, and the directory is synced.
//
// Every access goes through an [os.Root] opened on the directory: a symlink
// planted anywhere below it (at AWSLogs, a region or day folder,
// CloudTrail-Digest, or in place of a file) cannot make the sink write, read
// or list anything outside the directory; such an access fails with an error
// wrapping trail.ErrPermanent. Reads open regular files only (a FIFO or device
// planted under a key is refused, never opened for blocking I/O).
//
// Loud failures: [Sink.Check], which trail.New calls before a trail starts,
// creates the directory when missing, proves it can write there and removes
// the temporary files a crashed run left behind. Errors that retrying cannot
// cure (EACCES, EPERM, ENOTDIR, EROFS, EISDIR, ELOOP, ENAMETOOLONG, a path
// escaping the directory) wrap trail.ErrPermanent.
package filesink

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/trailkit/trail"
)

// Sink writes files below a directory. It is safe for concurrent use.
type Sink struct {
	dir  string
	opts Options

	mu       sync.Mutex
	root     *os.Root // opened on first use
	cleaned  bool     // stale temporary files removed
	tmpCount uint64
}

// Options tune a Sink. The zero value is the default.
type Options struct {
	// NoSync skips fsync of files and directories (faster, not crash-safe).
	NoSync bool
	// FileMode is the permission of written files (default 0o644).
	FileMode os.FileMode
	// DirMode is the permission of created directories (default 0o755).
	DirMode os.FileMode
	// KeepTempFiles disables the removal of stale temporary files
	// (".tmp-*", left by a run that crashed mid-write) when the sink starts.
	KeepTempFiles bool
}

// TempPrefix starts the name of every temporary file the sink writes
// (".tmp-p<pid>-<n>-<name>"); tools walking the directory (trailcheck) report
// such files as incomplete writes, not as tampering.
const TempPrefix = ".tmp-"

// staleTempAge is the age after which a temporary file is stale even when its
// writer's process id is in use (a reused pid, another host on shared
// storage).
const staleTempAge = 10 * time.Minute

// New returns a Sink writing below dir, which is created when missing. The
// zero Options is the default. New does not touch the file system; [Sink.Check] (called by
// trail.New) or the first delivery opens the directory.
func New(dir string, opts Options) *Sink {
	s := &Sink{dir: dir}
	s.opts = opts
	if s.opts.FileMode == 0 {
		s.opts.FileMode = 0o644
	}
	if s.opts.DirMode == 0 {
		s.opts.DirMode = 0o755
	}
	return s
}

// Open returns a Sink writing below dir after [Sink.Check] succeeded on it.
func Open(ctx context.Context, dir string, opts Options) (*Sink, error) {
	s := New(dir, opts)
	if err := s.Check(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Dir returns the directory the sink writes to.
func (s *Sink) Dir() string { return s.dir }

// String names the sink in errors.
func (s *Sink) String() string { return "filesink(" + s.dir + ")" }

// openRoot returns the os.Root of the directory, creating the directory and
// opening the root on first use. A failure is not cached: a later call
// retries (the directory may have been fixed meanwhile).
func (s *Sink) openRoot() (*os.Root, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.root != nil {
		return s.root, nil
	}
	if s.dir == "" {
		return nil, fmt.Errorf("filesink: %w: empty directory", trail.ErrPermanent)
	}
	if err := os.MkdirAll(s.dir, s.opts.DirMode); err != nil {
		return nil, s.wrap("create directory", err)
	}
	r, err := os.OpenRoot(s.dir)
	if err != nil {
		return nil, s.wrap("open directory", err)
	}
	s.root = r
	return r, nil
}

// Check prepares the directory and proves the sink can use it: it creates
// the directory when missing, writes, syncs and removes a probe file, and
// (unless Options.KeepTempFiles) removes stale temporary files of a crashed
// run. trail.New and CreateTrail call it and refuse a trail whose sink fails
// it; the error says what failed and wraps trail.ErrPermanent when retrying
// cannot help.
func (s *Sink) Check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	root, err := s.openRoot()
	if err != nil {
		return err
	}
	if fi, err := root.Stat("."); err != nil {
		return s.wrap("stat directory", err)
	} else if !fi.IsDir() {
		return fmt.Errorf("filesink: %s: %w: not a directory", s.dir, trail.ErrPermanent)
	}
	probe := s.tempName("check")
	f, err := root.OpenFile(probe, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return s.wrap("cannot write to the directory", err)
	}
	_, werr := f.Write([]byte("probe"))
	if werr == nil && !s.opts.NoSync {
		werr = f.Sync()
	}
	cerr := f.Close()
	rerr := root.Remove(probe)
	if err := errors.Join(werr, cerr, rerr); err != nil {
		return s.wrap("cannot write to the directory", err)
	}
	s.mu.Lock()
	clean := !s.cleaned && !s.opts.KeepTempFiles
	s.cleaned = true
	s.mu.Unlock()
	if clean {
		if err := s.removeStaleTemps(ctx, root); err != nil {
			return err
		}
	}
	return nil
}

// removeStaleTemps removes the temporary files a crashed run left behind:
// those whose writer process is gone (or that are older than staleTempAge).
// It never follows symlinks.
func (s *Sink) removeStaleTemps(ctx context.Context, root *os.Root) error {
	now := time.Now()
	err := fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == "." {
				return err
			}
			return nil // an unreadable folder holds nothing we wrote
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() || !d.Type().IsRegular() || !strings.HasPrefix(d.Name(), TempPrefix) {
			return nil
		}
		stale := true
		if pid, ok := tempPID(d.Name()); ok && processAlive(pid) {
			if info, err := d.Info(); err == nil && now.Sub(info.ModTime()) < staleTempAge {
				stale = false
			}
		}
		if stale {
			if err := root.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return s.wrap("remove stale temporary file "+p, err)
			}
		}
		return nil
	})
	if err != nil && ctx.Err() == nil {
		return s.wrap("remove stale temporary files", err)
	}
	return err
}

// tempName returns a fresh temporary file name for base.
func (s *Sink) tempName(base string) string {
	s.mu.Lock()
	s.tmpCount++
	n := s.tmpCount
	s.mu.Unlock()
	return TempPrefix + "p" + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatUint(n, 36) + "-" +
		strconv.FormatInt(time.Now().UnixNano()&0xffffffff, 36) + "-" + base
}

// tempPID returns the writer's pid encoded in a temporary file name.
func tempPID(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, TempPrefix+"p")
	if !ok {
		return 0, false
	}
	digits, _, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, false
	}
	pid, err := strconv.Atoi(digits)
	return pid, err == nil && pid > 0
}

// wrap annotates err and marks it permanent when retrying cannot cure it.
func (s *Sink) wrap(what string, err error) error {
	if IsPermanent(err) {
		return fmt.Errorf("filesink: %s: %s: %w: %w", s.dir, what, trail.ErrPermanent, err)
	}
	return fmt.Errorf("filesink: %s: %s: %w", s.dir, what, err)
}

// IsPermanent reports whether a file system error is one retrying cannot
// cure: EACCES, EPERM, ENOTDIR, EROFS, EISDIR, ELOOP, ENAMETOOLONG, EEXIST
// (a directory where a file must go or the reverse), a path escaping the
// directory (os.Root), or a special file where a regular one must be.
// Transient errors (ENOSPC, EIO, EINTR, …) are not.
func IsPermanent(err error) bool {
	if errors.Is(err, trail.ErrPermanent) {
		return true
	}
	if isPermanentErrno(err) {
		return true
	}
	var pe *fs.PathError
	var le *os.LinkError
	switch {
	case errors.As(err, &pe):
		err = pe.Err
	case errors.As(err, &le):
		err = le.Err
	default:
		return false
	}
	// os.Root reports a path leaving the directory with an error that is not
	// an errno ("path escapes from parent"): a planted symlink, permanent.
	return !isErrno(err)
}

// Deliver writes f.Body to <dir>/<f.Key> after its metadata sidecar
// (<key>.metadata.json, the file's digest facts, see trail.LogFile.Metadata),
// so that a log file never exists without its facts.
func (s *Sink) Deliver(ctx context.Context, f *trail.LogFile) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkKey(f.Key); err != nil {
		return err
	}
	meta, err := json.Marshal(f.Metadata())
	if err != nil {
		return fmt.Errorf("filesink: %w", err)
	}
	if err := s.WriteObject(f.Key+MetadataSuffix, meta); err != nil {
		return err
	}
	return s.WriteObject(f.Key, f.Body)
}

// checkKey returns key as a slash-separated local path, or an error wrapping
// trail.ErrPermanent if key is empty, absolute, not clean, escapes the
// directory, or names a temporary or sidecar file the sink keeps for itself.
func checkKey(key string) error {
	if key == "" || key == "." || strings.HasPrefix(key, "/") || strings.Contains(key, "\\") || strings.ContainsRune(key, 0) {
		return fmt.Errorf("filesink: %w: invalid key %q", trail.ErrPermanent, key)
	}
	if !filepath.IsLocal(filepath.FromSlash(key)) || path.Clean(key) != key {
		return fmt.Errorf("filesink: %w: key %q escapes the directory or is not clean", trail.ErrPermanent, key)
	}
	if strings.HasPrefix(path.Base(key), TempPrefix) {
		return fmt.Errorf("filesink: %w: key %q names a temporary file", trail.ErrPermanent, key)
	}
	return nil
}

// Path returns the file path for key, or an error wrapping
// trail.ErrPermanent if key is empty, absolute, or escapes the directory.
// The path is informational: the sink itself never opens it by name but
// through the directory's os.Root.
func (s *Sink) Path(key string) (string, error) {
	if err := checkKey(key); err != nil {
		return "", err
	}
	return filepath.Join(s.dir, filepath.FromSlash(key)), nil
}

// WriteObject atomically writes data at key. Sinks and tools that store other
// objects (digests, their metadata) next to log files use it.
func (s *Sink) WriteObject(key string, data []byte) error {
	if err := checkKey(key); err != nil {
		return err
	}
	root, err := s.openRoot()
	if err != nil {
		return err
	}
	name := filepath.FromSlash(key)
	dir := filepath.Dir(name)
	if dir != "." {
		if err := root.MkdirAll(dir, s.opts.DirMode); err != nil {
			return s.wrap("create folder of "+key, err)
		}
	}
	tmp := filepath.Join(dir, s.tempName(filepath.Base(name)))
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, s.opts.FileMode)
	if err != nil {
		return s.wrap("create "+key, err)
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
			root.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return s.wrap("write "+key, err)
	}
	if !s.opts.NoSync {
		if err := f.Sync(); err != nil {
			return s.wrap("sync "+key, err)
		}
	}
	if err := f.Chmod(s.opts.FileMode); err != nil {
		return s.wrap("chmod "+key, err)
	}
	if err := f.Close(); err != nil {
		return s.wrap("close "+key, err)
	}
	// Rename replaces a symlink planted at the key itself, never its target.
	if err := root.Rename(tmp, name); err != nil {
		root.Remove(tmp)
		ok = true
		return s.wrap("rename "+key, err)
	}
	ok = true
	if !s.opts.NoSync {
		d, err := root.Open(dir)
		if err == nil {
			err = d.Sync()
			d.Close()
		}
		if err != nil {
			return s.wrap("sync folder of "+key, err)
		}
	}
	return nil
}

// MetadataSuffix is appended to a digest's key to name the file holding its
// S3 object metadata ({"signature":"…","signature-algorithm":"SHA256withRSA"}),
// the layout the AWS verifier harness and package verify read.
const MetadataSuffix = ".metadata.json"

// DeliverDigest writes the digest and, first, its metadata sidecar
// (<key>.metadata.json), so that a digest file never exists unsigned. It is
// create-only (under the sink's lock file, so across processes too): a key
// that holds the same digest succeeds, one that holds another fails with an
// error wrapping trail.ErrConflict and trail.ErrPermanent.
func (s *Sink) DeliverDigest(ctx context.Context, d *trail.Digest) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	meta, err := json.Marshal(d.Metadata())
	if err != nil {
		return fmt.Errorf("filesink: %w", err)
	}
	return s.locked(func() error {
		if old, oldMeta, err := s.Get(ctx, d.Key); err == nil {
			if bytes.Equal(old, d.Body) && oldMeta["signature"] == d.Signature {
				return nil
			}
			return fmt.Errorf("filesink: digest %s: %w: %w: another digest is stored there", d.Key, trail.ErrPermanent, trail.ErrConflict)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		if err := s.WriteObject(d.Key+MetadataSuffix, meta); err != nil {
			return err
		}
		return s.WriteObject(d.Key, d.Body)
	})
}

// List returns the keys of the stored objects that start with prefix, in
// lexicographic order. Metadata sidecars, temporary files, symlinks and
// special files are not listed; symlinked folders are not entered.
func (s *Sink) List(ctx context.Context, prefix string) ([]string, error) {
	root, err := s.openRoot()
	if err != nil {
		return nil, err
	}
	start := "."
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		if err := checkKey(prefix[:i]); err != nil {
			return nil, err
		}
		start = prefix[:i]
	}
	var keys []string
	err = fs.WalkDir(root.FS(), start, func(key string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() {
			if key != start && !strings.HasPrefix(key+"/", prefix) && !strings.HasPrefix(prefix, key+"/") {
				return fs.SkipDir
			}
			return nil
		}
		name := d.Name()
		if !d.Type().IsRegular() || strings.HasPrefix(name, TempPrefix) || name == LockFile || strings.HasSuffix(name, MetadataSuffix) || !strings.HasPrefix(key, prefix) {
			return nil
		}
		keys = append(keys, key)
		return nil
	})
	if err != nil {
		return nil, s.wrap(fmt.Sprintf("list %q", prefix), err)
	}
	sort.Strings(keys)
	return keys, nil
}

// Get returns the object stored at key and its metadata (nil when it has
// none). A missing object gives an error wrapping fs.ErrNotExist; a symlink
// leading out of the directory or a special file gives one wrapping
// trail.ErrPermanent.
func (s *Sink) Get(ctx context.Context, key string) ([]byte, map[string]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	if err := checkKey(key); err != nil {
		return nil, nil, err
	}
	root, err := s.openRoot()
	if err != nil {
		return nil, nil, err
	}
	body, err := readRegular(root, filepath.FromSlash(key))
	if err != nil {
		return nil, nil, s.wrap("read "+key, err)
	}
	var meta map[string]string
	raw, err := readRegular(root, filepath.FromSlash(key+MetadataSuffix))
	switch {
	case err == nil:
		if err := json.Unmarshal(raw, &meta); err != nil {
			return nil, nil, fmt.Errorf("filesink: metadata of %s: %w", key, err)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return nil, nil, s.wrap("read metadata of "+key, err)
	}
	return body, meta, nil
}

// errNotRegular reports a special file or folder where a regular file must be.
var errNotRegular = errors.New("not a regular file")

// readRegular reads a regular file below root without blocking on special
// files: it opens with O_NONBLOCK (where the platform has it) and checks the
// opened file's type before reading.
func readRegular(root *os.Root, name string) ([]byte, error) {
	f, err := root.OpenFile(name, os.O_RDONLY|oNonblock, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, &fs.PathError{Op: "read", Path: name, Err: fmt.Errorf("%w: %w", trail.ErrPermanent, errNotRegular)}
	}
	return io.ReadAll(f)
}
