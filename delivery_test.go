package trail_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/trailkit/trail"
	"github.com/trailkit/trail/sink/memsink"
)

const fixedEventID = "0b6a3a52-52f4-4a4b-9d0e-7f0c1e2d3a4b"

var keyRE = regexp.MustCompile(`^(?:(.+)/)?AWSLogs/(?:(o-[a-z0-9]+)/)?([0-9]{12})/CloudTrail/([a-z0-9-]+)/([0-9]{4})/([0-9]{2})/([0-9]{2})/` +
	`([0-9]{12})_CloudTrail_([a-z0-9-]+)_([0-9]{8}T[0-9]{4}Z)_[A-Za-z0-9]{16}\.json\.gz$`)

// TestLogFileKeyGolden pins LogFileKey's layout in testdata/keys.golden.
func TestLogFileKeyGolden(t *testing.T) {
	at := time.Date(2025, 3, 1, 10, 17, 42, 0, time.UTC)
	const unique = "Mu0KsOhtH1ar15ZZ"
	cases := []struct {
		name, prefix, org, account, region string
		t                                  time.Time
	}{
		{"plain", "", "", testAccount, testRegion, at},
		{"prefix", "team", "", testAccount, "us-east-2", at},
		{"nested prefix", "team/audit", "", testAccount, testRegion, at},
		{"org", "", testOrg, otherAcct, "eu-west-1", at},
		{"prefix+org", "o-exampleorgid", testOrg, testAccount, "ca-central-1", at},
		{"day rollover from a non-UTC zone", "", "", testAccount, testRegion,
			time.Date(2025, 1, 1, 0, 30, 0, 0, time.FixedZone("UTC+2", 2*3600))},
		{"year rollover", "", "", testAccount, testRegion, time.Date(2024, 12, 31, 23, 59, 59, 999, time.UTC)},
		{"new year", "", "", testAccount, testRegion, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"leap day", "", "", testAccount, testRegion, time.Date(2024, 2, 29, 5, 5, 0, 0, time.UTC)},
		{"month rollover behind UTC", "", "", testAccount, testRegion,
			time.Date(2025, 3, 31, 21, 0, 0, 0, time.FixedZone("UTC-5", -5*3600))},
	}
	var buf bytes.Buffer
	for _, c := range cases {
		key := trail.LogFileKey(c.prefix, c.org, c.account, c.region, c.t, unique)
		m := keyRE.FindStringSubmatch(key)
		require.NotNil(t, m, "key %q does not follow CloudTrail's layout", key)
		utc := c.t.UTC()
		assert.Equal(t, c.prefix, m[1])
		assert.Equal(t, c.org, m[2])
		assert.Equal(t, c.account, m[3])
		assert.Equal(t, c.account, m[8])
		assert.Equal(t, c.region, m[4])
		assert.Equal(t, c.region, m[9])
		assert.Equal(t, utc.Format("2006/01/02"), m[5]+"/"+m[6]+"/"+m[7], "the folder is the UTC date of the file name")
		assert.Equal(t, utc.Format("20060102T1504Z"), m[10])
		fmt.Fprintf(&buf, "%s\t%s\n", c.name, key)
	}
	golden(t, "keys.golden", buf.Bytes())
}

