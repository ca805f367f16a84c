package s3sink_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailkit/trail"
	"github.com/trailkit/trail/sink/s3sink"
)

// fakeS3 is an in-memory API that records requests and can fail operations.
type fakeS3 struct {
	mu      sync.Mutex
	objects map[string]fakeObject
	puts    []*s3.PutObjectInput
	creates []*s3.CreateMultipartUploadInput
	parts   []*s3.UploadPartInput
	aborts  int
	uploads map[string]map[int32][]byte
	fail    map[string]error // by operation name
	pageLen int              // ListObjectsV2 page size (default 1000)
}

type fakeObject struct {
	body []byte
	meta map[string]string
}

func newFake() *fakeS3 {
	return &fakeS3{objects: map[string]fakeObject{}, uploads: map[string]map[int32][]byte{}, fail: map[string]error{}}
}

func (f *fakeS3) err(op string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fail[op]
}

// receive fails op when told to, else reads an uploaded body and checks
// it against its Content-MD5.
func (f *fakeS3) receive(op string, r io.Reader, md5b64 *string) ([]byte, error) {
	if err := f.err(op); err != nil {
		return nil, err
	}
	body, _ := io.ReadAll(r)
	sum := md5.Sum(body)
	if md5b64 == nil || *md5b64 != base64.StdEncoding.EncodeToString(sum[:]) {
		return nil, &smithy.GenericAPIError{Code: "BadDigest", Message: "Content-MD5 mismatch"}
	}
	return body, nil
}

func (f *fakeS3) PutObject(_ context.Context, in *s3.PutObjectInput, _ ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	body, err := f.receive("PutObject", in.Body, in.ContentMD5)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.puts = append(f.puts, in)
	f.objects[*in.Key] = fakeObject{body: body, meta: in.Metadata}
	return &s3.PutObjectOutput{}, nil
}

func (f *fakeS3) HeadBucket(_ context.Context, in *s3.HeadBucketInput, _ ...func(*s3.Options)) (*s3.HeadBucketOutput, error) {
	return &s3.HeadBucketOutput{}, f.err("HeadBucket")
}

