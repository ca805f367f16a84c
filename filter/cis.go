package filter

// Preset is a named filter pattern that ships with the package: the
// CIS AWS Foundations Benchmark (v1.x section 3) monitoring patterns, which
// AWS Security Hub checks as controls CloudWatch.1 to CloudWatch.14.
type Preset struct {
	ID         string // Security Hub control: "CloudWatch.1" … "CloudWatch.14"
	CIS        string // CIS AWS Foundations v1.2 recommendation: "3.1" … "3.14"
	Name       string // what it catches
	MetricName string // the metric name the preset's MetricFilter publishes
	Pattern    string // the filter pattern, exactly as CIS and Security Hub give it
}

// MetricNamespace is the namespace of the presets' metric filters (the one
// CIS examples use).
const MetricNamespace = "CISBenchmark"

// MetricFilter returns a metric filter that counts the preset's matches:
// metric value 1, in MetricNamespace, named p.MetricName.
func (p Preset) MetricFilter() MetricFilter {
	return MetricFilter{Name: p.ID, Pattern: p.Pattern, MetricNamespace: MetricNamespace, MetricName: p.MetricName, MetricValue: "1"}
}

// Alarm returns the alarm CIS recommends on the preset's metric: Sum >= 1
// over one 300-second period.
func (p Preset) Alarm() Alarm {
	return Alarm{
		Name: p.ID + " " + p.Name, MetricNamespace: MetricNamespace, MetricName: p.MetricName,
		Statistic: StatSum, Period: 300e9, EvaluationPeriods: 1, Threshold: 1,
		Comparison: GreaterThanOrEqualToThreshold, TreatMissingData: MissingNotBreaching,
	}
}

