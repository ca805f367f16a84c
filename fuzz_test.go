package trail

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"
)

// fuzzSeeds are JSON records for the seed corpus.
func fuzzSeeds() []string {
	seeds := []string{
		SpecManagementRecord,
		`{}`,
		`{"eventSource":"a","eventName":"b"}`,
		`{"eventSource":"a","eventName":"b","requestParameters":null,"resources":[],"readOnly":true}`,
		`{"eventSource":"a","eventName":"b","requestParameters":{ "x" : [1, {"y":"\u2028"}] },"userIdentity":{"sessionContext":{}}}`,
		`{"eventSource":"a","eventName":"b","eventTime":"2024-02-29T12:00:00.999+05:30","eventCategory":"NetworkActivity"}`,
		`{"eventSource":"a","eventName":"b","requestParameters":[1]}`,
		`{"eventSource":"a","eventName":"b","userIdentity":{"sessionContext":{"webIdFederationData":{"attributes":{"k":"v"}}}}}`,
		`{"eventSource":"s3.amazonaws.com","eventName":"GetObject","resources":[{"type":"AWS::S3::Object","ARN":"arn:aws:s3:::bkt/k"},{}]}`,
		`{"eventSource":"a","eventName":"\ud800\udc00\ud800","userAgent":"<>&/\\\"\u0000"}`,
		// Unknown members whose names hold the Extra path syntax.
		`{"eventSource":"a","eventName":"b","userIdentity.type":"x","userIdentity":{"a.b\\":1},"resources[0].ARN":[],"resources":[{"x[1]":{}}]}`,
		// Presence: empty strings, {} and [], nulls, unknown members.
		`{"eventVersion":"1.0","userIdentity":{"type":"Root","arn":"","accessKeyId":"","sessionContext":{"sessionIssuer":{},"attributes":{"x":null}}},"eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","sourceIPAddress":"","resources":[{"ARN":""}],"readOnly":null}`,
		`{"userIdentity":{},"eventSource":"a","eventName":"b","eventContext":{"requestContext":{"a":[1,2.50]}},"newTopLevel":null,"tlsDetails":{"newTLS":"x"}}`,
		`{"eventVersion":"1.07","eventTime":"2019-11-14T00:51:00Z","awsRegion":"us-east-1","eventID":"EXAMPLE8-9621-4d00-b913-beca2EXAMPLE","eventType":"AwsCloudTrailInsight","recipientAccountId":"123456789012","sharedEventID":"EXAMPLE2-1729-42f1-b735-5d8c0EXAMPLE","insightDetails":{"state":"Start","eventSource":"ssm.amazonaws.com","eventName":"UpdateInstanceInformation","insightType":"ApiCallRateInsight","insightContext":{"statistics":{"baseline":{"average":85.4202380952},"insight":{"average":664}}},"new":1},"eventCategory":"Insight"}`,
		`{"eventType":"AwsServiceEvent","eventSource":"a","eventName":"b","requestParameters":null}`,
	}
	for _, ne := range FixtureEvents() {
		e := ne.Event
		seeds = append(seeds, string(e.AppendJSON(nil)))
	}
	return seeds
}

// compactRaw returns raw without insignificant white space (nil stays nil).
func compactRaw(t *testing.T, raw json.RawMessage) json.RawMessage {
	if raw == nil {
		return nil
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		t.Fatalf("raw field %q passed validation but is not valid JSON: %v", raw, err)
	}
	return b.Bytes()
}

// FuzzEventRoundTrip decodes the input into an Event; if that works and the
// event passes Record's validation and stamping, AppendJSON must write valid
// JSON that encoding/json decodes back into an equal Event (raw fields
// compacted), and encoding that again must give the same bytes.
func FuzzEventRoundTrip(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add([]byte(s))
	}
	r, err := New(Config{AccountID: "111122223333", Region: "us-east-1",
		DataResourceTypes: []string{"Example::Orders::Order"}})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = r.Close(context.Background()) })

	f.Fuzz(func(t *testing.T, data []byte) {
		var in Event
		if json.Unmarshal(data, &in) != nil {
			return
		}
		checkFidelity(t, data, &in)
		var ev Event
		a := new(arena)
		if r.prepare(&ev, &in, a) != nil {
			return
		}
		r.selectors.Load().categorize(&ev)

		out := ev.AppendJSON(nil)
		if !json.Valid(out) {
			t.Fatalf("AppendJSON wrote invalid JSON:\n%s", out)
		}
		var back Event
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("decode AppendJSON output: %v\n%s", err, out)
		}

		// Empty and Extra are checked by checkFidelity (as JSON values: their
		// order and redundant entries are not kept).
		want, cmp := ev, back
		want.Empty, want.Extra = nil, nil
		cmp.Empty, cmp.Extra = nil, nil
		if want.EventType != EventTypeServiceEvent && want.EventType != EventTypeInsight {
			for _, p := range []*json.RawMessage{&want.RequestParameters, &want.ResponseElements} {
				if isJSONNull(*p) {
					*p = nil
				}
			}
		}
		for _, p := range []*json.RawMessage{&want.RequestParameters, &want.ResponseElements, &want.AdditionalEventData,
			&want.ServiceEventDetails, &want.EdgeDeviceDetails, &want.UserIdentity.InScopeOf, &want.UserIdentity.InvokedByDelegate} {
			*p = compactRaw(t, *p)
		}
		if sc := want.UserIdentity.SessionContext; sc != nil && sc.WebIDFederationData != nil {
			w := *sc.WebIDFederationData
			w.Attributes = compactRaw(t, w.Attributes)
			sc2 := *sc
			sc2.WebIDFederationData = &w
			want.UserIdentity.SessionContext = &sc2
		}
		if !eventsEqual(want, cmp) {
			wantJSON, _ := json.MarshalIndent(eventView(want), "", " ")
			gotJSON, _ := json.MarshalIndent(eventView(cmp), "", " ")
			t.Fatalf("round trip differs\nencoded: %s\nwant: %s\ngot:  %s", out, wantJSON, gotJSON)
		}
		if again := back.AppendJSON(nil); !bytes.Equal(again, out) {
			t.Fatalf("re-encoding differs:\n%s\n%s", out, again)
		}
	})
}

