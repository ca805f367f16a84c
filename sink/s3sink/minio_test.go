package s3sink_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trailkit/trail/internal/testkeys"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailkit/trail"
	"github.com/trailkit/trail/internal/ctoracle"
	"github.com/trailkit/trail/internal/miniotest"
	"github.com/trailkit/trail/sink/s3sink"
	"github.com/trailkit/trail/verify"
)

// minioEnv returns the endpoint and credentials of the MinIO server that
// .ci/minio.sh started, or skips the test (fails it under CI=true, where
// .ci/run must provide the server).
func minioEnv(t testing.TB) (endpoint, access, secret string) {
	t.Helper()
	s := miniotest.Require(t, "./sink/s3sink/")
	return s.Endpoint, s.AccessKey, s.SecretKey
}

func minioClient(t testing.TB, access, secret string) *s3.Client {
	endpoint, _, _ := minioEnv(t)
	return s3.New(s3.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(access, secret, ""),
	})
}

var bucketSeq struct {
	sync.Mutex
	n int
}

// newBucket creates an empty bucket and removes it (with its objects) when
// the test ends.
func newBucket(t testing.TB, c *s3.Client) string {
	t.Helper()
	bucketSeq.Lock()
	bucketSeq.n++
	name := fmt.Sprintf("trail-%d-%d-%s", time.Now().UnixNano()%1e9, bucketSeq.n, strings.ToLower(rand.Text()[:6]))
	bucketSeq.Unlock()
	ctx := context.Background()
	_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)})
	require.NoError(t, err)
	t.Cleanup(func() {
		p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(name)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Logf("cleanup list %s: %v", name, err)
				return
			}
			for _, o := range page.Contents {
				_, _ = c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(name), Key: o.Key})
			}
		}
		if _, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(name)}); err != nil {
			t.Logf("cleanup bucket %s: %v", name, err)
		}
	})
	return name
}

func TestMinIORoundTrip(t *testing.T) {
	_, ak, sk := minioEnv(t)
	c := minioClient(t, ak, sk)
	kmsKey := os.Getenv("TRAIL_TEST_S3_KMS_KEY_ID")
	tests := []struct {
		name    string
		opts    s3sink.Options
		wantSSE types.ServerSideEncryption
		needKMS bool
	}{
		{name: "SSE-S3 default", wantSSE: types.ServerSideEncryptionAes256, needKMS: true},
		{name: "SSE-KMS with key ID", opts: s3sink.Options{Encryption: s3sink.SSEKMS, KMSKeyID: kmsKey}, wantSSE: types.ServerSideEncryptionAwsKms, needKMS: true},
		{name: "bucket default with ACL", opts: s3sink.Options{Encryption: s3sink.BucketDefault, BucketOwnerFullControl: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.needKMS && kmsKey == "" {
				t.Skip("skipping: the MinIO server has no KMS key (TRAIL_TEST_S3_KMS_KEY_ID unset); .ci/minio.sh configures one")
			}
			bucket := newBucket(t, c)
			opts := tt.opts
			opts.Check = &s3sink.Check{ProbeKey: s3sink.ProbeKey("team", "", "111122223333")}
			s, err := s3sink.New(c, bucket, opts)
			require.NoError(t, err)
			ctx := context.Background()

			logKey := "team/AWSLogs/111122223333/CloudTrail/us-east-1/2026/01/02/111122223333_CloudTrail_us-east-1_20260102T0305Z_abcdefghABCDEFGH.json.gz"
			body := []byte("\x1f\x8b fake gzip body")
			require.NoError(t, s.Deliver(ctx, logFile(logKey, body)))
			require.NoError(t, s.Deliver(ctx, logFile(logKey, body)), "redelivery overwrites")
			dkey := "team/AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/01/02/111122223333_CloudTrail-Digest_us-east-1_main_us-east-1_20260102T030000Z.json.gz"
			sig := strings.Repeat("ab", 256)
			require.NoError(t, s.DeliverDigest(ctx, &trail.Digest{Key: dkey, Body: []byte("digest body"), Signature: sig}))

			keys, err := s.List(ctx, "team/AWSLogs/111122223333/")
			require.NoError(t, err)
			assert.Equal(t, []string{dkey, logKey, "team/AWSLogs/111122223333/trail-write-probe"}, keys, "byte-wise order")

			got, meta, err := s.Get(ctx, logKey)
			require.NoError(t, err)
			assert.Equal(t, body, got, "raw gzip bytes despite Content-Encoding: gzip")
			assert.Equal(t, logFile(logKey, body).Metadata(), meta, "a log file's digest facts")
			got, meta, err = s.Get(ctx, dkey)
			require.NoError(t, err)
			assert.Equal(t, []byte("digest body"), got)
			assert.Equal(t, map[string]string{"signature": sig, "signature-algorithm": "SHA256withRSA"}, meta)

			head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: &dkey})
			require.NoError(t, err)
			assert.Equal(t, "application/json", aws.ToString(head.ContentType))
			assert.Equal(t, "gzip", aws.ToString(head.ContentEncoding))
			assert.Equal(t, tt.wantSSE, head.ServerSideEncryption)
			if tt.opts.KMSKeyID != "" {
				assert.Contains(t, aws.ToString(head.SSEKMSKeyId), tt.opts.KMSKeyID)
			}

			_, _, err = s.Get(ctx, "team/AWSLogs/none")
			require.ErrorIs(t, err, fs.ErrNotExist)
		})
	}
}

