package trail_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/trailkit/trail"
	"github.com/trailkit/trail/sink/memsink"
)

// spoolRecorder starts a recorder with a spool in dir and one trail (with
// validation) delivering to sink.
func spoolRecorder(t *testing.T, dir string, sink trail.Sink, mod func(*trail.Config)) *trail.Recorder {
	t.Helper()
	cfg := trail.Config{AccountID: testAccount, Region: testRegion, History: trail.NoHistory,
		Spool: &trail.Spool{Dir: dir},
		Trails: []trail.Trail{{Name: "main", Bucket: "audit-bucket", Sinks: []trail.Sink{sink}, MaxRecords: 50,
			Validation: &trail.Validation{Signer: signingKey(t)}}}}
	if mod != nil {
		mod(&cfg)
	}
	rec, err := trail.New(cfg)
	require.NoError(t, err)
	return rec
}

// recordIDs records n events from 8 goroutines and returns their IDs.
// spoolUndelivered records 300 acknowledged events into a spool whose
// only sink is down, closes the recorder within wait (ErrUndelivered) and
// returns the spool's folder, the event IDs and its segment files.
func spoolUndelivered(t *testing.T, wait time.Duration) (dir string, ids, segs []string) {
	t.Helper()
	dir = t.TempDir()
	down := memsink.New()
	down.FailWith(errors.New("sink down"))
	rec := spoolRecorder(t, dir, down, func(c *trail.Config) { c.Logger = slog.New(slog.DiscardHandler) })
	ids = recordIDs(t, rec, "Create", 300)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	require.ErrorIs(t, rec.Close(ctx), trail.ErrUndelivered)
	segs, err := filepath.Glob(filepath.Join(dir, "*.wal"))
	require.NoError(t, err)
	return dir, ids, segs
}

