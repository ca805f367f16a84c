package trail_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailkit/trail"
	"github.com/trailkit/trail/sink/cwlogsink"
	"github.com/trailkit/trail/sink/memsink"
)

// hostileBuckets are bucket names that must never reach a key, a digest or
// a file path.
var hostileBuckets = []string{
	"../../etc", "..", "a/b", "/abs", "/etc/passwd", "a\x00b", "bucket\x00", `a\b`,
	"ab", strings.Repeat("a", 64), "Upper", "bucket_name", "-bucket", "bucket-", ".bucket", "bucket.",
	"a..b", "192.168.1.1", "xn--bucket", "sthree-bucket", "amzn-s3-demo-bucket", "bucket-s3alias",
	"bucket--ol-s3", "bucket.mrap", "bucket--x-s3", "bucket--table-s3", "bück", "bucket\n", "a b c",
}

func TestValidateBucketName(t *testing.T) {
	for _, name := range hostileBuckets {
		assert.Error(t, trail.ValidateBucketName(name), "%q", name)
	}
	for _, name := range []string{"abc", "audit-bucket", "my.bucket.1", "1bucket", strings.Repeat("a", 63), "a-b.c-d", "192.168.1.1x"} {
		assert.NoError(t, trail.ValidateBucketName(name), "%q", name)
	}
}

// TestHostileKeyParts: bucket names and prefixes that could steer a key are
// refused where they enter: Config (New), CreateTrail and UpdateTrail.
func TestHostileKeyParts(t *testing.T) {
	type part struct {
		bucket, prefix string
		code           *trail.TrailError
	}
	var cases []part
	for _, b := range hostileBuckets {
		cases = append(cases, part{bucket: b, code: trail.ErrInvalidS3BucketName})
	}
	for _, p := range []string{"../x", "a/../../b", "/abs", "x/", "a//b", ".", "a/./b", "a\x00b", "a\\b", "bad\xffutf8", "a\nb", strings.Repeat("p", 201)} {
		cases = append(cases, part{bucket: "audit-bucket", prefix: p, code: trail.ErrInvalidS3Prefix})
	}
	ctx := context.Background()
	for _, tc := range cases {
		t.Run(strings.ToValidUTF8(tc.bucket+"|"+tc.prefix, "?"), func(t *testing.T) {
			bad := trail.Trail{Name: "main", Bucket: tc.bucket, Prefix: tc.prefix, Sinks: []trail.Sink{memsink.New()}}
			_, err := trail.New(trail.Config{AccountID: testAccount, Region: testRegion, Trails: []trail.Trail{bad}})
			require.ErrorIs(t, err, trail.ErrInvalidConfig)

			rec := newRecorder(t, trail.Config{Trails: []trail.Trail{{Name: "good", Bucket: "audit-bucket", Sinks: []trail.Sink{memsink.New()}}}})
			bad.Name = "other"
			_, err = rec.CreateTrail(ctx, bad)
			require.ErrorIs(t, err, tc.code)
			bad.Name = "good"
			_, err = rec.UpdateTrail(ctx, bad)
			require.ErrorIs(t, err, tc.code)
			info, err := rec.GetTrail(ctx, "good")
			require.NoError(t, err)
			assert.Equal(t, "audit-bucket", info.Bucket, "the refused update changed nothing")
		})
	}
}

