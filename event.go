package trail

import (
	"encoding/json"
	"time"
)

// Event is one CloudTrail record: an API call (or console action, service
// event, …) made to the host application. Field names and JSON spellings are
// CloudTrail's; see the CloudTrail record-contents reference.
//
// Empty string fields are omitted from the JSON, unless Empty names them:
// Empty and Extra make an Event presence-exact, so that a record AWS wrote
// decodes (UnmarshalJSON, DecodeLogFile) and re-encodes (AppendJSON) to the
// same JSON value, empty strings, {}, [], nulls and members this version of
// Event does not know included. The raw JSON fields (RequestParameters,
// ResponseElements, AdditionalEventData, ServiceEventDetails,
// EdgeDeviceDetails) must hold a JSON object or null when set;
// RequestParameters and ResponseElements are written as null when empty, as
// CloudTrail does (see AppendJSON for service and Insights events).
//
// An Insights event (EventType AwsCloudTrailInsight) carries InsightDetails
// and no top-level EventSource, EventName or UserIdentity.
//
// Record stamps what is missing (EventID, EventTime, EventVersion, AWSRegion,
// RecipientAccountID, EventType, EventCategory, ManagementEvent) on its own
// copy; the caller's Event is never modified and may be reused as soon as
// Record returns.
type Event struct {
	EventVersion                 string          `json:"eventVersion"`
	UserIdentity                 UserIdentity    `json:"userIdentity"`
	EventTime                    time.Time       `json:"eventTime"`
	EventSource                  string          `json:"eventSource"`
	EventName                    string          `json:"eventName"`
	AWSRegion                    string          `json:"awsRegion"`
	SourceIPAddress              string          `json:"sourceIPAddress,omitempty"`
	UserAgent                    string          `json:"userAgent,omitempty"`
	ErrorCode                    string          `json:"errorCode,omitempty"`
	ErrorMessage                 string          `json:"errorMessage,omitempty"`
	RequestParameters            json.RawMessage `json:"requestParameters"`
	ResponseElements             json.RawMessage `json:"responseElements"`
	AdditionalEventData          json.RawMessage `json:"additionalEventData,omitempty"`
	RequestID                    string          `json:"requestID,omitempty"`
	EventID                      string          `json:"eventID"`
	ReadOnly                     *bool           `json:"readOnly,omitempty"`
	Resources                    []Resource      `json:"resources,omitempty"`
	EventType                    string          `json:"eventType"`
	APIVersion                   string          `json:"apiVersion,omitempty"`
	ManagementEvent              *bool           `json:"managementEvent,omitempty"`
	RecipientAccountID           string          `json:"recipientAccountId,omitempty"`
	ServiceEventDetails          json.RawMessage `json:"serviceEventDetails,omitempty"`
	SharedEventID                string          `json:"sharedEventID,omitempty"`
	VPCEndpointID                string          `json:"vpcEndpointId,omitempty"`
	VPCEndpointAccountID         string          `json:"vpcEndpointAccountId,omitempty"`
	EventCategory                string          `json:"eventCategory"`
	Addendum                     *Addendum       `json:"addendum,omitempty"`
	TLSDetails                   *TLSDetails     `json:"tlsDetails,omitempty"`
	SessionCredentialFromConsole string          `json:"sessionCredentialFromConsole,omitempty"`
	EdgeDeviceDetails            json.RawMessage `json:"edgeDeviceDetails,omitempty"`
	InsightDetails               *InsightDetails `json:"insightDetails,omitempty"`

	// Empty lists the fields, by JSON path, that the record holds with an
	// empty value which Event would otherwise leave out: "" for a string
	// field, {} for userIdentity. AWS writes such values (a Root sign-in's
	// "accessKeyId":"", an Identity Center sign-in's "arn":""); decoding
	// fills Empty, so that AppendJSON writes them back. A path is the
	// field's JSON name joined to its parents' by dots, with resources
	// elements indexed: "sourceIPAddress", "userIdentity.accessKeyId",
	// "resources[0].ARN". A path naming a field that is set is ignored.
	Empty []string `json:"-"`

	// Extra holds the members of the record that Event has no field for —
	// what a newer eventVersion adds — and members AWS wrote as null where
	// Event's field cannot hold null. Decoding fills it in the order of the
	// record; AppendJSON writes each member back at the end of the object
	// its path's parent names (the record itself, userIdentity, its
	// sessionContext and the objects within, an element of resources,
	// addendum, tlsDetails or insightDetails), after the fields Event knows.
	Extra []ExtraField `json:"-"`
}

