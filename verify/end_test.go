package verify

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRequireEnd attacks the end of the chain with Options.RequireEnd (as
// trailcheck --end sets it): the trail must be covered up to End, exactly.
// Fixture: hourly digests D0..D5 (D5 ends 06:07:31), log files in D0, D1,
// D3, D4 (2, 1, 3, 2) and D5 (1).
func TestRequireEnd(t *testing.T) {
	tests := []struct {
		name   string
		cfg    func(c *fixtureConfig)
		tamper func(f *fixture)
		opts   func(f *fixture, o *Options)
		want   string // findings
		notes  string // notices
	}{
		{name: "untouched, End = D5's end", want: ""},
		{name: "untouched, End before D5's end", opts: func(f *fixture, o *Options) { o.End = f.ends[5].Add(-10 * time.Minute) }, want: ""},
		{name: "newest digest deleted", tamper: func(f *fixture) { f.remove(f.digests[5]) },
			want: "newest-digest-missing×1, log-not-in-digest×1"},
		{name: "newest digest and its log file deleted", tamper: func(f *fixture) {
			f.remove(f.digests[5])
			for _, l := range f.logs[5] {
				f.remove(l)
			}
		}, want: "newest-digest-missing×1"},
		{name: "last three periods deleted", tamper: func(f *fixture) {
			for _, i := range []int{3, 4, 5} {
				f.remove(f.digests[i])
			}
		}, want: "newest-digest-missing×1, log-not-in-digest×6"},
		{name: "End an hour after a full newest period", opts: func(f *fixture, o *Options) { o.End = f.ends[5].Add(time.Hour) },
			want: "newest-digest-missing×1"},
		{name: "End a second after a full newest period", opts: func(f *fixture, o *Options) { o.End = f.ends[5].Add(time.Second) },
			want: "newest-digest-missing×1"},
		{name: "newest period shorter than DigestPeriod: a final digest, End later", opts: func(f *fixture, o *Options) {
			o.End, o.DigestPeriod = f.ends[5].Add(3*time.Hour), 2*time.Hour
		}, want: ""},
		{name: "final digest, a log file after it before End", tamper: func(f *fixture) {
			k, b := f.extraLog(t, f.ends[5].Add(30*time.Minute))
			f.objects[k] = b
		}, opts: func(f *fixture, o *Options) { o.End, o.DigestPeriod = f.ends[5].Add(3*time.Hour), 2*time.Hour },
			want: "log-not-in-digest×1"},
		{name: "forged log named a minute before End (no slack)", tamper: func(f *fixture) {
			k, b := f.extraLog(t, f.ends[5].Add(-time.Minute))
			f.objects[k] = b
		}, want: "log-not-in-digest×1"},
		{name: "forged log named in End's minute is a notice", tamper: func(f *fixture) {
			k, b := f.extraLog(t, f.ends[5].Add(-time.Second))
			f.objects[k] = b
		}, want: "", notes: "not-yet-covered×1"},
		{name: "a single 50-minute digest: shorter than the one-hour floor, a final digest", cfg: func(c *fixtureConfig) {
			c.Hours = 1
			c.MutateDigest = func(i int, d *digestDoc) { d.DigestStartTime = fmtT(c.Start.Add(10 * time.Minute)) }
		}, opts: func(f *fixture, o *Options) { o.End = f.ends[0].Add(3 * time.Hour) }, want: ""},
		{name: "a single 50-minute digest, DigestPeriod 50m: a full period", cfg: func(c *fixtureConfig) {
			c.Hours = 1
			c.MutateDigest = func(i int, d *digestDoc) { d.DigestStartTime = fmtT(c.Start.Add(10 * time.Minute)) }
		}, opts: func(f *fixture, o *Options) { o.End, o.DigestPeriod = f.ends[0].Add(3*time.Hour), 50*time.Minute }, want: "newest-digest-missing×1"},
		{name: "ExpectedEnd wins over the final-digest rule", opts: func(f *fixture, o *Options) {
			o.End, o.DigestPeriod, o.ExpectedEnd = f.ends[5].Add(3*time.Hour), 2*time.Hour, f.ends[5].Add(time.Hour)
		}, want: "newest-digest-missing×1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := defaultConfig()
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			f := buildFixture(t, cfg)
			if tc.tamper != nil {
				tc.tamper(f)
			}
			o := f.options()
			o.RequireEnd = true
			if tc.opts != nil {
				tc.opts(f, &o)
			}
			rep, err := Validate(context.Background(), FSStore(f.fs()), o)
			require.NoError(t, err)
			for _, x := range append(rep.Findings, rep.Notices...) {
				t.Logf("%v", x)
			}
			assert.Equal(t, tc.want, summarize(findingKinds(rep.Findings)), "findings")
			assert.Equal(t, tc.notes, summarize(findingKinds(rep.Notices)), "notices")
		})
	}
}
