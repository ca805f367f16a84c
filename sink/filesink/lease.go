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

// locked runs fn while holding the sink's lock file.
func (s *Sink) locked(fn func() error) error {
	if err := os.MkdirAll(s.dir, s.opts.DirMode); err != nil {
		return fmt.Errorf("filesink: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(s.dir, LockFile), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("filesink: lock file: %w", err)
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
	path, err := s.Path(key)
	if err != nil {
		return nil, err
	}
	meta, err := readSidecar(path + MetadataSuffix)
	if errors.Is(err, fs.ErrNotExist) {
		if _, serr := os.Stat(path); serr != nil {
			return nil, fmt.Errorf("filesink: %w", serr)
		}
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("filesink: metadata of %s: %w", key, err)
	}
	return meta, nil
}

// ReadLease returns a lease object and its version, the hex SHA-256 of its
// content (trail.LeaseStore).
func (s *Sink) ReadLease(ctx context.Context, key string) ([]byte, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	path, err := s.Path(key)
	if err != nil {
		return nil, "", err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("filesink: lease %s: %w", key, err)
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

func readSidecar(path string) (map[string]string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var meta map[string]string
	if err := json.Unmarshal(raw, &meta); err != nil {
		return nil, err
	}
	return meta, nil
}