// The presets, one variable each so they can be named in code.
var (
	RootUsage = Preset{ID: "CloudWatch.1", CIS: "3.3", Name: "usage of the root user", MetricName: "RootAccountUsage",
		Pattern: `{$.userIdentity.type="Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType!="AwsServiceEvent"}`}
	UnauthorizedAPICalls = Preset{ID: "CloudWatch.2", CIS: "3.1", Name: "unauthorized API calls", MetricName: "UnauthorizedAPICalls",
		Pattern: `{($.errorCode="*UnauthorizedOperation") || ($.errorCode="AccessDenied*")}`}
	ConsoleSignInWithoutMFA = Preset{ID: "CloudWatch.3", CIS: "3.2", Name: "Management Console sign-in without MFA", MetricName: "ConsoleSigninWithoutMFA",
		Pattern: `{($.eventName="ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes")}`}
	IAMPolicyChanges = Preset{ID: "CloudWatch.4", CIS: "3.4", Name: "IAM policy changes", MetricName: "IAMPolicyChanges",
		Pattern: `{($.eventName=DeleteGroupPolicy)||($.eventName=DeleteRolePolicy)||($.eventName=DeleteUserPolicy)||($.eventName=PutGroupPolicy)||($.eventName=PutRolePolicy)||($.eventName=PutUserPolicy)||($.eventName=CreatePolicy)||($.eventName=DeletePolicy)||($.eventName=CreatePolicyVersion)||($.eventName=DeletePolicyVersion)||($.eventName=AttachRolePolicy)||($.eventName=DetachRolePolicy)||($.eventName=AttachUserPolicy)||($.eventName=DetachUserPolicy)||($.eventName=AttachGroupPolicy)||($.eventName=DetachGroupPolicy)}`}
	CloudTrailChanges = Preset{ID: "CloudWatch.5", CIS: "3.5", Name: "CloudTrail configuration changes", MetricName: "CloudTrailChanges",
		Pattern: `{($.eventName=CreateTrail)||($.eventName=UpdateTrail)||($.eventName=DeleteTrail)||($.eventName=StartLogging)||($.eventName=StopLogging)}`}
	ConsoleAuthFailures = Preset{ID: "CloudWatch.6", CIS: "3.6", Name: "Management Console authentication failures", MetricName: "ConsoleAuthenticationFailures",
		Pattern: `{($.eventName=ConsoleLogin) && ($.errorMessage="Failed authentication")}`}
	CMKDisableOrDelete = Preset{ID: "CloudWatch.7", CIS: "3.7", Name: "disabling or scheduled deletion of customer managed keys", MetricName: "DisableOrDeleteCMK",
		Pattern: `{($.eventSource=kms.amazonaws.com) && (($.eventName=DisableKey)||($.eventName=ScheduleKeyDeletion))}`}
	S3BucketPolicyChanges = Preset{ID: "CloudWatch.8", CIS: "3.8", Name: "S3 bucket policy changes", MetricName: "S3BucketPolicyChanges",
		Pattern: `{($.eventSource=s3.amazonaws.com) && (($.eventName=PutBucketAcl)||($.eventName=PutBucketPolicy)||($.eventName=PutBucketCors)||($.eventName=PutBucketLifecycle)||($.eventName=PutBucketReplication)||($.eventName=DeleteBucketPolicy)||($.eventName=DeleteBucketCors)||($.eventName=DeleteBucketLifecycle)||($.eventName=DeleteBucketReplication))}`}
	ConfigChanges = Preset{ID: "CloudWatch.9", CIS: "3.9", Name: "AWS Config configuration changes", MetricName: "AWSConfigChanges",
		Pattern: `{($.eventSource=config.amazonaws.com) && (($.eventName=StopConfigurationRecorder)||($.eventName=DeleteDeliveryChannel)||($.eventName=PutDeliveryChannel)||($.eventName=PutConfigurationRecorder))}`}
	SecurityGroupChanges = Preset{ID: "CloudWatch.10", CIS: "3.10", Name: "security group changes", MetricName: "SecurityGroupChanges",
		Pattern: `{($.eventName=AuthorizeSecurityGroupIngress)||($.eventName=AuthorizeSecurityGroupEgress)||($.eventName=RevokeSecurityGroupIngress)||($.eventName=RevokeSecurityGroupEgress)||($.eventName=CreateSecurityGroup)||($.eventName=DeleteSecurityGroup)}`}
	NACLChanges = Preset{ID: "CloudWatch.11", CIS: "3.11", Name: "network ACL changes", MetricName: "NACLChanges",
		Pattern: `{($.eventName=CreateNetworkAcl)||($.eventName=CreateNetworkAclEntry)||($.eventName=DeleteNetworkAcl)||($.eventName=DeleteNetworkAclEntry)||($.eventName=ReplaceNetworkAclEntry)||($.eventName=ReplaceNetworkAclAssociation)}`}
	NetworkGatewayChanges = Preset{ID: "CloudWatch.12", CIS: "3.12", Name: "network gateway changes", MetricName: "NetworkGatewayChanges",
		Pattern: `{($.eventName=CreateCustomerGateway)||($.eventName=DeleteCustomerGateway)||($.eventName=AttachInternetGateway)||($.eventName=CreateInternetGateway)||($.eventName=DeleteInternetGateway)||($.eventName=DetachInternetGateway)}`}
	RouteTableChanges = Preset{ID: "CloudWatch.13", CIS: "3.13", Name: "route table changes", MetricName: "RouteTableChanges",
		Pattern: `{($.eventName=CreateRoute)||($.eventName=CreateRouteTable)||($.eventName=ReplaceRoute)||($.eventName=ReplaceRouteTableAssociation)||($.eventName=DeleteRouteTable)||($.eventName=DeleteRoute)||($.eventName=DisassociateRouteTable)}`}
	VPCChanges = Preset{ID: "CloudWatch.14", CIS: "3.14", Name: "VPC changes", MetricName: "VPCChanges",
		Pattern: `{($.eventName=CreateVpc)||($.eventName=DeleteVpc)||($.eventName=ModifyVpcAttribute)||($.eventName=AcceptVpcPeeringConnection)||($.eventName=CreateVpcPeeringConnection)||($.eventName=DeleteVpcPeeringConnection)||($.eventName=RejectVpcPeeringConnection)||($.eventName=AttachClassicLinkVpc)||($.eventName=DetachClassicLinkVpc)||($.eventName=DisableVpcClassicLink)||($.eventName=EnableVpcClassicLink)}`}
)

// CIS returns the 14 presets in Security Hub order (CloudWatch.1 … 14).
func CIS() []Preset {
	return []Preset{RootUsage, UnauthorizedAPICalls, ConsoleSignInWithoutMFA, IAMPolicyChanges, CloudTrailChanges,
		ConsoleAuthFailures, CMKDisableOrDelete, S3BucketPolicyChanges, ConfigChanges, SecurityGroupChanges,
		NACLChanges, NetworkGatewayChanges, RouteTableChanges, VPCChanges}
}
