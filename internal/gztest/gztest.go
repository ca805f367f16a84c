// Package gztest gzips test data: log files and digests as a bucket holds
// them.
package gztest

import (
	"bytes"
	"compress/gzip"
	"testing"
)

// Gzip returns b gzip'd at the default level; it fails the test if
// compressing fails.
func Gzip(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write(b); err != nil {
		t.Fatalf("gzip: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("gzip: %v", err)
	}
	return buf.Bytes()
}
