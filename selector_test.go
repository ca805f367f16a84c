package trail_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/trailkit/trail"
	"github.com/trailkit/trail/sink/memsink"
)

// oneTrail is a config with a single trail (named t1 unless set) that
// delivers to a counting sink.
func oneTrail(tr trail.Trail) trail.Config {
	if tr.Name == "" {
		tr.Name = "trail-1"
	}
	if tr.Sinks == nil {
		tr.Sinks = []trail.Sink{&countSink{}}
	}
	return trail.Config{AccountID: testAccount, Region: testRegion, Trails: []trail.Trail{tr}}
}

// selects records e on a fresh recorder and reports whether a trail took it.
func selects(t *testing.T, cfg trail.Config, e trail.Event) bool {
	t.Helper()
	rec := newRecorder(t, cfg)
	require.NoError(t, rec.Record(context.Background(), &e))
	st := rec.Stats()
	require.EqualValues(t, 1, st.Recorded)
	return st.Unselected == 0
}

func mgmtSel(fs ...trail.FieldSelector) trail.AdvancedSelector {
	return trail.AdvancedSelector{Name: "management", FieldSelectors: append(
		[]trail.FieldSelector{{Field: "eventCategory", Equals: []string{trail.CategoryManagement}}}, fs...)}
}

func dataSel(typ string, fs ...trail.FieldSelector) trail.AdvancedSelector {
	return trail.AdvancedSelector{Name: "data " + typ, FieldSelectors: append([]trail.FieldSelector{
		{Field: "eventCategory", Equals: []string{trail.CategoryData}},
		{Field: "resources.type", Equals: []string{typ}},
	}, fs...)}
}

// advanced is a one-trail config with advanced selectors.
func advanced(sels ...trail.AdvancedSelector) trail.Config {
	return oneTrail(trail.Trail{Advanced: sels})
}

const (
	s3Obj     = "arn:aws:s3:::bkt/key.png"
	lambdaFn  = "arn:aws:lambda:us-east-1:111122223333:function:helloworld"
	lambdaFn2 = "arn:aws:lambda:us-east-1:111122223333:function:helloworld2"
)

type op struct {
	name     string
	negative bool
	set      func(fs *trail.FieldSelector, v string)
}

var operators = []op{
	{"Equals", false, func(fs *trail.FieldSelector, v string) { fs.Equals = []string{v} }},
	{"StartsWith", false, func(fs *trail.FieldSelector, v string) { fs.StartsWith = []string{v} }},
	{"EndsWith", false, func(fs *trail.FieldSelector, v string) { fs.EndsWith = []string{v} }},
	{"NotEquals", true, func(fs *trail.FieldSelector, v string) { fs.NotEquals = []string{v} }},
	{"NotStartsWith", true, func(fs *trail.FieldSelector, v string) { fs.NotStartsWith = []string{v} }},
	{"NotEndsWith", true, func(fs *trail.FieldSelector, v string) { fs.NotEndsWith = []string{v} }},
}

// TestAdvancedOperators runs every operator and its negation on several
// fields, each with an event whose value matches the operand and one whose
// value does not, on management and data selectors.
func TestAdvancedOperators(t *testing.T) {
	type field struct {
		name       string
		eq, sw, ew string // operands of Equals/NotEquals, StartsWith/..., EndsWith/...
		hit, miss  string // an event value matching all three operands, one matching none
		set        func(e *trail.Event, v string)
	}
	fields := []field{
		{"eventName", "CreateOrder", "Create", "Order", "CreateOrder", "GetInvoice",
			func(e *trail.Event, v string) { e.EventName = v }},
		{"eventSource", "kms.amazonaws.com", "kms.", ".amazonaws.com", "kms.amazonaws.com", "orders.example.com",
			func(e *trail.Event, v string) { e.EventSource = v }},
		{"userIdentity.arn", "arn:aws:iam::111122223333:user/alice", "arn:aws:iam::", "/alice",
			"arn:aws:iam::111122223333:user/alice", "arn:aws:sts::111122223333:assumed-role/R/bob",
			func(e *trail.Event, v string) { e.UserIdentity.ARN = v }},
		{"errorCode", "AccessDenied", "Access", "Denied", "AccessDenied", "ThrottlingException",
			func(e *trail.Event, v string) { e.ErrorCode = v }},
		{"eventType", trail.EventTypeConsoleAction, "AwsConsole", "Action", trail.EventTypeConsoleAction, trail.EventTypeAPICall,
			func(e *trail.Event, v string) { e.EventType = v }},
		{"vpcEndpointId", "vpce-0fc2df27fd109d43a", "vpce-0fc", "d43a", "vpce-0fc2df27fd109d43a", "vpce-1234",
			func(e *trail.Event, v string) { e.VPCEndpointID = v }},
		// miss is the empty (absent) value.
		{"sessionCredentialFromConsole", "true", "t", "ue", "true", "",
			func(e *trail.Event, v string) { e.SessionCredentialFromConsole = v }},
		{"resources.ARN", s3Obj, "arn:aws:s3:::bkt/", ".png", s3Obj, "arn:aws:s3:::other/doc.txt",
			func(e *trail.Event, v string) {
				e.Resources = []trail.Resource{{Type: trail.ResourceS3Object, ARN: v}}
			}},
	}
	for _, f := range fields {
		for _, o := range operators {
			operand := map[string]string{"Equals": f.eq, "NotEquals": f.eq, "StartsWith": f.sw,
				"NotStartsWith": f.sw, "EndsWith": f.ew, "NotEndsWith": f.ew}[o.name]
			fs := trail.FieldSelector{Field: f.name}
			o.set(&fs, operand)
			contexts := []struct {
				name string
				sel  trail.AdvancedSelector
				base func() trail.Event
			}{
				{"management", mgmtSel(fs), func() trail.Event { return *mkEvent("Op") }},
				{"data", dataSel(trail.ResourceS3Object, fs), func() trail.Event {
					e := mkEvent("Op")
					e.Resources = []trail.Resource{{Type: trail.ResourceS3Object, ARN: "arn:aws:s3:::bkt/other"}}
					return *e
				}},
			}
			for _, c := range contexts {
				if f.name == "resources.ARN" && c.name == "management" {
					continue
				}
				for _, tc := range []struct {
					value string
					want  bool
				}{{f.hit, !o.negative}, {f.miss, o.negative}} {
					name := fmt.Sprintf("%s/%s/%s/%s=%q", c.name, f.name, o.name, f.name, tc.value)
					t.Run(name, func(t *testing.T) {
						e := c.base()
						f.set(&e, tc.value)
						assert.Equal(t, tc.want, selects(t, advanced(c.sel), e))
					})
				}
			}
		}
	}
}