func TestMinIOMultipart(t *testing.T) {
	_, ak, sk := minioEnv(t)
	c := minioClient(t, ak, sk)
	bucket := newBucket(t, c)
	s, err := s3sink.New(c, bucket, s3sink.Options{Encryption: s3sink.BucketDefault, MultipartThreshold: 64 << 10, PartSize: s3sink.MinPartSize})
	require.NoError(t, err)
	body := make([]byte, 11<<20+12345)
	_, _ = rand.Read(body)
	ctx := context.Background()
	key := "AWSLogs/111122223333/CloudTrail/us-east-1/big.json.gz"
	require.NoError(t, s.Deliver(ctx, logFile(key, body)))
	got, _, err := s.Get(ctx, key)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(body, got), "multipart object round-trips")
	head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: &key})
	require.NoError(t, err)
	assert.True(t, strings.HasSuffix(aws.ToString(head.ETag), `-3"`), "3 parts, got ETag %s", aws.ToString(head.ETag))
	assert.Equal(t, "gzip", aws.ToString(head.ContentEncoding))
	ups, err := c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: &bucket})
	require.NoError(t, err)
	assert.Empty(t, ups.Uploads)
}

func TestMinIOErrors(t *testing.T) {
	_, ak, sk := minioEnv(t)
	good := minioClient(t, ak, sk)
	bucket := newBucket(t, good)
	ctx := context.Background()
	tests := []struct {
		name   string
		client *s3.Client
		bucket string
		opts   s3sink.Options
		code   string
	}{
		{name: "no such bucket", client: good, bucket: "trail-missing-bucket", opts: s3sink.Options{Encryption: s3sink.BucketDefault}, code: "NoSuchBucket"},
		{name: "unknown access key", client: minioClient(t, "AKIDUNKNOWN000000000", sk), bucket: bucket, code: "InvalidAccessKeyId"},
		{name: "wrong secret", client: minioClient(t, ak, "wrong-secret-key"), bucket: bucket, code: "SignatureDoesNotMatch"},
		{name: "unknown KMS key", client: good, bucket: bucket, opts: s3sink.Options{Encryption: s3sink.SSEKMS, KMSKeyID: "no-such-key"}, code: "KMS.NotFoundException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.code == "KMS.NotFoundException" && os.Getenv("TRAIL_TEST_S3_KMS_KEY_ID") == "" {
				t.Skip("skipping: the MinIO server has no KMS")
			}
			s, err := s3sink.New(tt.client, tt.bucket, tt.opts)
			require.NoError(t, err)
			err = s.Deliver(ctx, logFile("AWSLogs/111122223333/x.json.gz", []byte("x")))
			require.Error(t, err)
			require.ErrorIs(t, err, trail.ErrPermanent, "%v", err)
			var ae smithy.APIError
			require.ErrorAs(t, err, &ae)
			want := []string{tt.code}
			if tt.code == "KMS.NotFoundException" {
				want = append(want, "kms:KeyNotFound") // MinIO's code for it
			}
			assert.Contains(t, want, ae.ErrorCode())

			// The start-up check reports the same, before any delivery.
			opts := tt.opts
			opts.Check = &s3sink.Check{}
			_, err = s3sink.New(tt.client, tt.bucket, opts)
			require.ErrorIs(t, err, trail.ErrPermanent)
			assert.ErrorContains(t, err, "s3sink: start-up check")
			t.Logf("start-up check: %v", err)
		})
	}
}

