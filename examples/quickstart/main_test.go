package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/trailkit/trail/internal/ctoracle"
)

// TestQuickstart runs the quickstart on a short schedule: run returns an
// error unless package verify finds every chain valid; then the AWS
// verifier checks the management trail's home-region chain.
func TestQuickstart(t *testing.T) {
	if testing.Short() {
		t.Skip("takes a few seconds of real time")
	}
	out := filepath.Join(t.TempDir(), "audit-out")
	start := time.Now().UTC().Truncate(time.Second)
	require.NoError(t, run(out, 60, 3*time.Second, time.Second))
	end := time.Now().UTC().Add(2 * time.Second)
	_, err := os.Stat(filepath.Join(out, "public-key.pem"))
	require.NoError(t, err)

	script := ctoracle.Script(t)
	res, err := exec.Command(script, "--dir", out, "--bucket", bucket,
		"--trail-arn", "arn:aws:cloudtrail:"+home+":"+account+":trail/management",
		"--public-key", filepath.Join(out, "public-key.pem"), "--min-digests", "3",
		"--start-time", start.Format("2006-01-02T15:04:05Z"), "--end-time", end.Format("2006-01-02T15:04:05Z")).CombinedOutput()
	require.NoError(t, err, "%s", res)
	require.False(t, strings.Contains(string(res), "INVALID"), "%s", res)
}
