package trail

import (
	"errors"
	"fmt"
	"strings"
)

// ReadWriteType selects management or data events by their readOnly flag.
// The zero value is ReadWriteAll.
type ReadWriteType int

// Read/write selections. An event without a readOnly flag counts as a write.
const (
	ReadWriteAll       ReadWriteType = iota // every event (the default)
	ReadWriteReadOnly                       // only readOnly:true events
	ReadWriteWriteOnly                      // only events that are not readOnly
	ReadWriteNone                           // no events (management events only)
)

var readWriteNames = [...]string{"All", "ReadOnly", "WriteOnly", "None"}

// String returns CloudTrail's spelling: All, ReadOnly, WriteOnly or None.
func (t ReadWriteType) String() string {
	if t < 0 || int(t) >= len(readWriteNames) {
		return fmt.Sprintf("ReadWriteType(%d)", int(t))
	}
	return readWriteNames[t]
}

// MarshalText implements encoding.TextMarshaler.
func (t ReadWriteType) MarshalText() ([]byte, error) {
	if t < 0 || int(t) >= len(readWriteNames) {
		return nil, fmt.Errorf("trail: invalid ReadWriteType %d", int(t))
	}
	return []byte(readWriteNames[t]), nil
}

// UnmarshalText implements encoding.TextUnmarshaler; it accepts All, ReadOnly,
// WriteOnly and None.
func (t *ReadWriteType) UnmarshalText(b []byte) error {
	for i, n := range readWriteNames {
		if string(b) == n {
			*t = ReadWriteType(i)
			return nil
		}
	}
	return fmt.Errorf("trail: invalid ReadWriteType %q (want All, ReadOnly, WriteOnly or None)", b)
}

func (t ReadWriteType) allows(ev *Event) bool {
	switch t {
	case ReadWriteAll:
		return true
	case ReadWriteReadOnly:
		return ev.IsReadOnly()
	case ReadWriteWriteOnly:
		return !ev.IsReadOnly()
	}
	return false
}

// Resource types that are data events without any configuration (the types
// CloudTrail's basic event selectors accept).
const (
	ResourceS3Object       = "AWS::S3::Object"
	ResourceLambdaFunction = "AWS::Lambda::Function"
	ResourceDynamoDBTable  = "AWS::DynamoDB::Table"
)

// DataResource selects data events: events with a resource of Type whose ARN
// starts with one of Values. For AWS::Lambda::Function a value naming a
// function (it contains ":function:") must equal the ARN, as in CloudTrail;
// "arn:aws:lambda" selects every function. Type may be any host-defined type
// ("Example::Orders::Order"), which then counts as a data type.
type DataResource struct {
	Type      string        `json:"Type"`
	Values    []string      `json:"Values"`
	ReadWrite ReadWriteType `json:"ReadWriteType,omitzero"` // zero: All
}

// AdvancedSelector is one of CloudTrail's advanced event selectors: an event
// matches when every field selector matches. A trail's selectors are OR'ed.
// The JSON shape is AWS's (Name, FieldSelectors).
type AdvancedSelector struct {
	Name           string          `json:"Name,omitempty"`
	FieldSelectors []FieldSelector `json:"FieldSelectors"`
}

// FieldSelector is a condition on one record field. Values listed under
// Equals, StartsWith and EndsWith are alternatives (any may match; when none of
// the three is set, the field matches). An event whose field matches any value
// of NotEquals, NotStartsWith or NotEndsWith is excluded.
//
// Fields: eventCategory, eventSource, eventName, readOnly, eventType,
// errorCode, userIdentity.arn, sessionCredentialFromConsole, vpcEndpointId,
// resources.type, resources.ARN. eventCategory, readOnly and resources.type
// take only Equals. Conditions on resources.* must hold for one and the same
// resource of the event.
type FieldSelector struct {
	Field         string   `json:"Field"`
	Equals        []string `json:"Equals,omitempty"`
	StartsWith    []string `json:"StartsWith,omitempty"`
	EndsWith      []string `json:"EndsWith,omitempty"`
	NotEquals     []string `json:"NotEquals,omitempty"`
	NotStartsWith []string `json:"NotStartsWith,omitempty"`
	NotEndsWith   []string `json:"NotEndsWith,omitempty"`
}

