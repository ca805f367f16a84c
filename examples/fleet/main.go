// Command fleet is one instance of a fleet of services that share one trail:
// same trail name, bucket, account (111122223333), region (us-east-1) and
// signing key. Every instance delivers its own log files; one digest chain
// covers them all, written by whichever instance holds the fleet's lease
// (trail.Fleet). Start several at once, stagger them, replace them one by
// one, kill them: the chain stays one verifiable chain.
//
//	openssl genrsa -traditional -out key.pem 2048
//	go run ./examples/fleet -instance a -dir ./audit -key key.pem -period 10s -interval 2s -rate 50 -duration 1m &
//	go run ./examples/fleet -instance b -dir ./audit -key key.pem -period 10s -interval 2s -rate 50 -duration 1m &
//
// Against MinIO or S3 (path-style; credentials from AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY):
//
//	go run ./examples/fleet -instance a -s3-endpoint http://127.0.0.1:9000 -bucket audit-bucket -key key.pem
//
// Flags:
//
//	-instance NAME   Config.Instance (default hostname-pid)
//	-dir DIR         deliver to a filesink folder, or
//	-s3-endpoint URL -bucket NAME   to an S3 bucket (bucket default "audit-bucket")
//	-trail NAME      trail name (default "fleet")
//	-key FILE        PEM RSA private key: validation on (fleet digest chain)
//	-period DUR      digest period (default 1h)
//	-interval DUR    batch interval (default 5m)
//	-rate N          events per second (0 = as fast as possible)
//	-duration DUR    record that long, then Close and exit 0 (0 = until SIGTERM)
//	-acks FILE       append each acknowledged eventID (Record returned nil) on its own line
//	-spool DIR       Config.Spool (durable: acknowledged events survive kill -9)
//
// SIGTERM or SIGINT: stop recording, Close (final digest), exit 0.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/trailkit/trail"
	"github.com/trailkit/trail/internal/ids"
	"github.com/trailkit/trail/sink/filesink"
	"github.com/trailkit/trail/sink/s3sink"
)

// The fleet's fixed identity.
const (
	Account       = "111122223333"
	Region        = "us-east-1"
	DefaultBucket = "audit-bucket"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		log.Fatal(err)
	}
}

type settings struct {
	instance, dir, endpoint, bucket, trailName, key, acks, spool string
	period, interval, duration                                   time.Duration
	rate                                                         int
}

func parse(args []string) (*settings, error) {
	s := &settings{}
	fs := flag.NewFlagSet("fleet", flag.ContinueOnError)
	fs.StringVar(&s.instance, "instance", "", "instance name (default hostname-pid)")
	fs.StringVar(&s.dir, "dir", "", "filesink directory")
	fs.StringVar(&s.endpoint, "s3-endpoint", "", "S3 endpoint URL (path-style)")
	fs.StringVar(&s.bucket, "bucket", DefaultBucket, "bucket")
	fs.StringVar(&s.trailName, "trail", "fleet", "trail name")
	fs.StringVar(&s.key, "key", "", "PEM RSA private key (validation on)")
	fs.DurationVar(&s.period, "period", trail.DefaultDigestPeriod, "digest period")
	fs.DurationVar(&s.interval, "interval", trail.DefaultInterval, "batch interval")
	fs.IntVar(&s.rate, "rate", 0, "events per second (0 = flat out)")
	fs.DurationVar(&s.duration, "duration", 0, "record this long, then Close and exit (0 = until SIGTERM)")
	fs.StringVar(&s.acks, "acks", "", "append acknowledged eventIDs to this file")
	fs.StringVar(&s.spool, "spool", "", "spool directory (Config.Spool)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if (s.dir == "") == (s.endpoint == "") {
		return nil, errors.New("set -dir, or -s3-endpoint (with -bucket)")
	}
	if s.rate < 0 {
		return nil, errors.New("-rate must not be negative")
	}
	return s, nil
}

