package filter

import (
	"time"

	"github.com/trailkit/trail"
)

// Field ids of the Event struct tree. A selector is compiled once into one
// id per step (see compileEventPath) so that MatchEvent switches on small
// integers instead of comparing names. 0 means "no such field": the
// selector selects nothing.
const (
	fNone uint8 = iota
	// Event
	fEventVersion
	fUserIdentity
	fEventTime
	fEventSource
	fEventName
	fAWSRegion
	fSourceIPAddress
	fUserAgent
	fErrorCode
	fErrorMessage
	fRequestParameters
	fResponseElements
	fAdditionalEventData
	fRequestID
	fEventID
	fReadOnly
	fResources
	fEventType
	fAPIVersion
	fManagementEvent
	fRecipientAccountID
	fServiceEventDetails
	fSharedEventID
	fVPCEndpointID
	fVPCEndpointAccountID
	fEventCategory
	fAddendum
	fTLSDetails
	fSessionCredentialFromConsole
	fEdgeDeviceDetails
	// UserIdentity
	fUIType
	fUIPrincipalID
	fUIARN
	fUIAccountID
	fUIAccessKeyID
	fUIUserName
	fUISessionContext
	fUIInvokedBy
	fUIIdentityProvider
	fUICredentialID
	fUIOnBehalfOf
	fUIInScopeOf
	fUIInvokedByDelegate
	// SessionContext
	fSCSessionIssuer
	fSCWebIDFederationData
	fSCAttributes
	fSCSourceIdentity
	fSCEC2RoleDelivery
	fSCAssumedRoot
	fSCSignInSessionARN
	// SessionIssuer
	fSIType
	fSIPrincipalID
	fSIARN
	fSIAccountID
	fSIUserName
	// WebIDFederationData
	fWFederatedProvider
	fWAttributes
	// SessionAttributes
	fSACreationDate
	fSAMFAAuthenticated
	// OnBehalfOf
	fOBUserID
	fOBIdentityStoreARN
	// Resource
	fRAccountID
	fRType
	fRARN
	// Addendum
	fAReason
	fAUpdatedFields
	fAOriginalRequestID
	fAOriginalEventID
	// TLSDetails
	fTTLSVersion
	fTCipherSuite
	fTClientProvidedHostHeader
	fTKeyExchange
	// InsightDetails
	fInsightDetails
	fIDState
	fIDEventSource
	fIDEventName
	fIDInsightType
	fIDErrorCode
	fIDInsightContext
	// an array index step
	fIndex
)

