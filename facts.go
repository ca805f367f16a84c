package trail

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"
)

// This file holds the storage primitives of fleet mode (see fleet.go): the
// facts a digest needs about a log file, stored with the file as object
// metadata; create-only digest writes; and the compare-and-swap object a
// lease is held in. They are optional sink capabilities, found by type
// assertion:
//
//   - every sink that stores objects (memsink, filesink, s3sink) stores
//     LogFile.Metadata() with each log file and implements MetadataReader;
//   - DigestSink.DeliverDigest is create-only: storing a digest at a key that
//     holds identical bytes succeeds, different bytes fail with an error
//     wrapping ErrConflict (and ErrPermanent);
//   - LeaseStore holds fleet leases (S3 conditional writes, a lock file for
//     filesink, a mutex for memsink).

// Object metadata names of a log file's digest facts (S3 x-amz-meta-*,
// filesink's sidecar, memsink).
const (
	MetaSHA256          = "sha256"            // lower-case hex SHA-256 of the uncompressed body
	MetaOldestEventTime = "oldest-event-time" // TimeFormat
	MetaNewestEventTime = "newest-event-time" // TimeFormat
	MetaCreated         = "created"           // when the batch was cut, RFC 3339 with nanoseconds
	MetaInstance        = "instance"          // Config.Instance of the recorder that wrote it
)

// LogFileFacts are what a digest entry needs about a log file, and when and
// by whom the file was cut. A digest writer reads them back from the object
// metadata instead of the file's body.
type LogFileFacts struct {
	SHA256                           [32]byte
	OldestEventTime, NewestEventTime time.Time
	Created                          time.Time
	Instance                         string
}

// Facts returns the file's digest facts.
func (f *LogFile) Facts() LogFileFacts {
	return LogFileFacts{SHA256: f.SHA256, OldestEventTime: f.OldestEventTime, NewestEventTime: f.NewestEventTime,
		Created: f.Created, Instance: f.Instance}
}

// Metadata returns the object metadata a sink stores with the log file: its
// digest facts (MetaSHA256, MetaOldestEventTime, MetaNewestEventTime,
// MetaCreated, MetaInstance).
func (f *LogFile) Metadata() map[string]string { return f.Facts().Metadata() }

// Metadata encodes the facts as object metadata.
func (x LogFileFacts) Metadata() map[string]string {
	m := map[string]string{
		MetaSHA256:          hex.EncodeToString(x.SHA256[:]),
		MetaOldestEventTime: x.OldestEventTime.UTC().Format(TimeFormat),
		MetaNewestEventTime: x.NewestEventTime.UTC().Format(TimeFormat),
		MetaCreated:         x.Created.UTC().Format(time.RFC3339Nano),
	}
	if x.Instance != "" {
		m[MetaInstance] = x.Instance
	}
	return m
}

// ErrNoFacts is wrapped by ParseLogFileFacts when the metadata lacks or
// garbles a fact.
var ErrNoFacts = errors.New("trail: object metadata holds no log file facts")

// ParseLogFileFacts decodes facts stored by LogFileFacts.Metadata. Names
// are matched as stored (lower case).
func ParseLogFileFacts(meta map[string]string) (LogFileFacts, error) {
	var x LogFileFacts
	h, err := hex.DecodeString(meta[MetaSHA256])
	if err != nil || len(h) != 32 || hex.EncodeToString(h) != meta[MetaSHA256] {
		return x, fmt.Errorf("%w: %s %q", ErrNoFacts, MetaSHA256, meta[MetaSHA256])
	}
	copy(x.SHA256[:], h)
	if x.OldestEventTime, err = time.Parse(TimeFormat, meta[MetaOldestEventTime]); err != nil {
		return x, fmt.Errorf("%w: %s: %w", ErrNoFacts, MetaOldestEventTime, err)
	}
	if x.NewestEventTime, err = time.Parse(TimeFormat, meta[MetaNewestEventTime]); err != nil {
		return x, fmt.Errorf("%w: %s: %w", ErrNoFacts, MetaNewestEventTime, err)
	}
	if x.Created, err = time.Parse(time.RFC3339Nano, meta[MetaCreated]); err != nil {
		return x, fmt.Errorf("%w: %s: %w", ErrNoFacts, MetaCreated, err)
	}
	x.Instance = meta[MetaInstance]
	return x, nil
}

// MetadataReader is implemented by sinks that can return an object's
// metadata without its body (S3 HeadObject). A digest writer uses it to
// read log file facts; without it, it falls back to ObjectReader.Get.
type MetadataReader interface {
	// Metadata returns the object's user metadata (lower-case names); a
	// missing object gives an error wrapping fs.ErrNotExist.
	Metadata(ctx context.Context, key string) (map[string]string, error)
}

// ErrConflict is wrapped by create-only and compare-and-swap writes that
// found something else in place: a digest key holding different bytes, or
// a lease object changed since it was read. Such errors also wrap
// ErrPermanent, so the recorder does not retry them.
var ErrConflict = errors.New("trail: conflicting write")

// LeaseStore is implemented by sinks that can hold a fleet lease: a small
// object written with compare-and-swap. Versions are opaque (an S3 ETag, a
// hash of the content).
type LeaseStore interface {
	// ReadLease returns the object at key and its version; a missing object
	// gives an error wrapping fs.ErrNotExist.
	ReadLease(ctx context.Context, key string) (data []byte, version string, err error)
	// WriteLease stores data at key if the stored object still has version
	// (version "" means: only if no object exists) and returns the new
	// version; otherwise it returns an error wrapping ErrConflict.
	WriteLease(ctx context.Context, key string, data []byte, version string) (newVersion string, err error)
}

// DefaultInstance returns the default Config.Instance: "<hostname>-<pid>".
func DefaultInstance() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		h = "host"
	}
	return h + "-" + strconv.Itoa(os.Getpid())
}

func validateInstance(s string) error {
	if len(s) > 128 {
		return configErr("Instance %q: longer than 128 characters", s)
	}
	for _, c := range s {
		if c < 0x20 || c == 0x7f || c == '/' || c == '\\' {
			return configErr("Instance %q: control character, '/' or '\\'", s)
		}
	}
	return nil
}
