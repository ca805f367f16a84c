package trail

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Sink stores log files. Deliver must store exactly this file at f.Key, so
// that a redelivery overwrites rather than duplicates, or return an error.
// The recorder retries failed deliveries with backoff; an error wrapping
// ErrPermanent stops the retries. Deliver may be called concurrently (by
// several trails sharing the sink) and must not modify f.
//
// # Optional capabilities
//
// The recorder finds what else a sink can do by type assertion. This is the
// one list of those capabilities (add new ones here):
//
//   - [DigestSink]: stores digest files, create-only (the same bytes again
//     succeed, other bytes fail with ErrConflict); a trail with Validation
//     needs at least one, and digests go to every sink of the trail that
//     has it. Sinks that store objects also store [LogFile.Metadata] with
//     each log file.
//   - [ObjectReader]: reads back what the sink stored; the recorder uses the
//     first DigestSink that is also an ObjectReader to continue a digest
//     chain after a restart (and verify.Store has the same method set).
//   - [MetadataReader]: returns an object's metadata without its body; a
//     fleet's digest writer reads each log file's digest facts
//     ([LogFile.Metadata], stored with the file) through it.
//   - [LeaseStore]: a compare-and-swap object that holds a fleet's digest
//     writer lease (Validation.Fleet).
//   - [Checker]: proves at start-up that the sink can work (filesink: it
//     can write its directory); New, CreateTrail and UpdateTrail refuse a
//     trail whose sink fails it.
//   - io.Closer: Recorder.Close calls Close once after the sink's last
//     delivery (not while a Deliver that ignored its ctx is still running).
//   - fmt.Stringer: names the sink in *DeliveryError and in logs
//     (default: its %T).
type Sink interface {
	Deliver(ctx context.Context, f *LogFile) error
}

// LogFile is one delivered log file: a gzip'd {"Records":[…]} object and what
// digests and stream sinks need to know about it. Sinks must treat it as
// read-only.
type LogFile struct {
	Trail     string // trail name
	Bucket    string // the trail's bucket (may be empty for trails without one)
	Key       string // object key, CloudTrail's layout
	AccountID string // account whose events the file holds
	Region    string // region of the events
	// Body is the gzip'd file, a single gzip member.
	Body []byte
	// JSON is the uncompressed body, {"Records":[…]}.
	JSON []byte
	// SHA256 is the SHA-256 of JSON, as digests record it.
	SHA256 [32]byte
	// Records are the encoded records, sub-slices of JSON, in file order.
	Records []json.RawMessage
	// OldestEventTime and NewestEventTime bound the records' eventTime.
	OldestEventTime, NewestEventTime time.Time
	// Created is when the batch was cut (the time in the file name).
	Created time.Time
	// Instance is Config.Instance of the recorder that cut the file.
	Instance string
}

func sinkName(s Sink) string {
	if st, ok := s.(fmt.Stringer); ok {
		return st.String()
	}
	return fmt.Sprintf("%T", s)
}

// DigestSink is implemented by sinks that can store digest files. A trail
// with Validation needs at least one; digests go to every sink of the trail
// that implements it (stream sinks such as CloudWatch Logs get none). The digest's
// signature must be stored as object metadata "signature" and
// "signature-algorithm" (Digest.Metadata).
type DigestSink interface {
	DeliverDigest(ctx context.Context, d *Digest) error
}

// ObjectReader is implemented by sinks that can read back what they stored;
// the recorder uses it to continue a digest chain after a restart. Its method
// set matches verify.Store, so such a sink can also be verified directly.
type ObjectReader interface {
	// List returns the keys that start with prefix, in lexicographic order.
	List(ctx context.Context, prefix string) ([]string, error)
	// Get returns an object's body and metadata; a missing object gives an
	// error wrapping fs.ErrNotExist.
	Get(ctx context.Context, key string) (body []byte, meta map[string]string, err error)
}
