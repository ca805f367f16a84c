package main

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailkit/trail/internal/gztest"
	"github.com/trailkit/trail/internal/testkeys"
	"github.com/trailkit/trail/verify"
)

// signKey signs the generated digests; otherKey signed nothing.
var (
	signKey  = testkeys.Key
	otherKey = testkeys.OtherKey
)

const (
	testBucket = "audit-bucket"
	testARN    = "arn:aws:cloudtrail:us-east-1:111122223333:trail/main"
)

var testStart = time.Date(2026, 1, 1, 0, 7, 31, 0, time.UTC)

// tree is a small generated bucket: 3 hourly digests, one log file each.
type tree struct {
	dir     string // --dir
	root    string // the bucket root
	pem     string
	lay     verify.Layout
	digests []string
	logs    []string
}

func (tr *tree) path(key string) string { return filepath.Join(tr.root, filepath.FromSlash(key)) }

func writeFile(t *testing.T, p string, b []byte) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, b, 0o644))
}

func makeTree(t *testing.T, bucketSubdir bool, prefix string) *tree {
	t.Helper()
	dir := t.TempDir()
	tr := &tree{dir: dir, root: dir, lay: verify.Layout{Prefix: prefix, AccountID: "111122223333", Region: "us-east-1",
		HomeRegion: "us-east-1", TrailName: "main"}}
	if bucketSubdir {
		tr.root = filepath.Join(dir, testBucket)
	}
	der, err := x509.MarshalPKIXPublicKey(&signKey().PublicKey)
	require.NoError(t, err)
	tr.pem = filepath.Join(t.TempDir(), "pub.pem")
	writeFile(t, tr.pem, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	fp := verify.Fingerprint(&signKey().PublicKey)
	var prev map[string]any
	for i := 0; i < 3; i++ {
		start := testStart.Add(time.Duration(i) * time.Hour)
		end := start.Add(time.Hour)
		logKey := tr.lay.LogKey(start.Add(20*time.Minute), "AbCdEfGh1234567"+string(rune('0'+i)))
		et := start.Add(19 * time.Minute).Format(verify.JSONTimeFormat)
		raw := []byte(`{"Records":[{"eventVersion":"1.11","eventTime":"` + et + `","eventSource":"orders.example.com","eventName":"CreateOrder"}]}`)
		writeFile(t, tr.path(logKey), gztest.Gzip(t, raw))
		sum := sha256.Sum256(raw)
		key := tr.lay.DigestKey(end)
		d := map[string]any{
			"awsAccountId": "111122223333", "digestStartTime": start.Format(verify.JSONTimeFormat),
			"digestEndTime": end.Format(verify.JSONTimeFormat), "digestS3Bucket": testBucket, "digestS3Object": key,
			"digestPublicKeyFingerprint": fp, "digestSignatureAlgorithm": "SHA256withRSA",
			"newestEventTime": et, "oldestEventTime": et,
			"previousDigestS3Bucket": nil, "previousDigestS3Object": nil, "previousDigestHashValue": nil,
			"previousDigestHashAlgorithm": nil, "previousDigestSignature": nil,
			"logFiles": []any{map[string]any{"s3Bucket": testBucket, "s3Object": logKey, "hashValue": hex.EncodeToString(sum[:]),
				"hashAlgorithm": "SHA-256", "newestEventTime": et, "oldestEventTime": et}},
		}
		if prev != nil {
			d["previousDigestS3Bucket"], d["previousDigestS3Object"] = testBucket, prev["key"]
			d["previousDigestHashValue"], d["previousDigestHashAlgorithm"] = prev["hash"], "SHA-256"
			d["previousDigestSignature"] = prev["sig"]
		}
		draw, err := json.Marshal(d)
		require.NoError(t, err)
		dsum := sha256.Sum256(draw)
		prevSig := "null"
		if s, ok := d["previousDigestSignature"].(string); ok {
			prevSig = s
		}
		msg := d["digestEndTime"].(string) + "\n" + testBucket + "/" + key + "\n" + hex.EncodeToString(dsum[:]) + "\n" + prevSig
		h := sha256.Sum256([]byte(msg))
		sig, err := rsa.SignPKCS1v15(rand.Reader, signKey(), crypto.SHA256, h[:])
		require.NoError(t, err)
		writeFile(t, tr.path(key), gztest.Gzip(t, draw))
		meta, err := json.Marshal(map[string]string{"signature": hex.EncodeToString(sig), "signature-algorithm": "SHA256withRSA"})
		require.NoError(t, err)
		writeFile(t, tr.path(key)+verify.MetadataSuffix, meta)
		prev = map[string]any{"key": key, "hash": hex.EncodeToString(dsum[:]), "sig": hex.EncodeToString(sig)}
		tr.digests = append(tr.digests, key)
		tr.logs = append(tr.logs, logKey)
	}
	return tr
}

func baseArgs(tr *tree) []string {
	return []string{"validate", "--dir", tr.dir, "--public-key", tr.pem, "--trail-arn", testARN,
		"--start", "2026-01-01T00:07:31Z", "--end", "2026-01-01T03:07:31Z"}
}

func TestRun(t *testing.T) {
	tests := []struct {
		name      string
		subdir    bool
		prefix    string
		args      func(tr *tree) []string
		prepare   func(t *testing.T, tr *tree)
		code      int
		stdout    []string
		stderr    []string
		stderrNot []string
	}{
		{name: "valid, bucket subdir, inferred bucket", subdir: true, args: baseArgs, code: 0,
			stdout: []string{"Validating log files for trail " + testARN + " between 2026-01-01T00:07:31Z and 2026-01-01T03:07:31Z\n\n",
				"Results requested for 2026-01-01T00:07:31Z to 2026-01-01T03:07:31Z\n", "\n3/3 digest files valid\n3/3 log files valid\n",
				"Additional checks (not made by aws cloudtrail validate-logs): no problems found\n"},
		},
		{name: "valid, dir is the bucket, --bucket", args: func(tr *tree) []string {
			return append(baseArgs(tr), "--bucket", testBucket)
		}, code: 0, stdout: []string{"3/3 digest files valid"}},
		{name: "valid, subdir, --bucket, prefix", subdir: true, prefix: "team/a", args: func(tr *tree) []string {
			return append(baseArgs(tr), "--bucket", testBucket, "--prefix", "team/a")
		}, code: 0, stdout: []string{"3/3 digest files valid"}},
		{name: "verbose prints valid lines", subdir: true, args: func(tr *tree) []string {
			return append(baseArgs(tr), "-v")
		}, code: 0, stdout: []string{"Digest file\ts3://audit-bucket/AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/01/01/111122223333_CloudTrail-Digest_us-east-1_main_us-east-1_20260101T030731Z.json.gz\tvalid\n"}},
		{name: "wrong bucket name: moved", args: func(tr *tree) []string {
			return append(baseArgs(tr), "--bucket", "other-bucket")
		}, code: 1, stderr: []string{"\tINVALID: has been moved from its original location\n\n"}},
		{name: "log tampered", subdir: true, args: baseArgs, prepare: func(t *testing.T, tr *tree) {
			writeFile(t, tr.path(tr.logs[1]), gztest.Gzip(t, []byte(`{"Records":[]}`)))
		}, code: 1, stderr: []string{"Log file\ts3://audit-bucket/" + "AWSLogs/111122223333/CloudTrail/us-east-1/2026/01/01/", "\tINVALID: hash value doesn't match\n\n"},
			stdout: []string{"2/3 log files valid, 1/3 log files INVALID"}},
		{name: "log injected: extra finding only", subdir: true, args: baseArgs, prepare: func(t *testing.T, tr *tree) {
			k := tr.lay.LogKey(testStart.Add(90*time.Minute), "ZZZZZZZZZZZZZZZZ")
			writeFile(t, tr.path(k), gztest.Gzip(t, []byte(`{"Records":[]}`)))
		}, code: 1, stdout: []string{"3/3 log files valid", "Additional checks (not made by aws cloudtrail validate-logs): 1 problem found\n"},
			stderr: []string{"ZZZZZZZZZZZZZZZZ.json.gz\tINVALID: log file is listed by no digest\n"}},
		{name: "newest digest deleted with --expected-end", subdir: true, args: func(tr *tree) []string {
			return append(baseArgs(tr), "--expected-end", "2026-01-01T03:07:31Z")
		}, prepare: func(t *testing.T, tr *tree) {
			require.NoError(t, os.Remove(tr.path(tr.digests[2])))
		}, code: 1, stdout: []string{"2/2 digest files valid"}, stderr: []string{"INVALID: newest digest ends 2026-01-01T02:07:31Z"}},
		{name: "newest digest deleted without --expected-end: --end requires it and its file, its sidecar is left over", subdir: true, args: baseArgs, prepare: func(t *testing.T, tr *tree) {
			require.NoError(t, os.Remove(tr.path(tr.digests[2])))
		}, code: 1, stdout: []string{"2/2 digest files valid", "3 problems found"},
			stderr:    []string{"(newer digests missing)", "INVALID: metadata sidecar without its object", "before --end 2026-01-01T03:07:31Z, is listed by no digest"},
			stderrNot: []string{"NOTICE"}},
		{name: "digest folder replaced by a symlink: the symlink is named, not followed", subdir: true, args: baseArgs, prepare: func(t *testing.T, tr *tree) {
			d := tr.path("AWSLogs/111122223333/CloudTrail-Digest")
			cp := filepath.Join(t.TempDir(), "copy")
			require.NoError(t, os.Rename(d, cp))
			require.NoError(t, os.Symlink(cp, d))
		}, code: 1, stderr: []string{"Object\ts3://audit-bucket/AWSLogs/111122223333/CloudTrail-Digest\tINVALID: symbolic link where a folder of the trail's layout must be (not followed)",
			"cannot infer --bucket: no digests of trail main"}},
		{name: "digest folder replaced by a file: the file is named", subdir: true, args: func(tr *tree) []string { return append(baseArgs(tr), "--bucket", testBucket) }, prepare: func(t *testing.T, tr *tree) {
			d := tr.path("AWSLogs/111122223333/CloudTrail-Digest")
			require.NoError(t, os.RemoveAll(d))
			require.NoError(t, os.WriteFile(d, []byte("x"), 0o644))
		}, code: 1, stderr: []string{"Object\ts3://audit-bucket/AWSLogs/111122223333/CloudTrail-Digest\tINVALID: file where a folder of the trail's layout must be",
			"trailcheck validate: no digests of trail main"}},
		{name: "digest folder replaced by a symlink, --bucket given", subdir: true, args: func(tr *tree) []string { return append(baseArgs(tr), "--bucket", testBucket) }, prepare: func(t *testing.T, tr *tree) {
			d := tr.path("AWSLogs/111122223333/CloudTrail-Digest")
			cp := filepath.Join(t.TempDir(), "copy")
			require.NoError(t, os.Rename(d, cp))
			require.NoError(t, os.Symlink(cp, d))
		}, code: 1, stderr: []string{"Object\ts3://audit-bucket/AWSLogs/111122223333/CloudTrail-Digest\tINVALID: symbolic link where a folder of the trail's layout must be (not followed)",
			"trailcheck validate: no digests of trail main"}},
		{name: "--end after the newest digest, a full period: newer digests missing", subdir: true, args: func(tr *tree) []string {
			a := baseArgs(tr)
			a[len(a)-1] = "2026-01-01T05:07:31Z"
			return a
		}, code: 1, stderr: []string{"a full digest period (1h0m0s), not a final one; digests must reach --end 2026-01-01T05:07:31Z"}},
		{name: "--end after the newest digest, shorter than --digest-period: a final digest", subdir: true, args: func(tr *tree) []string {
			a := baseArgs(tr)
			a[len(a)-1] = "2026-01-01T05:07:31Z"
			return append(a, "--digest-period", "2h")
		}, code: 0, stdout: []string{"3/3 digest files valid", "no problems found"}},
		{name: "wrong public key", subdir: true, args: func(tr *tree) []string {
			der := x509.MarshalPKCS1PublicKey(&otherKey().PublicKey)
			p := filepath.Join(filepath.Dir(tr.pem), "other.pem")
			require.NoError(t, os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: der}), 0o644))
			a := baseArgs(tr)
			a[4] = p
			return a
		}, code: 1, stdout: []string{"No valid digests found in range\n", "0/3 digest files valid, 3/3 digest files INVALID"},
			stderr: []string{"INVALID: public key not found in region us-east-1 for fingerprint " + verify.Fingerprint(&signKey().PublicKey)}},
		{name: "two keys, second matches", subdir: true, args: func(tr *tree) []string {
			der := x509.MarshalPKCS1PublicKey(&otherKey().PublicKey)
			p := filepath.Join(filepath.Dir(tr.pem), "other.pem")
			require.NoError(t, os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: der}), 0o644))
			return append([]string{"validate", "--public-key", p}, baseArgs(tr)[1:]...)
		}, code: 0},
		{name: "progress always", subdir: true, args: func(tr *tree) []string {
			return append(baseArgs(tr), "--progress", "always")
		}, code: 0, stderr: []string{"validating"}},
		{name: "no progress by default", subdir: true, args: baseArgs, code: 0, stderrNot: []string{"validating", "%"}},
		{name: "start time formats", subdir: true, args: func(tr *tree) []string {
			a := baseArgs(tr)
			a[8], a[10] = "2026-01-01", "20260101T030731Z"
			return a
		}, code: 0, stdout: []string{"between 2026-01-01T00:00:00Z and 2026-01-01T03:07:31Z"}},
		{name: "default end is now", subdir: true, args: func(tr *tree) []string { return baseArgs(tr)[:len(baseArgs(tr))-2] },
			code: 0, stdout: []string{"and 2026-01-01T05:00:00Z"}},
	}
	now = func() time.Time { return time.Date(2026, 1, 1, 5, 0, 0, 0, time.UTC) }
	t.Cleanup(func() { now = time.Now })
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := makeTree(t, tt.subdir, tt.prefix)
			if tt.prepare != nil {
				tt.prepare(t, tr)
			}
			var stdout, stderr bytes.Buffer
			code := run(tt.args(tr), &stdout, &stderr)
			assert.Equal(t, tt.code, code, "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
			for _, s := range tt.stdout {
				assert.Contains(t, stdout.String(), s)
			}
			for _, s := range tt.stderr {
				assert.Contains(t, stderr.String(), s)
			}
			for _, s := range tt.stderrNot {
				assert.NotContains(t, stderr.String(), s)
			}
		})
	}
}

