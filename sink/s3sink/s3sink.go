// Package s3sink is a trail.Sink that stores log files and digest files in an
// Amazon S3 bucket (or any S3-compatible server such as MinIO) with
// aws-sdk-go-v2, the way CloudTrail does:
//
//   - every object is written with one PutObject at the file's key (a
//     multipart upload above Options.MultipartThreshold), so a redelivery
//     overwrites instead of duplicating;
//   - objects are encrypted with SSE-S3 by default, or with SSE-KMS
//     (Options.Encryption, Options.KMSKeyID); digests get the same settings;
//   - digests carry their signature as object metadata in lower case
//     (x-amz-meta-signature, x-amz-meta-signature-algorithm), which is what
//     `aws cloudtrail validate-logs` reads;
//   - the canned ACL bucket-owner-full-control can be set for buckets owned
//     by another account (Options.BucketOwnerFullControl);
//   - every upload carries Content-MD5, so S3 rejects a corrupted body.
//
// Objects are stored with Content-Type application/json and Content-Encoding
// gzip, as CloudTrail stores them: the body is the gzip'd JSON, and tools
// that honour Content-Encoding (browsers, the S3 console) show the JSON.
// Clients that read the raw object (the AWS CLI, the SDKs, package verify)
// get the gzip bytes. Options.ContentType and Options.NoContentEncoding
// change that.
//
// Errors that retrying cannot fix (AccessDenied, NoSuchBucket,
// InvalidAccessKeyId, a disabled or missing KMS key, ...) wrap
// trail.ErrPermanent so the recorder stops retrying; the SDK's error stays
// reachable with errors.As. Throttling, 5xx responses and timeouts are
// returned as they are, and the recorder retries them.
//
// The Sink also implements trail.ObjectReader (List, Get), so a recorder
// continues its digest chains after a restart by reading the newest digest
// back from the bucket, and package verify can validate the bucket directly.
package s3sink

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/trailkit/trail"
)

