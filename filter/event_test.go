package filter

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/trailkit/trail"
)

var evTime = time.Date(2025, 3, 1, 10, 15, 30, 0, time.UTC)

func iamUser() trail.UserIdentity {
	return trail.UserIdentity{Type: "IAMUser", PrincipalID: "AIDAEXAMPLEUSER00001", ARN: "arn:aws:iam::111122223333:user/alice",
		AccountID: "111122223333", AccessKeyID: "AKIAEXAMPLEKEY000001", UserName: "alice"}
}

// apiCall is a successful management API call shaped like spec §1.4.
func apiCall(source, name string) *trail.Event {
	return &trail.Event{
		EventVersion: "1.11", UserIdentity: iamUser(), EventTime: evTime, EventSource: source, EventName: name,
		AWSRegion: "us-east-1", SourceIPAddress: "198.51.100.7", UserAgent: "aws-cli/2.15.0",
		RequestParameters: json.RawMessage(`{"userName":"bob"}`),
		RequestID:         "5f1c0a2e-9b1d-4c5e-8f7a-2d3b4c5d6e7f", EventID: "0b6a3a52-52f4-4a4b-9d0e-7f0c1e2d3a4b",
		ReadOnly: trail.Bool(false), EventType: trail.EventTypeAPICall, ManagementEvent: trail.Bool(true),
		RecipientAccountID: "111122223333", EventCategory: trail.CategoryManagement,
		TLSDetails: &trail.TLSDetails{TLSVersion: "TLSv1.3", CipherSuite: "TLS_AES_128_GCM_SHA256", ClientProvidedHostHeader: source},
	}
}

func failed(ev *trail.Event, code, msg string) *trail.Event {
	ev.ErrorCode, ev.ErrorMessage = code, msg
	return ev
}

func consoleLogin(ui trail.UserIdentity, mfa string, result string, errMsg string) *trail.Event {
	ev := &trail.Event{
		EventVersion: "1.09", UserIdentity: ui, EventTime: evTime, EventSource: "signin.amazonaws.com", EventName: "ConsoleLogin",
		AWSRegion: "us-east-1", SourceIPAddress: "198.51.100.7", UserAgent: "Mozilla/5.0",
		ResponseElements:    json.RawMessage(`{"ConsoleLogin":"` + result + `"}`),
		AdditionalEventData: json.RawMessage(`{"LoginTo":"https://console.aws.amazon.com/console/home","MobileVersion":"No","MFAUsed":"` + mfa + `"}`),
		EventID:             "3f1b2d5e-0000-4000-8000-000000000001", ReadOnly: trail.Bool(false),
		EventType: trail.EventTypeConsoleSignIn, ManagementEvent: trail.Bool(true), RecipientAccountID: "111122223333",
		EventCategory: trail.CategoryManagement,
	}
	if errMsg != "" {
		ev.ErrorMessage = errMsg
	}
	return ev
}

func rootIdentity() trail.UserIdentity {
	return trail.UserIdentity{Type: "Root", PrincipalID: "111122223333", ARN: "arn:aws:iam::111122223333:root", AccountID: "111122223333",
		SessionContext: &trail.SessionContext{SessionIssuer: &trail.SessionIssuer{}, WebIDFederationData: &trail.WebIDFederationData{},
			Attributes: &trail.SessionAttributes{CreationDate: "2025-01-02T03:04:05Z", MFAAuthenticated: "true"}}}
}

