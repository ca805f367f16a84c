package filter

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/trailkit/trail"
)

type discardSink struct{}

func (discardSink) Deliver(context.Context, *trail.LogFile) error { return nil }

// BenchmarkEndToEnd measures what metric filters add to a recorder's
// end-to-end cost: Record of a realistic event through validation, the
// batcher, encoding, gzip and a discarding sink, with Close (which drains
// the pipeline) inside the timed region. "cis-metrics" attaches a Metrics
// with the 14 CIS metric filters (and their alarms) as an observer. Besides
// ns/op it reports cpu-ns/op: the process's user+system CPU per event.
func BenchmarkEndToEnd(b *testing.B) {
	for _, withMetrics := range []bool{false, true} {
		name := "plain"
		if withMetrics {
			name = "cis-metrics"
		}
		b.Run(name, func(b *testing.B) {
			cfg := trail.Config{AccountID: "111122223333", Region: "us-east-1", History: trail.NoHistory,
				Trails: []trail.Trail{{Name: "main", Interval: time.Hour, Sinks: []trail.Sink{discardSink{}}}}}
			if withMetrics {
				var mfs []MetricFilter
				var alarms []Alarm
				for _, p := range CIS() {
					mfs = append(mfs, p.MetricFilter())
					alarms = append(alarms, p.Alarm())
				}
				m, err := NewMetrics(MetricsConfig{Filters: mfs, Alarms: alarms})
				if err != nil {
					b.Fatal(err)
				}
				defer m.Close()
				cfg.Observers = []trail.EventObserver{m}
			}
			rec, err := trail.New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			ev := apiCall("ec2.amazonaws.com", "RunInstances")
			ev.EventTime = time.Now().UTC().Truncate(time.Second)
			ev.Resources = []trail.Resource{{AccountID: "111122223333", Type: "AWS::EC2::Instance", ARN: "arn:aws:ec2:us-east-1:111122223333:instance/i-0abc"}}
			ctx := context.Background()
			cpu0 := cpuTime()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if err := rec.Record(ctx, ev); err != nil {
					b.Fatal(err)
				}
			}
			if err := rec.Close(ctx); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkMetricsObserve is the per-event cost of the 14 CIS metric filters
// alone (what an observer adds to Record's caller).
func BenchmarkMetricsObserve(b *testing.B) {
	var mfs []MetricFilter
	for _, p := range CIS() {
		mfs = append(mfs, p.MetricFilter())
	}
	m, err := NewMetrics(MetricsConfig{Filters: mfs})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	ev := apiCall("ec2.amazonaws.com", "RunInstances")
	b.ReportAllocs()
	for b.Loop() {
		m.ObserveEvent(ev)
	}
}
