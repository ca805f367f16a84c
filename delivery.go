package trail

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"
)

// Sink stores log files. Deliver must store exactly this file at f.Key, so
// that a redelivery overwrites rather than duplicates, or return an error.
// The recorder retries failed deliveries with backoff; an error wrapping
// ErrPermanent stops the retries. Deliver may be called concurrently (by
// several trails sharing the sink) and must not modify f.
//
// A sink may also implement io.Closer (called by Recorder.Close after the last
// delivery) and, for log file validation, DigestSink.
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
}

// OverflowPolicy says what Record does when the ingest queue is full.
type OverflowPolicy int

const (
	// Block waits for room, bounded by Record's ctx (the default).
	Block OverflowPolicy = iota
	// Reject returns ErrOverloaded at once.
	Reject
	// Drop discards the event, counts it in Stats.Dropped, reports it to
	// Config.OnError and returns nil.
	Drop
)

// RetryPolicy controls redelivery of failed files. Zero fields take defaults.
type RetryPolicy struct {
	// Initial is the delay before the first retry (default 1s).
	Initial time.Duration
	// Max caps the delay between attempts (default 5m).
	Max time.Duration
	// MaxAttempts stops retrying after this many attempts. 0 means
	// DefaultMaxAttempts without a spool (about 14 minutes of retries with
	// the default delays) and UnlimitedAttempts with one (the files wait on
	// disk). UnlimitedAttempts retries until the file is delivered or
	// Close's context ends.
	MaxAttempts int
}

// DefaultMaxAttempts is RetryPolicy.MaxAttempts's default without a spool.
const DefaultMaxAttempts = 10

// UnlimitedAttempts as RetryPolicy.MaxAttempts retries without end (until
// Close's context ends).
const UnlimitedAttempts = -1

func (p RetryPolicy) withDefaults(spooled bool) RetryPolicy {
	if p.MaxAttempts == 0 {
		p.MaxAttempts = DefaultMaxAttempts
		if spooled {
			p.MaxAttempts = UnlimitedAttempts
		}
	}
	if p.Initial <= 0 {
		p.Initial = time.Second
	}
	if p.Max <= 0 {
		p.Max = 5 * time.Minute
	}
	if p.Max < p.Initial {
		p.Max = p.Initial
	}
	return p
}

// backoff returns the delay before attempt n+1 (n ≥ 1): exponential with
// "equal jitter", between half and all of min(Max, Initial·2^(n-1)).
func (p RetryPolicy) backoff(n int) time.Duration {
	d := p.Initial
	for i := 1; i < n && d < p.Max; i++ {
		d *= 2
	}
	if d > p.Max {
		d = p.Max
	}
	half := d / 2
	return half + rand.N(d-half+1)
}

// batchKey identifies one stream of log files.
type batchKey struct {
	trail   *trailState
	account string
	region  string
}

// batch accumulates encoded records for one (trail, account, region).
type batch struct {
	key            batchKey
	first, last    uint64 // spool log indexes of its first and last event
	spooled        bool   // its events are in the spool
	buf            []byte // `{"Records":[` + records joined by ','
	ends           []int  // end offset of each record in buf
	oldest, newest time.Time
	deadline       time.Time
}

const recordsOpen = `{"Records":[`

func (b *batch) reset() {
	// Size the new body like the last one of this stream (plus a little),
	// so that a busy stream does not regrow its buffer by doubling.
	size := 64 << 10
	if n := len(b.buf) + len(b.buf)/8; n > size {
		size = n
	}
	b.buf = append(make([]byte, 0, size), recordsOpen...)
	b.ends = b.ends[:0] // LogFile.Records was copied out of it
	b.oldest, b.newest = time.Time{}, time.Time{}
	b.spooled = false
}

func (b *batch) add(rec []byte, t time.Time) {
	if len(b.ends) > 0 {
		b.buf = append(b.buf, ',')
	}
	b.buf = append(b.buf, rec...)
	b.ends = append(b.ends, len(b.buf))
	if b.oldest.IsZero() || t.Before(b.oldest) {
		b.oldest = t
	}
	if t.After(b.newest) {
		b.newest = t
	}
}

// size is the body size if rec were added now.
func (b *batch) sizeWith(rec []byte) int { return len(b.buf) + 1 + len(rec) + 2 }

var gzipPool = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(nil, gzip.DefaultCompression)
	return w
}}