// ordinary are everyday events none of the CIS presets should catch.
func ordinary() []*trail.Event {
	assumed := apiCall("s3.amazonaws.com", "GetObject")
	assumed.UserIdentity = trail.UserIdentity{Type: "AssumedRole", PrincipalID: "AROAEXAMPLEROLE00001:build-42",
		ARN: "arn:aws:sts::111122223333:assumed-role/Deployer/build-42", AccountID: "111122223333",
		SessionContext: &trail.SessionContext{SessionIssuer: &trail.SessionIssuer{Type: "Role", UserName: "Deployer"},
			Attributes: &trail.SessionAttributes{MFAAuthenticated: "false"}}, InvokedBy: "lambda.amazonaws.com"}
	assumed.Resources = []trail.Resource{{Type: "AWS::S3::Object", ARN: "arn:aws:s3:::bkt/key"}}
	assumed.ReadOnly = trail.Bool(true)
	rootByService := apiCall("s3.amazonaws.com", "GetBucketAcl")
	rootByService.UserIdentity = rootIdentity()
	rootByService.UserIdentity.InvokedBy = "cloudtrail.amazonaws.com"
	svc := &trail.Event{EventVersion: "1.11", UserIdentity: trail.UserIdentity{Type: "Root", AccountID: "111122223333"},
		EventTime: evTime, EventSource: "kms.amazonaws.com", EventName: "RotateKey", AWSRegion: "us-east-1",
		EventID: "0b6a3a52-0000-4a4b-9d0e-7f0c1e2d3a4c", EventType: trail.EventTypeServiceEvent, EventCategory: trail.CategoryManagement,
		ServiceEventDetails: json.RawMessage(`{"keyId":"k"}`)}
	return []*trail.Event{
		apiCall("iam.amazonaws.com", "CreateUser"),
		apiCall("iam.amazonaws.com", "ListPolicies"),
		apiCall("iam.amazonaws.com", "GetPolicyVersion"),
		apiCall("cloudtrail.amazonaws.com", "DescribeTrails"),
		apiCall("cloudtrail.amazonaws.com", "LookupEvents"),
		apiCall("kms.amazonaws.com", "EnableKey"),
		apiCall("kms.amazonaws.com", "Decrypt"),
		apiCall("s3.amazonaws.com", "PutObject"),
		apiCall("s3.amazonaws.com", "GetBucketPolicy"),
		apiCall("ec2.amazonaws.com", "DescribeSecurityGroups"),
		apiCall("ec2.amazonaws.com", "RunInstances"),
		apiCall("ec2.amazonaws.com", "DescribeVpcs"),
		apiCall("ec2.amazonaws.com", "DescribeRouteTables"),
		apiCall("config.amazonaws.com", "DescribeConfigurationRecorders"),
		apiCall("orders.example.com", "CreateOrder"),
		failed(apiCall("dynamodb.amazonaws.com", "GetItem"), "ResourceNotFoundException", "Requested resource not found"),
		failed(apiCall("cloudtrail.amazonaws.com", "UpdateTrail"+"Status"), "ThrottlingException", "Rate exceeded"),
		consoleLogin(iamUser(), "Yes", "Success", ""),
		assumed,
		rootByService,
		svc,
	}
}

// cisTargets lists, per preset, events it is meant to catch.
func cisTargets() map[string][]*trail.Event {
	rootLogin := consoleLogin(rootIdentity(), "Yes", "Success", "")
	rootCall := apiCall("iam.amazonaws.com", "CreateAccessKey")
	rootCall.UserIdentity = rootIdentity()
	out := map[string][]*trail.Event{
		RootUsage.ID: {rootLogin, rootCall},
		UnauthorizedAPICalls.ID: {
			failed(apiCall("ec2.amazonaws.com", "RunInstances"), "Client.UnauthorizedOperation", "You are not authorized to perform this operation."),
			failed(apiCall("s3.amazonaws.com", "GetObject"), "AccessDenied", "Access Denied"),
			failed(apiCall("iam.amazonaws.com", "ListUsers"), "AccessDeniedException", "User is not authorized"),
		},
		ConsoleSignInWithoutMFA.ID: {consoleLogin(iamUser(), "No", "Success", "")},
		ConsoleAuthFailures.ID:     {consoleLogin(iamUser(), "No", "Failure", "Failed authentication")},
	}
	add := func(id, source string, names ...string) {
		for _, n := range names {
			out[id] = append(out[id], apiCall(source, n))
		}
	}
	add(IAMPolicyChanges.ID, "iam.amazonaws.com", "DeleteGroupPolicy", "DeleteRolePolicy", "DeleteUserPolicy", "PutGroupPolicy",
		"PutRolePolicy", "PutUserPolicy", "CreatePolicy", "DeletePolicy", "CreatePolicyVersion", "DeletePolicyVersion",
		"AttachRolePolicy", "DetachRolePolicy", "AttachUserPolicy", "DetachUserPolicy", "AttachGroupPolicy", "DetachGroupPolicy")
	add(CloudTrailChanges.ID, "cloudtrail.amazonaws.com", "CreateTrail", "UpdateTrail", "DeleteTrail", "StartLogging", "StopLogging")
	add(CMKDisableOrDelete.ID, "kms.amazonaws.com", "DisableKey", "ScheduleKeyDeletion")
	add(S3BucketPolicyChanges.ID, "s3.amazonaws.com", "PutBucketAcl", "PutBucketPolicy", "PutBucketCors", "PutBucketLifecycle",
		"PutBucketReplication", "DeleteBucketPolicy", "DeleteBucketCors", "DeleteBucketLifecycle", "DeleteBucketReplication")
	add(ConfigChanges.ID, "config.amazonaws.com", "StopConfigurationRecorder", "DeleteDeliveryChannel", "PutDeliveryChannel", "PutConfigurationRecorder")
	add(SecurityGroupChanges.ID, "ec2.amazonaws.com", "AuthorizeSecurityGroupIngress", "AuthorizeSecurityGroupEgress",
		"RevokeSecurityGroupIngress", "RevokeSecurityGroupEgress", "CreateSecurityGroup", "DeleteSecurityGroup")
	add(NACLChanges.ID, "ec2.amazonaws.com", "CreateNetworkAcl", "CreateNetworkAclEntry", "DeleteNetworkAcl", "DeleteNetworkAclEntry",
		"ReplaceNetworkAclEntry", "ReplaceNetworkAclAssociation")
	add(NetworkGatewayChanges.ID, "ec2.amazonaws.com", "CreateCustomerGateway", "DeleteCustomerGateway", "AttachInternetGateway",
		"CreateInternetGateway", "DeleteInternetGateway", "DetachInternetGateway")
	add(RouteTableChanges.ID, "ec2.amazonaws.com", "CreateRoute", "CreateRouteTable", "ReplaceRoute", "ReplaceRouteTableAssociation",
		"DeleteRouteTable", "DeleteRoute", "DisassociateRouteTable")
	add(VPCChanges.ID, "ec2.amazonaws.com", "CreateVpc", "DeleteVpc", "ModifyVpcAttribute", "AcceptVpcPeeringConnection",
		"CreateVpcPeeringConnection", "DeleteVpcPeeringConnection", "RejectVpcPeeringConnection", "AttachClassicLinkVpc",
		"DetachClassicLinkVpc", "DisableVpcClassicLink", "EnableVpcClassicLink")
	return out
}

