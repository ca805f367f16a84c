package ctoracle

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestHarnessUsage checks the harness's own argument handling: --help
// documents the installation command and exit codes, and bad usage exits 2
// with a message naming the missing piece. It needs only /usr/bin/python3.
func TestHarnessUsage(t *testing.T) {
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		t.Skip("skipping: /usr/bin/python3 is missing; install it with: apt-get install -y python3")
	}
	script := "./validate_logs.py"
	dir := t.TempDir()
	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     string
	}{
		{"help", []string{"--help"}, 0, Install},
		{"no bucket", []string{"--trail-arn", "arn:aws:cloudtrail:us-east-1:111122223333:trail/t"}, 2, "--bucket is required"},
		{"bad arn", []string{"--bucket", "b", "--start-time", "2026-01-01T00:00:00Z", "--public-key", "k.pem", "--trail-arn", "nope"}, 2, "--trail-arn is required"},
		{"no dir", []string{"--bucket", "b", "--start-time", "2026-01-01T00:00:00Z", "--public-key", "k.pem",
			"--trail-arn", "arn:aws:cloudtrail:us-east-1:111122223333:trail/t", "--dir", filepath.Join(dir, "absent")}, 2, "--dir must be a directory"},
		{"remote s3", []string{"--bucket", "b", "--start-time", "2026-01-01T00:00:00Z", "--public-key", "k.pem",
			"--trail-arn", "arn:aws:cloudtrail:us-east-1:111122223333:trail/t", "--s3-endpoint", "https://s3.amazonaws.com"}, 2, "loopback"},
		{"unknown flag", []string{"--bogus"}, 2, "unrecognized arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := exec.Command(script, tt.args...).CombinedOutput()
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tt.wantCode || !strings.Contains(string(out), tt.want) {
				t.Fatalf("exit %d, want %d with %q; output:\n%s", code, tt.wantCode, tt.want, out)
			}
		})
	}
}

// TestFind reports the in-repository harness when the AWS CLI is installed,
// and otherwise the command that installs it.
func TestFind(t *testing.T) {
	script, why := Find()
	if _, err := os.Stat(AWSCLI); err != nil {
		if script != "" || !strings.Contains(why, Install) {
			t.Fatalf("Find() = %q, %q; want no script and the install command", script, why)
		}
		return
	}
	if why != "" || filepath.Base(script) != "validate_logs.py" {
		t.Fatalf("Find() = %q, %q", script, why)
	}
	if strings.Contains(script, "shared") {
		t.Fatalf("harness %s is outside the repository", script)
	}
}
