package trail

// Test fixtures shared by the internal (package trail) and external
// (package trail_test) tests. They are exported from a _test.go file, so they
// exist only in test builds.

import (
	"encoding/json"
	"strings"
	"time"
)

// NamedEvent is a test event with a stable name (used as golden-file label).
type NamedEvent struct {
	Name  string
	Event Event
}

// SpecManagementRecord is the "successful management API call" record of
// spec/cloudtrail-formats.md §1.4, byte for byte.
const SpecManagementRecord = `{"eventVersion":"1.11","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLEUSER00001","arn":"arn:aws:iam::111122223333:user/alice","accountId":"111122223333","accessKeyId":"AKIAEXAMPLEKEY000001","userName":"alice"},"eventTime":"2025-03-01T10:15:30Z","eventSource":"iam.amazonaws.com","eventName":"CreateUser","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.7","userAgent":"aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64 prompt/off command/iam.create-user","requestParameters":{"userName":"bob"},"responseElements":{"user":{"path":"/","userName":"bob","userId":"AIDAEXAMPLEUSER00002","arn":"arn:aws:iam::111122223333:user/bob","createDate":"Mar 1, 2025, 10:15:30 AM"}},"requestID":"5f1c0a2e-9b1d-4c5e-8f7a-2d3b4c5d6e7f","eventID":"0b6a3a52-52f4-4a4b-9d0e-7f0c1e2d3a4b","readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management","tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"iam.amazonaws.com"}}`

// FixtureSpecManagementEvent is the Event whose AppendJSON output is
// SpecManagementRecord.
func FixtureSpecManagementEvent() Event {
	return Event{
		EventVersion: "1.11",
		UserIdentity: UserIdentity{Type: "IAMUser", PrincipalID: "AIDAEXAMPLEUSER00001",
			ARN: "arn:aws:iam::111122223333:user/alice", AccountID: "111122223333",
			AccessKeyID: "AKIAEXAMPLEKEY000001", UserName: "alice"},
		EventTime:         time.Date(2025, 3, 1, 10, 15, 30, 0, time.UTC),
		EventSource:       "iam.amazonaws.com",
		EventName:         "CreateUser",
		AWSRegion:         "us-east-1",
		SourceIPAddress:   "198.51.100.7",
		UserAgent:         "aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64 prompt/off command/iam.create-user",
		RequestParameters: json.RawMessage(`{"userName":"bob"}`),
		ResponseElements: json.RawMessage(`{"user":{"path":"/","userName":"bob","userId":"AIDAEXAMPLEUSER00002",` +
			`"arn":"arn:aws:iam::111122223333:user/bob","createDate":"Mar 1, 2025, 10:15:30 AM"}}`),
		RequestID:          "5f1c0a2e-9b1d-4c5e-8f7a-2d3b4c5d6e7f",
		EventID:            "0b6a3a52-52f4-4a4b-9d0e-7f0c1e2d3a4b",
		ReadOnly:           Bool(false),
		EventType:          EventTypeAPICall,
		ManagementEvent:    Bool(true),
		RecipientAccountID: "111122223333",
		EventCategory:      CategoryManagement,
		TLSDetails: &TLSDetails{TLSVersion: "TLSv1.3", CipherSuite: "TLS_AES_128_GCM_SHA256",
			ClientProvidedHostHeader: "iam.amazonaws.com"},
	}
}

