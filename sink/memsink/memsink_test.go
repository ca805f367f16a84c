package memsink_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/trailkit/trail"
	"github.com/trailkit/trail/sink/memsink"
)

var when = time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)

// logFile builds a log file at key holding one record per name.
func logFile(key string, names ...string) *trail.LogFile {
	f := &trail.LogFile{Trail: "main", Key: key, AccountID: "111122223333", Region: "us-east-1"}
	for i, n := range names {
		e := trail.Event{EventVersion: trail.EventVersion, EventSource: "orders.example.com", EventName: n,
			EventTime: when.Add(time.Duration(i) * time.Second), AWSRegion: "us-east-1",
			EventID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i), EventType: trail.EventTypeAPICall,
			EventCategory: trail.CategoryManagement, RecipientAccountID: "111122223333"}
		f.Records = append(f.Records, e.AppendJSON(nil))
	}
	return f
}

func names(evs []trail.Event) []string {
	out := []string{}
	for _, e := range evs {
		out = append(out, e.EventName)
	}
	return out
}

func TestAccessors(t *testing.T) {
	ctx := context.Background()
	s := memsink.New()
	assert.Equal(t, "memsink", s.String())
	assert.Empty(t, s.Files())
	assert.Empty(t, s.Events())
	assert.Empty(t, s.Keys())

	fb, fa := logFile("b/key", "CreateOrder", "GetOrder"), logFile("a/key", "DeleteOrder")
	require.NoError(t, s.Deliver(ctx, fb))
	require.NoError(t, s.Deliver(ctx, fa))

	assert.Equal(t, []*trail.LogFile{fb, fa}, s.Files(), "Files: delivery order")
	assert.Equal(t, []string{"a/key", "b/key"}, s.Keys(), "Keys: sorted")
	got, ok := s.File("a/key")
	require.True(t, ok)
	assert.Same(t, fa, got)
	_, ok = s.File("missing")
	assert.False(t, ok)

	evs := s.Events()
	assert.Equal(t, []string{"CreateOrder", "GetOrder", "DeleteOrder"}, names(evs), "Events: delivery order")
	assert.Equal(t, when, evs[0].EventTime)
	assert.Equal(t, trail.CategoryManagement, evs[0].EventCategory)

	tests := []struct {
		name  string
		match func(*trail.Event) bool
		want  []string
	}{
		{"by name", func(e *trail.Event) bool { return e.EventName == "GetOrder" }, []string{"GetOrder"}},
		{"by time", func(e *trail.Event) bool { return e.EventTime.Equal(when) }, []string{"CreateOrder", "DeleteOrder"}},
		{"none", func(e *trail.Event) bool { return false }, []string{}},
		{"all", func(e *trail.Event) bool { return true }, []string{"CreateOrder", "GetOrder", "DeleteOrder"}},
	}
	for _, tc := range tests {
		t.Run("FindEvents/"+tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, names(s.FindEvents(memsink.MatchFunc(tc.match))))
		})
	}

	// The slices handed out are copies.
	evs[0].EventName = "changed"
	files := s.Files()
	files[0] = nil
	assert.Equal(t, "CreateOrder", s.Events()[0].EventName)
	assert.NotNil(t, s.Files()[0])
}

func TestRedelivery(t *testing.T) {
	ctx := context.Background()
	s := memsink.New()
	require.NoError(t, s.Deliver(ctx, logFile("k1", "A", "B")))
	require.NoError(t, s.Deliver(ctx, logFile("k2", "C")))

	// The same file again: overwritten, not duplicated.
	require.NoError(t, s.Deliver(ctx, logFile("k1", "A", "B")))
	assert.ElementsMatch(t, []string{"A", "B", "C"}, names(s.Events()))
	assert.Len(t, s.Files(), 2)
	assert.Equal(t, []string{"k1", "k2"}, s.Keys())

	// Other content at the same key replaces the earlier file's events.
	require.NoError(t, s.Deliver(ctx, logFile("k1", "D")))
	assert.ElementsMatch(t, []string{"C", "D"}, names(s.Events()))
	f, ok := s.File("k1")
	require.True(t, ok)
	assert.Len(t, f.Records, 1)
	assert.Len(t, s.Files(), 2)
}

func TestReset(t *testing.T) {
	ctx := context.Background()
	s := memsink.New()
	require.NoError(t, s.Deliver(ctx, logFile("k1", "A")))
	s.Reset()
	assert.Empty(t, s.Files())
	assert.Empty(t, s.Events())
	assert.Empty(t, s.Keys())
	_, ok := s.File("k1")
	assert.False(t, ok)
	require.NoError(t, s.Deliver(ctx, logFile("k1", "B")))
	assert.Equal(t, []string{"B"}, names(s.Events()), "usable after Reset; the old key is not a redelivery")
}

