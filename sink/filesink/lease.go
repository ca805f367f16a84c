package filesink

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/trailkit/trail"
)

// LockFile is the name of the lock file at the root of the sink's directory.
// Create-only digest writes and lease updates run while holding an
// exclusive lock on it (flock on Unix), so that several processes (and
// several sinks in one process) sharing the directory see them atomically.
// A crashed holder releases the lock with its file descriptor.
const LockFile = ".trail.lock"

// locked runs fn while holding the sink's lock file (opened through the
// directory's os.Root: a symlink planted at the lock file's name cannot
// make the sink create or lock a file elsewhere).
func (s *Sink) locked(fn func() error) error {
	root, err := s.openRoot()
	if err != nil {
		return err
	}
	f, err := root.OpenFile(LockFile, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return s.wrap("lock file", err)
	}
	defer f.Close()
	if err := lockFile(f); err != nil {
		return fmt.Errorf("filesink: lock %s: %w", f.Name(), err)
	}
	defer unlockFile(f)
	return fn()
}

// Metadata returns the metadata stored with an object (trail.MetadataReader):
// a log file's digest facts, a digest's signature; nil when it has none. A
// missing object gives an error wrapping fs.ErrNotExist.
func (s *Sink) Metadata(ctx context.Context, key string) (map[string]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := checkKey(key); err != nil {
		return nil, err
	}
	root, err := s.openRoot()
	if err != nil {
		return nil, err
	}
	name := filepath.FromSlash(key)
	meta, err := readSidecar(root, name+MetadataSuffix)
	if errors.Is(err, fs.ErrNotExist) {
		if _, serr := root.Lstat(name); serr != nil {
			return nil, s.wrap("metadata of "+key, serr)
		}
		return nil, nil
	}
	if err != nil {
		return nil, s.wrap("metadata of "+key, err)
	}
	return meta, nil
}

// ReadLease returns a lease object and its version, the hex SHA-256 of its
// content (trail.LeaseStore).
func (s *Sink) ReadLease(ctx context.Context, key string) ([]byte, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	if err := checkKey(key); err != nil {
		return nil, "", err
	}
	root, err := s.openRoot()
	if err != nil {
		return nil, "", err
	}
	data, err := readRegular(root, filepath.FromSlash(key))
	if err != nil {
		return nil, "", s.wrap("lease "+key, err)
	}
	return data, version(data), nil
}

// WriteLease replaces a lease object if it still has version ("": only if
// none exists), under the sink's lock file (trail.LeaseStore).
func (s *Sink) WriteLease(ctx context.Context, key string, data []byte, ver string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	err := s.locked(func() error {
		_, cur, err := s.ReadLease(ctx, key)
		if errors.Is(err, fs.ErrNotExist) {
			cur, err = "", nil
		}
		if err != nil {
			return err
		}
		if cur != ver {
			return fmt.Errorf("filesink: lease %s: %w: %w: it changed since it was read", key, trail.ErrPermanent, trail.ErrConflict)
		}
		return s.WriteObject(key, data)
	})
	if err != nil {
		return "", err
	}
	return version(data), nil
}

func version(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:16])
}

func readSidecar(root *os.Root, name string) (map[string]string, error) {
	raw, err := readRegular(root, name)
	if err != nil {
		return nil, err
	}
	var meta map[string]string
	if err := json.Unmarshal(raw, &meta); err != nil {
		return nil, err
	}
	return meta, nil
}
