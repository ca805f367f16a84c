package verify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"sort"
	"strings"
)

// Store is read access to one bucket. Implementations exist for an fs.FS
// ([FSStore]); an S3 implementation only needs ListObjectsV2 and GetObject.
type Store interface {
	// List returns the keys under prefix (a plain string prefix, not
	// necessarily ending in "/") in byte-wise lexicographic order.
	List(ctx context.Context, prefix string) ([]string, error)
	// Get returns the object body and its user metadata (S3 x-amz-meta-*
	// names without that prefix, lower case; nil map if none). A missing
	// object returns an error wrapping fs.ErrNotExist.
	Get(ctx context.Context, key string) (body []byte, meta map[string]string, err error)
}

// AfterLister is an optional interface of a [Store] that can list keys
// after a marker (S3 ListObjects Marker / ListObjectsV2 StartAfter), which
// spares listing a trail's older digests.
type AfterLister interface {
	// ListAfter returns the keys under prefix that sort strictly after
	// startAfter, in byte-wise lexicographic order.
	ListAfter(ctx context.Context, prefix, startAfter string) ([]string, error)
}

// MetadataSuffix is the suffix of the sidecar file that holds an object's
// metadata in an [FSStore]: object "k" has its metadata in "k.metadata.json".
const MetadataSuffix = ".metadata.json"

// FSStore returns a Store over fsys, whose root is the bucket and whose
// paths are the keys. An object's metadata is read from the sidecar file
// "<key>.metadata.json" holding a JSON object such as
// {"signature":"<hex>","signature-algorithm":"SHA256withRSA"}; names are
// lower-cased and an "x-amz-meta-" prefix is removed (the convention of the
// AWS verifier harness in internal/ctoracle). Sidecar files are never listed or returned as objects.
func FSStore(fsys fs.FS) Store { return &fsStore{fsys: fsys} }

type fsStore struct{ fsys fs.FS }

func (s *fsStore) List(ctx context.Context, prefix string) ([]string, error) {
	return s.ListAfter(ctx, prefix, "")
}