// matchBoth checks that MatchEvent and Match on the encoded record agree and
// returns the answer.
func matchBoth(t *testing.T, p *Pattern, ev *trail.Event) bool {
	t.Helper()
	js := ev.AppendJSON(nil)
	a, b := p.MatchEvent(ev), p.Match(js)
	if a != b {
		t.Fatalf("pattern %s: MatchEvent = %v, Match(JSON) = %v on %s", p, a, b, js)
	}
	return a
}

func TestCISPresets(t *testing.T) {
	targets := cisTargets()
	presets := CIS()
	if len(presets) != 14 {
		t.Fatalf("%d presets, want 14", len(presets))
	}
	for i, pr := range presets {
		t.Run(pr.ID, func(t *testing.T) {
			if want := fmt.Sprintf("CloudWatch.%d", i+1); pr.ID != want {
				t.Fatalf("preset %d is %s, want %s", i, pr.ID, want)
			}
			p, err := Compile(pr.Pattern)
			if err != nil {
				t.Fatal(err)
			}
			evs := targets[pr.ID]
			if len(evs) == 0 {
				t.Fatal("no target events")
			}
			for _, ev := range evs {
				if !matchBoth(t, p, ev) {
					t.Errorf("does not match its target %s %s", ev.EventName, ev.ErrorCode)
				}
			}
			for _, ev := range ordinary() {
				if matchBoth(t, p, ev) {
					t.Errorf("matches ordinary event %s/%s (%s)", ev.EventSource, ev.EventName, ev.UserIdentity.Type)
				}
			}
			// and none of the other presets' targets, except where they overlap on purpose
			for id, evs := range targets {
				if id == pr.ID {
					continue
				}
				for _, ev := range evs {
					hit := matchBoth(t, p, ev)
					// a root sign-in is root usage; a failed sign-in without MFA is a sign-in without MFA
					overlap := pr.ID == RootUsage.ID && ev.UserIdentity.Type == "Root" ||
						pr.ID == ConsoleSignInWithoutMFA.ID && id == ConsoleAuthFailures.ID
					if hit && !overlap {
						t.Errorf("matches %s's target %s", id, ev.EventName)
					}
				}
			}
		})
	}
}

