package verify

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trailkit/trail/internal/ctoracle"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tamperCase is one way of damaging a generated bucket. awsExit and aws are
// what the real `aws cloudtrail validate-logs` (aws-cli 2.9.19 through the
// internal/ctoracle harness) measurably reports; TestTamper re-measures them when
// the harness is available and fails if they change.
type tamperCase struct {
	name    string
	what    string
	cfg     func(c *fixtureConfig)
	tamper  func(t testing.TB, f *fixture)
	opts    func(f *fixture, o *Options)
	want    string // our findings, "kind×count" by Kind order
	awsExit int
	aws     string // validate-logs INVALID lines and gap notices, "kind×count"
}

// The default fixture: 6 hourly digests D0..D5 (D0 starting), with 2,1,0,3,2,1 log files.
var tamperCases = []tamperCase{
	{
		name: "untouched", what: "generated bucket, nothing changed",
		want: "", awsExit: 0, aws: "",
	},
	{
		name: "untouched-org-prefix", what: "organization trail with S3 prefix, nothing changed",
		cfg:  func(c *fixtureConfig) { c.OrgID, c.Prefix, c.Account = "o-exampleorg1", "team/audit", "444455556666" },
		want: "", awsExit: 0, aws: "",
	},
	{
		name: "untouched-other-region", what: "source region eu-west-1 of a trail homed in us-east-1",
		cfg:  func(c *fixtureConfig) { c.Region = "eu-west-1" },
		want: "", awsExit: 0, aws: "",
	},
	{
		name: "log-byte-flipped", what: "one byte of a log file's JSON changed (re-gzipped)",
		tamper: func(t testing.TB, f *fixture) {
			f.rewriteLog(t, f.logs[3][1], func(b []byte) []byte { return bytes.Replace(b, []byte("GetOrder"), []byte("GetOrdeR"), 1) })
		},
		want: "log-hash-mismatch×1", awsExit: 1, aws: "log-hash-mismatch×1",
	},
	{
		name: "log-not-gzip", what: "a log file replaced by bytes that are not gzip",
		tamper: func(t testing.TB, f *fixture) { f.objects[f.logs[0][0]] = []byte("not gzip at all") },
		want:   "log-invalid-format×1", awsExit: 1, aws: "log-invalid-format×1",
	},
	{
		name: "log-deleted", what: "a log file deleted",
		tamper: func(t testing.TB, f *fixture) { f.remove(f.logs[4][0]) },
		want:   "log-not-found×1", awsExit: 1, aws: "log-not-found×1",
	},
	{
		name: "log-gzip-member-appended", what: "a second gzip member with a forged record appended to a log file",
		tamper: func(t testing.TB, f *fixture) {
			_, extra := f.extraLog(t, f.starts[3].Add(20*time.Minute))
			k := f.logs[3][0]
			f.objects[k] = append(f.objects[k], extra...)
		},
		want: "trailing-data×1", awsExit: 0, aws: "",
	},
	{
		name: "log-injected", what: "an extra log file written into the log folder inside a digest's period",
		tamper: func(t testing.TB, f *fixture) {
			k, b := f.extraLog(t, f.starts[2].Add(40*time.Minute))
			f.objects[k] = b
		},
		want: "log-not-in-digest×1", awsExit: 0, aws: "",
	},
	{
		name: "event-time-outside-range", what: "a record's eventTime outside the digest entry's oldest/newestEventTime (signed)",
		cfg: func(c *fixtureConfig) {
			c.MutateLog = func(i, j int, recs []record) {
				if i == 3 && j == 2 {
					recs[0].EventTime = fmtT(c.Start.Add(-48 * time.Hour))
				}
			}
		},
		want: "event-time-out-of-range×1", awsExit: 0, aws: "",
	},
	{
		name: "digest-deleted-middle", what: "one digest in the middle of the chain deleted (D3)",
		tamper: func(t testing.TB, f *fixture) { f.remove(f.digests[3]) },
		want:   "digest-not-found×1, chain-gap×1, log-not-in-digest×3", awsExit: 1, aws: "digest-not-found×1",
	},
	{
		name: "two-digests-deleted", what: "two consecutive digests deleted (D2, D3)",
		tamper: func(t testing.TB, f *fixture) { f.remove(f.digests[2]); f.remove(f.digests[3]) },
		want:   "digest-not-found×1, chain-gap×1, log-not-in-digest×3", awsExit: 1, aws: "digest-not-found×1",
	},
	{
		name: "newest-digest-deleted", what: "the newest digest deleted (D5); ExpectedEnd = D5's end",
		tamper: func(t testing.TB, f *fixture) { f.remove(f.digests[5]) },
		opts:   func(f *fixture, o *Options) { o.ExpectedEnd = f.ends[5] },
		want:   "newest-digest-missing×1, log-not-in-digest×1", awsExit: 0, aws: "",
	},
	{
		name: "all-digests-deleted", what: "every digest deleted; ExpectedEnd = D5's end",
		tamper: func(t testing.TB, f *fixture) {
			for _, k := range f.digests {
				f.remove(k)
			}
		},
		opts: func(f *fixture, o *Options) { o.ExpectedEnd = f.ends[5] },
		want: "newest-digest-missing×1, log-not-in-digest×9", awsExit: 0, aws: "",
	},
	{
		name: "digest-signature-changed", what: "a digest's signature metadata changed (D3)",
		tamper: func(t testing.TB, f *fixture) { f.meta[f.digests[3]]["signature"] = flipHexChar(f.sigs[3]) },
		want:   "signature-invalid×1, previous-signature-mismatch×1", awsExit: 1, aws: "signature-invalid×1",
	},
	{
		name: "digest-metadata-missing", what: "a digest's signature metadata removed (D3)",
		tamper: func(t testing.TB, f *fixture) { delete(f.meta, f.digests[3]) },
		want:   "signature-invalid×1", awsExit: 1, aws: "signature-invalid×1",
	},
	{
		name: "previous-hash-changed-resigned", what: "D4's previousDigestHashValue changed, D4 re-signed, chain continues",
		cfg: func(c *fixtureConfig) {
			c.MutateDigest = func(i int, d *digestDoc) {
				if i == 4 {
					d.PreviousDigestHashValue = ptr(flipHexChar(*d.PreviousDigestHashValue))
				}
			}
		},
		want: "previous-hash-mismatch×1", awsExit: 0, aws: "",
	},
	{
		name: "previous-signature-changed-resigned", what: "D4's previousDigestSignature changed, D4 re-signed, chain continues",
		cfg: func(c *fixtureConfig) {
			c.MutateDigest = func(i int, d *digestDoc) {
				if i == 4 {
					d.PreviousDigestSignature = ptr(flipHexChar(*d.PreviousDigestSignature))
				}
			}
		},
		want: "previous-signature-mismatch×1", awsExit: 0, aws: "",
	},
	{
		name: "chain-restart", what: "D3 is a starting digest (null previous fields) although D2 exists",
		cfg:  func(c *fixtureConfig) { c.Restart = map[int]bool{3: true} },
		want: "chain-restart×1", awsExit: 0, aws: "gap-notice×1",
	},
	{
		name: "wrong-key", what: "D3 signed with another key but claiming the trusted key's fingerprint",
		cfg: func(c *fixtureConfig) {
			c.SignKey = func(i int) *rsa.PrivateKey {
				if i == 3 {
					return otherKey()
				}
				return testKey()
			}
		},
		want: "signature-invalid×1", awsExit: 1, aws: "signature-invalid×1",
	},
	{
		name: "unknown-key", what: "D3 signed with another key and carrying that key's fingerprint",
		cfg: func(c *fixtureConfig) {
			c.SignKey = func(i int) *rsa.PrivateKey {
				if i == 3 {
					return otherKey()
				}
				return testKey()
			}
			c.MutateDigest = func(i int, d *digestDoc) {
				if i == 3 {
					d.DigestPublicKeyFingerprint = testFingerprint(otherKey())
				}
			}
		},
		want: "public-key-not-found×1", awsExit: 1, aws: "public-key-not-found×1",
	},
	{
		name: "digest-moved", what: "the newest digest renamed to another key",
		tamper: func(t testing.TB, f *fixture) {
			f.rename(f.digests[5], f.layout.DigestKey(f.ends[5].Add(time.Second)))
		},
		want: "digest-moved×1", awsExit: 1, aws: "digest-moved×1",
	},
	{
		name: "digest-not-gzip", what: "a digest replaced by bytes that are not gzip (D3)",
		tamper: func(t testing.TB, f *fixture) { f.objects[f.digests[3]] = []byte("{}") },
		want:   "digest-invalid-format×1, chain-gap×1, log-not-in-digest×3", awsExit: 1, aws: "digest-invalid-format×1",
	},
	{
		name: "digest-regzipped", what: "a digest decompressed and re-gzipped at another level (D3)",
		tamper: func(t testing.TB, f *fixture) {
			f.objects[f.digests[3]] = regzip(t, gunzip(t, f.objects[f.digests[3]]))
		},
		want: "", awsExit: 0, aws: "",
	},
	{
		name: "digest-upper-case-hash", what: "a log entry's hashValue in upper-case hex (signed)",
		cfg: func(c *fixtureConfig) {
			c.MutateDigest = func(i int, d *digestDoc) {
				if i == 1 {
					d.LogFiles[0].HashValue = strings.ToUpper(d.LogFiles[0].HashValue)
				}
			}
		},
		want: "log-hash-mismatch×1", awsExit: 1, aws: "log-hash-mismatch×1",
	},
	{
		name: "digest-name-mismatch", what: "D2 stored under a key whose timestamp is 30 s after its digestEndTime (signed)",
		cfg: func(c *fixtureConfig) {
			c.MutateDigest = func(i int, d *digestDoc) {
				if i == 2 {
					end, _ := time.Parse(JSONTimeFormat, d.DigestEndTime)
					d.DigestS3Object = strings.Replace(d.DigestS3Object, end.Format(DigestTimeFormat),
						end.Add(30*time.Second).Format(DigestTimeFormat), 1)
				}
			}
		},
		want: "digest-name-mismatch×1", awsExit: 0, aws: "",
	},
	{
		name: "digest-overlap", what: "D3's digestStartTime 30 min before D2's digestEndTime (signed)",
		cfg: func(c *fixtureConfig) {
			c.MutateDigest = func(i int, d *digestDoc) {
				if i == 3 {
					s, _ := time.Parse(JSONTimeFormat, d.DigestStartTime)
					d.DigestStartTime = fmtT(s.Add(-30 * time.Minute))
				}
			}
		},
		want: "digest-overlap×1", awsExit: 0, aws: "",
	},
	{
		name: "digest-account-wrong", what: "D3's awsAccountId names another account (signed)",
		cfg: func(c *fixtureConfig) {
			c.MutateDigest = func(i int, d *digestDoc) {
				if i == 3 {
					d.AWSAccountID = "999999999999"
				}
			}
		},
		want: "digest-field-invalid×1", awsExit: 0, aws: "",
	},
}

