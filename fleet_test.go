package trail_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailkit/trail"
	"github.com/trailkit/trail/sink/filesink"
	"github.com/trailkit/trail/sink/memsink"
	"github.com/trailkit/trail/verify"
)

const fleetAcct = "111122223333"

// fleetInstance starts one fleet member on the shared sink.
func fleetInstance(t *testing.T, name string, sink trail.Sink, period time.Duration) *trail.Recorder {
	t.Helper()
	rec, err := trail.New(trail.Config{AccountID: fleetAcct, Region: "us-east-1", Instance: name, AuditSource: "-",
		History: trail.NoHistory, OnError: func(err error) { t.Logf("%s: %v", name, err) },
		Trails: []trail.Trail{{Name: "fleet", Bucket: "audit-bucket", Sinks: []trail.Sink{sink}, Interval: time.Second,
			Validation: &trail.Validation{Signer: signingKey(t), Period: period,
				Fleet: &trail.Fleet{LeaseTTL: 6 * time.Second, LookBack: time.Minute}}}}})
	require.NoError(t, err)
	return rec
}

// recordFor records an event every step on rec until d has passed.
func recordFor(t *testing.T, rec *trail.Recorder, d, step time.Duration) int {
	n := 0
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(step) {
		require.NoError(t, rec.Record(context.Background(), &trail.Event{EventSource: "orders.example.com", EventName: "CreateOrder"}))
		n++
	}
	return n
}

// checkOneChain asserts the fleet invariants over what the sink holds: one
// chain without forks, every log file in exactly one digest, and a clean
// verify report.
func checkOneChain(t *testing.T, sink *memsink.Sink) {
	t.Helper()
	digests := sink.Digests()
	require.NotEmpty(t, digests)
	byPrev := map[string]string{}
	starts := 0
	listed := map[string]int{}
	var newest *trail.Digest
	for _, d := range digests {
		if d.Previous.IsZero() {
			starts++
		} else if other, dup := byPrev[d.Previous.Key]; dup {
			t.Errorf("fork: %s and %s both follow %s", other, d.Key, d.Previous.Key)
		}
		byPrev[d.Previous.Key] = d.Key
		for _, f := range d.LogFiles {
			listed[f.Key]++
		}
		if newest == nil || d.EndTime.After(newest.EndTime) {
			newest = d
		}
	}
	assert.Equal(t, 1, starts, "one starting digest: one chain")
	// Walk from the newest digest: every digest is on the walk.
	walked := 0
	for k := newest.Key; k != ""; walked++ {
		d := findDigest(digests, k)
		require.NotNil(t, d, "digest %s on the chain is missing", k)
		k = d.Previous.Key
	}
	assert.Equal(t, len(digests), walked, "every digest is on the chain walked from the newest")
	files := sink.Files()
	require.NotEmpty(t, files)
	for _, f := range files {
		assert.Equal(t, 1, listed[f.Key], "log file %s listed by %d digests, want 1", f.Key, listed[f.Key])
	}
	assert.Len(t, listed, len(files), "digests list only delivered files")
	rep, err := verify.Validate(context.Background(), sink, verify.Options{Bucket: "audit-bucket",
		TrailARN: "arn:aws:cloudtrail:us-east-1:" + fleetAcct + ":trail/fleet", Start: digests[0].StartTime.Add(-time.Hour),
		End: newest.EndTime, PublicKeys: []verify.PublicKey{verify.NewPublicKey(&signingKey(t).PublicKey)}})
	require.NoError(t, err)
	assert.True(t, rep.OK(), "verify findings: %v", rep.Findings)
	assert.Equal(t, len(files), rep.Logs.Valid)
	t.Logf("%d digests, %d log files, verify: %d/%d digests, %d/%d log files valid", len(digests), len(files),
		rep.Digests.Valid, rep.Digests.Total, rep.Logs.Valid, rep.Logs.Total)
}

func findDigest(ds []*trail.Digest, key string) *trail.Digest {
	for _, d := range ds {
		if d.Key == key {
			return d
		}
	}
	return nil
}