func (f *fakeS3) CreateMultipartUpload(_ context.Context, in *s3.CreateMultipartUploadInput, _ ...func(*s3.Options)) (*s3.CreateMultipartUploadOutput, error) {
	if err := f.err("CreateMultipartUpload"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.creates = append(f.creates, in)
	id := fmt.Sprintf("upload-%d", len(f.creates))
	f.uploads[id] = map[int32][]byte{}
	return &s3.CreateMultipartUploadOutput{UploadId: aws.String(id)}, nil
}

func (f *fakeS3) UploadPart(_ context.Context, in *s3.UploadPartInput, _ ...func(*s3.Options)) (*s3.UploadPartOutput, error) {
	body, err := f.receive("UploadPart", in.Body, in.ContentMD5)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.parts = append(f.parts, in)
	f.uploads[*in.UploadId][*in.PartNumber] = body
	return &s3.UploadPartOutput{ETag: aws.String(fmt.Sprintf(`"etag-%d"`, *in.PartNumber))}, nil
}

func (f *fakeS3) CompleteMultipartUpload(_ context.Context, in *s3.CompleteMultipartUploadInput, _ ...func(*s3.Options)) (*s3.CompleteMultipartUploadOutput, error) {
	if err := f.err("CompleteMultipartUpload"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var body []byte
	for i, p := range in.MultipartUpload.Parts {
		if *p.PartNumber != int32(i+1) || *p.ETag != fmt.Sprintf(`"etag-%d"`, i+1) {
			return nil, &smithy.GenericAPIError{Code: "InvalidPart"}
		}
		body = append(body, f.uploads[*in.UploadId][*p.PartNumber]...)
	}
	f.objects[*in.Key] = fakeObject{body: body}
	delete(f.uploads, *in.UploadId)
	return &s3.CompleteMultipartUploadOutput{}, nil
}

func (f *fakeS3) AbortMultipartUpload(_ context.Context, in *s3.AbortMultipartUploadInput, _ ...func(*s3.Options)) (*s3.AbortMultipartUploadOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.aborts++
	delete(f.uploads, *in.UploadId)
	return &s3.AbortMultipartUploadOutput{}, nil
}

func (f *fakeS3) ListObjectsV2(_ context.Context, in *s3.ListObjectsV2Input, _ ...func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
	if err := f.err("ListObjectsV2"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var keys []string
	for k := range f.objects {
		if strings.HasPrefix(k, aws.ToString(in.Prefix)) && k > aws.ToString(in.StartAfter) && k > aws.ToString(in.ContinuationToken) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	n := f.pageLen
	if n == 0 {
		n = 1000
	}
	out := &s3.ListObjectsV2Output{}
	if len(keys) > n {
		keys = keys[:n]
		out.IsTruncated = aws.Bool(true)
		out.NextContinuationToken = aws.String(keys[n-1])
	}
	for _, k := range keys {
		out.Contents = append(out.Contents, types.Object{Key: aws.String(k)})
	}
	return out, nil
}

func (f *fakeS3) GetObject(_ context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	if err := f.err("GetObject"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	o, ok := f.objects[*in.Key]
	if !ok {
		return nil, &types.NoSuchKey{Message: aws.String("The specified key does not exist.")}
	}
	return &s3.GetObjectOutput{Body: io.NopCloser(bytes.NewReader(o.body)), Metadata: o.meta}, nil
}

// httpErr builds the error the SDK returns for an HTTP status without a
// modelled error code.
func httpErr(status int, code string) error {
	var inner error = errors.New("no body")
	if code != "" {
		inner = &smithy.GenericAPIError{Code: code}
	}
	return &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{
		Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}}, Err: inner}}
}

func logFile(key string, body []byte) *trail.LogFile {
	return &trail.LogFile{Trail: "main", Bucket: "audit-bucket", Key: key, AccountID: "111122223333", Region: "us-east-1", Body: body}
}

func TestNewOptions(t *testing.T) {
	tests := []struct {
		name    string
		bucket  string
		opts    s3sink.Options
		wantErr string
	}{
		{name: "defaults", bucket: "audit-bucket"},
		{name: "kms", bucket: "audit-bucket", opts: s3sink.Options{Encryption: s3sink.SSEKMS, KMSKeyID: "arn:aws:kms:us-east-1:111122223333:key/k", BucketKeyEnabled: true}},
		{name: "kms key without SSEKMS", bucket: "audit-bucket", opts: s3sink.Options{KMSKeyID: "k"}, wantErr: "need Encryption SSEKMS"},
		{name: "unknown encryption", bucket: "audit-bucket", opts: s3sink.Options{Encryption: 9}, wantErr: "unknown Encryption"},
		{name: "url as bucket", bucket: "s3://audit-bucket", wantErr: "a name, not a URL"},
		{name: "short bucket", bucket: "ab", wantErr: "3 to 63"},
		{name: "small parts", bucket: "audit-bucket", opts: s3sink.Options{PartSize: 1 << 20}, wantErr: "below S3's minimum"},
		{name: "negative threshold", bucket: "audit-bucket", opts: s3sink.Options{MultipartThreshold: -1}, wantErr: "negative"},
		{name: "bad owner", bucket: "audit-bucket", opts: s3sink.Options{ExpectedBucketOwner: "12"}, wantErr: "12-digit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := s3sink.New(newFake(), tt.bucket, tt.opts)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, "s3sink(s3://"+tt.bucket+")", s.String())
		})
	}
	_, err := s3sink.New(nil, "audit-bucket", s3sink.Options{})
	require.Error(t, err)
}

func TestPutHeaders(t *testing.T) {
	tests := []struct {
		name     string
		opts     s3sink.Options
		sse      types.ServerSideEncryption
		kmsKey   string
		acl      types.ObjectCannedACL
		encoding string
		ctype    string
	}{
		{name: "default SSE-S3", sse: types.ServerSideEncryptionAes256, encoding: "gzip", ctype: "application/json"},
		{name: "SSE-KMS with key", opts: s3sink.Options{Encryption: s3sink.SSEKMS, KMSKeyID: "alias/trail"},
			sse: types.ServerSideEncryptionAwsKms, kmsKey: "alias/trail", encoding: "gzip", ctype: "application/json"},
		{name: "SSE-KMS aws/s3 key", opts: s3sink.Options{Encryption: s3sink.SSEKMS},
			sse: types.ServerSideEncryptionAwsKms, encoding: "gzip", ctype: "application/json"},
		{name: "bucket default, ACL, plain content", opts: s3sink.Options{Encryption: s3sink.BucketDefault, BucketOwnerFullControl: true,
			ContentType: "application/x-gzip", NoContentEncoding: true},
			acl: types.ObjectCannedACLBucketOwnerFullControl, ctype: "application/x-gzip"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFake()
			s, err := s3sink.New(api, "audit-bucket", tt.opts)
			require.NoError(t, err)
			ctx := context.Background()
			f := logFile("AWSLogs/111122223333/CloudTrail/us-east-1/f.json.gz", []byte("log"))
			require.NoError(t, s.Deliver(ctx, f))
			d := &trail.Digest{Key: "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/d.json.gz", Body: []byte("digest"), Signature: "abc123"}
			require.NoError(t, s.DeliverDigest(ctx, d))
			require.Len(t, api.puts, 2)
			for _, in := range api.puts {
				assert.Equal(t, "audit-bucket", *in.Bucket)
				assert.Equal(t, tt.sse, in.ServerSideEncryption)
				assert.Equal(t, tt.kmsKey, aws.ToString(in.SSEKMSKeyId))
				assert.Equal(t, tt.acl, in.ACL)
				assert.Equal(t, tt.encoding, aws.ToString(in.ContentEncoding))
				assert.Equal(t, tt.ctype, aws.ToString(in.ContentType))
				assert.NotNil(t, in.ContentMD5)
			}
			assert.Equal(t, f.Metadata(), api.puts[0].Metadata, "log file: its digest facts")
			assert.Equal(t, map[string]string{"signature": "abc123", "signature-algorithm": "SHA256withRSA"}, api.puts[1].Metadata)
			assert.Equal(t, "*", aws.ToString(api.puts[1].IfNoneMatch), "digests are create-only")
		})
	}
}

func TestErrorClassification(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		permanent bool
	}{
		{"AccessDenied", &smithy.GenericAPIError{Code: "AccessDenied"}, true},
		{"NoSuchBucket", &types.NoSuchBucket{}, true},
		{"InvalidAccessKeyId", &smithy.GenericAPIError{Code: "InvalidAccessKeyId"}, true},
		{"SignatureDoesNotMatch", &smithy.GenericAPIError{Code: "SignatureDoesNotMatch"}, true},
		{"KMS disabled", &smithy.GenericAPIError{Code: "KMS.DisabledException"}, true},
		{"KMS not found", &smithy.GenericAPIError{Code: "KMS.NotFoundException"}, true},
		{"KMS throttled", &smithy.GenericAPIError{Code: "KMS.ThrottlingException"}, false},
		{"SlowDown", &smithy.GenericAPIError{Code: "SlowDown"}, false},
		{"InternalError 500", httpErr(500, "InternalError"), false},
		{"503 without code", httpErr(503, ""), false},
		{"403 without code", httpErr(403, ""), true},
		{"SlowDown 503", httpErr(503, "SlowDown"), false},
		{"timeout", context.DeadlineExceeded, false},
		{"network", errors.New("connection reset by peer"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFake()
			api.fail["PutObject"] = tt.err
			s, err := s3sink.New(api, "audit-bucket", s3sink.Options{})
			require.NoError(t, err)
			err = s.Deliver(context.Background(), logFile("AWSLogs/k.json.gz", []byte("x")))
			require.Error(t, err)
			assert.Equal(t, tt.permanent, errors.Is(err, trail.ErrPermanent), "%v", err)
			assert.ErrorIs(t, err, tt.err, "the SDK error stays reachable")
			var ae smithy.APIError
			if errors.As(tt.err, &ae) {
				require.ErrorAs(t, err, &ae)
			}
		})
	}
}

