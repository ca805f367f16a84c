package trail

import (
	"encoding/json"
	"strings"
	"unsafe"
)

// nullJSON is the shared RawMessage null Record keeps for raw fields that
// hold null; nobody writes through it.
var nullJSON = json.RawMessage("null")

// noResources is the shared empty, non-nil resources list Record keeps for
// "resources":[]; its capacity is 0, so appending to it copies.
var noResources = []Resource{}

// checkKind checks the fields that depend on the kind of event: an Insights
// event (eventType AwsCloudTrailInsight) carries insightDetails and no
// top-level eventSource or eventName; every other event needs both and no
// insightDetails.
func checkKind(e *Event) error {
	if e.EventType == EventTypeInsight {
		d := e.InsightDetails
		if d == nil {
			return &ValidationError{Field: "insightDetails", Reason: "required in an AwsCloudTrailInsight event"}
		}
		if d.State != "Start" && d.State != "End" {
			return &ValidationError{Field: "insightDetails.state", Reason: "want Start or End"}
		}
		if d.EventSource == "" || d.EventName == "" {
			return &ValidationError{Field: "insightDetails", Reason: "eventSource and eventName are required"}
		}
		for _, f := range [...]struct{ name, v string }{{"insightDetails.state", d.State}, {"insightDetails.eventSource", d.EventSource},
			{"insightDetails.eventName", d.EventName}, {"insightDetails.insightType", d.InsightType}, {"insightDetails.errorCode", d.ErrorCode}} {
			if len(f.v) > maxOtherField {
				return &ValidationError{Field: f.name, Reason: "longer than 2 KB"}
			}
		}
		return nil
	}
	if e.InsightDetails != nil {
		return &ValidationError{Field: "insightDetails", Reason: "only in AwsCloudTrailInsight events"}
	}
	if e.EventSource == "" {
		return &ValidationError{Field: "eventSource", Reason: "empty"}
	}
	if e.EventName == "" {
		return &ValidationError{Field: "eventName", Reason: "empty"}
	}
	return nil
}

// copyPresence validates src's Empty and Extra and copies them into dst
// (values into the arena).
func copyPresence(dst, src *Event, a *arena) error {
	if len(src.Empty) > 0 {
		dst.Empty = make([]string, len(src.Empty))
		for i, p := range src.Empty {
			if p == "" || len(p) > maxOtherField {
				return &ValidationError{Field: "Empty", Reason: "want a JSON path of at most 2 KB"}
			}
			dst.Empty[i] = copyString(a, p)
		}
	}
	if len(src.Extra) > 0 {
		dst.Extra = make([]ExtraField, len(src.Extra))
		for i := range src.Extra {
			x := &src.Extra[i]
			if err := checkExtra(x); err != nil {
				return err
			}
			dst.Extra[i] = ExtraField{Path: copyString(a, x.Path), Value: a.copyBytes(x.Value)}
		}
	}
	return nil
}

// checkExtra refuses an Extra member that would make the record invalid JSON
// or collide with a field Event writes itself.
func checkExtra(x *ExtraField) error {
	if x.Path == "" || len(x.Path) > maxOtherField {
		return &ValidationError{Field: "Extra", Reason: "want a JSON path of at most 2 KB"}
	}
	v := trimSpace(x.Value)
	if len(v) == 0 || len(v) > maxRawLarge || !json.Valid(v) {
		return &ValidationError{Field: x.Path, Reason: "Extra value is not valid JSON of at most 100 KB"}
	}
	parent, name := splitExtraPath(x.Path)
	name = unescapeExtraName(name)
	s := recordSchema
	if parent != "" {
		s = schemaAt(parent)
	}
	if s != nil && s.fields[name] != nil && string(v) != "null" {
		return &ValidationError{Field: x.Path, Reason: "Extra names a field Event has; set the field instead"}
	}
	return nil
}

// schemaAt returns the schema of the object at a path splitExtraPath
// returns as a parent.
func schemaAt(path string) *fieldSchema {
	s := recordSchema
	for _, part := range strings.Split(path, ".") {
		if strings.HasPrefix(part, "resources[") {
			part = "resources"
		}
		s = s.fields[part]
		if s == nil {
			return nil
		}
	}
	return s
}

func copyString(a *arena, s string) string {
	b := a.copyBytes(unsafe.Slice(unsafe.StringData(s), len(s)))
	return unsafe.String(&b[0], len(b)) // b is never written again
}

// presenceSize is what Empty, Extra and insightDetails add to a record.
func presenceSize(e *Event) int {
	n := 0
	for _, p := range e.Empty {
		n += len(p) + 8
	}
	for i := range e.Extra {
		n += len(e.Extra[i].Path) + len(e.Extra[i].Value) + 4
	}
	if d := e.InsightDetails; d != nil {
		n += len(d.InsightContext) + len(d.State) + len(d.EventSource) + len(d.EventName) + len(d.InsightType) + len(d.ErrorCode) + 100
	}
	return n
}

// fidelity is how stores that keep events field by field keep the rarer
// parts of an event: insightDetails, Empty and Extra.
type fidelity struct {
	Insight *InsightDetails `json:"i,omitempty"`
	Empty   []string        `json:"e,omitempty"`
	Extra   []ExtraField    `json:"x,omitempty"`
}

// fidelityJSON returns ev's insightDetails, Empty and Extra as one JSON
// value, or nil when ev has none of them.
func fidelityJSON(ev *Event) []byte {
	if ev.InsightDetails == nil && len(ev.Empty) == 0 && len(ev.Extra) == 0 {
		return nil
	}
	b, err := json.Marshal(fidelity{ev.InsightDetails, ev.Empty, ev.Extra})
	if err != nil {
		return nil // cannot happen: Record validated every raw value
	}
	return b
}

// setFidelity sets what fidelityJSON wrote; false if b is malformed.
func setFidelity(ev *Event, b []byte) bool {
	var f fidelity
	if json.Unmarshal(b, &f) != nil {
		return false
	}
	ev.InsightDetails, ev.Empty, ev.Extra = f.Insight, f.Empty, f.Extra
	return true
}
