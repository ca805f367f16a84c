package main

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailkit/trail"
	"github.com/trailkit/trail/sink/filesink"
)

// multiChainTree records, in two hours of fake time, a multi-region trail
// "main" (events in us-east-1 and eu-west-1: two chains) and a trail "team"
// under the prefix "team" into one bucket directory.
func multiChainTree(t *testing.T, key *rsa.PrivateKey) (dir, pubPEM string, start, end time.Time) {
	t.Helper()
	dir = t.TempDir()
	pubPEM = filepath.Join(t.TempDir(), "pub.pem")
	require.NoError(t, os.WriteFile(pubPEM, trail.PublicKeyInfo(&key.PublicKey).PEM(), 0o644))
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		start = time.Now().UTC()
		sink := filesink.New(dir, filesink.Options{NoSync: true})
		val := func() *trail.Validation { return &trail.Validation{Signer: key, Period: time.Hour} }
		rec, err := trail.New(trail.Config{AccountID: "111122223333", Region: "us-east-1", AuditSource: "-", Trails: []trail.Trail{
			{Name: "main", Bucket: "audit-bucket", MultiRegion: true, Interval: 10 * time.Minute, Sinks: []trail.Sink{sink}, Validation: val()},
			{Name: "team", Bucket: "audit-bucket", Prefix: "team", Interval: 10 * time.Minute, Sinks: []trail.Sink{sink}, Validation: val()},
		}})
		require.NoError(t, err)
		for minute := range 2 * 60 {
			if minute%10 == 0 {
				require.NoError(t, rec.Record(ctx, &trail.Event{EventSource: "o.example.com", EventName: "Op"}))
				require.NoError(t, rec.Record(ctx, &trail.Event{EventSource: "o.example.com", EventName: "Op", AWSRegion: "eu-west-1"}))
			}
			time.Sleep(time.Minute)
		}
		require.NoError(t, rec.Close(ctx))
		end = time.Now().UTC()
	})
	return dir, pubPEM, start, end
}

func TestValidateEveryChain(t *testing.T) {
	key := signKey()
	dir, pub, start, end := multiChainTree(t, key)
	base := func(arn string, extra ...string) []string {
		return append([]string{"validate", "--dir", dir, "--public-key", pub, "--trail-arn", arn,
			"--start", start.Format(time.RFC3339), "--end", end.Format(time.RFC3339)}, extra...)
	}
	const mainARN = "arn:aws:cloudtrail:us-east-1:111122223333:trail/main"
	tests := []struct {
		name           string
		args           []string
		code           int
		stdout, stderr []string
		stdoutNot      []string
	}{
		{name: "every chain by default", args: base(mainARN), code: exitOK, stdout: []string{
			"== chain 1/2: eu-west-1 account 111122223333",
			"== chain 2/2: us-east-1 account 111122223333",
			"== 2 chains:",
			"digests valid", ": OK"}},
		{name: "one region", args: base(mainARN, "--region", "eu-west-1"), code: exitOK,
			stdout: []string{"digest files valid"}, stdoutNot: []string{"== chain"}},
		{name: "wrong prefix lists what is there", args: base(mainARN, "--prefix", "nope", "--bucket", "audit-bucket"), code: exitInvalid, stderr: []string{
			"no digests of trail main (home region us-east-1) under prefix nope",
			"prefix (none): trail main (home region us-east-1), region eu-west-1, account 111122223333",
			"prefix (none): trail main (home region us-east-1), region us-east-1, account 111122223333",
			"prefix team: trail team (home region us-east-1), region us-east-1, account 111122223333"}},
		{name: "prefixed trail without --prefix", args: base("arn:aws:cloudtrail:us-east-1:111122223333:trail/team"), code: exitUsage, stderr: []string{
			"cannot infer --bucket", "under prefix (none)", "prefix team: trail team"}},
		{name: "prefixed trail", args: base("arn:aws:cloudtrail:us-east-1:111122223333:trail/team", "--prefix", "team"), code: exitOK,
			stdout: []string{"digest files valid"}, stdoutNot: []string{"== chain"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tt.args, &stdout, &stderr)
			require.Equal(t, tt.code, code, "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
			for _, s := range tt.stdout {
				assert.Contains(t, stdout.String(), s)
			}
			for _, s := range tt.stdoutNot {
				assert.NotContains(t, stdout.String(), s)
			}
			for _, s := range tt.stderr {
				assert.Contains(t, stderr.String(), s)
			}
		})
	}

	t.Run("json", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		require.Equal(t, exitOK, run(base(mainARN, "--json"), &stdout, &stderr), stderr.String())
		var out struct {
			OK     bool `json:"ok"`
			Chains []struct {
				Region    string `json:"region"`
				AccountID string `json:"accountId"`
				OK        bool   `json:"ok"`
				Digests   struct {
					Valid int `json:"valid"`
				} `json:"digests"`
			} `json:"chains"`
			Bucket string `json:"bucket"`
		}
		require.NoError(t, json.Unmarshal(stdout.Bytes(), &out))
		assert.True(t, out.OK)
		require.Len(t, out.Chains, 2)
		assert.Equal(t, "eu-west-1", out.Chains[0].Region)
		assert.Equal(t, "us-east-1", out.Chains[1].Region)
		for _, c := range out.Chains {
			assert.True(t, c.OK)
			assert.Positive(t, c.Digests.Valid)
		}
		assert.Empty(t, out.Bucket, "several chains: no report at the top level")
	})
}

// TestStrayObjectReportedOnce: with several chains under one prefix, an
// object that belongs to none is reported once (with the first chain), and
// the other trail's files under its longer prefix are not stray.
func TestStrayObjectReportedOnce(t *testing.T) {
	key := signKey()
	dir, pub, start, end := multiChainTree(t, key)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "AWSLogs", "forged.json.gz"), []byte("x"), 0o644))
	var out, errOut bytes.Buffer
	code := run([]string{"validate", "--dir", dir, "--public-key", pub, "--trail-arn", "arn:aws:cloudtrail:us-east-1:111122223333:trail/main",
		"--start", start.Format(time.RFC3339), "--end", end.Format(time.RFC3339), "--json"}, &out, &errOut)
	assert.Equal(t, 1, code, "%s", errOut.String())
	var rep struct {
		Chains []struct {
			Findings []struct{ Kind, Key string } `json:"findings"`
		} `json:"chains"`
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &rep))
	require.Len(t, rep.Chains, 2)
	var stray []string
	for _, c := range rep.Chains {
		for _, f := range c.Findings {
			assert.Equal(t, "stray-object", f.Kind, f.Key)
			stray = append(stray, f.Key)
		}
	}
	assert.Equal(t, []string{"AWSLogs/forged.json.gz"}, stray)
}
