package trail_test

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/trailkit/trail"
	"github.com/trailkit/trail/sink/memsink"
)

func TestValidationErrors(t *testing.T) {
	big := func(n int) json.RawMessage {
		// {"k":"xxxx…"} of exactly n bytes
		return json.RawMessage(`{"k":"` + strings.Repeat("x", n-8) + `"}`)
	}
	tests := []struct {
		name      string
		mod       func(e *trail.Event)
		wantField string
	}{
		{"empty eventSource", func(e *trail.Event) { e.EventSource = "" }, "eventSource"},
		{"empty eventName", func(e *trail.Event) { e.EventName = "" }, "eventName"},
		{"eventTime before 1970", func(e *trail.Event) { e.EventTime = time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC) }, "eventTime"},
		{"eventTime in year 1", func(e *trail.Event) { e.EventTime = time.Date(1, 1, 1, 0, 0, 1, 0, time.UTC) }, "eventTime"},
		{"eventTime more than 24h ahead", func(e *trail.Event) { e.EventTime = time.Now().Add(25 * time.Hour) }, "eventTime"},
		{"eventTime year 10000", func(e *trail.Event) { e.EventTime = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }, "eventTime"},
		{"eventID with a space", func(e *trail.Event) { e.EventID = "event 1" }, "eventID"},
		{"eventID with a quote", func(e *trail.Event) { e.EventID = `0b6a3a52"` }, "eventID"},
		{"eventID too long", func(e *trail.Event) { e.EventID = strings.Repeat("a", 65) }, "eventID"},
		{"region upper case", func(e *trail.Event) { e.AWSRegion = "US-EAST-1" }, "awsRegion"},
		{"region with underscore", func(e *trail.Event) { e.AWSRegion = "us_east_1" }, "awsRegion"},
		{"region with trailing dash", func(e *trail.Event) { e.AWSRegion = "us-east-" }, "awsRegion"},
		{"recipientAccountId short", func(e *trail.Event) { e.RecipientAccountID = "12345" }, "recipientAccountId"},
		{"recipientAccountId letters", func(e *trail.Event) { e.RecipientAccountID = "11112222333a" }, "recipientAccountId"},
		{"eventVersion 2.x", func(e *trail.Event) { e.EventVersion = "2.0" }, "eventVersion"},
		{"eventVersion no minor", func(e *trail.Event) { e.EventVersion = "1." }, "eventVersion"},
		{"eventVersion text", func(e *trail.Event) { e.EventVersion = "latest" }, "eventVersion"},
		{"eventCategory unknown", func(e *trail.Event) { e.EventCategory = "Other" }, "eventCategory"},
		{"eventCategory Insight of an API call", func(e *trail.Event) { e.EventCategory = "Insight" }, "eventCategory"},
		{"insightDetails of an API call", func(e *trail.Event) { e.InsightDetails = &trail.InsightDetails{State: "Start"} }, "insightDetails"},
		{"Insights event without insightDetails", func(e *trail.Event) { e.EventType = trail.EventTypeInsight }, "insightDetails"},
		{"Extra naming a known field", func(e *trail.Event) {
			e.Extra = []trail.ExtraField{{Path: "eventName", Value: json.RawMessage(`"x"`)}}
		}, "eventName"},
		{"Extra naming a known field, escaped", func(e *trail.Event) {
			e.Extra = []trail.ExtraField{{Path: `userIdentity.\type`, Value: json.RawMessage(`"x"`)}}
		}, `userIdentity.\type`},
		{"Extra not JSON", func(e *trail.Event) { e.Extra = []trail.ExtraField{{Path: "n", Value: json.RawMessage(`{`)}} }, "n"},
		{"requestParameters array", func(e *trail.Event) { e.RequestParameters = json.RawMessage(`[1,2]`) }, "requestParameters"},
		{"requestParameters string", func(e *trail.Event) { e.RequestParameters = json.RawMessage(`"x"`) }, "requestParameters"},
		{"requestParameters number", func(e *trail.Event) { e.RequestParameters = json.RawMessage(`42`) }, "requestParameters"},
		{"additionalEventData number", func(e *trail.Event) { e.AdditionalEventData = json.RawMessage(`42`) }, "additionalEventData"},
		{"additionalEventData invalid string", func(e *trail.Event) { e.AdditionalEventData = json.RawMessage(`"x`) }, "additionalEventData"},
		{"requestParameters invalid JSON", func(e *trail.Event) { e.RequestParameters = json.RawMessage(`{"a":`) }, "requestParameters"},
		{"requestParameters trailing garbage", func(e *trail.Event) { e.RequestParameters = json.RawMessage(`{}{}`) }, "requestParameters"},
		{"responseElements bool", func(e *trail.Event) { e.ResponseElements = json.RawMessage(`true`) }, "responseElements"},
		{"additionalEventData array", func(e *trail.Event) { e.AdditionalEventData = json.RawMessage(`[]`) }, "additionalEventData"},
		{"serviceEventDetails string", func(e *trail.Event) { e.ServiceEventDetails = json.RawMessage(`"s"`) }, "serviceEventDetails"},
		{"edgeDeviceDetails invalid", func(e *trail.Event) { e.EdgeDeviceDetails = json.RawMessage(`{`) }, "edgeDeviceDetails"},
		{"inScopeOf array", func(e *trail.Event) { e.UserIdentity.InScopeOf = json.RawMessage(`[]`) }, "userIdentity.inScopeOf"},
		{"invokedByDelegate number", func(e *trail.Event) { e.UserIdentity.InvokedByDelegate = json.RawMessage(`1`) }, "userIdentity.invokedByDelegate"},
		{"webIdFederationData.attributes array", func(e *trail.Event) {
			e.UserIdentity.SessionContext = &trail.SessionContext{WebIDFederationData: &trail.WebIDFederationData{Attributes: json.RawMessage(`[]`)}}
		}, "userIdentity.sessionContext.webIdFederationData.attributes"},
		{"requestParameters over 100 KB", func(e *trail.Event) { e.RequestParameters = big(100<<10 + 1) }, "requestParameters"},
		{"responseElements over 100 KB", func(e *trail.Event) { e.ResponseElements = big(100<<10 + 1) }, "responseElements"},
		{"serviceEventDetails over 100 KB", func(e *trail.Event) { e.ServiceEventDetails = big(100<<10 + 1) }, "serviceEventDetails"},
		{"additionalEventData over 28 KB", func(e *trail.Event) { e.AdditionalEventData = big(28<<10 + 1) }, "additionalEventData"},
		{"edgeDeviceDetails over 28 KB", func(e *trail.Event) { e.EdgeDeviceDetails = big(28<<10 + 1) }, "edgeDeviceDetails"},
		{"sourceIPAddress over 2 KB", func(e *trail.Event) { e.SourceIPAddress = strings.Repeat("1", 2<<10+1) }, "sourceIPAddress"},
		{"userIdentity.arn over 2 KB", func(e *trail.Event) { e.UserIdentity.ARN = strings.Repeat("a", 2<<10+1) }, "userIdentity.arn"},
		{"event over 256 KB", func(e *trail.Event) {
			e.RequestParameters, e.ResponseElements, e.ServiceEventDetails = big(90<<10), big(90<<10), big(90<<10)
		}, "event"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sink := memsink.New()
			rec := newRecorder(t, oneTrail(trail.Trail{Sinks: []trail.Sink{sink}}))
			e := mkEvent("CreateOrder")
			tc.mod(e)
			err := rec.Record(context.Background(), e)
			var ve *trail.ValidationError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, tc.wantField, ve.Field)
			assert.NotEmpty(t, ve.Reason)
			assert.Contains(t, err.Error(), tc.wantField)
			st := rec.Stats()
			assert.EqualValues(t, 1, st.Invalid)
			assert.Zero(t, st.Recorded)
			require.NoError(t, rec.Flush(context.Background()))
			assert.Empty(t, sink.Events())
		})
	}

	t.Run("nil event", func(t *testing.T) {
		rec := newRecorder(t, oneTrail(trail.Trail{}))
		var ve *trail.ValidationError
		require.ErrorAs(t, rec.Record(context.Background(), nil), &ve)
		assert.Equal(t, "event", ve.Field)
	})
}