func TestAdvancedSelectorSemantics(t *testing.T) {
	withName := func(name string, mods ...func(*trail.Event)) trail.Event {
		e := *mkEvent(name)
		for _, m := range mods {
			m(&e)
		}
		return e
	}
	res := func(rs ...trail.Resource) func(*trail.Event) {
		return func(e *trail.Event) { e.Resources = rs }
	}
	ro := func(v *bool) func(*trail.Event) { return func(e *trail.Event) { e.ReadOnly = v } }
	tests := []struct {
		name string
		sels []trail.AdvancedSelector
		ev   trail.Event
		want bool
	}{
		{"several Equals values are alternatives",
			[]trail.AdvancedSelector{mgmtSel(trail.FieldSelector{Field: "eventName", Equals: []string{"A", "B", "C"}})},
			withName("B"), true},
		{"positive operators of one field are alternatives",
			[]trail.AdvancedSelector{mgmtSel(trail.FieldSelector{Field: "eventName", Equals: []string{"X"}, EndsWith: []string{"Order"}})},
			withName("CreateOrder"), true},
		{"StartsWith combined with NotEndsWith: kept",
			[]trail.AdvancedSelector{mgmtSel(trail.FieldSelector{Field: "eventName", StartsWith: []string{"Create"}, NotEndsWith: []string{"Invoice"}})},
			withName("CreateOrder"), true},
		{"StartsWith combined with NotEndsWith: excluded",
			[]trail.AdvancedSelector{mgmtSel(trail.FieldSelector{Field: "eventName", StartsWith: []string{"Create"}, NotEndsWith: []string{"Invoice"}})},
			withName("CreateInvoice"), false},
		{"a Not operator excludes on any of its values",
			[]trail.AdvancedSelector{mgmtSel(trail.FieldSelector{Field: "eventName", NotEquals: []string{"A", "B"}})},
			withName("B"), false},
		{"field selectors of one selector are AND'ed",
			[]trail.AdvancedSelector{mgmtSel(
				trail.FieldSelector{Field: "eventName", Equals: []string{"CreateOrder"}},
				trail.FieldSelector{Field: "eventSource", Equals: []string{"kms.amazonaws.com"}})},
			withName("CreateOrder"), false},
		{"selectors are OR'ed",
			[]trail.AdvancedSelector{
				mgmtSel(trail.FieldSelector{Field: "eventName", Equals: []string{"Nope"}}),
				mgmtSel(trail.FieldSelector{Field: "eventName", Equals: []string{"CreateOrder"}})},
			withName("CreateOrder"), true},
		{"readOnly Equals true: true", []trail.AdvancedSelector{mgmtSel(trail.FieldSelector{Field: "readOnly", Equals: []string{"true"}})},
			withName("Get", ro(trail.Bool(true))), true},
		{"readOnly Equals true: false", []trail.AdvancedSelector{mgmtSel(trail.FieldSelector{Field: "readOnly", Equals: []string{"true"}})},
			withName("Put", ro(trail.Bool(false))), false},
		{"readOnly Equals true: absent", []trail.AdvancedSelector{mgmtSel(trail.FieldSelector{Field: "readOnly", Equals: []string{"true"}})},
			withName("Put"), false},
		{"readOnly Equals false: false", []trail.AdvancedSelector{mgmtSel(trail.FieldSelector{Field: "readOnly", Equals: []string{"false"}})},
			withName("Put", ro(trail.Bool(false))), true},
		{"eventCategory Management does not take data events",
			[]trail.AdvancedSelector{mgmtSel()},
			withName("GetObject", res(trail.Resource{Type: trail.ResourceS3Object, ARN: s3Obj})), false},
		{"data selector does not take management events",
			[]trail.AdvancedSelector{dataSel(trail.ResourceS3Object)},
			withName("CreateOrder"), false},
		{"resources.type Equals: other data type",
			[]trail.AdvancedSelector{dataSel(trail.ResourceS3Object)},
			withName("Invoke", res(trail.Resource{Type: trail.ResourceLambdaFunction, ARN: lambdaFn})), false},
		{"resources.type Equals: second resource has the type",
			[]trail.AdvancedSelector{dataSel(trail.ResourceS3Object)},
			withName("GetObject", res(trail.Resource{Type: "AWS::S3::Bucket", ARN: "arn:aws:s3:::bkt"},
				trail.Resource{Type: trail.ResourceS3Object, ARN: s3Obj})), true},
		{"resources conditions held by one resource: split over two resources",
			[]trail.AdvancedSelector{dataSel(trail.ResourceS3Object, trail.FieldSelector{Field: "resources.ARN", StartsWith: []string{"arn:aws:s3:::bkt/"}})},
			withName("GetObject", res(trail.Resource{Type: trail.ResourceS3Object, ARN: "arn:aws:s3:::other/x"},
				trail.Resource{Type: "AWS::S3::Bucket", ARN: "arn:aws:s3:::bkt/"})), false},
		{"resources conditions held by one resource: same resource",
			[]trail.AdvancedSelector{dataSel(trail.ResourceS3Object, trail.FieldSelector{Field: "resources.ARN", StartsWith: []string{"arn:aws:s3:::bkt/"}})},
			withName("GetObject", res(trail.Resource{Type: "AWS::S3::Bucket", ARN: "arn:aws:s3:::bkt"},
				trail.Resource{Type: trail.ResourceS3Object, ARN: "arn:aws:s3:::bkt/x"})), true},
		{"resources.ARN NotStartsWith: only the excluded object",
			[]trail.AdvancedSelector{dataSel(trail.ResourceS3Object, trail.FieldSelector{Field: "resources.ARN", NotStartsWith: []string{"arn:aws:s3:::secret/"}})},
			withName("GetObject", res(trail.Resource{Type: trail.ResourceS3Object, ARN: "arn:aws:s3:::secret/x"},
				trail.Resource{Type: "AWS::S3::Bucket", ARN: "arn:aws:s3:::public/"})), false},
		{"resources.ARN NotStartsWith: another object of the event qualifies",
			[]trail.AdvancedSelector{dataSel(trail.ResourceS3Object, trail.FieldSelector{Field: "resources.ARN", NotStartsWith: []string{"arn:aws:s3:::secret/"}})},
			withName("CopyObject", res(trail.Resource{Type: trail.ResourceS3Object, ARN: "arn:aws:s3:::secret/x"},
				trail.Resource{Type: trail.ResourceS3Object, ARN: "arn:aws:s3:::public/y"})), true},
		{"host-defined data type in an advanced selector",
			[]trail.AdvancedSelector{dataSel("Example::Orders::Order", trail.FieldSelector{Field: "resources.ARN", StartsWith: []string{"arn:example:orders:"}})},
			withName("GetOrder", res(trail.Resource{Type: "Example::Orders::Order", ARN: "arn:example:orders:us-east-1:111122223333:order/1"})), true},
		{"NetworkActivity selector",
			[]trail.AdvancedSelector{{FieldSelectors: []trail.FieldSelector{
				{Field: "eventCategory", Equals: []string{trail.CategoryNetworkActivity}},
				{Field: "eventSource", Equals: []string{"s3.amazonaws.com"}},
				{Field: "errorCode", Equals: []string{"VpceAccessDenied"}}}}},
			withName("GetObject", func(e *trail.Event) {
				e.EventSource, e.EventCategory, e.ErrorCode, e.EventType = "s3.amazonaws.com", trail.CategoryNetworkActivity, "VpceAccessDenied", trail.EventTypeVPCEEvent
			}), true},
		{"empty advanced list selects nothing", []trail.AdvancedSelector{}, withName("CreateOrder"), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, selects(t, advanced(tc.sels...), tc.ev))
		})
	}
}