// Limits CloudTrail enforces on selectors.
const (
	maxAdvancedValues = 500
	maxSelectorValue  = 2048
	maxDataResources  = 250
)

type fieldID uint8

const (
	fEventCategory fieldID = iota
	fEventSource
	fEventName
	fReadOnly
	fEventType
	fErrorCode
	fUserIdentityARN
	fSessionCredentialFromConsole
	fVPCEndpointID
	fResourcesType
	fResourcesARN
)

var fieldIDs = map[string]fieldID{
	"eventCategory":                fEventCategory,
	"eventSource":                  fEventSource,
	"eventName":                    fEventName,
	"readOnly":                     fReadOnly,
	"eventType":                    fEventType,
	"errorCode":                    fErrorCode,
	"userIdentity.arn":             fUserIdentityARN,
	"sessionCredentialFromConsole": fSessionCredentialFromConsole,
	"vpcEndpointId":                fVPCEndpointID,
	"resources.type":               fResourcesType,
	"resources.ARN":                fResourcesARN,
}

func (f fieldID) isResource() bool { return f == fResourcesType || f == fResourcesARN }

// value returns the event's value of a non-resource field.
func (f fieldID) value(ev *Event) string {
	switch f {
	case fEventCategory:
		return ev.EventCategory
	case fEventSource:
		return ev.EventSource
	case fEventName:
		return ev.EventName
	case fReadOnly:
		if ev.ReadOnly == nil {
			return ""
		}
		if *ev.ReadOnly {
			return "true"
		}
		return "false"
	case fEventType:
		return ev.EventType
	case fErrorCode:
		return ev.ErrorCode
	case fUserIdentityARN:
		return ev.UserIdentity.ARN
	case fSessionCredentialFromConsole:
		return ev.SessionCredentialFromConsole
	case fVPCEndpointID:
		return ev.VPCEndpointID
	}
	return ""
}

func (f fieldID) resourceValue(r *Resource) string {
	if f == fResourcesType {
		return r.Type
	}
	return r.ARN
}

type compiledField struct {
	id                        fieldID
	eq, sw, ew, neq, nsw, new []string
	positive                  bool
}

func (c *compiledField) match(v string) bool {
	for _, x := range c.neq {
		if v == x {
			return false
		}
	}
	for _, x := range c.nsw {
		if strings.HasPrefix(v, x) {
			return false
		}
	}
	for _, x := range c.new {
		if strings.HasSuffix(v, x) {
			return false
		}
	}
	if !c.positive {
		return true
	}
	for _, x := range c.eq {
		if v == x {
			return true
		}
	}
	for _, x := range c.sw {
		if strings.HasPrefix(v, x) {
			return true
		}
	}
	for _, x := range c.ew {
		if strings.HasSuffix(v, x) {
			return true
		}
	}
	return false
}

type compiledAdvanced struct {
	fields   []compiledField // conditions on non-resource fields
	resource []compiledField // conditions on resources.*, held by one resource
}

var noResource Resource

func (a *compiledAdvanced) match(ev *Event) bool {
	for i := range a.fields {
		if !a.fields[i].match(a.fields[i].id.value(ev)) {
			return false
		}
	}
	if len(a.resource) == 0 {
		return true
	}
	if len(ev.Resources) == 0 {
		return a.matchResource(&noResource)
	}
	for i := range ev.Resources {
		if a.matchResource(&ev.Resources[i]) {
			return true
		}
	}
	return false
}

func (a *compiledAdvanced) matchResource(r *Resource) bool {
	for i := range a.resource {
		if !a.resource[i].match(a.resource[i].id.resourceValue(r)) {
			return false
		}
	}
	return true
}

