package verify

import (
	"context"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSymlinkedFolder replaces each folder level of a trail's tree (prefix,
// AWSLogs, account, CloudTrail and CloudTrail-Digest, region, year, month,
// day) by a symlink to an identical copy outside the tree: Validate must
// report the symlink itself, with its path, and read nothing through it;
// NotRegular (what trailcheck prints when it finds no digests) names it too.
func TestSymlinkedFolder(t *testing.T) {
	cfg := defaultConfig()
	cfg.Prefix = "p"
	f := buildFixture(t, cfg)
	logDay := path.Dir(f.logs[0][0])    // p/AWSLogs/acct/CloudTrail/us-east-1/2026/01/01
	digestDay := path.Dir(f.digests[0]) // p/AWSLogs/acct/CloudTrail-Digest/us-east-1/2026/01/01
	up := func(p string, n int) string {
		for range n {
			p = path.Dir(p)
		}
		return p
	}
	tests := []struct {
		level, folder string
	}{
		{"prefix", "p"},
		{"AWSLogs", "p/AWSLogs"},
		{"account", "p/AWSLogs/111122223333"},
		{"CloudTrail", up(logDay, 4)},
		{"log region", up(logDay, 3)},
		{"log year", up(logDay, 2)},
		{"log month", up(logDay, 1)},
		{"log day", logDay},
		{"CloudTrail-Digest", up(digestDay, 4)},
		{"digest region", up(digestDay, 3)},
		{"digest year", up(digestDay, 2)},
		{"digest month", up(digestDay, 1)},
		{"digest day", digestDay},
	}
	for _, tc := range tests {
		t.Run(tc.level, func(t *testing.T) {
			dir := t.TempDir()
			f.writeDir(t, dir)
			root := filepath.Join(dir, cfg.Bucket)
			folder := filepath.Join(root, filepath.FromSlash(tc.folder))
			copyDir := filepath.Join(t.TempDir(), "copy")
			require.NoError(t, os.Rename(folder, copyDir))
			require.NoError(t, os.Symlink(copyDir, folder))
			st := FSStore(os.DirFS(root))
			for _, requireEnd := range []bool{false, true} {
				o := f.options()
				o.RequireEnd = requireEnd
				rep, err := Validate(context.Background(), st, o)
				require.NoError(t, err)
				var links []*IntegrityError
				for _, x := range rep.Findings {
					if x.Kind == KindNotRegular {
						links = append(links, x)
					}
				}
				if assert.Len(t, links, 1, "%v", rep.Findings) {
					assert.Equal(t, tc.folder, links[0].Key)
					assert.Contains(t, links[0].Error(), "s3://audit-bucket/"+tc.folder+"\tINVALID: symbolic link where")
					assert.Contains(t, links[0].Detail, "folder")
				}
				for _, r := range rep.Results {
					if r.Err == nil && r.Key != "" {
						assert.False(t, strings.HasPrefix(r.Key, tc.folder+"/"), "%s was read through the symlink", r.Key)
					}
				}
				assert.False(t, rep.OK())
			}
			got, err := NotRegular(context.Background(), st, cfg.Bucket, "p/")
			require.NoError(t, err)
			if assert.Len(t, got, 1) {
				assert.Equal(t, tc.folder, got[0].Key)
				assert.Equal(t, KindNotRegular, got[0].Kind)
			}
			keys, err := st.List(context.Background(), tc.folder+"/")
			require.NoError(t, err)
			assert.Empty(t, keys, "List follows no symlink")
		})
	}
}