// TestAdvancedSelectorsJSON decodes the AWS JSON shape of spec §5.2.
func TestAdvancedSelectorsJSON(t *testing.T) {
	const doc = `[{"Name":"Management events","FieldSelectors":[{"Field":"eventCategory","Equals":["Management"]}]},
	 {"Name":"S3 writes in two prefixes","FieldSelectors":[
	   {"Field":"eventCategory","Equals":["Data"]},
	   {"Field":"resources.type","Equals":["AWS::S3::Object"]},
	   {"Field":"eventName","Equals":["PutObject","DeleteObject"]},
	   {"Field":"resources.ARN","StartsWith":["arn:aws:s3:::mybucket/prefix","arn:aws:s3:::mybucket2/prefix2"]}]}]`
	var sels []trail.AdvancedSelector
	require.NoError(t, json.Unmarshal([]byte(doc), &sels))
	require.Len(t, sels, 2)
	obj := func(name, arn string) trail.Event {
		e := *mkEvent(name)
		e.EventSource = "s3.amazonaws.com"
		e.Resources = []trail.Resource{{Type: trail.ResourceS3Object, ARN: arn}}
		return e
	}
	tests := []struct {
		name string
		ev   trail.Event
		want bool
	}{
		{"management", *mkEvent("CreateOrder"), true},
		{"put in prefix", obj("PutObject", "arn:aws:s3:::mybucket/prefix/a"), true},
		{"delete in second prefix", obj("DeleteObject", "arn:aws:s3:::mybucket2/prefix2x"), true},
		{"get in prefix", obj("GetObject", "arn:aws:s3:::mybucket/prefix/a"), false},
		{"put elsewhere", obj("PutObject", "arn:aws:s3:::mybucket/other"), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, selects(t, advanced(sels...), tc.ev))
		})
	}
	out, err := json.Marshal(sels)
	require.NoError(t, err)
	assert.JSONEq(t, doc, string(out))
}

