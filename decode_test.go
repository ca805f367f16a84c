package trail_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailkit/trail"
	"github.com/trailkit/trail/internal/gztest"
	"github.com/trailkit/trail/sink/memsink"
)

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
		{"gzip", gztest.Gzip(t, file), 2, false},
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

// TestEventVersions: Record accepts every eventVersion AWS has written and
// later 1.x ones, and keeps it as given.
func TestEventVersions(t *testing.T) {
	sink := memsink.New()
	rec := newRecorder(t, trail.Config{Trails: []trail.Trail{{Name: "versions", Sinks: []trail.Sink{sink}}}})
	ctx := context.Background()
	for _, v := range []string{"1.0", "1.01", "1.02", "1.03", "1.04", "1.05", "1.06", "1.07", "1.08", "1.09", "1.10", "1.11", "1.12", "1.100"} {
		t.Run("accept "+v, func(t *testing.T) {
			require.NoError(t, rec.Record(ctx, &trail.Event{EventVersion: v, EventSource: "a.example.com", EventName: v}))
		})
	}
	for _, v := range []string{"2.0", "1.", "1.1234", "01.05", "1.0a", "latest", " 1.05"} {
		t.Run("refuse "+v, func(t *testing.T) {
			var ve *trail.ValidationError
			require.ErrorAs(t, rec.Record(ctx, &trail.Event{EventVersion: v, EventSource: "a.example.com", EventName: "x"}), &ve)
			assert.Equal(t, "eventVersion", ve.Field)
		})
	}
	require.NoError(t, rec.Flush(ctx))
	for _, ev := range sink.Events() {
		assert.Equal(t, ev.EventName, ev.EventVersion)
	}
	assert.Len(t, sink.Events(), 14)
}

// TestInsightsSelection: only trails with a matching InsightSelector take
// Insights events, in CloudTrail-Insight/ files; Record stamps eventCategory
// Insight and no managementEvent.
func TestInsightsSelection(t *testing.T) {
	callRate, errorRate, plain := memsink.New(), memsink.New(), memsink.New()
	rec := newRecorder(t, trail.Config{Trails: []trail.Trail{
		{Name: "call-rate", InsightSelectors: []trail.InsightSelector{{InsightType: trail.InsightTypeAPICallRate}}, Sinks: []trail.Sink{callRate}},
		{Name: "error-rate", InsightSelectors: []trail.InsightSelector{{InsightType: trail.InsightTypeAPIErrorRate, EventCategories: []string{"Management"}}}, Sinks: []trail.Sink{errorRate}},
		{Name: "no-insights", Sinks: []trail.Sink{plain}},
	}})
	ctx := context.Background()
	ins := func(typ string) *trail.Event {
		return &trail.Event{EventType: trail.EventTypeInsight, InsightDetails: &trail.InsightDetails{State: "Start",
			EventSource: "ec2.amazonaws.com", EventName: "RunInstances", InsightType: typ, InsightContext: []byte(`{"statistics":{}}`)}}
	}
	require.NoError(t, rec.Record(ctx, ins(trail.InsightTypeAPICallRate)))
	require.NoError(t, rec.Record(ctx, ins(trail.InsightTypeAPIErrorRate)))
	require.NoError(t, rec.Flush(ctx))
	for _, tc := range []struct {
		sink *memsink.Sink
		want string
	}{{callRate, trail.InsightTypeAPICallRate}, {errorRate, trail.InsightTypeAPIErrorRate}, {plain, ""}} {
		evs := tc.sink.Events()
		if tc.want == "" {
			assert.Empty(t, evs)
			continue
		}
		require.Len(t, evs, 1)
		assert.Equal(t, tc.want, evs[0].InsightDetails.InsightType)
		assert.Equal(t, trail.CategoryInsight, evs[0].EventCategory)
		assert.Nil(t, evs[0].ManagementEvent)
		assert.Empty(t, evs[0].EventSource)
		for _, k := range tc.sink.Keys() {
			assert.Contains(t, k, "/CloudTrail-Insight/us-east-1/")
			assert.Contains(t, k, "_CloudTrail-Insight_us-east-1_")
		}
	}

	bad := []struct {
		name  string
		ev    *trail.Event
		field string
	}{
		{"no insightDetails", &trail.Event{EventType: trail.EventTypeInsight}, "insightDetails"},
		{"bad state", func() *trail.Event {
			e := ins(trail.InsightTypeAPICallRate)
			e.InsightDetails.State = "Middle"
			return e
		}(), "insightDetails.state"},
		{"insightContext not an object", func() *trail.Event {
			e := ins(trail.InsightTypeAPICallRate)
			e.InsightDetails.InsightContext = []byte(`[1]`)
			return e
		}(), "insightDetails.insightContext"},
		{"category Management", func() *trail.Event { e := ins(trail.InsightTypeAPICallRate); e.EventCategory = "Management"; return e }(), "eventCategory"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			var ve *trail.ValidationError
			require.ErrorAs(t, rec.Record(ctx, tc.ev), &ve)
			assert.Equal(t, tc.field, ve.Field)
		})
	}

	_, err := trail.New(trail.Config{AccountID: "111122223333", Region: "us-east-1", Trails: []trail.Trail{{Name: "bad-insights",
		InsightSelectors: []trail.InsightSelector{{InsightType: "ApiLatencyInsight"}}, Sinks: []trail.Sink{memsink.New()}}}})
	require.ErrorIs(t, err, trail.ErrInvalidConfig)
}

