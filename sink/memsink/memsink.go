// Package memsink is an in-memory trail.Sink for unit tests: it keeps every
// delivered log file (and digest file) and decodes the events, so a test can
// assert what the recorder delivered.
//
// Typical use with testify:
//
//	sink := memsink.New()
//	rec, err := trail.New(trail.Config{..., Trails: []trail.Trail{{Name: "t", Sinks: []trail.Sink{sink}}}})
//	require.NoError(t, err)
//	require.NoError(t, rec.Record(ctx, &trail.Event{EventSource: "orders.example.com", EventName: "CreateOrder"}))
//	require.NoError(t, rec.Flush(ctx))
//	require.Len(t, sink.Events(), 1)
package memsink

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/trailkit/trail"
)

// Sink keeps delivered files in memory. It is safe for concurrent use. The
// zero value is not usable; call New.
type Sink struct {
	mu     sync.Mutex
	files  map[string]*trail.LogFile
	order  []string
	events []trail.Event
	fail   error

	digests     map[string]*trail.Digest
	digestOrder []string

	leases map[string]lease
}

type lease struct {
	data    []byte
	version int
}

// New returns an empty Sink.
func New() *Sink { return &Sink{files: map[string]*trail.LogFile{}} }

// String names the sink in errors.
func (s *Sink) String() string { return "memsink" }

// Deliver stores f. Redelivering a key replaces the earlier file (its events
// are not counted twice). If FailWith set an error, Deliver returns it.
func (s *Sink) Deliver(ctx context.Context, f *trail.LogFile) error {
	if err := s.lockFor(ctx, f == nil || f.Key == "", "log file"); err != nil {
		return err
	}
	defer s.mu.Unlock()
	evs := make([]trail.Event, len(f.Records))
	for i, rec := range f.Records {
		if err := evs[i].UnmarshalJSON(rec); err != nil {
			return fmt.Errorf("memsink: %w: record %d of %s: %w", trail.ErrPermanent, i, f.Key, err)
		}
	}
	if _, dup := s.files[f.Key]; dup {
		s.rebuildLocked(f.Key)
	} else {
		s.order = append(s.order, f.Key)
	}
	s.files[f.Key] = f
	s.events = append(s.events, evs...)
	return nil
}

// rebuildLocked drops the events of the file at key before it is replaced.
func (s *Sink) rebuildLocked(key string) {
	s.events = s.events[:0]
	for _, k := range s.order {
		if k == key {
			continue
		}
		for _, rec := range s.files[k].Records {
			var ev trail.Event
			if ev.UnmarshalJSON(rec) == nil {
				s.events = append(s.events, ev)
			}
		}
	}
}

// FailWith makes every later Deliver return err (nil restores success). Wrap
// trail.ErrPermanent in err to simulate an error the recorder must not retry.
func (s *Sink) FailWith(err error) {
	s.mu.Lock()
	s.fail = err
	s.mu.Unlock()
}

// Files returns the delivered log files in delivery order.
func (s *Sink) Files() []*trail.LogFile {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*trail.LogFile, 0, len(s.order))
	for _, k := range s.order {
		out = append(out, s.files[k])
	}
	return out
}

// File returns the file stored at key.
func (s *Sink) File(key string) (*trail.LogFile, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.files[key]
	return f, ok
}

// Keys returns the keys of the delivered files, sorted.
func (s *Sink) Keys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := append([]string(nil), s.order...)
	sort.Strings(keys)
	return keys
}

// Events returns the decoded events of all delivered files, in delivery
// order.
func (s *Sink) Events() []trail.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]trail.Event(nil), s.events...)
}

// Reset forgets everything delivered so far.
func (s *Sink) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.files = map[string]*trail.LogFile{}
	s.order, s.events = nil, nil
	s.digests, s.digestOrder = nil, nil
}