// checkFidelity checks that AppendJSON of the event decoded from data writes
// data's JSON value: every member, with its empty strings, {}, [] and nulls,
// and members Event has no field for. Not compared: eventTime (written in
// whole seconds, UTC), requestParameters and responseElements an API call
// lacks (written as null), and inputs with keys holding '.' or '[' (Extra's
// path syntax).
func checkFidelity(t *testing.T, data []byte, ev *Event) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var in any
	if d.Decode(&in) != nil || d.More() {
		return
	}
	out := ev.AppendJSON(nil)
	d = json.NewDecoder(bytes.NewReader(out))
	d.UseNumber()
	var got any
	if err := d.Decode(&got); err != nil {
		t.Fatalf("AppendJSON wrote invalid JSON: %v\n%s", err, out)
	}
	im, gm := in.(map[string]any), got.(map[string]any)
	if _, ok := im["eventTime"].(string); ok {
		im["eventTime"] = gm["eventTime"]
	}
	for _, k := range []string{"requestParameters", "responseElements"} {
		if _, ok := im[k]; !ok {
			delete(gm, k)
		}
	}
	if !reflect.DeepEqual(im, gm) {
		t.Fatalf("decode → AppendJSON lost or changed a member\nin:  %s\nout: %s", data, out)
	}
}

// eventsEqual reports whether a and b are deeply equal.
func eventsEqual(a, b Event) bool { return reflect.DeepEqual(a, b) }

// eventView is Event without its MarshalJSON method, with raw fields shown
// as strings so that they are compared byte for byte.
func eventView(e Event) any {
	type plain Event
	return struct {
		plain
		RP, RE, AD, SD, ED, IS, IBD, WA string
	}{plain(e), string(e.RequestParameters), string(e.ResponseElements), string(e.AdditionalEventData),
		string(e.ServiceEventDetails), string(e.EdgeDeviceDetails), string(e.UserIdentity.InScopeOf),
		string(e.UserIdentity.InvokedByDelegate), webAttrs(e)}
}

func webAttrs(e Event) string {
	if sc := e.UserIdentity.SessionContext; sc != nil && sc.WebIDFederationData != nil {
		return string(sc.WebIDFederationData.Attributes)
	}
	return ""
}

// discardSink accepts every file.
type discardSink struct{}

func (discardSink) Deliver(context.Context, *LogFile) error { return nil }