func TestRunJSON(t *testing.T) {
	tr := makeTree(t, true, "")
	require.NoError(t, os.Remove(tr.path(tr.logs[0])))
	var stdout, stderr bytes.Buffer
	code := run(append(baseArgs(tr), "--json"), &stdout, &stderr)
	require.Equal(t, 1, code, stderr.String())
	assert.Empty(t, stderr.String())
	var out struct {
		OK         bool          `json:"ok"`
		AWSInvalid bool          `json:"awsInvalid"`
		Bucket     string        `json:"bucket"`
		Logs       verify.Counts `json:"logs"`
		Findings   []struct {
			Kind   string `json:"kind"`
			Key    string `json:"key"`
			Detail string `json:"detail"`
		} `json:"findings"`
	}
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &out))
	assert.False(t, out.OK)
	assert.True(t, out.AWSInvalid)
	assert.Equal(t, testBucket, out.Bucket)
	assert.Equal(t, verify.Counts{Valid: 2, Invalid: 1, Total: 3}, out.Logs)
	require.Len(t, out.Findings, 1)
	assert.Equal(t, "log-not-found", out.Findings[0].Kind)
	assert.Equal(t, tr.logs[0], out.Findings[0].Key)
}

func TestRunUsage(t *testing.T) {
	tr := makeTree(t, true, "")
	badPEM := filepath.Join(t.TempDir(), "bad.pem")
	require.NoError(t, os.WriteFile(badPEM, []byte("not a key"), 0o644))
	without := func(flag string) []string {
		a := baseArgs(tr)
		for i := range a {
			if a[i] == flag {
				return append(append([]string{}, a[:i]...), a[i+2:]...)
			}
		}
		return a
	}
	replace := func(flag, val string) []string {
		a := baseArgs(tr)
		for i := range a {
			if a[i] == flag {
				a[i+1] = val
			}
		}
		return a
	}
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{name: "no args", args: nil, code: 2, stderr: "Usage:"},
		{name: "help", args: []string{"--help"}, code: 0, stdout: "trailcheck validate --dir DIR"},
		{name: "help word", args: []string{"help"}, code: 0, stdout: "Exit codes"},
		{name: "validate help", args: []string{"validate", "--help"}, code: 0, stdout: "Examples:"},
		{name: "unknown command", args: []string{"frobnicate"}, code: 2, stderr: `unknown command "frobnicate"`},
		{name: "unknown flag", args: append(baseArgs(tr), "--nope"), code: 2, stderr: "not defined: -nope"},
		{name: "extra argument", args: append(baseArgs(tr), "extra"), code: 2, stderr: `unexpected argument "extra"`},
		{name: "missing dir", args: without("--dir"), code: 2, stderr: "--dir or --s3-bucket is required"},
		{name: "missing arn", args: without("--trail-arn"), code: 2, stderr: "--trail-arn is required"},
		{name: "missing start", args: without("--start"), code: 2, stderr: "--start is required"},
		{name: "missing key", args: without("--public-key"), code: 2, stderr: "--public-key is required"},
		{name: "bad arn", args: replace("--trail-arn", "arn:aws:cloudtrail:us-east-1:1:trail/x"), code: 2, stderr: "invalid trail ARN"},
		{name: "bad start", args: replace("--start", "yesterday"), code: 2, stderr: "--start: cannot parse time"},
		{name: "bad end", args: replace("--end", "soon"), code: 2, stderr: "--end: cannot parse time"},
		{name: "negative digest period", args: append(replace("--end", "2026-01-01T03:07:31Z"), "--digest-period", "-1h"), code: 2, stderr: "--digest-period must not be negative"},
		{name: "bad expected end", args: append(baseArgs(tr), "--expected-end", "x"), code: 2, stderr: "--expected-end"},
		{name: "start after end", args: replace("--end", "2025-01-01"), code: 2, stderr: "start-time must occur before end-time"},
		{name: "unreadable key", args: replace("--public-key", "/nonexistent.pem"), code: 2, stderr: "--public-key"},
		{name: "bad key", args: replace("--public-key", badPEM), code: 2, stderr: "no \"PUBLIC KEY\""},
		{name: "dir missing", args: replace("--dir", "/nonexistent"), code: 2, stderr: "is not a directory"},
		{name: "org without account", args: append(baseArgs(tr), "--org-id", "o-abc"), code: 2, stderr: "--org-id needs --account-id"},
		{name: "bad progress", args: append(baseArgs(tr), "--progress", "sometimes"), code: 2, stderr: "--progress must be"},
		{name: "cannot infer bucket", args: replace("--dir", t.TempDir()), code: 2, stderr: "cannot infer --bucket"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tt.args, &stdout, &stderr)
			assert.Equal(t, tt.code, code, "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
			if tt.stdout != "" {
				assert.Contains(t, stdout.String(), tt.stdout)
			}
			if tt.stderr != "" {
				assert.Contains(t, stderr.String(), tt.stderr)
			}
		})
	}
}

