package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/trailkit/trail"
	"github.com/trailkit/trail/internal/gztest"
	"github.com/trailkit/trail/internal/miniotest"
	"github.com/trailkit/trail/sink/s3sink"
)

// TestValidateS3 records into a real MinIO bucket and validates it with
// --s3-bucket/--endpoint, then tampers with a log file.
func TestValidateS3(t *testing.T) {
	mc := miniotest.Require(t, "./cmd/trailcheck/")
	endpoint, access, secret := mc.Endpoint, mc.AccessKey, mc.SecretKey
	t.Setenv("AWS_ACCESS_KEY_ID", access)
	t.Setenv("AWS_SECRET_ACCESS_KEY", secret)
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	ctx := context.Background()
	client := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(access, secret, "")})
	bucket := "trailcheck-" + strings.ToLower(rand.Text()[:10])
	_, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)})
	require.NoError(t, err)

	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	pem := filepath.Join(t.TempDir(), "pub.pem")
	require.NoError(t, os.WriteFile(pem, trail.PublicKeyInfo(&key.PublicKey).PEM(), 0o644))
	sink, err := s3sink.New(client, bucket, s3sink.Options{})
	require.NoError(t, err)
	start := time.Now().UTC().Add(-time.Second)
	rec, err := trail.New(trail.Config{AccountID: "111122223333", Region: "us-east-1", AuditSource: "-", Trails: []trail.Trail{{
		Name: "main", Bucket: bucket, Sinks: []trail.Sink{sink}, Validation: &trail.Validation{Signer: key}}}})
	require.NoError(t, err)
	for range 5 {
		require.NoError(t, rec.Record(ctx, &trail.Event{EventSource: "o.example.com", EventName: "Op"}))
		require.NoError(t, rec.Flush(ctx))
	}
	require.NoError(t, rec.Close(ctx))

	// No --end: an explicit one must be reached by the digests, and the
	// final digest ends when Close began.
	args := []string{"validate", "--s3-bucket", bucket, "--endpoint", endpoint, "--public-key", pem,
		"--trail-arn", "arn:aws:cloudtrail:us-east-1:111122223333:trail/main", "--start", start.Format(time.RFC3339)}
	var out, errOut bytes.Buffer
	code := run(args, &out, &errOut)
	require.Equalf(t, 0, code, "stdout:\n%s\nstderr:\n%s", out.String(), errOut.String())
	assert.Contains(t, out.String(), "1/1 digest files valid")
	assert.Contains(t, out.String(), "5/5 log files valid")

	// Overwrite one log file with other content: hash mismatch, exit 1.
	keys, err := sink.List(ctx, "AWSLogs/111122223333/CloudTrail/")
	require.NoError(t, err)
	require.NotEmpty(t, keys)
	other := &trail.LogFile{Key: keys[0], Body: gztest.Gzip(t, []byte(`{"Records":[]}`))}
	require.NoError(t, sink.Deliver(ctx, other))
	out.Reset()
	errOut.Reset()
	code = run(args, &out, &errOut)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut.String(), "hash value doesn't match")
}
