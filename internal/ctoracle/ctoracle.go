// Package ctoracle runs the real `aws cloudtrail validate-logs` (Debian's
// awscli) over local files for the interoperability tests.
//
// The harness is validate_logs.py in this directory: it serves loopback-only
// stand-ins for CloudTrail (DescribeTrails, ListPublicKeys), Organizations
// (DescribeOrganization) and S3 (a directory, with x-amz-meta-* read from
// "<key>.metadata.json" sidecars) from threads of the verifier's own process,
// and points the verifier at them. Run it with --help for its options and
// exit codes. From the repository root:
//
//	internal/ctoracle/validate_logs.py --dir OUT --bucket audit-bucket \
//	    --trail-arn arn:aws:cloudtrail:us-east-1:111122223333:trail/main \
//	    --public-key pub.pem --start-time 2026-01-01T00:00:00Z --min-digests 1
package ctoracle

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// AWSCLI is where Debian's awscli package installs the AWS CLI.
const AWSCLI = "/usr/bin/aws"

// Install is the command that installs what the harness needs.
const Install = "apt-get install -y awscli"

// Find returns the harness script, or "" and why it cannot be used.
func Find() (script, why string) {
	if _, err := os.Stat(AWSCLI); err != nil {
		return "", AWSCLI + " (Debian awscli) is not installed; install it with: " + Install
	}
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", "cannot locate the harness"
	}
	script = filepath.Join(filepath.Dir(file), "validate_logs.py")
	if _, err := os.Stat(script); err != nil {
		return "", "AWS verifier harness not found at " + script
	}
	return script, ""
}

// Script returns the harness script, or skips the test with the reason;
// under CI (CI=true) a missing harness fails the test instead, so that CI
// never silently skips the AWS verifier.
func Script(t testing.TB) string {
	t.Helper()
	script, why := Find()
	if script == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("the AWS verifier is required in CI: " + why)
		}
		t.Skip("skipping: " + why)
	}
	return script
}