// TestExtraMemberNames: members Event has no field for survive decode →
// AppendJSON whatever their name, including names that hold the path
// syntax's '.', '[' and '\' (they must not land in another object), and
// Extra paths are what ExtraField documents.
func TestExtraMemberNames(t *testing.T) {
	tests := []struct {
		name, record string
		path         string // of the one Extra member
	}{
		{"plain top-level", `{"eventName":"X","newField":1}`, "newField"},
		{"dot names a known object", `{"eventName":"X","userIdentity.type":"Root"}`, `userIdentity\.type`},
		{"dot inside userIdentity", `{"eventName":"X","userIdentity":{"type":"Root","sessionContext.x":1}}`, `userIdentity.sessionContext\.x`},
		{"bracket names resources", `{"eventName":"X","resources[0].ARN":"a","resources":[{"ARN":"b"}]}`, `resources\[0]\.ARN`},
		{"dot inside a resource", `{"eventName":"X","resources":[{"ARN":"b","a.b":true}]}`, `resources[0].a\.b`},
		{"backslash", `{"eventName":"X","tlsDetails":{"a\\.b":"v"}}`, `tlsDetails.a\\\.b`},
		{"trailing backslash", `{"eventName":"X","addendum\\":[]}`, `addendum\\`},
		{"only a dot", `{"eventName":"X",".":null}`, `\.`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var ev trail.Event
			require.NoError(t, json.Unmarshal([]byte(tc.record), &ev))
			require.Len(t, ev.Extra, 1)
			assert.Equal(t, tc.path, ev.Extra[0].Path)
			assert.JSONEq(t, tc.record, string(trimRequestNulls(t, ev.AppendJSON(nil))))

			// Through Record into a delivered file, the member is the same.
			sink := memsink.New()
			rec := newRecorder(t, trail.Config{Trails: []trail.Trail{{Name: "names", Bucket: "names-bucket", Sinks: []trail.Sink{sink}}}})
			ev.EventSource = "orders.example.com"
			require.NoError(t, rec.Record(context.Background(), &ev))
			require.NoError(t, rec.Flush(context.Background()))
			files := sink.Files()
			require.Len(t, files, 1)
			evs, err := trail.DecodeLogFile(bytes.NewReader(files[0].Body))
			require.NoError(t, err)
			require.Len(t, evs, 1)
			assert.Equal(t, ev.Extra, evs[0].Extra)
		})
	}
}

// trimRequestNulls drops the "requestParameters":null and
// "responseElements":null AppendJSON writes for an API call that lacks them.
func trimRequestNulls(t *testing.T, b []byte) []byte {
	t.Helper()
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(b, &m))
	for _, k := range []string{"requestParameters", "responseElements"} {
		if string(m[k]) == "null" {
			delete(m, k)
		}
	}
	out, err := json.Marshal(m)
	require.NoError(t, err)
	return out
}