func TestSelectorValidation(t *testing.T) {
	fs := func(field string, mod func(*trail.FieldSelector)) trail.FieldSelector {
		f := trail.FieldSelector{Field: field}
		mod(&f)
		return f
	}
	eq := func(v ...string) func(*trail.FieldSelector) { return func(f *trail.FieldSelector) { f.Equals = v } }
	sw := func(v ...string) func(*trail.FieldSelector) { return func(f *trail.FieldSelector) { f.StartsWith = v } }
	neq := func(v ...string) func(*trail.FieldSelector) { return func(f *trail.FieldSelector) { f.NotEquals = v } }
	many := func(prefix string, n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("%s%d", prefix, i)
		}
		return out
	}
	tests := []struct {
		name    string
		trail   trail.Trail
		wantErr string // substring of the error; "" means valid
	}{
		{"unknown field", trail.Trail{Advanced: []trail.AdvancedSelector{mgmtSel(fs("eventTime", eq("x")))}}, `unsupported field "eventTime"`},
		{"eventCategory StartsWith", trail.Trail{Advanced: []trail.AdvancedSelector{{FieldSelectors: []trail.FieldSelector{fs("eventCategory", sw("Man"))}}}}, "supports only the Equals operator"},
		{"eventCategory Equals plus NotEquals", trail.Trail{Advanced: []trail.AdvancedSelector{{FieldSelectors: []trail.FieldSelector{
			{Field: "eventCategory", Equals: []string{"Management"}, NotEquals: []string{"Data"}}}}}}, "supports only the Equals operator"},
		{"readOnly NotEquals", trail.Trail{Advanced: []trail.AdvancedSelector{mgmtSel(fs("readOnly", neq("true")))}}, "supports only the Equals operator"},
		{"resources.type StartsWith", trail.Trail{Advanced: []trail.AdvancedSelector{{FieldSelectors: []trail.FieldSelector{
			fs("eventCategory", eq("Data")), fs("resources.type", sw("AWS::S3"))}}}}, "supports only the Equals operator"},
		{"missing eventCategory", trail.Trail{Advanced: []trail.AdvancedSelector{{FieldSelectors: []trail.FieldSelector{fs("eventName", eq("A"))}}}}, "eventCategory is required"},
		{"data selector without resources.type", trail.Trail{Advanced: []trail.AdvancedSelector{{FieldSelectors: []trail.FieldSelector{fs("eventCategory", eq("Data"))}}}}, "exactly one resources.type"},
		{"data selector with two resources.type values", trail.Trail{Advanced: []trail.AdvancedSelector{{FieldSelectors: []trail.FieldSelector{
			fs("eventCategory", eq("Data")), fs("resources.type", eq(trail.ResourceS3Object, trail.ResourceLambdaFunction))}}}}, "exactly one resources.type"},
		{"bad eventCategory value", trail.Trail{Advanced: []trail.AdvancedSelector{{FieldSelectors: []trail.FieldSelector{fs("eventCategory", eq("Insight"))}}}}, `eventCategory "Insight"`},
		{"bad readOnly value", trail.Trail{Advanced: []trail.AdvancedSelector{mgmtSel(fs("readOnly", eq("yes")))}}, `readOnly value "yes"`},
		{"duplicate field", trail.Trail{Advanced: []trail.AdvancedSelector{mgmtSel(fs("eventName", eq("A")), fs("eventName", eq("B")))}}, "appears twice"},
		{"field without values", trail.Trail{Advanced: []trail.AdvancedSelector{mgmtSel(trail.FieldSelector{Field: "eventName"})}}, "no operator values"},
		{"empty value", trail.Trail{Advanced: []trail.AdvancedSelector{mgmtSel(fs("eventName", eq("")))}}, "values must be 1 to 2048"},
		{"value longer than 2048", trail.Trail{Advanced: []trail.AdvancedSelector{mgmtSel(fs("eventName", eq(strings.Repeat("x", 2049))))}}, "values must be 1 to 2048"},
		{"no field selectors", trail.Trail{Advanced: []trail.AdvancedSelector{{Name: "empty"}}}, "no field selectors"},
		{"name longer than 1000", trail.Trail{Advanced: []trail.AdvancedSelector{{Name: strings.Repeat("n", 1001), FieldSelectors: mgmtSel().FieldSelectors}}}, "name longer than 1000"},
		{"501 values over two selectors", trail.Trail{Advanced: []trail.AdvancedSelector{
			mgmtSel(fs("eventName", eq(many("a", 250)...))), mgmtSel(fs("eventSource", neq(many("b", 249)...)))}}, "more than 500"},
		{"500 values", trail.Trail{Advanced: []trail.AdvancedSelector{
			mgmtSel(fs("eventName", eq(many("a", 250)...))), mgmtSel(fs("eventSource", neq(many("b", 248)...)))}}, ""},
		{"basic Management and Advanced", trail.Trail{Management: trail.ReadWriteReadOnly, Advanced: []trail.AdvancedSelector{mgmtSel()}}, "mutually exclusive"},
		{"basic Data and Advanced", trail.Trail{Data: []trail.DataResource{{Type: trail.ResourceS3Object, Values: []string{"arn:aws:s3"}}},
			Advanced: []trail.AdvancedSelector{mgmtSel()}}, "mutually exclusive"},
		{"ExcludeManagementEventSources and Advanced", trail.Trail{ExcludeManagementEventSources: []string{"kms.amazonaws.com"},
			Advanced: []trail.AdvancedSelector{mgmtSel()}}, "mutually exclusive"},
		{"data resource without type", trail.Trail{Data: []trail.DataResource{{Values: []string{"arn:aws:s3"}}}}, "empty Type"},
		{"data resource without values", trail.Trail{Data: []trail.DataResource{{Type: trail.ResourceS3Object}}}, "no Values"},
		{"data resource ReadWrite None", trail.Trail{Data: []trail.DataResource{{Type: trail.ResourceS3Object, Values: []string{"arn:aws:s3"}, ReadWrite: trail.ReadWriteNone}}}, "ReadWrite must be"},
		{"data resource empty value", trail.Trail{Data: []trail.DataResource{{Type: trail.ResourceS3Object, Values: []string{""}}}}, "values must be 1 to"},
		{"251 data resource values", trail.Trail{Data: []trail.DataResource{
			{Type: trail.ResourceS3Object, Values: many("arn:aws:s3:::b", 200)},
			{Type: trail.ResourceLambdaFunction, Values: many("arn:aws:lambda:us-east-1:111122223333:function:f", 51)}}}, "more than 250"},
		{"unknown Management value", trail.Trail{Management: trail.ReadWriteType(9)}, "unknown Management"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec, err := trail.New(oneTrail(tc.trail))
			if tc.wantErr == "" {
				require.NoError(t, err)
				require.NoError(t, rec.Close(context.Background()))
				return
			}
			require.Error(t, err)
			assert.ErrorIs(t, err, trail.ErrInvalidConfig)
			assert.Contains(t, err.Error(), tc.wantErr)
		})
	}
}