var (
	eventFields = map[string]uint8{
		"eventVersion": fEventVersion, "userIdentity": fUserIdentity, "eventTime": fEventTime,
		"eventSource": fEventSource, "eventName": fEventName, "awsRegion": fAWSRegion,
		"sourceIPAddress": fSourceIPAddress, "userAgent": fUserAgent, "errorCode": fErrorCode,
		"errorMessage": fErrorMessage, "requestParameters": fRequestParameters,
		"responseElements": fResponseElements, "additionalEventData": fAdditionalEventData,
		"requestID": fRequestID, "eventID": fEventID, "readOnly": fReadOnly, "resources": fResources,
		"eventType": fEventType, "apiVersion": fAPIVersion, "managementEvent": fManagementEvent,
		"recipientAccountId": fRecipientAccountID, "serviceEventDetails": fServiceEventDetails,
		"sharedEventID": fSharedEventID, "vpcEndpointId": fVPCEndpointID,
		"vpcEndpointAccountId": fVPCEndpointAccountID, "eventCategory": fEventCategory,
		"addendum": fAddendum, "tlsDetails": fTLSDetails,
		"sessionCredentialFromConsole": fSessionCredentialFromConsole, "edgeDeviceDetails": fEdgeDeviceDetails,
		"insightDetails": fInsightDetails,
	}
	insightFields = map[string]uint8{
		"state": fIDState, "eventSource": fIDEventSource, "eventName": fIDEventName, "insightType": fIDInsightType,
		"errorCode": fIDErrorCode, "insightContext": fIDInsightContext,
	}
	userIdentityFields = map[string]uint8{
		"type": fUIType, "principalId": fUIPrincipalID, "arn": fUIARN, "accountId": fUIAccountID,
		"accessKeyId": fUIAccessKeyID, "userName": fUIUserName, "sessionContext": fUISessionContext,
		"invokedBy": fUIInvokedBy, "identityProvider": fUIIdentityProvider, "credentialId": fUICredentialID,
		"onBehalfOf": fUIOnBehalfOf, "inScopeOf": fUIInScopeOf, "invokedByDelegate": fUIInvokedByDelegate,
	}
	sessionContextFields = map[string]uint8{
		"sessionIssuer": fSCSessionIssuer, "webIdFederationData": fSCWebIDFederationData,
		"attributes": fSCAttributes, "sourceIdentity": fSCSourceIdentity, "ec2RoleDelivery": fSCEC2RoleDelivery,
		"assumedRoot": fSCAssumedRoot, "signInSessionArn": fSCSignInSessionARN,
	}
	sessionIssuerFields = map[string]uint8{
		"type": fSIType, "principalId": fSIPrincipalID, "arn": fSIARN, "accountId": fSIAccountID, "userName": fSIUserName,
	}
	webIDFields      = map[string]uint8{"federatedProvider": fWFederatedProvider, "attributes": fWAttributes}
	attributesFields = map[string]uint8{"creationDate": fSACreationDate, "mfaAuthenticated": fSAMFAAuthenticated}
	onBehalfOfFields = map[string]uint8{"userId": fOBUserID, "identityStoreArn": fOBIdentityStoreARN}
	resourceFields   = map[string]uint8{"accountId": fRAccountID, "type": fRType, "ARN": fRARN}
	addendumFields   = map[string]uint8{
		"reason": fAReason, "updatedFields": fAUpdatedFields, "originalRequestID": fAOriginalRequestID,
		"originalEventID": fAOriginalEventID,
	}
	tlsFields = map[string]uint8{
		"tlsVersion": fTTLSVersion, "cipherSuite": fTCipherSuite,
		"clientProvidedHostHeader": fTClientProvidedHostHeader, "keyExchange": fTKeyExchange,
	}
	// children names the field table of each object-valued id.
	children = map[uint8]map[string]uint8{
		0:                      eventFields,
		fUserIdentity:          userIdentityFields,
		fUISessionContext:      sessionContextFields,
		fSCSessionIssuer:       sessionIssuerFields,
		fSCWebIDFederationData: webIDFields,
		fSCAttributes:          attributesFields,
		fUIOnBehalfOf:          onBehalfOfFields,
		fAddendum:              addendumFields,
		fTLSDetails:            tlsFields,
		fInsightDetails:        insightFields,
	}
)

// compileEventPath maps a selector to field ids, one per step up to the
// first step that enters a raw JSON field (or an unknown name, id 0); the
// walk scans the raw field's JSON for the rest.
func compileEventPath(path []seg) []uint8 {
	ids := make([]uint8, 0, len(path))
	parent := uint8(0)
	for _, s := range path {
		switch {
		case parent == fResources:
			if s.index < 0 {
				return append(ids, fNone)
			}
			ids = append(ids, fIndex)
			parent = fIndex
			continue
		case parent == fIndex:
			if s.index >= 0 {
				return append(ids, fNone)
			}
			id := resourceFields[s.name]
			ids = append(ids, id)
			return ids
		}
		tbl, ok := children[parent]
		if !ok || s.index >= 0 {
			return append(ids, fNone)
		}
		id := tbl[s.name]
		ids = append(ids, id)
		if id == fNone {
			return ids
		}
		if _, obj := children[id]; !obj && id != fResources {
			return ids // a scalar or a raw JSON field: the walk takes it from here
		}
		parent = id
	}
	return ids
}