// DeliverDigest stores a digest file with its metadata, create-only: a key
// that already holds the same bytes succeeds, one holding other bytes fails
// with an error wrapping trail.ErrConflict and trail.ErrPermanent.
func (s *Sink) DeliverDigest(ctx context.Context, d *trail.Digest) error {
	if err := s.lockFor(ctx, d == nil || d.Key == "", "digest"); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if s.digests == nil {
		s.digests = map[string]*trail.Digest{}
	}
	if old, dup := s.digests[d.Key]; dup {
		if bytes.Equal(old.Body, d.Body) && old.Signature == d.Signature {
			return nil
		}
		return fmt.Errorf("memsink: digest %s: %w: %w: another digest is stored there", d.Key, trail.ErrPermanent, trail.ErrConflict)
	}
	s.digestOrder = append(s.digestOrder, d.Key)
	s.digests[d.Key] = d
	return nil
}

// Metadata returns the metadata of a stored log or digest file
// (trail.MetadataReader): a log file's digest facts, a digest's signature.
func (s *Sink) Metadata(ctx context.Context, key string) (map[string]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if f, ok := s.files[key]; ok {
		return f.Metadata(), nil
	}
	if d, ok := s.digests[key]; ok {
		return d.Metadata(), nil
	}
	return nil, fmt.Errorf("memsink: %s: %w", key, fs.ErrNotExist)
}

// ReadLease returns a lease object and its version (trail.LeaseStore).
func (s *Sink) ReadLease(ctx context.Context, key string) ([]byte, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.leases[key]
	if !ok {
		return nil, "", fmt.Errorf("memsink: lease %s: %w", key, fs.ErrNotExist)
	}
	return bytes.Clone(l.data), strconv.Itoa(l.version), nil
}

// WriteLease stores a lease object if its version is still version ("":
// none stored) (trail.LeaseStore).
func (s *Sink) WriteLease(ctx context.Context, key string, data []byte, version string) (string, error) {
	if err := s.lockFor(ctx, key == "", "lease"); err != nil {
		return "", err
	}
	defer s.mu.Unlock()
	l, ok := s.leases[key]
	cur := ""
	if ok {
		cur = strconv.Itoa(l.version)
	}
	if cur != version {
		return "", fmt.Errorf("memsink: lease %s: %w: %w: version %q, not %q", key, trail.ErrPermanent, trail.ErrConflict, cur, version)
	}
	if s.leases == nil {
		s.leases = map[string]lease{}
	}
	l = lease{data: bytes.Clone(data), version: l.version + 1}
	s.leases[key] = l
	return strconv.Itoa(l.version), nil
}

// DeleteObject removes a stored log or digest file (for tests that tamper
// with a trail).
func (s *Sink) DeleteObject(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.files[key]; ok {
		delete(s.files, key)
		for i, k := range s.order {
			if k == key {
				s.order = append(s.order[:i], s.order[i+1:]...)
				break
			}
		}
		s.rebuildLocked("")
	}
	if _, ok := s.digests[key]; ok {
		delete(s.digests, key)
		for i, k := range s.digestOrder {
			if k == key {
				s.digestOrder = append(s.digestOrder[:i], s.digestOrder[i+1:]...)
				break
			}
		}
	}
}

// Digests returns the delivered digest files in delivery order.
func (s *Sink) Digests() []*trail.Digest {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*trail.Digest, 0, len(s.digestOrder))
	for _, k := range s.digestOrder {
		out = append(out, s.digests[k])
	}
	return out
}

// List returns the keys of stored log and digest files that start with
// prefix, sorted.
func (s *Sink) List(ctx context.Context, prefix string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var keys []string
	for k := range s.files {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	for k := range s.digests {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys, nil
}

// Get returns the gzip'd body of a stored log or digest file and, for a
// digest, its metadata. A missing key gives an error wrapping
// fs.ErrNotExist.
func (s *Sink) Get(ctx context.Context, key string) ([]byte, map[string]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if f, ok := s.files[key]; ok {
		return f.Body, f.Metadata(), nil
	}
	if d, ok := s.digests[key]; ok {
		return d.Body, d.Metadata(), nil
	}
	return nil, nil, fmt.Errorf("memsink: %s: %w", key, fs.ErrNotExist)
}

// lockFor checks a delivery (context, FailWith, an empty file) and, when it
// may go ahead, returns nil with s.mu held.
func (s *Sink) lockFor(ctx context.Context, empty bool, what string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if empty {
		return fmt.Errorf("memsink: %w: empty %s", trail.ErrPermanent, what)
	}
	s.mu.Lock()
	if s.fail != nil {
		err := s.fail
		s.mu.Unlock()
		return err
	}
	return nil
}