func recordIDs(t *testing.T, rec *trail.Recorder, prefix string, n int) []string {
	t.Helper()
	ids := make([]string, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for g := range 8 {
		wg.Go(func() {
			for i := g; i < n; i += 8 {
				id := fmt.Sprintf("%08x-0000-4000-8000-%012d", i, len(prefix))
				ids[i] = id
				if err := rec.Record(context.Background(), &trail.Event{EventSource: "orders.example.com",
					EventName: prefix, EventID: id}); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Record: %v", err)
	}
	return ids
}

// deliveredIDs returns, per event ID, the keys of the files holding it.
func deliveredIDs(t *testing.T, files []*trail.LogFile) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, f := range files {
		for _, r := range f.Records {
			var ev struct {
				EventID string `json:"eventID"`
			}
			require.NoError(t, json.Unmarshal(r, &ev))
			out[ev.EventID] = append(out[ev.EventID], f.Key)
		}
	}
	return out
}

func requireExactlyOnce(t *testing.T, ids []string, got map[string][]string) {
	t.Helper()
	for _, id := range ids {
		require.Lenf(t, got[id], 1, "event %s delivered in %v", id, got[id])
	}
}

// requireDigested checks that every file is listed in one of the digests.
func requireDigested(t *testing.T, files []*trail.LogFile, digests []*trail.Digest) {
	t.Helper()
	listed := map[string]int{}
	for _, d := range digests {
		for _, f := range d.LogFiles {
			listed[f.Key]++
		}
	}
	for _, f := range files {
		require.Equalf(t, 1, listed[f.Key], "file %s listed in %d digests", f.Key, listed[f.Key])
	}
}

func spoolBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	m, err := filepath.Glob(filepath.Join(dir, "*.wal"))
	require.NoError(t, err)
	for _, p := range m {
		fi, err := os.Stat(p)
		require.NoError(t, err)
		n += fi.Size()
	}
	return n
}

func TestSpoolDeliversEveryEvent(t *testing.T) {
	for _, sync := range []trail.SyncPolicy{trail.SyncGroupCommit, trail.SyncOnInterval} {
		t.Run(fmt.Sprint(sync), func(t *testing.T) {
			dir := t.TempDir()
			sink := memsink.New()
			rec := spoolRecorder(t, dir, sink, func(c *trail.Config) { c.Spool.Sync = sync })
			ids := recordIDs(t, rec, "Create", 2000)
			require.NoError(t, rec.Close(context.Background()))
			requireExactlyOnce(t, ids, deliveredIDs(t, sink.Files()))
			requireDigested(t, sink.Files(), sink.Digests())

			// A restart on the same spool delivers nothing again.
			again := memsink.New()
			rec = spoolRecorder(t, dir, again, nil)
			require.NoError(t, rec.Close(context.Background()))
			require.Empty(t, again.Files())
		})
	}
}

func TestSpoolRecoversUndeliveredFiles(t *testing.T) {
	dir := t.TempDir()
	down := memsink.New()
	down.FailWith(errors.New("sink down"))
	rec := spoolRecorder(t, dir, down, nil)
	ids := recordIDs(t, rec, "Create", 500)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := rec.Close(ctx)
	require.ErrorIs(t, err, trail.ErrUndelivered)
	require.ErrorContains(t, err, "stay in the spool")
	require.Empty(t, down.Files())

	up := memsink.New()
	rec = spoolRecorder(t, dir, up, nil)
	require.NoError(t, rec.Close(context.Background()))
	got := deliveredIDs(t, up.Files())
	requireExactlyOnce(t, ids, got)
	requireDigested(t, up.Files(), up.Digests())
	require.Less(t, spoolBytes(t, dir), int64(1<<20))
}

// TestSpoolOutage: the only sink fails for 10 (simulated) minutes under a
// steady load. In spool mode the undelivered files wait on disk: the heap
// stays flat, and once the sink is back every event is delivered exactly
// once and every file is listed in a digest.
func TestSpoolOutage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		sink := memsink.New()
		rec := spoolRecorder(t, dir, sink, func(c *trail.Config) {
			c.Trails[0].MaxRecords = 1000
			c.Spool.Sync = trail.SyncOnInterval
		})
		var base runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&base)
		peak := base.HeapInuse
		sample := func() {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			peak = max(peak, m.HeapInuse)
		}
		perSecond, producers := 200, 4
		if raceEnabled {
			perSecond = 40 // the same outage, fewer events: -race is ~20x slower
		}
		var ids []string
		var mu sync.Mutex
		load := func(seconds int, tag string) {
			var wg sync.WaitGroup
			for p := range producers {
				wg.Go(func() {
					for s := range seconds {
						for i := range perSecond / producers {
							id := fmt.Sprintf("%08d-%04d-4000-8000-%012d", s, p, i)
							id = tag + id[len(tag):]
							require.NoError(t, rec.Record(context.Background(), &trail.Event{
								EventSource: "orders.example.com", EventName: "CreateOrder", EventID: id,
								RequestParameters: json.RawMessage(`{"orderId":"` + id + `","items":[1,2,3,4,5,6,7,8,9,10]}`)}))
							mu.Lock()
							ids = append(ids, id)
							mu.Unlock()
						}
						time.Sleep(time.Second)
					}
				})
			}
			for range seconds / 10 {
				time.Sleep(10 * time.Second)
				sample()
			}
			wg.Wait()
		}
		sink.FailWith(errors.New("bucket unreachable"))
		load(600, "a")
		require.Empty(t, sink.Files(), "the sink was down")
		outagePeak := peak // later, the memsink holds every delivered file in memory
		sink.FailWith(nil)
		load(60, "b")
		require.NoError(t, rec.Close(context.Background()))
		peak = outagePeak
		files := sink.Files()
		requireExactlyOnce(t, ids, deliveredIDs(t, files))
		requireDigested(t, files, sink.Digests())
		growth := int64(peak) - int64(base.HeapInuse)
		t.Logf("%d events, %d files; heap in use %d MiB at start, peak %d MiB (+%d MiB) during a 10-minute outage",
			len(ids), len(files), base.HeapInuse>>20, peak>>20, growth>>20)
		require.Less(t, growth, int64(48<<20), "the outage backed up in memory")
	})
}

// TestSpoolDamageIsReported: a torn tail (a power cut during a write) and a
// flipped bit are found by the checksums when the recorder starts, reported
// as *SpoolCorruptError, and the intact records are still delivered.
func TestSpoolDamageIsReported(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, seg string)
	}{
		{"torn tail", func(t *testing.T, seg string) {
			fi, err := os.Stat(seg)
			require.NoError(t, err)
			require.NoError(t, os.Truncate(seg, fi.Size()-5))
		}},
		{"flipped bit", func(t *testing.T, seg string) {
			b, err := os.ReadFile(seg)
			require.NoError(t, err)
			b[len(b)*2/3] ^= 0x04
			require.NoError(t, os.WriteFile(seg, b, 0o600))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, ids, segs := spoolUndelivered(t, 100*time.Millisecond)
			tc.damage(t, segs[len(segs)-1])

			var errs errorLog
			up := memsink.New()
			rec := spoolRecorder(t, dir, up, func(c *trail.Config) {
				c.OnError = errs.add
				c.Logger = slog.New(slog.DiscardHandler)
			})
			require.NoError(t, rec.Close(context.Background()))
			var ce *trail.SpoolCorruptError
			found := false
			for _, err := range errs.all() {
				if errors.As(err, &ce) {
					found = true
					require.ErrorIs(t, err, trail.ErrSpoolCorrupt)
					require.Contains(t, err.Error(), dir)
				}
			}
			require.True(t, found, "damage reported: %v", errs.all())
			got := deliveredIDs(t, up.Files())
			n := 0
			for _, id := range ids {
				require.LessOrEqual(t, len(got[id]), 1)
				n += len(got[id])
			}
			require.Greater(t, n, len(ids)/3, "the intact records are delivered")
			t.Logf("%s: %d of %d events recovered; reported: %v", tc.name, n, len(ids), ce)
		})
	}
}

