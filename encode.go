package trail

import (
	"bytes"
	"strconv"
	"strings"
	"time"

	"github.com/trailkit/trail/internal/jsontext"
)

// AppendJSON appends the event's compact JSON record to dst and returns the
// extended slice. Keys come in the order CloudTrail writes them, followed in
// each object by the members of Extra that belong to it. Empty fields are
// omitted — also those AWS always fills (eventVersion, eventTime,
// eventSource, eventName, awsRegion, eventID, eventType, eventCategory,
// userIdentity), so an event that has not been through Record is written
// without them rather than with empty values — except the fields Empty
// names. requestParameters and responseElements are written as null when
// empty, as CloudTrail does, except in service and Insights events, where
// they are written only when set (a RawMessage holding null writes null).
// Strings are escaped as encoding/json does, except that '<', '>', '&' and
// '/' are written as is (as in CloudTrail log files). Raw JSON fields are
// copied with insignificant white space removed; they are expected to be
// valid JSON (Record checks that), AppendJSON does not check again.
//
// A decoded record re-encodes to the JSON value it was decoded from (see
// Event.UnmarshalJSON for the exceptions).
func (e *Event) AppendJSON(dst []byte) []byte {
	dst = openObject(dst)
	dst = appendOptP(dst, e, "", "eventVersion", e.EventVersion)
	if !e.UserIdentity.isZero() || ((len(e.Empty) > 0 || len(e.Extra) > 0) && e.hasInside("userIdentity")) {
		dst = appendKey(dst, "userIdentity")
		dst = e.UserIdentity.appendJSON(dst, e)
	}
	if !e.EventTime.IsZero() {
		dst = appendKey(dst, "eventTime")
		dst = appendTime(dst, e.EventTime)
	}
	dst = appendOptP(dst, e, "", "eventSource", e.EventSource)
	dst = appendOptP(dst, e, "", "eventName", e.EventName)
	dst = appendOptP(dst, e, "", "awsRegion", e.AWSRegion)
	dst = appendOptP(dst, e, "", "sourceIPAddress", e.SourceIPAddress)
	dst = appendOptP(dst, e, "", "userAgent", e.UserAgent)
	dst = appendOptP(dst, e, "", "errorCode", e.ErrorCode)
	dst = appendOptP(dst, e, "", "errorMessage", e.ErrorMessage)
	optionalPayload := e.EventType == EventTypeServiceEvent || e.EventType == EventTypeInsight
	if optionalPayload {
		dst = appendRawOpt(dst, "requestParameters", e.RequestParameters)
		dst = appendRawOpt(dst, "responseElements", e.ResponseElements)
	} else {
		dst = appendKey(dst, "requestParameters")
		dst = appendRawOrNull(dst, e.RequestParameters)
		dst = appendKey(dst, "responseElements")
		dst = appendRawOrNull(dst, e.ResponseElements)
	}
	dst = appendRawOpt(dst, "additionalEventData", e.AdditionalEventData)
	dst = appendOptP(dst, e, "", "requestID", e.RequestID)
	dst = appendOptP(dst, e, "", "eventID", e.EventID)
	dst = appendBoolOpt(dst, "readOnly", e.ReadOnly)
	if e.Resources != nil {
		dst = append(dst, `,"resources":[`...)
		for i := range e.Resources {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = e.Resources[i].appendJSON(dst, e, i)
		}
		dst = append(dst, ']')
	}
	dst = appendOptP(dst, e, "", "eventType", e.EventType)
	dst = appendOptP(dst, e, "", "apiVersion", e.APIVersion)
	dst = appendBoolOpt(dst, "managementEvent", e.ManagementEvent)
	dst = appendOptP(dst, e, "", "recipientAccountId", e.RecipientAccountID)
	dst = appendRawOpt(dst, "serviceEventDetails", e.ServiceEventDetails)
	dst = appendOptP(dst, e, "", "sharedEventID", e.SharedEventID)
	dst = appendOptP(dst, e, "", "vpcEndpointId", e.VPCEndpointID)
	dst = appendOptP(dst, e, "", "vpcEndpointAccountId", e.VPCEndpointAccountID)
	if d := e.InsightDetails; d != nil {
		// Insights records carry insightDetails before eventCategory.
		dst = appendKey(dst, "insightDetails")
		dst = d.appendJSON(dst, e)
	}
	dst = appendOptP(dst, e, "", "eventCategory", e.EventCategory)
	if a := e.Addendum; a != nil {
		const p = "addendum."
		dst = appendKey(dst, "addendum")
		dst = openObject(dst)
		dst = appendOptP(dst, e, p, "reason", a.Reason)
		dst = appendOptP(dst, e, p, "updatedFields", a.UpdatedFields)
		dst = appendOptP(dst, e, p, "originalRequestID", a.OriginalRequestID)
		dst = appendOptP(dst, e, p, "originalEventID", a.OriginalEventID)
		dst = e.appendExtras(dst, "addendum")
		dst = closeObject(dst)
	}
	if t := e.TLSDetails; t != nil {
		const p = "tlsDetails."
		dst = appendKey(dst, "tlsDetails")
		dst = openObject(dst)
		dst = appendOptP(dst, e, p, "tlsVersion", t.TLSVersion)
		dst = appendOptP(dst, e, p, "cipherSuite", t.CipherSuite)
		dst = appendOptP(dst, e, p, "clientProvidedHostHeader", t.ClientProvidedHostHeader)
		dst = appendOptP(dst, e, p, "keyExchange", t.KeyExchange)
		dst = e.appendExtras(dst, "tlsDetails")
		dst = closeObject(dst)
	}
	dst = appendOptP(dst, e, "", "sessionCredentialFromConsole", e.SessionCredentialFromConsole)
	dst = appendRawOpt(dst, "edgeDeviceDetails", e.EdgeDeviceDetails)
	dst = e.appendExtras(dst, "")
	return closeObject(dst)
}