func (n *node) evalEvent(ev *trail.Event) bool {
	switch n.op {
	case nAnd:
		for _, k := range n.kids {
			if !k.evalEvent(ev) {
				return false
			}
		}
		return true
	case nOr:
		for _, k := range n.kids {
			if k.evalEvent(ev) {
				return true
			}
		}
		return false
	case nIn:
		return inSet(resolveEvent(ev, n.c.path, n.c.ids), n.set)
	}
	return n.c.eval(resolveEvent(ev, n.c.path, n.c.ids))
}

// Presence rules: these mirror Event.AppendJSON exactly for an event whose
// Empty and Extra are empty (MatchEvent encodes the others): a string is
// absent when empty ("opt"); a raw field is absent when empty, except
// requestParameters and responseElements, which are null when empty but in
// service and Insights events; userIdentity is absent when it has nothing to
// write, eventTime when it is zero.

func opt(s string, rest []seg) value {
	if s == "" || len(rest) > 0 {
		return missing
	}
	return value{k: vStr, s: s}
}

func boolOpt(b *bool, rest []seg) value {
	if b == nil || len(rest) > 0 {
		return missing
	}
	return value{k: vBool, b: *b}
}

func rawOpt(raw []byte, rest []seg) value {
	if len(raw) == 0 {
		return missing
	}
	return lookup(raw, rest)
}

func rawOrNull(raw []byte, rest []seg) value {
	if len(raw) == 0 {
		if len(rest) > 0 {
			return missing
		}
		return value{k: vNull}
	}
	return lookup(raw, rest)
}

func object(rest []seg) value {
	if len(rest) > 0 {
		return missing // the caller resolves deeper steps itself
	}
	return value{k: vCompound}
}

