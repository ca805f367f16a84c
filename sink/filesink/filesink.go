// Package filesink is a trail.Sink that writes log files to a local
// directory with the same key layout as S3: the file for key K is stored at
// <dir>/K. Writes are atomic: a temporary file in the target directory is
// written, synced and renamed, and the directory is synced.
package filesink

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
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

// Deliver writes f.Body to <dir>/<f.Key> after its metadata sidecar
// (<key>.metadata.json, the file's digest facts, see trail.LogFile.Metadata),
// so that a log file never exists without its facts.
func (s *Sink) Deliver(ctx context.Context, f *trail.LogFile) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if _, err := s.Path(f.Key); err != nil {
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

// Path returns the file path for key, or an error wrapping
// trail.ErrPermanent if key is empty, absolute, or escapes the directory.
func (s *Sink) Path(key string) (string, error) {
	if key == "" || key == "." || strings.HasPrefix(key, "/") || strings.Contains(key, "\\") || strings.ContainsRune(key, 0) {
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
// lexicographic order. Metadata sidecars and temporary files are not listed.
func (s *Sink) List(ctx context.Context, prefix string) ([]string, error) {
	root := s.dir
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		p, err := s.Path(prefix[:i])
		if err != nil {
			return nil, err
		}
		root = p
	}
	var keys []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
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
			return nil
		}
		rel, err := filepath.Rel(s.dir, path)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		name := d.Name()
		if strings.HasPrefix(name, ".tmp-") || name == LockFile || strings.HasSuffix(name, MetadataSuffix) || !strings.HasPrefix(key, prefix) {
			return nil
		}
		keys = append(keys, key)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("filesink: list %q: %w", prefix, err)
	}
	sort.Strings(keys)
	return keys, nil
}

// Get returns the object stored at key and its metadata (nil when it has
// none). A missing object gives an error wrapping fs.ErrNotExist.
func (s *Sink) Get(ctx context.Context, key string) ([]byte, map[string]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	path, err := s.Path(key)
	if err != nil {
		return nil, nil, err
	}
	body, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("filesink: %w", err)
	}
	var meta map[string]string
	raw, err := os.ReadFile(path + MetadataSuffix)
	switch {
	case err == nil:
		if err := json.Unmarshal(raw, &meta); err != nil {
			return nil, nil, fmt.Errorf("filesink: metadata of %s: %w", key, err)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return nil, nil, fmt.Errorf("filesink: %w", err)
	}
	return body, meta, nil
}
