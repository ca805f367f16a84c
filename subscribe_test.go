package trail_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/trailkit/trail"
)

// nameIs is an EventMatcher (as *filter.Pattern is one) on the event name.
type nameIs string

func (n nameIs) MatchEvent(ev *trail.Event) bool { return ev.EventName == string(n) }

type counter struct{ n atomic.Int64 }

func (c *counter) ObserveEvent(*trail.Event) { c.n.Add(1) }

func record(t *testing.T, rec *trail.Recorder, names ...string) {
	t.Helper()
	for _, n := range names {
		require.NoError(t, rec.Record(context.Background(), mkEvent(n)))
	}
}

func drain(s *trail.Subscription) []trail.StreamEvent {
	var out []trail.StreamEvent
	for ev := range s.C() {
		out = append(out, ev)
	}
	return out
}

func TestSubscribeFilterAndOrder(t *testing.T) {
	rec := newRecorder(t, trail.Config{})
	all, err := rec.Subscribe(trail.SubscribeOptions{})
	require.NoError(t, err)
	only, err := rec.Subscribe(trail.SubscribeOptions{Filter: nameIs("B")})
	require.NoError(t, err)
	record(t, rec, "A", "B", "C", "B")
	all.Close()
	only.Close()
	got := drain(all)
	require.Len(t, got, 4)
	for i, ev := range got {
		assert.Equal(t, trail.Cursor(i+1), ev.Cursor)
		assert.NotEmpty(t, ev.Event.EventID, "the subscriber sees the stamped copy")
	}
	b := drain(only)
	require.Len(t, b, 2)
	assert.Equal(t, []trail.Cursor{2, 4}, []trail.Cursor{b[0].Cursor, b[1].Cursor})
	assert.ErrorIs(t, only.Err(), trail.ErrSubscriptionClosed)
}

// TestSubscribeFellBehindResume: a reader that does not read never blocks
// Record; it ends with "fell behind, resume from cursor X", and resuming from
// X gives every event exactly once.
func TestSubscribeFellBehindResume(t *testing.T) {
	rec := newRecorder(t, trail.Config{ReplayEvents: 64})
	sub, err := rec.Subscribe(trail.SubscribeOptions{Buffer: 4, Filter: nameIs("Hit")})
	require.NoError(t, err)
	var want []string
	for i := range 20 {
		name := "Miss"
		if i%2 == 0 {
			name = "Hit"
		}
		ev := mkEvent(name)
		ev.RequestID = strconv.Itoa(i)
		require.NoError(t, rec.Record(context.Background(), ev)) // never blocks on the full subscriber
		if name == "Hit" {
			want = append(want, ev.RequestID)
		}
	}
	var got []string
	var seen []trail.Cursor
	resume := func() {
		var fb *trail.FellBehindError
		require.ErrorAs(t, sub.Err(), &fb)
		assert.Equal(t, seen[len(seen)-1], fb.Cursor, "the cursor is the last event delivered")
		assert.Contains(t, fb.Error(), "fell behind, resume from cursor "+strconv.Itoa(int(fb.Cursor)))
		sub, err = rec.Subscribe(trail.SubscribeOptions{Buffer: 4, Filter: nameIs("Hit"), From: fb.Cursor})
		require.NoError(t, err)
	}
	for round := 0; len(got) < len(want); round++ {
		require.Less(t, round, 20)
		closed := false
	read:
		for {
			select {
			case ev, ok := <-sub.C():
				if !ok {
					closed = true
					break read
				}
				got = append(got, ev.Event.RequestID)
				seen = append(seen, ev.Cursor)
			default:
				break read
			}
		}
		if closed {
			resume()
		}
	}
	if sub.Err() != nil {
		resume()
	}
	// caught up: live events continue the stream
	record(t, rec, "Hit")
	ev := <-sub.C()
	assert.Equal(t, trail.Cursor(21), ev.Cursor)
	sub.Close()
	assert.Equal(t, want, got, "no gap, no duplicate")
}