func TestValidationAccepts(t *testing.T) {
	tests := []struct {
		name  string
		mod   func(e *trail.Event)
		check func(t *testing.T, got trail.Event)
	}{
		{"eventTime 23h ahead", func(e *trail.Event) { e.EventTime = time.Now().Add(23 * time.Hour) }, nil},
		{"eventTime in 1970", func(e *trail.Event) { e.EventTime = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC) }, nil},
		{"eventTime converted to UTC and truncated to the second", func(e *trail.Event) {
			e.EventTime = time.Date(2025, 3, 1, 12, 30, 45, 999_999_999, time.FixedZone("CET", 3600))
		}, func(t *testing.T, got trail.Event) {
			assert.Equal(t, time.Date(2025, 3, 1, 11, 30, 45, 0, time.UTC), got.EventTime)
		}},
		{"requestParameters null", func(e *trail.Event) { e.RequestParameters = json.RawMessage(` null `) }, func(t *testing.T, got trail.Event) {
			assert.Nil(t, got.RequestParameters)
		}},
		{"requestParameters object with white space", func(e *trail.Event) { e.RequestParameters = json.RawMessage(" {\n\"a\": 1 }\n") },
			func(t *testing.T, got trail.Event) { assert.Equal(t, `{"a":1}`, string(got.RequestParameters)) }},
		{"requestParameters of exactly 100 KB", func(e *trail.Event) {
			e.RequestParameters = json.RawMessage(`{"k":"` + strings.Repeat("x", 100<<10-8) + `"}`)
		}, func(t *testing.T, got trail.Event) { assert.Len(t, got.RequestParameters, 100<<10) }},
		// Route 53 Domains writes additionalEventData as a string (AWS's
		// example of updateDomainContact, in the corpus).
		{"additionalEventData string", func(e *trail.Event) {
			e.AdditionalEventData = json.RawMessage(`"Personally-identifying contact information is not logged in the request"`)
		}, func(t *testing.T, got trail.Event) {
			assert.JSONEq(t, `"Personally-identifying contact information is not logged in the request"`, string(got.AdditionalEventData))
		}},
		{"two-digit eventVersion", func(e *trail.Event) { e.EventVersion = "1.05" }, func(t *testing.T, got trail.Event) {
			assert.Equal(t, "1.05", got.EventVersion)
		}},
		{"other account and region", func(e *trail.Event) { e.RecipientAccountID, e.AWSRegion = testAccount, "eu-central-2" }, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sink := memsink.New()
			rec := newRecorder(t, oneTrail(trail.Trail{MultiRegion: true, Sinks: []trail.Sink{sink}}))
			e := mkEvent("CreateOrder")
			tc.mod(e)
			require.NoError(t, rec.Record(context.Background(), e))
			require.NoError(t, rec.Flush(context.Background()))
			got := sink.Events()
			require.Len(t, got, 1)
			if tc.check != nil {
				tc.check(t, got[0])
			}
		})
	}
}

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// TestStampDefaults checks what Record fills in on an event that carries
// only eventSource and eventName.
func TestStampDefaults(t *testing.T) {
	sink := memsink.New()
	rec := newRecorder(t, oneTrail(trail.Trail{Sinks: []trail.Sink{sink}}))
	ctx := context.Background()
	before := time.Now().UTC().Truncate(time.Second)
	e := mkEvent("CreateOrder")
	require.NoError(t, rec.Record(ctx, e))
	require.NoError(t, rec.Record(ctx, e))
	after := time.Now().UTC()
	assert.Equal(t, *mkEvent("CreateOrder"), *e, "Record must not modify the caller's event")
	require.NoError(t, rec.Flush(ctx))
	got := sink.Events()
	require.Len(t, got, 2)
	for _, g := range got {
		assert.Equal(t, trail.EventVersion, g.EventVersion)
		assert.Equal(t, testRegion, g.AWSRegion)
		assert.Equal(t, testAccount, g.RecipientAccountID)
		assert.Equal(t, trail.EventTypeAPICall, g.EventType)
		assert.Equal(t, trail.CategoryManagement, g.EventCategory)
		assert.Equal(t, trail.Bool(true), g.ManagementEvent)
		assert.Regexp(t, uuidV4, g.EventID)
		assert.False(t, g.EventTime.Before(before) || g.EventTime.After(after), "eventTime %v not in [%v, %v]", g.EventTime, before, after)
		assert.Zero(t, g.EventTime.Nanosecond())
	}
	assert.NotEqual(t, got[0].EventID, got[1].EventID, "each event gets its own eventID")
}