func compileAdvanced(sels []AdvancedSelector) ([]compiledAdvanced, []string, error) {
	var (
		out       []compiledAdvanced
		dataTypes []string
		total     int
	)
	for i, s := range sels {
		where := fmt.Sprintf("advanced selector %d", i)
		if s.Name != "" {
			where = fmt.Sprintf("advanced selector %d (%q)", i, s.Name)
		}
		if len(s.Name) > 1000 {
			return nil, nil, fmt.Errorf("%s: name longer than 1000 characters", where)
		}
		if len(s.FieldSelectors) == 0 {
			return nil, nil, fmt.Errorf("%s: no field selectors", where)
		}
		var (
			ca       compiledAdvanced
			seen     = map[fieldID]bool{}
			category []string
			types    []string
		)
		for _, fs := range s.FieldSelectors {
			id, ok := fieldIDs[fs.Field]
			if !ok {
				return nil, nil, fmt.Errorf("%s: unsupported field %q", where, fs.Field)
			}
			if seen[id] {
				return nil, nil, fmt.Errorf("%s: field %q appears twice", where, fs.Field)
			}
			seen[id] = true
			ops := [][]string{fs.Equals, fs.StartsWith, fs.EndsWith, fs.NotEquals, fs.NotStartsWith, fs.NotEndsWith}
			n := 0
			for _, op := range ops {
				for _, v := range op {
					if v == "" || len(v) > maxSelectorValue {
						return nil, nil, fmt.Errorf("%s: field %q: values must be 1 to %d characters", where, fs.Field, maxSelectorValue)
					}
				}
				n += len(op)
			}
			if n == 0 {
				return nil, nil, fmt.Errorf("%s: field %q has no operator values", where, fs.Field)
			}
			total += n
			if (id == fEventCategory || id == fReadOnly || id == fResourcesType) && n != len(fs.Equals) {
				return nil, nil, fmt.Errorf("%s: field %q supports only the Equals operator", where, fs.Field)
			}
			switch id {
			case fEventCategory:
				for _, v := range fs.Equals {
					if v != CategoryManagement && v != CategoryData && v != CategoryNetworkActivity {
						return nil, nil, fmt.Errorf("%s: eventCategory %q is not Management, Data or NetworkActivity", where, v)
					}
				}
				category = fs.Equals
			case fReadOnly:
				for _, v := range fs.Equals {
					if v != "true" && v != "false" {
						return nil, nil, fmt.Errorf("%s: readOnly value %q is not true or false", where, v)
					}
				}
			case fResourcesType:
				types = fs.Equals
			}
			cf := compiledField{id: id, eq: fs.Equals, sw: fs.StartsWith, ew: fs.EndsWith,
				neq: fs.NotEquals, nsw: fs.NotStartsWith, new: fs.NotEndsWith,
				positive: len(fs.Equals)+len(fs.StartsWith)+len(fs.EndsWith) > 0}
			if id.isResource() {
				ca.resource = append(ca.resource, cf)
			} else {
				ca.fields = append(ca.fields, cf)
			}
		}
		if category == nil {
			return nil, nil, fmt.Errorf("%s: eventCategory is required", where)
		}
		for _, c := range category {
			if c == CategoryData {
				if len(types) != 1 {
					return nil, nil, fmt.Errorf("%s: a data event selector needs exactly one resources.type value", where)
				}
				dataTypes = append(dataTypes, types[0])
			}
		}
		out = append(out, ca)
	}
	if total > maxAdvancedValues {
		return nil, nil, fmt.Errorf("advanced selectors hold %d values, more than %d", total, maxAdvancedValues)
	}
	return out, dataTypes, nil
}

type compiledData struct {
	typ       string
	values    []string
	exact     []bool // value must equal the ARN (Lambda function ARNs)
	readWrite ReadWriteType
}

func (d *compiledData) match(ev *Event) bool {
	if !d.readWrite.allows(ev) {
		return false
	}
	for i := range ev.Resources {
		r := &ev.Resources[i]
		if r.Type != d.typ {
			continue
		}
		for j, v := range d.values {
			if d.exact[j] {
				if r.ARN == v {
					return true
				}
			} else if strings.HasPrefix(r.ARN, v) {
				return true
			}
		}
	}
	return false
}