func resolveEvent(ev *trail.Event, path []seg, ids []uint8) value {
	if len(ids) == 0 {
		return missing
	}
	rest := path[1:]
	switch ids[0] {
	case fEventVersion:
		return opt(ev.EventVersion, rest)
	case fUserIdentity:
		if identityIsZero(&ev.UserIdentity) {
			return missing
		}
		if len(rest) == 0 {
			return value{k: vCompound}
		}
		return resolveUserIdentity(&ev.UserIdentity, rest, ids[1:])
	case fEventTime:
		if len(rest) > 0 || ev.EventTime.IsZero() {
			return missing
		}
		return value{k: vStr, s: formatTime(ev.EventTime)}
	case fEventSource:
		return opt(ev.EventSource, rest)
	case fEventName:
		return opt(ev.EventName, rest)
	case fAWSRegion:
		return opt(ev.AWSRegion, rest)
	case fSourceIPAddress:
		return opt(ev.SourceIPAddress, rest)
	case fUserAgent:
		return opt(ev.UserAgent, rest)
	case fErrorCode:
		return opt(ev.ErrorCode, rest)
	case fErrorMessage:
		return opt(ev.ErrorMessage, rest)
	case fRequestParameters:
		if optionalPayload(ev) {
			return rawOpt(ev.RequestParameters, rest)
		}
		return rawOrNull(ev.RequestParameters, rest)
	case fResponseElements:
		if optionalPayload(ev) {
			return rawOpt(ev.ResponseElements, rest)
		}
		return rawOrNull(ev.ResponseElements, rest)
	case fAdditionalEventData:
		return rawOpt(ev.AdditionalEventData, rest)
	case fRequestID:
		return opt(ev.RequestID, rest)
	case fEventID:
		return opt(ev.EventID, rest)
	case fReadOnly:
		return boolOpt(ev.ReadOnly, rest)
	case fResources:
		if ev.Resources == nil {
			return missing
		}
		if len(rest) == 0 {
			return value{k: vCompound}
		}
		if len(ids) < 2 || ids[1] != fIndex || rest[0].index >= len(ev.Resources) {
			return missing
		}
		r := &ev.Resources[rest[0].index]
		rest = rest[1:]
		if len(rest) == 0 {
			return value{k: vCompound}
		}
		if len(ids) < 3 {
			return missing
		}
		switch ids[2] {
		case fRAccountID:
			return opt(r.AccountID, rest[1:])
		case fRType:
			return opt(r.Type, rest[1:])
		case fRARN:
			return opt(r.ARN, rest[1:])
		}
		return missing
	case fEventType:
		return opt(ev.EventType, rest)
	case fAPIVersion:
		return opt(ev.APIVersion, rest)
	case fManagementEvent:
		return boolOpt(ev.ManagementEvent, rest)
	case fRecipientAccountID:
		return opt(ev.RecipientAccountID, rest)
	case fServiceEventDetails:
		return rawOpt(ev.ServiceEventDetails, rest)
	case fSharedEventID:
		return opt(ev.SharedEventID, rest)
	case fVPCEndpointID:
		return opt(ev.VPCEndpointID, rest)
	case fVPCEndpointAccountID:
		return opt(ev.VPCEndpointAccountID, rest)
	case fEventCategory:
		return opt(ev.EventCategory, rest)
	case fInsightDetails:
		d := ev.InsightDetails
		if d == nil {
			return missing
		}
		if len(rest) == 0 {
			return value{k: vCompound}
		}
		switch ids[1] {
		case fIDState:
			return opt(d.State, rest[1:])
		case fIDEventSource:
			return opt(d.EventSource, rest[1:])
		case fIDEventName:
			return opt(d.EventName, rest[1:])
		case fIDInsightType:
			return opt(d.InsightType, rest[1:])
		case fIDErrorCode:
			return opt(d.ErrorCode, rest[1:])
		case fIDInsightContext:
			return rawOpt(d.InsightContext, rest[1:])
		}
		return missing
	case fAddendum:
		a := ev.Addendum
		if a == nil {
			return missing
		}
		if len(rest) == 0 {
			return value{k: vCompound}
		}
		switch ids[1] {
		case fAReason:
			return opt(a.Reason, rest[1:])
		case fAUpdatedFields:
			return opt(a.UpdatedFields, rest[1:])
		case fAOriginalRequestID:
			return opt(a.OriginalRequestID, rest[1:])
		case fAOriginalEventID:
			return opt(a.OriginalEventID, rest[1:])
		}
		return missing
	case fTLSDetails:
		t := ev.TLSDetails
		if t == nil {
			return missing
		}
		if len(rest) == 0 {
			return value{k: vCompound}
		}
		switch ids[1] {
		case fTTLSVersion:
			return opt(t.TLSVersion, rest[1:])
		case fTCipherSuite:
			return opt(t.CipherSuite, rest[1:])
		case fTClientProvidedHostHeader:
			return opt(t.ClientProvidedHostHeader, rest[1:])
		case fTKeyExchange:
			return opt(t.KeyExchange, rest[1:])
		}
		return missing
	case fSessionCredentialFromConsole:
		return opt(ev.SessionCredentialFromConsole, rest)
	case fEdgeDeviceDetails:
		return rawOpt(ev.EdgeDeviceDetails, rest)
	}
	return missing
}

