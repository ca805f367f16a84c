package trail_test

import (
	"context"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trailkit/trail"
	"github.com/trailkit/trail/history/historytest"
	"github.com/trailkit/trail/sink/filesink"
)

var spoolModes = []struct {
	name  string
	spool *trail.Spool
}{
	{"memory", nil},
	{"group-commit", &trail.Spool{Sync: trail.SyncGroupCommit}},
	{"on-interval", &trail.Spool{Sync: trail.SyncOnInterval}},
}

// benchSpoolEvents is a pool of varied generated management events (about
// 1.5 KB of JSON each: identities, resources, parameters), the generator
// bench/ uses. Their EventIDs are empty: Record stamps a unique one on
// each, as it does for a service that leaves it to the recorder.
var benchSpoolEvents = sync.OnceValue(func() []trail.Event {
	gen := historytest.NewGenerator(7, time.Now().Add(-2*time.Hour), time.Millisecond)
	evs := make([]trail.Event, 8192)
	for i := range evs {
		evs[i] = gen.Next()
		evs[i].EventID = ""
	}
	return evs
})

// benchSpoolRecorder is what a user runs: a multi-region trail delivering
// to a filesink (fsyncing its files) with digests signed every period. No
// history: the spool's cost is what the benchmark isolates.
func benchSpoolRecorder(b *testing.B, spool *trail.Spool) *trail.Recorder {
	cfg := trail.Config{AccountID: testAccount, Region: testRegion, History: trail.NoHistory,
		Trails: []trail.Trail{{Name: "main", Bucket: "audit-bucket", MultiRegion: true,
			Sinks:      []trail.Sink{filesink.New(b.TempDir(), filesink.Options{})},
			Validation: &trail.Validation{Signer: signingKey(b)}}}}
	if spool != nil {
		sp := *spool
		sp.Dir = b.TempDir()
		cfg.Spool = &sp
	}
	rec, err := trail.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	return rec
}

// BenchmarkSpoolPaced offers 100k events/s from 500 producers (one event
// every 5 ms each) and reports the acknowledged rate and the callers'
// Record latency, the figure a service sees at that load:
//
//	go test -run '^$' -bench BenchmarkSpoolPaced -benchtime 300000x .
func BenchmarkSpoolPaced(b *testing.B) {
	const producers, every = 500, 5 * time.Millisecond
	evs := benchSpoolEvents()
	for _, m := range spoolModes {
		b.Run(m.name, func(b *testing.B) {
			rec := benchSpoolRecorder(b, m.spool)
			per := max(b.N/producers, 1)
			lat := make([][]time.Duration, producers)
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for p := range producers {
				wg.Go(func() {
					mine := make([]time.Duration, 0, per)
					next := start.Add(time.Duration(p) * every / producers)
					for i := range per {
						time.Sleep(time.Until(next))
						next = next.Add(every)
						e := evs[(p*per+i)%len(evs)]
						t0 := time.Now()
						if err := rec.Record(context.Background(), &e); err != nil {
							b.Error(err)
							return
						}
						mine = append(mine, time.Since(t0))
					}
					lat[p] = mine
				})
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			if err := rec.Close(context.Background()); err != nil {
				b.Fatal(err)
			}
			all := slices.Concat(lat...)
			slices.Sort(all)
			b.ReportMetric(float64(len(all))/elapsed.Seconds(), "events/s")
			b.ReportMetric(float64(all[len(all)*99/100].Microseconds())/1000, "p99-ms")
			b.ReportMetric(float64(all[len(all)/2].Microseconds())/1000, "p50-ms")
		})
	}
}

// benchSpoolParallelism is BenchmarkSpool's producers per GOMAXPROCS: 512,
// or TRAIL_BENCH_PRODUCERS (fewer producers show the latency of a moderately
// loaded service rather than of a saturated one).
func benchSpoolParallelism() int {
	if n, err := strconv.Atoi(os.Getenv("TRAIL_BENCH_PRODUCERS")); err == nil && n > 0 {
		return n
	}
	return 512
}

// BenchmarkSpool measures acknowledged events per second and the callers'
// p99 Record latency with many concurrent producers (GOMAXPROCS ×
// TRAIL_BENCH_PRODUCERS, default 512), with no spool and with each sync
// policy, recording varied events with unique IDs through a filesink with
// digests:
//
//	TRAIL_BENCH_PRODUCERS=32 go test -run '^$' -bench 'BenchmarkSpool$' -benchtime 300000x .
func BenchmarkSpool(b *testing.B) {
	evs := benchSpoolEvents()
	for _, m := range spoolModes {
		b.Run(m.name, func(b *testing.B) {
			rec := benchSpoolRecorder(b, m.spool)
			var mu sync.Mutex
			var lat []time.Duration
			var next atomic.Int64
			b.SetParallelism(benchSpoolParallelism())
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				mine := make([]time.Duration, 0, 1024)
				i := int(next.Add(1) * 7919)
				for pb.Next() {
					e := evs[i%len(evs)]
					i++
					t0 := time.Now()
					if err := rec.Record(context.Background(), &e); err != nil {
						b.Error(err)
						return
					}
					mine = append(mine, time.Since(t0))
				}
				mu.Lock()
				lat = append(lat, mine...)
				mu.Unlock()
			})
			elapsed := time.Since(start)
			cpu := cpuTime() - cpu0
			b.StopTimer()
			if err := rec.Close(context.Background()); err != nil {
				b.Fatal(err)
			}
			// CPU time per event is the figure that holds on a shared,
			// loaded machine, where wall-clock rates swing.
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N)/1000, "cpu-µs/event")
			slices.Sort(lat)
			if len(lat) > 0 {
				b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "events/s")
				b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
				b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			}
		})
	}
}