func signingKey(t testing.TB) *rsa.PrivateKey { return testkeys.RSA(t) }

// oracleScript returns the AWS verifier harness (internal/ctoracle), or skips.
func oracleScript(t *testing.T) string { return ctoracle.Script(t) }

// TestRecorderToMinIOAcceptedByAWSVerifier runs a recorder with 2-second
// digest periods against MinIO in real time, restarts it (the new recorder
// continues the chain by reading the newest digest back from the bucket),
// and has the real `aws cloudtrail validate-logs` check everything over
// MinIO, with no chain gap allowed.
func TestRecorderToMinIOAcceptedByAWSVerifier(t *testing.T) {
	endpoint, ak, sk := minioEnv(t)
	script := oracleScript(t)
	c := minioClient(t, ak, sk)
	bucket := newBucket(t, c)
	key := signingKey(t)
	pub := filepath.Join(t.TempDir(), "pub.pem")
	require.NoError(t, os.WriteFile(pub, trail.PublicKeyInfo(&key.PublicKey).PEM(), 0o644))

	const acct, trailName = "111122223333", "minio-trail"
	var errs []error
	var errMu sync.Mutex
	newRecorder := func() *trail.Recorder {
		sink, err := s3sink.New(c, bucket, s3sink.Options{Encryption: s3sink.SSEKMS, KMSKeyID: os.Getenv("TRAIL_TEST_S3_KMS_KEY_ID"),
			Check: &s3sink.Check{ProbeKey: s3sink.ProbeKey("audit", "", acct)}})
		if os.Getenv("TRAIL_TEST_S3_KMS_KEY_ID") == "" {
			sink, err = s3sink.New(c, bucket, s3sink.Options{Encryption: s3sink.BucketDefault})
		}
		require.NoError(t, err)
		rec, err := trail.New(trail.Config{AccountID: acct, Region: "us-east-1",
			Retry:   trail.RetryPolicy{Initial: 50 * time.Millisecond, MaxAttempts: 3},
			OnError: func(err error) { errMu.Lock(); errs = append(errs, err); errMu.Unlock() },
			Trails: []trail.Trail{{Name: trailName, Bucket: bucket, Prefix: "audit", Interval: 300 * time.Millisecond,
				Sinks: []trail.Sink{sink}, Validation: &trail.Validation{Signer: key, Period: 2 * time.Second}}}})
		require.NoError(t, err)
		return rec
	}
	start := time.Now().UTC().Add(-2 * time.Second)
	ctx := context.Background()
	n := 0
	record := func(rec *trail.Recorder, d time.Duration) {
		deadline := time.Now().Add(d)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for time.Now().Before(deadline) {
			n++
			require.NoError(t, rec.Record(ctx, &trail.Event{EventSource: "orders.example.com", EventName: "CreateOrder",
				RequestParameters: []byte(fmt.Sprintf(`{"orderId":%d}`, n))}))
			<-tick.C
		}
	}
	rec := newRecorder()
	record(rec, 4500*time.Millisecond)
	require.NoError(t, rec.Close(ctx))
	require.Len(t, rec.ChainStates(), 1)
	rec = newRecorder() // resumes from the newest digest in the bucket
	record(rec, 2500*time.Millisecond)
	require.NoError(t, rec.Close(ctx))
	st := rec.Stats()
	errMu.Lock()
	require.Empty(t, errs)
	errMu.Unlock()
	require.GreaterOrEqual(t, st.DigestsDelivered, uint64(2))
	end := time.Now().UTC().Add(2 * time.Second)

	keys, err := listAll(c, bucket, "audit/AWSLogs/"+acct+"/CloudTrail-Digest/")
	require.NoError(t, err)
	digests := len(keys)
	t.Logf("%d events, %d digests in the bucket", n, digests)
	require.GreaterOrEqual(t, digests, 4)

	out, err := exec.Command(script, "--s3-endpoint", endpoint, "--bucket", bucket, "--prefix", "audit",
		"--trail-arn", "arn:aws:cloudtrail:us-east-1:"+acct+":trail/"+trailName, "--public-key", pub,
		"--start-time", start.Format(trail.TimeFormat), "--end-time", end.Format(trail.TimeFormat),
		"--min-digests", fmt.Sprint(digests), "--fail-on-gap").CombinedOutput()
	require.NoError(t, err, "validate-logs over MinIO:\n%s", out)
	assert.Contains(t, string(out), fmt.Sprintf("%d/%d digest files valid", digests, digests))
	t.Logf("validate-logs:\n%s", lastLines(string(out), 6))

	// Package verify reads the same bucket through the sink (its List/Get
	// are verify.Store's) and agrees.
	reader, err := s3sink.New(c, bucket, s3sink.Options{})
	require.NoError(t, err)
	rep, err := verify.Validate(ctx, reader, verify.Options{Bucket: bucket, Prefix: "audit",
		TrailARN: "arn:aws:cloudtrail:us-east-1:" + acct + ":trail/" + trailName, Start: start, End: end,
		PublicKeys: []verify.PublicKey{verify.NewPublicKey(&key.PublicKey)}})
	require.NoError(t, err)
	assert.Empty(t, rep.Findings)
	assert.Equal(t, digests, rep.Digests.Valid)
}