func (s *settings) sink() (trail.Sink, error) {
	if s.dir != "" {
		return filesink.New(s.dir, filesink.Options{}), nil
	}
	c := s3.New(s3.Options{
		Region:       Region,
		BaseEndpoint: aws.String(s.endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"), ""),
	})
	return s3sink.New(c, s.bucket, s3sink.Options{Encryption: s3sink.BucketDefault})
}

// leaseTTL scales the fleet lease with the digest period (short periods in
// tests, CloudTrail's hour in production).
func leaseTTL(period time.Duration) time.Duration {
	return min(max(3*period, 5*time.Second), trail.DefaultLeaseTTL)
}

func run(ctx context.Context, args []string, out io.Writer) error {
	s, err := parse(args)
	if err != nil {
		return err
	}
	sink, err := s.sink()
	if err != nil {
		return err
	}
	t := trail.Trail{Name: s.trailName, Bucket: s.bucket, Sinks: []trail.Sink{sink}, Interval: s.interval}
	if s.key != "" {
		pem, err := os.ReadFile(s.key)
		if err != nil {
			return err
		}
		k, err := trail.ParseSigningKeyPEM(pem)
		if err != nil {
			return err
		}
		t.Validation = &trail.Validation{Signer: k, Period: s.period, Fleet: &trail.Fleet{LeaseTTL: leaseTTL(s.period)}}
	}
	level := slog.LevelInfo
	if os.Getenv("FLEET_DEBUG") != "" {
		level = slog.LevelDebug
	}
	cfg := trail.Config{AccountID: Account, Region: Region, Instance: s.instance, AuditSource: "-",
		Logger:  slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})),
		History: trail.NoHistory, Trails: []trail.Trail{t},
		OnError: func(err error) { fmt.Fprintf(os.Stderr, "fleet %s: %v\n", s.instance, err) }}
	if err := setSpool(&cfg, s.spool); err != nil {
		return err
	}
	rec, err := trail.New(cfg)
	if err != nil {
		return err
	}
	var acks *bufio.Writer
	if s.acks != "" {
		f, err := os.OpenFile(s.acks, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			rec.Close(context.Background())
			return err
		}
		defer f.Close()
		acks = bufio.NewWriter(f)
		defer acks.Flush()
	}
	n, recErr := record(ctx, rec, s, acks)
	cctx, cancel := context.WithTimeout(context.Background(), 2*leaseTTL(s.period)+time.Minute)
	defer cancel()
	if err := rec.Close(cctx); err != nil {
		return fmt.Errorf("close: %w", err)
	}
	fmt.Fprintf(out, "instance %s: %d events recorded; %s\n", s.instance, n, rec.Stats())
	return recErr
}

// record records events at the configured rate until the duration has
// passed or ctx ends; each acknowledged eventID goes to acks.
func record(ctx context.Context, rec *trail.Recorder, s *settings, acks *bufio.Writer) (int, error) {
	if s.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.duration)
		defer cancel()
	}
	var tick <-chan time.Time
	if s.rate > 0 {
		tk := time.NewTicker(time.Second / time.Duration(s.rate))
		defer tk.Stop()
		tick = tk.C
	}
	flushed := time.Now()
	n := 0
	for {
		if tick != nil {
			select {
			case <-ctx.Done():
				return n, nil
			case <-tick:
			}
		} else if ctx.Err() != nil {
			return n, nil
		}
		id := ids.New()
		err := rec.Record(ctx, &trail.Event{EventID: id, EventSource: "orders.example.com", EventName: "CreateOrder",
			RequestParameters: []byte(fmt.Sprintf(`{"instance":%q,"n":%d}`, s.instance, n))})
		if err != nil {
			if ctx.Err() != nil {
				return n, nil
			}
			return n, fmt.Errorf("record: %w", err)
		}
		n++
		if acks != nil {
			acks.WriteString(id)
			acks.WriteByte('\n')
			if time.Since(flushed) > 20*time.Millisecond {
				if err := acks.Flush(); err != nil {
					return n, err
				}
				flushed = time.Now()
			}
		}
	}
}
