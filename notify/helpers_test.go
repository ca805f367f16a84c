package notify_test

import (
	"context"
	"crypto/rsa"
	"errors"
	"testing"

	"github.com/trailkit/trail/internal/testkeys"

	"github.com/aws/aws-sdk-go-v2/service/s3"
)

func testKey(t testing.TB) *rsa.PrivateKey { return testkeys.RSA(t) }

// offlineS3 is an s3sink.API whose every call fails (no network).
type offlineS3 struct{}

var errOffline = errors.New("offline")

func (offlineS3) PutObject(context.Context, *s3.PutObjectInput, ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	return nil, errOffline
}
func (offlineS3) HeadBucket(context.Context, *s3.HeadBucketInput, ...func(*s3.Options)) (*s3.HeadBucketOutput, error) {
	return nil, errOffline
}
func (offlineS3) CreateMultipartUpload(context.Context, *s3.CreateMultipartUploadInput, ...func(*s3.Options)) (*s3.CreateMultipartUploadOutput, error) {
	return nil, errOffline
}
func (offlineS3) UploadPart(context.Context, *s3.UploadPartInput, ...func(*s3.Options)) (*s3.UploadPartOutput, error) {
	return nil, errOffline
}
func (offlineS3) CompleteMultipartUpload(context.Context, *s3.CompleteMultipartUploadInput, ...func(*s3.Options)) (*s3.CompleteMultipartUploadOutput, error) {
	return nil, errOffline
}
func (offlineS3) AbortMultipartUpload(context.Context, *s3.AbortMultipartUploadInput, ...func(*s3.Options)) (*s3.AbortMultipartUploadOutput, error) {
	return nil, errOffline
}
func (offlineS3) ListObjectsV2(context.Context, *s3.ListObjectsV2Input, ...func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
	return nil, errOffline
}
func (offlineS3) GetObject(context.Context, *s3.GetObjectInput, ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	return nil, errOffline
}
