package cwlogsink

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEventTime(t *testing.T) {
	want := time.Date(2026, 3, 1, 10, 7, 31, 0, time.UTC)
	tests := []struct {
		name string
		rec  string
		ok   bool
	}{
		{"compact", `{"eventVersion":"1.11","userIdentity":{"type":"IAMUser"},"eventTime":"2026-03-01T10:07:31Z","eventName":"X"}`, true},
		{"nested key first", `{"requestParameters":{"eventTime":"1999-01-01T00:00:00Z","a":[1,{"b":"}"}]},"eventTime":"2026-03-01T10:07:31Z"}`, true},
		{"escaped quotes", `{"userAgent":"a \"quoted\" \\ agent","eventTime":"2026-03-01T10:07:31Z"}`, true},
		{"white space", "{ \"readOnly\" : true ,\n \"n\": -1.5e3, \"x\": null, \"eventTime\" : \"2026-03-01T10:07:31Z\" }", true},
		{"only nested", `{"requestParameters":{"eventTime":"2026-03-01T10:07:31Z"}}`, false},
		{"not a time", `{"eventTime":"yesterday"}`, false},
		{"not an object", `["eventTime","2026-03-01T10:07:31Z"]`, false},
		{"truncated", `{"eventTime":"2026-03-01T10:07:31Z`, false},
		{"empty", ``, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := eventTime([]byte(tt.rec))
			require.Equal(t, tt.ok, ok)
			if ok {
				assert.True(t, want.Equal(got), "got %s", got)
			}
		})
	}
}

func TestSplitBoundaries(t *testing.T) {
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	mk := func(n, msgLen int, step time.Duration) []event {
		evs := make([]event, n)
		for i := range evs {
			evs[i] = event{record: i, ts: base + int64(i)*step.Milliseconds(), msg: strings.Repeat("x", msgLen)}
		}
		return evs
	}
	sizes := func(bs [][]event) []int {
		var out []int
		for _, b := range bs {
			out = append(out, len(b))
		}
		return out
	}
	tests := []struct {
		name string
		evs  []event
		want []int
	}{
		{"empty", nil, nil},
		{"10000 events fit one call", mk(10000, 10, time.Millisecond), []int{10000}},
		{"10001 events need two", mk(10001, 10, time.Millisecond), []int{10000, 1}},
		{"exactly 1048576 bytes fit", mk(16, 65536-EventOverhead, time.Second), []int{16}},
		{"one byte more needs two", append(mk(16, 65536-EventOverhead, time.Second), event{record: 16, ts: base + 20000, msg: "x"}), []int{16, 1}},
		{"span of exactly 24h fits", mk(2, 10, 24*time.Hour), []int{2}},
		{"span above 24h splits", mk(3, 10, 12*time.Hour+time.Millisecond), []int{2, 1}},
		{"48 hours hourly", mk(49, 10, time.Hour), []int{25, 24}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := split(tt.evs)
			assert.Equal(t, tt.want, sizes(got))
			for _, b := range got {
				bytes := 0
				for _, ev := range b {
					bytes += ev.size()
				}
				assert.LessOrEqual(t, bytes, MaxBatchBytes)
				assert.LessOrEqual(t, len(b), MaxBatchEvents)
				assert.LessOrEqual(t, time.Duration(b[len(b)-1].ts-b[0].ts)*time.Millisecond, MaxBatchSpan)
			}
		})
	}
}

func TestOrgFromKey(t *testing.T) {
	tests := []struct{ key, want string }{
		{"AWSLogs/111122223333/CloudTrail/us-east-1/2026/01/02/f.json.gz", ""},
		{"AWSLogs/o-exampleorg1/111122223333/CloudTrail/us-east-1/2026/01/02/f.json.gz", "o-exampleorg1"},
		{"o-exampleorg1/AWSLogs/o-exampleorg1/111122223333/CloudTrail/us-east-1/2026/01/02/f.json.gz", "o-exampleorg1"},
		{"team/AWSLogs/111122223333/CloudTrail/us-east-1/2026/01/02/f.json.gz", ""},
		{"o-exampleorg1/AWSLogs/111122223333/CloudTrail/us-east-1/2026/01/02/f.json.gz", ""},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, orgFromKey(tt.key, "111122223333", "us-east-1"), tt.key)
	}
}