func TestTruncation(t *testing.T) {
	const limit = 1 << 10
	tests := []struct {
		name    string
		value   string
		wantLen int
	}{
		{"ASCII exactly 1 KB", strings.Repeat("a", limit), limit},
		{"ASCII over 1 KB", strings.Repeat("a", 3*limit), limit},
		{"2-byte runes, boundary inside a rune", "a" + strings.Repeat("é", 600), limit - 1},
		{"2-byte runes, boundary between runes", strings.Repeat("é", 600), limit},
		{"4-byte runes, boundary inside a rune", "ab" + strings.Repeat("😀", 300), limit - 2},
		{"3-byte runes", strings.Repeat("日", 400), limit - 1},
		{"short value kept", "aws-cli/2.15.0", len("aws-cli/2.15.0")},
	}
	fields := []struct {
		name string
		set  func(e *trail.Event, v string)
		get  func(e *trail.Event) string
	}{
		{"userAgent", func(e *trail.Event, v string) { e.UserAgent = v }, func(e *trail.Event) string { return e.UserAgent }},
		{"errorMessage", func(e *trail.Event, v string) { e.ErrorMessage = v }, func(e *trail.Event) string { return e.ErrorMessage }},
		{"errorCode", func(e *trail.Event, v string) { e.ErrorCode = v }, func(e *trail.Event) string { return e.ErrorCode }},
		{"requestID", func(e *trail.Event, v string) { e.RequestID = v }, func(e *trail.Event) string { return e.RequestID }},
	}
	for _, f := range fields {
		for _, tc := range tests {
			t.Run(f.name+"/"+tc.name, func(t *testing.T) {
				sink := memsink.New()
				rec := newRecorder(t, oneTrail(trail.Trail{Sinks: []trail.Sink{sink}}))
				e := mkEvent("CreateOrder")
				f.set(e, tc.value)
				require.NoError(t, rec.Record(context.Background(), e))
				assert.Equal(t, tc.value, f.get(e), "the caller's event is not modified")
				require.NoError(t, rec.Flush(context.Background()))
				got := sink.Events()
				require.Len(t, got, 1)
				v := f.get(&got[0])
				assert.Len(t, v, tc.wantLen)
				assert.True(t, utf8.ValidString(v), "truncated on a rune boundary")
				assert.True(t, strings.HasPrefix(tc.value, v))
			})
		}
	}
}