func TestSubscribeCursorErrors(t *testing.T) {
	rec := newRecorder(t, trail.Config{ReplayEvents: 8})
	s, err := rec.Subscribe(trail.SubscribeOptions{})
	require.NoError(t, err)
	s.Close()
	for range 20 {
		record(t, rec, "A")
	}
	_, err = rec.Subscribe(trail.SubscribeOptions{From: 2})
	var ce *trail.CursorError
	require.ErrorAs(t, err, &ce)
	assert.ErrorIs(t, err, trail.ErrCursorExpired)
	assert.Equal(t, trail.Cursor(13), ce.Oldest)
	assert.Equal(t, trail.Cursor(20), ce.Latest)

	_, err = rec.Subscribe(trail.SubscribeOptions{From: 21})
	require.ErrorAs(t, err, &ce)
	assert.NotErrorIs(t, err, trail.ErrCursorExpired)

	s, err = rec.Subscribe(trail.SubscribeOptions{From: 12}) // 13..20 are still there
	require.NoError(t, err)
	s.Close()
	assert.Len(t, drain(s), 8)

	_, err = rec.Subscribe(trail.SubscribeOptions{Buffer: -1})
	assert.ErrorIs(t, err, trail.ErrInvalidConfig)
}

func TestSubscribeIteratorAndClose(t *testing.T) {
	rec, err := trail.New(trail.Config{AccountID: testAccount, Region: testRegion})
	require.NoError(t, err)
	sub, err := rec.Subscribe(trail.SubscribeOptions{Buffer: 2})
	require.NoError(t, err)
	record(t, rec, "A", "B", "C")
	var names []string
	var end error
	for ev, err := range sub.Events(context.Background()) {
		if err != nil {
			end = err
			break
		}
		names = append(names, ev.Event.EventName)
	}
	assert.Equal(t, []string{"A", "B"}, names)
	var fb *trail.FellBehindError
	require.ErrorAs(t, end, &fb)
	assert.Equal(t, trail.Cursor(2), fb.Cursor)

	live, err := rec.Subscribe(trail.SubscribeOptions{})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, rec.Close(ctx))
	n := 0
	for ev, err := range live.Events(ctx) {
		n++
		assert.ErrorIs(t, err, trail.ErrClosed, "only the end is reported after Close, not %v", ev)
	}
	assert.Equal(t, 1, n)
	assert.ErrorIs(t, live.Err(), trail.ErrClosed)
	_, err = rec.Subscribe(trail.SubscribeOptions{})
	assert.ErrorIs(t, err, trail.ErrClosed)

	cctx, ccancel := context.WithCancel(context.Background())
	ccancel()
	rec2 := newRecorder(t, trail.Config{})
	s2, err := rec2.Subscribe(trail.SubscribeOptions{})
	require.NoError(t, err)
	for _, err := range s2.Events(cctx) {
		assert.ErrorIs(t, err, context.Canceled)
	}
}

func TestObservers(t *testing.T) {
	var everything, mainOnly, otherOnly counter
	rec := newRecorder(t, trail.Config{
		Observers: []trail.EventObserver{&everything},
		Trails: []trail.Trail{
			{Name: "main", Sinks: []trail.Sink{&countSink{}}, Observers: []trail.EventObserver{&mainOnly}},
			{Name: "writes", Sinks: []trail.Sink{&countSink{}}, Management: trail.ReadWriteWriteOnly, Observers: []trail.EventObserver{&otherOnly}},
		},
	})
	record(t, rec, "A", "B")
	ro := mkEvent("C")
	ro.ReadOnly = trail.Bool(true)
	require.NoError(t, rec.Record(context.Background(), ro))
	other := mkEvent("D")
	other.AWSRegion = "eu-west-1" // no trail selects it
	require.NoError(t, rec.Record(context.Background(), other))
	assert.Equal(t, int64(4), everything.n.Load())
	assert.Equal(t, int64(3), mainOnly.n.Load())
	assert.Equal(t, int64(2), otherOnly.n.Load())
}

// TestRecordAllocsWithSubscribers pins Record at zero allocations with an
// observer and a filtered subscription attached.
func TestRecordAllocsWithSubscribers(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector randomly drops sync.Pool entries; run without -race")
	}
	var c counter
	rec := newRecorder(t, trail.Config{QueueSize: 1 << 14, Observers: []trail.EventObserver{&c}, Trails: []trail.Trail{{
		Name: "main", Interval: time.Hour, MaxRecords: 1 << 20, MaxBytes: 1 << 30, Sinks: []trail.Sink{&countSink{}},
	}}})
	sub, err := rec.Subscribe(trail.SubscribeOptions{Filter: nameIs("nothing")})
	require.NoError(t, err)
	defer sub.Close()
	ctx := context.Background()
	e := trail.FixtureBenchEvent()
	for range 3000 {
		require.NoError(t, rec.Record(ctx, &e))
	}
	allocs := testing.AllocsPerRun(2000, func() {
		if err := rec.Record(ctx, &e); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs, "Record with subscribers allocates %v times per call", allocs)
}
