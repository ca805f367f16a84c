package trail_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/trailkit/trail"
	"github.com/trailkit/trail/sink/memsink"
)

// deafSink blocks every delivery until released, ignoring its ctx.
type deafSink struct {
	release chan struct{}
	started atomic.Int64
}

func (s *deafSink) Deliver(context.Context, *trail.LogFile) error {
	s.started.Add(1)
	<-s.release
	return nil
}

func (s *deafSink) String() string { return "deaf" }

// stuckStore is a HistoryStore whose Append blocks until released,
// ignoring its ctx.
type stuckStore struct {
	release chan struct{}
	calls   atomic.Int64
	events  atomic.Int64
}

func (s *stuckStore) Append(_ context.Context, evs []trail.Event) error {
	s.calls.Add(1)
	<-s.release
	s.events.Add(int64(len(evs)))
	return nil
}

func (s *stuckStore) Lookup(context.Context, *trail.QueryInput) (*trail.QueryOutput, error) {
	return &trail.QueryOutput{}, nil
}

// failStore is a HistoryStore whose Append always fails.
type failStore struct{ stuckStore }

func (s *failStore) Append(context.Context, []trail.Event) error { return errors.New("disk full") }

// within asserts that Close, called at start with a ctx of timeout d,
// returned by the deadline plus a few milliseconds.
func within(t *testing.T, start time.Time, d time.Duration) {
	t.Helper()
	took := time.Since(start)
	assert.GreaterOrEqual(t, took, d, "Close waited for its ctx")
	assert.LessOrEqual(t, took, d+10*time.Millisecond, "Close returned by its deadline")
}

func TestCloseBoundedWhenSinkIgnoresContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		deaf := &deafSink{release: make(chan struct{})}
		defer close(deaf.release)
		sibling, other := memsink.New(), memsink.New()
		errs := &errorLog{}
		rec := newRecorder(t, trail.Config{OnError: errs.add, Trails: []trail.Trail{
			{Name: "stuck", MaxRecords: 1, Sinks: []trail.Sink{deaf, sibling}},
			{Name: "other", MaxRecords: 1, Sinks: []trail.Sink{other}},
		}})
		for i := range 3 {
			require.NoError(t, rec.Record(context.Background(), mkEvent(fmt.Sprint("e", i))))
		}
		synctest.Wait()
		assert.EqualValues(t, 1, deaf.started.Load(), "one delivery hangs")
		assert.Len(t, sibling.Files(), 3, "the stuck sink's sibling keeps delivering")
		assert.Len(t, other.Files(), 3, "another trail keeps delivering")

		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		start := time.Now()
		err := rec.Close(ctx)
		within(t, start, 10*time.Second)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		var ce *trail.CloseError
		require.ErrorAs(t, err, &ce)
		assert.Equal(t, []trail.SinkBacklog{{Trail: "stuck", Sink: "deaf", Files: 3, Records: 3}}, ce.Sinks)
		assert.Zero(t, ce.Events)
		assert.Zero(t, ce.HistoryEvents)
		assert.Contains(t, err.Error(), `trail "stuck" sink deaf: 3 file(s), 3 record(s)`)
		assert.ErrorIs(t, rec.Record(context.Background(), mkEvent("after")), trail.ErrClosed)
	})
}

func TestCloseBoundedWhenStoreBlocks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &stuckStore{release: make(chan struct{})}
		defer close(store.release)
		sink := memsink.New()
		errs := &errorLog{}
		rec := newRecorder(t, trail.Config{History: store, OnError: errs.add, Trails: []trail.Trail{
			{Name: "main", MaxRecords: 1000, Sinks: []trail.Sink{sink}},
		}})
		// More events than the history queue and the batcher's open
		// history batch hold, in whole files.
		n := (trail.HistoryQueueEvents/1000 + 2) * 1000
		for i := range n {
			require.NoError(t, rec.Record(context.Background(), mkEvent(fmt.Sprint("e", i))))
		}
		synctest.Wait()
		assert.Len(t, sink.Files(), n/1000, "a blocked store does not stall delivery")
		assert.EqualValues(t, 1, store.calls.Load(), "one Append hangs")
		st := rec.Stats()
		require.NotZero(t, st.HistoryDropped, "what the full history queue could not take is counted")
		var lost int
		for _, err := range errs.all() {
			var he *trail.HistoryError
			if errors.As(err, &he) {
				lost += he.Events
			}
		}
		assert.EqualValues(t, st.HistoryDropped, lost, "and reported")

		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		start := time.Now()
		err := rec.Close(ctx)
		within(t, start, 5*time.Second)
		var ce *trail.CloseError
		require.ErrorAs(t, err, &ce)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Empty(t, ce.Sinks, "every file was delivered")
		assert.Equal(t, n-int(st.HistoryDropped), ce.HistoryEvents, "the events history did not keep")
		assert.Contains(t, err.Error(), fmt.Sprintf("history: %d event(s) not kept", ce.HistoryEvents))
	})
}

func TestHistoryAppendFailureIsReported(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sink := memsink.New()
		errs := &errorLog{}
		rec := newRecorder(t, trail.Config{History: &failStore{}, OnError: errs.add,
			Trails: []trail.Trail{{Name: "main", Sinks: []trail.Sink{sink}}}})
		for i := range 10 {
			require.NoError(t, rec.Record(context.Background(), mkEvent(fmt.Sprint("e", i))))
		}
		require.NoError(t, rec.Flush(context.Background()))
		require.NoError(t, rec.Close(context.Background()))
		st := rec.Stats()
		assert.EqualValues(t, 10, st.HistoryDropped)
		assert.NotZero(t, st.HistoryErrors)
		var he *trail.HistoryError
		for _, err := range errs.all() {
			if errors.As(err, &he) {
				break
			}
		}
		require.NotNil(t, he)
		assert.ErrorContains(t, he, "disk full")
		assert.Len(t, sink.Events(), 10, "delivery is not affected")
	})
}

func TestCompressionLevel(t *testing.T) {
	for _, tc := range []struct {
		level int
		ok    bool
	}{{0, true}, {1, true}, {6, true}, {9, true}, {-1, false}, {10, false}} {
		t.Run(fmt.Sprint(tc.level), func(t *testing.T) {
			sink := memsink.New()
			if !tc.ok {
				_, err := trail.New(trail.Config{AccountID: testAccount, Region: testRegion,
					Trails: []trail.Trail{{Name: "main", CompressionLevel: tc.level, Sinks: []trail.Sink{sink}}}})
				assert.ErrorIs(t, err, trail.ErrInvalidConfig)
				return
			}
			rec := newRecorder(t, trail.Config{Trails: []trail.Trail{{Name: "main", CompressionLevel: tc.level, Sinks: []trail.Sink{sink}}}})
			require.NoError(t, rec.Record(context.Background(), mkEvent("x")))
			require.NoError(t, rec.Close(context.Background()))
			assert.Len(t, sink.Events(), 1)
		})
	}
}