// TestLogFileContents checks a delivered file: a single gzip member holding
// {"Records":[…]}, its SHA-256, the record sub-slices and the metadata.
func TestLogFileContents(t *testing.T) {
	sink := memsink.New()
	rec := newRecorder(t, trail.Config{Trails: []trail.Trail{{Name: "main", Bucket: "audit-bucket", Prefix: "team", Data: []trail.DataResource{{Type: trail.ResourceS3Object, Values: []string{"arn:aws:s3"}}},
		MultiRegion: true, Sinks: []trail.Sink{sink}}}})
	ctx := context.Background()
	base := time.Now().UTC().Truncate(time.Second).Add(-time.Hour)
	// Out of order times; a few fully populated records.
	offsets := []time.Duration{30 * time.Minute, 0, 50 * time.Minute, 10 * time.Minute}
	for i, off := range offsets {
		var e trail.Event
		switch i % 3 {
		case 0:
			e = trail.FixtureSpecManagementEvent()
		case 1:
			e = trail.FixtureFullEvent()
		default:
			e = trail.FixtureConsoleSignIn()
		}
		e.EventTime, e.AWSRegion = base.Add(off), testRegion
		require.NoError(t, rec.Record(ctx, &e))
	}
	require.NoError(t, rec.Flush(ctx))
	files := sink.Files()
	require.Len(t, files, 1)
	f := files[0]

	assert.Equal(t, "main", f.Trail)
	assert.Equal(t, "audit-bucket", f.Bucket)
	assert.Equal(t, testAccount, f.AccountID)
	assert.Equal(t, testRegion, f.Region)
	assert.Equal(t, base, f.OldestEventTime)
	assert.Equal(t, base.Add(50*time.Minute), f.NewestEventTime)
	assert.True(t, strings.HasPrefix(f.Key, "team/AWSLogs/"+testAccount+"/CloudTrail/"+testRegion+"/"), f.Key)
	assert.Regexp(t, keyRE, f.Key)
	assert.Contains(t, f.Key, "_"+f.Created.Format("20060102T1504Z")+"_")
	assert.WithinDuration(t, time.Now(), f.Created, time.Minute)

	// Exactly one gzip member, nothing after it.
	br := bytes.NewReader(f.Body)
	zr, err := gzip.NewReader(br)
	require.NoError(t, err)
	zr.Multistream(false)
	body, err := io.ReadAll(zr)
	require.NoError(t, err)
	require.NoError(t, zr.Close())
	assert.Zero(t, br.Len(), "bytes after the first gzip member")
	_, err = zr.Read(make([]byte, 1))
	assert.Equal(t, io.EOF, err)

	assert.Equal(t, f.JSON, body, "Body inflates to JSON")
	assert.Equal(t, sha256.Sum256(body), f.SHA256, "SHA256 is the hash of the uncompressed JSON")

	// {"Records":[…]}, compact, and Records are its elements.
	var doc struct{ Records []json.RawMessage }
	require.NoError(t, json.Unmarshal(body, &doc))
	require.Len(t, doc.Records, len(offsets))
	require.Len(t, f.Records, len(offsets))
	joined := `{"Records":[` + string(bytes.Join(rawsToBytes(f.Records), []byte(","))) + `]}`
	assert.Equal(t, joined, string(body))
	var compact bytes.Buffer
	require.NoError(t, json.Compact(&compact, body))
	assert.Equal(t, compact.String(), string(body), "no white space between tokens")
	for i, r := range f.Records {
		assert.Equal(t, string(doc.Records[i]), string(r))
		var e trail.Event
		require.NoError(t, json.Unmarshal(r, &e), "record %d decodes", i)
		assert.Equal(t, base.Add(offsets[i]), e.EventTime, "records keep the order they were recorded in")
	}
}

func rawsToBytes(rs []json.RawMessage) [][]byte {
	out := make([][]byte, len(rs))
	for i, r := range rs {
		out[i] = r
	}
	return out
}

