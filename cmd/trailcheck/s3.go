package main

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/trailkit/trail/sink/s3sink"
	"github.com/trailkit/trail/verify"
)

// openS3 returns a verify.Store over an S3 bucket (s3sink reads objects and
// their x-amz-meta-* metadata). Credentials and region come from the
// standard AWS configuration chain; the region defaults to the trail's home
// region. With an endpoint (MinIO, a local server) requests are path-style.
func openS3(ctx context.Context, bucket, endpoint, trailARN string) (verify.Store, error) {
	var opts []func(*config.LoadOptions) error
	if arn, err := verify.ParseTrailARN(trailARN); err == nil {
		opts = append(opts, config.WithDefaultRegion(arn.HomeRegion))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.DisableLogOutputChecksumValidationSkipped = true
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
			o.UsePathStyle = true
		}
	})
	st, err := s3sink.New(client, bucket, s3sink.Options{})
	if err != nil {
		return nil, fmt.Errorf("S3 bucket %s: %w", bucket, err)
	}
	return st, nil
}