// TestMatchEventAgrees checks MatchEvent against Match on the encoded record
// for many selectors, including absent, empty, null and nested fields.
func TestMatchEventAgrees(t *testing.T) {
	evs := append(ordinary(), func() []*trail.Event {
		var all []*trail.Event
		for _, e := range cisTargets() {
			all = append(all, e...)
		}
		return all
	}()...)
	full := apiCall("s3.amazonaws.com", "PutObject")
	full.Resources = []trail.Resource{{AccountID: "1", Type: "AWS::S3::Object", ARN: "arn:x"}, {ARN: "arn:y"}}
	full.Addendum = &trail.Addendum{Reason: "DELIVERY_DELAY"}
	full.AdditionalEventData = json.RawMessage(`{"bytesTransferredIn": 12.5, "x": {"y": [1, "two", null, true]}}`)
	full.ServiceEventDetails = json.RawMessage(`{"a":"b"}`)
	full.EdgeDeviceDetails = json.RawMessage(`{"e":1}`)
	full.SessionCredentialFromConsole = "true"
	full.VPCEndpointID = "vpce-1"
	full.APIVersion = "2006-03-01"
	full.UserIdentity.OnBehalfOf = &trail.OnBehalfOf{UserID: "u"}
	full.UserIdentity.InScopeOf = json.RawMessage(`{"sourceArn":"arn:z"}`)
	full.UserIdentity.SessionContext = &trail.SessionContext{WebIDFederationData: &trail.WebIDFederationData{FederatedProvider: "p", Attributes: json.RawMessage(`{"k":"v"}`)}, SourceIdentity: "s"}
	empty := &trail.Event{}
	evs = append(evs, full, empty, &trail.Event{Resources: []trail.Resource{}})
	patterns := []string{
		`{ $.eventVersion = * }`, `{ $.eventVersion NOT EXISTS }`, `{ $.eventTime = "2025-03-01T10:15:30Z" }`, `{ $.eventTime = 2025* }`,
		`{ $.eventSource = s3* }`, `{ $.awsRegion = "" }`, `{ $.sourceIPAddress NOT EXISTS }`, `{ $.userAgent = *cli* }`,
		`{ $.errorCode NOT EXISTS }`, `{ $.errorCode = * }`, `{ $.errorMessage != "x" }`,
		`{ $.requestParameters IS NULL }`, `{ $.requestParameters.userName = bob }`, `{ $.requestParameters.nope NOT EXISTS }`,
		`{ $.responseElements IS NULL }`, `{ $.responseElements.ConsoleLogin = Success }`, `{ $.responseElements.x NOT EXISTS }`,
		`{ $.additionalEventData.MFAUsed != "Yes" }`, `{ $.additionalEventData.bytesTransferredIn > 12 }`,
		`{ $.additionalEventData.x.y[1] = two }`, `{ $.additionalEventData.x.y[2] IS NULL }`, `{ $.additionalEventData.x.y[3] IS TRUE }`,
		`{ $.additionalEventData.x.y[9] NOT EXISTS }`, `{ $.additionalEventData NOT EXISTS }`, `{ $.additionalEventData = * }`,
		`{ $.requestID = * }`, `{ $.eventID = 0b6a* }`, `{ $.readOnly IS FALSE }`, `{ $.readOnly IS TRUE }`, `{ $.readOnly NOT EXISTS }`,
		`{ $.resources[0].type = "AWS::S3::Object" }`, `{ $.resources[1].ARN = arn* }`, `{ $.resources[1].type NOT EXISTS }`,
		`{ $.resources[2] NOT EXISTS }`, `{ $.resources NOT EXISTS }`, `{ $.resources[0] NOT EXISTS }`, `{ $.resources.x NOT EXISTS }`,
		`{ $.eventType = AwsApiCall }`, `{ $.apiVersion = * }`, `{ $.managementEvent IS TRUE }`, `{ $.recipientAccountId = 111122223333 }`,
		`{ $.serviceEventDetails.a = b }`, `{ $.serviceEventDetails.keyId = k }`, `{ $.sharedEventID NOT EXISTS }`, `{ $.vpcEndpointId = vpce* }`,
		`{ $.vpcEndpointAccountId NOT EXISTS }`, `{ $.eventCategory = Management }`, `{ $.addendum.reason = DELIVERY_DELAY }`,
		`{ $.addendum.updatedFields NOT EXISTS }`, `{ $.addendum NOT EXISTS }`, `{ $.tlsDetails.tlsVersion = "TLSv1.3" }`,
		`{ $.tlsDetails.keyExchange NOT EXISTS }`, `{ $.tlsDetails NOT EXISTS }`, `{ $.sessionCredentialFromConsole = true }`,
		`{ $.edgeDeviceDetails.e = 1 }`, `{ $.userIdentity.type = IAMUser }`, `{ $.userIdentity.type NOT EXISTS }`,
		`{ $.userIdentity.principalId = * }`, `{ $.userIdentity.arn = *alice }`, `{ $.userIdentity.accountId = 111122223333 }`,
		`{ $.userIdentity.accessKeyId = AKIA* }`, `{ $.userIdentity.userName = alice }`, `{ $.userIdentity.invokedBy NOT EXISTS }`,
		`{ $.userIdentity.invokedBy = lambda.amazonaws.com }`, `{ $.userIdentity.identityProvider NOT EXISTS }`,
		`{ $.userIdentity.credentialId NOT EXISTS }`, `{ $.userIdentity.onBehalfOf.userId = u }`, `{ $.userIdentity.onBehalfOf.identityStoreArn NOT EXISTS }`,
		`{ $.userIdentity.inScopeOf.sourceArn = "arn:z" }`, `{ $.userIdentity.invokedByDelegate NOT EXISTS }`,
		`{ $.userIdentity.sessionContext.sessionIssuer.type = Role }`, `{ $.userIdentity.sessionContext.sessionIssuer.userName = Deployer }`,
		`{ $.userIdentity.sessionContext.sessionIssuer.arn NOT EXISTS }`, `{ $.userIdentity.sessionContext.sessionIssuer NOT EXISTS }`,
		`{ $.userIdentity.sessionContext.attributes.mfaAuthenticated = "true" }`, `{ $.userIdentity.sessionContext.attributes.creationDate = 2025* }`,
		`{ $.userIdentity.sessionContext.webIdFederationData.federatedProvider = p }`, `{ $.userIdentity.sessionContext.webIdFederationData.attributes.k = v }`,
		`{ $.userIdentity.sessionContext.sourceIdentity = s }`, `{ $.userIdentity.sessionContext.ec2RoleDelivery NOT EXISTS }`,
		`{ $.userIdentity.sessionContext.assumedRoot NOT EXISTS }`, `{ $.userIdentity.sessionContext.signInSessionArn NOT EXISTS }`,
		`{ $.userIdentity = * }`, `{ $.userIdentity NOT EXISTS }`, `{ $.userIdentity[0] NOT EXISTS }`, `{ $.eventName.x NOT EXISTS }`,
		`{ $.unknownField NOT EXISTS }`, `{ $.userIdentity.unknown NOT EXISTS }`, `{ $.tlsDetails.tlsVersion.x NOT EXISTS }`,
		`{ $.eventName[0] NOT EXISTS }`, `{ $.resources[0].type.x NOT EXISTS }`, `{ $.resources[0][0] NOT EXISTS }`,
		`{ $.resources[0].nope NOT EXISTS }`, `{ $.addendum[0] NOT EXISTS }`,
		`ERROR`, `AccessDenied`, `"\"eventName\":\"ConsoleLogin\""`, `-ConsoleLogin`, `[a]`, `[...]`, `%Console%`, ``,
	}
	for _, src := range patterns {
		p, err := Compile(src)
		if err != nil {
			t.Fatalf("Compile(%q): %v", src, err)
		}
		for _, ev := range evs {
			matchBoth(t, p, ev)
		}
	}
}