// TestTimeTriggeredCut runs the batch timer on synctest's fake clock.
func TestTimeTriggeredCut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sink := memsink.New()
		rec := newRecorder(t, trail.Config{Trails: []trail.Trail{{Name: "main", MultiRegion: true,
			Interval: 5 * time.Minute, Sinks: []trail.Sink{sink}}}})
		ctx := context.Background()
		start := time.Now()

		require.NoError(t, rec.Record(ctx, mkEvent("first")))
		synctest.Wait()
		assert.Empty(t, sink.Files())

		time.Sleep(2 * time.Minute)
		other := mkEvent("other-region")
		other.AWSRegion = "eu-west-1"
		require.NoError(t, rec.Record(ctx, other)) // its own batch, due at +7m
		time.Sleep(2 * time.Minute)
		require.NoError(t, rec.Record(ctx, mkEvent("second"))) // joins the first batch

		time.Sleep(time.Minute - time.Nanosecond)
		synctest.Wait()
		assert.Empty(t, sink.Files(), "nothing is cut before the interval has passed")

		time.Sleep(time.Nanosecond)
		synctest.Wait()
		files := sink.Files()
		require.Len(t, files, 1, "the batch is cut when its interval has passed")
		f := files[0]
		require.Len(t, f.Records, 2)
		assert.Equal(t, testRegion, f.Region)
		cutAt := start.Add(5 * time.Minute).UTC()
		assert.Equal(t, cutAt, f.Created)
		assert.Contains(t, f.Key, "/CloudTrail/us-east-1/"+cutAt.Format("2006/01/02")+"/")
		assert.Contains(t, f.Key, "_"+cutAt.Format("20060102T1504Z")+"_")
		assert.Equal(t, start.UTC(), f.OldestEventTime)
		assert.Equal(t, start.Add(4*time.Minute).UTC(), f.NewestEventTime)

		time.Sleep(2*time.Minute - time.Nanosecond)
		synctest.Wait()
		assert.Len(t, sink.Files(), 1)
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		files = sink.Files()
		require.Len(t, files, 2, "each (account, region) batch has its own deadline")
		assert.Equal(t, "eu-west-1", files[1].Region)
		assert.Equal(t, start.Add(7*time.Minute).UTC(), files[1].Created)

		// No empty files while idle.
		time.Sleep(time.Hour)
		synctest.Wait()
		assert.Len(t, sink.Files(), 2)

		// A new event starts a new interval.
		require.NoError(t, rec.Record(ctx, mkEvent("third")))
		restart := time.Now()
		time.Sleep(5 * time.Minute)
		synctest.Wait()
		files = sink.Files()
		require.Len(t, files, 3)
		assert.Equal(t, restart.Add(5*time.Minute).UTC(), files[2].Created)
		assert.EqualValues(t, 3, rec.Stats().FilesDelivered)
	})
}

// TestDefaultInterval checks the 5-minute default on the fake clock.
func TestDefaultInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sink := memsink.New()
		rec := newRecorder(t, oneTrail(trail.Trail{Sinks: []trail.Sink{sink}}))
		require.NoError(t, rec.Record(context.Background(), mkEvent("a")))
		time.Sleep(trail.DefaultInterval - time.Second)
		synctest.Wait()
		assert.Empty(t, sink.Files())
		time.Sleep(time.Second)
		synctest.Wait()
		assert.Len(t, sink.Files(), 1)
	})
}

// sameSizeEvent returns events whose records all have the same length (on
// the fake clock, where every eventTime is the same).
func sameSizeEvent(i int) *trail.Event {
	e := mkEvent(fmt.Sprintf("event-%03d", i))
	e.EventID = fixedEventID
	return e
}

