// Package miniotest finds the MinIO server that .ci/minio.sh starts for
// the S3 integration tests (TRAIL_TEST_S3_ENDPOINT and its credentials).
package miniotest

import (
	"os"
	"testing"
)

// Server is a running MinIO server: its endpoint and root credentials.
type Server struct {
	Endpoint  string // http://127.0.0.1:PORT
	AccessKey string
	SecretKey string
}

// Require returns the server .ci/minio.sh started, or skips the test with
// the command that runs pkg's tests against one (pkg as in
// "./sink/s3sink/"). Under CI=true it fails the test instead: .ci/run must
// start the server, so CI never skips these tests silently.
func Require(t testing.TB, pkg string) Server {
	t.Helper()
	s := Server{
		Endpoint:  os.Getenv("TRAIL_TEST_S3_ENDPOINT"),
		AccessKey: os.Getenv("TRAIL_TEST_S3_ACCESS_KEY"),
		SecretKey: os.Getenv("TRAIL_TEST_S3_SECRET_KEY"),
	}
	if s.Endpoint == "" {
		msg := "TRAIL_TEST_S3_ENDPOINT is not set: no MinIO server to test against; run `bash .ci/minio.sh run -- go test " + pkg + "`"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg + " — .ci/run must start it")
		}
		t.Skip("skipping: " + msg)
	}
	if s.AccessKey == "" {
		s.AccessKey, s.SecretKey = "minioadmin", "minioadmin"
	}
	return s
}