func (s *fsStore) ListAfter(ctx context.Context, prefix, startAfter string) ([]string, error) {
	dir := "."
	if i := strings.LastIndexByte(prefix, '/'); i > 0 {
		dir = prefix[:i]
	}
	if !fs.ValidPath(dir) {
		return nil, nil
	}
	if ok, err := s.realDir(dir); err != nil || !ok {
		// A folder on the way is missing, a symlink (never followed) or
		// not a folder: nothing is listed (ListTree reports it).
		return nil, err
	}
	var keys []string
	err := fs.WalkDir(s.fsys, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == dir && errors.Is(err, fs.ErrNotExist) {
				return fs.SkipAll
			}
			return err
		}
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		if d.IsDir() {
			// Prune directories that cannot hold keys under prefix.
			if p != dir && !strings.HasPrefix(p+"/", prefix) && !strings.HasPrefix(prefix, p+"/") {
				return fs.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(p, MetadataSuffix) || !strings.HasPrefix(p, prefix) || p <= startAfter {
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		keys = append(keys, p)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("verify: list %q: %w", prefix, err)
	}
	sort.Strings(keys)
	return keys, nil
}

func (s *fsStore) Get(ctx context.Context, key string) ([]byte, map[string]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	if !fs.ValidPath(key) || key == "." || strings.HasSuffix(key, MetadataSuffix) {
		return nil, nil, &fs.PathError{Op: "get", Path: key, Err: fs.ErrNotExist}
	}
	if err := s.regular(key); err != nil {
		return nil, nil, err
	}
	body, err := fs.ReadFile(s.fsys, key)
	if err != nil {
		return nil, nil, fmt.Errorf("verify: get %q: %w", key, err)
	}
	if err := s.regular(key + MetadataSuffix); errors.Is(err, fs.ErrNotExist) {
		return body, nil, nil
	} else if err != nil {
		return nil, nil, err
	}
	side, err := fs.ReadFile(s.fsys, key+MetadataSuffix)
	if errors.Is(err, fs.ErrNotExist) {
		return body, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("verify: get metadata of %q: %w", key, err)
	}
	meta, err := parseSidecar(side)
	if err != nil {
		return nil, nil, fmt.Errorf("verify: metadata sidecar of %q: %w", key, err)
	}
	return body, meta, nil
}

// regular checks, without following symlinks where fsys can tell (an
// fs.ReadLinkFS such as os.DirFS), that every folder on key's path is a
// folder and key a regular file: a symlink or special file is reported
// as not existing (the sweep reports it as KindNotRegular), never opened,
// so that a FIFO cannot make a read hang and a symlink cannot make it read
// outside the tree.
func (s *fsStore) regular(key string) error {
	notRegular := func(p, what string) error {
		return &fs.PathError{Op: "get", Path: key, Err: fmt.Errorf("%w: %s is %s", fs.ErrNotExist, p, what)}
	}
	if _, ok := s.fsys.(fs.ReadLinkFS); !ok {
		info, err := fs.Stat(s.fsys, key)
		if err != nil {
			return fmt.Errorf("verify: get %q: %w", key, err)
		}
		if !info.Mode().IsRegular() {
			return notRegular(key, "not a regular file")
		}
		return nil
	}
	for i := 0; ; {
		j := strings.IndexByte(key[i:], '/')
		last := j < 0
		p := key
		if !last {
			p = key[:i+j]
		}
		info, err := fs.Lstat(s.fsys, p)
		if err != nil {
			return fmt.Errorf("verify: get %q: %w", key, err)
		}
		switch m := info.Mode(); {
		case m&fs.ModeSymlink != 0:
			return notRegular(p, "a symbolic link (not followed)")
		case last && !m.IsRegular():
			return notRegular(p, "not a regular file (not opened)")
		case !last && !m.IsDir():
			return notRegular(p, "not a folder")
		}
		if last {
			return nil
		}
		i += j + 1
	}
}

// realDir reports whether dir and every folder on its path are folders,
// not symlinks (checked with Lstat where fsys can tell: an fs.ReadLinkFS
// such as os.DirFS). A missing folder is (false, nil).
func (s *fsStore) realDir(dir string) (bool, error) {
	if dir == "." {
		return true, nil
	}
	_, lstat := s.fsys.(fs.ReadLinkFS)
	for i := 0; ; {
		j := strings.IndexByte(dir[i:], '/')
		p := dir
		if j >= 0 {
			p = dir[:i+j]
		}
		var info fs.FileInfo
		var err error
		if lstat {
			info, err = fs.Lstat(s.fsys, p)
		} else {
			info, err = fs.Stat(s.fsys, p)
		}
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("verify: list %q: %w", dir, err)
		}
		if !info.IsDir() || info.Mode()&fs.ModeSymlink != 0 {
			return false, nil
		}
		if j < 0 {
			return true, nil
		}
		i += j + 1
	}
}

// ErrAmbiguousMetadata is wrapped by the error of a metadata sidecar that
// names one metadata key twice (after lower-casing and removing an
// "x-amz-meta-" prefix), such as both "signature" and
// "x-amz-meta-signature".
var ErrAmbiguousMetadata = errors.New("verify: ambiguous metadata")

// AmbiguousMetadataKey is set in the metadata FSStore returns for an
// object whose sidecar is ambiguous (ErrAmbiguousMetadata): its value
// names the keys given twice, and those keys are left out, so which one
// counts never depends on map order. Validate reports it as
// [KindMetadataAmbiguous].
const AmbiguousMetadataKey = "verify-ambiguous-metadata"

func parseSidecar(b []byte) (map[string]string, error) {
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidFormat, err)
	}
	seen := make(map[string]string, len(raw))
	var twice []string
	for k := range raw {
		n := strings.TrimPrefix(strings.ToLower(k), "x-amz-meta-")
		if _, dup := seen[n]; dup {
			twice = append(twice, n)
		}
		seen[n] = k
	}
	meta := make(map[string]string, len(raw))
	for k, v := range raw {
		k = strings.ToLower(k)
		k = strings.TrimPrefix(k, "x-amz-meta-")
		if slices.Contains(twice, k) {
			continue
		}
		switch v := v.(type) {
		case string:
			meta[k] = v
		default:
			b, _ := json.Marshal(v) // cannot fail for decoded JSON values
			meta[k] = string(b)
		}
	}
	if len(twice) > 0 {
		slices.Sort(twice)
		meta[AmbiguousMetadataKey] = strings.Join(slices.Compact(twice), ",")
	}
	return meta, nil
}
