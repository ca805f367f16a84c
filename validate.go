package trail

import (
	"encoding/json"
	"time"
	"unsafe"

	"github.com/trailkit/trail/internal/ids"
	"github.com/trailkit/trail/internal/jsontext"
)

// Size limits of CloudTrail records.
const (
	// MaxEventSize is the largest record Record accepts (256 KB), counted
	// on the encoded record exactly as cwlogsink counts a log event:
	// EncodedEventSize (the record's JSON plus 26 bytes).
	MaxEventSize = 256 << 10
	// maxTextField is the cap of userAgent, errorCode, errorMessage and
	// requestID; longer values are truncated, as CloudTrail does.
	maxTextField = 1 << 10
	// maxRawLarge caps requestParameters, responseElements and
	// serviceEventDetails; maxRawSmall caps additionalEventData and
	// edgeDeviceDetails.
	maxRawLarge = 100 << 10
	maxRawSmall = 28 << 10
	// maxOtherField caps every other string field.
	maxOtherField = 2 << 10
)

// arena hands out memory for the deep copies Record makes. Chunks are never
// reused: a chunk is freed by the garbage collector once no queued event
// refers to it, so handing out sub-slices is safe and costs one allocation
// per chunk rather than one per field.
type arena struct {
	ids   ids.Source
	bytes []byte
	res   []Resource
	ext   []extras
	items []item // see Recorder.getItem
}

// extras holds the pointed-to parts of one event's copy.
type extras struct {
	sc  SessionContext
	si  SessionIssuer
	wf  WebIDFederationData
	sa  SessionAttributes
	ob  OnBehalfOf
	ad  Addendum
	tls TLSDetails
	ins InsightDetails
}

const (
	arenaBytes = 64 << 10
	arenaRes   = 256
	arenaExt   = 64
)

func (a *arena) copyBytes(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	if len(b) > arenaBytes/4 {
		return append([]byte(nil), b...)
	}
	if len(a.bytes)+len(b) > cap(a.bytes) {
		a.bytes = make([]byte, 0, arenaBytes)
	}
	n := len(a.bytes)
	a.bytes = append(a.bytes, b...)
	return a.bytes[n:len(a.bytes):len(a.bytes)]
}

func (a *arena) resources(n int) []Resource {
	if n > arenaRes/4 {
		return make([]Resource, n)
	}
	if len(a.res)+n > cap(a.res) {
		a.res = make([]Resource, 0, arenaRes)
	}
	m := len(a.res)
	a.res = a.res[:m+n]
	return a.res[m : m+n : m+n]
}

func (a *arena) extras() *extras {
	if len(a.ext) == cap(a.ext) {
		a.ext = make([]extras, 0, arenaExt)
	}
	a.ext = a.ext[:len(a.ext)+1]
	return &a.ext[len(a.ext)-1]
}

// newEventID returns a random (version 4) UUID in lower case.
func (a *arena) newEventID() string {
	if a.ids == (ids.Source{}) {
		a.ids = ids.NewSource()
	}
	var s [36]byte
	a.ids.PutUUID(&s)
	b := a.copyBytes(s[:])
	return unsafe.String(&b[0], len(b)) // b is never written again
}