// TestRawFieldsMustBeUTF8JSON: a raw JSON field with invalid UTF-8 or a lone
// surrogate escape is refused with a *ValidationError naming the field (not
// repaired: the record must be what the caller gave), and the refusal costs
// no other event.
func TestRawFieldsMustBeUTF8JSON(t *testing.T) {
	set := map[string]func(e *trail.Event, raw json.RawMessage){
		"requestParameters":              func(e *trail.Event, raw json.RawMessage) { e.RequestParameters = raw },
		"responseElements":               func(e *trail.Event, raw json.RawMessage) { e.ResponseElements = raw },
		"additionalEventData":            func(e *trail.Event, raw json.RawMessage) { e.AdditionalEventData = raw },
		"serviceEventDetails":            func(e *trail.Event, raw json.RawMessage) { e.ServiceEventDetails = raw },
		"edgeDeviceDetails":              func(e *trail.Event, raw json.RawMessage) { e.EdgeDeviceDetails = raw },
		"userIdentity.inScopeOf":         func(e *trail.Event, raw json.RawMessage) { e.UserIdentity.InScopeOf = raw },
		"userIdentity.invokedByDelegate": func(e *trail.Event, raw json.RawMessage) { e.UserIdentity.InvokedByDelegate = raw },
		"userIdentity.sessionContext.webIdFederationData.attributes": func(e *trail.Event, raw json.RawMessage) {
			e.UserIdentity.SessionContext = &trail.SessionContext{WebIDFederationData: &trail.WebIDFederationData{Attributes: raw}}
		},
	}
	bad := map[string]string{
		"invalid byte in a string": `{"name":"a` + "\xff" + `b"}`,
		"invalid byte in a key":    `{"n` + "\xc3" + `":1}`,
		"overlong encoding":        `{"k":"` + "\xc0\xaf" + `"}`,
		"encoded surrogate":        `{"k":"` + "\xed\xa0\x80" + `"}`,
		"lone high surrogate":      `{"k":"\ud800"}`,
		"lone low surrogate":       `{"k":"x\udc00y"}`,
		"high then non-low":        `{"k":"\ud83d\u0041"}`,
		"high at the end":          `{"k":"\uD800"}`,
	}
	good := map[string]string{
		"pair":               `{"k":"\ud83d\ude00"}`,
		"escaped backslash":  `{"k":"\\ud800"}`,
		"plain UTF-8":        `{"k":"grüße ✓"}`,
		"null escape (JSON)": `{"k":"a\u0000b"}`,
	}
	ctx := context.Background()
	for field, setf := range set {
		t.Run(field, func(t *testing.T) {
			mem := memsink.New()
			rec := newRecorder(t, trail.Config{Trails: []trail.Trail{{Name: "main", Sinks: []trail.Sink{mem}}}})
			for name, raw := range bad {
				e := mkEvent("Bad")
				setf(e, json.RawMessage(raw))
				err := rec.Record(ctx, e)
				var ve *trail.ValidationError
				require.ErrorAs(t, err, &ve, name)
				assert.Equal(t, field, ve.Field, name)
			}
			for name, raw := range good {
				e := mkEvent("Good")
				setf(e, json.RawMessage(raw))
				require.NoError(t, rec.Record(ctx, e), name)
			}
			require.NoError(t, rec.Flush(ctx))
			n := 0
			for _, f := range mem.Files() {
				require.True(t, json.Valid(f.JSON))
				for _, r := range f.Records {
					assert.NotContains(t, string(r), `"Bad"`)
					n++
				}
			}
			assert.Equal(t, len(good), n, "every good event kept")
		})
	}
}

// TestMaxEventSizeOnEncodedRecord: the limit is on the encoded record (plus
// CloudWatch Logs' 26 bytes of overhead), exactly: an event encoding to the
// limit is accepted and cwlogsink keeps it; one byte more is refused.
// Escaping counts: strings of control characters encode to 6 bytes each.
func TestMaxEventSizeOnEncodedRecord(t *testing.T) {
	require.Equal(t, cwlogsink.EventOverhead, trail.EventSizeOverhead)
	require.Equal(t, cwlogsink.CloudTrailMaxEventSize, trail.MaxEventSize)
	base := func() *trail.Event {
		e := mkEvent("Big")
		e.EventID = "0b3a2f47-1a1e-4c59-9a62-2e0c8f0e4b11"
		e.EventTime = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		e.AWSRegion, e.RecipientAccountID, e.EventVersion, e.EventType = testRegion, testAccount, trail.EventVersion, trail.EventTypeAPICall
		e.EventCategory, e.ManagementEvent = trail.CategoryManagement, trail.Bool(true) // what Record stamps
		return e
	}
	// sized returns an event whose EncodedEventSize is n, growing three raw
	// fields (each capped at 100 KB) and escaping strings.
	sized := func(n int, escapes int) *trail.Event {
		e := base()
		e.UserAgent = strings.Repeat("\x01", escapes) // 6 bytes each once encoded
		fill := func(k int) json.RawMessage { return json.RawMessage(`{"k":"` + strings.Repeat("v", k) + `"}`) }
		e.RequestParameters, e.ResponseElements, e.ServiceEventDetails = fill(0), fill(0), fill(0)
		rest := n - trail.EncodedEventSize(e)
		a := min(rest, 100<<10-10)
		b := min(rest-a, 100<<10-10)
		e.RequestParameters, e.ResponseElements, e.ServiceEventDetails = fill(a), fill(b), fill(rest-a-b)
		require.Equal(t, n, trail.EncodedEventSize(e))
		return e
	}
	ctx := context.Background()
	for _, escapes := range []int{0, 1000} {
		for _, tc := range []struct {
			size int
			ok   bool
		}{{trail.MaxEventSize - 1, true}, {trail.MaxEventSize, true}, {trail.MaxEventSize + 1, false}, {trail.MaxEventSize + 1000, false}} {
			mem := memsink.New()
			rec := newRecorder(t, trail.Config{Trails: []trail.Trail{{Name: "main", Sinks: []trail.Sink{mem}}}})
			e := sized(tc.size, escapes)
			err := rec.Record(ctx, e)
			if !tc.ok {
				var ve *trail.ValidationError
				require.ErrorAs(t, err, &ve, "size %d", tc.size)
				assert.Equal(t, "event", ve.Field)
				continue
			}
			require.NoError(t, err, "size %d", tc.size)
			require.NoError(t, rec.Flush(ctx))
			files := mem.Files()
			require.Len(t, files, 1)
			require.Len(t, files[0].Records, 1)
			got := len(files[0].Records[0]) + cwlogsink.EventOverhead
			assert.Equal(t, tc.size, got, "the record delivered has the size Record checked")
			assert.LessOrEqual(t, got, cwlogsink.CloudTrailMaxEventSize, "cwlogsink's default limit keeps it")
		}
	}
}
