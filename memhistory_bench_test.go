package trail_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/trailkit/trail"
	"github.com/trailkit/trail/history/historytest"
)

// benchEvents is the size of the benchmark history: one million events of
// about 1.4 KB of JSON each.
const benchEvents = 1_000_000

var bench1M struct {
	once    sync.Once
	store   *trail.MemoryHistory
	perEv   float64 // heap bytes per event
	jsonAvg float64 // JSON bytes per event
	names   []string
}

// memoryHistory1M builds the 1M-event store once per benchmark binary and
// measures its heap.
func memoryHistory1M(b *testing.B) *trail.MemoryHistory {
	bench1M.once.Do(func() {
		ctx := context.Background()
		start := time.Now().Add(-48 * time.Hour)
		gen := historytest.NewGenerator(1, start, 150*time.Millisecond)
		bench1M.names = gen.Names()
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		s := trail.NewMemoryHistory(trail.MemoryHistoryOptions{MaxBytes: 4 << 30})
		batch := make([]trail.Event, 0, 1000)
		var jsonBytes int
		var buf []byte
		for i := range benchEvents {
			ev := gen.Next()
			buf = ev.AppendJSON(buf[:0])
			jsonBytes += len(buf)
			batch = append(batch, ev)
			if len(batch) == cap(batch) || i == benchEvents-1 {
				if err := s.Append(ctx, batch); err != nil {
					b.Fatal(err)
				}
				clear(batch)
				batch = batch[:0]
			}
		}
		batch, buf, gen = nil, nil, nil
		runtime.GC()
		runtime.ReadMemStats(&after)
		bench1M.store = s
		bench1M.perEv = float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / benchEvents
		bench1M.jsonAvg = float64(jsonBytes) / benchEvents
	})
	return bench1M.store
}

// BenchmarkMemoryHistoryHeap reports the heap the default store takes per
// retained event at one million events (the acceptance bar is 400 B/event).
func BenchmarkMemoryHistoryHeap(b *testing.B) {
	s := memoryHistory1M(b)
	for b.Loop() {
		runtime.KeepAlive(s)
	}
	b.ReportMetric(bench1M.perEv, "B/event")
	b.ReportMetric(bench1M.jsonAvg, "JSON-B/event")
	b.ReportMetric(float64(s.Stats().Bytes)/benchEvents, "est-B/event")
}

// BenchmarkMemoryHistoryLookup measures a LookupEvents page: the 50 newest
// events for one EventName at one million events (the bar is 2 ms).
func BenchmarkMemoryHistoryLookup(b *testing.B) {
	s := memoryHistory1M(b)
	ctx := context.Background()
	for _, tt := range []struct {
		name string
		q    trail.QueryInput
	}{
		{"EventName=frequent", trail.QueryInput{LookupAttributes: []trail.LookupAttribute{{Key: trail.LookupEventName, Value: bench1M.names[2]}}}},
		{"EventName=rare", trail.QueryInput{LookupAttributes: []trail.LookupAttribute{{Key: trail.LookupEventName, Value: bench1M.names[len(bench1M.names)-1]}}}},
		{"Newest", trail.QueryInput{}},
		{"Username", trail.QueryInput{LookupAttributes: []trail.LookupAttribute{{Key: trail.LookupUsername, Value: "alice"}}}},
		{"ResourceType", trail.QueryInput{LookupAttributes: []trail.LookupAttribute{{Key: trail.LookupResourceType, Value: "AWS::KMS::Key"}}}},
		{"ErrorCode+ReadOnly", trail.QueryInput{LookupAttributes: []trail.LookupAttribute{{Key: trail.LookupErrorCode, Value: "AccessDenied"}, {Key: trail.LookupReadOnly, Value: "false"}}}},
	} {
		b.Run(tt.name, func(b *testing.B) {
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				page, err := s.Lookup(ctx, &tt.q)
				if err != nil {
					b.Fatal(err)
				}
				n = len(page.Events)
			}
			b.ReportMetric(float64(n), "events/op")
		})
	}
}

// BenchmarkMemoryHistoryAppend measures appending in batches of 1,000.
func BenchmarkMemoryHistoryAppend(b *testing.B) {
	historytest.BenchAppend(b, trail.NewMemoryHistory(trail.MemoryHistoryOptions{MaxBytes: 64 << 20}), 2)
}

// BenchmarkMemoryHistoryFill appends 1.5 million unique events in batches
// of 512 (as the recorder's history worker does) into a store capped at
// the default 256 MiB, and reports the append cost (CPU time of the
// process, so that a loaded machine does not distort it) over the first
// and the last 250,000 events (flat as the store fills and starts
// evicting), and the latency of a lookup at the end.
func BenchmarkMemoryHistoryFill(b *testing.B) {
	const total, window, batchN = 1_500_000, 250_000, 512
	gen := historytest.NewGenerator(3, time.Now().Add(-24*time.Hour), 20*time.Millisecond)
	evs := make([]trail.Event, total)
	for i := range evs {
		evs[i] = gen.Next()
	}
	ctx := context.Background()
	for b.Loop() {
		s := trail.NewMemoryHistory(trail.MemoryHistoryOptions{})
		var first, last time.Duration
		for i := 0; i < total; i += batchN {
			j := min(i+batchN, total)
			start := cpuTime()
			if err := s.Append(ctx, evs[i:j]); err != nil {
				b.Fatal(err)
			}
			d := cpuTime() - start
			if i < window {
				first += d
			}
			if i >= total-window {
				last += d
			}
		}
		b.ReportMetric(float64(first.Nanoseconds())/window, "first-cpu-ns/event")
		b.ReportMetric(float64(last.Nanoseconds())/window, "last-cpu-ns/event")
		start := cpuTime()
		page, err := s.Lookup(ctx, &trail.QueryInput{LookupAttributes: []trail.LookupAttribute{{Key: trail.LookupEventName, Value: gen.Names()[0]}}})
		if err != nil || len(page.Events) == 0 {
			b.Fatal(err, page)
		}
		b.ReportMetric(float64((cpuTime() - start).Microseconds()), "lookup-cpu-µs")
		b.ReportMetric(float64(s.Stats().Events), "events-held")
	}
}

// cpuTime is the CPU time (user + system) the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkGzipLevels compresses log files of 2,000 realistic records
// (historytest.Generator, about 1.5 KB each) at gzip levels 1 to 6 and
// reports the ratio and the throughput in CPU time (DefaultCompressionLevel
// was chosen from these numbers).
func BenchmarkGzipLevels(b *testing.B) {
	gen := historytest.NewGenerator(4, time.Now().Add(-time.Hour), 10*time.Millisecond)
	body := []byte(`{"Records":[`)
	for i := range 2000 {
		if i > 0 {
			body = append(body, ',')
		}
		ev := gen.Next()
		body = ev.AppendJSON(body)
	}
	body = append(body, ']', '}')
	for level := 1; level <= 6; level++ {
		b.Run(fmt.Sprint("level-", level), func(b *testing.B) {
			var size int
			var cpu time.Duration
			for b.Loop() {
				start := cpuTime()
				out, err := trail.GzipLevelForTest(body, level)
				cpu += cpuTime() - start
				if err != nil {
					b.Fatal(err)
				}
				size = len(out)
			}
			b.ReportMetric(float64(len(body))/float64(size), "ratio")
			b.ReportMetric(float64(len(body))*float64(b.N)/cpu.Seconds()/1e6, "cpu-MB/s")
		})
	}
}