// EventSelector is one of CloudTrail's basic event selectors, in AWS's JSON
// shape. A trail may hold up to five; an event is selected when any selects
// it. ReadWriteType applies to management and data events alike (the
// DataResources' own ReadWrite must be left zero).
type EventSelector struct {
	ReadWriteType ReadWriteType `json:"ReadWriteType"`
	// IncludeManagementEvents defaults to true when nil.
	IncludeManagementEvents       *bool          `json:"IncludeManagementEvents,omitempty"`
	DataResources                 []DataResource `json:"DataResources"`
	ExcludeManagementEventSources []string       `json:"ExcludeManagementEventSources"`
}

// maxBasicSelectors is CloudTrail's limit of basic selectors per trail.
const maxBasicSelectors = 5

// compiledBasic is one basic selector.
type compiledBasic struct {
	mgmt    bool
	rw      ReadWriteType // for management events
	exclude []string
	data    []compiledData
}

func (b *compiledBasic) matchManagement(ev *Event) bool {
	if !b.mgmt || !b.rw.allows(ev) {
		return false
	}
	for _, s := range b.exclude {
		if ev.EventSource == s {
			return false
		}
	}
	return true
}

// compiledTrail is the selection logic of one trail.
type compiledTrail struct {
	region      string // "" for multi-region trails
	account     string // "" for organization trails
	basic       []compiledBasic
	advanced    []compiledAdvanced
	useAdvanced bool
	insights    uint8 // insightCallRate | insightErrorRate
}

func (t *compiledTrail) match(ev *Event) bool {
	if t.region != "" && ev.AWSRegion != t.region {
		return false
	}
	if t.account != "" && ev.RecipientAccountID != t.account {
		return false
	}
	if ev.EventCategory == CategoryInsight {
		return t.matchInsight(ev)
	}
	if t.useAdvanced {
		for i := range t.advanced {
			if t.advanced[i].match(ev) {
				return true
			}
		}
		return false
	}
	switch ev.EventCategory {
	case CategoryManagement:
		for i := range t.basic {
			if t.basic[i].matchManagement(ev) {
				return true
			}
		}
	case CategoryData:
		for i := range t.basic {
			for j := range t.basic[i].data {
				if t.basic[i].data[j].match(ev) {
					return true
				}
			}
		}
	}
	return false
}

// compileSelectors compiles a trail's selectors, whichever form it uses, and
// returns the data resource types they name.
func compileSelectors(t *Trail) ([]compiledBasic, []compiledAdvanced, []string, error) {
	simple := t.Management != ReadWriteAll || len(t.ExcludeManagementEventSources) > 0 || len(t.Data) > 0
	forms := 0
	for _, set := range []bool{simple, t.EventSelectors != nil, t.Advanced != nil} {
		if set {
			forms++
		}
	}
	if forms > 1 {
		return nil, nil, nil, errors.New("Management/ExcludeManagementEventSources/Data, EventSelectors and Advanced are mutually exclusive")
	}
	if t.Management < ReadWriteAll || t.Management > ReadWriteNone {
		return nil, nil, nil, fmt.Errorf("unknown Management value %d", t.Management)
	}
	switch {
	case t.Advanced != nil:
		adv, types, err := compileAdvanced(t.Advanced)
		return nil, adv, types, err
	case t.EventSelectors != nil:
		if len(t.EventSelectors) == 0 || len(t.EventSelectors) > maxBasicSelectors {
			return nil, nil, nil, fmt.Errorf("%d event selectors, want 1 to %d", len(t.EventSelectors), maxBasicSelectors)
		}
		var (
			out   []compiledBasic
			types []string
			n     int
		)
		for i, es := range t.EventSelectors {
			if es.ReadWriteType < ReadWriteAll || es.ReadWriteType > ReadWriteWriteOnly {
				return nil, nil, nil, fmt.Errorf("event selector %d: ReadWriteType must be All, ReadOnly or WriteOnly", i)
			}
			drs := make([]DataResource, len(es.DataResources))
			for j, dr := range es.DataResources {
				if dr.ReadWrite != ReadWriteAll {
					return nil, nil, nil, fmt.Errorf("event selector %d: data resource %d: set ReadWriteType on the selector, not on the resource", i, j)
				}
				dr.ReadWrite = es.ReadWriteType
				drs[j] = dr
				types = append(types, dr.Type)
				n += len(dr.Values)
			}
			data, err := compileData(drs)
			if err != nil {
				return nil, nil, nil, fmt.Errorf("event selector %d: %w", i, err)
			}
			out = append(out, compiledBasic{mgmt: es.IncludeManagementEvents == nil || *es.IncludeManagementEvents,
				rw: es.ReadWriteType, exclude: es.ExcludeManagementEventSources, data: data})
		}
		if n > maxDataResources {
			return nil, nil, nil, fmt.Errorf("%d data resource values, more than %d", n, maxDataResources)
		}
		return out, nil, types, nil
	default:
		data, err := compileData(t.Data)
		if err != nil {
			return nil, nil, nil, err
		}
		types := make([]string, 0, len(t.Data))
		for _, d := range t.Data {
			types = append(types, d.Type)
		}
		return []compiledBasic{{mgmt: t.Management != ReadWriteNone, rw: t.Management,
			exclude: t.ExcludeManagementEventSources, data: data}}, nil, types, nil
	}
}