// API is the part of the S3 client the sink uses. *s3.Client implements it;
// tests can substitute a fake.
type API interface {
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	HeadBucket(ctx context.Context, in *s3.HeadBucketInput, optFns ...func(*s3.Options)) (*s3.HeadBucketOutput, error)
	CreateMultipartUpload(ctx context.Context, in *s3.CreateMultipartUploadInput, optFns ...func(*s3.Options)) (*s3.CreateMultipartUploadOutput, error)
	UploadPart(ctx context.Context, in *s3.UploadPartInput, optFns ...func(*s3.Options)) (*s3.UploadPartOutput, error)
	CompleteMultipartUpload(ctx context.Context, in *s3.CompleteMultipartUploadInput, optFns ...func(*s3.Options)) (*s3.CompleteMultipartUploadOutput, error)
	AbortMultipartUpload(ctx context.Context, in *s3.AbortMultipartUploadInput, optFns ...func(*s3.Options)) (*s3.AbortMultipartUploadOutput, error)
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

var _ API = (*s3.Client)(nil)

// Encryption selects the server-side encryption of stored objects.
type Encryption int

const (
	// SSES3 encrypts with S3-managed keys (x-amz-server-side-encryption:
	// AES256). The default, as for CloudTrail.
	SSES3 Encryption = iota
	// SSEKMS encrypts with an AWS KMS key (aws:kms): Options.KMSKeyID, or the
	// account's aws/s3 key when it is empty. The writer then needs
	// kms:GenerateDataKey on the key.
	SSEKMS
	// BucketDefault sends no encryption header, so the bucket's default
	// encryption applies (S3 encrypts every new object at least with SSE-S3;
	// S3-compatible servers without a KMS may store the object unencrypted).
	BucketDefault
)

// String returns the S3 header value or "bucket-default".
func (e Encryption) String() string {
	switch e {
	case SSES3:
		return string(types.ServerSideEncryptionAes256)
	case SSEKMS:
		return string(types.ServerSideEncryptionAwsKms)
	case BucketDefault:
		return "bucket-default"
	}
	return fmt.Sprintf("Encryption(%d)", int(e))
}

// Defaults of Options.
const (
	DefaultContentType        = "application/json"
	DefaultContentEncoding    = "gzip"
	DefaultMultipartThreshold = 16 << 20
	DefaultPartSize           = 8 << 20
	DefaultAttemptTimeout     = 2 * time.Minute
	DefaultCheckTimeout       = 30 * time.Second
	// MinPartSize is S3's smallest part size (except for the last part).
	MinPartSize = 5 << 20
	// MaxParts is S3's largest number of parts of one upload.
	MaxParts = 10000
)

// Options tune a Sink. The zero value is the default: SSE-S3, no ACL,
// Content-Type application/json with Content-Encoding gzip, multipart
// uploads above 16 MiB in 8 MiB parts, a 2-minute bound on each attempt, and
// no start-up check.
type Options struct {
	// Encryption selects server-side encryption (default SSES3).
	Encryption Encryption
	// KMSKeyID is the KMS key (ID, ARN or alias ARN) for SSEKMS; empty uses
	// the aws/s3 managed key. Setting it with another Encryption is an error.
	KMSKeyID string
	// BucketKeyEnabled turns on S3 Bucket Keys for SSEKMS (fewer KMS calls).
	BucketKeyEnabled bool
	// BucketOwnerFullControl writes objects with the canned ACL
	// bucket-owner-full-control, which a bucket in another account requires
	// (CloudTrail's bucket policy conditions on it). Buckets with ACLs
	// disabled (Object Ownership "bucket owner enforced") accept it too.
	BucketOwnerFullControl bool
	// ExpectedBucketOwner, a 12-digit account ID, makes S3 refuse requests
	// (403) when the bucket belongs to another account.
	ExpectedBucketOwner string
	// ContentType of stored objects (default "application/json").
	ContentType string
	// NoContentEncoding omits "Content-Encoding: gzip" (default: sent).
	NoContentEncoding bool
	// MultipartThreshold: bodies larger than this many bytes are uploaded in
	// parts (default 16 MiB).
	MultipartThreshold int64
	// PartSize is the size of each part but the last (default 8 MiB, at
	// least 5 MiB as S3 requires; raised automatically when a body would
	// need more than 10,000 parts).
	PartSize int64
	// AttemptTimeout bounds one delivery attempt (default 2 minutes); an
	// attempt that runs out is returned as a retryable error.
	AttemptTimeout time.Duration
	// Check, if set, makes New verify that the bucket exists and accepts
	// writes before returning (like CloudTrail refusing a bucket without the
	// right policy).
	Check *Check
}

// Check is the start-up check of New: HeadBucket (needs s3:ListBucket), then
// a PutObject of a small probe object with the sink's ACL and encryption.
type Check struct {
	// ProbeKey is the key of the probe object. It should lie below the
	// trail's "[prefix/]AWSLogs/[orgID/]account/" so the writer's policy
	// covers it (see ProbeKey); default "AWSLogs/trail-write-probe". The
	// probe is overwritten by each start and never deleted (the writer
	// needs no s3:DeleteObject).
	ProbeKey string
	// SkipHeadBucket skips HeadBucket, for writers without s3:ListBucket.
	SkipHeadBucket bool
	// Timeout bounds the whole check (default 30 seconds).
	Timeout time.Duration
}

// ProbeKey returns the key of the start-up probe object for a trail:
// "[prefix/]AWSLogs/[orgID/]account/trail-write-probe", a key the writer's
// PutObject permission on the trail's folder covers.
func ProbeKey(prefix, orgID, account string) string {
	var b strings.Builder
	if prefix != "" {
		b.WriteString(prefix)
		b.WriteByte('/')
	}
	b.WriteString("AWSLogs/")
	if orgID != "" {
		b.WriteString(orgID)
		b.WriteByte('/')
	}
	b.WriteString(account)
	b.WriteString("/trail-write-probe")
	return b.String()
}

// Sink stores files in one S3 bucket. It is safe for concurrent use.
type Sink struct {
	api    API
	bucket string
	opts   Options
}

var (
	_ trail.Sink         = (*Sink)(nil)
	_ trail.DigestSink   = (*Sink)(nil)
	_ trail.ObjectReader = (*Sink)(nil)
)

// New returns a Sink writing to bucket through client. The zero Options is
// the default. With
// opts.Check set, New first checks the bucket and returns an error (wrapping
// trail.ErrPermanent when retrying cannot help) if it is unusable.
func New(client API, bucket string, opts Options) (*Sink, error) {
	if client == nil {
		return nil, errors.New("s3sink: nil client")
	}
	if err := trail.ValidateBucketName(bucket); err != nil {
		return nil, fmt.Errorf("s3sink: %w (a name, not a URL or ARN)", err)
	}
	s := &Sink{api: client, bucket: bucket}
	s.opts = opts
	o := &s.opts
	switch o.Encryption {
	case SSES3, BucketDefault:
		if o.KMSKeyID != "" || o.BucketKeyEnabled {
			return nil, fmt.Errorf("s3sink: KMSKeyID and BucketKeyEnabled need Encryption SSEKMS, not %s", o.Encryption)
		}
	case SSEKMS:
	default:
		return nil, fmt.Errorf("s3sink: unknown Encryption %d", int(o.Encryption))
	}
	if o.ExpectedBucketOwner != "" && !isAccountID(o.ExpectedBucketOwner) {
		return nil, fmt.Errorf("s3sink: ExpectedBucketOwner %q: want a 12-digit account ID", o.ExpectedBucketOwner)
	}
	if o.ContentType == "" {
		o.ContentType = DefaultContentType
	}
	if o.MultipartThreshold < 0 || o.PartSize < 0 || o.AttemptTimeout < 0 {
		return nil, errors.New("s3sink: negative MultipartThreshold, PartSize or AttemptTimeout")
	}
	if o.MultipartThreshold == 0 {
		o.MultipartThreshold = DefaultMultipartThreshold
	}
	if o.PartSize == 0 {
		o.PartSize = DefaultPartSize
	}
	if o.PartSize < MinPartSize {
		return nil, fmt.Errorf("s3sink: PartSize %d is below S3's minimum of %d bytes", o.PartSize, MinPartSize)
	}
	if o.AttemptTimeout == 0 {
		o.AttemptTimeout = DefaultAttemptTimeout
	}
	if o.Check != nil {
		c := *o.Check
		o.Check = &c
		if c.ProbeKey == "" {
			o.Check.ProbeKey = "AWSLogs/trail-write-probe"
		}
		if c.Timeout <= 0 {
			o.Check.Timeout = DefaultCheckTimeout
		}
		if err := s.check(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// check runs the start-up check.
func (s *Sink) check() error {
	c := s.opts.Check
	ctx, cancel := context.WithTimeout(context.Background(), c.Timeout)
	defer cancel()
	if !c.SkipHeadBucket {
		_, err := s.api.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &s.bucket, ExpectedBucketOwner: s.owner()})
		if err != nil {
			return fmt.Errorf("s3sink: start-up check: bucket %q is not usable (HeadBucket: %s): %w", s.bucket, explain(err), classify(err))
		}
	}
	body := []byte("trail write probe\n")
	if err := s.put(ctx, c.ProbeKey, body, "text/plain", false, nil); err != nil {
		return fmt.Errorf("s3sink: start-up check: cannot write probe object s3://%s/%s with %s encryption (%s): %w",
			s.bucket, c.ProbeKey, s.opts.Encryption, explain(err), err)
	}
	return nil
}

// String names the sink in errors.
func (s *Sink) String() string { return "s3sink(s3://" + s.bucket + ")" }

// Bucket returns the bucket the sink writes to.
func (s *Sink) Bucket() string { return s.bucket }

// Deliver stores f.Body at f.Key.
func (s *Sink) Deliver(ctx context.Context, f *trail.LogFile) error {
	if f == nil || f.Key == "" {
		return fmt.Errorf("s3sink: %w: empty log file", trail.ErrPermanent)
	}
	return s.put(ctx, f.Key, f.Body, s.opts.ContentType, !s.opts.NoContentEncoding, f.Metadata())
}

// DeliverDigest stores d.Body at d.Key with d.Metadata() as object metadata
// (lower-case x-amz-meta-signature and x-amz-meta-signature-algorithm) in
// the same request, so a digest never exists unsigned. The write is
// create-only (If-None-Match: *): when the key exists already, the stored
// digest is read back; the same bytes and signature count as success,
// anything else is an error wrapping trail.ErrConflict and
// trail.ErrPermanent.
func (s *Sink) DeliverDigest(ctx context.Context, d *trail.Digest) error {
	if d == nil || d.Key == "" {
		return fmt.Errorf("s3sink: %w: empty digest", trail.ErrPermanent)
	}
	meta := make(map[string]string, 2)
	for k, v := range d.Metadata() {
		meta[strings.ToLower(k)] = v
	}
	err := s.putHeaders(ctx, d.Key, d.Body, s.headersIfNone(meta))
	if err == nil || !isPreconditionFailed(err) {
		return err
	}
	old, oldMeta, gerr := s.Get(ctx, d.Key)
	if gerr != nil {
		return fmt.Errorf("s3sink: digest s3://%s/%s exists; reading it back: %w", s.bucket, d.Key, gerr)
	}
	if bytes.Equal(old, d.Body) && oldMeta["signature"] == d.Signature {
		return nil
	}
	return fmt.Errorf("s3sink: digest s3://%s/%s: %w: %w: another digest is stored there", s.bucket, d.Key, trail.ErrPermanent, trail.ErrConflict)
}

func (s *Sink) owner() *string {
	if s.opts.ExpectedBucketOwner == "" {
		return nil
	}
	return aws.String(s.opts.ExpectedBucketOwner)
}

// objectHeaders are the settings shared by PutObject and
// CreateMultipartUpload.
type objectHeaders struct {
	acl         types.ObjectCannedACL
	sse         types.ServerSideEncryption
	kmsKey      *string
	bucketKey   *bool
	contentType *string
	encoding    *string
	meta        map[string]string
	ifNoneMatch *string // "*": create-only
	ifMatch     *string // replace only this ETag
}

func (s *Sink) headers(contentType string, gzipEncoding bool, meta map[string]string) objectHeaders {
	h := objectHeaders{contentType: aws.String(contentType), meta: meta}
	if gzipEncoding {
		h.encoding = aws.String(DefaultContentEncoding)
	}
	if s.opts.BucketOwnerFullControl {
		h.acl = types.ObjectCannedACLBucketOwnerFullControl
	}
	switch s.opts.Encryption {
	case SSES3:
		h.sse = types.ServerSideEncryptionAes256
	case SSEKMS:
		h.sse = types.ServerSideEncryptionAwsKms
		if s.opts.KMSKeyID != "" {
			h.kmsKey = aws.String(s.opts.KMSKeyID)
		}
		if s.opts.BucketKeyEnabled {
			h.bucketKey = aws.Bool(true)
		}
	}
	return h
}

// put stores body at key, in one request or in parts.
func (s *Sink) put(ctx context.Context, key string, body []byte, contentType string, gzipEncoding bool, meta map[string]string) error {
	return s.putHeaders(ctx, key, body, s.headers(contentType, gzipEncoding, meta))
}

func (s *Sink) putHeaders(ctx context.Context, key string, body []byte, h objectHeaders) error {
	if key == "" || strings.HasPrefix(key, "/") {
		return fmt.Errorf("s3sink: %w: invalid key %q", trail.ErrPermanent, key)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	actx, cancel := context.WithTimeout(ctx, s.opts.AttemptTimeout)
	defer cancel()
	var err error
	if int64(len(body)) > s.opts.MultipartThreshold {
		err = s.putMultipart(actx, key, body, h)
	} else {
		_, err = s.api.PutObject(actx, &s3.PutObjectInput{
			Bucket:               &s.bucket,
			Key:                  &key,
			Body:                 bytes.NewReader(body),
			ContentLength:        aws.Int64(int64(len(body))),
			ContentMD5:           contentMD5(body),
			ContentType:          h.contentType,
			ContentEncoding:      h.encoding,
			ACL:                  h.acl,
			ServerSideEncryption: h.sse,
			SSEKMSKeyId:          h.kmsKey,
			BucketKeyEnabled:     h.bucketKey,
			Metadata:             h.meta,
			ExpectedBucketOwner:  s.owner(),
			IfNoneMatch:          h.ifNoneMatch,
			IfMatch:              h.ifMatch,
		})
		if err != nil {
			err = fmt.Errorf("s3sink: put s3://%s/%s: %w", s.bucket, key, classify(err))
		}
	}
	if err != nil && ctx.Err() != nil {
		// The caller gave up; report its reason rather than a timeout.
		return fmt.Errorf("%w (%w)", ctx.Err(), err)
	}
	return err
}

func contentMD5(b []byte) *string {
	sum := md5.Sum(b)
	return aws.String(base64.StdEncoding.EncodeToString(sum[:]))
}

// List returns the keys under prefix in lexicographic order
// (trail.ObjectReader; needs s3:ListBucket).
func (s *Sink) List(ctx context.Context, prefix string) ([]string, error) {
	return s.ListAfter(ctx, prefix, "")
}

// ListAfter returns the keys under prefix that sort after startAfter, in
// lexicographic order (verify.AfterLister).
func (s *Sink) ListAfter(ctx context.Context, prefix, startAfter string) ([]string, error) {
	in := &s3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: aws.String(prefix), ExpectedBucketOwner: s.owner()}
	if startAfter != "" {
		in.StartAfter = aws.String(startAfter)
	}
	var keys []string
	for {
		out, err := s.api.ListObjectsV2(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("s3sink: list s3://%s/%s: %w", s.bucket, prefix, classify(err))
		}
		for _, o := range out.Contents {
			if o.Key != nil {
				keys = append(keys, *o.Key)
			}
		}
		if !aws.ToBool(out.IsTruncated) || aws.ToString(out.NextContinuationToken) == "" {
			return keys, nil
		}
		in.ContinuationToken = out.NextContinuationToken
	}
}

// Get returns an object's body and user metadata (names lower case, without
// x-amz-meta-; nil when there is none). A missing object gives an error
// wrapping fs.ErrNotExist (trail.ObjectReader; needs s3:GetObject).
func (s *Sink) Get(ctx context.Context, key string) ([]byte, map[string]string, error) {
	out, err := s.api.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: &key, ExpectedBucketOwner: s.owner()})
	if err != nil {
		if isNotFound(err) {
			return nil, nil, fmt.Errorf("s3sink: get s3://%s/%s: %w (%w)", s.bucket, key, fs.ErrNotExist, err)
		}
		return nil, nil, fmt.Errorf("s3sink: get s3://%s/%s: %w", s.bucket, key, classify(err))
	}
	defer out.Body.Close()
	body, err := io.ReadAll(out.Body)
	if err != nil {
		return nil, nil, fmt.Errorf("s3sink: read s3://%s/%s: %w", s.bucket, key, err)
	}
	var meta map[string]string
	if len(out.Metadata) > 0 {
		meta = make(map[string]string, len(out.Metadata))
		for k, v := range out.Metadata {
			meta[strings.ToLower(k)] = v
		}
	}
	return body, meta, nil
}