func (d *InsightDetails) appendJSON(dst []byte, e *Event) []byte {
	const p = "insightDetails."
	dst = openObject(dst)
	dst = appendOptP(dst, e, p, "state", d.State)
	dst = appendOptP(dst, e, p, "eventSource", d.EventSource)
	dst = appendOptP(dst, e, p, "eventName", d.EventName)
	dst = appendOptP(dst, e, p, "insightType", d.InsightType)
	dst = appendOptP(dst, e, p, "errorCode", d.ErrorCode)
	dst = appendRawOpt(dst, "insightContext", d.InsightContext)
	dst = e.appendExtras(dst, "insightDetails")
	return closeObject(dst)
}

// isZero reports whether u has nothing to write.
func (u *UserIdentity) isZero() bool {
	return u.Type == "" && u.PrincipalID == "" && u.ARN == "" && u.AccountID == "" && u.AccessKeyID == "" &&
		u.UserName == "" && u.SessionContext == nil && u.InvokedBy == "" && u.IdentityProvider == "" &&
		u.CredentialID == "" && u.OnBehalfOf == nil && len(u.InScopeOf) == 0 && len(u.InvokedByDelegate) == 0
}

func (u *UserIdentity) appendJSON(dst []byte, e *Event) []byte {
	const p = "userIdentity."
	dst = openObject(dst)
	dst = appendOptP(dst, e, p, "type", u.Type)
	dst = appendOptP(dst, e, p, "principalId", u.PrincipalID)
	dst = appendOptP(dst, e, p, "arn", u.ARN)
	dst = appendOptP(dst, e, p, "accountId", u.AccountID)
	dst = appendOptP(dst, e, p, "accessKeyId", u.AccessKeyID)
	dst = appendOptP(dst, e, p, "userName", u.UserName)
	if sc := u.SessionContext; sc != nil {
		dst = appendKey(dst, "sessionContext")
		dst = sc.appendJSON(dst, e)
	}
	dst = appendOptP(dst, e, p, "invokedBy", u.InvokedBy)
	dst = appendOptP(dst, e, p, "identityProvider", u.IdentityProvider)
	dst = appendOptP(dst, e, p, "credentialId", u.CredentialID)
	if o := u.OnBehalfOf; o != nil {
		const p = "userIdentity.onBehalfOf."
		dst = appendKey(dst, "onBehalfOf")
		dst = openObject(dst)
		dst = appendOptP(dst, e, p, "userId", o.UserID)
		dst = appendOptP(dst, e, p, "identityStoreArn", o.IdentityStoreARN)
		dst = e.appendExtras(dst, "userIdentity.onBehalfOf")
		dst = closeObject(dst)
	}
	dst = appendRawOpt(dst, "inScopeOf", u.InScopeOf)
	dst = appendRawOpt(dst, "invokedByDelegate", u.InvokedByDelegate)
	dst = e.appendExtras(dst, "userIdentity")
	return closeObject(dst)
}