// gzipBytes compresses body as a single gzip member.
func gzipBytes(body []byte) ([]byte, error) {
	var out bytes.Buffer
	out.Grow(len(body)/6 + 64)
	zw := gzipPool.Get().(*gzip.Writer)
	defer gzipPool.Put(zw)
	zw.Reset(&out)
	if _, err := zw.Write(body); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// finish turns the batch into a LogFile (the batch must not be empty) and
// resets the batch.
func (b *batch) finish(t *Trail, now time.Time) (*LogFile, error) {
	body := append(b.buf, ']', '}')
	recs := make([]json.RawMessage, len(b.ends))
	start := len(recordsOpen)
	for i, end := range b.ends {
		recs[i] = body[start:end:end]
		start = end + 1
	}
	gz, err := gzipBytes(body)
	if err != nil {
		return nil, fmt.Errorf("trail: gzip log file: %w", err)
	}
	f := &LogFile{
		Trail:           t.Name,
		Bucket:          t.Bucket,
		AccountID:       b.key.account,
		Region:          b.key.region,
		Body:            gz,
		JSON:            body,
		SHA256:          sha256.Sum256(body),
		Records:         recs,
		OldestEventTime: b.oldest,
		NewestEventTime: b.newest,
		Created:         now.UTC(),
	}
	f.Key = LogFileKey(t.Prefix, t.Organization, b.key.account, b.key.region, now, uniqueString())
	b.reset()
	return f, nil
}

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// uniqueString returns CloudTrail's 16-character [A-Za-z0-9] file-name suffix.
func uniqueString() string {
	var b [16]byte
	for i := range b {
		b[i] = alnum[rand.N(len(alnum))]
	}
	return string(b[:])
}

// LogFileKey returns the S3 key CloudTrail gives a log file:
//
//	[prefix/]AWSLogs/[orgID/]account/CloudTrail/region/YYYY/MM/DD/account_CloudTrail_region_YYYYMMDDTHHmmZ_unique.json.gz
//
// t is the delivery time (UTC is used); unique is the 16-character suffix.
func LogFileKey(prefix, orgID, account, region string, t time.Time, unique string) string {
	t = t.UTC()
	b := make([]byte, 0, 160)
	b = appendKeyBase(b, prefix, orgID, account)
	b = append(b, "CloudTrail/"...)
	b = append(b, region...)
	b = append(b, '/')
	b = t.AppendFormat(b, "2006/01/02/")
	b = append(b, account...)
	b = append(b, "_CloudTrail_"...)
	b = append(b, region...)
	b = append(b, '_')
	b = t.AppendFormat(b, "20060102T1504Z")
	b = append(b, '_')
	b = append(b, unique...)
	b = append(b, ".json.gz"...)
	return string(b)
}

// appendKeyBase appends "[prefix/]AWSLogs/[orgID/]account/".
func appendKeyBase(b []byte, prefix, orgID, account string) []byte {
	if prefix != "" {
		b = append(b, prefix...)
		b = append(b, '/')
	}
	b = append(b, "AWSLogs/"...)
	if orgID != "" {
		b = append(b, orgID...)
		b = append(b, '/')
	}
	b = append(b, account...)
	return append(b, '/')
}

// sinkJob is one unit of work for a sink worker: a file to deliver, or a
// barrier that Flush waits on.
type sinkJob struct {
	file    *LogFile
	digest  *Digest
	barrier *sync.WaitGroup
	sf      *spoolFile // spool mode: released when the sink has it
}

// sinkWorker owns one sink of one trail: its queue and its retry loop.
type sinkWorker struct {
	rec   *Recorder
	trail *trailState
	sink  Sink
	name  string
	queue chan sinkJob

	// Spool mode: files that wait in the spool for this sink, rebuilt
	// when the worker gets to them.
	pmu    sync.Mutex
	parked []*spoolFile
	pkick  chan struct{}
}

func sinkName(s Sink) string {
	if st, ok := s.(fmt.Stringer); ok {
		return st.String()
	}
	return fmt.Sprintf("%T", s)
}

func (w *sinkWorker) run() {
	defer w.rec.workers.Done()
	for {
		select {
		case job, ok := <-w.queue:
			if !ok {
				w.drainParked()
				return
			}
			if job.barrier != nil {
				w.drainParked()
				job.barrier.Done()
				continue
			}
			w.deliver(job)
			if len(w.queue) == 0 {
				w.drainParked()
			}
		case <-w.pkick:
			w.drainParked()
		}
	}
}

func (w *sinkWorker) attempt(ctx context.Context, job sinkJob) error {
	if job.digest != nil {
		return w.sink.(DigestSink).DeliverDigest(ctx, job.digest)
	}
	return w.sink.Deliver(ctx, job.file)
}

// deliver tries until the file is stored, the error is permanent, the
// attempts are used up, or the recorder's delivery context ends (Close ran
// out of time).
func (w *sinkWorker) deliver(job sinkJob) {
	r := w.rec
	ctx := r.deliverCtx
	for attempt := 1; ; attempt++ {
		err := w.attempt(ctx, job)
		if err == nil {
			if d := job.digest; d != nil {
				r.stats.digestsDelivered.Add(1)
				w.trail.noteDigestDelivered(d)
				if job.sf != nil {
					r.spool.stored(job.sf)
				}
				return
			}
			r.stats.filesDelivered.Add(1)
			r.stats.bytesDelivered.Add(uint64(len(job.file.Body)))
			w.trail.noteDelivered(job.file)
			if job.sf != nil {
				r.spool.stored(job.sf)
			}
			return
		}
		final := errors.Is(err, ErrPermanent) || ctx.Err() != nil ||
			(r.retry.MaxAttempts > 0 && attempt >= r.retry.MaxAttempts)
		de := &DeliveryError{Trail: w.trail.name, Sink: w.name, Attempt: attempt, Final: final, Err: err}
		if job.digest != nil {
			de.Key, de.Digest = job.digest.Key, true
		} else {
			de.Key, de.Records = job.file.Key, len(job.file.Records)
		}
		if !final {
			de.Backoff = r.retry.backoff(attempt)
		}
		w.trail.noteFailure(de)
		r.reportDelivery(de)
		if final {
			if job.digest != nil {
				r.stats.digestsFailed.Add(1)
			} else {
				r.stats.filesFailed.Add(1)
			}
			r.noteLost(de, job.sf != nil)
			return
		}
		r.stats.retries.Add(1)
		t := time.NewTimer(de.Backoff)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
	}
}