func TestConfigValidation(t *testing.T) {
	sink := &countSink{}
	good := trail.Trail{Name: "main", Sinks: []trail.Sink{sink}}
	tests := []struct {
		name    string
		mod     func(*trail.Config)
		wantErr string
	}{
		{"valid", func(*trail.Config) {}, ""},
		{"bad account", func(c *trail.Config) { c.AccountID = "1234" }, "AccountID"},
		{"bad region", func(c *trail.Config) { c.Region = "US_EAST" }, "Region"},
		{"bad trail name", func(c *trail.Config) { c.Trails[0].Name = "a" }, "3 to 128"},
		{"trail name like an IP", func(c *trail.Config) { c.Trails[0].Name = "10.0.0.1" }, "IP address"},
		{"adjacent separators", func(c *trail.Config) { c.Trails[0].Name = "my--trail" }, "adjacent"},
		{"duplicate trail", func(c *trail.Config) { c.Trails = append(c.Trails, good) }, "duplicate"},
		{"no sinks", func(c *trail.Config) { c.Trails[0].Sinks = nil }, "no sinks"},
		{"nil sink", func(c *trail.Config) { c.Trails[0].Sinks = []trail.Sink{nil} }, "nil"},
		{"prefix with leading slash", func(c *trail.Config) { c.Trails[0].Prefix = "/team" }, "prefix"},
		{"prefix with dot-dot", func(c *trail.Config) { c.Trails[0].Prefix = "team/../x" }, "prefix"},
		{"prefix too long", func(c *trail.Config) { c.Trails[0].Prefix = strings.Repeat("p", 201) }, "prefix"},
		{"bad organization", func(c *trail.Config) { c.Trails[0].Organization = "org-1" }, "Organization"},
		{"negative interval", func(c *trail.Config) { c.Trails[0].Interval = -1 }, "negative"},
		{"negative queue", func(c *trail.Config) { c.QueueSize = -1 }, "queue"},
		{"bad overflow", func(c *trail.Config) { c.Overflow = trail.OverflowPolicy(7) }, "overflow"},
		{"negative attempts", func(c *trail.Config) { c.Retry.MaxAttempts = -2 }, "MaxAttempts"},
		{"65 trails", func(c *trail.Config) {
			c.Trails = nil
			for i := range 65 {
				c.Trails = append(c.Trails, trail.Trail{Name: fmt.Sprintf("trail-%d", i), Sinks: []trail.Sink{sink}})
			}
		}, "64"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := trail.Config{AccountID: testAccount, Region: testRegion, Trails: []trail.Trail{good}}
			tc.mod(&cfg)
			rec, err := trail.New(cfg)
			if tc.wantErr == "" {
				require.NoError(t, err)
				require.NoError(t, rec.Close(context.Background()))
				return
			}
			require.ErrorIs(t, err, trail.ErrInvalidConfig)
			assert.Contains(t, err.Error(), tc.wantErr)
		})
	}
}

func TestManagementReadWrite(t *testing.T) {
	events := map[string]*bool{"readOnly": trail.Bool(true), "write": trail.Bool(false), "unflagged": nil}
	want := map[trail.ReadWriteType]map[string]bool{
		trail.ReadWriteAll:       {"readOnly": true, "write": true, "unflagged": true},
		trail.ReadWriteReadOnly:  {"readOnly": true, "write": false, "unflagged": false},
		trail.ReadWriteWriteOnly: {"readOnly": false, "write": true, "unflagged": true},
		trail.ReadWriteNone:      {"readOnly": false, "write": false, "unflagged": false},
	}
	for rw, byEvent := range want {
		for name, ro := range events {
			t.Run(rw.String()+"/"+name, func(t *testing.T) {
				e := *mkEvent("Op")
				e.ReadOnly = ro
				assert.Equal(t, byEvent[name], selects(t, oneTrail(trail.Trail{Management: rw}), e))
			})
		}
	}
}