func TestRunRuntimeError(t *testing.T) {
	tr := makeTree(t, true, "")
	// An unreadable sidecar makes the store fail (validate-logs aborts on
	// S3 errors other than NoSuchKey the same way).
	writeFile(t, tr.path(tr.digests[2])+verify.MetadataSuffix, []byte("{broken"))
	var stdout, stderr bytes.Buffer
	code := run(append(baseArgs(tr), "--bucket", testBucket), &stdout, &stderr)
	assert.Equal(t, 3, code)
	assert.Contains(t, stderr.String(), "metadata sidecar")
}

func TestParseTime(t *testing.T) {
	tests := map[string]string{
		"2026-01-02T03:04:05Z":      "2026-01-02T03:04:05Z",
		"2026-01-02T03:04:05+02:00": "2026-01-02T01:04:05Z",
		"2026-01-02T03:04:05.9Z":    "2026-01-02T03:04:05Z",
		"20260102T030405Z":          "2026-01-02T03:04:05Z",
		"2026-01-02T03:04:05":       "2026-01-02T03:04:05Z",
		"2026-01-02T03:04":          "2026-01-02T03:04:00Z",
		"2026-01-02":                "2026-01-02T00:00:00Z",
	}
	for in, want := range tests {
		got, err := parseTime(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got.Format(verify.DisplayTimeFormat), in)
	}
	_, err := parseTime("01/02/2026")
	require.Error(t, err)
	assert.False(t, isTerminal(&bytes.Buffer{}))
	assert.True(t, strings.HasPrefix(usageTop, "trailcheck"))
}