// prepare copies src into dst (deeply, using a), validates it and stamps the
// defaults. It does not allocate for an event without raw JSON fields,
// resources or identity sub-objects beyond what the arena amortizes.
func (r *Recorder) prepare(dst, src *Event, a *arena) error {
	*dst = *src
	if err := validateRaw(dst, a); err != nil {
		return err
	}
	if src.Resources != nil {
		if len(src.Resources) == 0 {
			dst.Resources = noResources // "resources":[] is kept
		} else {
			dst.Resources = a.resources(len(src.Resources))
			copy(dst.Resources, src.Resources)
		}
	}
	if src.ReadOnly != nil {
		dst.ReadOnly = boolPtr(*src.ReadOnly)
	}
	if src.ManagementEvent != nil {
		dst.ManagementEvent = boolPtr(*src.ManagementEvent)
	}
	if src.Addendum != nil || src.TLSDetails != nil || src.UserIdentity.SessionContext != nil || src.UserIdentity.OnBehalfOf != nil || src.InsightDetails != nil {
		x := a.extras()
		if src.InsightDetails != nil {
			x.ins = *src.InsightDetails
			raw := x.ins.InsightContext
			if len(raw) > maxRawLarge || (len(raw) > 0 && !isJSONObject(raw)) {
				return &ValidationError{Field: "insightDetails.insightContext", Reason: "not a JSON object of at most 100 KB"}
			}
			x.ins.InsightContext = a.copyBytes(raw)
			dst.InsightDetails = &x.ins
		}
		if src.Addendum != nil {
			x.ad = *src.Addendum
			dst.Addendum = &x.ad
		}
		if src.TLSDetails != nil {
			x.tls = *src.TLSDetails
			dst.TLSDetails = &x.tls
		}
		if src.UserIdentity.OnBehalfOf != nil {
			x.ob = *src.UserIdentity.OnBehalfOf
			dst.UserIdentity.OnBehalfOf = &x.ob
		}
		if sc := src.UserIdentity.SessionContext; sc != nil {
			x.sc = *sc
			dst.UserIdentity.SessionContext = &x.sc
			if sc.SessionIssuer != nil {
				x.si = *sc.SessionIssuer
				x.sc.SessionIssuer = &x.si
			}
			if sc.Attributes != nil {
				x.sa = *sc.Attributes
				x.sc.Attributes = &x.sa
			}
			if sc.WebIDFederationData != nil {
				x.wf = *sc.WebIDFederationData
				x.wf.Attributes = a.copyBytes(x.wf.Attributes)
				x.sc.WebIDFederationData = &x.wf
			}
		}
	}
	if len(src.Empty) > 0 || len(src.Extra) > 0 {
		if err := copyPresence(dst, src, a); err != nil {
			return err
		}
	}
	return r.stamp(dst, a)
}

// rawFieldNames names validateRaw's fields, in its order. They are kept out of
// the array of field pointers: escape analysis does not tell the array's
// members apart, so a name read from it into a *ValidationError made the
// event escape, and Record's copy of it cost one allocation per event.
var rawFieldNames = [...]string{"requestParameters", "responseElements", "additionalEventData",
	"serviceEventDetails", "edgeDeviceDetails", "userIdentity.inScopeOf", "userIdentity.invokedByDelegate"}

// rawAdditionalEventData is additionalEventData's index in rawFieldNames.
const rawAdditionalEventData = 2

// validateRaw checks and copies the raw JSON fields.
func validateRaw(e *Event, a *arena) error {
	fields := [...]struct {
		p   *json.RawMessage
		max int
	}{
		{&e.RequestParameters, maxRawLarge},
		{&e.ResponseElements, maxRawLarge},
		{&e.AdditionalEventData, maxRawSmall},
		{&e.ServiceEventDetails, maxRawLarge},
		{&e.EdgeDeviceDetails, maxRawSmall},
		{&e.UserIdentity.InScopeOf, maxRawSmall},
		{&e.UserIdentity.InvokedByDelegate, maxRawSmall},
	}
	for i := range fields {
		f := &fields[i]
		raw := *f.p
		if len(raw) == 0 {
			continue
		}
		if len(raw) > f.max {
			return &ValidationError{Field: rawFieldNames[i], Reason: "larger than " + kb(f.max)}
		}
		if isJSONNull(raw) {
			*f.p = nullJSON // kept: AWS writes null in some optional fields
			continue
		}
		if quickRaw(raw, i == rawAdditionalEventData) { // the common case, in one pass
			*f.p = a.copyBytes(raw)
			continue
		}
		// additionalEventData is a JSON string in some of AWS's records
		// (Route 53 Domains: "Personally-identifying contact information
		// is not logged in the request"); the others are objects.
		if !isJSONObject(raw) && (i != rawAdditionalEventData || !isJSONString(raw)) {
			return &ValidationError{Field: rawFieldNames[i], Reason: "not a JSON object"}
		}
		if why := checkRawText(raw); why != "" {
			return &ValidationError{Field: rawFieldNames[i], Reason: why}
		}
		*f.p = a.copyBytes(raw)
	}
	if sc := e.UserIdentity.SessionContext; sc != nil && sc.WebIDFederationData != nil {
		raw := sc.WebIDFederationData.Attributes
		if len(raw) == 0 || len(raw) <= maxRawSmall && quickRaw(raw, false) {
			return nil
		}
		if len(raw) > maxRawSmall || (len(raw) > 0 && !isJSONObject(raw)) {
			return &ValidationError{Field: "userIdentity.sessionContext.webIdFederationData.attributes", Reason: "not a JSON object of at most 28 KB"}
		}
		if why := checkRawText(raw); why != "" {
			return &ValidationError{Field: "userIdentity.sessionContext.webIdFederationData.attributes", Reason: why}
		}
	}
	return nil
}

