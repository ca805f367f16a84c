package sqlhistory_test

import (
	"context"
	"testing"
	"time"

	"github.com/trailkit/trail"
	"github.com/trailkit/trail/history/historytest"
	"github.com/trailkit/trail/history/sqlhistory"
)

// BenchmarkAppend measures sustained appends in batches of 1,000 events of
// about 1.5 KB of JSON (the bar for SQLite is 50,000 events/s). The store
// grows as the benchmark runs; run it with -benchtime=100x or more to
// measure a sustained rate rather than an empty database.
func BenchmarkAppend(b *testing.B) {
	b.Run("SQLite", func(b *testing.B) { historytest.BenchAppend(b, openSQLite(b), 11) })
	b.Run("PostgreSQL", func(b *testing.B) { historytest.BenchAppend(b, openPostgres(b, postgresDSN(b)), 11) })
}

// BenchmarkLookup measures the 50 newest events for one EventName, a
// Username and a ResourceType in a store of 200,000 events.
func BenchmarkLookup(b *testing.B) {
	for _, tt := range []struct {
		name string
		open func(b *testing.B) *sqlhistory.Store
	}{
		{"SQLite", func(b *testing.B) *sqlhistory.Store { return openSQLite(b) }},
		{"PostgreSQL", func(b *testing.B) *sqlhistory.Store { return openPostgres(b, postgresDSN(b)) }},
	} {
		b.Run(tt.name, func(b *testing.B) {
			s := tt.open(b)
			gen := historytest.NewGenerator(12, time.Now().Add(-24*time.Hour), 100*time.Millisecond)
			names := gen.Names()
			ctx := context.Background()
			batch := make([]trail.Event, 1000)
			for range 200 {
				for i := range batch {
					batch[i] = gen.Next()
				}
				if err := s.Append(ctx, batch); err != nil {
					b.Fatal(err)
				}
			}
			for _, q := range []struct {
				name string
				attr trail.LookupAttribute
			}{
				{"EventName=frequent", trail.LookupAttribute{Key: trail.LookupEventName, Value: names[2]}},
				{"EventName=rare", trail.LookupAttribute{Key: trail.LookupEventName, Value: names[len(names)-1]}},
				{"Username", trail.LookupAttribute{Key: trail.LookupUsername, Value: "alice"}},
				{"ResourceType", trail.LookupAttribute{Key: trail.LookupResourceType, Value: "AWS::KMS::Key"}},
			} {
				b.Run(q.name, func(b *testing.B) {
					b.ReportAllocs()
					lq := trail.QueryInput{LookupAttributes: []trail.LookupAttribute{q.attr}}
					for b.Loop() {
						page, err := s.Lookup(ctx, &lq)
						if err != nil {
							b.Fatal(err)
						}
						if len(page.Events) != 50 {
							b.Fatalf("%d events", len(page.Events))
						}
					}
				})
			}
		})
	}
}