func TestFailWith(t *testing.T) {
	ctx := context.Background()
	s := memsink.New()
	boom := errors.New("boom")
	s.FailWith(boom)
	assert.ErrorIs(t, s.Deliver(ctx, logFile("k1", "A")), boom)
	assert.Empty(t, s.Files(), "a failed delivery stores nothing")
	s.FailWith(nil)
	require.NoError(t, s.Deliver(ctx, logFile("k1", "A")))
	assert.Len(t, s.Events(), 1)
}

func TestDeliverErrors(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name    string
		ctx     context.Context
		file    *trail.LogFile
		wantErr error
	}{
		{"nil file", context.Background(), nil, trail.ErrPermanent},
		{"empty key", context.Background(), logFile("", "A"), trail.ErrPermanent},
		{"record is not JSON", context.Background(), &trail.LogFile{Key: "k", Records: []json.RawMessage{json.RawMessage(`{"eventName":`)}}, trail.ErrPermanent},
		{"canceled context", canceled, logFile("k", "A"), context.Canceled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := memsink.New()
			assert.ErrorIs(t, s.Deliver(tc.ctx, tc.file), tc.wantErr)
			assert.Empty(t, s.Files())
			assert.Empty(t, s.Events())
		})
	}
}

// TestConcurrentUse delivers and reads from many goroutines (run with -race).
func TestConcurrentUse(t *testing.T) {
	ctx := context.Background()
	s := memsink.New()
	const writers, perWriter = 8, 50
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				key := fmt.Sprintf("w%d/%d", w, i)
				if err := s.Deliver(ctx, logFile(key, key+"-a", key+"-b")); err != nil {
					t.Error(err)
				}
				if i%10 == 0 { // a redelivery now and then
					if err := s.Deliver(ctx, logFile(key, key+"-a", key+"-b")); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	for range 4 {
		wg.Go(func() {
			for range 100 {
				_ = s.Events()
				_ = s.Files()
				_ = s.Keys()
				_ = s.FindEvents(memsink.MatchFunc(func(e *trail.Event) bool { return e.EventName == "w0/0-a" }))
				_, _ = s.File("w1/1")
			}
		})
	}
	wg.Wait()
	assert.Len(t, s.Files(), writers*perWriter)
	assert.Len(t, s.Events(), 2*writers*perWriter)
}

// TestWithRecorder uses the sink the way its users do.
func TestWithRecorder(t *testing.T) {
	t.Run("delivers", func(t *testing.T) {
		ctx := context.Background()
		s := memsink.New()
		rec, err := trail.New(trail.Config{AccountID: "111122223333", Region: "us-east-1",
			Trails: []trail.Trail{{Name: "main", Sinks: []trail.Sink{s}}}})
		require.NoError(t, err)
		for _, n := range []string{"CreateOrder", "GetOrder"} {
			require.NoError(t, rec.Record(ctx, &trail.Event{EventSource: "orders.example.com", EventName: n}))
		}
		require.NoError(t, rec.Close(ctx))
		assert.Equal(t, []string{"CreateOrder", "GetOrder"}, names(s.Events()))
		require.Len(t, s.Files(), 1)
		assert.Regexp(t, `^AWSLogs/111122223333/CloudTrail/us-east-1/`, s.Keys()[0])
	})

	t.Run("FailWith a permanent error is not retried", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ctx := context.Background()
			s := memsink.New()
			s.FailWith(fmt.Errorf("%w: access denied", trail.ErrPermanent))
			rec, err := trail.New(trail.Config{AccountID: "111122223333", Region: "us-east-1",
				Trails: []trail.Trail{{Name: "main", Sinks: []trail.Sink{s}}}})
			require.NoError(t, err)
			defer rec.Close(ctx)
			require.NoError(t, rec.Record(ctx, &trail.Event{EventSource: "orders.example.com", EventName: "A"}))
			require.NoError(t, rec.Flush(ctx))
			st := rec.Stats()
			assert.EqualValues(t, 1, st.FilesFailed)
			assert.Zero(t, st.Retries)
		})
	})

	t.Run("FailWith a transient error, then recovery", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ctx := context.Background()
			s := memsink.New()
			s.FailWith(errors.New("503"))
			rec, err := trail.New(trail.Config{AccountID: "111122223333", Region: "us-east-1",
				Retry:  trail.RetryPolicy{Initial: time.Second, Max: time.Second, MaxAttempts: trail.UnlimitedAttempts},
				Trails: []trail.Trail{{Name: "main", Sinks: []trail.Sink{s}}}})
			require.NoError(t, err)
			defer rec.Close(ctx)
			require.NoError(t, rec.Record(ctx, &trail.Event{EventSource: "orders.example.com", EventName: "A"}))
			go func() {
				time.Sleep(10 * time.Second)
				s.FailWith(nil)
			}()
			require.NoError(t, rec.Flush(ctx))
			assert.Len(t, s.Events(), 1)
			assert.GreaterOrEqual(t, rec.Stats().Retries, uint64(5))
		})
	})
}