func TestReadWriteTypeText(t *testing.T) {
	for _, rw := range []trail.ReadWriteType{trail.ReadWriteAll, trail.ReadWriteReadOnly, trail.ReadWriteWriteOnly, trail.ReadWriteNone} {
		b, err := rw.MarshalText()
		require.NoError(t, err)
		var back trail.ReadWriteType
		require.NoError(t, back.UnmarshalText(b))
		assert.Equal(t, rw, back)
		assert.Equal(t, rw.String(), string(b))
	}
	var rw trail.ReadWriteType
	assert.Error(t, rw.UnmarshalText([]byte("read-only")))
	_, err := trail.ReadWriteType(42).MarshalText()
	assert.Error(t, err)
	assert.Equal(t, "ReadWriteType(42)", trail.ReadWriteType(42).String())
}

func TestExcludeManagementEventSources(t *testing.T) {
	cfg := func() trail.Config {
		return oneTrail(trail.Trail{
			ExcludeManagementEventSources: []string{"kms.amazonaws.com", "rdsdata.amazonaws.com"},
			Data:                          []trail.DataResource{{Type: trail.ResourceS3Object, Values: []string{"arn:aws:s3"}}},
		})
	}
	tests := []struct {
		name   string
		source string
		data   bool
		want   bool
	}{
		{"kms management excluded", "kms.amazonaws.com", false, false},
		{"rdsdata management excluded", "rdsdata.amazonaws.com", false, false},
		{"other management kept", "orders.example.com", false, true},
		{"exclusion does not apply to data events", "kms.amazonaws.com", true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := *mkEvent("Decrypt")
			e.EventSource = tc.source
			if tc.data {
				e.Resources = []trail.Resource{{Type: trail.ResourceS3Object, ARN: s3Obj}}
			}
			assert.Equal(t, tc.want, selects(t, cfg(), e))
		})
	}
}

func TestDataResources(t *testing.T) {
	s3 := func(vals ...string) trail.DataResource {
		return trail.DataResource{Type: trail.ResourceS3Object, Values: vals}
	}
	lambda := func(vals ...string) trail.DataResource {
		return trail.DataResource{Type: trail.ResourceLambdaFunction, Values: vals}
	}
	withRes := func(typ, arn string, ro *bool) trail.Event {
		e := *mkEvent("DataOp")
		e.Resources = []trail.Resource{{Type: typ, ARN: arn}}
		e.ReadOnly = ro
		return e
	}
	tests := []struct {
		name string
		data []trail.DataResource
		ev   trail.Event
		want bool
	}{
		{"S3 whole bucket", []trail.DataResource{s3("arn:aws:s3:::bkt/")}, withRes(trail.ResourceS3Object, "arn:aws:s3:::bkt/a/b.txt", nil), true},
		{"S3 other bucket", []trail.DataResource{s3("arn:aws:s3:::bkt/")}, withRes(trail.ResourceS3Object, "arn:aws:s3:::bkt2/a", nil), false},
		{"S3 key prefix", []trail.DataResource{s3("arn:aws:s3:::bkt/images")}, withRes(trail.ResourceS3Object, "arn:aws:s3:::bkt/images/cat.png", nil), true},
		{"S3 key prefix is a string prefix", []trail.DataResource{s3("arn:aws:s3:::bkt/images")}, withRes(trail.ResourceS3Object, "arn:aws:s3:::bkt/images2/x", nil), true},
		{"S3 key outside prefix", []trail.DataResource{s3("arn:aws:s3:::bkt/images")}, withRes(trail.ResourceS3Object, "arn:aws:s3:::bkt/docs/x", nil), false},
		{"S3 all buckets (arn:aws:s3)", []trail.DataResource{s3("arn:aws:s3")}, withRes(trail.ResourceS3Object, "arn:aws:s3:::any/x", nil), true},
		{"S3 all buckets (arn:aws:s3:::)", []trail.DataResource{s3("arn:aws:s3:::")}, withRes(trail.ResourceS3Object, "arn:aws:s3:::any/x", nil), true},
		{"S3 second value", []trail.DataResource{s3("arn:aws:s3:::a/", "arn:aws:s3:::b/")}, withRes(trail.ResourceS3Object, "arn:aws:s3:::b/x", nil), true},
		{"S3 value but Lambda resource", []trail.DataResource{s3("arn:aws")}, withRes(trail.ResourceLambdaFunction, lambdaFn, nil), false},
		{"Lambda exact ARN", []trail.DataResource{lambda(lambdaFn)}, withRes(trail.ResourceLambdaFunction, lambdaFn, nil), true},
		{"Lambda exact ARN is not a prefix", []trail.DataResource{lambda(lambdaFn)}, withRes(trail.ResourceLambdaFunction, lambdaFn2, nil), false},
		{"Lambda all functions", []trail.DataResource{lambda("arn:aws:lambda")}, withRes(trail.ResourceLambdaFunction, lambdaFn2, nil), true},
		{"DynamoDB table prefix", []trail.DataResource{{Type: trail.ResourceDynamoDBTable, Values: []string{"arn:aws:dynamodb:us-east-1:111122223333:table/"}}},
			withRes(trail.ResourceDynamoDBTable, "arn:aws:dynamodb:us-east-1:111122223333:table/orders", nil), true},
		{"host-defined type", []trail.DataResource{{Type: "Example::Orders::Order", Values: []string{"arn:example:orders:"}}},
			withRes("Example::Orders::Order", "arn:example:orders:us-east-1:111122223333:order/1", nil), true},
		{"host-defined type, other prefix", []trail.DataResource{{Type: "Example::Orders::Order", Values: []string{"arn:example:orders:eu-"}}},
			withRes("Example::Orders::Order", "arn:example:orders:us-east-1:111122223333:order/1", nil), false},
		{"ReadWrite ReadOnly takes reads", []trail.DataResource{{Type: trail.ResourceS3Object, Values: []string{"arn:aws:s3"}, ReadWrite: trail.ReadWriteReadOnly}},
			withRes(trail.ResourceS3Object, s3Obj, trail.Bool(true)), true},
		{"ReadWrite ReadOnly drops writes", []trail.DataResource{{Type: trail.ResourceS3Object, Values: []string{"arn:aws:s3"}, ReadWrite: trail.ReadWriteReadOnly}},
			withRes(trail.ResourceS3Object, s3Obj, trail.Bool(false)), false},
		{"ReadWrite WriteOnly takes writes", []trail.DataResource{{Type: trail.ResourceS3Object, Values: []string{"arn:aws:s3"}, ReadWrite: trail.ReadWriteWriteOnly}},
			withRes(trail.ResourceS3Object, s3Obj, trail.Bool(false)), true},
		{"ReadWrite WriteOnly takes unflagged", []trail.DataResource{{Type: trail.ResourceS3Object, Values: []string{"arn:aws:s3"}, ReadWrite: trail.ReadWriteWriteOnly}},
			withRes(trail.ResourceS3Object, s3Obj, nil), true},
		{"ReadWrite WriteOnly drops reads", []trail.DataResource{{Type: trail.ResourceS3Object, Values: []string{"arn:aws:s3"}, ReadWrite: trail.ReadWriteWriteOnly}},
			withRes(trail.ResourceS3Object, s3Obj, trail.Bool(true)), false},
		{"ReadWrite of one resource entry, other entry matches", []trail.DataResource{
			{Type: trail.ResourceS3Object, Values: []string{"arn:aws:s3"}, ReadWrite: trail.ReadWriteWriteOnly},
			{Type: trail.ResourceS3Object, Values: []string{"arn:aws:s3:::bkt/"}, ReadWrite: trail.ReadWriteReadOnly}},
			withRes(trail.ResourceS3Object, s3Obj, trail.Bool(true)), true},
		{"no data selectors: data event not taken", nil, withRes(trail.ResourceS3Object, s3Obj, nil), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Management None: only the data selectors can select.
			assert.Equal(t, tc.want, selects(t, oneTrail(trail.Trail{Management: trail.ReadWriteNone, Data: tc.data}), tc.ev))
		})
	}
}

