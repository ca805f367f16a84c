// Package filesink is a trail.Sink that writes log files to a local
// directory with the same key layout as S3: the file for key K is stored at
// <dir>/K. Writes are atomic: a temporary file in the target directory is
// written, synced and renamed, and the directory is synced.
package filesink

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/trailkit/trail"
)

// Sink writes files below a directory. It is safe for concurrent use.
type Sink struct {
	dir  string
	opts Options
}

// Options tune a Sink. The zero value is the default.
type Options struct {
	// NoSync skips fsync of files and directories (faster, not crash-safe).
	NoSync bool
	// FileMode is the permission of written files (default 0o644).
	FileMode os.FileMode
	// DirMode is the permission of created directories (default 0o755).
	DirMode os.FileMode
}

// New returns a Sink writing below dir, which is created when missing. opts
// may be nil.
func New(dir string, opts *Options) *Sink {
	s := &Sink{dir: dir}
	if opts != nil {
		s.opts = *opts
	}
	if s.opts.FileMode == 0 {
		s.opts.FileMode = 0o644
	}
	if s.opts.DirMode == 0 {
		s.opts.DirMode = 0o755
	}
	return s
}

// Dir returns the directory the sink writes to.
func (s *Sink) Dir() string { return s.dir }

// String names the sink in errors.
func (s *Sink) String() string { return "filesink(" + s.dir + ")" }

// Deliver writes f.Body to <dir>/<f.Key>.
func (s *Sink) Deliver(ctx context.Context, f *trail.LogFile) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.WriteObject(f.Key, f.Body)
}

// Path returns the file path for key, or an error wrapping
// trail.ErrPermanent if key is empty, absolute, or escapes the directory.
func (s *Sink) Path(key string) (string, error) {
	if key == "" || strings.HasPrefix(key, "/") || strings.Contains(key, "\\") || strings.ContainsRune(key, 0) {
		return "", fmt.Errorf("filesink: %w: invalid key %q", trail.ErrPermanent, key)
	}
	if !filepath.IsLocal(filepath.FromSlash(key)) || filepath.Clean(filepath.FromSlash(key)) != filepath.FromSlash(key) {
		return "", fmt.Errorf("filesink: %w: key %q escapes the directory or is not clean", trail.ErrPermanent, key)
	}
	return filepath.Join(s.dir, filepath.FromSlash(key)), nil
}

// WriteObject atomically writes data at key. Sinks and tools that store other
// objects (digests, their metadata) next to log files use it.
func (s *Sink) WriteObject(key string, data []byte) error {
	path, err := s.Path(key)
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, s.opts.DirMode); err != nil {
		return fmt.Errorf("filesink: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("filesink: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("filesink: write %s: %w", key, err)
	}
	if !s.opts.NoSync {
		if err := tmp.Sync(); err != nil {
			return fmt.Errorf("filesink: sync %s: %w", key, err)
		}
	}
	if err := tmp.Chmod(s.opts.FileMode); err != nil {
		return fmt.Errorf("filesink: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("filesink: close %s: %w", key, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("filesink: rename %s: %w", key, err)
	}
	ok = true
	if !s.opts.NoSync {
		if err := syncDir(dir); err != nil {
			return fmt.Errorf("filesink: sync dir of %s: %w", key, err)
		}
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
