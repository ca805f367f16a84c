// Command s3 records events into an S3 bucket the way CloudTrail does: gzip'd
// log files under [prefix/]AWSLogs/<account>/CloudTrail/<region>/…, SSE-S3 or
// SSE-KMS, and a signed digest chain under CloudTrail-Digest/ that
// `aws cloudtrail validate-logs` accepts. Optionally it also sends every
// record to a CloudWatch Logs group and announces each file on an SNS topic.
//
// Credentials, region and the rest come from the standard AWS configuration
// chain (environment, ~/.aws/config and credentials, SSO, instance roles).
// Against MinIO or another S3-compatible server, pass --endpoint (requests
// are then path-style):
//
//	AWS_ACCESS_KEY_ID=minioadmin AWS_SECRET_ACCESS_KEY=minioadmin \
//	  go run ./examples/s3 --endpoint http://127.0.0.1:9000 --bucket audit-bucket --create-bucket
//
// Against AWS (the bucket exists and the writer has the IAM policy of the
// README's "Delivering to AWS"):
//
//	go run ./examples/s3 --bucket my-audit-bucket --prefix team --region eu-west-1 \
//	  --account "$(aws sts get-caller-identity --query Account --output text)" --kms-key alias/trail
//
// Every flag has an environment variable (TRAIL_BUCKET, TRAIL_PREFIX, …).
// The signing key is read from --signing-key (PEM, PKCS#1 or PKCS#8) or
// generated; the public key is written to --public-key-out for the
// verifier, and the command prints the validate-logs invocation to check
// the result.
package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/trailkit/trail"
	"github.com/trailkit/trail/notify"
	"github.com/trailkit/trail/sink/cwlogsink"
	"github.com/trailkit/trail/sink/s3sink"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		log.Fatal(err)
	}
}