// TestCallerMayReuseEvent mutates everything reachable from the event right
// after Record returns; the delivered record must be the original. Run with
// -race: a shared byte slice or struct would also be reported as a race.
func TestCallerMayReuseEvent(t *testing.T) {
	sink := memsink.New()
	rec := newRecorder(t, oneTrail(trail.Trail{Sinks: []trail.Sink{sink}, MultiRegion: true,
		Data: []trail.DataResource{{Type: trail.ResourceS3Object, Values: []string{"arn:aws:s3"}}}}))
	ctx := context.Background()
	orig := trail.FixtureFullEvent()
	orig.EventTime = time.Now().UTC().Truncate(time.Second)
	want := trail.FixtureFullEvent()
	want.EventTime = orig.EventTime

	for range 50 {
		e := trail.FixtureFullEvent()
		e.EventTime = orig.EventTime
		ro, mgmt := false, false
		e.ReadOnly, e.ManagementEvent = &ro, &mgmt
		require.NoError(t, rec.Record(ctx, &e))
		// Scribble over everything the event points to.
		for _, raw := range [][]byte{e.RequestParameters, e.ResponseElements, e.AdditionalEventData, e.ServiceEventDetails,
			e.EdgeDeviceDetails, e.UserIdentity.InScopeOf, e.UserIdentity.InvokedByDelegate,
			e.UserIdentity.SessionContext.WebIDFederationData.Attributes} {
			for j := range raw {
				raw[j] = 'X'
			}
		}
		e.Resources[0].ARN, e.Resources[1].Type = "mutated", "mutated"
		e.Resources = append(e.Resources[:1], trail.Resource{ARN: "appended"})
		sc := e.UserIdentity.SessionContext
		sc.SessionIssuer.UserName, sc.Attributes.MFAAuthenticated, sc.SourceIdentity = "mutated", "mutated", "mutated"
		sc.WebIDFederationData.FederatedProvider = "mutated"
		e.UserIdentity.OnBehalfOf.UserID = "mutated"
		e.Addendum.Reason, e.TLSDetails.CipherSuite = "mutated", "mutated"
		ro, mgmt = true, true
		e.EventName = "mutated"
	}
	require.NoError(t, rec.Flush(ctx))
	got := sink.Events()
	require.Len(t, got, 50)
	for _, g := range got {
		require.Equal(t, want, g)
	}
}

func TestValidationErrorMessage(t *testing.T) {
	err := error(&trail.ValidationError{Field: "eventSource", Reason: "empty"})
	assert.Equal(t, "trail: invalid event: eventSource: empty", err.Error())
	var ve *trail.ValidationError
	assert.True(t, errors.As(err, &ve))
}

func TestRegionAndAccountChecksMatchRegexps(t *testing.T) {
	for _, s := range []string{"us-east-1", "eu-west-1", "local", "a", "a-b-c-1", "-a", "a-", "a--b", "A-b", "us_east", "", "x1-2y"} {
		assert.Equalf(t, trail.RegionRE.MatchString(s) && len(s) <= 64, trail.ValidRegion(s), "region %q", s)
	}
	for _, s := range []string{"111122223333", "11112222333", "1111222233334", "11112222333a", ""} {
		assert.Equalf(t, trail.AccountRE.MatchString(s), trail.ValidAccount(s), "account %q", s)
	}
}