func TestSizeTriggeredCut(t *testing.T) {
	t.Run("MaxRecords", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			sink := memsink.New()
			rec := newRecorder(t, oneTrail(trail.Trail{MaxRecords: 3, Interval: time.Hour, Sinks: []trail.Sink{sink}}))
			ctx := context.Background()
			start := time.Now()
			for i := range 7 {
				require.NoError(t, rec.Record(ctx, sameSizeEvent(i)))
			}
			synctest.Wait()
			files := sink.Files()
			require.Len(t, files, 2, "two full files are cut without waiting for the interval")
			for _, f := range files {
				assert.Len(t, f.Records, 3)
				assert.Equal(t, start.UTC(), f.Created)
			}
			require.NoError(t, rec.Flush(ctx))
			files = sink.Files()
			require.Len(t, files, 3)
			assert.Len(t, files[2].Records, 1)
			var names []string
			for _, e := range sink.Events() {
				names = append(names, e.EventName)
			}
			assert.Equal(t, []string{"event-000", "event-001", "event-002", "event-003", "event-004", "event-005", "event-006"}, names)
		})
	})

	// The size of one record, measured once.
	var recLen int
	synctest.Test(t, func(t *testing.T) {
		sink := memsink.New()
		rec := newRecorder(t, oneTrail(trail.Trail{Sinks: []trail.Sink{sink}}))
		require.NoError(t, rec.Record(context.Background(), sameSizeEvent(0)))
		require.NoError(t, rec.Flush(context.Background()))
		recLen = len(sink.Files()[0].Records[0])
	})
	require.NotZero(t, recLen)
	bodyWith := func(n int) int { return len(`{"Records":[`) + n*recLen + (n - 1) + len(`]}`) }

	tests := []struct {
		name      string
		maxBytes  int
		events    int
		wantSizes []int // records per file after Flush
		cutEarly  int   // files cut before Flush
	}{
		{"exactly two records fit", bodyWith(2), 5, []int{2, 2, 1}, 2},
		{"room for two and a half", bodyWith(2) + recLen/2, 5, []int{2, 2, 1}, 2},
		{"room for one", bodyWith(1), 3, []int{1, 1, 1}, 3},
		{"a record larger than MaxBytes gets a file of its own", recLen / 2, 3, []int{1, 1, 1}, 3},
	}
	for _, tc := range tests {
		t.Run("MaxBytes/"+tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				sink := memsink.New()
				rec := newRecorder(t, oneTrail(trail.Trail{MaxBytes: tc.maxBytes, Interval: time.Hour, Sinks: []trail.Sink{sink}}))
				ctx := context.Background()
				for i := range tc.events {
					require.NoError(t, rec.Record(ctx, sameSizeEvent(i)))
				}
				synctest.Wait()
				assert.Len(t, sink.Files(), tc.cutEarly, "files cut on size, before the interval")
				require.NoError(t, rec.Flush(ctx))
				var sizes []int
				for _, f := range sink.Files() {
					sizes = append(sizes, len(f.Records))
					if len(f.Records) > 1 {
						assert.LessOrEqual(t, len(f.JSON), tc.maxBytes)
					}
				}
				assert.Equal(t, tc.wantSizes, sizes)
			})
		})
	}
}

func TestRetryThenSuccess(t *testing.T) {
	tests := []struct {
		name   string
		fails  int
		policy trail.RetryPolicy
	}{
		{"three failures, 1s initial", 3, trail.RetryPolicy{Initial: time.Second, Max: time.Minute}},
		{"defaults", 2, trail.RetryPolicy{}},
		{"backoff capped by Max", 6, trail.RetryPolicy{Initial: time.Second, Max: 4 * time.Second}},
		{"MaxAttempts not reached", 2, trail.RetryPolicy{Initial: time.Second, MaxAttempts: 3}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				errs := &errorLog{}
				boom := errors.New("503 slow down")
				sink := newFlakySink(tc.fails, boom)
				rec := newRecorder(t, trail.Config{OnError: errs.add, Retry: tc.policy,
					Trails: []trail.Trail{{Name: "main", Sinks: []trail.Sink{sink}}}})
				ctx := context.Background()
				require.NoError(t, rec.Record(ctx, mkEvent("a")))
				start := time.Now()
				require.NoError(t, rec.Flush(ctx), "Flush waits for the retries")
				elapsed := time.Since(start)

				files := sink.Files()
				require.Len(t, files, 1)
				assert.Equal(t, tc.fails+1, sink.totalAttempts())
				st := rec.Stats()
				assert.EqualValues(t, tc.fails, st.Retries)
				assert.EqualValues(t, 1, st.FilesDelivered)
				assert.Zero(t, st.FilesFailed)

				initial, maxDelay := tc.policy.Initial, tc.policy.Max
				if initial == 0 {
					initial = time.Second
				}
				if maxDelay == 0 {
					maxDelay = 5 * time.Minute
				}
				des := errs.deliveryErrors()
				require.Len(t, des, tc.fails, "OnError receives a *DeliveryError per failed attempt")
				var total time.Duration
				for i, de := range des {
					assert.Equal(t, i+1, de.Attempt)
					assert.False(t, de.Final)
					assert.ErrorIs(t, de, boom)
					assert.Equal(t, "main", de.Trail)
					assert.Equal(t, files[0].Key, de.Key)
					assert.Equal(t, 1, de.Records)
					assert.False(t, de.Digest)
					assert.Contains(t, de.Sink, "flakySink")
					assert.Contains(t, de.Error(), "retrying in")
					d := min(initial<<i, maxDelay)
					assert.GreaterOrEqual(t, de.Backoff, d/2, "attempt %d", i+1)
					assert.LessOrEqual(t, de.Backoff, d, "attempt %d", i+1)
					// The worker really waited the reported backoff.
					assert.Equal(t, de.Backoff, sink.times[i+1].Sub(sink.times[i]))
					total += de.Backoff
				}
				assert.Equal(t, total, elapsed)
			})
		})
	}
}

func TestPermanentFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		errs := &errorLog{}
		denied := errors.New("403 access denied")
		sink := newFlakySink(-1, fmt.Errorf("%w: %w", trail.ErrPermanent, denied))
		rec := newRecorder(t, trail.Config{OnError: errs.add, Trails: []trail.Trail{{Name: "main", Sinks: []trail.Sink{sink}}}})
		ctx := context.Background()
		require.NoError(t, rec.Record(ctx, mkEvent("a")))
		start := time.Now()
		require.NoError(t, rec.Flush(ctx))
		assert.Zero(t, time.Since(start), "no backoff for a permanent error")
		assert.Equal(t, 1, sink.totalAttempts(), "a permanent error is not retried")
		st := rec.Stats()
		assert.EqualValues(t, 1, st.FilesFailed)
		assert.Zero(t, st.Retries)
		assert.Zero(t, st.FilesDelivered)
		des := errs.deliveryErrors()
		require.Len(t, des, 1)
		de := des[0]
		assert.True(t, de.Final)
		assert.Equal(t, 1, de.Attempt)
		assert.Zero(t, de.Backoff)
		assert.ErrorIs(t, de, trail.ErrPermanent)
		assert.ErrorIs(t, de, denied)
		assert.Contains(t, de.Error(), "gave up after 1 attempt")
	})
}

func TestMaxAttempts(t *testing.T) {
	for _, maxAttempts := range []int{1, 2, 5} {
		t.Run(fmt.Sprint(maxAttempts), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				errs := &errorLog{}
				sink := newFlakySink(-1, errors.New("timeout"))
				rec := newRecorder(t, trail.Config{OnError: errs.add, Retry: trail.RetryPolicy{MaxAttempts: maxAttempts},
					Trails: []trail.Trail{{Name: "main", Sinks: []trail.Sink{sink}}}})
				ctx := context.Background()
				require.NoError(t, rec.Record(ctx, mkEvent("a")))
				require.NoError(t, rec.Flush(ctx))
				assert.Equal(t, maxAttempts, sink.totalAttempts())
				st := rec.Stats()
				assert.EqualValues(t, maxAttempts-1, st.Retries)
				assert.EqualValues(t, 1, st.FilesFailed)
				des := errs.deliveryErrors()
				require.Len(t, des, maxAttempts)
				for i, de := range des {
					assert.Equal(t, i+1, de.Attempt)
					assert.Equal(t, i == maxAttempts-1, de.Final)
				}
			})
		})
	}
}