func TestMultipart(t *testing.T) {
	api := newFake()
	s, err := s3sink.New(api, "audit-bucket", s3sink.Options{MultipartThreshold: 1024, Encryption: s3sink.SSEKMS, KMSKeyID: "k",
		BucketOwnerFullControl: true})
	require.NoError(t, err)
	body := bytes.Repeat([]byte("0123456789abcdef"), (12<<20)/16+7) // 12 MiB + 112 bytes
	ctx := context.Background()
	require.NoError(t, s.Deliver(ctx, logFile("AWSLogs/big.json.gz", body)))
	require.Len(t, api.creates, 1)
	assert.Equal(t, types.ServerSideEncryptionAwsKms, api.creates[0].ServerSideEncryption)
	assert.Equal(t, "k", aws.ToString(api.creates[0].SSEKMSKeyId))
	assert.Equal(t, types.ObjectCannedACLBucketOwnerFullControl, api.creates[0].ACL)
	assert.Equal(t, "gzip", aws.ToString(api.creates[0].ContentEncoding))
	require.Len(t, api.parts, 2, "8 MiB parts")
	assert.EqualValues(t, 8<<20, *api.parts[0].ContentLength)
	assert.Empty(t, api.puts, "no single PutObject")
	assert.Equal(t, body, api.objects["AWSLogs/big.json.gz"].body)

	// A small body stays a single PutObject.
	require.NoError(t, s.Deliver(ctx, logFile("AWSLogs/small.json.gz", body[:1024])))
	assert.Len(t, api.puts, 1)

	// A failed part aborts the upload; the error keeps its class.
	api.fail["UploadPart"] = &smithy.GenericAPIError{Code: "AccessDenied"}
	err = s.Deliver(ctx, logFile("AWSLogs/big2.json.gz", body))
	require.ErrorIs(t, err, trail.ErrPermanent)
	assert.Equal(t, 1, api.aborts)
	assert.Empty(t, api.uploads, "no upload left open")
	api.fail["UploadPart"] = httpErr(503, "SlowDown")
	err = s.Deliver(ctx, logFile("AWSLogs/big2.json.gz", body))
	require.Error(t, err)
	assert.NotErrorIs(t, err, trail.ErrPermanent)
	assert.Equal(t, 2, api.aborts)
}