func regzip(t testing.TB, raw []byte) []byte {
	var buf bytes.Buffer
	w, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	require.NoError(t, err)
	_, err = w.Write(raw)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return buf.Bytes()
}

// summarize renders findings as "kind×count, ..." in Kind order.
func summarize(kinds []Kind) string {
	counts := map[Kind]int{}
	for _, k := range kinds {
		counts[k]++
	}
	uniq := make([]Kind, 0, len(counts))
	for k := range counts {
		uniq = append(uniq, k)
	}
	sort.Slice(uniq, func(i, j int) bool { return uniq[i] < uniq[j] })
	parts := make([]string, len(uniq))
	for i, k := range uniq {
		parts[i] = fmt.Sprintf("%s×%d", kindLabel(k), counts[k])
	}
	return strings.Join(parts, ", ")
}

// kindGapNotice labels validate-logs' gap notice in summaries.
const kindGapNotice Kind = 1000

func kindLabel(k Kind) string {
	if k == kindGapNotice {
		return "gap-notice"
	}
	return k.String()
}

// awsKinds classifies validate-logs' output lines.
func awsKinds(out string) []Kind {
	var kinds []Kind
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "No log files were delivered by CloudTrail between") {
			kinds = append(kinds, kindGapNotice)
			continue
		}
		parts := strings.Split(line, "\t")
		if len(parts) != 3 || !strings.HasPrefix(parts[2], "INVALID: ") {
			continue
		}
		msg := strings.TrimPrefix(parts[2], "INVALID: ")
		log := parts[0] == "Log file"
		switch {
		case log && msg == "not found":
			kinds = append(kinds, KindLogNotFound)
		case log && msg == "invalid format":
			kinds = append(kinds, KindLogInvalidFormat)
		case log && msg == "hash value doesn't match":
			kinds = append(kinds, KindLogHashMismatch)
		case msg == "not found":
			kinds = append(kinds, KindDigestNotFound)
		case msg == "invalid format":
			kinds = append(kinds, KindDigestInvalidFormat)
		case msg == "has been moved from its original location":
			kinds = append(kinds, KindDigestMoved)
		case strings.HasPrefix(msg, "public key not found"):
			kinds = append(kinds, KindPublicKeyNotFound)
		case strings.HasPrefix(msg, "Unable to load PKCS #1 key"):
			kinds = append(kinds, KindPublicKeyUnusable)
		case msg == "signature verification failed":
			kinds = append(kinds, KindSignatureInvalid)
		default:
			kinds = append(kinds, Kind(-1))
		}
	}
	return kinds
}

