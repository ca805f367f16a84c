package s3sink

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/trailkit/trail"
)

var (
	_ trail.MetadataReader = (*Sink)(nil)
	_ trail.LeaseStore     = (*Sink)(nil)
)

// headObjecter is the optional HeadObject of an API (*s3.Client has it).
type headObjecter interface {
	HeadObject(ctx context.Context, in *s3.HeadObjectInput, optFns ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
}

func (s *Sink) headersIfNone(meta map[string]string) objectHeaders {
	h := s.headers(s.opts.ContentType, !s.opts.NoContentEncoding, meta)
	h.ifNoneMatch = aws.String("*")
	return h
}

// isPreconditionFailed reports a failed conditional write: 412
// PreconditionFailed, or 409 ConditionalRequestConflict (a concurrent
// conditional write to the same key).
func isPreconditionFailed(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "PreconditionFailed", "ConditionalRequestConflict":
			return true
		}
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		switch re.HTTPStatusCode() {
		case http.StatusPreconditionFailed, http.StatusConflict:
			return true
		}
	}
	return false
}

// Metadata returns an object's user metadata with HeadObject (names lower
// case; trail.MetadataReader, needs s3:GetObject). With an API that has no
// HeadObject it falls back to GetObject.
func (s *Sink) Metadata(ctx context.Context, key string) (map[string]string, error) {
	h, ok := s.api.(headObjecter)
	if !ok {
		_, meta, err := s.Get(ctx, key)
		return meta, err
	}
	out, err := h.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.bucket, Key: &key, ExpectedBucketOwner: s.owner()})
	if err != nil {
		if isNotFound(err) {
			return nil, fmt.Errorf("s3sink: head s3://%s/%s: %w (%w)", s.bucket, key, fs.ErrNotExist, err)
		}
		return nil, fmt.Errorf("s3sink: head s3://%s/%s: %w", s.bucket, key, classify(err))
	}
	return lowerMeta(out.Metadata), nil
}

func lowerMeta(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[strings.ToLower(k)] = v
	}
	return out
}

// ReadLease returns a lease object and its ETag (trail.LeaseStore).
func (s *Sink) ReadLease(ctx context.Context, key string) ([]byte, string, error) {
	out, err := s.api.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: &key, ExpectedBucketOwner: s.owner()})
	if err != nil {
		if isNotFound(err) {
			return nil, "", fmt.Errorf("s3sink: lease s3://%s/%s: %w (%w)", s.bucket, key, fs.ErrNotExist, err)
		}
		return nil, "", fmt.Errorf("s3sink: lease s3://%s/%s: %w", s.bucket, key, classify(err))
	}
	defer out.Body.Close()
	data, err := io.ReadAll(io.LimitReader(out.Body, 1<<20))
	if err != nil {
		return nil, "", fmt.Errorf("s3sink: read lease s3://%s/%s: %w", s.bucket, key, err)
	}
	return data, aws.ToString(out.ETag), nil
}

// WriteLease writes a lease object with a conditional PutObject:
// If-None-Match: * when version is "" (create), If-Match: version otherwise
// (renew, take over). A failed condition gives an error wrapping
// trail.ErrConflict (trail.LeaseStore).
func (s *Sink) WriteLease(ctx context.Context, key string, data []byte, version string) (string, error) {
	in := &s3.PutObjectInput{
		Bucket:               &s.bucket,
		Key:                  &key,
		Body:                 bytes.NewReader(data),
		ContentLength:        aws.Int64(int64(len(data))),
		ContentMD5:           contentMD5(data),
		ContentType:          aws.String("application/json"),
		ServerSideEncryption: s.headers("", false, nil).sse,
		SSEKMSKeyId:          s.headers("", false, nil).kmsKey,
		ExpectedBucketOwner:  s.owner(),
	}
	if s.opts.BucketOwnerFullControl {
		in.ACL = s.headers("", false, nil).acl
	}
	if version == "" {
		in.IfNoneMatch = aws.String("*")
	} else {
		in.IfMatch = aws.String(version)
	}
	actx, cancel := context.WithTimeout(ctx, s.opts.AttemptTimeout)
	defer cancel()
	out, err := s.api.PutObject(actx, in)
	if err != nil {
		if isPreconditionFailed(err) {
			return "", fmt.Errorf("s3sink: lease s3://%s/%s: %w: %w: %w", s.bucket, key, trail.ErrPermanent, trail.ErrConflict, err)
		}
		return "", fmt.Errorf("s3sink: lease s3://%s/%s: %w", s.bucket, key, classify(err))
	}
	return aws.ToString(out.ETag), nil
}
