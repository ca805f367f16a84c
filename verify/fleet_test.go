package verify

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailkit/trail/internal/gztest"
)

// addDigest signs and stores a digest that follows digest prev of f and ends
// at end (a second writer continuing the same chain).
func addDigest(t *testing.T, f *fixture, prev int, end time.Time) string {
	d := *f.docs[prev+1]
	d.DigestStartTime = fmtT(f.ends[prev])
	d.DigestEndTime = fmtT(end)
	d.DigestS3Object = f.layout.DigestKey(end)
	d.LogFiles = []logEntry{}
	d.NewestEventTime, d.OldestEventTime = nil, nil
	raw := marshalCT(t, &d)
	f.objects[d.DigestS3Object] = gztest.Gzip(t, raw)
	f.meta[d.DigestS3Object] = map[string]string{"signature": signDigest(t, testKey(), &d, raw), "signature-algorithm": "SHA256withRSA"}
	return d.DigestS3Object
}

func TestFleetFindings(t *testing.T) {
	tests := []struct {
		name   string
		tamper func(t *testing.T, f *fixture) []string // keys expected in findings
		want   map[Kind]int
	}{
		{"intact", func(*testing.T, *fixture) []string { return nil }, map[Kind]int{}},
		{"fork: a second digest follows the same predecessor", func(t *testing.T, f *fixture) []string {
			k := addDigest(t, f, 1, f.ends[1].Add(30*time.Minute))
			return []string{k, f.digests[2]}
		}, map[Kind]int{KindDigestFork: 2, KindDigestOffChain: 1}},
		{"a second chain (restart) beside the walked one", func(t *testing.T, f *fixture) []string {
			// Digest 3 restarts: digests 0..2 are off the walk from the newest.
			return nil
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := defaultConfig()
			if tt.want == nil {
				cfg.Restart = map[int]bool{3: true}
			}
			f := buildFixture(t, cfg)
			keys := tt.tamper(t, f)
			opt := f.options()
			opt.AllowRestarts = true
			rep, err := Validate(context.Background(), FSStore(f.fs()), opt)
			require.NoError(t, err)
			got := map[Kind]int{}
			for _, e := range rep.Findings {
				got[e.Kind]++
			}
			if tt.want == nil {
				// validate-logs follows a starting digest to the next older
				// listed key, so a restart leaves nothing off the walk.
				assert.Zero(t, got[KindDigestOffChain], "%v", rep.Findings)
				assert.Zero(t, got[KindDigestFork], "%v", rep.Findings)
				return
			}
			assert.Equal(t, tt.want, got, "%v", rep.Findings)
			for _, k := range keys {
				found := false
				for _, e := range rep.Findings {
					found = found || e.Key == k
				}
				assert.True(t, found, "no finding names %s", k)
			}
		})
	}
}
