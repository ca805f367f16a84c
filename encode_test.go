package trail_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/trailkit/trail"
)

// TestEncodeGolden pins the exact bytes AppendJSON writes for a few fully
// populated events. testdata/events.golden.json is a JSON array holding one
// record per line.
func TestEncodeGolden(t *testing.T) {
	var buf bytes.Buffer
	buf.WriteString("[\n")
	for i, ne := range trail.FixtureEvents() {
		if i > 0 {
			buf.WriteString(",\n")
		}
		e := ne.Event
		buf.Write(e.AppendJSON(nil))
	}
	buf.WriteString("\n]\n")
	require.True(t, json.Valid(buf.Bytes()), "the golden file must be valid JSON")
	golden(t, "events.golden.json", buf.Bytes())
}

// TestEncodeSpecExample checks AppendJSON against the record of spec §1.4.
func TestEncodeSpecExample(t *testing.T) {
	e := trail.FixtureSpecManagementEvent()
	assert.Equal(t, trail.SpecManagementRecord, string(e.AppendJSON(nil)))
	got, err := e.MarshalJSON()
	require.NoError(t, err)
	assert.Equal(t, trail.SpecManagementRecord, string(got))

	// AppendJSON appends: existing content of dst is kept.
	out := e.AppendJSON([]byte(`prefix:`))
	assert.Equal(t, `prefix:`+trail.SpecManagementRecord, string(out))
}