func listAll(c *s3.Client, bucket, prefix string) ([]string, error) {
	var keys []string
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: &bucket, Prefix: &prefix})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			return nil, err
		}
		for _, o := range page.Contents {
			keys = append(keys, *o.Key)
		}
	}
	return keys, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// BenchmarkRecorderToMinIO measures events per second delivered to MinIO
// with gzip and signed digests (1-second digest periods), from Record to
// the last file stored.
func BenchmarkRecorderToMinIO(b *testing.B) {
	_, ak, sk := minioEnv(b)
	c := minioClient(b, ak, sk)
	bucket := newBucket(b, c)
	sink, err := s3sink.New(c, bucket, s3sink.Options{Encryption: s3sink.BucketDefault})
	require.NoError(b, err)
	var failed error
	rec, err := trail.New(trail.Config{AccountID: "111122223333", Region: "us-east-1",
		OnError: func(err error) { failed = errors.Join(failed, err) },
		Trails: []trail.Trail{{Name: "bench", Bucket: bucket, Interval: time.Second, Sinks: []trail.Sink{sink},
			Validation: &trail.Validation{Signer: signingKey(b), Period: time.Second}}}})
	require.NoError(b, err)
	ctx := context.Background()
	ev := &trail.Event{EventSource: "orders.example.com", EventName: "CreateOrder", SourceIPAddress: "192.0.2.10",
		UserAgent: "orders-client/1.0", RequestParameters: []byte(`{"orderId":"o-123456","items":[{"sku":"A-1","qty":2}]}`),
		ResponseElements: []byte(`{"status":"created"}`)}
	b.ResetTimer()
	t0 := time.Now()
	for range b.N {
		if err := rec.Record(ctx, ev); err != nil {
			b.Fatal(err)
		}
	}
	require.NoError(b, rec.Flush(ctx))
	elapsed := time.Since(t0)
	b.StopTimer()
	require.NoError(b, rec.Close(ctx))
	require.NoError(b, failed)
	st := rec.Stats()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(st.FilesDelivered), "files")
	b.ReportMetric(float64(st.DigestsDelivered), "digests")
	b.ReportMetric(float64(st.BytesDelivered)/float64(b.N), "gzB/event")
}