// TestSpoolFull: a spool at MaxBytes (its sink down) refuses events under
// the Reject policy, and takes them again once delivery frees room.
func TestSpoolFull(t *testing.T) {
	dir := t.TempDir()
	sink := memsink.New()
	sink.FailWith(errors.New("sink down"))
	rec := spoolRecorder(t, dir, sink, func(c *trail.Config) {
		c.Overflow = trail.Reject
		c.Spool.MaxBytes = 256 << 10
		c.Spool.SegmentBytes = 32 << 10
		c.Retry = trail.RetryPolicy{Initial: 10 * time.Millisecond, Max: 20 * time.Millisecond}
		c.Logger = slog.New(slog.DiscardHandler)
	})
	var err error
	for i := 0; i < 100000 && err == nil; i++ {
		err = rec.Record(context.Background(), mkEvent("CreateOrder"))
	}
	require.ErrorIs(t, err, trail.ErrOverloaded)
	require.Positive(t, rec.Stats().Overloaded)
	sink.FailWith(nil)
	require.Eventually(t, func() bool { return rec.Record(context.Background(), mkEvent("CreateOrder")) == nil },
		10*time.Second, 10*time.Millisecond, "delivery frees room in the spool")
	require.NoError(t, rec.Close(context.Background()))
	require.Less(t, spoolBytes(t, dir), int64(256<<10))
}

func TestSpoolDirBelongsToOneRecorder(t *testing.T) {
	dir := t.TempDir()
	rec := spoolRecorder(t, dir, memsink.New(), nil)
	_, err := trail.New(trail.Config{AccountID: testAccount, Region: testRegion, Spool: &trail.Spool{Dir: dir},
		Trails: []trail.Trail{{Name: "main", Sinks: []trail.Sink{memsink.New()}}}})
	require.ErrorContains(t, err, "in use")
	require.NoError(t, rec.Close(context.Background()))
	rec = spoolRecorder(t, dir, memsink.New(), nil)
	require.NoError(t, rec.Close(context.Background()))
}

// spoolFrames returns the byte ranges [start, end) of the frames of a spool
// segment (a 16-byte segment header, then frames of a 16-byte header —
// length, checksum, index — and the payload).
func spoolFrames(t *testing.T, seg []byte) [][2]int {
	t.Helper()
	var out [][2]int
	for off := 16; off+16 <= len(seg); {
		n := int(binary.LittleEndian.Uint32(seg[off:]))
		end := off + 16 + n
		require.LessOrEqual(t, end, len(seg), "intact segment")
		out = append(out, [2]int{off, end})
		off = end
	}
	return out
}

// TestSpoolBitFlips flips one bit at offsets all over a spool whose sink
// was down (events, cut records, digests): recovery resynchronises past the
// damaged frame, reports it, and every acknowledged event outside that
// frame is delivered, once, in a file a digest lists.
func TestSpoolBitFlips(t *testing.T) {
	_, ids, segs := spoolUndelivered(t, 50*time.Millisecond)
	require.Len(t, segs, 1)
	orig, err := os.ReadFile(segs[0])
	require.NoError(t, err)
	frames := spoolFrames(t, orig)
	var offsets []int
	for k := 0; k < len(frames); k += max(len(frames)/12, 1) {
		f := frames[k]
		offsets = append(offsets, f[0]+1, f[0]+9, (f[0]+f[1])/2) // length, index, payload
	}
	for _, f := range frames {
		if orig[f[0]+16] != 'E' { // cut, digest and checkpoint records
			offsets = append(offsets, (f[0]+f[1])/2)
		}
	}
	last := frames[len(frames)-1]
	offsets = append(offsets, 3, last[0]+5, last[1]-1)
	for _, off := range offsets {
		t.Run(fmt.Sprint(off), func(t *testing.T) {
			hit := [2]int{0, 16}
			for _, f := range frames {
				if f[0] <= off && off < f[1] {
					hit = f
				}
			}
			d := t.TempDir()
			b := append([]byte(nil), orig...)
			b[off] ^= 1 << (off % 8)
			require.NoError(t, os.WriteFile(filepath.Join(d, filepath.Base(segs[0])), b, 0o600))
			var errs errorLog
			up := memsink.New()
			rec := spoolRecorder(t, d, up, func(c *trail.Config) {
				c.OnError = errs.add
				c.Logger = slog.New(slog.DiscardHandler)
			})
			require.NoError(t, rec.Close(context.Background()))
			var ce *trail.SpoolCorruptError
			for _, err := range errs.all() {
				if errors.As(err, &ce) {
					break
				}
			}
			require.NotNil(t, ce, "damage reported: %v", errs.all())
			require.Equal(t, int64(hit[0]), ce.Offset, "%v", ce)
			got := deliveredIDs(t, up.Files())
			damaged := string(orig[hit[0]:hit[1]])
			for _, id := range ids {
				require.LessOrEqualf(t, len(got[id]), 1, "event %s delivered in %v", id, got[id])
				if len(got[id]) == 0 {
					require.Containsf(t, damaged, id, "event %s lost, not in the damaged frame (%v)", id, ce)
				}
			}
			requireDigested(t, up.Files(), up.Digests())
			t.Logf("record kind %q: %v", orig[hit[0]+16], ce)
		})
	}
}

