// Package ctoracle locates the harness that runs the real
// `aws cloudtrail validate-logs` over local files
// (../shared/ct-oracle/validate_logs.sh beside the repository) for the
// interoperability tests.
package ctoracle

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// AWSCLI is where Debian's awscli package installs the AWS CLI.
const AWSCLI = "/usr/bin/aws"

// Find returns the harness script, or "" and why it cannot be used.
func Find() (script, why string) {
	if _, err := os.Stat(AWSCLI); err != nil {
		return "", AWSCLI + " (Debian awscli) is not installed; .ci/run installs it"
	}
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", "cannot locate the module"
	}
	// internal/ctoracle/ctoracle.go -> repository root -> ../shared
	script = filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", "ct-oracle", "validate_logs.sh")
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