func TestFleetOneChain(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, sink *memsink.Sink)
	}{
		{"three started in the same second", func(t *testing.T, sink *memsink.Sink) {
			var wg sync.WaitGroup
			for i := range 3 {
				rec := fleetInstance(t, fmt.Sprintf("i%d", i), sink, 10*time.Second)
				wg.Go(func() {
					recordFor(t, rec, 35*time.Second, 100*time.Millisecond)
					require.NoError(t, rec.Close(context.Background()))
				})
			}
			wg.Wait()
		}},
		{"staggered", func(t *testing.T, sink *memsink.Sink) {
			var wg sync.WaitGroup
			for i := range 3 {
				time.Sleep(7300 * time.Millisecond)
				rec := fleetInstance(t, fmt.Sprintf("i%d", i), sink, 10*time.Second)
				wg.Go(func() {
					recordFor(t, rec, time.Duration(20+5*i)*time.Second, 130*time.Millisecond)
					require.NoError(t, rec.Close(context.Background()))
				})
			}
			wg.Wait()
		}},
		{"rolling deploy with overlap", func(t *testing.T, sink *memsink.Sink) {
			old := fleetInstance(t, "v1", sink, 10*time.Second)
			recordFor(t, old, 23*time.Second, 100*time.Millisecond)
			next := fleetInstance(t, "v2", sink, 10*time.Second)
			var wg sync.WaitGroup
			wg.Go(func() { recordFor(t, next, 30*time.Second, 100*time.Millisecond) })
			recordFor(t, old, 7500*time.Millisecond, 100*time.Millisecond)
			require.NoError(t, old.Close(context.Background()))
			wg.Wait()
			require.NoError(t, next.Close(context.Background()))
		}},
		{"digest writer crashes mid-period", func(t *testing.T, sink *memsink.Sink) {
			a := fleetInstance(t, "a", sink, 10*time.Second)
			recordFor(t, a, 3*time.Second, 100*time.Millisecond)
			b := fleetInstance(t, "b", sink, 10*time.Second)
			var wg sync.WaitGroup
			wg.Go(func() { recordFor(t, b, 40*time.Second, 100*time.Millisecond) })
			recordFor(t, a, 14*time.Second, 100*time.Millisecond) // a writes the first digests
			trail.AbandonFleet(a)                                 // crash: no final digest, lease left to expire
			require.NoError(t, a.Close(context.Background()))     // its last files are delivered (a spool would replay them)
			wg.Wait()
			require.NoError(t, b.Close(context.Background()))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				sink := memsink.New()
				tt.run(t, sink)
				checkOneChain(t, sink)
			})
		})
	}
}

// noLease grants every instance the lease: several writers believe they
// write the chain at once, and only create-only digest writes keep it
// linear.
type noLease struct{ *memsink.Sink }

func (noLease) ReadLease(context.Context, string) ([]byte, string, error) {
	return nil, "", fs.ErrNotExist
}

func (noLease) WriteLease(context.Context, string, []byte, string) (string, error) { return "v", nil }

func TestFleetCreateOnlyDigestsWithoutLease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sink := memsink.New()
		var conflicts atomic.Int64
		var recs []*trail.Recorder
		for i := range 3 {
			rec, err := trail.New(trail.Config{AccountID: fleetAcct, Region: "us-east-1", Instance: fmt.Sprintf("w%d", i), AuditSource: "-",
				History: trail.NoHistory, OnError: func(err error) {
					if errors.Is(err, trail.ErrConflict) {
						conflicts.Add(1)
					}
				},
				Trails: []trail.Trail{{Name: "fleet", Bucket: "audit-bucket", Sinks: []trail.Sink{noLease{sink}}, Interval: time.Second,
					Validation: &trail.Validation{Signer: signingKey(t), Period: 10 * time.Second,
						Fleet: &trail.Fleet{LeaseTTL: 6 * time.Second, LookBack: time.Minute}}}}})
			require.NoError(t, err)
			recs = append(recs, rec)
		}
		var wg sync.WaitGroup
		for _, rec := range recs {
			wg.Go(func() { recordFor(t, rec, 45*time.Second, 100*time.Millisecond) })
		}
		wg.Wait()
		for _, rec := range recs {
			require.NoError(t, rec.Close(context.Background()))
			time.Sleep(2 * time.Second) // final digests in distinct seconds
		}
		// The writers raced for every grid key: the same files give the
		// same digest bytes (identical = success), anything else a conflict.
		t.Logf("%d conflicts", conflicts.Load())
		checkOneChain(t, sink)
	})
}

// TestFleetHundredInstances runs 100 recorders (goroutines) on one
// filesink folder for several periods: one chain, every file covered.
func TestFleetHundredInstances(t *testing.T) {
	if testing.Short() {
		t.Skip("100 recorders")
	}
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		const n = 100
		var wg sync.WaitGroup
		for i := range n {
			sink := filesink.New(dir, filesink.Options{NoSync: true})
			rec := fleetInstance(t, fmt.Sprintf("pod-%03d", i), sink, 5*time.Second)
			wg.Go(func() {
				time.Sleep(time.Duration(i%7) * 300 * time.Millisecond)
				recordFor(t, rec, 17*time.Second, 700*time.Millisecond)
				require.NoError(t, rec.Close(context.Background()))
			})
		}
		wg.Wait()
		checkStore(t, verify.FSStore(os.DirFS(dir)))
	})
}