func (sc *SessionContext) appendJSON(dst []byte, e *Event) []byte {
	dst = openObject(dst)
	if si := sc.SessionIssuer; si != nil {
		const p = "userIdentity.sessionContext.sessionIssuer."
		dst = appendKey(dst, "sessionIssuer")
		dst = openObject(dst)
		dst = appendOptP(dst, e, p, "type", si.Type)
		dst = appendOptP(dst, e, p, "principalId", si.PrincipalID)
		dst = appendOptP(dst, e, p, "arn", si.ARN)
		dst = appendOptP(dst, e, p, "accountId", si.AccountID)
		dst = appendOptP(dst, e, p, "userName", si.UserName)
		dst = e.appendExtras(dst, "userIdentity.sessionContext.sessionIssuer")
		dst = closeObject(dst)
	}
	if w := sc.WebIDFederationData; w != nil {
		const p = "userIdentity.sessionContext.webIdFederationData."
		dst = appendKey(dst, "webIdFederationData")
		dst = openObject(dst)
		dst = appendOptP(dst, e, p, "federatedProvider", w.FederatedProvider)
		dst = appendRawOpt(dst, "attributes", w.Attributes)
		dst = e.appendExtras(dst, "userIdentity.sessionContext.webIdFederationData")
		dst = closeObject(dst)
	}
	if a := sc.Attributes; a != nil {
		const p = "userIdentity.sessionContext.attributes."
		dst = appendKey(dst, "attributes")
		dst = openObject(dst)
		dst = appendOptP(dst, e, p, "creationDate", a.CreationDate)
		dst = appendOptP(dst, e, p, "mfaAuthenticated", a.MFAAuthenticated)
		dst = e.appendExtras(dst, "userIdentity.sessionContext.attributes")
		dst = closeObject(dst)
	}
	const p = "userIdentity.sessionContext."
	dst = appendOptP(dst, e, p, "sourceIdentity", sc.SourceIdentity)
	dst = appendOptP(dst, e, p, "ec2RoleDelivery", sc.EC2RoleDelivery)
	dst = appendOptP(dst, e, p, "assumedRoot", sc.AssumedRoot)
	dst = appendOptP(dst, e, p, "signInSessionArn", sc.SignInSessionARN)
	dst = e.appendExtras(dst, "userIdentity.sessionContext")
	return closeObject(dst)
}

func (r *Resource) appendJSON(dst []byte, e *Event, i int) []byte {
	dst = openObject(dst)
	if len(e.Empty) == 0 && len(e.Extra) == 0 {
		dst = appendOpt(dst, "accountId", r.AccountID)
		dst = appendOpt(dst, "type", r.Type)
		dst = appendOpt(dst, "ARN", r.ARN)
		return closeObject(dst)
	}
	var buf [24]byte
	path := resourcePath(buf[:0], i)
	dst = appendOptP(dst, e, string(append(path, '.')), "accountId", r.AccountID)
	dst = appendOptP(dst, e, string(append(path, '.')), "type", r.Type)
	dst = appendOptP(dst, e, string(append(path, '.')), "ARN", r.ARN)
	dst = e.appendExtras(dst, string(path))
	return closeObject(dst)
}