// TestSpoolStats: the spool's counters follow what it holds: events
// written, events no sink has yet (while the sink is down, and none once
// it is up), fsyncs, bytes, and the damage found at start.
func TestSpoolStats(t *testing.T) {
	dir := t.TempDir()
	sink := memsink.New()
	sink.FailWith(errors.New("sink down"))
	rec := spoolRecorder(t, dir, sink, func(c *trail.Config) {
		c.Logger = slog.New(slog.DiscardHandler)
		c.Retry = trail.RetryPolicy{Initial: time.Millisecond, Max: time.Millisecond}
	})
	recordIDs(t, rec, "Create", 120)
	st := rec.Stats()
	require.Equal(t, uint64(120), st.SpoolEvents)
	// Cut files are counted once the chain stage has them.
	require.Eventually(t, func() bool { return rec.Stats().SpoolUnsent == 120 }, 10*time.Second, time.Millisecond,
		"every event waits for the sink: %v", rec.Stats())
	st = rec.Stats()
	require.Positive(t, st.SpoolSyncs)
	require.Greater(t, st.SpoolBytes, int64(120*100))
	require.Zero(t, st.SpoolCorrupt)
	require.Contains(t, st.String(), "; spool ")
	sink.FailWith(nil)
	require.NoError(t, rec.Flush(context.Background()))
	require.Zero(t, rec.Stats().SpoolUnsent, "the sink took every file")
	require.NoError(t, rec.Close(context.Background()))

	segs, err := filepath.Glob(filepath.Join(dir, "*.wal"))
	require.NoError(t, err)
	f, err := os.OpenFile(segs[len(segs)-1], os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = f.Write([]byte("torn"))
	require.NoError(t, err)
	require.NoError(t, f.Close())
	rec = spoolRecorder(t, dir, memsink.New(), func(c *trail.Config) { c.Logger = slog.New(slog.DiscardHandler) })
	require.Equal(t, uint64(1), rec.Stats().SpoolCorrupt)
	require.NoError(t, rec.Close(context.Background()))
}

// TestSpoolHistory: with a spool, history keeps the events a trail selects
// and those kept for history only (which are not spooled, and whose
// Record does not wait for a group commit), visible once Record returns.
func TestSpoolHistory(t *testing.T) {
	for _, sync := range []trail.SyncPolicy{trail.SyncGroupCommit, trail.SyncOnInterval} {
		t.Run(fmt.Sprint(sync), func(t *testing.T) {
			sink := memsink.New()
			rec := spoolRecorder(t, t.TempDir(), sink, func(c *trail.Config) {
				c.History = nil // the default MemoryHistory
				c.Spool.Sync = sync
				c.Trails[0].Management = trail.ReadWriteReadOnly
			})
			ctx := context.Background()
			ro := true
			require.NoError(t, rec.Record(ctx, &trail.Event{EventSource: "orders.example.com", EventName: "GetOrder", ReadOnly: &ro}))
			require.NoError(t, rec.Record(ctx, &trail.Event{EventSource: "orders.example.com", EventName: "CreateOrder"}))
			for _, name := range []string{"GetOrder", "CreateOrder"} {
				out, err := rec.LookupEvents(ctx, trail.LookupInput{LookupAttributes: []trail.LookupAttribute{{Key: trail.LookupEventName, Value: name}}})
				require.NoError(t, err)
				require.Lenf(t, out.Events, 1, "history keeps %s", name)
			}
			st := rec.Stats()
			require.Equal(t, uint64(1), st.SpoolEvents, "only the selected event is spooled")
			require.Equal(t, uint64(1), st.Unselected)
			require.NoError(t, rec.Close(ctx))
			require.Len(t, deliveredIDs(t, sink.Files()), 1)
		})
	}
}