// ExtraField is one member of a record that Event has no field for. Path is
// the member's JSON path, as in Event.Empty ("eventContext",
// "userIdentity.newField", "resources[1].newField"); Value is its JSON value.
// A member name holding '.', '[' or '\' is written in the path with a
// backslash before each of them: a top-level member "a.b" is `a\.b`, a member
// "x.y" of userIdentity `userIdentity.x\.y`.
type ExtraField struct {
	Path  string
	Value json.RawMessage
}

// InsightDetails is the insightDetails object of a CloudTrail Insights
// event (eventType AwsCloudTrailInsight, eventCategory Insight). Such an
// event has no eventSource, eventName or userIdentity at the top level:
// EventSource and EventName here name the API whose unusual activity the
// insight reports. State is Start or End; the two events of one episode
// share Event.SharedEventID. InsightContext (statistics, attributions) is
// kept as raw JSON.
type InsightDetails struct {
	State          string          `json:"state,omitempty"`
	EventSource    string          `json:"eventSource,omitempty"`
	EventName      string          `json:"eventName,omitempty"`
	InsightType    string          `json:"insightType,omitempty"` // ApiCallRateInsight, ApiErrorRateInsight
	ErrorCode      string          `json:"errorCode,omitempty"`
	InsightContext json.RawMessage `json:"insightContext,omitempty"`
}

// UserIdentity describes who made the call (CloudTrail's userIdentity element).
type UserIdentity struct {
	Type              string          `json:"type,omitempty"` // Root, IAMUser, AssumedRole, AWSService, …
	PrincipalID       string          `json:"principalId,omitempty"`
	ARN               string          `json:"arn,omitempty"`
	AccountID         string          `json:"accountId,omitempty"`
	AccessKeyID       string          `json:"accessKeyId,omitempty"`
	UserName          string          `json:"userName,omitempty"`
	SessionContext    *SessionContext `json:"sessionContext,omitempty"`
	InvokedBy         string          `json:"invokedBy,omitempty"`
	IdentityProvider  string          `json:"identityProvider,omitempty"`
	CredentialID      string          `json:"credentialId,omitempty"`
	OnBehalfOf        *OnBehalfOf     `json:"onBehalfOf,omitempty"`
	InScopeOf         json.RawMessage `json:"inScopeOf,omitempty"`
	InvokedByDelegate json.RawMessage `json:"invokedByDelegate,omitempty"`
}

// SessionContext describes temporary credentials (userIdentity.sessionContext).
// A non-nil SessionIssuer or WebIDFederationData with no fields set is written
// as {} — CloudTrail does that for IAM users' console sessions.
type SessionContext struct {
	SessionIssuer       *SessionIssuer       `json:"sessionIssuer,omitempty"`
	WebIDFederationData *WebIDFederationData `json:"webIdFederationData,omitempty"`
	Attributes          *SessionAttributes   `json:"attributes,omitempty"`
	SourceIdentity      string               `json:"sourceIdentity,omitempty"`
	EC2RoleDelivery     string               `json:"ec2RoleDelivery,omitempty"`
	AssumedRoot         string               `json:"assumedRoot,omitempty"`
	SignInSessionARN    string               `json:"signInSessionArn,omitempty"`
}

// SessionIssuer is the principal that issued temporary credentials.
type SessionIssuer struct {
	Type        string `json:"type,omitempty"`
	PrincipalID string `json:"principalId,omitempty"`
	ARN         string `json:"arn,omitempty"`
	AccountID   string `json:"accountId,omitempty"`
	UserName    string `json:"userName,omitempty"`
}

