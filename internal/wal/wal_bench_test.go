package wal

import (
	"os"
	"slices"
	"testing"
	"time"
)

// BenchmarkSync measures what one group commit costs on the disk that holds
// the spool: an Append of a small group (one ~2 KB frame, or 64 of them)
// followed by Sync (fdatasync), with the p50/p99 of the Sync alone — the
// floor under SyncGroupCommit's caller latency — in a segment that grows
// and in preallocated ones (what the spool uses; 1 MiB segments, so that
// all but the first are preallocated). TRAIL_WAL_DIR puts the log
// on another disk (default: the test's temporary directory):
//
//	TRAIL_WAL_DIR=/var/lib/svc go test -run '^$' -bench BenchmarkSync -benchtime 2000x ./internal/wal
func BenchmarkSync(b *testing.B) {
	for _, tc := range []struct {
		name     string
		frames   int
		prealloc bool
	}{{"2KB", 1, false}, {"128KB", 64, false}, {"2KB/preallocated", 1, true}, {"128KB/preallocated", 64, true}} {
		b.Run(tc.name, func(b *testing.B) {
			dir := b.TempDir()
			if d := os.Getenv("TRAIL_WAL_DIR"); d != "" {
				var err error
				if dir, err = os.MkdirTemp(d, "walbench"); err != nil {
					b.Fatal(err)
				}
				defer os.RemoveAll(dir)
			}
			l, _, err := Open(dir, Options{SegmentSize: 1 << 20, Preallocate: tc.prealloc}, func(uint64, []byte) error { return nil })
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			payload := make([]byte, 2000)
			var group []byte
			for range tc.frames {
				group = AppendFrame(group, payload)
			}
			syncs := make([]time.Duration, 0, b.N)
			b.SetBytes(int64(len(group)))
			b.ResetTimer()
			for range b.N {
				if _, err := l.Append(group, tc.frames); err != nil {
					b.Fatal(err)
				}
				t0 := time.Now()
				if err := l.Sync(); err != nil {
					b.Fatal(err)
				}
				syncs = append(syncs, time.Since(t0))
			}
			b.StopTimer()
			slices.Sort(syncs)
			b.ReportMetric(float64(syncs[len(syncs)/2].Microseconds())/1000, "sync-p50-ms")
			b.ReportMetric(float64(syncs[len(syncs)*99/100].Microseconds())/1000, "sync-p99-ms")
			b.ReportMetric(float64(syncs[len(syncs)-1].Microseconds())/1000, "sync-max-ms")
		})
	}
}
