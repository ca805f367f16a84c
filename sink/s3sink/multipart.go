package s3sink

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// partSize returns the part size for a body of n bytes: Options.PartSize,
// raised so that no upload needs more than MaxParts parts.
func (s *Sink) partSize(n int64) int64 {
	ps := s.opts.PartSize
	if min := (n + MaxParts - 1) / MaxParts; ps < min {
		ps = min
	}
	return ps
}

// putMultipart uploads body in parts. On failure the upload is aborted, so
// no parts linger in the bucket (best effort: a lifecycle rule
// AbortIncompleteMultipartUpload catches what is left).
func (s *Sink) putMultipart(ctx context.Context, key string, body []byte, h objectHeaders) (err error) {
	created, err := s.api.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
		Bucket:               &s.bucket,
		Key:                  &key,
		ContentType:          h.contentType,
		ContentEncoding:      h.encoding,
		ACL:                  h.acl,
		ServerSideEncryption: h.sse,
		SSEKMSKeyId:          h.kmsKey,
		BucketKeyEnabled:     h.bucketKey,
		Metadata:             h.meta,
		ExpectedBucketOwner:  s.owner(),
	})
	if err != nil {
		return fmt.Errorf("s3sink: create multipart upload s3://%s/%s: %w", s.bucket, key, classify(err))
	}
	uploadID := created.UploadId
	if uploadID == nil || *uploadID == "" {
		return fmt.Errorf("s3sink: create multipart upload s3://%s/%s: no upload ID in the response", s.bucket, key)
	}
	defer func() {
		if err == nil {
			return
		}
		// Abort even when ctx has ended, within a bound of its own.
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if _, aerr := s.api.AbortMultipartUpload(actx, &s3.AbortMultipartUploadInput{
			Bucket: &s.bucket, Key: &key, UploadId: uploadID, ExpectedBucketOwner: s.owner(),
		}); aerr != nil {
			err = errors.Join(err, fmt.Errorf("s3sink: abort multipart upload %s of s3://%s/%s: %w", *uploadID, s.bucket, key, aerr))
		}
	}()
	size := int64(len(body))
	ps := s.partSize(size)
	var parts []types.CompletedPart
	for off, n := int64(0), int32(1); off < size; off, n = off+ps, n+1 {
		end := min(off+ps, size)
		chunk := body[off:end]
		out, err := s.api.UploadPart(ctx, &s3.UploadPartInput{
			Bucket:              &s.bucket,
			Key:                 &key,
			UploadId:            uploadID,
			PartNumber:          aws.Int32(n),
			Body:                bytes.NewReader(chunk),
			ContentLength:       aws.Int64(int64(len(chunk))),
			ContentMD5:          contentMD5(chunk),
			ExpectedBucketOwner: s.owner(),
		})
		if err != nil {
			return fmt.Errorf("s3sink: upload part %d of s3://%s/%s: %w", n, s.bucket, key, classify(err))
		}
		parts = append(parts, types.CompletedPart{
			PartNumber:        aws.Int32(n),
			ETag:              out.ETag,
			ChecksumCRC32:     out.ChecksumCRC32,
			ChecksumCRC32C:    out.ChecksumCRC32C,
			ChecksumCRC64NVME: out.ChecksumCRC64NVME,
			ChecksumSHA1:      out.ChecksumSHA1,
			ChecksumSHA256:    out.ChecksumSHA256,
		})
	}
	_, err = s.api.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket:              &s.bucket,
		Key:                 &key,
		UploadId:            uploadID,
		MultipartUpload:     &types.CompletedMultipartUpload{Parts: parts},
		ExpectedBucketOwner: s.owner(),
		IfNoneMatch:         h.ifNoneMatch,
	})
	if err != nil {
		return fmt.Errorf("s3sink: complete multipart upload s3://%s/%s: %w", s.bucket, key, classify(err))
	}
	return nil
}
