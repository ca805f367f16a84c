package trailui

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestContainsStream finds a needle however the reads split it.
func TestContainsStream(t *testing.T) {
	needle := []byte(`"eventID":"0f8fad5b-d9cb-469f-a165-70867728950e"`)
	for _, tc := range []struct {
		name  string
		body  string
		limit int64
		found bool
	}{
		{"at the start", string(needle) + "xyz", 1 << 20, true},
		{"at the end", strings.Repeat("x", 1000) + string(needle), 1 << 20, true},
		{"absent", strings.Repeat("x", 1000) + string(needle[:len(needle)-1]), 1 << 20, false},
		{"a near miss repeated", strings.Repeat(string(needle[:20]), 100), 1 << 20, false},
		{"past the limit", strings.Repeat("x", 5000) + string(needle), 1000, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for name, r := range map[string]io.Reader{
				"whole":    bytes.NewReader([]byte(tc.body)),
				"one byte": iotest.OneByteReader(bytes.NewReader([]byte(tc.body))),
				"half":     iotest.HalfReader(bytes.NewReader([]byte(tc.body))),
			} {
				found, _, err := containsStream(r, needle, tc.limit)
				require.NoError(t, err, name)
				assert.Equal(t, tc.found, found, name)
			}
		})
	}
	// Every split of the needle between two reads.
	body := []byte(strings.Repeat("y", 300) + string(needle) + strings.Repeat("z", 300))
	for cut := 300; cut <= 300+len(needle); cut++ {
		r := &twoReads{a: body[:cut], b: body[cut:]}
		found, n, err := containsStream(r, needle, 1<<20)
		require.NoError(t, err)
		assert.True(t, found, "cut at %d", cut)
		assert.LessOrEqual(t, n, int64(len(body)))
	}
}

// twoReads returns a, then b, then EOF.
type twoReads struct{ a, b []byte }

func (r *twoReads) Read(p []byte) (int, error) {
	switch {
	case len(r.a) > 0:
		n := copy(p, r.a)
		r.a = r.a[n:]
		return n, nil
	case len(r.b) > 0:
		n := copy(p, r.b)
		r.b = r.b[n:]
		return n, nil
	}
	return 0, io.EOF
}