// settings are the command's flags.
type settings struct {
	bucket, prefix, region, endpoint, account, trailName string
	kmsKey, signingKey, publicKeyOut, logGroup, snsTopic string
	events                                               int
	span, interval, digestPeriod                         time.Duration
	ownerFullControl, createBucket, check                bool
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

func envDuration(name string, def time.Duration) time.Duration {
	if v, err := time.ParseDuration(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

func envBool(name string) bool {
	v, _ := strconv.ParseBool(os.Getenv(name))
	return v
}

func parse(args []string, out io.Writer) (*settings, error) {
	s := &settings{}
	fs := flag.NewFlagSet("s3", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&s.bucket, "bucket", env("TRAIL_BUCKET", ""), "S3 bucket (required) [TRAIL_BUCKET]")
	fs.StringVar(&s.prefix, "prefix", env("TRAIL_PREFIX", ""), "S3 key prefix [TRAIL_PREFIX]")
	fs.StringVar(&s.region, "region", env("TRAIL_REGION", ""), "AWS region (default: the AWS config chain's, else us-east-1) [TRAIL_REGION]")
	fs.StringVar(&s.endpoint, "endpoint", env("TRAIL_S3_ENDPOINT", ""), "S3-compatible endpoint URL such as MinIO's, path-style [TRAIL_S3_ENDPOINT]")
	fs.StringVar(&s.account, "account", env("TRAIL_ACCOUNT_ID", "111122223333"), "12-digit account ID stamped on events [TRAIL_ACCOUNT_ID]")
	fs.StringVar(&s.trailName, "trail", env("TRAIL_NAME", "example-trail"), "trail name [TRAIL_NAME]")
	fs.StringVar(&s.kmsKey, "kms-key", env("TRAIL_KMS_KEY", ""), "SSE-KMS key ID, ARN or alias (default: SSE-S3) [TRAIL_KMS_KEY]")
	fs.BoolVar(&s.ownerFullControl, "bucket-owner-full-control", envBool("TRAIL_BUCKET_OWNER_FULL_CONTROL"), "write with ACL bucket-owner-full-control (cross-account buckets) [TRAIL_BUCKET_OWNER_FULL_CONTROL]")
	fs.BoolVar(&s.check, "check", !envBool("TRAIL_NO_CHECK"), "check the bucket and write a probe object at start-up [TRAIL_NO_CHECK=1 disables]")
	fs.BoolVar(&s.createBucket, "create-bucket", envBool("TRAIL_CREATE_BUCKET"), "create the bucket if it does not exist (for MinIO) [TRAIL_CREATE_BUCKET]")
	fs.StringVar(&s.signingKey, "signing-key", env("TRAIL_SIGNING_KEY", ""), "RSA private key PEM for digests (default: a new key) [TRAIL_SIGNING_KEY]")
	fs.StringVar(&s.publicKeyOut, "public-key-out", env("TRAIL_PUBLIC_KEY_OUT", "public-key.pem"), "where to write the digest public key [TRAIL_PUBLIC_KEY_OUT]")
	fs.StringVar(&s.logGroup, "log-group", env("TRAIL_LOG_GROUP", ""), "also send records to this CloudWatch Logs group [TRAIL_LOG_GROUP]")
	fs.StringVar(&s.snsTopic, "sns-topic", env("TRAIL_SNS_TOPIC", ""), "announce each log file on this SNS topic ARN [TRAIL_SNS_TOPIC]")
	fs.IntVar(&s.events, "events", envInt("TRAIL_EVENTS", 200), "number of events to record [TRAIL_EVENTS]")
	fs.DurationVar(&s.span, "span", envDuration("TRAIL_SPAN", 6*time.Second), "time over which the events are recorded [TRAIL_SPAN]")
	fs.DurationVar(&s.interval, "interval", envDuration("TRAIL_INTERVAL", time.Second), "log file interval (CloudTrail: about 5m) [TRAIL_INTERVAL]")
	fs.DurationVar(&s.digestPeriod, "digest-period", envDuration("TRAIL_DIGEST_PERIOD", 2*time.Second), "digest period (CloudTrail: 1h) [TRAIL_DIGEST_PERIOD]")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if s.bucket == "" {
		fs.Usage()
		return nil, errors.New("--bucket (or TRAIL_BUCKET) is required")
	}
	if s.events < 0 || s.span < 0 {
		return nil, errors.New("--events and --span must not be negative")
	}
	return s, nil
}

func run(ctx context.Context, args []string, out io.Writer) error {
	s, err := parse(args, out)
	if err != nil {
		return err
	}
	var loadOpts []func(*config.LoadOptions) error
	if s.region != "" {
		loadOpts = append(loadOpts, config.WithRegion(s.region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		return fmt.Errorf("load AWS config: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		if s.endpoint != "" {
			o.BaseEndpoint = aws.String(s.endpoint)
			o.UsePathStyle = true
		}
	})
	if s.createBucket {
		if err := ensureBucket(ctx, client, s.bucket); err != nil {
			return err
		}
	}
	key, err := signingKey(s.signingKey)
	if err != nil {
		return err
	}
	if err := os.WriteFile(s.publicKeyOut, trail.PublicKeyInfo(&key.PublicKey).PEM(), 0o644); err != nil {
		return fmt.Errorf("write public key: %w", err)
	}

	opts := s3sink.Options{BucketOwnerFullControl: s.ownerFullControl}
	if s.kmsKey != "" {
		opts.Encryption, opts.KMSKeyID = s3sink.SSEKMS, s.kmsKey
	}
	if s.check {
		opts.Check = &s3sink.Check{ProbeKey: s3sink.ProbeKey(s.prefix, "", s.account)}
	}
	bucketSink, err := s3sink.New(client, s.bucket, opts)
	if err != nil {
		return err
	}
	var sink trail.Sink = bucketSink
	if s.snsTopic != "" {
		pub, err := notify.NewSNS(sns.NewFromConfig(cfg), s.snsTopic, notify.SNSOptions{})
		if err != nil {
			return err
		}
		n, err := notify.New(pub, notify.Options{})
		if err != nil {
			return err
		}
		sink = notify.Sink(bucketSink, n)
	}
	sinks := []trail.Sink{sink}
	var logs *cwlogsink.Sink
	if s.logGroup != "" {
		logs, err = cwlogsink.New(cloudwatchlogs.NewFromConfig(cfg), s.logGroup, cwlogsink.Options{})
		if err != nil {
			return err
		}
		sinks = append(sinks, logs)
	}

	start := time.Now().UTC().Truncate(time.Second)
	var (
		mu       sync.Mutex
		failures []error
	)
	rec, err := trail.New(trail.Config{
		AccountID: s.account, Region: cfg.Region,
		OnError: func(err error) { mu.Lock(); failures = append(failures, err); mu.Unlock() },
		Trails: []trail.Trail{{
			Name: s.trailName, Bucket: s.bucket, Prefix: s.prefix, Interval: s.interval, Sinks: sinks,
			Validation: &trail.Validation{Signer: key, Period: s.digestPeriod},
		}},
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "recording %d events over %s into s3://%s/%s (region %s)...\n", s.events, s.span, s.bucket, s.prefix, cfg.Region)
	pace := s.span / time.Duration(max(s.events, 1))
	for i := range s.events {
		if err := rec.Record(ctx, event(i)); err != nil {
			_ = rec.Close(context.Background())
			return fmt.Errorf("record event %d: %w", i, err)
		}
		select {
		case <-time.After(pace):
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
	}
	cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := rec.Close(cctx); err != nil {
		return err
	}
	st := rec.Stats()
	fmt.Fprintf(out, "delivered %d log files (%d bytes gzip'd) and %d digests", st.FilesDelivered, st.BytesDelivered, st.DigestsDelivered)
	if logs != nil {
		ls := logs.Stats()
		fmt.Fprintf(out, "; %d events in %d PutLogEvents calls to %s", ls.Events, ls.Calls, s.logGroup)
	}
	fmt.Fprintln(out)
	if st.FilesFailed > 0 || st.DigestsFailed > 0 {
		mu.Lock()
		defer mu.Unlock()
		return fmt.Errorf("%d log files and %d digests could not be delivered: %w", st.FilesFailed, st.DigestsFailed, errors.Join(failures...))
	}
	end := time.Now().UTC().Add(time.Second).Truncate(time.Second)
	arn := "arn:aws:cloudtrail:" + cfg.Region + ":" + s.account + ":trail/" + s.trailName
	fmt.Fprintf(out, "\ncheck it with the AWS CLI verifier (apt-get install -y awscli; the harness serves DescribeTrails/ListPublicKeys on loopback):\n")
	fmt.Fprintf(out, "  internal/ctoracle/validate_logs.py --bucket %s --trail-arn %s --public-key %s --start-time %s --end-time %s --min-digests 1",
		s.bucket, arn, s.publicKeyOut, start.Format(trail.TimeFormat), end.Format(trail.TimeFormat))
	if s.prefix != "" {
		fmt.Fprintf(out, " --prefix %s", s.prefix)
	}
	if s.endpoint != "" {
		fmt.Fprintf(out, " --s3-endpoint %s", s.endpoint)
	}
	fmt.Fprintln(out)
	return nil
}

// ensureBucket creates the bucket unless it exists.
func ensureBucket(ctx context.Context, c *s3.Client, bucket string) error {
	if _, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &bucket}); err == nil {
		return nil
	}
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &bucket}); err != nil {
		return fmt.Errorf("create bucket %s: %w", bucket, err)
	}
	return nil
}

// signingKey reads an RSA private key from a PEM file, or generates one.
func signingKey(path string) (*rsa.PrivateKey, error) {
	if path == "" {
		return rsa.GenerateKey(rand.Reader, 2048)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	k, err := trail.ParseSigningKeyPEM(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

var operations = []struct {
	name     string
	readOnly bool
}{{"CreateOrder", false}, {"GetOrder", true}, {"ListOrders", true}, {"CancelOrder", false}}

func event(i int) *trail.Event {
	op := operations[i%len(operations)]
	return &trail.Event{
		EventSource:       "orders.example.com",
		EventName:         op.name,
		ReadOnly:          trail.Bool(op.readOnly),
		SourceIPAddress:   "192.0.2.10",
		UserAgent:         "example-s3/1.0",
		UserIdentity:      trail.UserIdentity{Type: "IAMUser", UserName: "alice"},
		RequestParameters: []byte(fmt.Sprintf(`{"orderId":"o-%06d"}`, i)),
	}
}