// WebIDFederationData describes web identity federation; Attributes is a raw
// JSON object.
type WebIDFederationData struct {
	FederatedProvider string          `json:"federatedProvider,omitempty"`
	Attributes        json.RawMessage `json:"attributes,omitempty"`
}

// SessionAttributes are the attributes of a session. Both are strings in
// CloudTrail: CreationDate as 2006-01-02T15:04:05Z, MFAAuthenticated as
// "true" or "false".
type SessionAttributes struct {
	CreationDate     string `json:"creationDate,omitempty"`
	MFAAuthenticated string `json:"mfaAuthenticated,omitempty"`
}

// OnBehalfOf identifies the IAM Identity Center user a call was made for.
type OnBehalfOf struct {
	UserID           string `json:"userId,omitempty"`
	IdentityStoreARN string `json:"identityStoreArn,omitempty"`
}

// Resource is one element of the resources list. Type is
// AWS::<Service>::<Type> or any host-defined type; ARN is the resource's
// identifier. Data-event selectors match on Type and ARN.
type Resource struct {
	AccountID string `json:"accountId,omitempty"`
	Type      string `json:"type,omitempty"`
	ARN       string `json:"ARN,omitempty"`
}

// Addendum explains a late or updated event.
type Addendum struct {
	Reason            string `json:"reason,omitempty"` // DELIVERY_DELAY, UPDATED_DATA, SERVICE_OUTAGE
	UpdatedFields     string `json:"updatedFields,omitempty"`
	OriginalRequestID string `json:"originalRequestID,omitempty"`
	OriginalEventID   string `json:"originalEventID,omitempty"`
}

// TLSDetails describes the TLS connection of the request.
type TLSDetails struct {
	TLSVersion               string `json:"tlsVersion,omitempty"`
	CipherSuite              string `json:"cipherSuite,omitempty"`
	ClientProvidedHostHeader string `json:"clientProvidedHostHeader,omitempty"`
	KeyExchange              string `json:"keyExchange,omitempty"`
}

// Values of Event.EventType.
const (
	EventTypeAPICall       = "AwsApiCall"
	EventTypeServiceEvent  = "AwsServiceEvent"
	EventTypeConsoleAction = "AwsConsoleAction"
	EventTypeConsoleSignIn = "AwsConsoleSignIn"
	EventTypeVPCEEvent     = "AwsVpceEvent"
	EventTypeInsight       = "AwsCloudTrailInsight"
)

// Values of Event.EventCategory.
const (
	CategoryManagement      = "Management"
	CategoryData            = "Data"
	CategoryNetworkActivity = "NetworkActivity"
	CategoryInsight         = "Insight"
)

// EventVersion is the record version Record stamps on events that carry
// none. Record accepts every version AWS has written: 1.0 through 1.11 and
// any later 1.x.
const EventVersion = "1.11"

// TimeFormat is the layout of every timestamp in records and digests.
const TimeFormat = "2006-01-02T15:04:05Z"

// Bool returns a pointer to a new bool holding b, for Event.ReadOnly and
// Event.ManagementEvent.
func Bool(b bool) *bool { return &b }

// boolPtr returns a pointer to one of two shared values; Record uses it for
// the events it keeps, so that stamping never allocates. Nobody writes
// through these pointers.
func boolPtr(b bool) *bool {
	if b {
		return &trueVal
	}
	return &falseVal
}

var trueVal, falseVal = true, false

// IsReadOnly reports whether the event is marked readOnly:true.
func (e *Event) IsReadOnly() bool { return e.ReadOnly != nil && *e.ReadOnly }

// MarshalJSON returns the record in CloudTrail's compact form (the bytes a log
// file holds). It is AppendJSON into a new slice. Note that json.Marshal
// re-escapes '<', '>' and '&' in what MarshalJSON returns; call AppendJSON
// or MarshalJSON directly for the log-file bytes.
func (e *Event) MarshalJSON() ([]byte, error) {
	return e.AppendJSON(nil), nil
}