func TestStartupCheck(t *testing.T) {
	tests := []struct {
		name    string
		fail    map[string]error
		check   s3sink.Check
		wantErr []string
	}{
		{name: "ok", check: s3sink.Check{ProbeKey: s3sink.ProbeKey("team", "", "111122223333")}},
		{name: "no bucket", fail: map[string]error{"HeadBucket": httpErr(404, "NotFound")},
			wantErr: []string{`bucket "audit-bucket" is not usable`, "does not exist"}},
		{name: "no write permission", fail: map[string]error{"PutObject": &smithy.GenericAPIError{Code: "AccessDenied"}},
			wantErr: []string{"cannot write probe object s3://audit-bucket/AWSLogs/trail-write-probe", "AccessDenied"}},
		{name: "no list permission, head skipped", fail: map[string]error{"HeadBucket": httpErr(403, "Forbidden")},
			check: s3sink.Check{SkipHeadBucket: true}},
		{name: "kms key disabled", fail: map[string]error{"PutObject": &smithy.GenericAPIError{Code: "KMS.DisabledException"}},
			wantErr: []string{"KMS key is disabled"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFake()
			for op, err := range tt.fail {
				api.fail[op] = err
			}
			check := tt.check
			_, err := s3sink.New(api, "audit-bucket", s3sink.Options{Check: &check})
			if len(tt.wantErr) == 0 {
				require.NoError(t, err)
				require.Len(t, api.puts, 1)
				want := check.ProbeKey
				if want == "" {
					want = "AWSLogs/trail-write-probe"
				}
				assert.Equal(t, want, *api.puts[0].Key)
				assert.Equal(t, types.ServerSideEncryptionAes256, api.puts[0].ServerSideEncryption)
				return
			}
			require.Error(t, err)
			require.ErrorIs(t, err, trail.ErrPermanent)
			for _, w := range tt.wantErr {
				assert.ErrorContains(t, err, w)
			}
		})
	}
	assert.Equal(t, "team/AWSLogs/o-exampleorg1/111122223333/trail-write-probe", s3sink.ProbeKey("team", "o-exampleorg1", "111122223333"))
}

func TestObjectReader(t *testing.T) {
	api := newFake()
	api.pageLen = 2
	s, err := s3sink.New(api, "audit-bucket", s3sink.Options{})
	require.NoError(t, err)
	ctx := context.Background()
	for _, k := range []string{"a/1", "a/2", "a/3", "a/4", "a/5", "b/1"} {
		require.NoError(t, s.Deliver(ctx, logFile(k, []byte(k))))
	}
	keys, err := s.List(ctx, "a/")
	require.NoError(t, err)
	assert.Equal(t, []string{"a/1", "a/2", "a/3", "a/4", "a/5"}, keys, "all pages")
	keys, err = s.ListAfter(ctx, "a/", "a/3")
	require.NoError(t, err)
	assert.Equal(t, []string{"a/4", "a/5"}, keys)

	body, meta, err := s.Get(ctx, "a/2")
	require.NoError(t, err)
	assert.Equal(t, []byte("a/2"), body)
	assert.Equal(t, logFile("a/2", []byte("a/2")).Metadata(), meta, "a log file's digest facts")
	_, _, err = s.Get(ctx, "nope")
	require.ErrorIs(t, err, fs.ErrNotExist)
	var nsk *types.NoSuchKey
	require.ErrorAs(t, err, &nsk)

	api.fail["ListObjectsV2"] = &smithy.GenericAPIError{Code: "AccessDenied"}
	_, err = s.List(ctx, "a/")
	require.ErrorIs(t, err, trail.ErrPermanent)
}

func TestInvalidInput(t *testing.T) {
	s, err := s3sink.New(newFake(), "audit-bucket", s3sink.Options{})
	require.NoError(t, err)
	ctx := context.Background()
	require.ErrorIs(t, s.Deliver(ctx, &trail.LogFile{}), trail.ErrPermanent)
	require.ErrorIs(t, s.Deliver(ctx, nil), trail.ErrPermanent)
	require.ErrorIs(t, s.DeliverDigest(ctx, &trail.Digest{}), trail.ErrPermanent)
	require.ErrorIs(t, s.Deliver(ctx, logFile("/abs", nil)), trail.ErrPermanent)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	err = s.Deliver(cctx, logFile("k", nil))
	require.ErrorIs(t, err, context.Canceled)
	assert.NotErrorIs(t, err, trail.ErrPermanent)
}