func compileData(drs []DataResource) ([]compiledData, error) {
	out := make([]compiledData, 0, len(drs))
	n := 0
	for i, dr := range drs {
		if dr.Type == "" {
			return nil, fmt.Errorf("data resource %d: empty Type", i)
		}
		if len(dr.Values) == 0 {
			return nil, fmt.Errorf("data resource %d (%s): no Values (use an ARN prefix such as %q for all)", i, dr.Type, "arn:aws:s3")
		}
		if dr.ReadWrite < ReadWriteAll || dr.ReadWrite > ReadWriteWriteOnly {
			return nil, fmt.Errorf("data resource %d (%s): ReadWrite must be All, ReadOnly or WriteOnly", i, dr.Type)
		}
		cd := compiledData{typ: dr.Type, values: dr.Values, exact: make([]bool, len(dr.Values)), readWrite: dr.ReadWrite}
		for j, v := range dr.Values {
			if v == "" || len(v) > maxSelectorValue {
				return nil, fmt.Errorf("data resource %d (%s): values must be 1 to %d characters", i, dr.Type, maxSelectorValue)
			}
			cd.exact[j] = dr.Type == ResourceLambdaFunction && strings.Contains(v, ":function:")
			n++
		}
		out = append(out, cd)
	}
	if n > maxDataResources {
		return nil, fmt.Errorf("%d data resource values, more than %d", n, maxDataResources)
	}
	return out, nil
}

// selectorSet is the compiled selection of all logging trails; it is
// immutable once built and swapped atomically, so that every event is judged
// by one consistent set.
type selectorSet struct {
	trails    []compiledTrail
	states    []*trailState // states[i] owns bit 1<<i
	dataTypes map[string]struct{}
}

// categorize stamps EventCategory and ManagementEvent when the caller left
// them empty: an event with a resource of a data type is a data event.
func (s *selectorSet) categorize(ev *Event) {
	if ev.EventCategory == "" {
		ev.EventCategory = CategoryManagement
		for i := range ev.Resources {
			if _, ok := s.dataTypes[ev.Resources[i].Type]; ok {
				ev.EventCategory = CategoryData
				break
			}
		}
	}
	if ev.ManagementEvent == nil && ev.EventCategory != CategoryNetworkActivity && ev.EventCategory != CategoryInsight {
		ev.ManagementEvent = boolPtr(ev.EventCategory == CategoryManagement)
	}
}

// match returns the set of trails that select ev, one bit per trail.
func (s *selectorSet) match(ev *Event) uint64 {
	var m uint64
	for i := range s.trails {
		if s.trails[i].match(ev) {
			m |= 1 << i
		}
	}
	return m
}