// overflowSetup builds a recorder whose queues are full: one file is being
// delivered to a blocked sink, one waits in the sink queue, the stages
// between batcher and sink hold what their bounded queues hold, the batcher
// is blocked handing over the next, and one event waits in the ingest
// queue. It returns the names of the events recorded to fill them.
func overflowSetup(t *testing.T, policy trail.OverflowPolicy, errs *errorLog) (*trail.Recorder, *gateSink, []string) {
	t.Helper()
	gate := newGateSink()
	rec := newRecorder(t, trail.Config{QueueSize: 1, SinkQueueSize: 1, Overflow: policy, OnError: errs.add,
		Trails: []trail.Trail{{Name: "main", MaxRecords: 1, Sinks: []trail.Sink{gate}}}})
	t.Cleanup(gate.Release) // runs before the recorder's Close
	var fills []string
	for i := 0; rec.Stats().Queued == 0; i++ {
		require.Less(t, i, 256, "the pipeline's queues never filled")
		name := fmt.Sprintf("fill-%d", i)
		require.NoError(t, rec.Record(context.Background(), mkEvent(name)))
		fills = append(fills, name)
		synctest.Wait()
	}
	require.GreaterOrEqual(t, len(fills), 4, "sink, sink queue, batcher and ingest queue each hold one")
	require.EqualValues(t, 1, gate.started.Load(), "one delivery in progress")
	require.Equal(t, 1, rec.Stats().Queued, "the ingest queue is full")
	return rec, gate, fills
}

func deliveredNames(files []*trail.LogFile) []string {
	var names []string
	for _, f := range files {
		for _, r := range f.Records {
			var e trail.Event
			if json.Unmarshal(r, &e) == nil {
				names = append(names, e.EventName)
			}
		}
	}
	return names
}

func TestOverflow(t *testing.T) {
	t.Run("Block respects the context deadline", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			rec, gate, fills := overflowSetup(t, trail.Block, &errorLog{})
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			start := time.Now()
			err := rec.Record(ctx, mkEvent("late"))
			assert.ErrorIs(t, err, context.DeadlineExceeded)
			assert.Equal(t, 3*time.Second, time.Since(start), "Record waited until the deadline")
			assert.EqualValues(t, len(fills), rec.Stats().Recorded)

			// Block waits for room: it returns once the sink moves again.
			done := make(chan error, 1)
			go func() { done <- rec.Record(context.Background(), mkEvent("patient")) }()
			synctest.Wait()
			select {
			case err := <-done:
				t.Fatalf("Record returned %v while the queues were full", err)
			default:
			}
			gate.Release()
			synctest.Wait()
			require.NoError(t, <-done)
			require.NoError(t, rec.Close(context.Background()))
			assert.Equal(t, append(fills, "patient"), deliveredNames(gate.Files()))
			assert.EqualValues(t, len(fills)+1, rec.Stats().Recorded)
		})
	})

	t.Run("Block ends with ErrClosed when Close begins", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			rec, gate, fills := overflowSetup(t, trail.Block, &errorLog{})
			done := make(chan error, 1)
			go func() { done <- rec.Record(context.Background(), mkEvent("blocked")) }()
			synctest.Wait()
			closed := make(chan error, 1)
			go func() { closed <- rec.Close(context.Background()) }()
			synctest.Wait()
			assert.ErrorIs(t, <-done, trail.ErrClosed)
			gate.Release()
			require.NoError(t, <-closed)
			assert.Equal(t, fills, deliveredNames(gate.Files()))
		})
	})

	t.Run("Reject", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			rec, gate, fills := overflowSetup(t, trail.Reject, &errorLog{})
			start := time.Now()
			err := rec.Record(context.Background(), mkEvent("rejected"))
			assert.ErrorIs(t, err, trail.ErrOverloaded)
			assert.Zero(t, time.Since(start), "Reject does not wait")
			st := rec.Stats()
			assert.EqualValues(t, 1, st.Overloaded)
			assert.EqualValues(t, len(fills), st.Recorded)
			gate.Release()
			require.NoError(t, rec.Close(context.Background()))
			assert.Equal(t, fills, deliveredNames(gate.Files()))
		})
	})

	t.Run("Drop", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			errs := &errorLog{}
			rec, gate, fills := overflowSetup(t, trail.Drop, errs)
			start := time.Now()
			require.NoError(t, rec.Record(context.Background(), mkEvent("dropped")), "Drop reports through OnError, not Record")
			require.NoError(t, rec.Record(context.Background(), mkEvent("dropped-too")))
			assert.Zero(t, time.Since(start), "Drop does not wait")
			st := rec.Stats()
			assert.EqualValues(t, 2, st.Dropped)
			assert.EqualValues(t, len(fills), st.Recorded)
			got := errs.all()
			require.Len(t, got, 2, "OnError hears of every dropped event")
			for _, err := range got {
				assert.ErrorIs(t, err, trail.ErrOverloaded)
			}
			gate.Release()
			require.NoError(t, rec.Close(context.Background()))
			assert.Equal(t, fills, deliveredNames(gate.Files()))
		})
	})
}