// TestMatchEventAllocs pins MatchEvent of JSON patterns at 0 allocations.
func TestMatchEventAllocs(t *testing.T) {
	ev := apiCall("ec2.amazonaws.com", "RunInstances")
	ev.AdditionalEventData = json.RawMessage(`{"MFAUsed":"No"}`)
	ps := cisPatterns()
	n := testing.AllocsPerRun(100, func() {
		for _, p := range ps {
			p.MatchEvent(ev)
		}
	})
	if n != 0 {
		t.Fatalf("MatchEvent allocates %v times per run of the 14 CIS patterns, want 0", n)
	}
}

// cisPatterns compiles the 14 CIS patterns.
func cisPatterns() []*Pattern {
	var ps []*Pattern
	for _, pr := range CIS() {
		ps = append(ps, MustCompile(pr.Pattern))
	}
	return ps
}

// BenchmarkCISMatchEvent runs the 14 CIS patterns against one event (the
// issue's budget: ≤ 2 µs per op).
func BenchmarkCISMatchEvent(b *testing.B) {
	ev := apiCall("ec2.amazonaws.com", "RunInstances")
	ps := cisPatterns()
	b.ReportAllocs()
	for b.Loop() {
		for _, p := range ps {
			p.MatchEvent(ev)
		}
	}
}

// BenchmarkCISMatchJSON is the same on the encoded record, for comparison.
func BenchmarkCISMatchJSON(b *testing.B) {
	js := apiCall("ec2.amazonaws.com", "RunInstances").AppendJSON(nil)
	ps := cisPatterns()
	b.ReportAllocs()
	for b.Loop() {
		for _, p := range ps {
			p.Match(js)
		}
	}
}
