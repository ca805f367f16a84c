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
// AWSLogs, organization, account, CloudTrail and CloudTrail-Digest, region,
// year, month, day) by a symlink to an identical copy outside the tree, or
// by a file: Validate must report the symlink or file itself, with its
// path, and read nothing through it;
// Obstructions (what trailcheck prints when it finds no digests) names it too.
func TestSymlinkedFolder(t *testing.T) {
	cfg := defaultConfig()
	cfg.Prefix, cfg.OrgID = "p", "o-exampleorg1"
	f := buildFixture(t, cfg)
	logDay := path.Dir(f.logs[0][0])    // p/AWSLogs/org/acct/CloudTrail/us-east-1/2026/01/01
	digestDay := path.Dir(f.digests[0]) // p/AWSLogs/org/acct/CloudTrail-Digest/us-east-1/2026/01/01
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
		{"organization", "p/AWSLogs/o-exampleorg1"},
		{"account", "p/AWSLogs/o-exampleorg1/111122223333"},
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
		for _, mode := range []string{"symlink", "file"} {
			t.Run(tc.level+"/"+mode, func(t *testing.T) {
				dir := t.TempDir()
				f.writeDir(t, dir)
				root := filepath.Join(dir, cfg.Bucket)
				folder := filepath.Join(root, filepath.FromSlash(tc.folder))
				copyDir := filepath.Join(t.TempDir(), "copy")
				require.NoError(t, os.Rename(folder, copyDir))
				wantKind, wantDetail := KindNotRegular, "\tINVALID: symbolic link where"
				if mode == "symlink" {
					require.NoError(t, os.Symlink(copyDir, folder))
				} else {
					require.NoError(t, os.WriteFile(folder, []byte("not a folder"), 0o644))
					wantKind, wantDetail = KindStrayObject, "\tINVALID: file where a folder of the trail's layout must be"
				}
				st := FSStore(os.DirFS(root))
				for _, requireEnd := range []bool{false, true} {
					o := f.options()
					o.RequireEnd = requireEnd
					rep, err := Validate(context.Background(), st, o)
					require.NoError(t, err)
					var hits []*IntegrityError
					for _, x := range rep.Findings {
						if x.Kind == KindNotRegular || x.Kind == KindStrayObject {
							hits = append(hits, x)
						}
					}
					if assert.Len(t, hits, 1, "%v", rep.Findings) {
						assert.Equal(t, tc.folder, hits[0].Key)
						assert.Equal(t, wantKind, hits[0].Kind)
						assert.Contains(t, hits[0].Error(), "s3://audit-bucket/"+tc.folder+wantDetail)
						assert.Contains(t, hits[0].Detail, "folder")
					}
					for _, r := range rep.Results {
						if r.Err == nil && r.Key != "" {
							assert.False(t, strings.HasPrefix(r.Key, tc.folder+"/"), "%s was read through the symlink", r.Key)
						}
					}
					assert.False(t, rep.OK())
				}
				got, err := Obstructions(context.Background(), st, cfg.Bucket, "p/")
				require.NoError(t, err)
				if assert.Len(t, got, 1) {
					assert.Equal(t, tc.folder, got[0].Key)
					assert.Equal(t, wantKind, got[0].Kind)
				}
				keys, err := st.List(context.Background(), tc.folder+"/")
				require.NoError(t, err)
				assert.Empty(t, keys, "List follows no symlink")
			})
		}
	}
}