// FixtureFullEvent sets every field of Event and of every nested struct.
func FixtureFullEvent() Event {
	return Event{
		EventVersion: "1.10",
		UserIdentity: UserIdentity{
			Type:        "AssumedRole",
			PrincipalID: "AROAEXAMPLEROLE00001:build-42",
			ARN:         "arn:aws:sts::111122223333:assumed-role/Deployer/build-42",
			AccountID:   "111122223333",
			AccessKeyID: "ASIAEXAMPLEKEY000002",
			UserName:    "Deployer",
			SessionContext: &SessionContext{
				SessionIssuer: &SessionIssuer{Type: "Role", PrincipalID: "AROAEXAMPLEROLE00001",
					ARN: "arn:aws:iam::111122223333:role/Deployer", AccountID: "111122223333", UserName: "Deployer"},
				WebIDFederationData: &WebIDFederationData{FederatedProvider: "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com",
					Attributes: json.RawMessage(`{"token.actions.githubusercontent.com:sub":"repo:trailkit/trail:ref:refs/heads/main"}`)},
				Attributes:       &SessionAttributes{CreationDate: "2025-01-02T03:00:00Z", MFAAuthenticated: "false"},
				SourceIdentity:   "alice@example.com",
				EC2RoleDelivery:  "2.0",
				AssumedRoot:      "true",
				SignInSessionARN: "arn:aws:signin::111122223333:session/abc",
			},
			InvokedBy:         "lambda.amazonaws.com",
			IdentityProvider:  "accounts.google.com",
			CredentialID:      "cred-0123456789",
			OnBehalfOf:        &OnBehalfOf{UserID: "94482488-3041-7026-18f3-be45837cd0e4", IdentityStoreARN: "arn:aws:identitystore::111122223333:identitystore/d-9067642ac7"},
			InScopeOf:         json.RawMessage(`{"sourceArn":"arn:aws:lambda:us-east-1:111122223333:function:fn","sourceAccount":"111122223333","issuerType":"AWS::Lambda::Function","credentialsIssuedTo":"arn:aws:sts::111122223333:assumed-role/fn-role/fn"}`),
			InvokedByDelegate: json.RawMessage(`{"accountId":"444455556666"}`),
		},
		EventTime:           time.Date(2025, 3, 1, 10, 16, 0, 0, time.UTC),
		EventSource:         "s3.amazonaws.com",
		EventName:           "PutObject",
		AWSRegion:           "us-east-2",
		SourceIPAddress:     "198.51.100.7",
		UserAgent:           "[aws-sdk-go-v2/1.30.0 os/linux lang/go#1.25 md/GOOS#linux api/s3#1.58.0]",
		ErrorCode:           "AccessDenied",
		ErrorMessage:        "User: arn:aws:sts::111122223333:assumed-role/Deployer/build-42 is not authorized to perform: s3:PutObject",
		RequestParameters:   json.RawMessage(`{"bucketName":"invoices","Host":"invoices.s3.us-east-2.amazonaws.com","key":"2025/03/inv-1.pdf","x-amz-acl":"bucket-owner-full-control"}`),
		ResponseElements:    json.RawMessage(`{"x-amz-server-side-encryption":"AES256"}`),
		AdditionalEventData: json.RawMessage(`{"SignatureVersion":"SigV4","CipherSuite":"TLS_AES_128_GCM_SHA256","bytesTransferredIn":1024,"AuthenticationMethod":"AuthHeader","x-amz-id-2":"abc=","bytesTransferredOut":0}`),
		RequestID:           "1AVH6THV9ZBN2GPP",
		EventID:             "61e2c3a4-9ad3-379d-8c2e-0123456789ab",
		ReadOnly:            Bool(false),
		Resources: []Resource{
			{Type: "AWS::S3::Object", ARN: "arn:aws:s3:::invoices/2025/03/inv-1.pdf"},
			{AccountID: "111122223333", Type: "AWS::S3::Bucket", ARN: "arn:aws:s3:::invoices"},
		},
		EventType:                    EventTypeAPICall,
		APIVersion:                   "2006-03-01",
		ManagementEvent:              Bool(false),
		RecipientAccountID:           "111122223333",
		ServiceEventDetails:          json.RawMessage(`{"detail":"none"}`),
		SharedEventID:                "3e2b8f4c-1d2e-4f5a-9b8c-7d6e5f4a3b2c",
		VPCEndpointID:                "vpce-0fc2df27fd109d43a",
		VPCEndpointAccountID:         "111122223333",
		EventCategory:                CategoryData,
		Addendum:                     &Addendum{Reason: "UPDATED_DATA", UpdatedFields: "userIdentity", OriginalRequestID: "1AVH6THV9ZBN2GPO", OriginalEventID: "61e2c3a4-9ad3-379d-8c2e-0123456789aa"},
		TLSDetails:                   &TLSDetails{TLSVersion: "TLSv1.3", CipherSuite: "TLS_AES_128_GCM_SHA256", ClientProvidedHostHeader: "invoices.s3.us-east-2.amazonaws.com", KeyExchange: "X25519MLKEM768"},
		SessionCredentialFromConsole: "true",
		EdgeDeviceDetails:            json.RawMessage(`{"deviceID":"edge-1"}`),
	}
}

// FixtureConsoleSignIn is a console sign-in: no requestID, requestParameters
// null, IAM user console session with {} sessionIssuer and
// webIdFederationData.
func FixtureConsoleSignIn() Event {
	return Event{
		EventVersion: "1.09",
		UserIdentity: UserIdentity{Type: "IAMUser", PrincipalID: "AIDAEXAMPLEUSER00001",
			ARN: "arn:aws:iam::111122223333:user/alice", AccountID: "111122223333", UserName: "alice",
			SessionContext: &SessionContext{SessionIssuer: &SessionIssuer{}, WebIDFederationData: &WebIDFederationData{},
				Attributes: &SessionAttributes{CreationDate: "2025-03-01T09:00:00Z", MFAAuthenticated: "true"}}},
		EventTime:           time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC),
		EventSource:         "signin.amazonaws.com",
		EventName:           "ConsoleLogin",
		AWSRegion:           "us-east-1",
		SourceIPAddress:     "198.51.100.7",
		UserAgent:           "Mozilla/5.0 (X11; Linux x86_64)",
		ResponseElements:    json.RawMessage(`{"ConsoleLogin":"Success"}`),
		AdditionalEventData: json.RawMessage(`{"LoginTo":"https://console.aws.amazon.com/console/home?state=hashArgs%23&isauthcode=true","MobileVersion":"No","MFAUsed":"Yes"}`),
		EventID:             "2f6b2a52-52f4-4a4b-9d0e-7f0c1e2d3a4c",
		ReadOnly:            Bool(false),
		EventType:           EventTypeConsoleSignIn,
		ManagementEvent:     Bool(true),
		RecipientAccountID:  "111122223333",
		EventCategory:       CategoryManagement,
	}
}

