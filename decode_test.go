package trail_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailkit/trail"
)

func gz(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	_, err := w.Write(b)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return buf.Bytes()
}

func TestDecodeLogFile(t *testing.T) {
	file := []byte(`{"Records":[{"eventVersion":"1.0","eventSource":"a","eventName":"b","resources":[]},` +
		`{"eventVersion":"1.11","eventSource":"c","eventName":"d","userIdentity":{"accessKeyId":""}}]}`)
	tests := []struct {
		name    string
		in      []byte
		n       int
		notFile bool // the error wraps ErrNotLogFile
	}{
		{"plain", file, 2, false},
		{"gzip", gz(t, file), 2, false},
		{"empty file", []byte(`{"Records":[]}`), 0, false},
		{"not JSON", []byte(`Records`), 0, true},
		{"not an object", []byte(`[1]`), 0, true},
		{"no Records", []byte(`{"records":[]}`), 0, true},
		{"Records null", []byte(`{"Records":null}`), 0, true},
		{"broken gzip", []byte{0x1f, 0x8b, 1, 2}, 0, true},
		{"bad record", []byte(`{"Records":[{"eventTime":"yesterday"}]}`), 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			evs, err := trail.DecodeLogFile(bytes.NewReader(tc.in))
			if tc.notFile {
				require.Error(t, err)
				assert.True(t, errors.Is(err, trail.ErrNotLogFile), err)
				return
			}
			if tc.name == "bad record" {
				require.ErrorContains(t, err, "record 0")
				assert.False(t, errors.Is(err, trail.ErrNotLogFile))
				return
			}
			require.NoError(t, err)
			require.Len(t, evs, tc.n)
			if tc.n == 2 {
				assert.Equal(t, "1.0", evs[0].EventVersion)
				assert.NotNil(t, evs[0].Resources)
				assert.Equal(t, []string{"userIdentity.accessKeyId"}, evs[1].Empty)
			}
		})
	}
}