// TestSlowSinkDoesNotStallOthers: while one sink of a trail is stuck, the
// trail's other sink keeps receiving files.
func TestSlowSinkDoesNotStallOthers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gate, fast := newGateSink(), memsink.New()
		rec := newRecorder(t, trail.Config{SinkQueueSize: 16,
			Trails: []trail.Trail{{Name: "main", MaxRecords: 1, Sinks: []trail.Sink{gate, fast}}}})
		t.Cleanup(gate.Release)
		ctx := context.Background()
		for i := range 5 {
			require.NoError(t, rec.Record(ctx, mkEvent(fmt.Sprintf("e%d", i))))
		}
		synctest.Wait()
		assert.Len(t, fast.Files(), 5, "the fast sink got every file")
		assert.Empty(t, gate.Files())
		assert.EqualValues(t, 1, gate.started.Load())

		time.Sleep(time.Hour)
		synctest.Wait()
		require.NoError(t, rec.Record(ctx, mkEvent("e5")))
		synctest.Wait()
		assert.Len(t, fast.Files(), 6)

		gate.Release()
		require.NoError(t, rec.Flush(ctx))
		assert.Len(t, gate.Files(), 6)
		assert.ElementsMatch(t, deliveredNames(fast.Files()), deliveredNames(gate.Files()))
	})
}

// closerSink counts Close calls.
type closerSink struct {
	*memsink.Sink
	closes atomic.Int32
}

func (s *closerSink) Close() error { s.closes.Add(1); return nil }

func TestCloseFlushesEverything(t *testing.T) {
	a, b := memsink.New(), memsink.New()
	shared := &closerSink{Sink: memsink.New()}
	rec, err := trail.New(trail.Config{AccountID: testAccount, Region: testRegion, Trails: []trail.Trail{
		{Name: "home", Interval: time.Hour, Sinks: []trail.Sink{a, shared}},
		{Name: "global", MultiRegion: true, Interval: time.Hour, MaxRecords: 7, Sinks: []trail.Sink{b, shared}},
	}})
	require.NoError(t, err)
	ctx := context.Background()
	regions := []string{testRegion, "eu-west-1", "ap-south-1"}
	for i := range 300 {
		e := mkEvent(fmt.Sprintf("e%d", i))
		e.AWSRegion = regions[i%3]
		require.NoError(t, rec.Record(ctx, e))
	}
	require.NoError(t, rec.Close(ctx))
	assert.Len(t, a.Events(), 100)
	assert.Len(t, b.Events(), 300)
	assert.Len(t, shared.Events(), 400)
	assert.EqualValues(t, 1, shared.closes.Load(), "a sink shared by two trails is closed once")
	st := rec.Stats()
	assert.EqualValues(t, 300, st.Recorded)
	assert.EqualValues(t, len(a.Files())+len(b.Files())+len(shared.Files()), st.FilesDelivered)
	assert.Zero(t, st.Queued)
}

func TestAfterClose(t *testing.T) {
	rec := newRecorder(t, oneTrail(trail.Trail{}))
	ctx := context.Background()
	require.NoError(t, rec.Record(ctx, mkEvent("before")))
	require.NoError(t, rec.Close(ctx))

	assert.ErrorIs(t, rec.Record(ctx, mkEvent("after")), trail.ErrClosed)
	unselected := mkEvent("unselected")
	unselected.AWSRegion = "eu-west-1" // the single-region trail does not take it
	assert.ErrorIs(t, rec.Record(ctx, unselected), trail.ErrClosed)
	assert.ErrorIs(t, rec.Flush(ctx), trail.ErrClosed)
	if err := rec.Close(ctx); err != nil {
		assert.ErrorIs(t, err, trail.ErrClosed, "a second Close")
	}
	assert.EqualValues(t, 1, rec.Stats().Recorded)
}

