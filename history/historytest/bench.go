package historytest

import (
	"context"
	"testing"
	"time"

	"github.com/trailkit/trail"
)

// BenchAppend is the body of an append benchmark: each iteration appends
// one batch of 1,000 events of a Generator seeded with seed (events of a
// day ago, 10 ms apart; making them is not timed) to s, which grows as the
// benchmark runs. It reports allocations and the rate as events/s.
//
//	func BenchmarkAppend(b *testing.B) { historytest.BenchAppend(b, mystore.New(…), 1) }
func BenchAppend(b *testing.B, s trail.HistoryStore, seed uint64) {
	gen := NewGenerator(seed, time.Now().Add(-24*time.Hour), 10*time.Millisecond)
	batch := make([]trail.Event, 1000)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		for i := range batch {
			batch[i] = gen.Next()
		}
		b.StartTimer()
		if err := s.Append(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "events/s")
}
