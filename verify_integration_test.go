package trail_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/trailkit/trail"
	"github.com/trailkit/trail/sink/memsink"
	"github.com/trailkit/trail/verify"
)

// TestRecorderOutputVerifies runs package verify over what a recorder wrote
// (memsink satisfies verify.Store): a clean run is valid; a stop/start of
// logging is a chain restart, reported unless AllowRestarts.
func TestRecorderOutputVerifies(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		sink := memsink.New()
		key := signingKey(t)
		start := time.Now().UTC()
		rec, err := trail.New(trail.Config{AccountID: "111122223333", Region: "us-east-1", AuditSource: "-", Trails: []trail.Trail{{
			Name: "main", Bucket: "audit-bucket", Prefix: "p", Interval: 5 * time.Minute, Sinks: []trail.Sink{sink},
			Validation: &trail.Validation{Signer: key, Period: time.Hour},
		}}})
		require.NoError(t, err)
		record := func(minutes int) {
			for m := range minutes {
				if m%7 == 0 {
					require.NoError(t, rec.Record(ctx, &trail.Event{EventSource: "o.example.com", EventName: "Op"}))
				}
				time.Sleep(time.Minute)
			}
		}
		record(150)
		mid := time.Now().UTC()
		require.NoError(t, rec.StopLogging(ctx, "main"))
		time.Sleep(30 * time.Minute)
		require.NoError(t, rec.StartLogging(ctx, "main"))
		record(150)
		require.NoError(t, rec.Close(ctx))
		end := time.Now().UTC()

		opt := verify.Options{Bucket: "audit-bucket", TrailARN: "arn:aws:cloudtrail:us-east-1:111122223333:trail/main",
			Prefix: "p", PublicKeys: []verify.PublicKey{verify.NewPublicKey(&key.PublicKey)}, ExpectedEnd: end}

		opt.Start, opt.End, opt.ExpectedEnd = start, mid, time.Time{}
		first, err := verify.Validate(ctx, sink, opt)
		require.NoError(t, err)
		assert.True(t, first.OK(), "first chain: %v", first.Findings)
		assert.GreaterOrEqual(t, first.Digests.Valid, 2)

		opt.Start, opt.End, opt.ExpectedEnd = start, end, end
		rep, err := verify.Validate(ctx, sink, opt)
		require.NoError(t, err)
		assert.False(t, rep.AWSInvalid(), "validate-logs would accept it: %v", rep.Findings)
		require.Len(t, rep.Findings, 1)
		assert.Equal(t, verify.KindChainRestart, rep.Findings[0].Kind)

		opt.AllowRestarts = true
		rep, err = verify.Validate(ctx, sink, opt)
		require.NoError(t, err)
		assert.True(t, rep.OK(), "%v", rep.Findings)
		assert.Len(t, rep.Gaps, 1)
		assert.GreaterOrEqual(t, rep.Logs.Valid, 40)
	})
}