// FixtureEscaping exercises string escaping: control characters, quotes,
// backslashes, '/', HTML characters (not escaped), U+2028/U+2029, invalid
// UTF-8 (written as U+FFFD), multi-byte runes; raw JSON with insignificant
// white space (compacted); empty requestParameters and responseElements
// (null); and only the required fields otherwise.
func FixtureEscaping() Event {
	return Event{
		EventVersion:        "1.11",
		EventTime:           time.Date(2025, 3, 1, 23, 59, 59, 0, time.UTC),
		EventSource:         "orders.example.com",
		EventName:           "Create\"Order\\v2",
		AWSRegion:           "eu-west-1",
		SourceIPAddress:     "ctl:\x00\x01\x07\x08\x0b\x0c\x1f\x7f|nl:\n|cr:\r|tab:\t",
		UserAgent:           "html:<script>alert('x')</script> & path:/a/b/ | seps:\u2028\u2029 | é ü 日本 😀",
		ErrorCode:           "bad:\xff\xfe|trunc:\xc3|ok:\xc3\xa9",
		EventID:             "0b6a3a52-52f4-4a4b-9d0e-7f0c1e2d3a4d",
		EventType:           EventTypeAPICall,
		EventCategory:       CategoryManagement,
		ServiceEventDetails: json.RawMessage("{ \"a\" : [ 1 , 2 ] ,\n\t\"s\" : \"keep  this\\\" \\n \" }"),
	}
}

// FixtureEvents returns the events of testdata/events.golden.json.
func FixtureEvents() []NamedEvent {
	return []NamedEvent{
		{"spec-management", FixtureSpecManagementEvent()},
		{"full", FixtureFullEvent()},
		{"console-signin", FixtureConsoleSignIn()},
		{"escaping", FixtureEscaping()},
	}
}

// FixtureBenchEvent is a realistic, already valid event of about 1.4 KB
// encoded: eventID, eventTime, region, account set; resources,
// requestParameters and a session context included.
func FixtureBenchEvent() Event {
	return Event{
		EventVersion: "1.11",
		UserIdentity: UserIdentity{
			Type:        "AssumedRole",
			PrincipalID: "AROAEXAMPLEROLE00001:orders-api-7f9c",
			ARN:         "arn:aws:sts::111122223333:assumed-role/OrdersApi/orders-api-7f9c",
			AccountID:   "111122223333",
			AccessKeyID: "ASIAEXAMPLEKEY000002",
			SessionContext: &SessionContext{
				SessionIssuer: &SessionIssuer{Type: "Role", PrincipalID: "AROAEXAMPLEROLE00001",
					ARN: "arn:aws:iam::111122223333:role/OrdersApi", AccountID: "111122223333", UserName: "OrdersApi"},
				WebIDFederationData: &WebIDFederationData{},
				Attributes:          &SessionAttributes{CreationDate: "2025-03-01T10:00:00Z", MFAAuthenticated: "false"},
			},
		},
		EventTime:         time.Now().UTC().Add(-time.Minute).Truncate(time.Second),
		EventSource:       "orders.example.com",
		EventName:         "CreateOrder",
		AWSRegion:         "us-east-1",
		SourceIPAddress:   "198.51.100.7",
		UserAgent:         "orders-web/3.4.1 (+https://orders.example.com) Go-http-client/2.0",
		RequestParameters: json.RawMessage(`{"customerId":"c-0042","items":[{"sku":"SKU-1","qty":2},{"sku":"SKU-7","qty":1}],"currency":"EUR","shipTo":{"country":"DE","city":"Berlin"}}`),
		ResponseElements:  json.RawMessage(`{"orderId":"o-1234567890","status":"PENDING"}`),
		EventID:           "0b6a3a52-52f4-4a4b-9d0e-7f0c1e2d3a4b",
		ReadOnly:          Bool(false),
		Resources: []Resource{
			{AccountID: "111122223333", Type: "Example::Orders::Order", ARN: "arn:example:orders:us-east-1:111122223333:order/o-1234567890"},
			{AccountID: "111122223333", Type: "Example::Orders::Customer", ARN: "arn:example:orders:us-east-1:111122223333:customer/c-0042"},
		},
		EventType:          EventTypeAPICall,
		ManagementEvent:    Bool(true),
		RecipientAccountID: "111122223333",
		EventCategory:      CategoryManagement,
	}
}

// FixtureRepeat returns s repeated until it is n bytes long (s must be ASCII).
func FixtureRepeat(s string, n int) string {
	return strings.Repeat(s, n/len(s)+1)[:n]
}
