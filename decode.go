package trail

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// UnmarshalJSON decodes a CloudTrail record, keeping what Event's typed
// fields alone would lose: fields present with an empty value go to Empty,
// members Event has no field for (and nulls its fields cannot hold) go to
// Extra, a null requestParameters or responseElements of a service or
// Insights event is kept as the RawMessage null (in other events AppendJSON
// writes null for a nil one, so null decodes to nil). AppendJSON of the
// result is the JSON value decoded, except where a typed field normalizes:
// eventTime is written in whole seconds, and a missing requestParameters or
// responseElements of an API call is written as null.
func (e *Event) UnmarshalJSON(data []byte) error {
	type plain Event
	if err := json.Unmarshal(data, (*plain)(e)); err != nil {
		return err
	}
	e.Empty, e.Extra = nil, nil
	if err := e.walk(data, recordSchema, ""); err != nil {
		return err
	}
	// encoding/json matches member names case-insensitively: "eventNAme"
	// would have set EventName. Such members are Extra; decode the typed
	// fields again without them.
	if filtered, changed, err := dropFolded(data, recordSchema); err != nil {
		return err
	} else if changed {
		empty, extra := e.Empty, e.Extra
		*e = Event{}
		if err := json.Unmarshal(filtered, (*plain)(e)); err != nil {
			return err
		}
		e.Empty, e.Extra = empty, extra
	}
	if e.EventType != EventTypeServiceEvent && e.EventType != EventTypeInsight {
		for _, p := range []*json.RawMessage{&e.RequestParameters, &e.ResponseElements} {
			if isJSONNull(*p) {
				*p = nil
			}
		}
	}
	return nil
}

// fieldKind is how a member is held by Event.
type fieldKind uint8

const (
	kindString fieldKind = iota // a string field: "" needs Empty
	kindScalar                  // bool or time: null needs Extra
	kindRaw                     // json.RawMessage: holds any value
	kindObject                  // a struct: members are walked
	kindList                    // resources: elements are walked
)

type fieldSchema struct {
	kind     fieldKind
	valueObj bool // a struct held by value (userIdentity): {} needs Empty
	fields   map[string]*fieldSchema
}

func stringFields(names ...string) map[string]*fieldSchema {
	m := make(map[string]*fieldSchema, len(names))
	for _, n := range names {
		m[n] = &fieldSchema{kind: kindString}
	}
	return m
}

func object(fields map[string]*fieldSchema, more map[string]*fieldSchema) *fieldSchema {
	for k, v := range more {
		fields[k] = v
	}
	return &fieldSchema{kind: kindObject, fields: fields}
}

var (
	scalarField = &fieldSchema{kind: kindScalar}
	rawField    = &fieldSchema{kind: kindRaw}

	recordSchema = func() *fieldSchema {
		ui := object(stringFields("type", "principalId", "arn", "accountId", "accessKeyId", "userName", "invokedBy",
			"identityProvider", "credentialId"), map[string]*fieldSchema{
			"sessionContext": object(stringFields("sourceIdentity", "ec2RoleDelivery", "assumedRoot", "signInSessionArn"), map[string]*fieldSchema{
				"sessionIssuer":       object(stringFields("type", "principalId", "arn", "accountId", "userName"), nil),
				"webIdFederationData": object(stringFields("federatedProvider"), map[string]*fieldSchema{"attributes": rawField}),
				"attributes":          object(stringFields("creationDate", "mfaAuthenticated"), nil),
			}),
			"onBehalfOf":        object(stringFields("userId", "identityStoreArn"), nil),
			"inScopeOf":         rawField,
			"invokedByDelegate": rawField,
		})
		ui.valueObj = true
		res := object(stringFields("accountId", "type", "ARN"), nil)
		res.kind = kindList
		return object(stringFields("eventVersion", "eventSource", "eventName", "awsRegion", "sourceIPAddress",
			"userAgent", "errorCode", "errorMessage", "requestID", "eventID", "eventType", "apiVersion",
			"recipientAccountId", "sharedEventID", "vpcEndpointId", "vpcEndpointAccountId", "eventCategory",
			"sessionCredentialFromConsole"), map[string]*fieldSchema{
			"userIdentity":        ui,
			"eventTime":           scalarField,
			"readOnly":            scalarField,
			"managementEvent":     scalarField,
			"requestParameters":   rawField,
			"responseElements":    rawField,
			"additionalEventData": rawField,
			"serviceEventDetails": rawField,
			"edgeDeviceDetails":   rawField,
			"resources":           res,
			"addendum":            object(stringFields("reason", "updatedFields", "originalRequestID", "originalEventID"), nil),
			"tlsDetails":          object(stringFields("tlsVersion", "cipherSuite", "clientProvidedHostHeader", "keyExchange"), nil),
			"insightDetails": object(stringFields("state", "eventSource", "eventName", "insightType", "errorCode"),
				map[string]*fieldSchema{"insightContext": rawField}),
		})
	}()
)

// member is one name/value pair of a JSON object.
type member struct {
	name  string
	value json.RawMessage
}

// members returns the members of the JSON object data, in order.
func members(data []byte) ([]member, error) {
	d := json.NewDecoder(bytes.NewReader(data))
	t, err := d.Token()
	if err != nil {
		return nil, err
	}
	if t != json.Delim('{') {
		return nil, errors.New("not a JSON object")
	}
	var out []member
	for d.More() {
		t, err := d.Token()
		if err != nil {
			return nil, err
		}
		name, _ := t.(string)
		var v json.RawMessage
		if err := d.Decode(&v); err != nil {
			return nil, err
		}
		out = append(out, member{name, v})
	}
	return out, nil
}

