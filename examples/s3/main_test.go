package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/trailkit/trail/internal/ctoracle"
	"github.com/trailkit/trail/internal/miniotest"

	"github.com/stretchr/testify/require"
)

// TestAgainstMinIO runs the example against the MinIO server of
// .ci/minio.sh through the standard AWS config chain (credentials from the
// environment), then runs the command it prints: the real AWS verifier.
func TestAgainstMinIO(t *testing.T) {
	mc := miniotest.Require(t, "./examples/s3/")
	endpoint, access, secret := mc.Endpoint, mc.AccessKey, mc.SecretKey
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	require.NoError(t, os.WriteFile(empty, nil, 0o644))
	t.Setenv("AWS_ACCESS_KEY_ID", access)
	t.Setenv("AWS_SECRET_ACCESS_KEY", secret)
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", empty)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", empty)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_REGION", "us-east-1")
	bucket := "example-s3-" + strings.ToLower(time.Now().UTC().Format("150405.000000"))
	bucket = strings.ReplaceAll(bucket, ".", "-")
	pub := filepath.Join(dir, "pub.pem")
	args := []string{"--endpoint", endpoint, "--bucket", bucket, "--create-bucket", "--prefix", "team",
		"--events", "30", "--span", "2500ms", "--interval", "300ms", "--digest-period", "1s", "--public-key-out", pub}
	if k := os.Getenv("TRAIL_TEST_S3_KMS_KEY_ID"); k != "" {
		args = append(args, "--kms-key", k)
	}
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), args, &out), out.String())
	t.Log(out.String())
	require.Contains(t, out.String(), "delivered ")

	script := ctoracle.Script(t)
	m := regexp.MustCompile(`validate_logs\.py (.*)`).FindStringSubmatch(out.String())
	require.NotNil(t, m)
	cmd := exec.Command(script, strings.Fields(m[1])...)
	cmd.Env = append(os.Environ(), "CT_HARNESS_ACCESS_KEY="+access, "CT_HARNESS_SECRET_KEY="+secret)
	res, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", res)
	require.Regexp(t, `(\d+)/(\d+) digest files valid`, string(res))
}