func TestEncodeStrings(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "abc", `"abc"`},
		{"quote and backslash", `a"b\c`, `"a\"b\\c"`},
		{"newline, return, tab", "a\nb\rc\td", `"a\nb\rc\td"`},
		{"other control characters", "\x00\x01\x08\x0b\x0c\x1f", `"\u0000\u0001\u0008\u000b\u000c\u001f"`},
		{"DEL is not escaped", "\x7f", "\"\x7f\""},
		{"slash not escaped", "a/b/", `"a/b/"`},
		{"HTML characters not escaped", "<a href='x'>&amp;</a>", `"<a href='x'>&amp;</a>"`},
		{"line and paragraph separators", "a\u2028b\u2029c", `"a\u2028b\u2029c"`},
		{"multi-byte runes kept", "é日本😀", `"é日本😀"`},
		{"invalid UTF-8 byte", "a\xffb", `"a\ufffdb"`},
		{"truncated sequence", "a\xc3", `"a\ufffd"`},
		{"each invalid byte replaced", "\xed\xa0\x80", `"\ufffd\ufffd\ufffd"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := trail.Event{EventName: tc.in}
			out := string(e.AppendJSON(nil))
			assert.Contains(t, out, `"eventName":`+tc.want+`,`)
			require.True(t, json.Valid([]byte(out)), out)
			// encoding/json agrees on the decoded value.
			var back trail.Event
			require.NoError(t, json.Unmarshal([]byte(out), &back))
			assert.Equal(t, replaceInvalid(tc.in), back.EventName)
		})
	}
}

func TestEncodeOptionalAndNull(t *testing.T) {
	// No empty value for a field AWS always fills: only
	// requestParameters/responseElements as null.
	e := trail.Event{}
	assert.Equal(t, `{"requestParameters":null,"responseElements":null}`, string(e.AppendJSON(nil)))
	// A service event writes them only when set.
	e = trail.Event{EventType: trail.EventTypeServiceEvent}
	assert.Equal(t, `{"eventType":"AwsServiceEvent"}`, string(e.AppendJSON(nil)))
	e = trail.Event{EventType: trail.EventTypeServiceEvent, RequestParameters: json.RawMessage("null")}
	assert.Equal(t, `{"requestParameters":null,"eventType":"AwsServiceEvent"}`, string(e.AppendJSON(nil)))
	// Empty names the empty values to write.
	e = trail.Event{EventSource: "signin.amazonaws.com", Empty: []string{"sourceIPAddress", "userIdentity.accessKeyId", "resources[1].ARN", "userIdentity"},
		Resources: []trail.Resource{{ARN: "a"}, {Type: "t"}}}
	assert.Equal(t, `{"userIdentity":{"accessKeyId":""},"eventSource":"signin.amazonaws.com","sourceIPAddress":"",`+
		`"requestParameters":null,"responseElements":null,"resources":[{"ARN":"a"},{"type":"t","ARN":""}]}`, string(e.AppendJSON(nil)))
	e = trail.Event{Empty: []string{"userIdentity"}}
	assert.Equal(t, `{"userIdentity":{},"requestParameters":null,"responseElements":null}`, string(e.AppendJSON(nil)))
	// Extra members go at the end of their object.
	e = trail.Event{EventName: "X", UserIdentity: trail.UserIdentity{Type: "Root"}, Resources: []trail.Resource{{ARN: "a"}},
		Extra: []trail.ExtraField{{Path: "eventContext", Value: json.RawMessage(`{"a": 1}`)}, {Path: "userIdentity.new", Value: json.RawMessage(`"v"`)},
			{Path: "resources[0].n", Value: json.RawMessage(`null`)}, {Path: "userIdentity.sessionContext.x", Value: json.RawMessage(`1`)}}}
	assert.Equal(t, `{"userIdentity":{"type":"Root","new":"v"},"eventName":"X","requestParameters":null,"responseElements":null,`+
		`"resources":[{"ARN":"a","n":null}],"eventContext":{"a":1}}`, string(e.AppendJSON(nil)))

	// Empty nested structs are written as {} (CloudTrail's console sessions).
	e = trail.Event{UserIdentity: trail.UserIdentity{SessionContext: &trail.SessionContext{
		SessionIssuer: &trail.SessionIssuer{}, WebIDFederationData: &trail.WebIDFederationData{}}},
		Addendum: &trail.Addendum{}, TLSDetails: &trail.TLSDetails{}, Resources: []trail.Resource{{}}}
	out := string(e.AppendJSON(nil))
	assert.Contains(t, out, `"userIdentity":{"sessionContext":{"sessionIssuer":{},"webIdFederationData":{}}}`)
	assert.Contains(t, out, `"resources":[{}]`)
	assert.Contains(t, out, `"addendum":{}`)
	assert.Contains(t, out, `"tlsDetails":{}`)

	// An empty, non-nil resources list is kept; a nil one is omitted.
	e = trail.Event{Resources: []trail.Resource{}}
	assert.Contains(t, string(e.AppendJSON(nil)), `"resources":[]`)
	e = trail.Event{}
	assert.NotContains(t, string(e.AppendJSON(nil)), `resources`)

	// readOnly and managementEvent are written when set, including false.
	e = trail.Event{ReadOnly: trail.Bool(false), ManagementEvent: trail.Bool(true)}
	out = string(e.AppendJSON(nil))
	assert.Contains(t, out, `"readOnly":false`)
	assert.Contains(t, out, `"managementEvent":true`)

	// Raw JSON loses insignificant white space only.
	e = trail.Event{RequestParameters: json.RawMessage("{\n  \"a\" : \"x  y\\\"\" ,\t\"b\":[1, 2]\r\n}")}
	assert.Contains(t, string(e.AppendJSON(nil)), `"requestParameters":{"a":"x  y\"","b":[1,2]},`)
}

// replaceInvalid replaces every byte that is not part of a valid UTF-8
// sequence with U+FFFD, as encoding/json and AppendJSON do.
func replaceInvalid(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		b.WriteRune(r) // RuneError is U+FFFD
		i += size
	}
	return b.String()
}

// topKeys returns the keys of the JSON object raw, in order.
func topKeys(t *testing.T, raw []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	require.NoError(t, err)
	require.Equal(t, json.Delim('{'), tok)
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		require.NoError(t, err)
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		require.NoError(t, dec.Decode(&skip))
	}
	return keys
}

func subObject(t *testing.T, raw []byte, path ...string) []byte {
	t.Helper()
	for _, p := range path {
		var m map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(raw, &m))
		raw = m[p]
		require.NotNil(t, raw, "no %s", p)
	}
	return raw
}

// TestEncodeKeyOrder checks the key order of spec §1.2 on the fully
// populated event (serviceEventDetails and edgeDeviceDetails, which §1.2 does
// not place, come after recipientAccountId and last).
func TestEncodeKeyOrder(t *testing.T) {
	e := trail.FixtureFullEvent()
	out := e.AppendJSON(nil)
	assert.Equal(t, []string{"eventVersion", "userIdentity", "eventTime", "eventSource", "eventName", "awsRegion",
		"sourceIPAddress", "userAgent", "errorCode", "errorMessage", "requestParameters",
		"responseElements", "additionalEventData", "requestID", "eventID", "readOnly",
		"resources", "eventType", "apiVersion", "managementEvent", "recipientAccountId", "serviceEventDetails",
		"sharedEventID", "vpcEndpointId", "vpcEndpointAccountId", "eventCategory",
		"addendum", "tlsDetails", "sessionCredentialFromConsole", "edgeDeviceDetails"}, topKeys(t, out))
	assert.Equal(t, []string{"type", "principalId", "arn", "accountId", "accessKeyId", "userName", "sessionContext", "invokedBy",
		"identityProvider", "credentialId", "onBehalfOf", "inScopeOf", "invokedByDelegate"},
		topKeys(t, subObject(t, out, "userIdentity")))
	assert.Equal(t, []string{"sessionIssuer", "webIdFederationData", "attributes", "sourceIdentity", "ec2RoleDelivery", "assumedRoot", "signInSessionArn"},
		topKeys(t, subObject(t, out, "userIdentity", "sessionContext")))
	assert.Equal(t, []string{"creationDate", "mfaAuthenticated"}, topKeys(t, subObject(t, out, "userIdentity", "sessionContext", "attributes")))
	assert.Equal(t, []string{"type", "principalId", "arn", "accountId", "userName"}, topKeys(t, subObject(t, out, "userIdentity", "sessionContext", "sessionIssuer")))
	assert.Equal(t, []string{"tlsVersion", "cipherSuite", "clientProvidedHostHeader", "keyExchange"}, topKeys(t, subObject(t, out, "tlsDetails")))
	assert.Equal(t, []string{"reason", "updatedFields", "originalRequestID", "originalEventID"}, topKeys(t, subObject(t, out, "addendum")))
	var res []json.RawMessage
	require.NoError(t, json.Unmarshal(subObject(t, out, "resources"), &res))
	assert.Equal(t, []string{"type", "ARN"}, topKeys(t, res[0]))
	assert.Equal(t, []string{"accountId", "type", "ARN"}, topKeys(t, res[1]))
}

// TestEventRoundTrip decodes AppendJSON output with encoding/json into an
// equal Event, for events with every nested struct.
func TestEventRoundTrip(t *testing.T) {
	for _, ne := range trail.FixtureEvents() {
		t.Run(ne.Name, func(t *testing.T) {
			e := ne.Event
			if ne.Name == "escaping" {
				// Invalid UTF-8 comes back as U+FFFD and raw JSON compacted.
				e.ErrorCode = replaceInvalid(e.ErrorCode)
				var c bytes.Buffer
				require.NoError(t, json.Compact(&c, e.ServiceEventDetails))
				e.ServiceEventDetails = c.Bytes()
			}
			out := ne.Event.AppendJSON(nil)
			require.True(t, json.Valid(out))
			var back trail.Event
			require.NoError(t, json.Unmarshal(out, &back))
			assert.Equal(t, e, back)
			// And encoding the decoded event gives the same bytes (but for
			// U+FFFD, which is then written as is rather than as \ufffd).
			assert.Equal(t, strings.ReplaceAll(string(out), `\ufffd`, "\ufffd"), string(back.AppendJSON(nil)))
		})
	}
}

// TestEventUnmarshalNull checks how JSON null in raw fields decodes: to nil
// where AppendJSON writes null for nil, kept otherwise.
func TestEventUnmarshalNull(t *testing.T) {
	var e trail.Event
	require.NoError(t, json.Unmarshal([]byte(`{"requestParameters":null,"responseElements":null,"additionalEventData":null,`+
		`"serviceEventDetails":null,"edgeDeviceDetails":null,"userIdentity":{"inScopeOf":null,"invokedByDelegate":null,`+
		`"sessionContext":{"webIdFederationData":{"attributes":null}}}}`), &e))
	assert.Nil(t, e.RequestParameters)
	assert.Nil(t, e.ResponseElements)
	for _, raw := range []json.RawMessage{e.AdditionalEventData, e.ServiceEventDetails, e.EdgeDeviceDetails, e.UserIdentity.InScopeOf,
		e.UserIdentity.InvokedByDelegate, e.UserIdentity.SessionContext.WebIDFederationData.Attributes} {
		assert.Equal(t, "null", string(raw))
	}
	var svc trail.Event
	require.NoError(t, json.Unmarshal([]byte(`{"eventType":"AwsServiceEvent","requestParameters":null}`), &svc))
	assert.Equal(t, "null", string(svc.RequestParameters))
	assert.Nil(t, svc.ResponseElements)
	assert.Error(t, json.Unmarshal([]byte(`{"eventTime":"yesterday"}`), &e))
}

func ExampleEvent_AppendJSON() {
	e := trail.Event{EventSource: "orders.example.com", EventName: "CreateOrder", AWSRegion: "eu-west-1",
		UserIdentity: trail.UserIdentity{Type: "IAMUser", UserName: "alice"},
		EventID:      "0b6a3a52-52f4-4a4b-9d0e-7f0c1e2d3a4b", EventType: trail.EventTypeAPICall, EventCategory: trail.CategoryManagement,
		EventVersion: trail.EventVersion, ReadOnly: trail.Bool(false), RequestParameters: json.RawMessage(`{"path": "/orders/1"}`)}
	fmt.Println(string(e.AppendJSON(nil)))
	// Output:
	// {"eventVersion":"1.11","userIdentity":{"type":"IAMUser","userName":"alice"},"eventSource":"orders.example.com","eventName":"CreateOrder","awsRegion":"eu-west-1","requestParameters":{"path":"/orders/1"},"responseElements":null,"eventID":"0b6a3a52-52f4-4a4b-9d0e-7f0c1e2d3a4b","readOnly":false,"eventType":"AwsApiCall","eventCategory":"Management"}
}