// TestCategoryStamping checks eventCategory and managementEvent as delivered.
func TestCategoryStamping(t *testing.T) {
	const hostType = "Example::Orders::Order"
	sink := memsink.New()
	rec := newRecorder(t, trail.Config{
		DataResourceTypes: []string{hostType},
		Trails: []trail.Trail{{Name: "all", Sinks: []trail.Sink{sink}, Advanced: []trail.AdvancedSelector{
			mgmtSel(),
			dataSel(trail.ResourceS3Object),
			dataSel(hostType),
			{FieldSelectors: []trail.FieldSelector{{Field: "eventCategory", Equals: []string{trail.CategoryNetworkActivity}}}},
		}}},
	})
	tests := []struct {
		name         string
		mod          func(*trail.Event)
		wantCategory string
		wantMgmt     *bool
	}{
		{"no resources", func(*trail.Event) {}, trail.CategoryManagement, trail.Bool(true)},
		{"resource of a non-data type", func(e *trail.Event) {
			e.Resources = []trail.Resource{{Type: "AWS::S3::Bucket", ARN: "arn:aws:s3:::bkt"}}
		}, trail.CategoryManagement, trail.Bool(true)},
		{"S3 object among resources", func(e *trail.Event) {
			e.Resources = []trail.Resource{{Type: "AWS::S3::Bucket", ARN: "arn:aws:s3:::bkt"}, {Type: trail.ResourceS3Object, ARN: s3Obj}}
		}, trail.CategoryData, trail.Bool(false)},
		{"host type from Config.DataResourceTypes", func(e *trail.Event) {
			e.Resources = []trail.Resource{{Type: hostType, ARN: "arn:example:orders:::order/1"}}
		}, trail.CategoryData, trail.Bool(false)},
		{"explicit Management category kept", func(e *trail.Event) {
			e.EventCategory = trail.CategoryManagement
			e.Resources = []trail.Resource{{Type: trail.ResourceS3Object, ARN: s3Obj}}
		}, trail.CategoryManagement, trail.Bool(true)},
		{"explicit managementEvent kept", func(e *trail.Event) {
			e.ManagementEvent = trail.Bool(false)
		}, trail.CategoryManagement, trail.Bool(false)},
		{"NetworkActivity has no managementEvent", func(e *trail.Event) {
			e.EventCategory = trail.CategoryNetworkActivity
			e.EventType = trail.EventTypeVPCEEvent
		}, trail.CategoryNetworkActivity, nil},
	}
	ctx := context.Background()
	for _, tc := range tests {
		e := mkEvent(tc.name)
		tc.mod(e)
		require.NoError(t, rec.Record(ctx, e))
	}
	require.NoError(t, rec.Flush(ctx))
	require.Zero(t, rec.Stats().Unselected)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := sink.FindEvents(memsink.MatchFunc(func(e *trail.Event) bool { return e.EventName == tc.name }))
			require.Len(t, got, 1)
			assert.Equal(t, tc.wantCategory, got[0].EventCategory)
			assert.Equal(t, tc.wantMgmt, got[0].ManagementEvent)
		})
	}

	t.Run("type named in a trail's data selector is a data type", func(t *testing.T) {
		sink := memsink.New()
		rec := newRecorder(t, trail.Config{Trails: []trail.Trail{{Name: "billing", Sinks: []trail.Sink{sink},
			Data: []trail.DataResource{{Type: "Example::Billing::Invoice", Values: []string{"arn:example:billing:"}}}}}})
		e := mkEvent("GetInvoice")
		e.Resources = []trail.Resource{{Type: "Example::Billing::Invoice", ARN: "arn:example:billing:::invoice/1"}}
		require.NoError(t, rec.Record(ctx, e))
		require.NoError(t, rec.Flush(ctx))
		got := sink.Events()
		require.Len(t, got, 1)
		assert.Equal(t, trail.CategoryData, got[0].EventCategory)
		assert.Equal(t, trail.Bool(false), got[0].ManagementEvent)
	})
}