func TestCloseWithExpiredContext(t *testing.T) {
	setup := func(t *testing.T) (*trail.Recorder, *errorLog, *flakySink) {
		errs := &errorLog{}
		sink := newFlakySink(-1, errors.New("503 unavailable"))
		rec := newRecorder(t, trail.Config{OnError: errs.add, Trails: []trail.Trail{{Name: "main", Sinks: []trail.Sink{sink}}}})
		for i := range 3 {
			require.NoError(t, rec.Record(context.Background(), mkEvent(fmt.Sprint(i))))
		}
		return rec, errs, sink
	}
	check := func(t *testing.T, rec *trail.Recorder, errs *errorLog) {
		st := rec.Stats()
		assert.EqualValues(t, 1, st.FilesFailed)
		assert.Zero(t, st.FilesDelivered)
		des := errs.deliveryErrors()
		require.NotEmpty(t, des)
		assert.True(t, des[len(des)-1].Final, "the abandoned file is reported as final")
		assert.ErrorIs(t, rec.Record(context.Background(), mkEvent("after")), trail.ErrClosed)
	}

	t.Run("canceled", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			rec, errs, _ := setup(t)
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			start := time.Now()
			err := rec.Close(ctx)
			assert.ErrorIs(t, err, context.Canceled)
			assert.Zero(t, time.Since(start))
			check(t, rec, errs)
		})
	})
	t.Run("deadline while retrying", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			rec, errs, sink := setup(t)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			start := time.Now()
			err := rec.Close(ctx)
			assert.ErrorIs(t, err, context.DeadlineExceeded)
			assert.Equal(t, 10*time.Second, time.Since(start), "Close returns when its context ends")
			assert.Greater(t, sink.totalAttempts(), 2, "it was retrying until then")
			check(t, rec, errs)
		})
	})
	t.Run("real clock", func(t *testing.T) {
		rec, errs, _ := setup(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		start := time.Now()
		assert.Error(t, rec.Close(ctx))
		assert.Less(t, time.Since(start), 5*time.Second, "Close returns promptly")
		check(t, rec, errs)
	})
}

// TestConcurrentRecord records from many goroutines; no event may be lost.
func TestConcurrentRecord(t *testing.T) {
	const goroutines, perG = 16, 500
	sink, counter := memsink.New(), &countSink{}
	rec := newRecorder(t, trail.Config{QueueSize: 64, Trails: []trail.Trail{
		{Name: "main", MaxRecords: 97, Sinks: []trail.Sink{sink, counter}}}})
	ctx := context.Background()
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range perG {
				e := mkEvent(fmt.Sprintf("g%d-%d", g, i))
				e.Resources = []trail.Resource{{Type: "AWS::S3::Bucket", ARN: fmt.Sprintf("arn:aws:s3:::b%d", g)}}
				e.RequestParameters = json.RawMessage(fmt.Sprintf(`{"i":%d}`, i))
				if err := rec.Record(ctx, e); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	require.NoError(t, rec.Close(ctx))
	evs := sink.Events()
	require.Len(t, evs, goroutines*perG)
	assert.EqualValues(t, goroutines*perG, counter.records.Load())
	ids, names := map[string]bool{}, map[string]bool{}
	for _, e := range evs {
		ids[e.EventID] = true
		names[e.EventName] = true
	}
	assert.Len(t, ids, goroutines*perG, "every event has its own eventID")
	assert.Len(t, names, goroutines*perG, "every event was delivered once")
	assert.EqualValues(t, goroutines*perG, rec.Stats().Recorded)
}
