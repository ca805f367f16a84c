package trail_test

import (
	"context"
	"crypto/rsa"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/trailkit/trail/internal/testkeys"

	"github.com/stretchr/testify/require"
	"github.com/trailkit/trail"
	"github.com/trailkit/trail/internal/ctoracle"
	"github.com/trailkit/trail/sink/filesink"
)

// signingKey returns one RSA-2048 key per test binary.
func signingKey(t testing.TB) *rsa.PrivateKey { return testkeys.RSA(t) }

// oracle returns the path of the AWS CLI verifier harness, or skips.
func oracle(t *testing.T) string { return ctoracle.Script(t) }

type oracleRun struct {
	dir, trailARN, prefix, orgID, account, region string
	start, end                                    time.Time
	minDigests                                    int
	failOnGap                                     bool
}

func runOracle(t *testing.T, script, pubPEM string, o oracleRun) (string, int) {
	t.Helper()
	args := []string{"--dir", o.dir, "--bucket", "audit-bucket", "--trail-arn", o.trailARN,
		"--public-key", pubPEM, "--start-time", o.start.UTC().Format(trail.TimeFormat),
		"--end-time", o.end.UTC().Format(trail.TimeFormat), "--min-digests", fmt.Sprint(o.minDigests)}
	if o.prefix != "" {
		args = append(args, "--prefix", o.prefix)
	}
	if o.orgID != "" {
		args = append(args, "--org-id", o.orgID, "--account-id", o.account)
	}
	if o.region != "" {
		args = append(args, "--source-region", o.region)
	}
	if o.failOnGap {
		args = append(args, "--fail-on-gap")
	}
	out, err := exec.Command(script, args...).CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run verifier: %v", err)
	}
	return string(out), code
}

func TestDigestChainAcceptedByAWSVerifier(t *testing.T) {
	script := oracle(t)
	key := signingKey(t)
	pubPEM := filepath.Join(t.TempDir(), "pub.pem")
	require.NoError(t, os.WriteFile(pubPEM, trail.PublicKeyInfo(&key.PublicKey).PEM(), 0o644))

	type scenario struct {
		name     string
		trail    trail.Trail
		restart  bool
		regions  []string
		accounts []string
		checks   []oracleRun
	}
	const acct, other = "111122223333", "444455556666"
	base := func(name string) trail.Trail {
		return trail.Trail{Name: name, Bucket: "audit-bucket", Interval: 5 * time.Minute}
	}
	prefixed := base("prefixed")
	prefixed.Prefix = "team/audit"
	multi := base("multi")
	multi.MultiRegion = true
	org := base("org")
	org.Organization = "o-exampleorg1"
	scenarios := []scenario{
		{name: "plain", trail: base("plain"), regions: []string{"us-east-1"}, accounts: []string{acct},
			checks: []oracleRun{{}}},
		{name: "prefix", trail: prefixed, regions: []string{"us-east-1"}, accounts: []string{acct},
			checks: []oracleRun{{prefix: "team/audit"}}},
		{name: "multi-region", trail: multi, regions: []string{"us-east-1", "eu-west-1"}, accounts: []string{acct},
			checks: []oracleRun{{region: "us-east-1"}, {region: "eu-west-1"}}},
		{name: "organization", trail: org, regions: []string{"us-east-1"}, accounts: []string{acct, other},
			checks: []oracleRun{{orgID: "o-exampleorg1", account: acct}, {orgID: "o-exampleorg1", account: other}}},
		{name: "restart", trail: base("restarted"), restart: true, regions: []string{"us-east-1"}, accounts: []string{acct},
			checks: []oracleRun{{}}},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel() // independent trees; the verifier runs are separate processes
			dir := t.TempDir()
			var start, end time.Time
			synctest.Test(t, func(t *testing.T) {
				start = time.Now().UTC()
				ctx := context.Background()
				newRec := func() *trail.Recorder {
					tr := sc.trail
					tr.Validation = &trail.Validation{Signer: key, Period: time.Hour}
					tr.Sinks = []trail.Sink{filesink.New(dir, filesink.Options{NoSync: true})}
					rec, err := trail.New(trail.Config{AccountID: acct, Region: "us-east-1", Trails: []trail.Trail{tr}})
					require.NoError(t, err)
					return rec
				}
				rec := newRec()
				for minute := range 5 * 60 {
					if sc.restart && minute == 150 {
						require.NoError(t, rec.Close(ctx))
						time.Sleep(7 * time.Minute) // down for a while (fake time)
						rec = newRec()
					}
					if minute%3 == 0 {
						for i, region := range sc.regions {
							for j, account := range sc.accounts {
								require.NoError(t, rec.Record(ctx, &trail.Event{
									EventSource: "orders.example.com", EventName: fmt.Sprintf("Op%d", (minute+i+j)%7),
									AWSRegion: region, RecipientAccountID: account,
									ReadOnly: trail.Bool(minute%2 == 0),
								}))
							}
						}
					}
					time.Sleep(time.Minute)
				}
				require.NoError(t, rec.Close(ctx))
				end = time.Now().UTC()
			})
			for _, c := range sc.checks {
				c.dir, c.start, c.end, c.minDigests, c.failOnGap = dir, start, end, 4, true
				if c.account == "" {
					c.account = acct
				}
				c.trailARN = "arn:aws:cloudtrail:us-east-1:" + acct + ":trail/" + sc.trail.Name
				out, code := runOracle(t, script, pubPEM, c)
				require.Equalf(t, 0, code, "verifier output:\n%s", out)
				require.Contains(t, out, "digest files valid")
				require.NotContains(t, out, "INVALID")
				if testing.Verbose() {
					t.Log(lastLines(out, 6))
				}
			}
		})
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