func findingKinds(fs []*IntegrityError) []Kind {
	out := make([]Kind, len(fs))
	for i, f := range fs {
		out[i] = f.Kind
	}
	return out
}

// oracle locates the AWS verifier harness (internal/ctoracle) and the real
// AWS CLI; it returns "" with a reason when unusable.
func oracle() (string, string) { return ctoracle.Find() }

type awsRun struct {
	exit   int
	stdout string
}

// runAWS writes f to a temp dir and runs the real validate-logs over it.
func runAWS(t *testing.T, script string, f *fixture, o Options) awsRun {
	dir := t.TempDir()
	f.writeDir(t, dir)
	pemPath := filepath.Join(dir, "pub.pem")
	require.NoError(t, os.WriteFile(pemPath, pubPEM(testKey()), 0o644))
	args := []string{"--dir", dir, "--bucket", f.cfg.Bucket, "--trail-arn", f.cfg.arn(),
		"--public-key", pemPath, "--start-time", display(o.Start), "--end-time", display(o.End)}
	if f.cfg.Prefix != "" {
		args = append(args, "--prefix", f.cfg.Prefix)
	}
	if f.cfg.OrgID != "" {
		args = append(args, "--org-id", f.cfg.OrgID, "--account-id", f.cfg.Account)
	}
	if f.cfg.Region != f.cfg.HomeRegion {
		args = append(args, "--source-region", f.cfg.Region)
	}
	cmd := exec.Command(script, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	exit := 0
	if errors.As(err, &ee) {
		exit = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	require.Contains(t, []int{0, 1}, exit, "harness failed:\n%s\n%s", stdout.String(), stderr.String())
	return awsRun{exit: exit, stdout: stdout.String()}
}

type tamperResult struct {
	ours     string
	aws      string
	awsExit  int
	measured bool
}

func TestTamper(t *testing.T) {
	script, why := oracle()
	if testing.Short() {
		script, why = "", "-short"
	}
	if script == "" {
		t.Logf("not running the real aws cloudtrail validate-logs: %s", why)
	}
	var mu sync.Mutex
	results := map[string]tamperResult{}
	t.Run("cases", func(t *testing.T) {
		for _, tc := range tamperCases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				cfg := defaultConfig()
				if tc.cfg != nil {
					tc.cfg(&cfg)
				}
				f := buildFixture(t, cfg)
				if tc.tamper != nil {
					tc.tamper(t, f)
				}
				o := f.options()
				if tc.opts != nil {
					tc.opts(f, &o)
				}
				rep, err := Validate(context.Background(), FSStore(f.fs()), o)
				require.NoError(t, err)
				ours := summarize(findingKinds(rep.Findings))
				for _, x := range rep.Findings {
					t.Logf("finding: %v (cause: %v)", x, x.Err)
				}
				assert.Equal(t, tc.want, ours, "our findings")
				assert.Equal(t, tc.awsExit == 1, rep.AWSInvalid(), "our validate-logs verdict")
				res := tamperResult{ours: ours, aws: tc.aws, awsExit: tc.awsExit}
				if script != "" {
					run := runAWS(t, script, f, o)
					res.aws, res.awsExit, res.measured = summarize(awsKinds(run.stdout)), run.exit, true
					assert.Equal(t, tc.awsExit, run.exit, "validate-logs exit code\n%s", run.stdout)
					assert.Equal(t, tc.aws, res.aws, "validate-logs findings")
					// Our validate-logs-equivalent output is byte-identical.
					var merged bytes.Buffer
					require.NoError(t, rep.WriteText(&merged, &merged, TextOptions{Verbose: true}))
					assert.Equal(t, run.stdout, merged.String(), "validate-logs output")
				}
				mu.Lock()
				results[tc.name] = res
				mu.Unlock()
			})
		}
	})
	if t.Failed() {
		return
	}
	if len(results) != len(tamperCases) {
		t.Logf("only %d of %d cases ran: %s not checked", len(results), len(tamperCases), "TAMPER.md")
		return
	}
	table := tamperTable(results)
	golden := "TAMPER.md"
	// The file's second section (from tamperSuiteMarker) belongs to
	// cmd/trailcheck's TestTamperSuite; this test owns what precedes it.
	old, _ := os.ReadFile(golden)
	head, tail, found := strings.Cut(string(old), tamperSuiteMarker)
	if os.Getenv("TRAIL_WRITE_TAMPER_TABLE") == "1" {
		require.NotEmpty(t, script, "TRAIL_WRITE_TAMPER_TABLE=1 needs the real verifier: %s", why)
		if found {
			table += tamperSuiteMarker + tail
		}
		require.NoError(t, os.WriteFile(golden, []byte(table), 0o644))
		return
	}
	require.NotEmpty(t, old, "run with TRAIL_WRITE_TAMPER_TABLE=1 to create %s", golden)
	assert.Equal(t, head, table, "%s is stale: run with TRAIL_WRITE_TAMPER_TABLE=1", golden)
}

