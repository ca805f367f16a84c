package trail_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/trailkit/trail"
	"github.com/trailkit/trail/sink/memsink"
)

// logOnlySink can store log files but not digests.
type logOnlySink struct{}

func (logOnlySink) Deliver(context.Context, *trail.LogFile) error { return nil }

// writeOnlySink stores digests but cannot read them back, so chains can only
// be resumed from Validation.Resume.
type writeOnlySink struct{ s *memsink.Sink }

func (s writeOnlySink) Deliver(ctx context.Context, f *trail.LogFile) error {
	return s.s.Deliver(ctx, f)
}
func (s writeOnlySink) DeliverDigest(ctx context.Context, d *trail.Digest) error {
	return s.s.DeliverDigest(ctx, d)
}

func TestValidationConfigErrors(t *testing.T) {
	key := signingKey(t)
	ring, err := trail.NewKeyRing(trail.SigningKey{Signer: key})
	require.NoError(t, err)
	cases := []struct {
		name  string
		trail trail.Trail
		want  string
	}{
		{"sink without digests", trail.Trail{Name: "trail1", Bucket: "bkt", Sinks: []trail.Sink{logOnlySink{}},
			Validation: &trail.Validation{Signer: key}}, "no sink can store digest files"},
		{"no bucket", trail.Trail{Name: "trail1", Sinks: []trail.Sink{memsink.New()},
			Validation: &trail.Validation{Signer: key}}, "needs Bucket"},
		{"no key", trail.Trail{Name: "trail1", Bucket: "bkt", Sinks: []trail.Sink{memsink.New()},
			Validation: &trail.Validation{}}, "exactly one of Signer and Keys"},
		{"both keys", trail.Trail{Name: "trail1", Bucket: "bkt", Sinks: []trail.Sink{memsink.New()},
			Validation: &trail.Validation{Signer: key, Keys: ring}}, "exactly one of Signer and Keys"},
		{"sub-second period", trail.Trail{Name: "trail1", Bucket: "bkt", Sinks: []trail.Sink{memsink.New()},
			Validation: &trail.Validation{Signer: key, Period: 1500 * time.Millisecond}}, "whole seconds"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := trail.New(trail.Config{AccountID: "111122223333", Region: "us-east-1", Trails: []trail.Trail{c.trail}})
			require.ErrorIs(t, err, trail.ErrInvalidConfig)
			assert.ErrorContains(t, err, c.want)
		})
	}
}

// chainLinks asserts that digests (in delivery order, one chain) form one
// contiguous chain.
func chainLinks(t *testing.T, ds []*trail.Digest) {
	t.Helper()
	for i := 1; i < len(ds); i++ {
		prev, cur := ds[i-1], ds[i]
		assert.Equal(t, prev.State(), cur.Previous, "digest %d links to digest %d", i, i-1)
		assert.Equal(t, prev.EndTime, cur.StartTime, "periods are contiguous")
	}
}

func TestDigestPeriodsAndEmptyDigests(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sink := memsink.New()
		rec, err := trail.New(trail.Config{AccountID: "111122223333", Region: "us-east-1", Trails: []trail.Trail{{
			Name: "main", Bucket: "audit-bucket", Interval: time.Minute, Sinks: []trail.Sink{sink},
			Validation: &trail.Validation{Signer: signingKey(t), Period: 10 * time.Minute},
		}}})
		require.NoError(t, err)
		ctx := context.Background()
		require.NoError(t, rec.Record(ctx, &trail.Event{EventSource: "a.example.com", EventName: "Op"}))
		time.Sleep(35 * time.Minute) // one period with a file, two empty ones
		synctest.Wait()
		ds := sink.Digests()
		require.Len(t, ds, 3)
		assert.Len(t, ds[0].LogFiles, 1)
		assert.Empty(t, ds[1].LogFiles)
		assert.Empty(t, ds[2].LogFiles)
		assert.True(t, ds[0].Previous.IsZero(), "the first digest starts the chain")
		chainLinks(t, ds)
		for _, d := range ds {
			assert.Equal(t, 10*time.Minute, d.EndTime.Sub(d.StartTime))
		}
		require.NoError(t, rec.Close(ctx))
		ds = sink.Digests()
		require.Len(t, ds, 4, "Close writes a final digest")
		assert.Equal(t, 5*time.Minute, ds[3].EndTime.Sub(ds[3].StartTime))
		chainLinks(t, ds)
		st := rec.ChainStates()
		require.Len(t, st, 1)
		assert.Equal(t, ds[3].State(), st[0])
		assert.Equal(t, uint64(4), rec.Stats().DigestsDelivered)
	})
}

