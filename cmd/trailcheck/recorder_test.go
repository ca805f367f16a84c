package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailkit/trail"
	"github.com/trailkit/trail/internal/gztest"
	"github.com/trailkit/trail/sink/filesink"
)

// recordedTree is what a recorder wrote through filesink: seven digests of
// one trail, with log files in between.
type recordedTree struct {
	dir        string
	key        *rsa.PrivateKey
	pubPEM     string
	start, end time.Time
	digests    []string // keys, oldest first
	logs       []string
}

func recordTree(t *testing.T, key *rsa.PrivateKey) *recordedTree {
	t.Helper()
	tr := &recordedTree{dir: t.TempDir(), key: key}
	tr.pubPEM = filepath.Join(t.TempDir(), "pub.pem")
	require.NoError(t, os.WriteFile(tr.pubPEM, trail.PublicKeyInfo(&key.PublicKey).PEM(), 0o644))
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		tr.start = time.Now().UTC()
		rec, err := trail.New(trail.Config{AccountID: "111122223333", Region: "us-east-1", AuditSource: "-", Trails: []trail.Trail{{
			Name: "main", Bucket: "audit-bucket", Interval: 10 * time.Minute,
			Sinks:      []trail.Sink{filesink.New(tr.dir, filesink.Options{NoSync: true})},
			Validation: &trail.Validation{Signer: key, Period: time.Hour},
		}}})
		require.NoError(t, err)
		for minute := range 6 * 60 {
			if minute%5 == 0 {
				require.NoError(t, rec.Record(ctx, &trail.Event{EventSource: "o.example.com", EventName: "Op"}))
			}
			time.Sleep(time.Minute)
		}
		require.NoError(t, rec.Close(ctx))
		tr.end = time.Now().UTC()
	})
	require.NoError(t, filepath.WalkDir(tr.dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".json.gz") {
			return err
		}
		rel, _ := filepath.Rel(tr.dir, p)
		if strings.Contains(rel, "CloudTrail-Digest") {
			tr.digests = append(tr.digests, rel)
		} else {
			tr.logs = append(tr.logs, rel)
		}
		return nil
	}))
	sort.Strings(tr.digests)
	sort.Strings(tr.logs)
	// Six hourly digests, plus a one-second final digest for the file cut
	// at Close (which fell into the period starting at 06:00).
	require.Len(t, tr.digests, 7)
	return tr
}

func (tr *recordedTree) args() []string {
	return []string{"validate", "--dir", tr.dir, "--bucket", "audit-bucket", "--public-key", tr.pubPEM,
		"--trail-arn", "arn:aws:cloudtrail:us-east-1:111122223333:trail/main",
		"--start", tr.start.Format(time.RFC3339), "--end", tr.end.Format(time.RFC3339)}
}

func gunzipFile(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	zr, err := gzip.NewReader(f)
	require.NoError(t, err)
	b, err := io.ReadAll(zr)
	require.NoError(t, err)
	return b
}

func writeGzip(t *testing.T, path string, body []byte) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, gztest.Gzip(t, body), 0o644))
}

// resign rewrites a digest with edit applied to its JSON and signs it again
// with the trail's key (an attacker holding the key, or a bug in a writer).
func (tr *recordedTree) resign(t *testing.T, key string, edit func(map[string]any)) {
	t.Helper()
	path := filepath.Join(tr.dir, key)
	var d map[string]any
	require.NoError(t, json.Unmarshal(gunzipFile(t, path), &d))
	edit(d)
	body, err := json.Marshal(d)
	require.NoError(t, err)
	prev, _ := d["previousDigestSignature"].(string)
	msg := trail.SigningString(d["digestEndTime"].(string), "audit-bucket", key, sha256.Sum256(body), prev)
	h := sha256.Sum256([]byte(msg))
	sig, err := rsa.SignPKCS1v15(rand.Reader, tr.key, crypto.SHA256, h[:])
	require.NoError(t, err)
	writeGzip(t, path, body)
	meta, _ := json.Marshal(map[string]string{"signature": hex.EncodeToString(sig), "signature-algorithm": "SHA256withRSA"})
	require.NoError(t, os.WriteFile(path+filesink.MetadataSuffix, meta, 0o644))
}