// walk records, for the object data at path, the members that need Empty or
// Extra.
func (e *Event) walk(data []byte, s *fieldSchema, path string) error {
	ms, err := members(data)
	if err != nil {
		return err
	}
	for _, m := range ms {
		p := m.name
		if path != "" {
			p = path + "." + m.name
		}
		f := s.fields[m.name]
		if f == nil {
			p = escapeExtraName(m.name)
			if path != "" {
				p = path + "." + p
			}
			e.Extra = append(e.Extra, ExtraField{Path: p, Value: m.value})
			continue
		}
		v := trimSpace(m.value)
		if string(v) == "null" && f.kind != kindRaw {
			e.Extra = append(e.Extra, ExtraField{Path: p, Value: m.value})
			continue
		}
		switch f.kind {
		case kindString:
			if string(v) == `""` {
				e.Empty = append(e.Empty, p)
			}
		case kindObject:
			if f.valueObj && isEmptyObject(v) {
				e.Empty = append(e.Empty, p)
			}
			if err := e.walk(v, f, p); err != nil {
				return err
			}
		case kindList:
			var elems []json.RawMessage
			if err := json.Unmarshal(v, &elems); err != nil {
				return err
			}
			for i, el := range elems {
				if isJSONNull(el) {
					continue
				}
				if err := e.walk(el, f, p+"["+strconv.Itoa(i)+"]"); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// dropFolded returns data without the members, in objects Event decodes,
// whose name is not a field's name but equals one under case folding.
func dropFolded(data []byte, s *fieldSchema) ([]byte, bool, error) {
	ms, err := members(data)
	if err != nil {
		return nil, false, err
	}
	changed := false
	out := []byte{'{'}
	for _, m := range ms {
		f := s.fields[m.name]
		v := m.value
		if f == nil {
			if foldsToField(s, m.name) {
				changed = true
				continue
			}
		} else if t := trimSpace(v); string(t) != "null" {
			switch f.kind {
			case kindObject:
				nv, c, err := dropFolded(t, f)
				if err != nil {
					return nil, false, err
				}
				v, changed = nv, changed || c
			case kindList:
				var elems []json.RawMessage
				if err := json.Unmarshal(t, &elems); err != nil {
					return nil, false, err
				}
				nl := []byte{'['}
				for i, el := range elems {
					if i > 0 {
						nl = append(nl, ',')
					}
					if isJSONNull(el) {
						nl = append(nl, "null"...)
						continue
					}
					ne, c, err := dropFolded(el, f)
					if err != nil {
						return nil, false, err
					}
					nl, changed = append(nl, ne...), changed || c
				}
				v = append(nl, ']')
			}
		}
		if len(out) > 1 {
			out = append(out, ',')
		}
		out = appendString(out, m.name)
		out = append(out, ':')
		out = append(out, v...)
	}
	return append(out, '}'), changed, nil
}

// foldsToField reports whether name equals one of s's field names under
// case folding (as encoding/json matches them).
func foldsToField(s *fieldSchema, name string) bool {
	for k := range s.fields {
		if strings.EqualFold(k, name) {
			return true
		}
	}
	return false
}

func isEmptyObject(b []byte) bool {
	b = trimSpace(b)
	if len(b) < 2 || b[0] != '{' || b[len(b)-1] != '}' {
		return false
	}
	return len(trimSpace(b[1:len(b)-1])) == 0
}

// DecodeLogFile reads a CloudTrail log file — the {"Records":[…]} object
// CloudTrail delivers to S3, gzip-compressed (.json.gz, detected by its magic
// bytes) or not — and returns its records in file order. Each record is
// decoded by Event.UnmarshalJSON, so AppendJSON writes it back to the JSON
// value it has in the file. Use it to check delivered files, or to load
// existing AWS CloudTrail files into a HistoryStore (HistoryStore.Append),
// so that lookups reach back further than AWS's 90 days of event history.
//
// Errors wrap ErrNotLogFile for input that is not such an object; a record
// that does not decode is reported with its index.
func DecodeLogFile(r io.Reader) ([]Event, error) {
	br := bufio.NewReader(r)
	if magic, err := br.Peek(2); err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrNotLogFile, err)
		}
		defer zr.Close()
		zr.Multistream(false) // as validate-logs reads it: the first member only
		return decodeRecords(zr)
	}
	return decodeRecords(br)
}

func decodeRecords(r io.Reader) ([]Event, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotLogFile, err)
	}
	ms, err := members(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotLogFile, err)
	}
	var recs []json.RawMessage
	found := false
	for _, m := range ms {
		if m.name == "Records" { // exactly: encoding/json would also take "records"
			if err := json.Unmarshal(m.value, &recs); err != nil {
				return nil, fmt.Errorf("%w: Records: %v", ErrNotLogFile, err)
			}
			found = recs != nil
		}
	}
	if !found {
		return nil, fmt.Errorf("%w: no Records array", ErrNotLogFile)
	}
	out := make([]Event, len(recs))
	for i, raw := range recs {
		if err := out[i].UnmarshalJSON(raw); err != nil {
			return nil, fmt.Errorf("trail: record %d: %w", i, err)
		}
	}
	return out, nil
}
