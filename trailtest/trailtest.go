// Package trailtest is a testing kit for code that records trail events:
// a recorder wired to an in-memory sink, and assertions over what it
// delivered.
//
//	func TestCreateOrderIsAudited(t *testing.T) {
//		rec := trailtest.NewRecorder(t)
//		h := trailhttp.Handler(rec.Recorder, newOrdersMux(), trailhttp.Options{EventSource: "orders.example.com"})
//
//		w := httptest.NewRecorder()
//		h.ServeHTTP(w, httptest.NewRequest("POST", "/orders", strings.NewReader(`{"item":"book"}`)))
//
//		ev := rec.RequireEvent(t, trailtest.Filter{EventName: "POST /orders"})
//		assert.Equal(t, w.Header().Get("X-Audit-Id"), ev.EventID)
//		assert.Empty(t, ev.ErrorCode)
//	}
//
// The query methods (Events, FindEvents, RequireEvent, …) flush the recorder
// first, so they see every event recorded before they were called. The
// recorder is closed when the test ends.
package trailtest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/trailkit/trail"
	"github.com/trailkit/trail/sink/memsink"
)

// Matchers, re-exported from memsink so that tests need one import.
type (
	// Filter matches events by field; see memsink.Filter.
	Filter = memsink.Filter
	// Matcher selects events; see memsink.Matcher.
	Matcher = memsink.Matcher
	// MatchFunc adapts a function to a Matcher.
	MatchFunc = memsink.MatchFunc
)

// Defaults of the recorder's configuration.
const (
	AccountID = "111122223333"
	Region    = "us-east-1"
	TrailName = "test"
	Bucket    = "test-bucket"
)

// Option changes the configuration NewRecorder passes to trail.New, after
// the defaults are set. Config.Trails[0] is the test trail.
type Option func(*trail.Config)

// WithTrail returns an Option that changes the test trail, for example to
// select data events:
//
//	trailtest.WithTrail(func(t *trail.Trail) {
//		t.Data = []trail.DataResource{{Type: "AWS::S3::Object", Values: []string{"arn:aws:s3"}}}
//	})
func WithTrail(f func(*trail.Trail)) Option {
	return func(c *trail.Config) {
		if len(c.Trails) > 0 {
			f(&c.Trails[0])
		}
	}
}

// Recorder is a trail.Recorder whose one trail delivers to Sink. Its
// methods that read events flush the recorder first.
type Recorder struct {
	*trail.Recorder
	// Sink holds the delivered log files and events.
	Sink *memsink.Sink

	tb   testing.TB
	mu   sync.Mutex
	errs []error
}

// CloseTimeout bounds the Close that runs when the test ends, and every
// flush of the query methods.
const CloseTimeout = 30 * time.Second

// NewRecorder returns a recorder for account AccountID and region Region
// with one multi-region trail, TrailName, that takes every management event
// and delivers to a new memsink. Options may change any of it. It fails the
// test if trail.New refuses the configuration. The recorder is closed (and
// so flushed) by t.Cleanup; errors reported to Config.OnError are logged
// then.
func NewRecorder(t testing.TB, opts ...Option) *Recorder {
	t.Helper()
	r := &Recorder{Sink: memsink.New(), tb: t}
	cfg := trail.Config{
		AccountID: AccountID,
		Region:    Region,
		Trails: []trail.Trail{{
			Name: TrailName, Bucket: Bucket, MultiRegion: true,
			Sinks: []trail.Sink{r.Sink},
		}},
		OnError: func(err error) {
			r.mu.Lock()
			r.errs = append(r.errs, err)
			r.mu.Unlock()
		},
	}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	rec, err := trail.New(cfg)
	if err != nil {
		t.Fatalf("trailtest: %v", err)
	}
	r.Recorder = rec
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), CloseTimeout)
		defer cancel()
		if err := rec.Close(ctx); errors.Is(err, trail.ErrUndelivered) {
			// Failed deliveries are the test's business (see Errors).
			t.Logf("trailtest: close recorder: %v", err)
		} else if err != nil {
			t.Errorf("trailtest: close recorder: %v", err)
		}
		for _, err := range r.Errors() {
			t.Logf("trailtest: recorder reported: %v", err)
		}
	})
	return r
}

// Errors returns the errors the recorder reported to Config.OnError so far
// (failed deliveries, dropped events).
func (r *Recorder) Errors() []error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]error(nil), r.errs...)
}

// flush delivers everything recorded so far. After Close there is nothing
// left to flush and the sink is complete.
func (r *Recorder) flush(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), CloseTimeout)
	defer cancel()
	if err := r.Recorder.Flush(ctx); err != nil && !errors.Is(err, trail.ErrClosed) {
		t.Errorf("trailtest: flush: %v", err)
	}
}

// Events flushes the recorder and returns every delivered event, in
// delivery order. A failed flush is reported with Errorf on the test given
// to NewRecorder.
func (r *Recorder) Events() []trail.Event {
	r.tb.Helper()
	r.flush(r.tb)
	return r.Sink.Events()
}

// FindEvents flushes the recorder and returns the delivered events that m
// matches (all of them if m is nil).
func (r *Recorder) FindEvents(m Matcher) []trail.Event {
	r.tb.Helper()
	r.flush(r.tb)
	return r.Sink.FindEvents(m)
}

// RequireEvent flushes the recorder and returns the one delivered event m
// matches; otherwise it fails t with Fatalf, listing the delivered events.
// Pass the test (or subtest) that calls it.
func (r *Recorder) RequireEvent(t testing.TB, m Matcher) trail.Event {
	t.Helper()
	r.flush(t)
	return r.Sink.RequireEvent(t, m)
}

// RequireEvents flushes the recorder and returns the delivered events m
// matches, failing t with Fatalf unless there are exactly n.
func (r *Recorder) RequireEvents(t testing.TB, m Matcher, n int) []trail.Event {
	t.Helper()
	r.flush(t)
	return r.Sink.RequireEvents(t, m, n)
}

// RequireNoEvent flushes the recorder and fails t with Fatalf if a delivered
// event matches m.
func (r *Recorder) RequireNoEvent(t testing.TB, m Matcher) {
	t.Helper()
	r.flush(t)
	r.Sink.RequireNoEvent(t, m)
}

// Reset flushes the recorder and forgets every delivered event, so that a
// test can assert on what happens next.
func (r *Recorder) Reset() {
	r.tb.Helper()
	r.flush(r.tb)
	r.Sink.Reset()
}