func kb(n int) string {
	if n == maxRawLarge {
		return "100 KB"
	}
	return "28 KB"
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\n' || b[0] == '\r') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t' || b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

func isJSONNull(b []byte) bool { return string(trimSpace(b)) == "null" }

// quickRaw reports whether raw is certainly a valid raw field: a JSON
// object (or, with str, a JSON string) that checkRawText accepts. False
// means "check the slow way" (which then says why, or accepts text nested
// deeper than jsontext.QuickDepth).
func quickRaw(raw []byte, str bool) bool {
	t := trimSpace(raw)
	return len(t) > 0 && (t[0] == '{' || str && t[0] == '"') && jsontext.QuickValid(t)
}

func isJSONString(b []byte) bool {
	t := trimSpace(b)
	return len(t) > 1 && t[0] == '"' && json.Valid(t)
}

func isJSONObject(b []byte) bool {
	t := trimSpace(b)
	return len(t) > 0 && t[0] == '{' && json.Valid(t)
}

// stamp validates the fields that need it and fills in the defaults.
func (r *Recorder) stamp(e *Event, a *arena) error {
	if err := checkKind(e); err != nil {
		return err
	}
	if e.EventVersion == "" {
		e.EventVersion = EventVersion
	} else if !validVersion(e.EventVersion) {
		return &ValidationError{Field: "eventVersion", Reason: "want 1.<minor>, such as 1.0, 1.05 or 1.11"}
	}
	if e.EventTime.IsZero() {
		e.EventTime = time.Now().UTC().Truncate(time.Second)
	} else {
		if u := e.EventTime.Unix(); u < 0 || u >= unixYear10000 {
			return &ValidationError{Field: "eventTime", Reason: "year outside 1970..9999"}
		}
		if e.EventTime.After(time.Now().Add(24 * time.Hour)) {
			return &ValidationError{Field: "eventTime", Reason: "more than 24 hours in the future"}
		}
		e.EventTime = e.EventTime.UTC().Truncate(time.Second)
	}
	if e.EventID == "" {
		e.EventID = a.newEventID()
	} else if !validEventID(e.EventID) {
		return &ValidationError{Field: "eventID", Reason: "want at most 64 letters, digits and '-', such as a lower-case UUID"}
	}
	if e.AWSRegion == "" {
		e.AWSRegion = r.cfg.Region
	} else if !validRegion(e.AWSRegion) {
		return &ValidationError{Field: "awsRegion", Reason: "want lower-case letters, digits and '-', such as us-east-1"}
	}
	if e.RecipientAccountID == "" {
		e.RecipientAccountID = r.cfg.AccountID
	} else if !validAccount(e.RecipientAccountID) {
		return &ValidationError{Field: "recipientAccountId", Reason: "want 12 digits"}
	}
	if e.EventType == "" {
		e.EventType = EventTypeAPICall
	}
	switch e.EventCategory {
	case "", CategoryManagement, CategoryData, CategoryNetworkActivity:
		if e.EventType == EventTypeInsight {
			if e.EventCategory != "" {
				return &ValidationError{Field: "eventCategory", Reason: "want Insight for an AwsCloudTrailInsight event"}
			}
			e.EventCategory = CategoryInsight
		}
	case CategoryInsight:
		if e.EventType != EventTypeInsight {
			return &ValidationError{Field: "eventCategory", Reason: "Insight only with eventType AwsCloudTrailInsight"}
		}
	default:
		return &ValidationError{Field: "eventCategory", Reason: "want Management, Data, NetworkActivity or Insight"}
	}
	e.UserAgent = truncate(e.UserAgent)
	e.ErrorCode = truncate(e.ErrorCode)
	e.ErrorMessage = truncate(e.ErrorMessage)
	e.RequestID = truncate(e.RequestID)
	u := &e.UserIdentity
	if max(len(e.EventSource), len(e.EventName), len(e.SourceIPAddress), len(e.APIVersion), len(e.EventType),
		len(e.SharedEventID), len(e.VPCEndpointID), len(e.VPCEndpointAccountID), len(e.SessionCredentialFromConsole),
		len(u.ARN), len(u.PrincipalID), len(u.UserName), len(u.Type), len(u.AccountID), len(u.InvokedBy)) <= maxOtherField {
		return nil // Record checks the encoded size (checkEncodedSize) once the event is categorized
	}
	for _, f := range [...]struct {
		name, v string
	}{
		{"eventSource", e.EventSource}, {"eventName", e.EventName}, {"sourceIPAddress", e.SourceIPAddress},
		{"apiVersion", e.APIVersion}, {"eventType", e.EventType}, {"sharedEventID", e.SharedEventID},
		{"vpcEndpointId", e.VPCEndpointID}, {"vpcEndpointAccountId", e.VPCEndpointAccountID},
		{"sessionCredentialFromConsole", e.SessionCredentialFromConsole},
		{"userIdentity.arn", e.UserIdentity.ARN}, {"userIdentity.principalId", e.UserIdentity.PrincipalID},
		{"userIdentity.userName", e.UserIdentity.UserName}, {"userIdentity.type", e.UserIdentity.Type},
		{"userIdentity.accountId", e.UserIdentity.AccountID}, {"userIdentity.invokedBy", e.UserIdentity.InvokedBy},
	} {
		if len(f.v) > maxOtherField {
			return &ValidationError{Field: f.name, Reason: "longer than 2 KB"}
		}
	}
	return nil // Record checks the encoded size (checkEncodedSize) once the event is categorized
}

// unixYear10000 is 10000-01-01T00:00:00Z: eventTime must be before it (and
// not before 1970).
const unixYear10000 = 253402300800

// truncate cuts s to maxTextField bytes on a rune boundary.
func truncate(s string) string { return jsontext.Truncate(s, maxTextField) }

// validVersion reports whether v is an eventVersion AWS writes or may write:
// "1." and one to three digits ("1.0", "1.05", "1.11", a later "1.12").
func validVersion(v string) bool {
	if len(v) < 3 || len(v) > 5 || v[0] != '1' || v[1] != '.' {
		return false
	}
	for i := 2; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return false
		}
	}
	return true
}

// validEventID reports whether s can be an eventID: CloudTrail writes
// lower-case UUIDs; records AWS publishes also carry placeholders such as
// "EXAMPLE8-9621-4d00-b913-beca2EXAMPLE", which are kept as they are.
func validEventID(s string) bool {
	if len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-') {
			return false
		}
	}
	return true
}

func validUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
				return false
			}
		}
	}
	return true
}

// validAccount reports whether s is 12 digits (accountRE, without regexp on
// the hot path).
func validAccount(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// validRegion reports whether s matches regionRE and is at most 64 bytes:
// lower-case letters and digits in groups joined by single dashes.
func validRegion(s string) bool {
	if s == "" || len(s) > 64 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '-' && s[i-1] != '-':
		default:
			return false
		}
	}
	return true
}
