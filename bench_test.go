package trail

import (
	"context"
	"crypto/sha256"
	"testing"
	"time"
)

// benchRecorder returns a recorder with one trail delivering to a sink that
// discards files. Files are cut at the default 10000 records, so the
// background gzip work is part of what BenchmarkRecord measures.
func benchRecorder(b *testing.B) *Recorder {
	b.Helper()
	r, err := New(Config{AccountID: "111122223333", Region: "us-east-1",
		Trails: []Trail{{Name: "main", Interval: time.Hour, Sinks: []Sink{discardSink{}}}}})
	if err != nil {
		b.Fatal(err)
	}
	return r
}

func closeBench(b *testing.B, r *Recorder) {
	b.StopTimer()
	if err := r.Close(context.Background()); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkRecord records a realistic, already valid ~1.4 KB event
// (resources, requestParameters, session context).
func BenchmarkRecord(b *testing.B) {
	b.Run("serial", func(b *testing.B) {
		r := benchRecorder(b)
		ctx := context.Background()
		e := FixtureBenchEvent()
		b.ReportAllocs()
		for b.Loop() {
			if err := r.Record(ctx, &e); err != nil {
				b.Fatal(err)
			}
		}
		closeBench(b, r)
	})
	b.Run("parallel", func(b *testing.B) {
		r := benchRecorder(b)
		ctx := context.Background()
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			e := FixtureBenchEvent()
			for pb.Next() {
				if err := r.Record(ctx, &e); err != nil {
					b.Error(err)
					return
				}
			}
		})
		closeBench(b, r)
	})
	b.Run("unselected", func(b *testing.B) {
		// Validation, stamping and selection only: no trail takes the event.
		r := benchRecorder(b)
		ctx := context.Background()
		e := FixtureBenchEvent()
		e.AWSRegion = "eu-west-1"
		b.ReportAllocs()
		for b.Loop() {
			if err := r.Record(ctx, &e); err != nil {
				b.Fatal(err)
			}
		}
		closeBench(b, r)
	})
	b.Run("minimal", func(b *testing.B) {
		// Only eventSource and eventName: Record stamps eventID and eventTime.
		r := benchRecorder(b)
		ctx := context.Background()
		e := Event{EventSource: "orders.example.com", EventName: "CreateOrder"}
		b.ReportAllocs()
		for b.Loop() {
			if err := r.Record(ctx, &e); err != nil {
				b.Fatal(err)
			}
		}
		closeBench(b, r)
	})
}

// BenchmarkEncode appends a realistic ~1.4 KB event to a reused buffer.
func BenchmarkEncode(b *testing.B) {
	for _, bc := range []struct {
		name string
		ev   Event
	}{{"realistic", FixtureBenchEvent()}, {"full", FixtureFullEvent()}} {
		b.Run(bc.name, func(b *testing.B) {
			e := bc.ev
			buf := e.AppendJSON(nil)
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			for b.Loop() {
				buf = e.AppendJSON(buf[:0])
			}
		})
	}
}

// BenchmarkGzipFile cuts a batch of 1000 realistic records into a LogFile:
// closing the JSON, record sub-slices, gzip (one member), SHA-256 and key.
func BenchmarkGzipFile(b *testing.B) {
	tr := Trail{Name: "main", Bucket: "audit-bucket", Prefix: "team"}
	var bt batch
	bt.reset()
	e := FixtureBenchEvent()
	var rec []byte
	for i := range 1000 {
		e.EventTime = time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second)
		rec = e.AppendJSON(rec[:0])
		bt.add(rec, e.EventTime)
	}
	if cap(bt.buf) < len(bt.buf)+2 {
		bt.buf = append(bt.buf, ' ', ' ')[:len(bt.buf)]
	}
	full, ends, oldest, newest := bt.buf, bt.ends, bt.oldest, bt.newest
	now := time.Date(2025, 3, 1, 10, 20, 0, 0, time.UTC)
	b.SetBytes(int64(len(full) + 2))
	b.ReportAllocs()
	var size int
	for b.Loop() {
		bt.buf, bt.ends, bt.oldest, bt.newest = full, ends, oldest, newest
		f := bt.finish(&tr, now)
		var err error
		f.SHA256 = sha256.Sum256(f.JSON)
		if f.Body, err = gzipLevel(f.JSON, 0); err != nil {
			b.Fatal(err)
		}
		if len(f.Records) != 1000 {
			b.Fatalf("%d records", len(f.Records))
		}
		size = len(f.Body)
	}
	b.ReportMetric(float64(size), "gzip-bytes")
}
