package notify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/trailkit/trail"
)

// afterLister is verify.AfterLister (listing after a marker).
type afterLister interface {
	ListAfter(ctx context.Context, prefix, startAfter string) ([]string, error)
}

// Sink returns a trail.Sink that delivers each log file to inner and then
// notifies n of it (digest files are not notified, as with CloudTrail).
//
// The returned sink implements trail.DigestSink, trail.ObjectReader and
// ListAfter exactly when inner does, forwarding them, so wrapping changes
// neither digest delivery nor chain resumption. It always implements
// io.Closer: Close closes inner (when it is an io.Closer) and then n,
// publishing what is still waiting. Its String is "notify(<inner>)".
//
// A failed notification fails the delivery. The recorder's retry then does
// not store the file again (the wrapper remembers that inner has it) but
// only notifies: notifications are at least once, log files stored once.
// The message names LogFile.Bucket; Options.Bucket of SinkOptions
// overrides it.
func Sink(inner trail.Sink, n *Notifier) trail.Sink {
	return SinkWithOptions(inner, n, SinkOptions{})
}

// SinkOptions tune the wrapper of SinkWithOptions. The zero value names
// LogFile.Bucket in messages.
type SinkOptions struct {
	// Bucket, if set, is the bucket named in messages instead of
	// LogFile.Bucket (for a trail without Bucket, or a sink that writes
	// elsewhere).
	Bucket string
}

// SinkWithOptions is Sink with options.
func SinkWithOptions(inner trail.Sink, n *Notifier, opts SinkOptions) trail.Sink {
	b := &base{inner: inner, n: n, stored: map[string]struct{}{}, opts: opts}
	d, isD := inner.(trail.DigestSink)
	r, isR := inner.(trail.ObjectReader)
	a, isA := inner.(afterLister)
	dm, rm, am := digestMixin{d}, readerMixin{r}, afterMixin{a}
	switch {
	case isD && isR && isA:
		return &sinkDRA{b, dm, rm, am}
	case isD && isR:
		return &sinkDR{b, dm, rm}
	case isD:
		return &sinkD{b, dm}
	case isR && isA:
		return &sinkRA{b, rm, am}
	case isR:
		return &sinkR{b, rm}
	}
	return b
}

// maxStored bounds the keys stored by inner whose notification failed.
const maxStored = 4096

// base is the wrapper without optional capabilities.
type base struct {
	inner trail.Sink
	n     *Notifier
	opts  SinkOptions

	mu     sync.Mutex
	stored map[string]struct{} // stored by inner, not yet notified
}

// Deliver stores f with the inner sink (unless an earlier attempt did) and
// notifies the Notifier.
func (b *base) Deliver(ctx context.Context, f *trail.LogFile) error {
	if f == nil {
		return fmt.Errorf("notify: %w: nil log file", trail.ErrPermanent)
	}
	bucket := b.opts.Bucket
	if bucket == "" {
		bucket = f.Bucket
	}
	if bucket == "" {
		return fmt.Errorf("notify: %w: log file %s names no bucket (set the trail's Bucket or SinkOptions.Bucket)", trail.ErrPermanent, f.Key)
	}
	b.mu.Lock()
	_, done := b.stored[f.Key]
	b.mu.Unlock()
	if !done {
		if err := b.inner.Deliver(ctx, f); err != nil {
			return err
		}
	}
	if err := b.n.Notify(ctx, bucket, f.Key); err != nil {
		b.mu.Lock()
		if len(b.stored) >= maxStored {
			for k := range b.stored {
				delete(b.stored, k)
				break
			}
		}
		b.stored[f.Key] = struct{}{}
		b.mu.Unlock()
		return fmt.Errorf("notify: %s stored, notification failed: %w", f.Key, err)
	}
	if done {
		b.mu.Lock()
		delete(b.stored, f.Key)
		b.mu.Unlock()
	}
	return nil
}

// Close closes the inner sink if it is an io.Closer, then the Notifier.
func (b *base) Close() error {
	var errs []error
	if c, ok := b.inner.(io.Closer); ok {
		errs = append(errs, c.Close())
	}
	errs = append(errs, b.n.Close())
	return errors.Join(errs...)
}

// String names the sink in errors.
func (b *base) String() string {
	if s, ok := b.inner.(fmt.Stringer); ok {
		return "notify(" + s.String() + ")"
	}
	return fmt.Sprintf("notify(%T)", b.inner)
}

// Unwrap returns the wrapped sink.
func (b *base) Unwrap() trail.Sink { return b.inner }

type digestMixin struct{ d trail.DigestSink }

// DeliverDigest forwards to the inner sink; digests are not notified.
func (m digestMixin) DeliverDigest(ctx context.Context, d *trail.Digest) error {
	return m.d.DeliverDigest(ctx, d)
}

type readerMixin struct{ r trail.ObjectReader }

// List forwards to the inner sink.
func (m readerMixin) List(ctx context.Context, prefix string) ([]string, error) {
	return m.r.List(ctx, prefix)
}

// Get forwards to the inner sink.
func (m readerMixin) Get(ctx context.Context, key string) ([]byte, map[string]string, error) {
	return m.r.Get(ctx, key)
}

type afterMixin struct{ a afterLister }

// ListAfter forwards to the inner sink.
func (m afterMixin) ListAfter(ctx context.Context, prefix, startAfter string) ([]string, error) {
	return m.a.ListAfter(ctx, prefix, startAfter)
}

type (
	sinkD struct {
		*base
		digestMixin
	}
	sinkR struct {
		*base
		readerMixin
	}
	sinkRA struct {
		*base
		readerMixin
		afterMixin
	}
	sinkDR struct {
		*base
		digestMixin
		readerMixin
	}
	sinkDRA struct {
		*base
		digestMixin
		readerMixin
		afterMixin
	}
)