// FuzzRecordNoPanic feeds arbitrary JSON through Record on a recorder with
// basic, data, advanced and organization trails; nothing may panic.
func FuzzRecordNoPanic(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add([]byte(s))
	}
	f.Add([]byte(`{"eventSource":"a","eventName":"b","recipientAccountId":"444455556666","awsRegion":"eu-west-1"}`))
	f.Add([]byte(`{"eventSource":"a","eventName":"b","eventTime":"9999-12-31T23:59:59Z"}`))
	f.Add([]byte(`[1,2,3]`))
	f.Add([]byte(`not json`))
	sink := discardSink{}
	r, err := New(Config{AccountID: "111122223333", Region: "us-east-1", Overflow: Drop,
		DataResourceTypes: []string{"Example::Orders::Order"},
		Trails: []Trail{
			{Name: "basic", Sinks: []Sink{sink}, Management: ReadWriteWriteOnly, ExcludeManagementEventSources: []string{"kms.amazonaws.com"},
				Data: []DataResource{{Type: ResourceS3Object, Values: []string{"arn:aws:s3:::bkt/"}},
					{Type: ResourceLambdaFunction, Values: []string{"arn:aws:lambda:us-east-1:111122223333:function:f", "arn:aws:lambda"}, ReadWrite: ReadWriteReadOnly}}},
			{Name: "advanced", MultiRegion: true, Sinks: []Sink{sink}, Advanced: []AdvancedSelector{
				{FieldSelectors: []FieldSelector{{Field: "eventCategory", Equals: []string{"Management"}},
					{Field: "eventName", StartsWith: []string{"Create"}, NotEndsWith: []string{"Secret"}},
					{Field: "readOnly", Equals: []string{"false"}}}},
				{FieldSelectors: []FieldSelector{{Field: "eventCategory", Equals: []string{"Data"}},
					{Field: "resources.type", Equals: []string{"Example::Orders::Order"}},
					{Field: "resources.ARN", NotStartsWith: []string{"arn:example:secret"}, EndsWith: []string{"1", "2"}},
					{Field: "userIdentity.arn", NotEquals: []string{"arn:aws:iam::111122223333:root"}}}},
				{FieldSelectors: []FieldSelector{{Field: "eventCategory", Equals: []string{"NetworkActivity"}},
					{Field: "vpcEndpointId", StartsWith: []string{"vpce-"}}, {Field: "errorCode", Equals: []string{"VpceAccessDenied"}}}},
			}},
			{Name: "org", Organization: "o-exampleorgid", Prefix: "p", MultiRegion: true, MaxRecords: 3, Interval: time.Second, Sinks: []Sink{sink}},
		}})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = r.Close(context.Background()) })

	f.Fuzz(func(t *testing.T, data []byte) {
		var ev Event
		_ = json.Unmarshal(data, &ev) // a partial decode is fine too
		_ = ev.AppendJSON(nil)
		_, _ = ev.MarshalJSON()
		_ = ev.IsReadOnly()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		_ = r.Record(ctx, &ev)
	})
}

// FuzzSelectors decodes arbitrary JSON as basic and advanced selectors (the
// shape users keep in config files): New either refuses them with an error
// or compiles them, and matching events never panics.
func FuzzSelectors(f *testing.F) {
	f.Add([]byte(`[{"Name":"w","FieldSelectors":[{"Field":"eventCategory","Equals":["Management"]},{"Field":"readOnly","Equals":["false"]}]}]`), true)
	f.Add([]byte(`[{"ReadWriteType":"WriteOnly","DataResources":[{"Type":"AWS::S3::Object","Values":["arn:aws:s3:::b/"]}]}]`), false)
	f.Add([]byte(`[{"FieldSelectors":[{"Field":"resources.ARN","NotStartsWith":["arn:aws:s3:::x/"]},{"Field":"eventCategory","Equals":["Data"]},{"Field":"resources.type","Equals":["AWS::S3::Object"]}]}]`), true)
	f.Fuzz(func(t *testing.T, raw []byte, advanced bool) {
		tr := Trail{Name: "fuzzed", Sinks: []Sink{discardSink{}}}
		if advanced {
			if json.Unmarshal(raw, &tr.Advanced) != nil || tr.Advanced == nil {
				return
			}
		} else if json.Unmarshal(raw, &tr.EventSelectors) != nil || tr.EventSelectors == nil {
			return
		}
		rec, err := New(Config{AccountID: "111122223333", Region: "us-east-1", Trails: []Trail{tr}, History: NoHistory})
		if err != nil {
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("New: %v does not wrap ErrInvalidConfig", err)
			}
			return
		}
		defer rec.Close(context.Background())
		for _, ev := range []Event{FixtureFullEvent(), FixtureSpecManagementEvent(), {EventSource: "a.example.com", EventName: "X"}} {
			ev.EventTime, ev.EventID = time.Time{}, ""
			if err := rec.Record(context.Background(), &ev); err != nil {
				t.Fatalf("Record: %v", err)
			}
		}
	})
}

// FuzzDecodeLogFile reads arbitrary bytes as a CloudTrail log file (gzip or
// not): nothing may panic, and every record it returns re-encodes to valid
// JSON.
func FuzzDecodeLogFile(f *testing.F) {
	f.Add([]byte(`{"Records":[]}`))
	f.Add([]byte(`{"Records":null}`))
	f.Add([]byte(`{"Records":[` + SpecManagementRecord + `,{"eventVersion":"1.0","x":[]}]}`))
	gz, err := gzipBytes([]byte(`{"Records":[{"eventType":"AwsCloudTrailInsight","insightDetails":{}}]}`))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(gz)
	f.Fuzz(func(t *testing.T, data []byte) {
		evs, err := DecodeLogFile(bytes.NewReader(data))
		if err != nil {
			return
		}
		for i := range evs {
			if out := evs[i].AppendJSON(nil); !json.Valid(out) {
				t.Fatalf("record %d re-encodes to invalid JSON: %s", i, out)
			}
		}
	})
}