func TestRegionScoping(t *testing.T) {
	home, global := memsink.New(), memsink.New()
	rec := newRecorder(t, trail.Config{Trails: []trail.Trail{
		{Name: "home", Sinks: []trail.Sink{home}},
		{Name: "global", MultiRegion: true, Sinks: []trail.Sink{global}},
	}})
	ctx := context.Background()
	for _, region := range []string{"", testRegion, "eu-west-1", "ap-southeast-2"} {
		e := mkEvent("Op-" + region)
		e.AWSRegion = region
		require.NoError(t, rec.Record(ctx, e))
	}
	require.NoError(t, rec.Flush(ctx))

	regions := func(evs []trail.Event) []string {
		var out []string
		for _, e := range evs {
			out = append(out, e.AWSRegion)
		}
		return out
	}
	assert.ElementsMatch(t, []string{testRegion, testRegion}, regions(home.Events()), "a single-region trail takes only its region (empty awsRegion is stamped with Config.Region)")
	assert.ElementsMatch(t, []string{testRegion, testRegion, "eu-west-1", "ap-southeast-2"}, regions(global.Events()))

	// One file per region, each in its region's folder.
	byRegion := map[string]*trail.LogFile{}
	for _, f := range global.Files() {
		require.NotContains(t, byRegion, f.Region, "one file per region")
		byRegion[f.Region] = f
		assert.Contains(t, f.Key, "/CloudTrail/"+f.Region+"/")
		assert.Contains(t, f.Key, "_CloudTrail_"+f.Region+"_")
	}
	assert.Len(t, byRegion, 3)
	assert.Len(t, byRegion[testRegion].Records, 2)
}

func TestOrganizationScoping(t *testing.T) {
	own, org, orgPrefix := memsink.New(), memsink.New(), memsink.New()
	rec := newRecorder(t, trail.Config{Trails: []trail.Trail{
		{Name: "own", Sinks: []trail.Sink{own}},
		{Name: "org", Organization: testOrg, Sinks: []trail.Sink{org}},
		{Name: "org-prefixed", Organization: testOrg, Prefix: "team/audit", MultiRegion: true, Sinks: []trail.Sink{orgPrefix}},
	}})
	ctx := context.Background()
	for _, acct := range []string{"", otherAcct} {
		e := mkEvent("Op-" + acct)
		e.RecipientAccountID = acct
		require.NoError(t, rec.Record(ctx, e))
	}
	require.NoError(t, rec.Flush(ctx))

	require.Len(t, own.Events(), 1, "a non-organization trail ignores other accounts")
	assert.Equal(t, testAccount, own.Events()[0].RecipientAccountID)
	for _, f := range own.Files() {
		assert.True(t, strings.HasPrefix(f.Key, "AWSLogs/"+testAccount+"/CloudTrail/"), f.Key)
	}

	for _, tc := range []struct {
		sink   *memsink.Sink
		prefix string
	}{{org, ""}, {orgPrefix, "team/audit/"}} {
		files := tc.sink.Files()
		require.Len(t, files, 2, "an organization trail takes every account's events, one file per account")
		accounts := map[string]bool{}
		for _, f := range files {
			accounts[f.AccountID] = true
			want := tc.prefix + "AWSLogs/" + testOrg + "/" + f.AccountID + "/CloudTrail/" + testRegion + "/"
			assert.True(t, strings.HasPrefix(f.Key, want), "key %s, want prefix %s", f.Key, want)
			assert.Contains(t, f.Key, "/"+f.AccountID+"_CloudTrail_"+testRegion+"_")
			require.Len(t, f.Records, 1)
			var e trail.Event
			require.NoError(t, json.Unmarshal(f.Records[0], &e))
			assert.Equal(t, f.AccountID, e.RecipientAccountID)
		}
		assert.Equal(t, map[string]bool{testAccount: true, otherAcct: true}, accounts)
	}
}