// tamperSuiteMarker starts the section of TAMPER.md that cmd/trailcheck's
// TestTamperSuite writes (tables over real recorder output).
const tamperSuiteMarker = "\n## Over real recorder output (cmd/trailcheck TestTamperSuite)\n"

func tamperTable(results map[string]tamperResult) string {
	var b strings.Builder
	b.WriteString("# Tamper cases: `aws cloudtrail validate-logs` vs `verify`\n\n")
	b.WriteString("Generated by `TRAIL_WRITE_TAMPER_TABLE=1 go test ./verify -run TestTamper` from real runs of\n")
	b.WriteString("aws-cli 2.9.19 `validate-logs` through `internal/ctoracle/validate_logs.py`; checked as a golden\n")
	b.WriteString("file otherwise (and re-measured whenever /usr/bin/aws is present).\n\n")
	b.WriteString("Fixture: 6 hourly digests D0..D5 (D0 starting), 9 log files, window = D0 start .. D5 end.\n")
	b.WriteString("\"AWS detects\" = validate-logs exits 1. A gap notice is printed but not counted as INVALID.\n\n")
	b.WriteString("| # | tamper | AWS detects | validate-logs reports (exit) | verify reports |\n")
	b.WriteString("|---|---|---|---|---|\n")
	for i, tc := range tamperCases {
		r := results[tc.name]
		detects := "no"
		if r.awsExit == 1 {
			detects = "**yes**"
		}
		aws := r.aws
		if aws == "" {
			aws = "all valid"
		}
		ours := r.ours
		if ours == "" {
			ours = "all valid"
		}
		fmt.Fprintf(&b, "| %d | %s | %s | %s (%d) | %s |\n", i+1, tc.what, detects, aws, r.awsExit, ours)
	}
	return b.String()
}
