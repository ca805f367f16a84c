package trail_test

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/trailkit/trail"
	"github.com/trailkit/trail/sink/memsink"
)

// TestUnusableRecorder calls every exported method of a nil and of a
// zero-value *Recorder: none panics, and every error is ErrNoRecorder (which
// matches ErrClosed).
func TestUnusableRecorder(t *testing.T) {
	ctx := context.Background()
	for name, rec := range map[string]*trail.Recorder{"nil": nil, "zero value": {}} {
		t.Run(name, func(t *testing.T) {
			v := reflect.ValueOf(rec)
			typ := v.Type()
			for i := range typ.NumMethod() {
				m := typ.Method(i)
				t.Run(m.Name, func(t *testing.T) {
					ft := m.Type
					args := []reflect.Value{v}
					for j := 1; j < ft.NumIn(); j++ {
						in := ft.In(j)
						switch {
						case in == reflect.TypeFor[context.Context]():
							args = append(args, reflect.ValueOf(ctx))
						case in == reflect.TypeFor[*trail.Event]():
							args = append(args, reflect.ValueOf(mkEvent("Zero")))
						default:
							args = append(args, reflect.Zero(in))
						}
					}
					var out []reflect.Value
					require.NotPanics(t, func() { out = m.Func.Call(args) })
					for _, o := range out {
						if err, ok := o.Interface().(error); ok {
							assert.ErrorIs(t, err, trail.ErrNoRecorder)
							assert.ErrorIs(t, err, trail.ErrClosed)
						}
						if seq, ok := o.Interface().(iter.Seq2[trail.Event, error]); ok {
							var errs []error
							require.NotPanics(t, func() {
								for _, err := range seq {
									errs = append(errs, err)
								}
							})
							require.Len(t, errs, 1)
							assert.ErrorIs(t, errs[0], trail.ErrNoRecorder)
						}
					}
				})
			}
		})
	}
	assert.Contains(t, trail.ErrNoRecorder.Error(), "trail.New")
}

// TestStatsString: Stats prints with labels, not as a bare struct.
func TestStatsString(t *testing.T) {
	tests := []struct {
		s    trail.Stats
		want string
	}{
		{trail.Stats{}, "recorded 0 (invalid 0, unselected 0, overloaded 0, dropped 0, queued 0); files delivered 0 (0 B), failed 0, retries 0; digests delivered 0, failed 0; history errors 0"},
		{trail.Stats{Recorded: 100, Invalid: 1, Unselected: 2, Overloaded: 3, Dropped: 4, Queued: 5, FilesDelivered: 6,
			BytesDelivered: 2048, FilesFailed: 7, Retries: 8, DigestsDelivered: 9, DigestsFailed: 10, HistoryErrors: 11},
			"recorded 100 (invalid 1, unselected 2, overloaded 3, dropped 4, queued 5); files delivered 6 (2.0 KiB), failed 7, retries 8; digests delivered 9, failed 10; history errors 11"},
		{trail.Stats{BytesDelivered: 3 << 29}, "recorded 0 (invalid 0, unselected 0, overloaded 0, dropped 0, queued 0); files delivered 0 (1.5 GiB), failed 0, retries 0; digests delivered 0, failed 0; history errors 0"},
		{trail.Stats{Recorded: 3, SpoolBytes: 3 << 20, SpoolEvents: 3, SpoolUnsent: 2, SpoolSyncs: 4, SpoolCorrupt: 1},
			"recorded 3 (invalid 0, unselected 0, overloaded 0, dropped 0, queued 0); files delivered 0 (0 B), failed 0, retries 0; digests delivered 0, failed 0; history errors 0; spool 3.0 MiB, events 3 (unsent 2), syncs 4, corrupt 1"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.s.String())
		assert.Equal(t, tt.want, fmt.Sprint(tt.s), "fmt uses String")
	}
}

// TestRecordIdentityFallback: an event without a userIdentity gets the one
// WithIdentity put in Record's context; an event with one keeps it; the
// caller's event is not changed.
func TestRecordIdentityFallback(t *testing.T) {
	sink := memsink.New()
	rec := newRecorder(t, trail.Config{Trails: []trail.Trail{{Name: "main", Bucket: "audit-bucket", Sinks: []trail.Sink{sink}}}})
	alice := trail.UserIdentity{Type: "IAMUser", UserName: "alice", AccountID: testAccount}
	ctx := trail.WithIdentity(context.Background(), alice)

	tests := []struct {
		name string
		ctx  context.Context
		id   trail.UserIdentity
		want string
	}{
		{"from the context", ctx, trail.UserIdentity{}, "alice"},
		{"the event's own", ctx, trail.UserIdentity{UserName: "bob"}, "bob"},
		{"the event's own, type only", ctx, trail.UserIdentity{Type: "AWSService", InvokedBy: "s3.amazonaws.com"}, ""},
		{"none", context.Background(), trail.UserIdentity{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := mkEvent("Identity " + tt.name)
			ev.UserIdentity = tt.id
			require.NoError(t, rec.Record(tt.ctx, ev))
			assert.Equal(t, tt.id, ev.UserIdentity, "the caller's event is left alone")
			require.NoError(t, rec.Flush(context.Background()))
			got := sink.FindEvents(memsink.MatchFunc(func(e *trail.Event) bool { return e.EventName == ev.EventName }))
			require.Len(t, got, 1)
			assert.Equal(t, tt.want, got[0].UserIdentity.UserName)
			if tt.name == "from the context" {
				assert.Equal(t, "IAMUser", got[0].UserIdentity.Type)
			}
		})
	}
}

// TestReadYourWrites: LookupEvents, Query and Events find an event as soon as
// Record returned, without Flush, also under concurrent Records.
func TestReadYourWrites(t *testing.T) {
	rec := histRecorder(t, trail.Config{})
	ctx := context.Background()
	t.Run("one writer", func(t *testing.T) {
		for i := range 50 {
			name := fmt.Sprintf("Write%d", i)
			require.NoError(t, rec.Record(ctx, mkEvent(name)))
			out, err := rec.LookupEvents(ctx, trail.LookupInput{LookupAttributes: []trail.LookupAttribute{{Key: trail.LookupEventName, Value: name}}})
			require.NoError(t, err)
			require.Len(t, out.Events, 1, name)
		}
	})
	t.Run("concurrent writers", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for w := range 8 {
			wg.Go(func() {
				for i := range 20 {
					name := fmt.Sprintf("W%d-%d", w, i)
					if err := rec.Record(ctx, mkEvent(name)); err != nil {
						errs <- err
						return
					}
					page, err := rec.Query(ctx, trail.QueryInput{LookupAttributes: []trail.LookupAttribute{{Key: trail.LookupEventName, Value: name}}})
					if err == nil && len(page.Events) != 1 {
						err = errors.New(name + ": not visible after Record returned")
					}
					if err != nil {
						errs <- err
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})
	t.Run("Events", func(t *testing.T) {
		require.NoError(t, rec.Record(ctx, mkEvent("IterMe")))
		n := 0
		for ev, err := range rec.Events(ctx, trail.LookupInput{LookupAttributes: []trail.LookupAttribute{{Key: trail.LookupEventName, Value: "IterMe"}}}) {
			require.NoError(t, err)
			assert.True(t, strings.HasPrefix(ev.EventName, "IterMe"))
			n++
		}
		assert.Equal(t, 1, n)
	})
}
