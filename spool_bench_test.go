package trail_test

import (
	"context"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/trailkit/trail"
)

var spoolModes = []struct {
	name  string
	spool *trail.Spool
}{
	{"memory", nil},
	{"group-commit", &trail.Spool{Sync: trail.SyncGroupCommit}},
	{"on-interval", &trail.Spool{Sync: trail.SyncOnInterval}},
}

var benchSpoolEvent = trail.Event{EventSource: "orders.example.com", EventName: "CreateOrder",
	UserIdentity:    trail.UserIdentity{Type: "IAMUser", UserName: "alice", AccountID: testAccount},
	SourceIPAddress: "192.0.2.1", UserAgent: "bench/1.0"}

func benchSpoolRecorder(b *testing.B, spool *trail.Spool) *trail.Recorder {
	cfg := trail.Config{AccountID: testAccount, Region: testRegion, History: trail.NoHistory,
		Trails: []trail.Trail{{Name: "main", Bucket: "audit-bucket", Sinks: []trail.Sink{&countSink{}}}}}
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
					e := benchSpoolEvent
					mine := make([]time.Duration, 0, per)
					next := start.Add(time.Duration(p) * every / producers)
					for range per {
						time.Sleep(time.Until(next))
						next = next.Add(every)
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

// BenchmarkSpool measures acknowledged events per second and the callers'
// p99 Record latency with many concurrent producers (GOMAXPROCS×512), with
// no spool and with each sync policy:
//
//	go test -run '^$' -bench BenchmarkSpool -benchtime 200000x .
//
// benchSpoolParallelism is BenchmarkSpool's producers per GOMAXPROCS: 512,
// or TRAIL_BENCH_PRODUCERS (fewer producers show the latency of a moderately
// loaded service rather than of a saturated one).
func benchSpoolParallelism() int {
	if n, err := strconv.Atoi(os.Getenv("TRAIL_BENCH_PRODUCERS")); err == nil && n > 0 {
		return n
	}
	return 512
}

func BenchmarkSpool(b *testing.B) {
	for _, m := range spoolModes {
		b.Run(m.name, func(b *testing.B) {
			rec := benchSpoolRecorder(b, m.spool)
			ev := benchSpoolEvent
			var mu sync.Mutex
			var lat []time.Duration
			b.SetParallelism(benchSpoolParallelism())
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				e := ev
				mine := make([]time.Duration, 0, 1024)
				for pb.Next() {
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