func resolveUserIdentity(u *trail.UserIdentity, path []seg, ids []uint8) value {
	if len(ids) == 0 {
		return missing
	}
	rest := path[1:]
	switch ids[0] {
	case fUIType:
		return opt(u.Type, rest)
	case fUIPrincipalID:
		return opt(u.PrincipalID, rest)
	case fUIARN:
		return opt(u.ARN, rest)
	case fUIAccountID:
		return opt(u.AccountID, rest)
	case fUIAccessKeyID:
		return opt(u.AccessKeyID, rest)
	case fUIUserName:
		return opt(u.UserName, rest)
	case fUISessionContext:
		sc := u.SessionContext
		if sc == nil {
			return missing
		}
		if len(rest) == 0 {
			return value{k: vCompound}
		}
		return resolveSessionContext(sc, rest, ids[1:])
	case fUIInvokedBy:
		return opt(u.InvokedBy, rest)
	case fUIIdentityProvider:
		return opt(u.IdentityProvider, rest)
	case fUICredentialID:
		return opt(u.CredentialID, rest)
	case fUIOnBehalfOf:
		o := u.OnBehalfOf
		if o == nil {
			return missing
		}
		if len(rest) == 0 {
			return value{k: vCompound}
		}
		switch ids[1] {
		case fOBUserID:
			return opt(o.UserID, rest[1:])
		case fOBIdentityStoreARN:
			return opt(o.IdentityStoreARN, rest[1:])
		}
		return missing
	case fUIInScopeOf:
		return rawOpt(u.InScopeOf, rest)
	case fUIInvokedByDelegate:
		return rawOpt(u.InvokedByDelegate, rest)
	}
	return missing
}

func resolveSessionContext(sc *trail.SessionContext, path []seg, ids []uint8) value {
	if len(ids) == 0 {
		return missing
	}
	rest := path[1:]
	switch ids[0] {
	case fSCSessionIssuer:
		si := sc.SessionIssuer
		if si == nil {
			return missing
		}
		if len(rest) == 0 {
			return value{k: vCompound}
		}
		switch ids[1] {
		case fSIType:
			return opt(si.Type, rest[1:])
		case fSIPrincipalID:
			return opt(si.PrincipalID, rest[1:])
		case fSIARN:
			return opt(si.ARN, rest[1:])
		case fSIAccountID:
			return opt(si.AccountID, rest[1:])
		case fSIUserName:
			return opt(si.UserName, rest[1:])
		}
		return missing
	case fSCWebIDFederationData:
		w := sc.WebIDFederationData
		if w == nil {
			return missing
		}
		if len(rest) == 0 {
			return value{k: vCompound}
		}
		switch ids[1] {
		case fWFederatedProvider:
			return opt(w.FederatedProvider, rest[1:])
		case fWAttributes:
			return rawOpt(w.Attributes, rest[1:])
		}
		return missing
	case fSCAttributes:
		a := sc.Attributes
		if a == nil {
			return missing
		}
		if len(rest) == 0 {
			return value{k: vCompound}
		}
		switch ids[1] {
		case fSACreationDate:
			return opt(a.CreationDate, rest[1:])
		case fSAMFAAuthenticated:
			return opt(a.MFAAuthenticated, rest[1:])
		}
		return missing
	case fSCSourceIdentity:
		return opt(sc.SourceIdentity, rest)
	case fSCEC2RoleDelivery:
		return opt(sc.EC2RoleDelivery, rest)
	case fSCAssumedRoot:
		return opt(sc.AssumedRoot, rest)
	case fSCSignInSessionARN:
		return opt(sc.SignInSessionARN, rest)
	}
	return missing
}

// optionalPayload: service and Insights events carry requestParameters and
// responseElements only when set.
func optionalPayload(ev *trail.Event) bool {
	return ev.EventType == trail.EventTypeServiceEvent || ev.EventType == trail.EventTypeInsight
}

// identityIsZero mirrors UserIdentity.isZero: nothing to write.
func identityIsZero(u *trail.UserIdentity) bool {
	return u.Type == "" && u.PrincipalID == "" && u.ARN == "" && u.AccountID == "" && u.AccessKeyID == "" &&
		u.UserName == "" && u.SessionContext == nil && u.InvokedBy == "" && u.IdentityProvider == "" &&
		u.CredentialID == "" && u.OnBehalfOf == nil && len(u.InScopeOf) == 0 && len(u.InvokedByDelegate) == 0
}

func formatTime(t time.Time) string {
	return t.UTC().Format(trail.TimeFormat)
}