// resourcePath appends "resources[i]".
func resourcePath(dst []byte, i int) []byte {
	dst = append(dst, "resources["...)
	dst = strconv.AppendInt(dst, int64(i), 10)
	return append(dst, ']')
}

// keep reports whether Empty names the field prefix+name.
func (e *Event) keep(prefix, name string) bool {
	for _, p := range e.Empty {
		if len(p) == len(prefix)+len(name) && p[:len(prefix)] == prefix && p[len(prefix):] == name {
			return true
		}
	}
	return false
}

// hasInside reports whether Empty names the object at path or a field
// inside it, or Extra has a member inside it.
func (e *Event) hasInside(path string) bool {
	inside := func(p string) bool {
		return len(p) > len(path) && p[:len(path)] == path && p[len(path)] == '.'
	}
	for _, p := range e.Empty {
		if p == path || inside(p) {
			return true
		}
	}
	for i := range e.Extra {
		if inside(e.Extra[i].Path) {
			return true
		}
	}
	return false
}

// appendExtras writes the members of Extra whose parent object is parent.
func (e *Event) appendExtras(dst []byte, parent string) []byte {
	for i := range e.Extra {
		x := &e.Extra[i]
		par, name := splitExtraPath(x.Path)
		if par != parent || len(x.Value) == 0 {
			continue
		}
		if len(dst) == 0 || dst[len(dst)-1] != '{' {
			dst = append(dst, ',')
		}
		dst = appendString(dst, unescapeExtraName(name))
		dst = append(dst, ':')
		dst = appendCompact(dst, x.Value)
	}
	return dst
}

// extraParents are the objects an Extra member may belong to besides the
// record itself and the elements of resources, longest first.
var extraParents = [...]string{
	"userIdentity.sessionContext.webIdFederationData",
	"userIdentity.sessionContext.sessionIssuer",
	"userIdentity.sessionContext.attributes",
	"userIdentity.sessionContext",
	"userIdentity.onBehalfOf",
	"insightDetails",
	"userIdentity",
	"tlsDetails",
	"addendum",
}

// splitExtraPath splits an Extra path into the path of its parent object
// ("" for the record) and the member name, still escaped (escapeExtraName).
func splitExtraPath(path string) (parent, name string) {
	for _, p := range extraParents {
		if len(path) > len(p) && path[:len(p)] == p && path[len(p)] == '.' {
			return p, path[len(p)+1:]
		}
	}
	if len(path) > len("resources[") && path[:len("resources[")] == "resources[" {
		for j := len("resources["); j < len(path); j++ {
			c := path[j]
			if c == ']' && j > len("resources[") && j+1 < len(path) && path[j+1] == '.' {
				return path[:j+1], path[j+2:]
			}
			if c < '0' || c > '9' {
				break
			}
		}
	}
	return "", path
}

