// Package mototest finds the moto_server that .ci/moto.sh starts for the
// integration tests against an independent implementation of CloudWatch
// Logs, SNS and SQS (TRAIL_TEST_MOTO_ENDPOINT), and gives tests an
// aws.Config for it and unique resource names.
//
// moto_server keeps one in-memory state for every client, and `go test
// ./...` runs packages in parallel against the one server .ci/run starts:
// tests must name their log groups, topics and queues with Name, never
// reset the server, and never assume they are alone in it.
package mototest

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Identity of the requests: moto's default account, any credentials.
const (
	// AccountID is the account moto puts resources in (its default).
	AccountID = "123456789012"
	// Region is the region the tests use.
	Region = "us-east-1"
	// AccessKey and SecretKey sign the requests; moto accepts any.
	AccessKey = "testing"
	SecretKey = "testing"
	// EnvEndpoint names the environment variable .ci/moto.sh exports.
	EnvEndpoint = "TRAIL_TEST_MOTO_ENDPOINT"
)

// Server is a running moto_server.
type Server struct {
	Endpoint string // http://127.0.0.1:PORT
}

// Require returns the server .ci/moto.sh started, or skips the test with
// the command that runs pkg's tests against one (pkg as in
// "./sink/cwlogsink/..."). Under CI=true it fails the test instead:
// .ci/run starts the server, so CI never skips these tests silently.
func Require(t testing.TB, pkg string) Server {
	t.Helper()
	s := Server{Endpoint: os.Getenv(EnvEndpoint)}
	if s.Endpoint == "" {
		msg := EnvEndpoint + " is not set: no moto_server to test against; run `bash .ci/moto.sh run -- go test " + pkg + "`"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg + " — .ci/run must start it")
		}
		t.Skip("skipping: " + msg)
	}
	return s
}

// Config returns an aws.Config for the server: its endpoint, Region, static
// credentials and a retryer with the SDK's standard rules and attempts
// (maxAttempts 0 keeps the default of 3) but millisecond back-offs and no
// retry quota, so that tests of retries stay fast.
func (s Server) Config(maxAttempts int) aws.Config {
	return aws.Config{
		Region:       Region,
		BaseEndpoint: aws.String(s.Endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider(AccessKey, SecretKey, ""),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxBackoff = 2 * time.Millisecond
				o.RateLimiter = ratelimit.None
				if maxAttempts > 0 {
					o.MaxAttempts = maxAttempts
				}
			})
		},
	}
}

// Name returns a resource name unique to this test run: prefix, the test's
// name reduced to letters, digits, '-' and '_', and 8 random hex digits;
// at most 72 characters, valid as a log group, SNS topic or SQS queue name
// also with a ".fifo" suffix (SQS allows 80).
func Name(t testing.TB, prefix string) string {
	t.Helper()
	var b strings.Builder
	for _, r := range t.Name() {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	name := b.String()
	if room := 72 - len(prefix) - 1 - 1 - 8; len(name) > room {
		name = name[len(name)-room:]
	}
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	return prefix + "-" + name + "-" + hex.EncodeToString(rnd[:])
}
