package trail

import (
	"time"

	"github.com/trailkit/trail/internal/jsontext"
)

// AppendJSON appends the event's compact JSON record to dst and returns the
// extended slice. Keys come in the order CloudTrail writes them; absent
// optional fields are omitted; requestParameters and responseElements are
// written as null when empty. Strings are escaped as encoding/json does,
// except that '<', '>', '&' and '/' are written as is (as in CloudTrail log
// files). Raw JSON fields are copied with insignificant white space removed;
// they are expected to be valid JSON (Record checks that), AppendJSON does not
// check again.
func (e *Event) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"eventVersion":`...)
	dst = appendString(dst, e.EventVersion)
	dst = append(dst, `,"userIdentity":`...)
	dst = e.UserIdentity.appendJSON(dst)
	dst = append(dst, `,"eventTime":`...)
	dst = appendTime(dst, e.EventTime)
	dst = appendField(dst, "eventSource", e.EventSource)
	dst = appendField(dst, "eventName", e.EventName)
	dst = appendField(dst, "awsRegion", e.AWSRegion)
	dst = appendOpt(dst, "sourceIPAddress", e.SourceIPAddress)
	dst = appendOpt(dst, "userAgent", e.UserAgent)
	dst = appendOpt(dst, "errorCode", e.ErrorCode)
	dst = appendOpt(dst, "errorMessage", e.ErrorMessage)
	dst = append(dst, `,"requestParameters":`...)
	dst = appendRawOrNull(dst, e.RequestParameters)
	dst = append(dst, `,"responseElements":`...)
	dst = appendRawOrNull(dst, e.ResponseElements)
	dst = appendRawOpt(dst, "additionalEventData", e.AdditionalEventData)
	dst = appendOpt(dst, "requestID", e.RequestID)
	dst = appendField(dst, "eventID", e.EventID)
	dst = appendBoolOpt(dst, "readOnly", e.ReadOnly)
	if e.Resources != nil {
		dst = append(dst, `,"resources":[`...)
		for i := range e.Resources {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = e.Resources[i].appendJSON(dst)
		}
		dst = append(dst, ']')
	}
	dst = appendField(dst, "eventType", e.EventType)
	dst = appendOpt(dst, "apiVersion", e.APIVersion)
	dst = appendBoolOpt(dst, "managementEvent", e.ManagementEvent)
	dst = appendOpt(dst, "recipientAccountId", e.RecipientAccountID)
	dst = appendRawOpt(dst, "serviceEventDetails", e.ServiceEventDetails)
	dst = appendOpt(dst, "sharedEventID", e.SharedEventID)
	dst = appendOpt(dst, "vpcEndpointId", e.VPCEndpointID)
	dst = appendOpt(dst, "vpcEndpointAccountId", e.VPCEndpointAccountID)
	dst = appendField(dst, "eventCategory", e.EventCategory)
	if a := e.Addendum; a != nil {
		dst = append(dst, `,"addendum":`...)
		dst = openObject(dst)
		dst = appendOpt(dst, "reason", a.Reason)
		dst = appendOpt(dst, "updatedFields", a.UpdatedFields)
		dst = appendOpt(dst, "originalRequestID", a.OriginalRequestID)
		dst = appendOpt(dst, "originalEventID", a.OriginalEventID)
		dst = closeObject(dst)
	}
	if t := e.TLSDetails; t != nil {
		dst = append(dst, `,"tlsDetails":`...)
		dst = openObject(dst)
		dst = appendOpt(dst, "tlsVersion", t.TLSVersion)
		dst = appendOpt(dst, "cipherSuite", t.CipherSuite)
		dst = appendOpt(dst, "clientProvidedHostHeader", t.ClientProvidedHostHeader)
		dst = appendOpt(dst, "keyExchange", t.KeyExchange)
		dst = closeObject(dst)
	}
	dst = appendOpt(dst, "sessionCredentialFromConsole", e.SessionCredentialFromConsole)
	dst = appendRawOpt(dst, "edgeDeviceDetails", e.EdgeDeviceDetails)
	return append(dst, '}')
}

func (u *UserIdentity) appendJSON(dst []byte) []byte {
	dst = openObject(dst)
	dst = appendOpt(dst, "type", u.Type)
	dst = appendOpt(dst, "principalId", u.PrincipalID)
	dst = appendOpt(dst, "arn", u.ARN)
	dst = appendOpt(dst, "accountId", u.AccountID)
	dst = appendOpt(dst, "accessKeyId", u.AccessKeyID)
	dst = appendOpt(dst, "userName", u.UserName)
	if sc := u.SessionContext; sc != nil {
		dst = appendKey(dst, "sessionContext")
		dst = sc.appendJSON(dst)
	}
	dst = appendOpt(dst, "invokedBy", u.InvokedBy)
	dst = appendOpt(dst, "identityProvider", u.IdentityProvider)
	dst = appendOpt(dst, "credentialId", u.CredentialID)
	if o := u.OnBehalfOf; o != nil {
		dst = appendKey(dst, "onBehalfOf")
		dst = openObject(dst)
		dst = appendOpt(dst, "userId", o.UserID)
		dst = appendOpt(dst, "identityStoreArn", o.IdentityStoreARN)
		dst = closeObject(dst)
	}
	dst = appendRawOpt(dst, "inScopeOf", u.InScopeOf)
	dst = appendRawOpt(dst, "invokedByDelegate", u.InvokedByDelegate)
	return closeObject(dst)
}

func (sc *SessionContext) appendJSON(dst []byte) []byte {
	dst = openObject(dst)
	if si := sc.SessionIssuer; si != nil {
		dst = appendKey(dst, "sessionIssuer")
		dst = openObject(dst)
		dst = appendOpt(dst, "type", si.Type)
		dst = appendOpt(dst, "principalId", si.PrincipalID)
		dst = appendOpt(dst, "arn", si.ARN)
		dst = appendOpt(dst, "accountId", si.AccountID)
		dst = appendOpt(dst, "userName", si.UserName)
		dst = closeObject(dst)
	}
	if w := sc.WebIDFederationData; w != nil {
		dst = appendKey(dst, "webIdFederationData")
		dst = openObject(dst)
		dst = appendOpt(dst, "federatedProvider", w.FederatedProvider)
		dst = appendRawOpt(dst, "attributes", w.Attributes)
		dst = closeObject(dst)
	}
	if a := sc.Attributes; a != nil {
		dst = appendKey(dst, "attributes")
		dst = openObject(dst)
		dst = appendOpt(dst, "creationDate", a.CreationDate)
		dst = appendOpt(dst, "mfaAuthenticated", a.MFAAuthenticated)
		dst = closeObject(dst)
	}
	dst = appendOpt(dst, "sourceIdentity", sc.SourceIdentity)
	dst = appendOpt(dst, "ec2RoleDelivery", sc.EC2RoleDelivery)
	dst = appendOpt(dst, "assumedRoot", sc.AssumedRoot)
	dst = appendOpt(dst, "signInSessionArn", sc.SignInSessionARN)
	return closeObject(dst)
}

func (r *Resource) appendJSON(dst []byte) []byte {
	dst = openObject(dst)
	dst = appendOpt(dst, "accountId", r.AccountID)
	dst = appendOpt(dst, "type", r.Type)
	dst = appendOpt(dst, "ARN", r.ARN)
	return closeObject(dst)
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

// appendCompact copies valid JSON, dropping white space outside strings.
func appendCompact(dst []byte, raw []byte) []byte {
	inString, escaped := false, false
	for _, c := range raw {
		if inString {
			dst = append(dst, c)
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		case '"':
			inString = true
		}
		dst = append(dst, c)
	}
	return dst
}

func appendTime(dst []byte, t time.Time) []byte {
	dst = append(dst, '"')
	dst = t.UTC().AppendFormat(dst, TimeFormat)
	return append(dst, '"')
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string (see jsontext.AppendString).
func appendString(dst []byte, s string) []byte { return jsontext.AppendString(dst, s) }