// checkStore validates the fleet's chain in st: verify finds nothing (no
// fork, no digest off the chain, no file outside a digest) and every log
// file stored is validated.
func checkStore(t *testing.T, st verify.Store) {
	t.Helper()
	ctx := context.Background()
	keys, err := st.List(ctx, "AWSLogs/"+fleetAcct+"/CloudTrail/")
	require.NoError(t, err)
	logs := 0
	for _, k := range keys {
		if strings.HasSuffix(k, ".json.gz") {
			logs++
		}
	}
	require.Positive(t, logs)
	rep, err := verify.Validate(ctx, st, verify.Options{Bucket: "audit-bucket",
		TrailARN: "arn:aws:cloudtrail:us-east-1:" + fleetAcct + ":trail/fleet",
		Start:    time.Now().Add(-24 * time.Hour), End: time.Now().Add(time.Hour),
		PublicKeys: []verify.PublicKey{verify.NewPublicKey(&signingKey(t).PublicKey)}})
	require.NoError(t, err)
	assert.True(t, rep.OK(), "verify findings: %v", rep.Findings)
	assert.Equal(t, logs, rep.Logs.Valid, "every stored log file is in a digest on the chain")
	t.Logf("%d log files; verify: %d/%d digests, %d/%d log files valid", logs,
		rep.Digests.Valid, rep.Digests.Total, rep.Logs.Valid, rep.Logs.Total)
}

// countingSink counts the calls a fleet's digest writer makes.
type countingSink struct {
	*memsink.Sink
	list, meta, get, getLog, lease, digest atomic.Int64
}

func (c *countingSink) List(ctx context.Context, prefix string) ([]string, error) {
	c.list.Add(1)
	return c.Sink.List(ctx, prefix)
}

func (c *countingSink) Metadata(ctx context.Context, key string) (map[string]string, error) {
	c.meta.Add(1)
	return c.Sink.Metadata(ctx, key)
}

func (c *countingSink) Get(ctx context.Context, key string) ([]byte, map[string]string, error) {
	c.get.Add(1)
	if strings.Contains(key, "/CloudTrail/") {
		c.getLog.Add(1)
	}
	return c.Sink.Get(ctx, key)
}

func (c *countingSink) WriteLease(ctx context.Context, key string, data []byte, v string) (string, error) {
	c.lease.Add(1)
	return c.Sink.WriteLease(ctx, key, data, v)
}

func (c *countingSink) DeliverDigest(ctx context.Context, d *trail.Digest) error {
	c.digest.Add(1)
	return c.Sink.DeliverDigest(ctx, d)
}

// TestFleetWriterCost measures what the digest writer costs per period: the
// facts of each log file are read once (one metadata call per file), the
// listing is one call per day folder, and the lease costs a few writes.
func TestFleetWriterCost(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sink := &countingSink{Sink: memsink.New()}
		const instances, periods = 3, 6
		period := 10 * time.Second
		var wg sync.WaitGroup
		var recs []*trail.Recorder
		for i := range instances {
			rec := fleetInstance(t, fmt.Sprintf("i%d", i), sink, period)
			recs = append(recs, rec)
			wg.Go(func() { recordFor(t, rec, periods*period, 50*time.Millisecond) })
		}
		wg.Wait()
		for _, rec := range recs {
			require.NoError(t, rec.Close(context.Background()))
		}
		files := len(sink.Files())
		list, meta, get, lease, digests := sink.list.Load(), sink.meta.Load(), sink.get.Load(), sink.lease.Load(), sink.digest.Load()
		t.Logf("%d instances, %d periods and Close, %d log files: writer made %d List, %d Metadata, %d Get (of digests), %d WriteLease, %d DeliverDigest calls",
			instances, periods, files, list, meta, get, lease, digests)
		t.Logf("per period: %.1f List, %.1f Metadata (= files per period), %.1f WriteLease", float64(list)/periods,
			float64(meta)/periods, float64(lease)/periods)
		assert.Equal(t, int64(files), meta, "each log file's facts are read once")
		// One listing per day folder in [previous end − LookBack, end]:
		// here two (the fake clock starts at midnight), one a day around
		// midnight otherwise; plus the digest folder when the lease
		// changes hands.
		assert.LessOrEqual(t, list, int64(2*periods+2+3*instances), "listings per period and at Close")
		assert.Zero(t, sink.getLog.Load(), "no log file body is read: the facts come from metadata (Gets are of digests, re-reading the chain)")
		checkOneChain(t, sink.Sink)
	})
}