// TestTamperedRecorderOutput applies each tamper case of the issue to what
// a recorder wrote and checks that trailcheck exits 1 with a specific
// message (and exits 0 on the untouched tree).
func TestTamperedRecorderOutput(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	cases := []struct {
		name   string
		tamper func(t *testing.T, tr *recordedTree) []string // returns extra args
		want   []string                                      // substrings of the output
	}{
		{"untouched", nil, []string{"7/7 digest files valid"}},
		{"byte flipped in a log", func(t *testing.T, tr *recordedTree) []string {
			p := filepath.Join(tr.dir, tr.logs[3])
			body := gunzipFile(t, p)
			body[len(body)/2] ^= 1
			writeGzip(t, p, body)
			return nil
		}, []string{"INVALID: hash value doesn't match"}},
		{"log deleted", func(t *testing.T, tr *recordedTree) []string {
			require.NoError(t, os.Remove(filepath.Join(tr.dir, tr.logs[3])))
			return nil
		}, []string{"Log file", "INVALID: not found"}},
		{"digest deleted in the middle", func(t *testing.T, tr *recordedTree) []string {
			require.NoError(t, os.Remove(filepath.Join(tr.dir, tr.digests[2])))
			return nil
		}, []string{"Digest file", "INVALID: not found", "no digest covers"}},
		{"two consecutive digests deleted", func(t *testing.T, tr *recordedTree) []string {
			require.NoError(t, os.Remove(filepath.Join(tr.dir, tr.digests[2])))
			require.NoError(t, os.Remove(filepath.Join(tr.dir, tr.digests[3])))
			return nil
		}, []string{"INVALID: not found", "about 2 digest period(s) missing"}},
		{"newest digest deleted", func(t *testing.T, tr *recordedTree) []string {
			require.NoError(t, os.Remove(filepath.Join(tr.dir, tr.digests[6])))
			tr.end = tr.end.Add(time.Second) // the deleted digest ended at 06:00:01
			return []string{"--expected-end", tr.end.Format(time.RFC3339)}
		}, []string{"newer digests missing"}},
		{"signature changed", func(t *testing.T, tr *recordedTree) []string {
			meta := filepath.Join(tr.dir, tr.digests[4]+filesink.MetadataSuffix)
			raw, err := os.ReadFile(meta)
			require.NoError(t, err)
			raw = bytes.Replace(raw, []byte(`"signature":"`), []byte(`"signature":"00`), 1)
			require.NoError(t, os.WriteFile(meta, raw, 0o644))
			return nil
		}, []string{"INVALID: signature verification failed"}},
		{"previous hash changed and re-signed", func(t *testing.T, tr *recordedTree) []string {
			tr.resign(t, tr.digests[4], func(d map[string]any) { d["previousDigestHashValue"] = strings.Repeat("0", 64) })
			tr.resign(t, tr.digests[5], func(d map[string]any) { d["previousDigestSignature"] = readSig(t, tr, tr.digests[4]) })
			return nil
		}, []string{"previousDigestHashValue does not match the previous digest"}},
		{"extra log injected", func(t *testing.T, tr *recordedTree) []string {
			src := filepath.Join(tr.dir, tr.logs[3])
			dst := strings.Replace(src, ".json.gz", "", 1)[:len(src)-len(".json.gz")-16] + "InjectedInjected.json.gz"
			raw, err := os.ReadFile(src)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(dst, raw, 0o644))
			return nil
		}, []string{"log file is listed by no digest"}},
		{"wrong key", func(t *testing.T, tr *recordedTree) []string {
			pem := filepath.Join(t.TempDir(), "other.pem")
			require.NoError(t, os.WriteFile(pem, trail.PublicKeyInfo(&other.PublicKey).PEM(), 0o644))
			return []string{"--public-key", pem, "--only-key"}
		}, []string{"INVALID: public key not found"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr := recordTree(t, key)
			var extra []string
			if c.tamper != nil {
				extra = c.tamper(t, tr)
			}
			args := tr.args()
			if c.tamper != nil {
				if len(extra) > 0 && extra[len(extra)-1] == "--only-key" {
					// replace the trusted key
					for i := range args {
						if args[i] == "--public-key" {
							args[i+1] = extra[1]
						}
					}
					extra = nil
				}
				args = append(args, extra...)
			}
			var out, errOut bytes.Buffer
			code := run(args, &out, &errOut)
			all := out.String() + errOut.String()
			if c.tamper == nil {
				assert.Equalf(t, 0, code, "%s", all)
			} else {
				assert.Equalf(t, 1, code, "%s", all)
			}
			for _, w := range c.want {
				assert.Contains(t, all, w)
			}
		})
	}
}

func readSig(t *testing.T, tr *recordedTree, key string) string {
	raw, err := os.ReadFile(filepath.Join(tr.dir, key+filesink.MetadataSuffix))
	require.NoError(t, err)
	var m map[string]string
	require.NoError(t, json.Unmarshal(raw, &m))
	return m["signature"]
}
