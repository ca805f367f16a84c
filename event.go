package trail

import (
	"encoding/json"
	"time"
)

// Event is one CloudTrail record: an API call (or console action, service
// event, …) made to the host application. Field names and JSON spellings are
// CloudTrail's; see the CloudTrail record-contents reference.
//
// Optional string fields are omitted from the JSON when empty. The raw JSON
// fields (RequestParameters, ResponseElements, AdditionalEventData,
// ServiceEventDetails, EdgeDeviceDetails) must hold a JSON object when set;
// RequestParameters and ResponseElements are written as null when empty, as
// CloudTrail does.
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
)

// Values of Event.EventCategory.
const (
	CategoryManagement      = "Management"
	CategoryData            = "Data"
	CategoryNetworkActivity = "NetworkActivity"
)

// EventVersion is the record version Record stamps on events that carry none.
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

// UnmarshalJSON decodes a CloudTrail record. A JSON null in a raw field
// decodes to a nil RawMessage, so decoding what AppendJSON wrote gives back an
// equal Event.
func (e *Event) UnmarshalJSON(data []byte) error {
	type plain Event
	if err := json.Unmarshal(data, (*plain)(e)); err != nil {
		return err
	}
	for _, p := range []*json.RawMessage{&e.RequestParameters, &e.ResponseElements, &e.AdditionalEventData,
		&e.ServiceEventDetails, &e.EdgeDeviceDetails, &e.UserIdentity.InScopeOf, &e.UserIdentity.InvokedByDelegate} {
		if string(*p) == "null" {
			*p = nil
		}
	}
	if sc := e.UserIdentity.SessionContext; sc != nil && sc.WebIDFederationData != nil && string(sc.WebIDFederationData.Attributes) == "null" {
		sc.WebIDFederationData.Attributes = nil
	}
	return nil
}

// MarshalJSON returns the record in CloudTrail's compact form (the bytes a log
// file holds). It is AppendJSON into a new slice. Note that json.Marshal
// re-escapes '<', '>' and '&' in what MarshalJSON returns; call AppendJSON
// or MarshalJSON directly for the log-file bytes.
func (e *Event) MarshalJSON() ([]byte, error) {
	return e.AppendJSON(nil), nil
}