func TestDigestChainResumes(t *testing.T) {
	for _, viaResume := range []bool{false, true} {
		name := "read back from the sink"
		if viaResume {
			name = "from Validation.Resume"
		}
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				mem := memsink.New()
				var sink trail.Sink = mem
				if viaResume {
					sink = writeOnlySink{mem}
				}
				ctx := context.Background()
				newRec := func(resume []trail.ChainState) *trail.Recorder {
					rec, err := trail.New(trail.Config{AccountID: "111122223333", Region: "us-east-1", Trails: []trail.Trail{{
						Name: "main", Bucket: "audit-bucket", Interval: time.Minute, Sinks: []trail.Sink{sink},
						Validation: &trail.Validation{Signer: signingKey(t), Period: 10 * time.Minute, Resume: resume},
					}}})
					require.NoError(t, err)
					return rec
				}
				rec := newRec(nil)
				require.NoError(t, rec.Record(ctx, &trail.Event{EventSource: "a.example.com", EventName: "Op"}))
				time.Sleep(15 * time.Minute)
				require.NoError(t, rec.Close(ctx))
				states := rec.ChainStates()
				time.Sleep(3 * time.Minute)
				var resume []trail.ChainState
				if viaResume {
					resume = states
				}
				rec = newRec(resume)
				require.NoError(t, rec.Record(ctx, &trail.Event{EventSource: "a.example.com", EventName: "Op"}))
				time.Sleep(20 * time.Minute)
				require.NoError(t, rec.Close(ctx))
				ds := mem.Digests()
				require.GreaterOrEqual(t, len(ds), 4)
				chainLinks(t, ds)
				starting := 0
				for _, d := range ds {
					if d.Previous.IsZero() {
						starting++
					}
				}
				assert.Equal(t, 1, starting, "only the very first digest starts a chain")
			})
		})
	}
}

func TestDigestWithoutResumeStartsNewChain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mem := memsink.New()
		ctx := context.Background()
		for range 2 {
			rec, err := trail.New(trail.Config{AccountID: "111122223333", Region: "us-east-1", Trails: []trail.Trail{{
				Name: "main", Bucket: "audit-bucket", Sinks: []trail.Sink{writeOnlySink{mem}},
				Validation: &trail.Validation{Signer: signingKey(t), Period: 10 * time.Minute},
			}}})
			require.NoError(t, err)
			time.Sleep(12 * time.Minute)
			require.NoError(t, rec.Close(ctx))
		}
		starting := 0
		for _, d := range mem.Digests() {
			if d.Previous.IsZero() {
				starting++
			}
		}
		assert.Equal(t, 2, starting)
	})
}

func TestDigestDeliveryFailureReported(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mem := memsink.New()
		var errs []error
		rec, err := trail.New(trail.Config{AccountID: "111122223333", Region: "us-east-1",
			Retry:   trail.RetryPolicy{MaxAttempts: 2},
			OnError: func(err error) { errs = append(errs, err) },
			Trails: []trail.Trail{{Name: "main", Bucket: "audit-bucket", Sinks: []trail.Sink{mem},
				Validation: &trail.Validation{Signer: signingKey(t), Period: 10 * time.Minute}}}})
		require.NoError(t, err)
		mem.FailWith(errors.New("disk full"))
		time.Sleep(11 * time.Minute)
		synctest.Wait()
		// Close says what was given up on.
		err = rec.Close(context.Background())
		require.ErrorIs(t, err, trail.ErrUndelivered)
		require.ErrorContains(t, err, "digests were not stored")
		var de *trail.DeliveryError
		require.NotEmpty(t, errs)
		require.ErrorAs(t, errs[0], &de)
		assert.True(t, de.Digest)
		assert.GreaterOrEqual(t, rec.Stats().DigestsFailed, uint64(1))
	})
}

func TestDigestsSkipStreamSinks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mem := memsink.New()
		var logs countingLogSink
		rec, err := trail.New(trail.Config{AccountID: "111122223333", Region: "us-east-1", Trails: []trail.Trail{{
			Name: "main", Bucket: "audit-bucket", Interval: time.Minute, Sinks: []trail.Sink{mem, &logs},
			Validation: &trail.Validation{Signer: signingKey(t), Period: 10 * time.Minute}}}})
		require.NoError(t, err)
		require.NoError(t, rec.Record(context.Background(), &trail.Event{EventSource: "a.example.com", EventName: "Op"}))
		time.Sleep(25 * time.Minute)
		require.NoError(t, rec.Close(context.Background()))
		assert.Len(t, mem.Digests(), 3)
		assert.Equal(t, int64(1), logs.n.Load(), "the log-only sink gets log files, no digests")
		assert.Equal(t, uint64(3), rec.Stats().DigestsDelivered)
	})
}

type countingLogSink struct{ n atomic.Int64 }

func (s *countingLogSink) Deliver(context.Context, *trail.LogFile) error { s.n.Add(1); return nil }
