package gztest_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"testing"

	"github.com/trailkit/trail/internal/gztest"
)

func TestGzipRoundTrip(t *testing.T) {
	for _, in := range [][]byte{nil, []byte(`{"Records":[]}`), bytes.Repeat([]byte("x"), 1<<16)} {
		r, err := gzip.NewReader(bytes.NewReader(gztest.Gzip(t, in)))
		if err != nil {
			t.Fatal(err)
		}
		out, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out, in) {
			t.Fatalf("round trip of %d bytes gave %d bytes", len(in), len(out))
		}
	}
}