// escapeExtraName returns a member name as an Extra path writes it: with a
// backslash before each '.', '[' and '\\' it holds, so that a name such as
// "a.b" is not taken for member b of an object a. Names without them (every
// name CloudTrail writes) are returned as they are.
func escapeExtraName(name string) string {
	if !strings.ContainsAny(name, `.[\`) {
		return name
	}
	var b strings.Builder
	b.Grow(len(name) + 4)
	for i := 0; i < len(name); i++ {
		if c := name[i]; c == '.' || c == '[' || c == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(name[i])
	}
	return b.String()
}

// unescapeExtraName undoes escapeExtraName on the member name
// splitExtraPath returns; a '.' or '[' without a backslash is kept as it is.
func unescapeExtraName(name string) string {
	if strings.IndexByte(name, '\\') < 0 {
		return name
	}
	var b strings.Builder
	b.Grow(len(name))
	for i := 0; i < len(name); i++ {
		if name[i] == '\\' && i+1 < len(name) {
			i++
		}
		b.WriteByte(name[i])
	}
	return b.String()
}

// openObject and closeObject bracket an object whose members are written by
// appendKey, which leaves out the comma directly after '{'.
func openObject(dst []byte) []byte { return append(dst, '{') }

func closeObject(dst []byte) []byte { return append(dst, '}') }

// appendField writes `,"name":"value"`.
func appendField(dst []byte, name, value string) []byte {
	dst = appendKey(dst, name)
	return appendString(dst, value)
}

// appendKey writes `,"name":`, or `"name":` directly after an opening brace.
func appendKey(dst []byte, name string) []byte {
	if len(dst) == 0 || dst[len(dst)-1] != '{' {
		dst = append(dst, ',')
	}
	dst = append(dst, '"')
	dst = append(dst, name...)
	return append(dst, '"', ':')
}

// appendOptP is appendOpt that also writes an empty value when Empty names
// the field prefix+name.
func appendOptP(dst []byte, e *Event, prefix, name, value string) []byte {
	if value == "" && (len(e.Empty) == 0 || !e.keep(prefix, name)) {
		return dst
	}
	return appendField(dst, name, value)
}

func appendOpt(dst []byte, name, value string) []byte {
	if value == "" {
		return dst
	}
	return appendField(dst, name, value)
}

func appendBoolOpt(dst []byte, name string, v *bool) []byte {
	if v == nil {
		return dst
	}
	dst = appendKey(dst, name)
	if *v {
		return append(dst, "true"...)
	}
	return append(dst, "false"...)
}

func appendRawOpt(dst []byte, name string, raw []byte) []byte {
	if len(raw) == 0 {
		return dst
	}
	dst = appendKey(dst, name)
	return appendCompact(dst, raw)
}

func appendRawOrNull(dst []byte, raw []byte) []byte {
	if len(raw) == 0 {
		return append(dst, "null"...)
	}
	return appendCompact(dst, raw)
}

// hasJSONSpace reports whether b holds a JSON white-space byte anywhere
// (four vectorised scans instead of a byte-at-a-time state machine).
func hasJSONSpace(b []byte) bool {
	return bytes.IndexByte(b, ' ') >= 0 || bytes.IndexByte(b, '\n') >= 0 ||
		bytes.IndexByte(b, '\t') >= 0 || bytes.IndexByte(b, '\r') >= 0
}

// appendCompact copies valid JSON, dropping white space outside strings.
// Strings and the runs between white space are copied whole.
func appendCompact(dst []byte, raw []byte) []byte {
	if !hasJSONSpace(raw) {
		return append(dst, raw...) // already compact: the common case
	}
	for i := 0; i < len(raw); {
		switch raw[i] {
		case ' ', '\t', '\n', '\r':
			i++
			continue
		case '"':
			j := stringEnd(raw, i+1)
			dst = append(dst, raw[i:j]...)
			i = j
			continue
		}
		j := i + 1
		for j < len(raw) && raw[j] != '"' && raw[j] != ' ' && raw[j] != '\t' && raw[j] != '\n' && raw[j] != '\r' {
			j++
		}
		dst = append(dst, raw[i:j]...)
		i = j
	}
	return dst
}

// stringEnd returns the index after the quote that closes the JSON string
// whose contents start at raw[i] (len(raw) if none does).
func stringEnd(raw []byte, i int) int {
	for {
		k := bytes.IndexByte(raw[i:], '"')
		if k < 0 {
			return len(raw)
		}
		q := i + k
		bs := 0
		for bs < q-i && raw[q-1-bs] == '\\' {
			bs++
		}
		if bs%2 == 0 {
			return q + 1
		}
		i = q + 1
	}
}

func appendTime(dst []byte, t time.Time) []byte {
	dst = append(dst, '"')
	dst = t.UTC().AppendFormat(dst, TimeFormat)
	return append(dst, '"')
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string (see jsontext.AppendString).
func appendString(dst []byte, s string) []byte { return jsontext.AppendString(dst, s) }
